//! The conformance suite every [`ChunkStore`] runs — ours or a third party's.
//!
//! Enable the `conformance` feature and call [`run`] from a test (inside any tokio runtime
//! with timers off or on). Each check is also a public function, so a backend that cannot
//! meet one (say, a read-only store) can run the others. Checks work under a fresh key
//! prefix per run and delete what they wrote, so they can share a bucket with other data.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! let store = dagger_storage::MemoryStore::new();
//! let opts = dagger_storage::conformance::Options { large_value_bytes: 1 << 20, ..Default::default() };
//! dagger_storage::conformance::run_with(&store, &opts).await.unwrap();
//! # });
//! ```

use crate::chunk_file::{decode_chunk_file, encode_chunk_file};
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed check: which one, and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The check's name (the name of its function in this module).
    pub check: &'static str,
    /// What was expected and what happened.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check `{}` failed: {}",
            self.check, self.detail
        )
    }
}

impl std::error::Error for Failure {}

/// What [`run_with`] exercises.
#[derive(Clone, Debug)]
pub struct Options {
    /// Size of the value in [`large_value_roundtrip`] (default 64 MiB).
    pub large_value_bytes: usize,
    /// Futures in flight at once in [`concurrent_access`] (default 64).
    pub concurrent_tasks: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            large_value_bytes: 64 << 20,
            concurrent_tasks: 64,
        }
    }
}

/// The result of one check.
pub type CheckResult = Result<(), Failure>;

/// Runs every check with default [`Options`].
///
/// # Errors
///
/// The first [`Failure`], naming its check.
pub async fn run(store: &dyn ChunkStore) -> CheckResult {
    run_with(store, &Options::default()).await
}

/// Runs every check.
///
/// # Errors
///
/// The first [`Failure`], naming its check.
pub async fn run_with(store: &dyn ChunkStore, opts: &Options) -> CheckResult {
    let p = fresh_prefix();
    put_get_delete(store, &p).await?;
    overwrite(store, &p).await?;
    empty_value(store, &p).await?;
    missing_is_not_found(store, &p).await?;
    list_by_prefix(store, &p).await?;
    concurrent_access(store, &p, opts.concurrent_tasks).await?;
    large_value_roundtrip(store, &p, opts.large_value_bytes).await?;
    corrupt_data_detected(store, &p).await?;
    Ok(())
}

/// A key prefix no other run (in this or another process) uses.
pub fn fresh_prefix() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "conformance-{}-{}-{nanos}/",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

fn fail(check: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        check,
        detail: detail.into(),
    }
}

fn key(check: &'static str, s: &str) -> Result<StoreKey, Failure> {
    StoreKey::new(s).map_err(|e| fail(check, format!("bad key {s:?}: {e}")))
}

/// Bytes that differ at every position modulo 251, so shifted or truncated data shows.
fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

async fn put(check: &'static str, store: &dyn ChunkStore, k: &StoreKey, v: Bytes) -> CheckResult {
    store
        .put(k, v)
        .await
        .map_err(|e| fail(check, format!("put {k}: {e}")))
}

async fn get(check: &'static str, store: &dyn ChunkStore, k: &StoreKey) -> Result<Bytes, Failure> {
    store
        .get(k)
        .await
        .map_err(|e| fail(check, format!("get {k}: {e}")))
}

async fn delete(check: &'static str, store: &dyn ChunkStore, k: &StoreKey) -> CheckResult {
    store
        .delete(k)
        .await
        .map_err(|e| fail(check, format!("delete {k}: {e}")))
}

fn expect_not_found(
    check: &'static str,
    k: &StoreKey,
    r: dagger_core::Result<Bytes>,
) -> CheckResult {
    match r {
        Err(Error::NotFound(msg)) if msg.contains(k.as_str()) => Ok(()),
        Err(Error::NotFound(msg)) => Err(fail(
            check,
            format!("NotFound for {k} does not name the key: {msg:?}"),
        )),
        Err(e) => Err(fail(
            check,
            format!("get of missing {k}: expected NotFound, got {e:?}"),
        )),
        Ok(v) => Err(fail(
            check,
            format!("get of missing {k} returned {} bytes", v.len()),
        )),
    }
}

/// A value put is got back unchanged; after delete it is gone.
///
/// # Errors
///
/// A [`Failure`] saying what differed.
pub async fn put_get_delete(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "put_get_delete";
    let k = key(C, &format!("{prefix}pgd/one"))?;
    let v = pattern(1000, 1);
    put(C, store, &k, v.clone()).await?;
    let got = get(C, store, &k).await?;
    if got != v {
        return Err(fail(
            C,
            format!("got {} bytes back, not the {} put", got.len(), v.len()),
        ));
    }
    delete(C, store, &k).await?;
    expect_not_found(C, &k, store.get(&k).await)
}

/// A second put replaces the first value entirely (also with a shorter value).
///
/// # Errors
///
/// A [`Failure`] saying what differed.
pub async fn overwrite(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "overwrite";
    let k = key(C, &format!("{prefix}ow/k"))?;
    put(C, store, &k, pattern(5000, 2)).await?;
    let short = pattern(10, 3);
    put(C, store, &k, short.clone()).await?;
    let got = get(C, store, &k).await?;
    if got != short {
        return Err(fail(
            C,
            format!(
                "after overwrite got {} bytes, expected the 10 written last",
                got.len()
            ),
        ));
    }
    delete(C, store, &k).await
}

/// An empty value is a value, not a missing key.
///
/// # Errors
///
/// A [`Failure`] saying what differed.
pub async fn empty_value(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "empty_value";
    let k = key(C, &format!("{prefix}empty"))?;
    put(C, store, &k, Bytes::new()).await?;
    let got = get(C, store, &k).await?;
    if !got.is_empty() {
        return Err(fail(
            C,
            format!("got {} bytes for an empty value", got.len()),
        ));
    }
    delete(C, store, &k).await
}

/// Getting a missing key is [`Error::NotFound`] naming the key; deleting one is not an error.
///
/// # Errors
///
/// A [`Failure`] saying what happened instead.
pub async fn missing_is_not_found(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "missing_is_not_found";
    let k = key(C, &format!("{prefix}missing/never-written"))?;
    expect_not_found(C, &k, store.get(&k).await)?;
    store
        .delete(&k)
        .await
        .map_err(|e| fail(C, format!("delete of missing {k} should succeed, got {e}")))
}

/// `list` returns exactly the keys with a string prefix, sorted, across "directories".
///
/// # Errors
///
/// A [`Failure`] with the expected and actual listings.
pub async fn list_by_prefix(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "list_by_prefix";
    let names = ["ls/b/1", "ls/a/2", "ls/ab", "ls/a/1", "ls/a/x/deep"];
    let mut keys = Vec::new();
    for n in names {
        let k = key(C, &format!("{prefix}{n}"))?;
        put(C, store, &k, pattern(7, 4)).await?;
        keys.push(k);
    }
    let cases: [(&str, &[&str]); 5] = [
        ("ls/a", &["ls/a/1", "ls/a/2", "ls/a/x/deep", "ls/ab"]),
        ("ls/a/", &["ls/a/1", "ls/a/2", "ls/a/x/deep"]),
        (
            "ls/",
            &["ls/a/1", "ls/a/2", "ls/a/x/deep", "ls/ab", "ls/b/1"],
        ),
        ("ls/b/1", &["ls/b/1"]),
        ("ls/zz", &[]),
    ];
    for (sub, want) in cases {
        let full = format!("{prefix}{sub}");
        let got = store
            .list(&full)
            .await
            .map_err(|e| fail(C, format!("list {full:?}: {e}")))?;
        let want: Vec<String> = want.iter().map(|w| format!("{prefix}{w}")).collect();
        let got: Vec<String> = got.iter().map(|k| k.as_str().to_string()).collect();
        if got != want {
            return Err(fail(
                C,
                format!("list {full:?}: expected {want:?}, got {got:?}"),
            ));
        }
    }
    for k in &keys {
        delete(C, store, k).await?;
    }
    let full = format!("{prefix}ls/");
    let left = store
        .list(&full)
        .await
        .map_err(|e| fail(C, format!("list {full:?}: {e}")))?;
    if !left.is_empty() {
        return Err(fail(
            C,
            format!("after deleting all, list {full:?} still gives {left:?}"),
        ));
    }
    Ok(())
}

/// Many puts and gets in flight at once: each reader of its own key sees its value, and
/// readers of a key being overwritten concurrently see one whole value, never a mix.
///
/// # Errors
///
/// A [`Failure`] naming the key that went wrong.
pub async fn concurrent_access(store: &dyn ChunkStore, prefix: &str, tasks: usize) -> CheckResult {
    const C: &str = "concurrent_access";
    let shared = key(C, &format!("{prefix}conc/shared"))?;
    const SHARED_LEN: usize = 64 << 10;
    put(C, store, &shared, Bytes::from(vec![0u8; SHARED_LEN])).await?;
    let jobs = (0..tasks).map(|i| {
        let shared = shared.clone();
        async move {
            let own = key(C, &format!("{prefix}conc/t{i}"))?;
            let v = pattern(1024 + i, i as u8);
            put(C, store, &own, v.clone()).await?;
            // Overwrite the shared key with a uniform value, then read it.
            put(C, store, &shared, Bytes::from(vec![i as u8; SHARED_LEN])).await?;
            let got = get(C, store, &own).await?;
            if got != v {
                return Err(fail(C, format!("{own} read back wrong while others wrote")));
            }
            let s = get(C, store, &shared).await?;
            if s.len() != SHARED_LEN || s.iter().any(|b| *b != s[0]) {
                return Err(fail(
                    C,
                    format!("{shared} read a torn value ({} bytes, mixed contents) during concurrent overwrites", s.len()),
                ));
            }
            delete(C, store, &own).await
        }
    });
    futures::future::try_join_all(jobs).await?;
    delete(C, store, &shared).await
}

/// A large value (default 64 MiB) round trips byte for byte.
///
/// # Errors
///
/// A [`Failure`] with the first differing offset.
pub async fn large_value_roundtrip(
    store: &dyn ChunkStore,
    prefix: &str,
    len: usize,
) -> CheckResult {
    const C: &str = "large_value_roundtrip";
    let k = key(C, &format!("{prefix}large"))?;
    let v = pattern(len, 5);
    put(C, store, &k, v.clone()).await?;
    let got = get(C, store, &k).await?;
    if got != v {
        let at = got.iter().zip(v.iter()).position(|(a, b)| a != b);
        return Err(fail(
            C,
            format!(
                "{len}-byte value came back as {} bytes, first difference at {at:?}",
                got.len()
            ),
        ));
    }
    delete(C, store, &k).await
}

/// Bytes damaged at rest are caught by the chunk-file layer as [`Error::Corrupt`] naming
/// the chunk, whichever store they went through (the store must hand back exactly what
/// was put, damaged or not).
///
/// # Errors
///
/// A [`Failure`] if damaged data decodes or the error does not name the chunk.
pub async fn corrupt_data_detected(store: &dyn ChunkStore, prefix: &str) -> CheckResult {
    const C: &str = "corrupt_data_detected";
    let k = key(C, &format!("{prefix}corrupt/c1"))?;
    let file = encode_chunk_file("postcard", &pattern(4096, 6))
        .map_err(|e| fail(C, format!("encoding: {e}")))?;
    put(C, store, &k, file.clone()).await?;
    let what = format!("chunk c1 ({}/{k})", store.location());
    let got = get(C, store, &k).await?;
    decode_chunk_file(&what, &got).map_err(|e| fail(C, format!("intact file rejected: {e}")))?;
    let mut flipped = file.to_vec();
    flipped[2000] ^= 0x04;
    let truncated = file.slice(..file.len() - 100);
    for (how, bad) in [
        ("a flipped bit", Bytes::from(flipped)),
        ("truncation", truncated),
    ] {
        put(C, store, &k, bad).await?;
        let got = get(C, store, &k).await?;
        match decode_chunk_file(&what, &got) {
            Err(Error::Corrupt { what: w, .. }) if w == what => {}
            Err(e) => {
                return Err(fail(
                    C,
                    format!("{how}: expected Corrupt naming {what:?}, got {e:?}"),
                ))
            }
            Ok(_) => return Err(fail(C, format!("{how} was not detected"))),
        }
    }
    delete(C, store, &k).await
}

/// Creates `bucket` on an S3-compatible test server (such as moto on loopback) with a raw,
/// unsigned HTTP `PUT /<bucket>`; an existing bucket is fine. For tests only.
pub fn create_test_bucket(endpoint: &str, bucket: &str) -> Result<()> {
    use std::io::{Read, Write};
    let host = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| Error::Argument(format!("{endpoint}: expected an http:// endpoint")))?;
    let host = host.split('/').next().unwrap_or(host);
    let mut conn = std::net::TcpStream::connect(host)?;
    write!(
        conn,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)?;
    let status = reply.lines().next().unwrap_or("");
    if status.contains(" 200") || status.contains(" 409") {
        Ok(())
    } else {
        Err(Error::Storage(format!(
            "creating bucket {bucket}: {status}"
        )))
    }
}
