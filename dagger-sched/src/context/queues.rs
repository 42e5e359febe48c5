//! Task queues on a [`Context`]: datadeps regions, bulk and sequential submission, and
//! structured waiting (`sync`, `wait_all`).
//!
//! Queues belong to the calling thread: tasks spawned on it while the body runs go to the
//! innermost open queue (see the `queue` module for how they nest). They are not inherited
//! by the tasks themselves.

use super::state::Context;
use crate::queue::{self, Frame, Region};
use dagger_core::Result;

impl Context {
    /// Runs `body` as a datadeps region (Dagger.jl's `spawn_datadeps`): the tasks it spawns
    /// on this thread are recorded, not launched; each waits for the earlier tasks of the
    /// region whose declared accesses ([`In`](crate::In), [`Out`](crate::Out),
    /// [`InOut`](crate::InOut) on a [`Data`](crate::Data) or a view of one) conflict with
    /// its own (read after write, write after read, write after write, on overlapping
    /// parts). They launch in batches of 1 024 while `body` runs (each depends only on
    /// earlier ones), and the rest when it returns; the call waits for every one of them and
    /// returns `body`'s value, or the first error in spawn order. The outcome is always the
    /// one of running the tasks one after another in spawn order, while readers of one
    /// version, and tasks on disjoint objects or views, run in parallel.
    ///
    /// A task that fails fails the tasks that read or overwrite what it wrote (each names
    /// the root cause); tasks that do not depend on it still run. Inside the region, a
    /// `fetch` of one of its tasks not launched yet is an
    /// [`Error::Concurrency`](crate::Error::Concurrency), not a deadlock. A region opened inside another joins it (its tasks are
    /// planned and awaited with the outer one's).
    ///
    /// ```
    /// use dagger_sched::{Context, Data, In, InOut, Out};
    /// let ctx = Context::builder().threads(2).build();
    /// let (a, b, c, d) = (Data::new(vec![1; 4]), Data::new(vec![2; 4]), Data::new(vec![3; 4]), Data::new(vec![0; 4]));
    /// let add = |(mut x, y): (dagger_sched::DataMut<Vec<i32>>, dagger_sched::DataRef<Vec<i32>>)| {
    ///     x.iter_mut().zip(y.iter()).for_each(|(x, y)| *x += y)
    /// };
    /// let n = ctx.datadeps(|| {
    ///     ctx.spawn(add, (InOut(&b), In(&a))); // b = a + b
    ///     ctx.spawn(add, (InOut(&c), In(&a))); // c = a + c, in parallel with the first
    ///     ctx.spawn(add, (InOut(&c), In(&b))); // c += b: after both
    ///     ctx.spawn(|(mut d, c)| d.copy_from_slice(&c), (Out(&d), In(&c)));
    ///     4
    /// });
    /// assert_eq!(n.unwrap(), 4);
    /// assert_eq!(d.get(), vec![(1 + 2) + (1 + 3); 4]);
    /// ```
    pub fn datadeps<R>(&self, body: impl FnOnce() -> R) -> Result<R> {
        if queue::in_region() {
            return Ok(body());
        }
        match queue::run(Frame::Region(Region::open()), body) {
            (out, None) => Ok(out),
            (_, Some(e)) => Err(e),
        }
    }

    /// Runs `body`, holding the tasks it spawns on this thread and launching them in
    /// batches (Dagger.jl's `spawn_bulk`): each 1 024 tasks while `body` runs, so they run
    /// while it spawns the rest, and the others when it returns; one queue operation and one
    /// wake-up per thread for a batch, instead of one per task. A task not launched yet is
    /// unlaunched (`fetch` gives an [`Error::Concurrency`](crate::Error::Concurrency)).
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let ts = ctx.spawn_bulk(|| {
    ///     let t = ctx.spawn(|()| 1, ());
    ///     assert!(t.fetch().unwrap_err().to_string().contains("unlaunched"));
    ///     (0..100).map(|i| ctx.spawn(move |()| i * 2, ())).collect::<Vec<_>>()
    /// });
    /// assert_eq!(dagger_sched::fetch_all(&ts).unwrap()[99], 198);
    /// ```
    pub fn spawn_bulk<R>(&self, body: impl FnOnce() -> R) -> R {
        queue::run(Frame::bulk(), body).0
    }

    /// Runs `body` so that each batch it spawns on this thread (a single spawn, or all the
    /// tasks of one [`Context::spawn_bulk`] inside it) waits for every task of the batch
    /// before (Dagger.jl's `spawn_sequential`), with or without data between them.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// ctx.wait_all(true, || {
    ///     ctx.spawn_sequential(|| {
    ///         for i in 0..5 {
    ///             let log = log.clone();
    ///             ctx.spawn(move |()| log.lock().unwrap().push(i), ());
    ///         }
    ///     })
    /// })
    /// .unwrap();
    /// assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    /// ```
    pub fn spawn_sequential<R>(&self, body: impl FnOnce() -> R) -> R {
        queue::run(
            Frame::Sequential {
                previous: Vec::new(),
            },
            body,
        )
        .0
    }

    /// Runs `body`, then waits for every task it spawned on this thread (Dagger.jl's
    /// `wait_all`). With `check_errors` the first failure among them (in spawn order) is
    /// returned; without, only `body`'s value.
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let r = ctx.wait_all(true, || { ctx.try_spawn(|()| Err::<(), _>("boom"), ()); 7 });
    /// assert!(r.unwrap_err().to_string().contains("boom"));
    /// assert_eq!(ctx.wait_all(false, || { ctx.try_spawn(|()| Err::<(), _>("boom"), ()); 7 }).unwrap(), 7);
    /// ```
    pub fn wait_all<R>(&self, check_errors: bool, body: impl FnOnce() -> R) -> Result<R> {
        match queue::run(Frame::Wait { jobs: Vec::new() }, body) {
            (_, Some(e)) if check_errors => Err(e),
            (out, _) => Ok(out),
        }
    }

    /// Runs `body`, then waits for every task spawned on this thread inside it (the
    /// reference's `@sync`). Fails with the first failure among them: `wait_all(true, body)`.
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let mut t = None;
    /// ctx.sync(|| t = Some(ctx.spawn(|()| dagger_sched::sleep(std::time::Duration::from_millis(20)), ()))).unwrap();
    /// assert!(t.unwrap().is_ready());
    /// ```
    pub fn sync<R>(&self, body: impl FnOnce() -> R) -> Result<R> {
        self.wait_all(true, body)
    }
}
