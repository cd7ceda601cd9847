#!/usr/bin/env bash
# Runs the EnclaveUpdate pallet's benchmarks natively on the dev runtime and rewrites
# pallets/enclave-update/src/weights.rs. Extra arguments go to the tool (see --help), e.g.
#   bash benchmarks/regenerate-weights.sh --steps 50 --repeat 40
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --locked --release -p enclave-update-weights -- \
	--output pallets/enclave-update/src/weights.rs "$@"
