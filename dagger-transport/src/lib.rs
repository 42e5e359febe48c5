//! # dagger-transport
//!
//! How the processes of a dagger-rs cluster talk: two implementations of
//! [`dagger_core::Transport`] and the wire protocol under them.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`frame`] | length-prefixed frames and the streaming [`FrameDecoder`](frame::FrameDecoder) |
//! | [`framed`] | frames over any byte stream: connecting one, a connection's two halves |
//! | [`handshake`] | the versioned hello and the cookie challenge–response |
//! | [`message`] | frame payloads: postcard messages and raw numeric buffers |
//! | [`Cookie`] | the cluster's shared secret |
//! | [`Tcp`] | frames over TCP sockets ([`TcpListener`]) |
//! | `Mpi` | (feature `mpi`) frames between the ranks of an MPI job (`mpirun`, `srun`) |
//! | [`InProcess`] | frames over in-process channels ([`InProcessListener`]) |
//! | `conformance` | (feature `conformance`) checks any `Transport` implementation runs in its tests |
//! | [`bench`](mod@bench) | loopback benchmarks for `cargo xtask bench transport` |
//!
//! Every connection starts authenticated: a peer that cannot prove it knows the cookie, or
//! that speaks another protocol version, never becomes a [`Connection`](dagger_core::Connection).
//! Bytes from a peer never cause a panic: a malformed frame is a typed
//! [`Error`](dagger_core::Error) that closes only that connection.
//!
//! ```
//! use dagger_core::Transport;
//! use dagger_transport::{message, Tcp};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let tcp = Tcp::new("cookie");
//! let mut listener = tcp.listen("127.0.0.1:0").await?;
//! let addr = listener.local_addr();
//! let (client, server) = tokio::join!(tcp.connect(&addr), listener.accept());
//! let (mut client, mut server) = (client?, server?);
//! client.sender.send(message::encode_message(&("sum", vec![1u32, 2]))?).await?;
//! let frame = server.receiver.recv().await?.unwrap();
//! let (op, args): (String, Vec<u32>) = message::decode_message(&frame)?;
//! assert_eq!((op.as_str(), args.iter().sum::<u32>()), ("sum", 3));
//! # Ok::<(), dagger_core::Error>(()) }).unwrap();
//! ```

// The modules bottom to top: each imports only from those above its line.
// The cluster's shared secret.
mod cookie;
// Length-prefixed frames and the streaming decoder.
pub mod frame;
// Frame payloads: postcard messages and raw numeric buffers.
pub mod message;
// Frames over any byte stream: connecting one, the sender and receiver halves.
pub mod framed;
// The hello and the cookie proof that open a connection.
pub mod handshake;
// The in-process transport.
mod inproc;
// The TCP transport.
mod tcp;
// The MPI transport (feature `mpi`).
#[cfg(feature = "mpi")]
pub mod mpi;
// The suite any transport runs in its tests.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
// Loopback benchmarks of the transports.
pub mod bench;

pub use cookie::Cookie;
pub use handshake::{Hello, Role};
pub use inproc::{InProcess, InProcessListener, INPROC_SCHEME};
#[cfg(feature = "mpi")]
pub use mpi::{Mpi, MpiListener};
pub use tcp::{Tcp, TcpListener};
