#!/usr/bin/env bash
# The test command of README.md: installs what the build needs on a fresh machine of this
# kind, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

cargo test --workspace --locked "$@"

# The worker as it ships, without the `dev-tee` feature, which every build of this workspace
# unifies on (the devnet and the benchmarks enable it): its own package and workspace (shared
# with the fuzz targets). It refuses simulated evidence by construction and takes no policy
# from the host.
cargo test --locked --manifest-path offchain-worker/production/Cargo.toml "$@"
