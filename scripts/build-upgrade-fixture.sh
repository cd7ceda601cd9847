#!/usr/bin/env bash
# Rebuilds the previous-release runtime blob of runtime/upgrade-fixtures/ from the commit that
# released it, in a temporary worktree, with the same toolchains the project builds with:
#
#   bash scripts/build-upgrade-fixture.sh COMMIT SPEC_VERSION
#
# writes runtime/upgrade-fixtures/enclave-update-runtime-spec-SPEC_VERSION.wasm (the blob a debug
# build makes: substrate-wasm-builder compacts and compresses only for release builds, and a chain
# takes either) and prints its blake2-256, the hash `System::authorize_upgrade` takes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 COMMIT SPEC_VERSION" >&2; exit 2; }
commit=$1 spec=$2
source scripts/lib/deps.sh
ensure_system_packages

work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" "$commit" >/dev/null
# `-p`: only the runtime's own features, none that another workspace member turns on (a
# `runtime-benchmarks` runtime needs host functions no production node has). CARGO_TARGET_DIR
# may name an existing target directory to reuse what it has built.
(cd "$work/tree" && cargo build --locked -p enclave-update-runtime)
target="${CARGO_TARGET_DIR:-$work/tree/target}"
blob="$target/debug/wbuild/enclave-update-runtime/enclave_update_runtime.wasm"
out="runtime/upgrade-fixtures/enclave-update-runtime-spec-$spec.wasm"
cp "$blob" "$out"
echo "$out: $(wc -c <"$out") bytes, blake2-256 0x$(b2sum -l 256 "$out" | cut -d' ' -f1)"
