#!/usr/bin/env bash
# Formats the repository's Rust code with every setting of .rustfmt.toml (polkadot-sdk's, as far
# as a plain `cargo fmt` agrees), or with `--check` fails on code that is not so formatted (CI runs
# that).
#
# Three of the settings (imports merged per crate, comments wrapped at 100) are unstable options,
# which the stable rustfmt ignores with a warning when it reads them from the file but applies
# when they are given on its command line. This script reads each setting from the file and passes
# it as `--config`: the file stays the one place they are written, and the pinned stable toolchain
# applies all of them. A plain `cargo fmt` leaves what they did as it is, so code formatted here
# passes `cargo fmt --check` too. The warnings about the file are left out of the output.
set -euo pipefail
cd "$(dirname "$0")/.."

config=$(sed -nE 's/^([a-z_]+) = "?([^"]*)"?$/\1=\2/p' .rustfmt.toml | paste -sd, -)
check=()
case "${1:-}" in
	--check) check=(--check) ;;
	"") ;;
	*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# The main workspace, and the one of the fuzz targets and the shipped worker.
status=0
for manifest in Cargo.toml offchain-worker/fuzz/Cargo.toml; do
	cargo fmt --all --manifest-path "$manifest" -- "${check[@]}" --config "$config" \
		2> >(grep -v "^Warning: can't set" >&2) || status=$?
done
exit "$status"
