//! # dagger-transport
//!
//! How the processes of a dagger-rs cluster talk: two implementations of
//! [`dagger_core::Transport`] and the wire protocol under them.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`frame`] | length-prefixed frames and the streaming [`FrameDecoder`](frame::FrameDecoder) |
//! | [`handshake`] | the versioned hello and the cookie challenge–response |
//! | [`message`] | frame payloads: postcard messages and raw numeric buffers |
//! | [`Cookie`] | the cluster's shared secret |
//! | [`Tcp`] | frames over TCP sockets ([`TcpListener`]) |
//! | [`InProcess`] | frames over in-process channels ([`InProcessListener`]) |
//! | [`conformance`] | checks any `Transport` implementation can run in its tests |
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
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod bench;
pub mod conformance;
mod cookie;
pub mod frame;
pub mod handshake;
mod inproc;
pub mod message;
mod tcp;

pub use cookie::Cookie;
pub use handshake::{Hello, Role};
pub use inproc::{InProcess, InProcessListener, INPROC_SCHEME};
pub use tcp::{Tcp, TcpListener};
