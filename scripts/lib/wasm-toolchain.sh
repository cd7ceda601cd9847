# shellcheck shell=bash
# The toolchain that builds the runtime's wasm blob, set up when it is missing.
#
# rustup's toolchains on these machines have no wasm32 target and cannot download one. Debian's
# bookworm-security suite ships a rustc/cargo (`rustc-web`, `cargo-web`), the standard library's
# sources (`rust-web-src`), its LLVM (`rust-web-llvm`) and `lld-22` (which provides `rust-lld`).
# With those, `core`, `alloc` and `compiler_builtins` are compiled once for `wasm32v1-none` and
# put in that compiler's sysroot, so the target counts as installed; the compiler is linked into
# rustup as ${WASM_TOOLCHAIN_NAME}, and substrate-wasm-builder is pointed at it with
# `WASM_BUILD_TOOLCHAIN` (exported by `ensure_wasm_toolchain`).
#
# A machine where `rustup target add wasm32v1-none` works needs none of this: when the default
# toolchain already has the target, nothing is installed and `WASM_BUILD_TOOLCHAIN` is left alone.
#
# Idempotent: every step checks first. Runs as root, or with sudo for apt-get and the sysroot.

WASM_TOOLCHAIN_NAME="${WASM_TOOLCHAIN_NAME:-enclave-update-wasm}"
WASM_TOOLCHAIN_SYSROOT=/usr
WASM_TARGET=wasm32v1-none
WASM_TOOLCHAIN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

_wasm_sudo() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Whether the sysroot of `rustc` (a path) has the wasm target's core library.
_wasm_target_installed() {
	local sysroot
	sysroot=$("$1" --print sysroot 2>/dev/null) || return 1
	compgen -G "$sysroot/lib/rustlib/$WASM_TARGET/lib/libcore-*.rlib" >/dev/null
}

# Compiles core, alloc and compiler_builtins for the target with the Debian compiler and installs
# them into its sysroot.
_wasm_build_sysroot() {
	local work lib
	work=$(mktemp -d)
	mkdir -p "$work/src"
	cat >"$work/Cargo.toml" <<-'EOF'
		[package]
		name = "wasm-sysroot"
		version = "0.0.0"
		edition = "2021"
		[lib]
		path = "src/lib.rs"
		[profile.release]
		panic = "abort"
	EOF
	echo '#![no_std]' >"$work/src/lib.rs"
	echo "building core and alloc for $WASM_TARGET (once per machine)" >&2
	# Bitcode embedded so the rlibs serve both LTO and non-LTO builds of the runtime.
	if ! (cd "$work" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" RUSTC=/usr/bin/rustc \
		/usr/bin/cargo build --quiet --release --target "$WASM_TARGET" \
		-Zbuild-std=core,alloc --target-dir "$work/target"); then
		echo "error: building core/alloc for $WASM_TARGET with /usr/bin/cargo failed" >&2
		rm -rf "$work"
		return 1
	fi
	lib="$WASM_TOOLCHAIN_SYSROOT/lib/rustlib/$WASM_TARGET/lib"
	_wasm_sudo mkdir -p "$lib"
	_wasm_sudo cp "$work"/target/"$WASM_TARGET"/release/deps/lib{core,alloc,compiler_builtins}-*.rlib "$lib/"
	rm -rf "$work"
}

# Makes sure a toolchain with the wasm target exists and exports WASM_BUILD_TOOLCHAIN when it is
# not the default one.
ensure_wasm_toolchain() {
	if _wasm_target_installed "$(rustup which rustc 2>/dev/null || command -v rustc)"; then
		return 0
	fi
	local missing=() package
	for package in "${WASM_TOOLCHAIN_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$package")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "installing the wasm toolchain: ${missing[*]}" >&2
		_wasm_sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive _wasm_sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	if ! _wasm_target_installed /usr/bin/rustc; then
		_wasm_build_sysroot || return 1
	fi
	if ! rustup toolchain list | grep -q "^$WASM_TOOLCHAIN_NAME"; then
		rustup toolchain link "$WASM_TOOLCHAIN_NAME" "$WASM_TOOLCHAIN_SYSROOT"
	fi
	export WASM_BUILD_TOOLCHAIN="$WASM_TOOLCHAIN_NAME"
}
