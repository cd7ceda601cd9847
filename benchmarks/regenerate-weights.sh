#!/usr/bin/env bash
# Runs the benchmarks of the workspace's pallets natively on the dev runtime and rewrites their
# weights.rs. Extra arguments go to the tool (see --help), e.g.
#   bash benchmarks/regenerate-weights.sh --steps 50 --repeat 40
# WEIGHTS_PALLETS="pallet_shielded_inbox" regenerates only the pallets it names. The build
# honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pallet (as the runtime's define_benchmarks! names it) and the weights file it owns.
pallets=(
	"pallet_enclave_update pallets/enclave-update/src/weights.rs"
	"pallet_shielded_inbox pallets/shielded-inbox/src/weights.rs"
)
selected=" ${WEIGHTS_PALLETS:-pallet_enclave_update pallet_shielded_inbox} "
for name in $selected; do
	[[ " ${pallets[*]} " == *" $name "* ]] || {
		echo "regenerate-weights: unknown pallet $name" >&2
		exit 2
	}
done

# Built once: a weights.rs written by one run is a source file of the runtime, and `cargo run`
# would rebuild the runtime before the next pallet.
cargo build --locked --release -p enclave-update-weights
weights_tool="${CARGO_TARGET_DIR:-target}/release/enclave-update-weights"

for entry in "${pallets[@]}"; do
	read -r pallet output <<<"$entry"
	[[ "$selected" == *" $pallet "* ]] || continue
	"$weights_tool" --pallet "$pallet" --output "$output" "$@"
done
