#!/usr/bin/env bash
# The test command of README.md: installs what the build needs on a fresh machine of this
# kind, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

# The worker as it ships, without the `dev-tee` feature, which every build of this workspace
# unifies on (the devnet and the benchmarks enable it): its own package and workspace (shared
# with the fuzz targets). It refuses simulated evidence by construction and takes no policy
# from the host.
production=(--locked --manifest-path offchain-worker/production/Cargo.toml)
# Never through a rustc wrapper (CI's clippy-driver, .ci/clippy-rustc): clippy-driver records the
# package's manifest as an input of what it compiles, and the production tests check that the
# enclave binary's inputs are the worker's and the primitives' sources only. CI lints this
# package on its own (.ci/checks).
production_cargo() { env -u RUSTC_WORKSPACE_WRAPPER cargo "$@"; }

if [ "$#" -gt 0 ]; then
	cargo test --workspace --locked "$@"
	production_cargo test "${production[@]}" "$@"
	exit 0
fi

# The whole run: the workspace's tests spend most of their time waiting on blocks, so the shipped
# worker (another target directory) compiles beside them, at the lowest priority, once the
# workspace's test build is done.
cargo test --workspace --locked --no-run
production_log=$(mktemp)
nice -n 19 env -u RUSTC_WORKSPACE_WRAPPER cargo test "${production[@]}" --no-run >"$production_log" 2>&1 &
production_build=$!
trap 'kill "$production_build" 2>/dev/null || true; rm -f "$production_log"' EXIT
cargo test --workspace --locked
status=0
wait "$production_build" || status=$?
cat "$production_log"
if [ "$status" -ne 0 ]; then
	echo "error: the build of the shipped worker (offchain-worker/production) failed" >&2
	exit "$status"
fi
production_cargo test "${production[@]}"
