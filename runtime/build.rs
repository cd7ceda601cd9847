//! Builds the runtime's wasm blob, which the node executes ([`WASM_BINARY`] in the crate). Set
//! `SKIP_WASM_BUILD=1` for a std-only build. On machines whose rustup toolchain has no wasm32
//! target, `scripts/lib/wasm-toolchain.sh` sets one up and names it in `WASM_BUILD_TOOLCHAIN`.

fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
