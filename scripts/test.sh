#!/usr/bin/env bash
# The test command of README.md: installs what the build needs on a fresh machine of this
# kind, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

# The worker as it ships, without the `dev-tee` feature: a workspace-wide build unifies the
# feature on (the devnet and the benchmarks enable it), so the production build is tested on its
# own. It refuses simulated evidence by construction and takes no policy from the host. First,
# because it builds target/debug/enclave-worker without the feature: the workspace run below
# rebuilds it as the devnet needs it (`scripts/devnet.sh --no-build` runs that binary).
cargo test -p enclave-worker --locked --test production "$@"

cargo test --workspace --locked "$@"
