//! Every name the facade's root had before it was trimmed to the API still compiles at its
//! old path (they are hidden from the docs now): programs outside the workspace use them.

#[allow(unused_imports)]
use dagger::{
    All, AnyThunk, Arg, ArgRef, Args, ArgValue, array, Chunk, ChunkId, ChunkStore, codec,
    Codec, Context, ContextBuilder, current_processor, current_task, debug_compute,
    debug_compute_profiled, debug_run, DecodeArgs, delayed, delayed_fn, delayed_fn_with,
    delayed_meta, delayed_with, Dependency, DTask, error, Error, Failure, fetch_all, FetchAll,
    ids, init, IntoArg, IntoArgs, IntoLazyArg, IntoLazyArgs, IntoMetaArgs, invoke,
    is_cancelled, ItemRef, LazyArg, LazyArgs, LazyValuesOf, LineageArg, live_value, LiveInvoke,
    local_piece, Memo, MemoryResults, Meta, MetaThunk, Mutable, mutable, mutable_in,
    mutable_on, mutable_with, MutableOptions, myid, NodeId, Observer, options, Options,
    own_peak_rss, partition, Partitioning, peak_rss, Pinned, pinned_count, PoolResults,
    postcard_codec, processor, Processor, ProcessorId, ProcessorInfo, ProcessorKind, profile,
    ProfileTelemetry, Recompute, register_size, Registered, registered_names, Registration,
    RemoteArg, RemoteArgs, RemoteShard, Result, ResultStats, ResultStore, ResultStoreFactory,
    scope, Scope, ScopeSpec, Selector, serve, set_default_observer, set_default_transport,
    set_result_store_factory, set_telemetry, shard, Shard, shard_on, ShardOptions, Site,
    size_of_value, sleep, storage, store, StoreKey, TaskEvent, TaskEventKind, TaskId,
    TcpTransport, Telemetry, Thunk, transport, Transport, TransportFactory, transports, Val,
    ValuesOf, WorkerId, WorkerPeak, WorkerPeaks, WorkerProgram,
};

#[cfg(feature = "dashboard")]
#[allow(unused_imports)]
use dagger::{
    dashboard, dashboard_from_env, DashboardExt, feed_dashboard, feed_gauges, GAUGE_PERIOD,
    GaugeFeed, global_dashboard, global_dashboard_on, watch, with_dashboard,
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
    assert_eq!(dagger::own_peak_rss() > 0, dagger::memory::own_peak_rss() > 0);
    dagger::register! {
        fn twice(x: i64) -> i64 { 2 * x }
    }
    let _: &dagger::Registered<(i64,), i64> = &TWICE;
    assert_eq!(twice(21), 42);
}
