#!/usr/bin/env bash
# Runs the workspace's pallet benchmarks with polkadot-sdk's `frame-omni-bencher` on the dev
# runtime's wasm blob (built with `runtime-benchmarks`) and rewrites each pallet's weights.rs from
# benchmarks/weights-template.hbs.
#
#   bash benchmarks/regenerate-weights.sh                     # every pallet, steps 50, repeat 20
#   WEIGHTS_PALLETS="pallet_shielded_inbox" bash benchmarks/regenerate-weights.sh
#   bash benchmarks/regenerate-weights.sh --steps 20 --repeat 10 --min-duration 0
#
# Extra arguments go to `frame-omni-bencher v1 benchmark pallet` (see its --help); --steps,
# --repeat and --genesis-builder-preset given there replace this script's defaults. Steps 50 and
# repeat 20 are the tool's defaults: the components' ranges are small (s ≤ 8, r < 128), so the
# whole run is a few minutes on one core and the build of the blob dominates. The timings are
# those of the machine that runs it: run it on an idle machine (not next to a build).
#
# The tool is installed with `cargo install --locked frame-omni-bencher@$OMNI_BENCHER_VERSION`
# into cargo's default root ($CARGO_HOME/bin, i.e. ~/.cargo/bin) unless OMNI_BENCHER_ROOT names
# another root; an installed one of that version is reused. The blob's build honours
# CARGO_TARGET_DIR; the runtime-benchmarks feature makes it a different build of the runtime (and
# its wasm) from the node's, so a separate target directory saves rebuilding one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."

# frame-omni-bencher 0.28.0 is built on frame-benchmarking-cli 64.0.0, i.e. polkadot-sdk
# stable2609, the release the workspace pins (root Cargo.toml). Bump them together.
OMNI_BENCHER_VERSION=0.28.0
omni_root="${OMNI_BENCHER_ROOT:-${CARGO_HOME:-$HOME/.cargo}}"

# The pallet (as the runtime's define_benchmarks! names it) and the weights file it owns.
pallets=(
	"pallet_enclave_registry pallets/enclave-registry/src/weights.rs"
	"pallet_enclave_update pallets/enclave-update/src/weights.rs"
	"pallet_shielded_inbox pallets/shielded-inbox/src/weights.rs"
)
selected=" ${WEIGHTS_PALLETS:-pallet_enclave_registry pallet_enclave_update pallet_shielded_inbox} "
for name in $selected; do
	[[ " ${pallets[*]} " == *" $name "* ]] || {
		echo "regenerate-weights: unknown pallet $name" >&2
		exit 2
	}
done

# protoc, a C toolchain, and the toolchain that builds the runtime's wasm (exports
# WASM_BUILD_TOOLCHAIN when it is not the default one).
source scripts/lib/deps.sh
ensure_system_packages

# Building the tool needs libclang, which the workspace's own build does not: its sc-cli has
# RocksDB, whose librocksdb-sys generates its bindings with bindgen (clang-sys fails with
# "couldn't find any valid shared libraries matching: ['libclang.so', 'libclang-*.so']").
ensure_libclang() {
	[ -n "${LIBCLANG_PATH:-}" ] && return 0
	ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
	echo "installing: libclang-dev" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libclang-dev >/dev/null
}

# The tool, called by name so that the weights files' "Executed Command" reads as one.
export PATH="$omni_root/bin:$PATH"
if [[ "$(frame-omni-bencher --version 2>/dev/null)" != "frame-omni-bencher $OMNI_BENCHER_VERSION" ]]; then
	echo "regenerate-weights: installing frame-omni-bencher $OMNI_BENCHER_VERSION into $omni_root/bin" >&2
	ensure_libclang
	# frame-benchmarking-cli embeds frame-storage-access-test-runtime's wasm for `benchmark
	# storage`, which frame-omni-bencher does not offer; without SKIP_WASM_BUILD its build script
	# wants a wasm32-unknown-unknown target.
	SKIP_WASM_BUILD=1 cargo install --locked "frame-omni-bencher@$OMNI_BENCHER_VERSION" --root "$omni_root"
fi

# Built once: a weights.rs written by one run is a source file of the runtime, and the blob does
# not need to be rebuilt for the next pallet.
cargo build --locked --release -p enclave-update-runtime --features runtime-benchmarks
runtime="${CARGO_TARGET_DIR:-target}/release/wbuild/enclave-update-runtime/enclave_update_runtime.compact.compressed.wasm"
[[ -f "$runtime" ]] || {
	echo "regenerate-weights: no wasm blob at $runtime (was it built with SKIP_WASM_BUILD set?)" >&2
	exit 1
}
# Relative to the workspace when it is inside it, so that the files' "Executed Command" is the same
# on every checkout.
runtime=$(realpath --relative-base=. "$runtime")

# This script's defaults for the options that the extra arguments do not set (clap refuses an
# option given twice).
given() {
	local option arg
	for option in "$@"; do
		for arg in "${extra[@]}"; do
			[[ "$arg" == "$option" || "$arg" == "$option="* ]] && return 0
		done
	done
	return 1
}
extra=("$@")
defaults=()
given --steps -s || defaults+=(--steps 50)
given --repeat -r || defaults+=(--repeat 20)
# The runtime's GenesisBuilder preset that the benchmarks start from (the tool's default).
given --genesis-builder-preset || defaults+=(--genesis-builder-preset development)

for entry in "${pallets[@]}"; do
	read -r pallet output <<<"$entry"
	[[ "$selected" == *" $pallet "* ]] || continue
	frame-omni-bencher v1 benchmark pallet \
		--runtime "$runtime" \
		--pallet "$pallet" \
		--extrinsic "*" \
		"${defaults[@]}" \
		--template benchmarks/weights-template.hbs \
		--output "$output" \
		"$@"
done
