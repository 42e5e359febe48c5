//! The cluster [`Cookie`]: the shared secret every process of a cluster knows.

use rand::RngCore;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The shared secret of a cluster (Julia's cluster cookie).
///
/// A connection is accepted only if the peer proves it knows the same cookie. The TCP
/// handshake never sends the cookie itself, only keyed hashes of fresh nonces (see
/// [`handshake`](crate::handshake)). `Debug` does not print it.
///
/// ```
/// use dagger_transport::Cookie;
/// let c = Cookie::from("s3cret");
/// assert!(c.ct_eq(&Cookie::from(b"s3cret".to_vec())));
/// assert!(!c.ct_eq(&Cookie::from("other")));
/// assert!(!format!("{c:?}").contains("s3cret"));
/// assert_eq!(Cookie::random().as_bytes().len(), 32); // 32 hex characters
/// ```
#[derive(Clone)]
pub struct Cookie(Arc<[u8]>);

impl Cookie {
    /// A fresh random cookie: 32 lowercase hex characters (128 random bits), printable so it
    /// can travel in an environment variable such as `DAGGER_COOKIE`.
    pub fn random() -> Self {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        Self::from(hex)
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Compares two cookies in time that does not depend on where they differ.
    pub fn ct_eq(&self, other: &Cookie) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cookie(<{} bytes, redacted>)", self.0.len())
    }
}

impl From<&[u8]> for Cookie {
    fn from(b: &[u8]) -> Self {
        Cookie(b.into())
    }
}

impl From<Vec<u8>> for Cookie {
    fn from(b: Vec<u8>) -> Self {
        Cookie(b.into())
    }
}

impl From<&str> for Cookie {
    fn from(s: &str) -> Self {
        Cookie(s.as_bytes().into())
    }
}

impl From<String> for Cookie {
    fn from(s: String) -> Self {
        Cookie(s.into_bytes().into())
    }
}
