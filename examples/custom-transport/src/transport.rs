//! [`Transport`] for [`UnixSocket`]: listening binds a
//! [`UnixSocketListener`](crate::UnixSocketListener), connecting dials a socket path.

use crate::socket::UnixSocket;
use async_trait::async_trait;
use dagger_core::{Connection, Result, Transport, TransportListener};

#[async_trait]
impl Transport for UnixSocket {
    fn name(&self) -> &'static str {
        "unix"
    }

    async fn listen(&self, addr: &str) -> Result<Box<dyn TransportListener>> {
        Ok(Box::new(self.bind(addr)?))
    }

    async fn connect(&self, addr: &str) -> Result<Connection> {
        self.dial(addr).await
    }
}
