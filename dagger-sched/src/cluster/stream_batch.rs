//! How the items of a streaming edge that crosses processes travel: a batch is a count,
//! then each item's length and bytes, so one message carries many small items.

use bytes::Bytes;
use dagger_core::{Error, Result};

/// A batch of encoded items being gathered: a count, then each item's length and bytes.
#[derive(Debug)]
pub struct BatchBuf {
    buf: Vec<u8>,
    count: u32,
}

impl Default for BatchBuf {
    fn default() -> Self {
        BatchBuf {
            buf: vec![0; 4],
            count: 0,
        }
    }
}

impl BatchBuf {
    /// Adds one encoded item.
    pub fn push(&mut self, item: &[u8]) {
        self.buf
            .extend_from_slice(&(item.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(item);
        self.count += 1;
    }

    /// Items gathered.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch's bytes and item count; the buffer starts again empty.
    pub fn take(&mut self) -> (Bytes, u32) {
        let mut b = std::mem::replace(&mut self.buf, vec![0; 4]);
        b[..4].copy_from_slice(&self.count.to_le_bytes());
        (Bytes::from(b), std::mem::take(&mut self.count))
    }
}

/// The items of a batch's bytes, each a slice of them; a malformed batch is an error.
pub fn batch_items(b: &Bytes) -> Result<Vec<Bytes>> {
    let bad = || Error::Protocol(format!("malformed stream batch of {} bytes", b.len()));
    let word = |at: usize| -> Result<usize> {
        let w = b.get(at..at + 4).ok_or_else(bad)?;
        Ok(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
    };
    let n = word(0)?;
    // Every item takes at least its 4-byte length: a count beyond that is a lie.
    if n > b.len() / 4 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(n);
    let mut at = 4;
    for _ in 0..n {
        let len = word(at)?;
        let end = (at + 4)
            .checked_add(len)
            .filter(|e| *e <= b.len())
            .ok_or_else(bad)?;
        out.push(b.slice(at + 4..end));
        at = end;
    }
    if at != b.len() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn batches_round_trip() {
        let mut b = BatchBuf::default();
        for i in 0..5u8 {
            b.push(&vec![i; i as usize]);
        }
        let (bytes, n) = b.take();
        assert_eq!(n, 5);
        let items = batch_items(&bytes).unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[3].as_ref(), &[3, 3, 3]);
        assert!(b.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_batches_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = batch_items(&Bytes::from(bytes));
        }
    }
}
