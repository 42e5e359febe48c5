//! What tokio tasks and the progress thread pass each other: commands one way, a
//! connection's events and its shared flags the other.

use super::wire::Addr;
use bytes::Bytes;
use dagger_core::{Error, Result};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

/// What a receiving half gets.
#[derive(Debug)]
pub(crate) enum Event {
    /// A frame.
    Frame(Bytes),
    /// Several frames of one batch.
    Frames(Vec<Bytes>),
    /// The peer will send nothing more.
    Eof,
    /// The peer sent garbage: the connection is closed.
    Broken(Error),
}

/// State both halves of a connection and the progress thread share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The peer's receiving half is gone: sends fail.
    pub reset: AtomicBool,
}

/// A connection the progress thread opened: its id here, the peer, its channels.
#[derive(Debug)]
pub(crate) struct Link {
    pub id: u32,
    pub peer: Addr,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub shared: Arc<Shared>,
}

/// A request to the progress thread.
pub(crate) enum Cmd {
    Listen(
        Option<u32>,
        oneshot::Sender<Result<(u32, mpsc::UnboundedReceiver<Link>)>>,
    ),
    Unlisten(u32),
    Connect(Addr, oneshot::Sender<Result<Link>>),
    Send(u32, Vec<Bytes>, OwnedSemaphorePermit),
    CloseWrite(u32),
    CloseRead(u32),
    Stop(std_mpsc::Sender<()>),
}
