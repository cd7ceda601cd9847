# shellcheck shell=bash
# System packages the build needs, installed from Debian's packages when missing (one
# `apt-get update`, only if something is missing):
#   protoc        sc-network's and litep2p's protobuf code
#   cc, make      crates that build C; and OpenSSL, which is compiled from source because
#   perl          litep2p turns on the `vendored` feature of str0m's openssl (its Configure
#                 needs perl with IPC::Cmd), so no system libssl-dev or pkg-config is needed

ensure_system_packages() {
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
}
