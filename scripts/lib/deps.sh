# shellcheck shell=bash
# What the build needs, installed when missing: the pinned host toolchain (rust-toolchain.toml),
# the toolchain that builds the runtime's wasm (wasm-toolchain.sh), and these Debian packages (one
# `apt-get update`, only if something is missing):
#   protoc        sc-network's and litep2p's protobuf code
#   cc, make      crates that build C; and OpenSSL, which is compiled from source because
#   perl          litep2p turns on the `vendored` feature of str0m's openssl (its Configure
#                 needs perl with IPC::Cmd), so no system libssl-dev or pkg-config is needed

source "$(dirname "${BASH_SOURCE[0]}")/wasm-toolchain.sh"

# rust-toolchain.toml pins the host toolchain by version. rustup would try to download a toolchain
# of that name, which these machines cannot; when the installed stable toolchain is that version,
# it is made available under the pinned name instead.
ensure_pinned_toolchain() {
	local root pinned host stable_version
	root=$(dirname "${BASH_SOURCE[0]}")/../..
	pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' "$root/rust-toolchain.toml")
	[ -n "$pinned" ] || return 0
	if rustup toolchain list | grep -q "^$pinned"; then
		return 0
	fi
	host=$(rustup run stable rustc -vV | sed -n "s/^host: //p")
	stable_version=$(rustup run stable rustc --version 2>/dev/null | cut -d' ' -f2)
	if [ "$stable_version" = "$pinned" ]; then
		ln -s "$(rustup home)/toolchains/stable-$host" "$(rustup home)/toolchains/$pinned-$host"
	else
		echo "rust-toolchain.toml pins Rust $pinned, and the installed stable is $stable_version:" \
			"install $pinned (rustup toolchain install $pinned) or change the pin" >&2
		return 1
	fi
}

ensure_system_packages() {
	ensure_pinned_toolchain
	local missing=()
	command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
	if ! command -v cc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
		missing+=(build-essential)
	fi
	perl -MIPC::Cmd -e 1 >/dev/null 2>&1 || missing+=(perl)
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "installing: ${missing[*]}" >&2
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	ensure_wasm_toolchain
}
