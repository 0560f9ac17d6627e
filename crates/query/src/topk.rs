//! Top-k sorting within a memory budget: [`TopK`].

use std::cmp::Ordering;

use bson::{Bson, Document};

#[cfg(doc)]
use crate::sort::sort_documents;
use crate::sort::{compare_by_spec, sort_key};
use crate::SortSpec;

/// A sort whose held documents went over the memory budget (see
/// [`TopK`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Sort exceeded memory limit of {limit} bytes (SORT_MEMORY_LIMIT): add an index on the sort \
     field, filter more or ask for an earlier page"
)]
pub struct SortMemoryExceeded {
    /// The budget, in bytes.
    pub limit: usize,
}

/// One document held by [`TopK`]: its sort keys, arrival order (ties keep
/// it, as the stable [`sort_documents`] does) and size.
struct Held {
    keys: Vec<Bson>,
    seq: u64,
    size: usize,
    doc: Document,
}

/// An in-memory sort that keeps only the first `keep` documents of the
/// order (`skip + limit` of a query) in a bounded heap, so a sort with a
/// small page costs memory for that page only, whatever the number of
/// matches; and refuses to hold more than a byte budget of documents, as
/// MongoDB refuses a blocking sort over its memory limit.
///
/// ```
/// use bson::doc;
/// use eve_query::{parse_sort, TopK};
///
/// let mut top = TopK::new(parse_sort("-n").unwrap(), Some(2), 1 << 20);
/// for n in [3, 9, 1, 7] {
///     top.push(doc! {"n": n}, 16).unwrap();
/// }
/// assert_eq!(top.held(), 2);
/// assert_eq!(top.into_sorted(), vec![doc! {"n": 9}, doc! {"n": 7}]);
///
/// let mut small = TopK::new(parse_sort("n").unwrap(), None, 40);
/// small.push(doc! {"n": 1}, 30).unwrap();
/// assert!(small.push(doc! {"n": 2}, 30).is_err());
/// ```
pub struct TopK {
    sort: SortSpec,
    keep: Option<usize>,
    limit: usize,
    bytes: usize,
    seq: u64,
    /// A max-heap under the sort order: the root is the first document to
    /// drop when a better one arrives.
    heap: Vec<Held>,
}

impl TopK {
    /// A sort by `sort` keeping the first `keep` documents (all when
    /// `None`), holding at most `limit` bytes of documents.
    pub fn new(sort: SortSpec, keep: Option<usize>, limit: usize) -> TopK {
        TopK {
            sort,
            keep,
            limit,
            bytes: 0,
            seq: 0,
            heap: Vec::new(),
        }
    }

    /// Documents held now.
    pub fn held(&self) -> usize {
        self.heap.len()
    }

    /// Bytes of documents held now (as given to [`push`](Self::push)).
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Offers a document of `size` bytes (its stored size). It is dropped
    /// at once when `keep` better ones are held; otherwise it is held (the
    /// worst one held is dropped when `keep` is reached), and the held
    /// bytes must stay within the budget.
    pub fn push(&mut self, doc: Document, size: usize) -> Result<(), SortMemoryExceeded> {
        if self.keep == Some(0) {
            return Ok(());
        }
        let keys: Vec<Bson> = self
            .sort
            .iter()
            .map(|(path, dir)| sort_key(&doc, path, *dir))
            .collect();
        let held = Held {
            keys,
            seq: self.seq,
            size,
            doc,
        };
        self.seq += 1;
        if self.keep.is_some_and(|k| self.heap.len() >= k) {
            // Full: the newcomer replaces the root when it sorts before it.
            // On a tie it arrived later, so it sorts after.
            if self.cmp(&held, &self.heap[0]) != Ordering::Less {
                return Ok(());
            }
            self.bytes = self.bytes - self.heap[0].size + held.size;
            self.heap[0] = held;
            self.sift_down(0);
        } else {
            self.bytes = self.bytes.saturating_add(held.size);
            self.heap.push(held);
            self.sift_up(self.heap.len() - 1);
        }
        if self.bytes > self.limit {
            return Err(SortMemoryExceeded { limit: self.limit });
        }
        Ok(())
    }

    /// The held documents in sort order.
    pub fn into_sorted(self) -> Vec<Document> {
        let sort = self.sort;
        let mut held = self.heap;
        held.sort_by(|a, b| order(&sort, a, b));
        held.into_iter().map(|h| h.doc).collect()
    }

    fn cmp(&self, a: &Held, b: &Held) -> Ordering {
        order(&self.sort, a, b)
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.cmp(&self.heap[i], &self.heap[parent]) != Ordering::Greater {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut largest = i;
            if l < n && self.cmp(&self.heap[l], &self.heap[largest]) == Ordering::Greater {
                largest = l;
            }
            if r < n && self.cmp(&self.heap[r], &self.heap[largest]) == Ordering::Greater {
                largest = r;
            }
            if largest == i {
                return;
            }
            self.heap.swap(i, largest);
            i = largest;
        }
    }
}

/// The sort order of held documents, arrival order breaking ties.
fn order(sort: &SortSpec, a: &Held, b: &Held) -> Ordering {
    compare_by_spec(&a.keys, &b.keys, sort).then(a.seq.cmp(&b.seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_sort, sort_documents};
    use bson::doc;

    #[test]
    fn top_k_equals_a_full_stable_sort_cut_to_k() {
        let docs: Vec<Document> = (0..200)
            .map(|i| doc! {"a": (i * 7919) % 13, "b": [i % 5, (i * 31) % 17], "i": i})
            .collect();
        for spec in ["a", "-a", "b", "-b,a", "a,-b"] {
            let sort = parse_sort(spec).unwrap();
            let mut full = docs.clone();
            sort_documents(&mut full, &sort);
            for k in [0, 1, 5, 37, 200, 500] {
                let mut top = TopK::new(sort.clone(), Some(k), usize::MAX);
                for d in &docs {
                    top.push(d.clone(), 1).unwrap();
                }
                assert!(top.held() <= k);
                let expected: Vec<Document> = full.iter().take(k).cloned().collect();
                assert_eq!(top.into_sorted(), expected, "sort {spec} k {k}");
            }
        }
    }

    #[test]
    fn top_k_counts_only_the_documents_it_holds() {
        let mut top = TopK::new(parse_sort("n").unwrap(), Some(3), 300);
        for n in 0..10_000 {
            top.push(doc! {"n": 10_000 - n}, 100).unwrap();
        }
        assert_eq!((top.held(), top.held_bytes()), (3, 300));
        let mut all = TopK::new(parse_sort("n").unwrap(), None, 300);
        for n in 0..3 {
            all.push(doc! {"n": n}, 100).unwrap();
        }
        assert_eq!(
            all.push(doc! {"n": 4}, 100),
            Err(SortMemoryExceeded { limit: 300 })
        );
    }
}
