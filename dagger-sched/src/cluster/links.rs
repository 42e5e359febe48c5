//! A worker's links to its peers for streaming: one connection per peer to its data port
//! (where chunk fetches go too), written by a task of its own from a queue of frames, so a
//! stage thread never waits for the network.

use bytes::Bytes;
use dagger_core::{Error, Result, Transport, WorkerId};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Default)]
struct Link {
    queue: Mutex<Vec<Bytes>>,
    notify: Notify,
    dead: AtomicBool,
}

/// The links of one worker (see the module docs).
pub(crate) struct Links {
    transport: Arc<dyn Transport>,
    rt: tokio::runtime::Handle,
    links: Mutex<HashMap<WorkerId, Arc<Link>>>,
}

impl Links {
    pub(crate) fn new(transport: Arc<dyn Transport>, rt: tokio::runtime::Handle) -> Self {
        Links {
            transport,
            rt,
            links: Mutex::new(HashMap::new()),
        }
    }

    /// Queues `frame` for worker `to`, whose data port is `addr` (connecting first if need
    /// be); `WorkerLost` when it cannot be reached.
    pub(crate) fn send(&self, to: WorkerId, addr: Option<String>, frame: Bytes) -> Result<()> {
        let lost = || Error::WorkerLost {
            worker: to,
            chunk: None,
        };
        let link = {
            let mut links = self.links.lock();
            match links.get(&to) {
                Some(l) => l.clone(),
                None => {
                    let addr = addr.ok_or_else(lost)?;
                    let l = Arc::new(Link::default());
                    links.insert(to, l.clone());
                    self.rt
                        .spawn(write(self.transport.clone(), addr, l.clone()));
                    l
                }
            }
        };
        if link.dead.load(Ordering::Acquire) {
            return Err(lost());
        }
        link.queue.lock().push(frame);
        link.notify.notify_one();
        Ok(())
    }
}

async fn write(transport: Arc<dyn Transport>, addr: String, link: Arc<Link>) {
    // The receiving half is kept (unread) for as long as the link is written.
    let (mut sender, _receiver) = match transport.connect(&addr).await {
        Ok(c) => (c.sender, c.receiver),
        Err(e) => {
            tracing::warn!(target: "dagger", "stream link to {addr}: {e}");
            link.dead.store(true, Ordering::Release);
            return;
        }
    };
    loop {
        let frames = std::mem::take(&mut *link.queue.lock());
        if frames.is_empty() {
            link.notify.notified().await;
            continue;
        }
        if let Err(e) = sender.send_many(frames).await {
            tracing::warn!(target: "dagger", "stream link to {addr}: {e}");
            link.dead.store(true, Ordering::Release);
            return;
        }
    }
}
