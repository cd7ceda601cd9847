# shellcheck shell=bash
# System packages the build needs, installed from Debian's packages when missing.

ensure_system_packages() {
	local missing=()
	command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "installing: ${missing[*]}" >&2
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}
