//! DCAP collateral and the window of time in which all of it is valid.

use std::{path::Path, sync::OnceLock};

use dcap_qvl::QuoteCollateralV3;
use serde::Deserialize;

use super::AttestationError;

/// DCAP collateral (TCB info, QE identity, CRLs and their issuer chains).
#[derive(Clone, Debug)]
pub struct Collateral {
	dcap: QuoteCollateralV3,
	/// The validity window, computed on first use: one collateral serves every quote of its
	/// platform until it expires, and parsing its certificates and CRLs again for each quote
	/// would cost about as much as the signature checks themselves.
	window: OnceLock<Window>,
	/// The TCB info and QE identity, parsed on first use: only to evaluate a TD's TCB that
	/// dcap-qvl cannot report (see `tcb`) and to explain a TCB level that is not found.
	levels: OnceLock<Result<Levels, AttestationError>>,
}

/// The TCB levels of the collateral, as dcap-qvl parses them (the TCB info's levels in Intel
/// QVL's order).
#[derive(Clone, Debug)]
pub(super) struct Levels {
	pub tcb_info: dcap_qvl::TcbInfo,
	pub qe_identity: dcap_qvl::QeIdentity,
}

impl Collateral {
	/// Parses collateral in dcap-qvl's JSON format (as returned by a PCCS client).
	pub fn from_json(bytes: &[u8]) -> Result<Self, AttestationError> {
		serde_json::from_slice(bytes)
			.map(Self::from_dcap)
			.map_err(|e| AttestationError::CollateralInvalid(format!("bad collateral JSON: {e}")))
	}

	/// Reads collateral from a JSON file (an offline cache).
	pub fn from_file(path: &Path) -> Result<Self, AttestationError> {
		let bytes = std::fs::read(path).map_err(|e| {
			AttestationError::CollateralInvalid(format!("cannot read {}: {e}", path.display()))
		})?;
		Self::from_json(&bytes)
	}

	/// Fetches collateral for `quote` from a PCCS (needs the `pccs` feature and network).
	#[cfg(feature = "pccs")]
	pub fn fetch_from_pccs(pccs_url: &str, quote: &[u8]) -> Result<Self, AttestationError> {
		let runtime = tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.map_err(|e| AttestationError::CollateralInvalid(format!("runtime: {e}")))?;
		let client = dcap_qvl::collateral::CollateralClient::with_default_http(pccs_url)
			.map_err(|e| AttestationError::CollateralInvalid(format!("{e:#}")))?;
		runtime
			.block_on(client.fetch(quote))
			.map(Self::from_dcap)
			.map_err(|e| AttestationError::CollateralInvalid(format!("PCCS fetch: {e:#}")))
	}

	fn from_dcap(dcap: QuoteCollateralV3) -> Self {
		Self { dcap, window: OnceLock::new(), levels: OnceLock::new() }
	}

	/// The dcap-qvl representation.
	pub fn as_dcap(&self) -> &QuoteCollateralV3 {
		&self.dcap
	}

	/// The validity window `(first, last)` of everything in the collateral that expires, in
	/// unix seconds, both inclusive: the TCB info and QE identity (issue date, next update),
	/// both CRLs (this update, next update) and every certificate of the issuer chains and of
	/// the PCK chain it may carry (not before, not after). The quote's own PCK chain is
	/// checked separately ([`super::Verifier::check_evidence`]). `first > last` when the
	/// pieces never overlap ([`Self::check_valid_at`] says so).
	pub fn validity_window(&self) -> Result<(u64, u64), AttestationError> {
		self.window().map(|w| (w.from, w.until))
	}

	/// Refuses the collateral unless every piece of it is valid at `now`, naming the reason:
	/// pieces that are never valid together, expiry, or a piece not yet valid.
	pub fn check_valid_at(&self, now: u64) -> Result<(), AttestationError> {
		let window = self.window()?;
		if window.from > window.until {
			return Err(AttestationError::CollateralPiecesDoNotOverlap {
				starts: window.from_piece,
				valid_from: window.from,
				ends: window.until_piece,
				expires_at: window.until,
			});
		}
		if now > window.until {
			return Err(AttestationError::CollateralExpired { expired_at: window.until, now });
		}
		if now < window.from {
			return Err(AttestationError::CollateralNotYetValid { valid_from: window.from, now });
		}
		Ok(())
	}

	/// The TCB info and QE identity, parsed once.
	pub(super) fn levels(&self) -> Result<&Levels, AttestationError> {
		let parse = || -> Result<Levels, AttestationError> {
			let invalid = |what: &str, e: serde_json::Error| {
				AttestationError::CollateralInvalid(format!("{what}: {e}"))
			};
			Ok(Levels {
				tcb_info: super::tcb::sorted(
					serde_json::from_str(&self.dcap.tcb_info)
						.map_err(|e| invalid("TCB info", e))?,
				),
				qe_identity: serde_json::from_str(&self.dcap.qe_identity)
					.map_err(|e| invalid("QE identity", e))?,
			})
		};
		self.levels.get_or_init(parse).as_ref().map_err(Clone::clone)
	}

	fn window(&self) -> Result<&Window, AttestationError> {
		if let Some(window) = self.window.get() {
			return Ok(window);
		}
		let window = self.compute_validity_window()?;
		Ok(self.window.get_or_init(|| window))
	}

	fn compute_validity_window(&self) -> Result<Window, AttestationError> {
		let dcap = &self.dcap;
		let mut window = Window::ALWAYS;
		window.narrow("TCB info", issue_and_next_update(&dcap.tcb_info, "TCB info")?);
		window.narrow("QE identity", issue_and_next_update(&dcap.qe_identity, "QE identity")?);
		window.narrow(
			"root CA CRL",
			crl_window(&dcap.root_ca_crl)
				.map_err(|e| AttestationError::CollateralInvalid(format!("root CA CRL: {e}")))?,
		);
		window
			.narrow("PCK CRL", crl_window(&dcap.pck_crl).map_err(AttestationError::PckCrlInvalid)?);
		let chains = [
			(Some(&dcap.tcb_info_issuer_chain), "TCB info issuer chain"),
			(Some(&dcap.qe_identity_issuer_chain), "QE identity issuer chain"),
			(Some(&dcap.pck_crl_issuer_chain), "PCK CRL issuer chain"),
			(dcap.pck_certificate_chain.as_ref(), "PCK certificate chain"),
		];
		for (chain, what) in chains {
			let Some(chain) = chain else { continue };
			let windows = certificate_windows(chain.as_bytes())
				.map_err(|e| AttestationError::CollateralInvalid(format!("{what}: {e}")))?;
			if windows.is_empty() {
				return Err(AttestationError::CollateralIssuerChainEmpty { chain: what });
			}
			for cert in windows {
				window.narrow(what, cert);
			}
		}
		Ok(window)
	}
}

/// An intersection of validity windows, in unix seconds, with the pieces that bound it.
#[derive(Clone, Debug)]
struct Window {
	from: u64,
	from_piece: &'static str,
	until: u64,
	until_piece: &'static str,
}

impl Window {
	const ALWAYS: Self = Self { from: 0, from_piece: "", until: u64::MAX, until_piece: "" };

	fn narrow(&mut self, piece: &'static str, (from, until): (u64, Option<u64>)) {
		if from > self.from {
			self.from = from;
			self.from_piece = piece;
		}
		if let Some(until) = until.filter(|until| *until < self.until) {
			self.until = until;
			self.until_piece = piece;
		}
	}
}

/// `(not before, not after)` of each certificate in a PEM chain.
pub(super) fn certificate_windows(pem_chain: &[u8]) -> Result<Vec<(u64, Option<u64>)>, String> {
	use der::Decode as _;
	let blocks = pem::parse_many(pem_chain).map_err(|e| format!("PEM: {e}"))?;
	blocks
		.iter()
		.enumerate()
		.map(|(index, block)| {
			let cert = x509_cert::Certificate::from_der(block.contents())
				.map_err(|e| format!("certificate {index}: {e}"))?;
			let validity = cert.tbs_certificate().validity();
			Ok((
				validity.not_before.to_unix_duration().as_secs(),
				Some(validity.not_after.to_unix_duration().as_secs()),
			))
		})
		.collect()
}

/// `(this update, last second before next update)`: a CRL is stale from its next update on.
fn crl_window(der_bytes: &[u8]) -> Result<(u64, Option<u64>), String> {
	use der::Decode as _;
	let crl =
		x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der_bytes)
			.map_err(|e| format!("not a DER CRL: {e}"))?;
	let tbs = &crl.tbs_cert_list;
	Ok((
		tbs.this_update.to_unix_duration().as_secs(),
		tbs.next_update.map(|t| t.to_unix_duration().as_secs().saturating_sub(1)),
	))
}

fn issue_and_next_update(json: &str, what: &str) -> Result<(u64, Option<u64>), AttestationError> {
	#[derive(Deserialize)]
	#[serde(rename_all = "camelCase")]
	struct Dates {
		issue_date: String,
		next_update: String,
	}
	let dates: Dates = serde_json::from_str(json)
		.map_err(|e| AttestationError::CollateralInvalid(format!("{what}: {e}")))?;
	let parse = |text: &str| -> Result<u64, AttestationError> {
		chrono::DateTime::parse_from_rfc3339(text)
			.ok()
			.and_then(|t| u64::try_from(t.timestamp()).ok())
			.ok_or_else(|| AttestationError::CollateralInvalid(format!("{what}: bad date {text}")))
	};
	Ok((parse(&dates.issue_date)?, Some(parse(&dates.next_update)?)))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn collateral_window_counts_every_dated_item() {
		let collateral =
			Collateral::from_json(include_bytes!("../../tests/fixtures/tdx_quote_collateral.json"))
				.unwrap();
		let (from, until) = collateral.validity_window().unwrap();
		let c = collateral.as_dcap();
		let mut expected = vec![
			issue_and_next_update(&c.tcb_info, "").unwrap(),
			issue_and_next_update(&c.qe_identity, "").unwrap(),
			crl_window(&c.root_ca_crl).unwrap(),
			crl_window(&c.pck_crl).unwrap(),
		];
		for chain in
			[&c.tcb_info_issuer_chain, &c.qe_identity_issuer_chain, &c.pck_crl_issuer_chain]
		{
			let certs = certificate_windows(chain.as_bytes()).unwrap();
			assert!(certs.len() >= 2);
			expected.extend(certs);
		}
		assert_eq!(from, expected.iter().map(|w| w.0).max().unwrap());
		assert_eq!(until, expected.iter().filter_map(|w| w.1).min().unwrap());
		assert!(from < until);
	}
}
