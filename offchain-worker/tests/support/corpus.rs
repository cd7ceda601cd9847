//! Where the DCAP corpus is: `../shared/dcap-corpus` beside the checkout, or `DCAP_CORPUS`.
//! Its quotes are read from there, never copied into the project.

use std::path::{Path, PathBuf};

/// The corpus's root directory. Panics (failing the test) when it is missing: the tests that
/// read it must not pass without it.
pub fn corpus_root() -> PathBuf {
	// The first `shared/dcap-corpus` above the crate: beside the checkout.
	let beside = || {
		Path::new(env!("CARGO_MANIFEST_DIR"))
			.ancestors()
			.map(|dir| dir.join("shared/dcap-corpus"))
			.find(|dir| dir.join("corpus").is_dir())
			.unwrap_or_else(|| {
				Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/dcap-corpus")
			})
	};
	let root = std::env::var_os("DCAP_CORPUS").map(PathBuf::from).unwrap_or_else(beside);
	assert!(
		root.join("corpus").is_dir(),
		"the DCAP corpus is missing: expected {} (shared/dcap-corpus beside the checkout, or \
		 DCAP_CORPUS=<dir>); these tests need it and must not pass without it",
		root.display()
	);
	root
}
