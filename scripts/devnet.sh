#!/usr/bin/env bash
# The local devnet (README's main command): builds the node, the worker and the devnet driver,
# then tells the whole upgrade story on a fresh dev chain on free loopback ports:
# worker A (simulated TEE, the chain's genesis measurement) with fresh keys, users' shielded
# calls, the council retiring a build C, B scheduled by sudo, the council scheduling the build
# after B, C refused, B obtaining the keys from A, standby, the cut-over at the scheduled block,
# both workers' status with identical key checksums, and B's state equal to a replay of every
# call from genesis. Exits non-zero if any of that did not hold; stops every process it started
# (on SIGINT, SIGTERM and SIGHUP too).
#
#   --smoke     a shorter story (CI)
#   --no-build  use the binaries already built (CI: the ones the test run just built)
#   --keep DIR  keep the node's and workers' data and logs in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

build=true
story_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) story_args+=(--lead 22 --after 3) ;;
	--no-build) build=false ;;
	--keep) story_args+=(--keep "$2"); shift ;;
	*) echo "usage: $0 [--smoke] [--no-build] [--keep DIR]" >&2; exit 2 ;;
	esac
	shift
done

if $build; then
	printf '\n[devnet] building enclave-update-node, enclave-worker, enclave-update-cli and enclave-update-devnet\n'
	# The devnet's workers run the simulated TEE: the worker's `dev-tee` feature.
	cargo build --locked -p enclave-update-node -p enclave-worker -p enclave-update-cli \
		-p enclave-update-devnet \
		--features enclave-worker/dev-tee
fi
# Wherever CARGO_TARGET_DIR or a cargo config puts the build; JSON read with grep, so that
# nothing beyond what the build needs has to be installed.
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
	grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
[ -n "$target_dir" ] || { echo "cargo metadata named no target directory" >&2; exit 1; }
export ENCLAVE_UPDATE_BIN_DIR="$target_dir/debug"
for bin in enclave-update-node enclave-worker enclave-update-cli enclave-update-devnet; do
	[ -x "$ENCLAVE_UPDATE_BIN_DIR/$bin" ] || { echo "missing $ENCLAVE_UPDATE_BIN_DIR/$bin (run without --no-build)" >&2; exit 1; }
done
# The driver itself stops the node and the workers on SIGINT, SIGTERM or SIGHUP, and they die
# with it if it is killed: exec leaves no shell in between to orphan them.
exec "$ENCLAVE_UPDATE_BIN_DIR/enclave-update-devnet" "${story_args[@]}"
