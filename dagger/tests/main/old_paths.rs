//! Every name the facade's root had before it was trimmed to the API still compiles at its
//! old path (they are hidden from the docs now): programs outside the workspace use them.

#[allow(unused_imports, deprecated)]
use dagger::{
    array, codec, current_processor, current_task, debug_compute, debug_compute_profiled,
    debug_run, delayed, delayed_fn, delayed_fn_with, delayed_meta, delayed_with, error, fetch_all,
    ids, init, invoke, is_cancelled, live_value, local_piece, mutable, mutable_in, mutable_on,
    mutable_with, myid, options, own_peak_rss, partition, peak_rss, pinned_count, postcard_codec,
    processor, profile, register_size, registered_names, scope, serve, set_default_observer,
    set_default_transport, set_result_store_factory, set_telemetry, shard, shard_on, size_of_value,
    sleep, storage, store, transport, transports, All, AnyThunk, Arg, ArgRef, ArgValue, Args,
    Chunk, ChunkId, ChunkStore, Codec, Context, ContextBuilder, DTask, DecodeArgs, Dependency,
    Error, Failure, FetchAll, IntoArg, IntoArgs, IntoLazyArg, IntoLazyArgs, IntoMetaArgs, ItemRef,
    LazyArg, LazyArgs, LazyValuesOf, LineageArg, LiveInvoke, Memo, MemoryResults, Meta, MetaThunk,
    Mutable, MutableOptions, NodeId, Observer, Options, Partitioning, Pinned, PoolResults,
    Processor, ProcessorId, ProcessorInfo, ProcessorKind, ProfileTelemetry, Recompute, Registered,
    Registration, RemoteArg, RemoteArgs, RemoteShard, Result, ResultStats, ResultStore,
    ResultStoreFactory, Scope, ScopeSpec, Selector, Shard, ShardOptions, Site, StoreKey, TaskEvent,
    TaskEventKind, TaskId, TcpTransport, Telemetry, Thunk, Transport, TransportFactory, Val,
    ValuesOf, WorkerId, WorkerPeak, WorkerPeaks, WorkerProgram,
};

#[cfg(feature = "dashboard")]
#[allow(unused_imports, deprecated)]
use dagger::{
    dashboard, dashboard_from_env, feed_dashboard, feed_gauges, global_dashboard,
    global_dashboard_on, watch, with_dashboard, DashboardExt, GaugeFeed, GAUGE_PERIOD,
};

#[test]
fn old_root_paths_still_name_the_same_items() {
    // Modules that were whole crates under other names.
    let _ = dagger::transports::Tcp::new("cookie");
    let _: fn() -> dagger::storage::StorageConfig = Default::default;
    let _: Option<dagger::store::StoreKey> = dagger::storage::StoreKey::new("a").ok();
    let _: Option<dagger::array::binary::Side> = None;
    let _: Option<dagger::array::index::Index> = None;
    // Items now shown in modules, still at the root.
    let _: dagger::WorkerPeaks = dagger::memory::WorkerPeaks::watch(
        &dagger::Context::builder().threads(1).build(),
        std::time::Duration::from_millis(5),
    );
    assert_eq!(dagger::myid(), dagger::cluster::myid());
    assert_eq!(
        dagger::own_peak_rss() > 0,
        dagger::memory::own_peak_rss() > 0
    );
    dagger::register! {
        fn twice(x: i64) -> i64 { 2 * x }
    }
    let _: &dagger::Registered<(i64,), i64> = &TWICE;
    assert_eq!(twice(21), 42);
}

/// The former names of renamed items still compile and do what the new ones do.
#[test]
#[allow(deprecated)]
fn former_names_still_work() {
    dagger::register! {
        fn plus_one(x: i64) -> i64 { x + 1 }
    }
    let ctx = dagger::Context::builder().threads(2).build();
    let opts = dagger::Options::new().name("old");
    assert_eq!(ctx.spawn_fn(PLUS_ONE, (1i64,)).fetch().unwrap(), 2);
    assert_eq!(
        ctx.spawn_fn_with(&opts, PLUS_ONE, (2i64,)).fetch().unwrap(),
        3
    );
    let t = dagger::delayed_fn(PLUS_ONE, (3i64,));
    assert_eq!(t.collect(&ctx).unwrap(), 4);
    let u = dagger::delayed_fn_with(opts.clone(), PLUS_ONE, (4i64,));
    let chunk = u.compute(&ctx).unwrap();
    assert_eq!(chunk.collect().unwrap(), chunk.fetch().unwrap());
    let s = dagger::shard::shard(&ctx, || 7u8, dagger::ShardOptions::new()).unwrap();
    assert_eq!(s.len(), 1);
}
