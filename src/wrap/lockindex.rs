//! A session's index of package-lock.json, so that each script's identity
//! lookup reads one small bucket instead of the whole lockfile.
//!
//! Every script of an install looks up its own `packages` entry. A large
//! project's lockfile is megabytes, and even the one-pass scan of
//! `identity::lock_entry` costs ~4 ms per MB per script (7 ms of a 30 ms
//! script for 1.8 MB here, docs/benchmarks.md). The wrapper (a trusted
//! process, before the package manager starts) parses the lockfile once
//! and splits its `packages` into `BUCKETS` files in the session directory;
//! a script's shell reads the one its key hashes to.
//!
//! The identity chooses the policy, so the index must not be a way to
//! forge one. Each bucket carries:
//! - an HMAC-SHA256 under a per-session random key that travels only in
//!   the environment of the package manager and its host-side children
//!   (`KEY_ENV`, a `*_KEY` name, so spec/env.rs never passes it into a
//!   container), so a script given write access to the host's /tmp still
//!   cannot write a bucket that verifies;
//! - the lockfile's stamp (device, inode, size, mtime and ctime to the
//!   nanosecond) when it was indexed, so a lockfile changed since (`npm
//!   install` rewrites it) is read again rather than answered from the
//!   index;
//! - its own bucket number, so buckets cannot be swapped.
//!
//! Anything that does not verify means "no index": the lookup reads the
//! lockfile itself, exactly as without an index. So the answer is always
//! `identity::lock_entry` of the lockfile as it is now.

use std::cell::OnceCell;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::identity::{LockSource, lock_entry};

/// Where the wrapper puts the index key for the script shells.
pub const KEY_ENV: &str = "CAGEBOX_WRAP_LOCK_KEY";
/// The index's directory inside the session directory.
const DIR: &str = "lock-index";
/// 1.8 MB / 128: ~15 KB per bucket.
const BUCKETS: usize = 128;
/// Below this, scanning the lockfile costs under a millisecond: no index.
pub const MIN_SIZE: u64 = 256 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// Identifies one version of the lockfile on disk.
fn stamp(m: &fs::Metadata) -> String {
    format!(
        "{}:{}:{}:{}.{}:{}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    )
}

fn bucket_of(key: &str) -> usize {
    usize::from(Sha256::digest(key.as_bytes())[0]) % BUCKETS
}

fn bucket_path(session: &Path, n: usize) -> PathBuf {
    session.join(DIR).join(format!("{n:03}.json"))
}

#[derive(Serialize, Deserialize)]
struct Bucket {
    stamp: String,
    bucket: usize,
    entries: Map<String, Value>,
}

fn mac(key: &[u8], body: &[u8]) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(key).ok()?;
    m.update(body);
    Some(m)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A fresh random key (hex), for `KEY_ENV`.
pub fn new_key() -> io::Result<String> {
    let mut k = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut k)?;
    Ok(hex(&k))
}

/// Indexes `lock` into `session` under `key` (hex). Ok(false): nothing to
/// index (no lockfile, a small one, not valid JSON, or it changed while
/// being read); scripts then read the lockfile themselves.
pub fn build(session: &Path, lock: &Path, key: &str) -> io::Result<bool> {
    let Some(key) = unhex(key) else {
        return Ok(false);
    };
    let Ok(before) = fs::metadata(lock) else {
        return Ok(false);
    };
    if before.size() < MIN_SIZE {
        return Ok(false);
    }
    let text = fs::read_to_string(lock)?;
    let after = fs::metadata(lock)?;
    let stamp = stamp(&after);
    // Invalid JSON: lock_entry answers None for every key; so does the
    // lookup without an index.
    let (Ok(doc), true) = (
        serde_json::from_str::<Value>(&text),
        stamp == self::stamp(&before),
    ) else {
        return Ok(false);
    };
    let mut buckets: Vec<Map<String, Value>> = vec![Map::new(); BUCKETS];
    // Not an object (or absent): no key has an entry, as with lock_entry.
    if let Some(Value::Object(packages)) = doc.get("packages") {
        for (k, v) in packages {
            buckets[bucket_of(k)].insert(k.clone(), v.clone());
        }
    }
    let tmp = session.join(format!("{DIR}.tmp"));
    fs::DirBuilder::new().mode(0o700).create(&tmp)?;
    for (n, entries) in buckets.into_iter().enumerate() {
        let body = serde_json::to_vec(&Bucket {
            stamp: stamp.clone(),
            bucket: n,
            entries,
        })?;
        let tag = mac(&key, &body)
            .map(|m| hex(&m.finalize().into_bytes()))
            .ok_or_else(|| io::Error::other("hmac key"))?;
        let mut out = tag.into_bytes();
        out.push(b'\n');
        out.extend(body);
        fs::write(tmp.join(format!("{n:03}.json")), out)?;
    }
    fs::rename(&tmp, session.join(DIR))?;
    Ok(true)
}

/// The lockfile as a script's shell sees it: the session's index where it
/// verifies, the file itself otherwise (read at most once).
pub struct Lookup {
    lock: PathBuf,
    index: Option<(PathBuf, Vec<u8>)>,
    text: OnceCell<Option<String>>,
}

impl Lookup {
    /// `session` and `key` (hex) from the wrapper, when it made an index.
    pub fn new(lock: PathBuf, session: Option<&Path>, key: Option<&str>) -> Self {
        let index = session.zip(key.and_then(unhex));
        Lookup {
            lock,
            index: index.map(|(s, k)| (s.to_path_buf(), k)),
            text: OnceCell::new(),
        }
    }

    /// Some(answer) from a bucket that verifies; None: ask the lockfile.
    fn indexed(&self, key: &str) -> Option<Option<Value>> {
        let (session, mac_key) = self.index.as_ref()?;
        let now = stamp(&fs::metadata(&self.lock).ok()?);
        let n = bucket_of(key);
        let raw = fs::read(bucket_path(session, n)).ok()?;
        let split = raw.iter().position(|&b| b == b'\n')?;
        let (tag, body) = (raw.get(..split)?, raw.get(split + 1..)?);
        let tag = unhex(std::str::from_utf8(tag).ok()?)?;
        mac(mac_key, body)?.verify_slice(&tag).ok()?;
        let b: Bucket = serde_json::from_slice(body).ok()?;
        (b.stamp == now && b.bucket == n).then(|| b.entries.get(key).cloned())
    }
}

impl LockSource for Lookup {
    fn entry(&self, key: &str) -> Option<Value> {
        if let Some(answer) = self.indexed(key) {
            return answer;
        }
        let text = self
            .text
            .get_or_init(|| fs::read_to_string(&self.lock).ok());
        text.as_deref().and_then(|t| lock_entry(t, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn tmp(name: &str) -> Tmp {
        let d =
            std::env::temp_dir().join(format!("cagebox-lockindex-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("session")).unwrap();
        Tmp(d)
    }

    /// A lockfile over MIN_SIZE, with a duplicate key (the last wins).
    fn big_lock() -> String {
        let mut packages = Map::new();
        packages.insert("".into(), json!({"name": "proj"}));
        for i in 0..3000 {
            packages.insert(
                format!("node_modules/pad-{i}"),
                json!({"version": "1.2.3",
                       "resolved": format!("https://registry.npmjs.org/pad-{i}/-/pad-{i}-1.2.3.tgz"),
                       "integrity": format!("sha512-{i:0>60}")}),
            );
        }
        let body = serde_json::to_string(&json!({"name": "proj", "lockfileVersion": 3,
            "packages": packages}))
        .unwrap();
        // An earlier duplicate of pad-7 (the later entry wins).
        body.replacen(
            "\"packages\":{",
            "\"packages\":{\"node_modules/pad-7\":{\"version\":\"0.0.1\"},",
            1,
        )
    }

    fn setup(name: &str, text: &str) -> (Tmp, PathBuf, String) {
        let t = tmp(name);
        let lock = t.0.join("package-lock.json");
        fs::write(&lock, text).unwrap();
        let key = new_key().unwrap();
        (t, lock, key)
    }

    #[test]
    fn answers_as_the_lockfile_does() {
        let text = big_lock();
        assert!(text.len() as u64 > MIN_SIZE);
        let (t, lock, key) = setup("same", &text);
        let session = t.0.join("session");
        assert!(build(&session, &lock, &key).unwrap());
        let l = Lookup::new(lock, Some(&session), Some(&key));
        for k in [
            "",
            "node_modules/pad-0",
            "node_modules/pad-7",
            "node_modules/pad-2999",
            "node_modules/absent",
            "packages",
        ] {
            assert_eq!(l.indexed(k), Some(lock_entry(&text, k)), "{k}");
            assert_eq!(l.entry(k), lock_entry(&text, k), "{k}");
        }
        // The last duplicate won, as in a full parse (lock_entry agrees).
        assert_eq!(l.entry("node_modules/pad-7").unwrap()["version"], "1.2.3");
        // Never read the lockfile itself.
        assert!(l.text.get().is_none());
    }

    #[test]
    fn a_forged_bucket_is_not_believed() {
        let text = big_lock();
        let (t, lock, key) = setup("forged", &text);
        let session = t.0.join("session");
        build(&session, &lock, &key).unwrap();
        let k = "node_modules/pad-42";
        let p = bucket_path(&session, bucket_of(k));
        let raw = fs::read_to_string(&p).unwrap();
        // Another registry name for pad-42, the tag left as it was.
        fs::write(
            &p,
            raw.replace("registry.npmjs.org/pad-42/", "registry.npmjs.org/trusted/"),
        )
        .unwrap();
        let l = Lookup::new(lock.clone(), Some(&session), Some(&key));
        assert_eq!(l.indexed(k), None);
        assert_eq!(l.entry(k), lock_entry(&text, k));
        // A bucket tagged under another key is not believed either.
        let other = new_key().unwrap();
        let (t2, lock2, _) = setup("forged2", &text);
        let s2 = t2.0.join("session");
        build(&s2, &lock2, &other).unwrap();
        fs::remove_dir_all(session.join(DIR)).unwrap();
        fs::rename(s2.join(DIR), session.join(DIR)).unwrap();
        let l = Lookup::new(lock, Some(&session), Some(&key));
        assert_eq!(l.indexed(k), None);
        // A swapped bucket (verifies, wrong number) is not believed.
        let (t3, lock3, key3) = setup("swapped", &text);
        let s3 = t3.0.join("session");
        build(&s3, &lock3, &key3).unwrap();
        let n = bucket_of(k);
        fs::copy(bucket_path(&s3, (n + 1) % BUCKETS), bucket_path(&s3, n)).unwrap();
        let l = Lookup::new(lock3, Some(&s3), Some(&key3));
        assert_eq!(l.indexed(k), None);
        assert_eq!(l.entry(k), lock_entry(&text, k));
    }

    #[test]
    fn a_changed_lockfile_is_read_again() {
        let text = big_lock();
        let (t, lock, key) = setup("changed", &text);
        let session = t.0.join("session");
        build(&session, &lock, &key).unwrap();
        let changed = text.replace("pad-42-1.2.3.tgz", "pad-42-9.9.10.tgz");
        fs::write(&lock, &changed).unwrap();
        let k = "node_modules/pad-42";
        let l = Lookup::new(lock, Some(&session), Some(&key));
        assert_eq!(l.indexed(k), None);
        let e = l.entry(k).unwrap();
        assert!(
            e["resolved"]
                .as_str()
                .unwrap()
                .ends_with("pad-42-9.9.10.tgz")
        );
    }

    #[test]
    fn small_invalid_or_missing_lockfiles_get_no_index() {
        let (t, lock, key) = setup("small", r#"{"packages":{"node_modules/a":{}}}"#);
        let session = t.0.join("session");
        assert!(!build(&session, &lock, &key).unwrap());
        assert!(!session.join(DIR).exists());
        let l = Lookup::new(lock.clone(), Some(&session), Some(&key));
        assert_eq!(l.entry("node_modules/a"), Some(json!({})));
        let mut bad = big_lock();
        bad.push('x');
        fs::write(&lock, &bad).unwrap();
        assert!(!build(&session, &lock, &key).unwrap());
        assert_eq!(
            Lookup::new(lock.clone(), None, None).entry("node_modules/pad-1"),
            None
        );
        fs::remove_file(&lock).unwrap();
        assert!(!build(&session, &lock, &key).unwrap());
        assert_eq!(
            Lookup::new(lock, Some(&session), Some(&key)).entry("node_modules/a"),
            None
        );
    }
}
