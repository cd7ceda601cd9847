#!/usr/bin/env bash
# The local devnet (README's main command): builds the dev node and the worker, starts a dev
# chain on free loopback ports, initialises worker A (simulated TEE, the chain's genesis
# measurement) and shows what the worker reads from the chain with storage proofs, and what
# the provisioning decision says. Then the node keeps running for polkadot.js or subxt until
# Ctrl-C; with --smoke it stops after the checks. Exits non-zero if a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
ensure_system_packages

smoke=false
build=true
for arg in "$@"; do
	case "$arg" in
	--smoke) smoke=true ;;
	# CI: use the binaries the test run just built (same target dir) instead of rebuilding
	# them with the non-test feature set.
	--no-build) build=false ;;
	*) echo "usage: $0 [--smoke] [--no-build]" >&2; exit 2 ;;
	esac
done

A=0x$(printf 'aa%.0s' {1..32}) # the dev chain's genesis enclave
B=0x$(printf 'bb%.0s' {1..32}) # a successor build, not scheduled yet

step() { printf '\n\033[1m[devnet] %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if $build; then
	step "building enclave-update-node and enclave-worker"
	cargo build --locked -p enclave-update-node -p enclave-worker
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
node_bin="$target_dir/debug/enclave-update-node"
worker_bin="$target_dir/debug/enclave-worker"
for bin in "$node_bin" "$worker_bin"; do
	[ -x "$bin" ] || { echo "missing $bin (run without --no-build)" >&2; exit 1; }
done

work=$(mktemp -d)
node_pid=""
cleanup() {
	[ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

rpc_port=$(free_port)
p2p_port=$(free_port)
step "starting the dev node (RPC ws://127.0.0.1:$rpc_port, log $work/node.log)"
"$node_bin" --dev --base-path "$work/node" --rpc-port "$rpc_port" --port "$p2p_port" \
	--no-prometheus --no-telemetry --no-mdns --genesis-enclave "$A" >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do
	if "$worker_bin" schedule --node "ws://127.0.0.1:$rpc_port" >/dev/null 2>&1; then break; fi
	kill -0 "$node_pid" 2>/dev/null || { cat "$work/node.log"; echo "node exited" >&2; exit 1; }
	sleep 0.5
done

step "worker A: fresh keys for the first enclave of the chain (sim TEE, measurement $A)"
"$worker_bin" init --data-dir "$work/worker-a" --tee sim --measurement "$A"

step "worker A: status, proving this build can unseal its keys"
"$worker_bin" status --data-dir "$work/worker-a" --tee sim --measurement "$A"

step "the schedule at the finalized head, read with storage proofs against the state root"
"$worker_bin" schedule --node "ws://127.0.0.1:$rpc_port"

step "may A replicate its keys to another A node? (expected: allowed)"
"$worker_bin" schedule --node "ws://127.0.0.1:$rpc_port" --provider "$A" --requester "$A"

step "may A hand its keys to B before governance schedules B? (expected: denied)"
if "$worker_bin" schedule --node "ws://127.0.0.1:$rpc_port" --provider "$A" --requester "$B"; then
	echo "B was allowed without being scheduled" >&2
	exit 1
fi

step "devnet checks passed"
if $smoke; then
	exit 0
fi
echo "The node keeps running: ws://127.0.0.1:$rpc_port (polkadot.js Apps, subxt). Ctrl-C stops it."
wait "$node_pid"
