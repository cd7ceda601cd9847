//! Builds the wasm runtime blob when the `wasm` feature is on (production chains do; the
//! development machines of this project have no wasm32 target and execute the runtime natively).

fn main() {
	#[cfg(feature = "wasm")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
