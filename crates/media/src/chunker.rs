//! [`Chunker`]: a file's bytes cut into numbered chunks of one size as they
//! arrive, hashed and counted on the way: what the chunked storages
//! (GridFS on MongoDB, the chunk table on PostgreSQL) write.

use sha2::{Digest, Sha256};

/// Cuts the pieces of a byte stream into chunks of `size` bytes (the last
/// one shorter), numbered from 0, while computing the length and the
/// SHA-256 of the whole.
#[derive(Debug)]
pub struct Chunker {
    size: usize,
    buf: Vec<u8>,
    next: i32,
    length: u64,
    hasher: Sha256,
}

/// What a chunked write ends with: the last, partial chunk (if any), the
/// file's length and its SHA-256 in hex.
#[derive(Debug)]
pub struct Chunked {
    /// The chunk left over (shorter than the chunk size), with its number.
    pub last: Option<(i32, Vec<u8>)>,
    /// Bytes in the file.
    pub length: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

impl Chunker {
    /// A chunker for chunks of `size` bytes (at least 1).
    pub fn new(size: usize) -> Chunker {
        let size = size.max(1);
        Chunker {
            size,
            buf: Vec::with_capacity(size),
            next: 0,
            length: 0,
            hasher: Sha256::new(),
        }
    }

    /// Takes the next piece of the file; returns the chunks it completed,
    /// with their numbers, in order.
    pub fn push(&mut self, piece: &[u8]) -> Vec<(i32, Vec<u8>)> {
        self.hasher.update(piece);
        self.length += piece.len() as u64;
        let mut done = Vec::new();
        let mut rest = piece;
        while !rest.is_empty() {
            let take = (self.size - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == self.size {
                let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.size));
                done.push((self.next, full));
                self.next += 1;
            }
        }
        done
    }

    /// The end of the file: the partial chunk left, the length, the hash.
    pub fn finish(self) -> Chunked {
        Chunked {
            last: (!self.buf.is_empty()).then_some((self.next, self.buf)),
            length: self.length,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_become_numbered_chunks_of_one_size() {
        let mut c = Chunker::new(4);
        assert_eq!(c.push(b"ab"), vec![]);
        assert_eq!(
            c.push(b"cdefghij"),
            vec![(0, b"abcd".to_vec()), (1, b"efgh".to_vec())]
        );
        assert_eq!(c.push(b""), vec![]);
        let end = c.finish();
        assert_eq!(end.last, Some((2, b"ij".to_vec())));
        assert_eq!(end.length, 10);
        // sha256("abcdefghij")
        assert_eq!(
            end.sha256,
            "72399361da6a7754fec986dca5b7cbaf1c810a28ded4abaf56b2106d06cb78b0"
        );
        let end = Chunker::new(4).finish();
        assert_eq!((end.last, end.length), (None, 0));
    }
}
