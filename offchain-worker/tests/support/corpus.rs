//! Where the DCAP corpus is: `../shared/dcap-corpus` beside the checkout, or `DCAP_CORPUS`.
//! Its quotes are read from there, never copied into the project. And the arithmetic the tests
//! re-encode its ECDSA signatures with (`n - s` on P-256), their own, not the decoder's.

// Included by more than one test crate, each using part of it.
#![allow(dead_code)]

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

/// The names of the corpus's quotes (the directories under `corpus/` with a `meta.json`),
/// sorted.
pub fn quote_names() -> Vec<String> {
	let dir = corpus_root().join("corpus");
	let mut names: Vec<_> = std::fs::read_dir(&dir)
		.unwrap()
		.filter_map(|e| e.ok())
		.filter(|e| e.path().join("meta.json").is_file())
		.map(|e| e.file_name().into_string().unwrap())
		.collect();
	names.sort();
	names
}

/// The order `n` of the P-256 group, big-endian.
pub const P256_N: [u8; 32] = [
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `(n - 1) / 2`, the largest low `s`.
pub const P256_HALF_N: [u8; 32] = [
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// `n - s` for a big-endian `s` of at most `n` (in two 128-bit halves).
pub fn n_minus(s: [u8; 32]) -> [u8; 32] {
	let half = |b: &[u8]| u128::from_be_bytes(b.try_into().unwrap());
	let (n_hi, n_lo, s_hi, s_lo) =
		(half(&P256_N[..16]), half(&P256_N[16..]), half(&s[..16]), half(&s[16..]));
	let (lo, borrow) = n_lo.overflowing_sub(s_lo);
	let hi = n_hi - s_hi - u128::from(borrow);
	[hi.to_be_bytes(), lo.to_be_bytes()].concat().try_into().unwrap()
}
