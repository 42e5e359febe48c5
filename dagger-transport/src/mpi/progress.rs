//! The thread that polls MPI: it owns the communicator's state, carries out commands from
//! tokio tasks (non-blocking sends, connects), and hands every received message to its
//! connection's channel.
//!
//! MPI calls are serialised: they are made under one mutex around the state, by this thread
//! while it polls and, at `MPI_THREAD_SERIALIZED` or above, by the tokio thread that sends a
//! frame when the mutex is free (no hand-over to this thread and no wake-up of it per
//! frame: in the driver, that is a context switch per `Run` frame saved). A command that
//! finds the mutex held is queued, and whoever takes the mutex next carries out the queue
//! first, so frames keep their order. Sends are `MPI_Isend` straight from the frame's
//! `Bytes`, kept alive until the request completes: no copy. Receives use a matched probe
//! from any rank and receive into a buffer of the probed size, which becomes the frame's
//! `Bytes`. When idle, the thread sleeps (see [`Backoff`]) until the next poll or until
//! it is woken through the [`Doorbell`], so an idle rank does not burn a core.

pub(crate) use super::cmd::{Cmd, Event, Link, Shared};
use super::doorbell::Doorbell;
use super::idle::Backoff;
use super::launch::launched_by_mpi;
use super::sends::InFlight;
use super::wire::{self, Addr, Kind, MAX_ID};
use bytes::{Bytes, BytesMut};
use dagger_core::{Error, Result};
use mpi::ffi;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::raw::AsRaw;
use mpi::traits::{Communicator, Source};
use std::collections::HashMap;
use std::os::raw::c_int;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

/// This process's MPI world, as seen from tokio: its rank and size, and the command queue.
#[derive(Debug)]
pub(crate) struct World {
    pub rank: i32,
    pub size: i32,
    /// `Sender` is `Sync`: tokio threads queue commands without a lock.
    cmds: std_mpsc::Sender<Cmd>,
    /// Wakes the progress thread when it sleeps (see [`Doorbell`]).
    bell: Option<Doorbell>,
    /// The progress thread's state, when MPI allows calls from any thread one at a time
    /// (`MPI_THREAD_SERIALIZED`): a command is then carried out by the calling thread if
    /// the progress thread is not polling, sparing a hand-over and a wake-up per frame.
    direct: Option<Arc<Mutex<State>>>,
    /// The progress thread, unparked for a queued command when there is no doorbell.
    thread: std::thread::Thread,
}

impl World {
    /// Carries out a command now, or queues it for the progress thread when that one holds
    /// the state (a no-op once the thread has stopped: the process is exiting).
    pub(crate) fn send(&self, c: Cmd) {
        let c = match (&self.direct, c) {
            (_, c @ Cmd::Stop(_)) | (None, c) => c,
            (Some(state), c) => match state.try_lock() {
                Ok(mut st) => {
                    // Commands queued before this one go first: frames keep their order.
                    st.drain();
                    st.command(c);
                    // Small sends are done at once; one still in flight (a large one)
                    // needs polling to progress: the progress thread must not sleep long.
                    st.complete_sends();
                    let pending = !st.inflight.is_empty();
                    drop(st);
                    if pending {
                        match &self.bell {
                            Some(b) => b.ring(self.rank),
                            None => self.thread.unpark(),
                        }
                    }
                    return;
                }
                Err(_) => c,
            },
        };
        let _ = self.cmds.send(c);
        match &self.bell {
            Some(b) => b.ring(self.rank),
            None => self.thread.unpark(),
        }
    }
}

static WORLD: OnceLock<std::result::Result<World, String>> = OnceLock::new();

/// The process's MPI world, started on first use (MPI can be initialised once only).
///
/// # Errors
/// [`Error::Transport`] when MPI cannot be initialised.
pub(crate) fn world() -> Result<&'static World> {
    WORLD
        .get_or_init(start)
        .as_ref()
        .map_err(|e| Error::Transport(e.clone()))
}

fn start() -> std::result::Result<World, String> {
    let (tx, rx) = std_mpsc::channel();
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("dagger-mpi".into())
        .spawn(move || run(rx, ready_tx))
        .map_err(|e| format!("cannot start the MPI progress thread: {e}"))?
        .thread()
        .clone();
    let (rank, size, bell, direct) = ready_rx
        .recv()
        .map_err(|_| "the MPI progress thread died while initialising".to_string())??;
    // MPI_Finalize must run before the process exits (mpirun reports a rank that exits
    // without it as failed): an exit handler asks the thread to finish.
    // SAFETY: `finalize_at_exit` is a plain extern "C" fn with no arguments.
    unsafe { libc::atexit(finalize_at_exit) };
    Ok(World {
        rank,
        size,
        cmds: tx,
        bell,
        direct,
        thread,
    })
}

extern "C" fn finalize_at_exit() {
    if let Some(Ok(w)) = WORLD.get() {
        let (tx, rx) = std_mpsc::channel();
        w.send(Cmd::Stop(tx));
        // Finalising waits for the other ranks; never hang the exit on them for long.
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }
}

struct Conn {
    peer: Addr,
    /// The peer's id for this connection.
    remote: u32,
    events: Option<mpsc::UnboundedSender<Event>>,
    write_closed: bool,
    shared: Arc<Shared>,
}

struct State {
    comm: ffi::MPI_Comm,
    /// Commands queued while another thread held the state.
    cmds: std_mpsc::Receiver<Cmd>,
    /// A `Stop` taken from the queue: the progress thread finishes.
    stop: Option<std_mpsc::Sender<()>>,
    rank: i32,
    conns: HashMap<u32, Conn>,
    connecting: HashMap<u32, (Addr, oneshot::Sender<Result<Link>>)>,
    listeners: HashMap<u32, mpsc::UnboundedSender<Link>>,
    /// Connects that came before their listener (a worker may start before the driver
    /// listens): answered when it listens, refused at exit.
    backlog: Vec<(i32, u32, u32)>,
    inflight: InFlight,
    /// Rung after each send, in case its rank sleeps.
    bell: Option<Doorbell>,
    next_id: u32,
    next_port: u32,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("rank", &self.rank)
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

// SAFETY: the MPI handles in the state (communicator, requests) are process-wide; MPI is
// called from other threads only at MPI_THREAD_SERIALIZED or above, and only through the
// mutex around the state, so never from two threads at once.
unsafe impl Send for State {}

type Ready = std::result::Result<(i32, i32, Option<Doorbell>, Option<Arc<Mutex<State>>>), String>;

fn run(cmds: std_mpsc::Receiver<Cmd>, ready: std_mpsc::Sender<Ready>) {
    let Some((universe, level)) = mpi::initialize_with_threading(mpi::Threading::Serialized) else {
        let _ = ready.send(Err("MPI was already initialised in this process".into()));
        return;
    };
    let world = universe.world();
    let comm = world.as_raw();
    // Errors come back as codes (a dead peer is a failed send, not an abort of this rank).
    // SAFETY: a valid communicator and a predefined error handler.
    unsafe { ffi::MPI_Comm_set_errhandler(comm, ffi::RSMPI_ERRORS_RETURN) };
    // DAGGER_MPI_DOORBELL=0: sleep and poll only (to measure what the doorbell buys).
    let bell = match std::env::var("DAGGER_MPI_DOORBELL").as_deref() {
        Ok("0") => None,
        _ => {
            let job = launched_by_mpi().map(|j| j.job).unwrap_or_default();
            Doorbell::open(&job, world.rank(), world.size())
        }
    };
    let st = State {
        comm,
        cmds,
        stop: None,
        rank: world.rank(),
        conns: HashMap::new(),
        connecting: HashMap::new(),
        listeners: HashMap::new(),
        backlog: Vec::new(),
        inflight: InFlight::default(),
        bell,
        next_id: 1,
        next_port: 1,
    };
    let state = Arc::new(Mutex::new(st));
    let direct = (level >= mpi::Threading::Serialized).then(|| state.clone());
    let _ = ready.send(Ok((world.rank(), world.size(), bell, direct)));
    let backoff = Backoff::from_env();
    let mut idle = 0u32;
    loop {
        let Ok(mut st) = state.lock() else { return };
        let mut busy = st.drain();
        if let Some(done) = st.stop.take() {
            st.stop();
            drop(st);
            drop(universe);
            let _ = done.send(());
            return;
        }
        while let Some((msg, status)) = world.any_process().immediate_matched_probe() {
            busy = true;
            let (buf, status) = (msg, status).matched_receive_vec::<u8>();
            st.received(status.source_rank(), status.tag(), Bytes::from(buf));
        }
        busy |= st.complete_sends();
        let sending = !st.inflight.is_empty();
        drop(st);
        if busy {
            idle = 0;
            continue;
        }
        idle = idle.saturating_add(1);
        let Some(wait) = backoff.wait(idle, sending) else {
            std::thread::yield_now();
            continue;
        };
        // Idle: sleep until a command, a ring of the doorbell, or the next poll.
        match &bell {
            Some(b) => {
                b.arm();
                if has_work(&state, &world) {
                    b.disarm();
                } else {
                    b.sleep(wait);
                }
            }
            None => std::thread::park_timeout(wait),
        }
    }
}

/// Once the doorbell is armed: whether a command is queued or a message waits (commands
/// found are carried out here). False when the state is poisoned: the loop then ends.
fn has_work(state: &Mutex<State>, world: &mpi::topology::SimpleCommunicator) -> bool {
    let Ok(mut st) = state.lock() else {
        return true;
    };
    st.drain() || st.stop.is_some() || world.any_process().immediate_probe().is_some()
}

impl State {
    /// Carries out the queued commands (keeping a `Stop` for the progress thread); true if
    /// there were any.
    fn drain(&mut self) -> bool {
        let mut any = false;
        while let Ok(c) = self.cmds.try_recv() {
            any = true;
            match c {
                Cmd::Stop(done) => self.stop = Some(done),
                c => self.command(c),
            }
        }
        any
    }

    fn fresh_id(&mut self) -> Result<u32> {
        if self.next_id > MAX_ID {
            return Err(Error::Transport(
                "this rank ran out of MPI connection ids".into(),
            ));
        }
        self.next_id += 1;
        Ok(self.next_id - 1)
    }

    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Listen(port, reply) => {
                let r = self.listen(port);
                let _ = reply.send(r);
            }
            Cmd::Unlisten(port) => {
                self.listeners.remove(&port);
            }
            Cmd::Connect(to, reply) => match self.fresh_id() {
                Ok(id) => {
                    self.isend(
                        to.rank,
                        wire::tag(to.port, Kind::Connect),
                        wire::encode_id(id),
                        None,
                    );
                    self.connecting.insert(id, (to, reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Cmd::Send(id, frames, permit) => self.send_frames(id, frames, permit),
            Cmd::CloseWrite(id) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.write_closed = true;
                    let (rank, tag) = (c.peer.rank, wire::tag(c.remote, Kind::Eof));
                    self.isend(rank, tag, Bytes::new(), None);
                }
                self.forget_if_closed(id);
            }
            Cmd::CloseRead(id) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.events = None;
                    let (rank, tag) = (c.peer.rank, wire::tag(c.remote, Kind::Reset));
                    self.isend(rank, tag, Bytes::new(), None);
                }
                self.forget_if_closed(id);
            }
            Cmd::Stop(_) => {}
        }
    }

    fn forget_if_closed(&mut self, id: u32) {
        if self
            .conns
            .get(&id)
            .is_some_and(|c| c.write_closed && c.events.is_none())
        {
            self.conns.remove(&id);
        }
    }

    fn listen(&mut self, port: Option<u32>) -> Result<(u32, mpsc::UnboundedReceiver<Link>)> {
        let port = match port {
            Some(p) if self.listeners.contains_key(&p) => {
                return Err(Error::Transport(format!(
                    "mpi://{}/{p} is already listening",
                    self.rank
                )))
            }
            Some(p) => p,
            None => {
                while self.listeners.contains_key(&self.next_port) {
                    self.next_port += 1;
                }
                self.next_port += 1;
                self.next_port - 1
            }
        };
        if port > MAX_ID {
            return Err(Error::Transport(
                "this rank ran out of MPI listener ports".into(),
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.listeners.insert(port, tx);
        let waiting: Vec<_> = self
            .backlog
            .iter()
            .filter(|b| b.1 == port)
            .copied()
            .collect();
        self.backlog.retain(|b| b.1 != port);
        for (rank, port, their) in waiting {
            self.accept(rank, port, their);
        }
        Ok((port, rx))
    }

    fn accept(&mut self, rank: i32, port: u32, their: u32) {
        let Some(l) = self.listeners.get(&port) else {
            self.backlog.push((rank, port, their));
            return;
        };
        let l = l.clone();
        let id = match self.fresh_id() {
            Ok(id) => id,
            Err(e) => {
                let reason = Bytes::from(e.to_string());
                self.isend(rank, wire::tag(their, Kind::Refuse), reason, None);
                return;
            }
        };
        let peer = Addr { rank, port: 0 };
        let (link, conn) = self.new_conn(id, peer, their);
        if l.send(link).is_err() {
            self.listeners.remove(&port);
            let reason = Bytes::from_static(b"the listener is gone");
            self.isend(rank, wire::tag(their, Kind::Refuse), reason, None);
            return;
        }
        self.conns.insert(id, conn);
        self.isend(
            rank,
            wire::tag(their, Kind::Accept),
            wire::encode_id(id),
            None,
        );
    }

    fn new_conn(&self, id: u32, peer: Addr, remote: u32) -> (Link, Conn) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let link = Link {
            id,
            peer,
            events: rx,
            shared: shared.clone(),
        };
        let conn = Conn {
            peer,
            remote,
            events: Some(tx),
            write_closed: false,
            shared,
        };
        (link, conn)
    }

    fn send_frames(&mut self, id: u32, frames: Vec<Bytes>, permit: OwnedSemaphorePermit) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        let (rank, remote) = (c.peer.rank, c.remote);
        let mut batch = BytesMut::new();
        let mut in_batch = 0;
        let mut permit = Some(permit);
        let flush = |st: &mut State, batch: &mut BytesMut, n: &mut usize| {
            if *n > 0 {
                st.isend(
                    rank,
                    wire::tag(remote, Kind::Batch),
                    batch.split().freeze(),
                    None,
                );
                *n = 0;
            }
        };
        let count = frames.len();
        for (i, f) in frames.into_iter().enumerate() {
            if f.len() <= wire::BATCH_FRAME_MAX && count > 1 {
                wire::push_batch(&mut batch, &f);
                in_batch += 1;
                continue;
            }
            flush(self, &mut batch, &mut in_batch);
            // The permit rides with the last large frame (or the batch below).
            let p = if i + 1 == count { permit.take() } else { None };
            self.isend(rank, wire::tag(remote, Kind::Data), f, p);
        }
        flush(self, &mut batch, &mut in_batch);
        drop(permit);
    }

    /// Starts a non-blocking send of `buf`, kept alive (with `permit`) until it completes.
    fn isend(&mut self, rank: i32, tag: i32, buf: Bytes, permit: Option<OwnedSemaphorePermit>) {
        let Ok(len) = c_int::try_from(buf.len()) else {
            tracing::warn!(len = buf.len(), "an MPI message above 2 GiB was dropped");
            return;
        };
        // SAFETY: MPI_REQUEST_NULL is a valid initial value; `buf` outlives the request
        // (it is stored with it below), and the datatype and communicator are valid.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        let rc = unsafe {
            ffi::MPI_Isend(
                buf.as_ptr().cast(),
                len,
                ffi::RSMPI_UINT8_T,
                rank,
                tag,
                self.comm,
                &mut req,
            )
        };
        if rc != ffi::MPI_SUCCESS as c_int {
            self.peer_failed(rank, rc);
            return;
        }
        self.inflight.push(req, buf, permit);
        if let Some(b) = &self.bell {
            b.ring(rank);
        }
    }

    /// Drops finished sends (their buffers and window permits); true if any finished.
    fn complete_sends(&mut self) -> bool {
        self.inflight.complete()
    }

    /// A send to `rank` failed: every connection to it is broken.
    fn peer_failed(&mut self, rank: i32, rc: c_int) {
        tracing::warn!(
            rank,
            code = rc,
            "MPI send failed: the rank is treated as lost"
        );
        for c in self.conns.values_mut().filter(|c| c.peer.rank == rank) {
            c.shared.reset.store(true, Ordering::Release);
            if let Some(ev) = c.events.take() {
                let _ = ev.send(Event::Broken(Error::Transport(format!(
                    "MPI rank {rank} is unreachable (error {rc})"
                ))));
            }
        }
    }

    fn received(&mut self, from: i32, tag: i32, buf: Bytes) {
        let (id, kind) = match wire::parse_tag(tag) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(rank = from, error = %e, "dropped an MPI message");
                return;
            }
        };
        match kind {
            Kind::Connect => match wire::parse_id(&buf) {
                Ok(their) => self.accept(from, id, their),
                Err(e) => tracing::warn!(rank = from, error = %e, "dropped a malformed connect"),
            },
            Kind::Accept | Kind::Refuse => {
                let Some((to, reply)) = self.connecting.remove(&id) else {
                    return;
                };
                let r = if kind == Kind::Refuse {
                    let why = String::from_utf8_lossy(&buf).into_owned();
                    Err(Error::Transport(format!("{} refused: {why}", to.to_url())))
                } else {
                    wire::parse_id(&buf).map(|remote| {
                        let (link, conn) = self.new_conn(id, to, remote);
                        self.conns.insert(id, conn);
                        link
                    })
                };
                if let Err(Ok(link)) = reply.send(r) {
                    // The connecting task gave up: close our side at once.
                    drop(link);
                    self.command(Cmd::CloseRead(id));
                    self.command(Cmd::CloseWrite(id));
                }
            }
            Kind::Data | Kind::Batch | Kind::Eof | Kind::Reset => self.on_conn(id, kind, buf),
        }
    }

    fn on_conn(&mut self, id: u32, kind: Kind, buf: Bytes) {
        let Some(c) = self.conns.get_mut(&id) else {
            return; // a connection we already closed
        };
        let event = match kind {
            Kind::Data => Event::Frame(buf),
            Kind::Batch => match wire::split_batch(&buf, usize::MAX) {
                Ok(frames) => Event::Frames(frames),
                Err(e) => Event::Broken(e),
            },
            Kind::Reset => {
                c.shared.reset.store(true, Ordering::Release);
                Event::Eof
            }
            _ => Event::Eof,
        };
        if let Some(ev) = &c.events {
            let _ = ev.send(event);
        }
    }

    /// Before finalising: refuse waiting connects, and let sends finish (for a while).
    fn stop(&mut self) {
        if let Some(b) = &self.bell {
            b.unlink();
        }
        for (rank, _, their) in std::mem::take(&mut self.backlog) {
            let why = Bytes::from_static(b"the rank is exiting");
            self.isend(rank, wire::tag(their, Kind::Refuse), why, None);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.inflight.is_empty() && Instant::now() < deadline {
            self.complete_sends();
            std::thread::yield_now();
        }
        // Requests still pending would make MPI_Finalize wait for ever.
        self.inflight.cancel_all();
    }
}
