//! The enclave registry in the runtime: the real Intel-signed samples verified by the **wasm
//! blob** the node executes (on `sc_executor::WasmExecutor`, with Substrate's host functions),
//! with the same verdicts as the std build and as dcap-qvl's own verification; and a
//! registration through a signed extrinsic applied by `Executive`.

use crate::{
	tests::{module_error, new_ext, next_block, sign},
	*,
};
use codec::{Decode, Encode};
use enclave_update_primitives::{
	registry::{AttestedEnclave, EvidenceKind, TcbStatus},
	sim_quote::{SimQuote, DEV_ATTESTATION_SEED_LABEL},
	RegistrationBinding,
};
use sc_executor::WasmExecutor;
use sp_core::{
	traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode},
	Pair,
};
use sp_keyring::Sr25519Keyring::Alice;
use sp_runtime::DispatchError;

/// Unix time inside the SGX sample's collateral window.
const SGX_AT: u64 = 1_751_624_924;
/// Unix time inside the TDX sample's collateral window.
const TDX_AT: u64 = 1_751_624_655;

type Verdict = Result<AttestedEnclave, DispatchError>;

/// A refusal case: its name, the evidence, the collateral, the time, the error.
type Case<'a> = (&'a str, &'a [u8], &'a [u8], u64, pallet_enclave_registry::Error<Runtime>);

fn fixture(name: &str) -> Vec<u8> {
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../offchain-worker/tests/fixtures")
		.join(name);
	std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn collateral(name: &str) -> dcap_qvl::QuoteCollateralV3 {
	serde_json::from_slice(&fixture(name)).expect("the sample's collateral")
}

/// The wasm blob on the executor the node uses, which compiles it once (its runtime cache).
struct WasmRuntime {
	executor: WasmExecutor<sp_io::SubstrateHostFunctions>,
	code: WrappedRuntimeCode<'static>,
	hash: Vec<u8>,
}

impl WasmRuntime {
	fn new() -> Self {
		let code = WASM_BINARY.expect("the test build builds the runtime's wasm");
		Self {
			executor: WasmExecutor::<sp_io::SubstrateHostFunctions>::builder().build(),
			code: WrappedRuntimeCode(code.into()),
			hash: sp_crypto_hashing::blake2_256(code).to_vec(),
		}
	}

	/// The runtime API call `EnclaveRegistryApi_verify_evidence` in the blob, on `ext`.
	fn verify(
		&self,
		ext: &mut sp_io::TestExternalities,
		evidence: &[u8],
		collateral: &[u8],
		now: u64,
	) -> Verdict {
		let runtime_code =
			RuntimeCode { code_fetcher: &self.code, heap_pages: None, hash: self.hash.clone() };
		let args = (evidence.to_vec(), collateral.to_vec(), now).encode();
		let (result, _) = self.executor.call(
			&mut ext.ext(),
			&runtime_code,
			"EnclaveRegistryApi_verify_evidence",
			&args,
			CallContext::Offchain,
		);
		Verdict::decode(&mut &result.expect("the wasm runtime answers")[..]).unwrap()
	}
}

/// The same call through the std build's native dispatcher.
fn verify_native(evidence: &[u8], collateral: &[u8], now: u64) -> Verdict {
	let args = (evidence.to_vec(), collateral.to_vec(), now).encode();
	let encoded = crate::apis::api::dispatch("EnclaveRegistryApi_verify_evidence", &args)
		.expect("method exists");
	Verdict::decode(&mut &encoded[..]).unwrap()
}

fn registry_error(error: pallet_enclave_registry::Error<Runtime>) -> DispatchError {
	module_error::<EnclaveRegistry>(error)
}

#[test]
fn the_wasm_runtime_verifies_the_real_samples_as_dcap_qvl_does() {
	let (wasm, mut ext) = (WasmRuntime::new(), new_ext());
	let samples = [
		("sgx_quote", "sgx_quote_collateral.json", SGX_AT, EvidenceKind::Sgx),
		("tdx_quote", "tdx_quote_collateral.json", TDX_AT, EvidenceKind::Tdx),
	];
	for (quote, collateral_file, now, kind) in samples {
		let evidence = fixture(quote);
		let collateral = collateral(collateral_file);
		let encoded = collateral.encode();
		let in_wasm = wasm.verify(&mut ext, &evidence, &encoded, now);
		let attested = in_wasm.clone().unwrap_or_else(|e| panic!("{quote}: {e:?}"));
		assert_eq!(attested.kind, kind, "{quote}");
		assert_eq!(ext.execute_with(|| verify_native(&evidence, &encoded, now)), in_wasm);
		// dcap-qvl's own verification (ring, natively) gives the same status and report data.
		let reference = dcap_qvl::verify::verify(&evidence, &collateral, now).unwrap();
		assert_eq!(format!("{:?}", attested.tcb_status), reference.status, "{quote}");
		let report_data = match (reference.report.as_sgx(), reference.report.as_td10()) {
			(Some(sgx), _) => sgx.report_data,
			(None, Some(td)) => td.report_data,
			(None, None) => unreachable!("an SGX or TD report"),
		};
		assert_eq!(attested.report_data, report_data, "{quote}");
	}
}

#[test]
fn the_wasm_runtime_refuses_what_the_registry_refuses() {
	let (wasm, mut ext) = (WasmRuntime::new(), new_ext());
	let evidence = fixture("tdx_quote");
	let encoded = collateral("tdx_quote_collateral.json").encode();
	let mut tampered = evidence.clone();
	tampered[48 + 520] ^= 1;
	use pallet_enclave_registry::Error;
	let cases: [Case; 4] = [
		("tampered", &tampered, &encoded, TDX_AT, Error::QuoteInvalid),
		("expired", &evidence, &encoded, TDX_AT + 40 * 86_400, Error::CollateralExpired),
		("no collateral", &evidence, &[], TDX_AT, Error::CollateralMalformed),
		("not a quote", b"not a quote", &[], TDX_AT, Error::EvidenceMalformed),
	];
	for (name, evidence, collateral, now, error) in cases {
		assert_eq!(
			wasm.verify(&mut ext, evidence, collateral, now),
			Err(registry_error(error)),
			"{name}"
		);
	}
}

fn dev_key() -> sp_core::ed25519::Pair {
	sp_core::ed25519::Pair::from_seed(&sp_crypto_hashing::sha2_256(DEV_ATTESTATION_SEED_LABEL))
}

#[test]
fn a_simulated_enclave_registers_through_a_signed_extrinsic() {
	new_ext().execute_with(|| {
		let (signing_key, shielding_key, key_set_checksum) = ([1; 32], [2; 32], [3; 32]);
		let account = Alice.to_account_id();
		let report_data = RegistrationBinding {
			account: &account.encode(),
			signing_key: &signing_key,
			shielding_key: &shielding_key,
			key_set_checksum: &key_set_checksum,
		}
		.report_data();
		let quote = SimQuote {
			measurement: genesis_config_presets::DEV_GENESIS_ENCLAVE,
			signer: [0; 32],
			product_id: 0,
			svn: 0,
			debug: false,
			report_data,
		};
		let evidence = quote.encode_with(&dev_key().sign(&quote.message()).0);
		let register = |evidence: Vec<u8>| {
			RuntimeCall::EnclaveRegistry(pallet_enclave_registry::Call::register_enclave {
				evidence: evidence.try_into().unwrap(),
				collateral: Default::default(),
				url: b"https://127.0.0.1:7001".to_vec().try_into().unwrap(),
				signing_key,
				shielding_key,
				key_set_checksum,
			})
		};
		let results = next_block(vec![sign(Alice, register(evidence))]);
		assert_eq!(results, vec![Ok(Ok(()))]);
		let record = pallet_enclave_registry::Enclaves::<Runtime>::get(&account).unwrap();
		assert_eq!(record.measurement, genesis_config_presets::DEV_GENESIS_ENCLAVE);
		assert_eq!(record.tcb_status, TcbStatus::Simulated);
		assert_eq!(pallet_enclave_registry::KeySet::<Runtime>::get(), Some(key_set_checksum));
	});
}
