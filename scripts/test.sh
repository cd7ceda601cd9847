#!/usr/bin/env bash
# The test command of README.md: installs what the build needs on a fresh machine of this
# kind, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

cargo test --workspace --locked "$@"
