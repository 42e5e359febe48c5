//! Transports, in one place: the [`Transport`] trait every transport implements (from
//! `dagger-core`: frames between processes over authenticated [`Connection`]s) and, with
//! feature `tcp`, the `dagger-transport` crate's [`Tcp`] and [`InProcess`] transports and wire
//! protocol, plus [`TcpTransport`], the factory [`init`](crate::init) installs for clusters.
//!
//! ```
//! # #[cfg(feature = "tcp")] {
//! use dagger::transport::{TcpTransport, TransportFactory};
//! // What a cluster's driver and workers connect with: TCP, authenticated by the cookie.
//! let tcp = TcpTransport.transport("the cluster's cookie");
//! assert!(format!("{tcp:?}").contains("Tcp"));
//! # }
//! ```

pub use dagger_core::transport::*;
pub use dagger_sched::TransportFactory;
#[cfg(feature = "tcp")]
pub use dagger_transport::*;

/// Makes TCP transports for clusters (the default that [`init`](crate::init) installs).
#[cfg(feature = "tcp")]
#[derive(Debug, Default)]
pub struct TcpTransport;

#[cfg(feature = "tcp")]
impl TransportFactory for TcpTransport {
    fn transport(&self, cookie: &str) -> std::sync::Arc<dyn Transport> {
        std::sync::Arc::new(Tcp::new(cookie))
    }
}
