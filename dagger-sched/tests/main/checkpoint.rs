//! Durable runs (issue 27; reference §1.15 checkpointing): a checkpointed DAG re-run
//! restores every task and computes none; damaged files, other code tags and unnamed
//! closures are recomputed, never used.

use dagger_core::{ChunkStore, StoreKey};
use dagger_sched::checkpoint::testing::MapStore;
use dagger_sched::checkpoint::{CheckpointError, PREFIX};
use dagger_sched::{delayed_registered_with, Context, DTask, Options};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static LEAVES: AtomicUsize = AtomicUsize::new(0);
static JOINS: AtomicUsize = AtomicUsize::new(0);
static TAGGED_RUNS: AtomicUsize = AtomicUsize::new(0);
static MIXED_RUNS: AtomicUsize = AtomicUsize::new(0);
static LAZY: AtomicUsize = AtomicUsize::new(0);

dagger_sched::register! {
    fn leaf(i: u64) -> u64 { LEAVES.fetch_add(1, Ordering::SeqCst); i.wrapping_mul(0x9E37_79B9_7F4A_7C15) }
    fn join(a: u64, b: u64) -> u64 { JOINS.fetch_add(1, Ordering::SeqCst); a.rotate_left(5) ^ b }
    fn tagged(i: u64) -> u64 { TAGGED_RUNS.fetch_add(1, Ordering::SeqCst); i + 1 }
    fn mixed(i: u64) -> u64 { MIXED_RUNS.fetch_add(1, Ordering::SeqCst); i * 3 }
    fn lazy_sq(i: u64) -> u64 { LAZY.fetch_add(1, Ordering::SeqCst); i * i }
}

fn ctx(store: &Arc<MapStore>, tag: &str) -> Context {
    Context::builder()
        .threads(2)
        .checkpoint(store.clone())
        .checkpoint_tag(tag)
        .checkpoint_all(true)
        .build()
}

/// 32 leaves and a pairwise tree of joins over them: 63 tasks.
fn tree(ctx: &Context) -> u64 {
    let mut level: Vec<DTask<u64>> = (0..32u64)
        .map(|i| ctx.spawn_registered(LEAF, (i,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn_registered(JOIN, (&p[0], &p[1])))
            .collect();
    }
    let v = level[0].fetch().unwrap();
    ctx.checkpoint_flush();
    v
}

fn files(store: &MapStore) -> Vec<StoreKey> {
    store
        .0
        .lock()
        .keys()
        .filter(|k| k.as_str().starts_with(PREFIX))
        .cloned()
        .collect()
}

fn calls() -> usize {
    LEAVES.load(Ordering::SeqCst) + JOINS.load(Ordering::SeqCst)
}

// One test for the tree: its counters are shared, so its runs must not interleave.
#[test]
fn a_rerun_restores_every_task_and_damaged_files_are_recomputed_with_a_warning() {
    let store = Arc::new(MapStore::default());
    let before = calls();
    let first = ctx(&store, "v1");
    let v = tree(&first);
    let s = first.checkpoint_stats();
    assert_eq!(
        (s.computed, s.written, s.restored, s.unusable),
        (63, 63, 0, 0)
    );
    assert_eq!(calls() - before, 63);
    assert_eq!(files(&store).len(), 63);
    drop(first);

    // The same program again: every task restored, no body runs.
    let before = calls();
    let again = ctx(&store, "v1");
    assert_eq!(tree(&again), v);
    let s = again.checkpoint_stats();
    assert_eq!((s.restored, s.computed, s.written), (63, 0, 0));
    assert_eq!(calls(), before, "a restored task ran its body");
    drop(again);

    // Damage two files: one bit flipped, one cut short. Those two tasks are computed
    // again (their dependents' keys come from lineage, so they still restore), each with a
    // typed warning, and the run succeeds with the same answer.
    let keys = files(&store);
    {
        let mut m = store.0.lock();
        let flip = m.get_mut(&keys[3]).unwrap();
        let mut b = flip.to_vec();
        b[50] ^= 0x10;
        *flip = b.into();
        let cut = m.get_mut(&keys[40]).unwrap();
        *cut = cut.slice(..cut.len() / 2);
    }
    let before = calls();
    let repaired = ctx(&store, "v1");
    assert_eq!(tree(&repaired), v);
    let s = repaired.checkpoint_stats();
    assert_eq!(
        (s.restored, s.computed, s.unusable, s.written),
        (61, 2, 2, 2)
    );
    assert_eq!(calls() - before, 2);
    // The flipped bit is caught by the checksum; the cut file by the checksum (its last
    // bytes are not its CRC) or, when the cut falls inside its header, as truncated.
    let why: Vec<_> = repaired
        .checkpoint_warnings()
        .into_iter()
        .map(|w| w.error)
        .collect();
    assert_eq!(why.len(), 2);
    assert!(
        why.iter()
            .any(|e| matches!(e, CheckpointError::Checksum { .. })),
        "{why:?}"
    );
    assert!(
        why.iter().all(|e| matches!(
            e,
            CheckpointError::Checksum { .. } | CheckpointError::Truncated { .. }
        )),
        "{why:?}"
    );
    drop(repaired);

    // Rewritten: the next run restores everything again.
    let healed = ctx(&store, "v1");
    assert_eq!(tree(&healed), v);
    assert_eq!(healed.checkpoint_stats().restored, 63);
    assert!(healed.checkpoint_warnings().is_empty());

    // Garbage under a checkpoint key (another program's file) is refused, not decoded.
    let k = keys[0].clone();
    store
        .0
        .lock()
        .insert(k, bytes::Bytes::from_static(b"not a checkpoint at all"));
    let before = calls();
    let foreign = ctx(&store, "v1");
    assert_eq!(tree(&foreign), v);
    assert_eq!(calls() - before, 1);
    assert_eq!(
        foreign.checkpoint_warnings()[0].error,
        CheckpointError::BadMagic
    );
}

#[test]
fn a_changed_code_tag_recomputes_and_the_old_tag_still_restores() {
    let store = Arc::new(MapStore::default());
    let run = |tag: &str| {
        let c = ctx(&store, tag);
        let t: Vec<_> = (0..5u64)
            .map(|i| c.spawn_registered(TAGGED, (i,)))
            .collect();
        let sum: u64 = t.iter().map(|t| t.fetch().unwrap()).sum();
        c.checkpoint_flush();
        (sum, c.checkpoint_stats())
    };
    let (a, s1) = run("v1");
    let n = TAGGED_RUNS.load(Ordering::SeqCst);
    let (b, s2) = run("v2");
    assert_eq!(a, b);
    assert_eq!((s1.computed, s2.computed, s2.restored), (5, 5, 0));
    assert_eq!(
        TAGGED_RUNS.load(Ordering::SeqCst),
        n + 5,
        "v2 used v1's checkpoints"
    );
    let (_, s3) = run("v1");
    assert_eq!((s3.restored, s3.computed), (5, 0));
    assert_eq!(TAGGED_RUNS.load(Ordering::SeqCst), n + 5);
}

#[test]
fn unnamed_closures_are_never_checkpointed_and_options_override_the_default() {
    let store = Arc::new(MapStore::default());
    let c = ctx(&store, "v1");
    // An unnamed closure has no key, so the registered task reading it has none either.
    let x = c.spawn(|()| 7u64, ());
    let y = c.spawn_registered(MIXED, (&x,));
    assert_eq!(y.fetch().unwrap(), 21);
    assert_eq!(y.checkpoint_key(), None);
    // Options say no: not checkpointed although the context's default is on.
    let z = c.spawn_registered_with(Options::new().checkpoint(false), MIXED, (1u64,));
    assert_eq!(z.fetch().unwrap(), 3);
    // A named closure is checkpointed, and keys its dependents.
    let n = c.spawn_checkpointed(Options::new(), "seven", |()| 7u64, ());
    let m = c.spawn_registered(MIXED, (&n,));
    assert_eq!(m.fetch().unwrap(), 21);
    assert!(m.checkpoint_key().is_some());
    c.checkpoint_flush();
    let s = c.checkpoint_stats();
    assert_eq!((s.keyless, s.written), (1, 2));
    assert_eq!(files(&store).len(), 2);

    // Without the context default, only tasks whose options ask are checkpointed.
    let store = Arc::new(MapStore::default());
    let c = Context::builder()
        .threads(1)
        .checkpoint(store.clone())
        .build();
    c.spawn_registered(MIXED, (5u64,)).fetch().unwrap();
    c.spawn_registered_with(Options::new().checkpoint(true), MIXED, (6u64,))
        .fetch()
        .unwrap();
    c.checkpoint_flush();
    assert_eq!(c.checkpoint_stats().written, 1);
}

#[test]
fn lazy_graphs_restore_too() {
    let store = Arc::new(MapStore::default());
    let opts = Options::new().checkpoint(true);
    let run = || {
        let c = Context::builder()
            .threads(1)
            .checkpoint(store.clone())
            .build();
        let a = delayed_registered_with(&opts, LAZY_SQ, (3u64,));
        let b = delayed_registered_with(&opts, LAZY_SQ, (&a,));
        let v = b.collect(&c).unwrap();
        c.checkpoint_flush();
        (v, c.checkpoint_stats())
    };
    let (v, s) = run();
    let n = LAZY.load(Ordering::SeqCst);
    assert_eq!((v, s.written), (81, 2));
    let (v, s) = run();
    assert_eq!((v, s.restored, s.computed), (81, 2, 0));
    assert_eq!(LAZY.load(Ordering::SeqCst), n);
}

#[test]
fn two_drivers_sharing_a_location_do_not_corrupt_each_other() {
    let store = Arc::new(MapStore::default());
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let c = ctx(&store, "shared");
                let t: Vec<_> = (0..200u64)
                    .map(|i| c.spawn_registered(MIXED, (i + 1000,)))
                    .collect();
                let v: Vec<u64> = t.iter().map(|t| t.fetch().unwrap()).collect();
                c.checkpoint_flush();
                v
            })
        })
        .collect();
    let results: Vec<Vec<u64>> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results[0], results[1]);
    let c = ctx(&store, "shared");
    let t: Vec<_> = (0..200u64)
        .map(|i| c.spawn_registered(MIXED, (i + 1000,)))
        .collect();
    let v: Vec<u64> = t.iter().map(|t| t.fetch().unwrap()).collect();
    assert_eq!(v, results[0]);
    let s = c.checkpoint_stats();
    assert_eq!((s.restored, s.unusable), (200, 0));
    // Every file is readable by a plain get as well.
    for k in files(&store) {
        assert!(futures_lite_block(store.get(&k)).is_ok());
    }
}

/// A store whose writes take a while: what a remote object store is like.
#[derive(Debug, Default)]
struct SlowStore(MapStore);

#[async_trait::async_trait]
impl ChunkStore for SlowStore {
    fn location(&self) -> String {
        self.0.location()
    }
    async fn put(&self, key: &StoreKey, value: bytes::Bytes) -> dagger_core::Result<()> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.0.put(key, value).await
    }
    async fn get(&self, key: &StoreKey) -> dagger_core::Result<bytes::Bytes> {
        self.0.get(key).await
    }
    async fn delete(&self, key: &StoreKey) -> dagger_core::Result<()> {
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str) -> dagger_core::Result<Vec<StoreKey>> {
        self.0.list(prefix).await
    }
}

/// A program whose `main` ends without `checkpoint_flush` still leaves every finished task's
/// checkpoint in the store: the context's drop waits for the writes under way.
#[test]
fn dropping_the_context_finishes_the_writes_under_way() {
    let store = Arc::new(SlowStore::default());
    let c = Context::builder()
        .threads(2)
        .checkpoint(store.clone())
        .checkpoint_tag("drop")
        .checkpoint_all(true)
        .build();
    let t: Vec<_> = (0..20u64)
        .map(|i| c.spawn_registered(MIXED, (i + 5000,)))
        .collect();
    for t in &t {
        t.fetch().unwrap();
    }
    drop((t, c));
    let written = store
        .0
         .0
        .lock()
        .keys()
        .filter(|k| k.as_str().starts_with(PREFIX))
        .count();
    assert_eq!(written, 20, "checkpoints lost when the context was dropped");
}

/// Polls a ready future once (MapStore's futures are ready at once).
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("MapStore futures are ready at once"),
    }
}
