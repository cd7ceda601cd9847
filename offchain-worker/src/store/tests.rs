use super::*;
use crate::{
	fs::{atomic_create, temp_name, PreparedFile},
	tee::{SimTee, Tee},
};
use assert_matches::assert_matches;

const A: Measurement = Measurement::MrEnclave([0xaa; 32]);
const B: Measurement = Measurement::MrEnclave([0xbb; 32]);

fn setup() -> (tempfile::TempDir, Store, SealingKey, SealingKey) {
	let dir = tempfile::tempdir().unwrap();
	let store = Store::open(dir.path().join("data")).unwrap();
	let ka = SimTee::in_data_dir(A, dir.path()).sealing_key().unwrap();
	let kb = SimTee::in_data_dir(B, dir.path()).sealing_key().unwrap();
	(dir, store, ka, kb)
}

/// A's keys written twice (`init`, then a replacement), so that the newest copy and `.prev` are
/// both good; returns the first keys, which `.prev` holds.
fn two_generations_of_keys(store: &Store, ka: &SealingKey) -> KeyMaterial {
	let first = KeyMaterial::generate();
	store.init_keys(ka, &A, &first).unwrap();
	store.write_sealed_keys(ka, &A, &KeyMaterial::generate()).unwrap();
	first
}

#[test]
fn chain_progress_is_sealed_per_measurement() {
	let (_d, store, ka, kb) = setup();
	assert_eq!(store.read_chain_progress(&ka, &A).unwrap(), None);
	let progress = ChainProgress { genesis_hash: [1; 32], block_number: 42, block_hash: [2; 32] };
	store.write_chain_progress(&ka, &A, &progress).unwrap();
	assert_eq!(store.read_chain_progress(&ka, &A).unwrap(), Some(progress));
	// Another build cannot read A's, and is told so rather than starting without progress.
	assert_matches!(store.read_chain_progress(&kb, &B), Err(StoreError::SealedByOtherEnclave { sealed_by, .. }) if sealed_by == A);
	// A tampered file does not authenticate.
	let path = store.dir().join(CHAIN_PROGRESS_FILE);
	let mut bytes = std::fs::read(&path).unwrap();
	let last = bytes.len() - 1;
	bytes[last] ^= 1;
	std::fs::write(&path, bytes).unwrap();
	assert!(store.read_chain_progress(&ka, &A).is_err());
}

#[test]
fn keys_round_trip_and_init_refuses_twice() {
	let (_d, store, ka, _) = setup();
	let keys = KeyMaterial::generate();
	store.init_keys(&ka, &A, &keys).unwrap();
	let (read, copy) = store.read_sealed_keys(&ka, &A).unwrap();
	assert_eq!(copy, ReadFrom::Current);
	assert_eq!(read.checksum(), keys.checksum());
	assert_matches!(
		store.init_keys(&ka, &A, &KeyMaterial::generate()),
		Err(StoreError::KeysAlreadyExist(_))
	);
	assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().0.checksum(), keys.checksum());
}

#[test]
fn other_measurement_gets_a_clear_error() {
	let (_d, store, ka, kb) = setup();
	store.init_keys(&ka, &A, &KeyMaterial::generate()).unwrap();
	let err = store.read_sealed_keys(&kb, &B).unwrap_err();
	assert_matches!(err, StoreError::SealedByOtherEnclave { sealed_by: A, current: B });
	assert!(err.to_string().contains("enclave-worker request-keys"), "{err}");
	// A forged header naming B does not help: B's key does not authenticate A's file.
	let path = store.keys_path();
	let mut bytes = std::fs::read(&path).unwrap();
	bytes[8..40].copy_from_slice(&[0xbb; 32]);
	std::fs::write(&path, &bytes).unwrap();
	assert_matches!(store.read_sealed_keys(&kb, &B), Err(StoreError::AuthenticationFailed));
}

#[test]
fn provisioned_keys_never_clobber_another_enclaves_file() {
	let (_d, store, ka, kb) = setup();
	let a_keys = KeyMaterial::generate();
	store.init_keys(&ka, &A, &a_keys).unwrap();
	let a_file = std::fs::read(store.keys_path()).unwrap();
	// B was provisioned the same keys and seals them in the same directory.
	let provisioned = KeyMaterial::from_plaintext(&a_keys.to_plaintext()).unwrap();
	store.write_sealed_keys(&kb, &B, &provisioned).unwrap();
	assert_eq!(store.read_sealed_keys(&kb, &B).unwrap().0.checksum(), a_keys.checksum());
	let kept: Vec<_> = std::fs::read_dir(store.dir())
		.unwrap()
		.map(|e| e.unwrap().path())
		.filter(|p| p.to_string_lossy().contains("other-enclave"))
		.collect();
	assert_eq!(kept.len(), 1);
	assert_eq!(std::fs::read(&kept[0]).unwrap(), a_file);
}

#[test]
fn torn_newest_copy_falls_back_to_previous() {
	let (_d, store, ka, _) = setup();
	let first = two_generations_of_keys(&store, &ka);
	let path = store.keys_path();
	let bytes = std::fs::read(&path).unwrap();
	std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
	let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
	assert_eq!(copy, ReadFrom::Previous);
	assert_eq!(keys.checksum(), first.checksum());
	// A flipped bit (same length) fails authentication and falls back too.
	let mut flipped = bytes.clone();
	flipped[HEADER_LEN + 3] ^= 1;
	std::fs::write(&path, &flipped).unwrap();
	assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().1, ReadFrom::Previous);
	// With no good copy at all, the error says why.
	std::fs::remove_file(prev_path(&path)).unwrap();
	assert_matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::AuthenticationFailed));
	std::fs::write(&path, &bytes[..10]).unwrap();
	assert_matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::Truncated { .. }));
	std::fs::remove_file(&path).unwrap();
	assert_matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::NoKeys(_)));
}

#[test]
fn snapshot_is_readable_by_a_successor_with_the_state_key() {
	let (_d, store, _, _) = setup();
	let keys = KeyMaterial::generate();
	store.write_snapshot(&keys.state, &A, 41, &[1; 32], b"state at 41").unwrap();
	store.write_snapshot(&keys.state, &A, 42, &[2; 32], b"state at 42").unwrap();
	// The successor B holds a provisioned copy of the same state key.
	let provisioned = KeyMaterial::from_plaintext(&keys.to_plaintext()).unwrap();
	let (snap, copy) = store.read_snapshot(&provisioned.state).unwrap();
	assert_eq!(copy, ReadFrom::Current);
	assert_eq!((snap.block_number, snap.state_hash, snap.written_by), (42, [2; 32], A));
	assert_eq!(snap.state, b"state at 42");
	assert!(!format!("{snap:?}").contains("state at"));
	// A torn newest snapshot falls back to block 41.
	let path = store.snapshot_path();
	let bytes = std::fs::read(&path).unwrap();
	std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
	let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
	assert_eq!((snap.block_number, copy), (41, ReadFrom::Previous));
	// Another state key cannot read it.
	let other = KeyMaterial::generate();
	assert!(store.read_snapshot(&other.state).is_err());
}

#[test]
fn header_fields_are_authenticated() {
	let keys = KeyMaterial::generate();
	let file = encode_snapshot(&keys.state, &A, 7, &[3; 32], b"xyz").unwrap();
	for index in [4usize, 6, 7, 9, 56, 64, HEADER_LEN] {
		let mut tampered = file.clone();
		tampered[index] ^= 1;
		assert!(decode_snapshot(&keys.state, tampered).is_err(), "byte {index}");
	}
	assert!(decode_snapshot(&keys.state, file.clone()).is_ok());
	assert_matches!(parse_file(b"nope"), Err(StoreError::BadMagic));
	assert_matches!(parse_file(b"EU"), Err(StoreError::Truncated { .. }));
	let mut wrong_kind = file.clone();
	wrong_kind[6] = 1;
	assert_matches!(
		decode_snapshot(&keys.state, wrong_kind),
		Err(StoreError::WrongKind { expected: FileKind::StateSnapshot, found: 1 })
	);
	let mut unknown_kind = file.clone();
	unknown_kind[6] = 0x7f;
	assert_matches!(parse_file(&unknown_kind), Err(StoreError::UnknownKind(0x7f)));
	assert_matches!(decode_snapshot(&keys.state, unknown_kind), Err(StoreError::UnknownKind(0x7f)));
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
	let mut names: Vec<_> = std::fs::read_dir(dir)
		.unwrap()
		.map(|e| e.unwrap().file_name().into_string().unwrap())
		.collect();
	names.sort();
	names
}

#[test]
fn torn_files_are_moved_aside_at_write_time_keeping_the_good_previous_copy() {
	let (_d, store, ka, _) = setup();
	let first = two_generations_of_keys(&store, &ka);
	let path = store.keys_path();
	let torn = std::fs::read(&path).unwrap()[..50].to_vec();
	std::fs::write(&path, &torn).unwrap();
	let third = KeyMaterial::generate();
	store.write_sealed_keys(&ka, &A, &third).unwrap();
	// The torn copy did not become `.prev` (which still holds the last good keys) and was
	// kept, byte for byte, under a name saying why.
	let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
	assert_eq!((keys.checksum(), copy), (third.checksum(), ReadFrom::Current));
	std::fs::remove_file(&path).unwrap();
	let (keys, copy) = store.read_sealed_keys(&ka, &A).unwrap();
	assert_eq!((keys.checksum(), copy), (first.checksum(), ReadFrom::Previous));
	let aside: Vec<_> =
		names_in(store.dir()).into_iter().filter(|n| n.contains("unreadable")).collect();
	assert_eq!(aside.len(), 1, "{aside:?}");
	assert!(aside[0].starts_with("keys.sealed.unreadable-"), "{aside:?}");
	assert_eq!(std::fs::read(store.dir().join(&aside[0])).unwrap(), torn);

	// A second torn file in the same second is kept next to the first, not over it.
	std::fs::write(&path, &torn[..40]).unwrap();
	store.write_sealed_keys(&ka, &A, &third).unwrap();
	let aside: Vec<_> =
		names_in(store.dir()).into_iter().filter(|n| n.contains("unreadable")).collect();
	assert_eq!(aside.len(), 2, "{aside:?}");

	// Snapshots: the torn newest one is moved aside, block 1 stays the previous copy.
	let keys = KeyMaterial::generate();
	store.write_snapshot(&keys.state, &A, 1, &[1; 32], b"one").unwrap();
	store.write_snapshot(&keys.state, &A, 2, &[2; 32], b"two").unwrap();
	let snapshot = store.snapshot_path();
	let bytes = std::fs::read(&snapshot).unwrap();
	std::fs::write(&snapshot, &bytes[..bytes.len() - 1]).unwrap();
	store.write_snapshot(&keys.state, &A, 3, &[3; 32], b"three").unwrap();
	std::fs::remove_file(&snapshot).unwrap();
	let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
	assert_eq!((snap.block_number, copy), (1, ReadFrom::Previous));
	assert!(names_in(store.dir())
		.iter()
		.any(|n| n.starts_with("state.snapshot.unreadable-")));
}

#[test]
fn concurrent_writers_of_one_file_do_not_collide() {
	const WRITERS: usize = 8;
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("f");
	let contents: Vec<Vec<u8>> = (0..WRITERS).map(|i| vec![i as u8; 4096 + i]).collect();
	let barrier = std::sync::Barrier::new(WRITERS);
	std::thread::scope(|scope| {
		for content in &contents {
			let (barrier, path) = (&barrier, &path);
			scope.spawn(move || {
				barrier.wait();
				for _ in 0..20 {
					atomic_write(path, content).unwrap();
				}
			});
		}
	});
	assert!(contents.contains(&std::fs::read(&path).unwrap()));
	assert_eq!(names_in(dir.path()), ["f"]);
}

#[test]
fn atomic_create_never_replaces() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("secret");
	atomic_create(&path, b"first").unwrap();
	let err = atomic_create(&path, b"second").unwrap_err();
	assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
	assert_eq!(std::fs::read(&path).unwrap(), b"first");
	assert_eq!(names_in(dir.path()), ["secret"]);
}

/// Names the data directory to [`write_under_a_file_size_limit`], run in a child process.
const FSIZE_CHILD_DIR: &str = "ENCLAVE_WORKER_TEST_FSIZE_CHILD_DIR";
/// The child's file size limit: smaller than a sealed key file or a snapshot.
const FSIZE_LIMIT: libc::rlim_t = 64;

#[test]
fn failed_write_leaves_the_previous_files_usable() {
	use std::os::unix::process::CommandExt as _;
	let (dir, store, ka, _) = setup();
	let keys = KeyMaterial::generate();
	store.init_keys(&ka, &A, &keys).unwrap();
	store.write_snapshot(&keys.state, &A, 7, &[7; 32], b"state at 7").unwrap();
	let keys_file = std::fs::read(store.keys_path()).unwrap();
	let snapshot_file = std::fs::read(store.snapshot_path()).unwrap();
	let names_before = names_in(store.dir());

	// The limit is per process: set in a child, it cannot fail other tests' writes. With
	// SIGXFSZ ignored (kept across exec), writing past it fails with EFBIG, as when
	// the disk is full.
	let mut child = std::process::Command::new(std::env::current_exe().unwrap());
	child
		.args(["--exact", "store::tests::write_under_a_file_size_limit", "--ignored"])
		.args(["--nocapture", "--test-threads=1"])
		.env(FSIZE_CHILD_DIR, dir.path());
	let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
	// SAFETY: getrlimit writes the current limits into `limit`.
	assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) }, 0);
	// Lowers the soft limit only: the hard one may not be raised without privileges.
	let limit = libc::rlimit { rlim_cur: FSIZE_LIMIT, rlim_max: limit.rlim_max };
	// SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
	unsafe {
		child.pre_exec(move || {
			if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
				|| libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
			{
				return Err(io::Error::last_os_error());
			}
			Ok(())
		});
	}
	let out = child.output().unwrap();
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
	assert!(stdout.contains("1 passed"), "the child ran no test: {stdout}");

	// Nothing changed: same files, same bytes, no temp file, and both read as current.
	assert_eq!(names_in(store.dir()), names_before);
	assert_eq!(std::fs::read(store.keys_path()).unwrap(), keys_file);
	assert_eq!(std::fs::read(store.snapshot_path()).unwrap(), snapshot_file);
	let (read, copy) = store.read_sealed_keys(&ka, &A).unwrap();
	assert_eq!((read.checksum(), copy), (keys.checksum(), ReadFrom::Current));
	let (snap, copy) = store.read_snapshot(&keys.state).unwrap();
	assert_eq!((snap.block_number, copy), (7, ReadFrom::Current));
}

/// The child half of [`failed_write_leaves_the_previous_files_usable`]: every write fails.
#[test]
#[ignore = "run by failed_write_leaves_the_previous_files_usable under a file size limit"]
fn write_under_a_file_size_limit() {
	let Some(dir) = std::env::var_os(FSIZE_CHILD_DIR) else {
		panic!("run by failed_write_leaves_the_previous_files_usable, not directly");
	};
	let dir = PathBuf::from(dir);
	let store = Store::open(dir.join("data")).unwrap();
	let sealing_key = SimTee::in_data_dir(A, &dir).sealing_key().unwrap();
	let keys = KeyMaterial::generate();
	let file_too_large = |result: Result<(), StoreError>| match result {
		Err(StoreError::Io { source, .. }) => source.raw_os_error() == Some(libc::EFBIG),
		_ => false,
	};
	assert!(file_too_large(store.write_sealed_keys(&sealing_key, &A, &keys)));
	assert!(file_too_large(store.write_snapshot(&keys.state, &A, 8, &[8; 32], &[0; 4096])));
	assert!(file_too_large(store.write_chain_progress(
		&sealing_key,
		&A,
		&ChainProgress { genesis_hash: [1; 32], block_number: 8, block_hash: [2; 32] }
	)));
}

#[test]
fn leftover_temp_files_of_old_and_new_naming_are_removed_at_open_and_nothing_else() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	std::fs::create_dir(&data).unwrap();
	let random = "0123456789abcdef0123456789abcdef";
	let leftovers = [
		".keys.sealed.tmp-4242-0".to_owned(),
		format!(".keys.sealed.tmp-{random}"),
		format!(".sim-host-secret.tmp-{random}"),
		".status.json.tmp-7-12".to_owned(),
		format!(".chain.progress.tmp-{random}"),
		".state.snapshot.tmp-1-1".to_owned(),
	];
	for name in &leftovers {
		std::fs::write(data.join(name), b"a complete sealed copy").unwrap();
	}
	let others = [
		"notes.txt".to_owned(),
		"keys.sealed.tmp-1-2".to_owned(),
		".keys.sealed.tmp-".to_owned(),
		".keys.sealed.tmp-1-".to_owned(),
		".keys.sealed.tmp-not-ours".to_owned(),
		format!(".keys.sealed.tmp-{}", &random[1..]),
		format!(".keys.sealed.tmp-{}", random.to_uppercase()),
		".other.file.tmp-1-2".to_owned(),
		".keys.sealed.prev.tmp-1-2".to_owned(),
	];
	for name in &others {
		std::fs::write(data.join(name), b"not the store's").unwrap();
	}
	// A directory with a temp file's name is not a temp file.
	std::fs::create_dir(data.join(".keys.sealed.tmp-9-9")).unwrap();
	let store = Store::open(&data).unwrap();
	let mut expected: Vec<_> = others.to_vec();
	expected.push(".keys.sealed.tmp-9-9".into());
	expected.sort();
	assert_eq!(names_in(store.dir()), expected);
	assert_eq!(store.remove_leftovers().unwrap(), 0);
}

#[test]
fn a_live_writers_temp_file_is_kept_and_a_linked_one_keeps_its_content() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join(KEYS_FILE);
	let prepared = PreparedFile::write(&path, b"being written").unwrap();
	assert_eq!(Store::open(dir.path()).unwrap().remove_leftovers().unwrap(), 0);
	assert_eq!(names_in(dir.path()).len(), 1, "the live writer's temp file is kept");
	prepared.replace().unwrap();
	assert_eq!(std::fs::read(&path).unwrap(), b"being written");
	assert_eq!(names_in(dir.path()), [KEYS_FILE]);

	// A creator killed between linking and unlinking leaves two names of one file.
	let secret = dir.path().join(crate::tee::sim::HOST_SECRET_FILE);
	atomic_create(&secret, b"host secret").unwrap();
	let linked = dir.path().join(format!(".{}.tmp-3-0", crate::tee::sim::HOST_SECRET_FILE));
	std::fs::hard_link(&secret, &linked).unwrap();
	assert_eq!(Store::open(dir.path()).unwrap().remove_leftovers().unwrap(), 0);
	assert!(!linked.exists());
	assert_eq!(std::fs::read(&secret).unwrap(), b"host secret");
}

#[test]
fn a_stale_temp_file_named_like_the_next_write_does_not_fail_it() {
	let (_d, store, ka, _) = setup();
	// What a killed process with this pid left under the old naming, and a planted name.
	for n in 0..64 {
		let name = format!(".{KEYS_FILE}.tmp-{}-{n}", std::process::id());
		std::fs::write(store.dir().join(name), b"stale").unwrap();
	}
	let keys = KeyMaterial::generate();
	store.init_keys(&ka, &A, &keys).unwrap();
	assert_eq!(store.read_sealed_keys(&ka, &A).unwrap().0.checksum(), keys.checksum());

	let path = store.dir().join("f");
	let planted = store.dir().join(temp_name("f".as_ref(), "taken"));
	std::fs::write(&planted, b"planted").unwrap();
	let names = ["taken", "free"].map(|n| Ok(n.to_owned()));
	PreparedFile::write_named(&path, b"new", names.into_iter())
		.unwrap()
		.replace()
		.unwrap();
	assert_eq!(std::fs::read(&path).unwrap(), b"new");
	assert_eq!(std::fs::read(&planted).unwrap(), b"planted", "another's file is untouched");
}

#[test]
fn write_errors_are_returned_not_masked_and_leave_no_temp_file() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("f");
	let planted = dir.path().join(temp_name("f".as_ref(), "taken"));
	std::fs::write(&planted, b"planted").unwrap();
	let only_taken = std::iter::repeat_with(|| Ok("taken".to_owned()));
	let err = PreparedFile::write_named(&path, b"new", only_taken).err().unwrap();
	assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
	assert_eq!(std::fs::read(&planted).unwrap(), b"planted");
	std::fs::remove_file(&planted).unwrap();

	// The rename's own error, not one of the clean-up; the temp file is gone.
	let destination = dir.path().join("a-directory");
	std::fs::create_dir(&destination).unwrap();
	let err = atomic_write(&destination, b"x").unwrap_err();
	assert_eq!(err.raw_os_error(), Some(libc::EISDIR), "{err}");
	assert_eq!(names_in(dir.path()), ["a-directory"]);
	// A missing directory is reported as such, with the path, by the store.
	let store = Store::open_read_only(dir.path().join("missing"));
	let err = store.write_snapshot(&KeyMaterial::generate().state, &A, 1, &[0; 32], b"s");
	assert_matches!(&err, Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound, "{err:?}");
}

#[test]
fn read_only_open_creates_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let missing = dir.path().join("data");
	let store = Store::open_read_only(&missing);
	assert!(!store.has_keys());
	assert_eq!(store.keys_sealed_by(), None);
	let ka = SimTee::in_data_dir(A, dir.path()).sealing_key().unwrap();
	assert_matches!(store.read_sealed_keys(&ka, &A), Err(StoreError::NoKeys(_)));
	assert!(!missing.exists());
	// On a directory with keys: the header names who sealed them.
	Store::open(&missing)
		.unwrap()
		.init_keys(&ka, &A, &KeyMaterial::generate())
		.unwrap();
	assert_eq!(Store::open_read_only(&missing).keys_sealed_by(), Some(A));
}

#[test]
fn atomic_write_replaces_content_and_leaves_no_temp_files() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("f");
	atomic_write(&path, b"one").unwrap();
	atomic_write(&path, b"two").unwrap();
	assert_eq!(std::fs::read(&path).unwrap(), b"two");
	assert_eq!(names_in(dir.path()), ["f"]);
}
