//! # custom-transport
//!
//! A `dagger_core::Transport` written outside dagger-rs, the way a third party would: frames
//! over Unix domain sockets. It depends on `dagger-core` (the trait) and on
//! `dagger-transport`'s public building blocks (the frame format, the cookie handshake and
//! the framed connection halves), and proves itself with `dagger-transport`'s
//! `conformance` suite. Nothing in dagger-rs knows about it.
//!
//! An address is a socket path. Listening on a path that is an existing directory creates a
//! fresh socket inside it (as port 0 does for TCP); a listener removes its socket file when
//! it is dropped.
//!
//! ```
//! use custom_transport::UnixSocket;
//! use dagger_core::Transport;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let t = UnixSocket::new("cluster-cookie");
//! let mut listener = t.listen(dir.path().to_str().unwrap()).await?;
//! let addr = listener.local_addr(); // the socket created inside `dir`
//! let (client, server) = tokio::join!(t.connect(&addr), listener.accept());
//! let (mut client, mut server) = (client?, server?);
//! client.sender.send("ping".into()).await?;
//! assert_eq!(server.receiver.recv().await?.as_deref(), Some(&b"ping"[..]));
//! # Ok::<(), dagger_core::Error>(()) }).unwrap();
//! ```

// The modules bottom to top: each imports only from those above its line.
// Where a listener's socket file goes, and removing it again.
mod path;
// The transport value: its settings, connecting, and the handshake on a fresh stream.
mod socket;
// The listener: accepts streams and handshakes with each.
mod listener;
// `Transport` for the transport value, joining the two above.
mod transport;

pub use listener::UnixSocketListener;
pub use socket::UnixSocket;
