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

/// Makes [`Mpi`] transports for clusters: what [`init`](crate::init) installs on rank 0 of
/// an MPI job. Every rank uses the job's cookie (the cluster's random one cannot reach the
/// ranks the launcher started).
#[cfg(feature = "mpi")]
#[derive(Debug)]
pub struct MpiTransport {
    cookie: String,
}

#[cfg(feature = "mpi")]
impl TransportFactory for MpiTransport {
    fn transport(&self, _cookie: &str) -> std::sync::Arc<dyn Transport> {
        std::sync::Arc::new(Mpi::new(self.cookie.as_str()))
    }
}

/// On a rank of an MPI job of 2 or more ranks: rank 0 installs [`MpiTransport`] and makes
/// its first cluster wait for the other ranks (`None`: it drives); another rank gets the
/// transport and the driver's address to serve.
#[cfg(feature = "mpi")]
pub(crate) fn mpi_role() -> Option<(std::sync::Arc<dyn Transport>, String)> {
    let job = mpi::launched_by_mpi().filter(|j| j.size > 1)?;
    // The launcher starts every rank: a cookie from its job id is one they all know.
    let cookie =
        std::env::var("DAGGER_COOKIE").unwrap_or_else(|_| format!("dagger-mpi-job:{}", job.job));
    if job.rank == 0 {
        let factory = MpiTransport { cookie };
        dagger_sched::set_default_transport(std::sync::Arc::new(factory));
        dagger_sched::set_prelaunched_workers("mpi://0", (job.size - 1) as usize);
        return None;
    }
    Some((
        std::sync::Arc::new(Mpi::new(cookie.as_str())),
        "mpi://0".into(),
    ))
}
