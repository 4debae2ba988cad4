//! Relations as sorted, deduplicated runs of fixed-width rows.
//!
//! A relation keeps one or more *indexes*: copies of its rows with the
//! columns permuted so that the columns a join looks up come first, sorted.
//! Every index holds the same set, so the canonical column order need not be
//! stored at all when no join reads it. Each index is split datafrog's way
//! into `stable` runs (merged in a log-structured way), the `recent` run (the
//! delta of semi-naive evaluation) and rows `to_add` in the next round.

// Row arithmetic indexes flat `u32` buffers whose length is always a
// multiple of the arity; the bounds are invariants of this module, not of
// user input, and checked slicing in these loops costs measurable time.
#![allow(
    clippy::indexing_slicing,
    reason = "row offsets are storage invariants"
)]

use rayon::slice::ParallelSliceMut;
use std::cmp::Ordering;
use std::sync::Arc;

/// Row counts above which sorting uses all cores.
const PARALLEL_SORT: usize = 1 << 15;

/// Sorts rows of `arity` columns and removes duplicates.
pub(crate) fn sort_dedup(data: &mut Vec<u32>, arity: usize) {
    match arity {
        1 => sort_dedup_n::<1>(data),
        2 => sort_dedup_n::<2>(data),
        3 => sort_dedup_n::<3>(data),
        4 => sort_dedup_n::<4>(data),
        5 => sort_dedup_n::<5>(data),
        6 => sort_dedup_n::<6>(data),
        7 => sort_dedup_n::<7>(data),
        8 => sort_dedup_n::<8>(data),
        _ => sort_dedup_wide(data, arity),
    }
}

fn sort_dedup_n<const N: usize>(data: &mut Vec<u32>) {
    if (N == 3 || N == 4) && sort_dedup_packed::<N>(data) {
        return;
    }
    let (rows, _) = data.as_chunks_mut::<N>();
    // Rows of up to four columns compare as one wide integer: one
    // comparison instead of a loop over columns.
    let key = wide_key::<N>;
    let parallel = rows.len() > PARALLEL_SORT && rayon::current_num_threads() > 1;
    let depth = sort_depth(rows.len());
    match (N <= 2, N <= 4) {
        (true, _) => sort_by_key(rows, &|r| key(r) as u64, depth),
        (_, true) => sort_by_key(rows, &key, depth),
        (_, false) if parallel => rows.par_sort_unstable(),
        (_, false) => rows.sort_unstable(),
    }
    let mut write = 0;
    for read in 0..rows.len() {
        if write == 0 || rows[read] != rows[write - 1] {
            rows[write] = rows[read];
            write += 1;
        }
    }
    data.truncate(write * N);
}

/// How many times [`sort_by_key`] splits `rows` rows to share them among
/// the threads.
fn sort_depth(rows: usize) -> usize {
    if rows > PARALLEL_SORT && rayon::current_num_threads() > 1 {
        rayon::current_num_threads()
            .next_power_of_two()
            .trailing_zeros() as usize
            + 1
    } else {
        0
    }
}

/// Rows of three or four columns whose ids are small enough (a few
/// million values for three) sort as single 64-bit integers, columns packed
/// to the largest id's width: sorting plain integers is several times
/// faster than sorting rows by a computed 128-bit key. Costs 8 bytes a row
/// while sorting; returns false, doing nothing, when the columns do not fit.
fn sort_dedup_packed<const N: usize>(data: &mut Vec<u32>) -> bool {
    let (rows, _) = data.as_chunks_mut::<N>();
    let bits = rows
        .iter()
        .flatten()
        .fold(0, |m, &c| m | c)
        .checked_ilog2()
        .map_or(1, |b| b + 1);
    if N as u32 * bits > 64 || rows.len() < 64 {
        return false;
    }
    let mut keys: Vec<u64> = rows
        .iter()
        .map(|r| r.iter().fold(0u64, |k, &c| (k << bits) | u64::from(c)))
        .collect();
    let depth = sort_depth(keys.len());
    sort_by_key(&mut keys, &|k| *k, depth);
    keys.dedup();
    let mask = (1u64 << bits) - 1;
    for (row, key) in rows.iter_mut().zip(&keys) {
        for (i, column) in row.iter_mut().enumerate() {
            *column = ((key >> (bits * (N - 1 - i) as u32)) & mask) as u32;
        }
    }
    data.truncate(keys.len() * N);
    true
}

/// Sorts by `key`: on `depth` levels the slice is split around a sampled
/// pivot and the halves sorted in parallel, then the standard library's sort
/// (faster than rayon's on one thread) finishes each part. In place: no
/// buffer as large as the rows, which a merge sort would need.
fn sort_by_key<T: Copy + Send, K: Ord + Copy>(
    rows: &mut [T],
    key: &(impl Fn(&T) -> K + Sync),
    depth: usize,
) {
    if depth == 0 || rows.len() < PARALLEL_SORT {
        rows.sort_unstable_by_key(key);
        return;
    }
    let n = rows.len();
    let mut sample: Vec<K> = (0..15).map(|i| key(&rows[i * (n - 1) / 14])).collect();
    sample.sort_unstable();
    let pivot = sample[7];
    // Hoare partition: keys < pivot to the left.
    let (mut i, mut j) = (0, n);
    loop {
        while i < j && key(&rows[i]) < pivot {
            i += 1;
        }
        while i < j && key(&rows[j - 1]) >= pivot {
            j -= 1;
        }
        if i + 1 >= j {
            break;
        }
        rows.swap(i, j - 1);
        i += 1;
        j -= 1;
    }
    let mid = i;
    if mid == 0 || mid == n {
        // A skewed pivot (many equal keys): no split to share.
        rows.sort_unstable_by_key(key);
        return;
    }
    let (left, right) = rows.split_at_mut(mid);
    rayon::join(
        || sort_by_key(left, key, depth - 1),
        || sort_by_key(right, key, depth - 1),
    );
}

fn sort_dedup_wide(data: &mut Vec<u32>, arity: usize) {
    let mut rows: Vec<&[u32]> = data.chunks_exact(arity).collect();
    rows.sort_unstable();
    rows.dedup();
    let sorted: Vec<u32> = rows.concat();
    *data = sorted;
}

/// Number of rows in a flat buffer.
#[inline]
pub(crate) fn row_count(data: &[u32], arity: usize) -> usize {
    data.len() / arity
}

/// The rows `lo..hi` whose first `key.len()` columns equal `key`.
#[inline]
pub(crate) fn key_range(data: &[u32], arity: usize, key: &[u32]) -> (usize, usize) {
    let n = row_count(data, arity);
    if key.is_empty() {
        return (0, n);
    }
    let k = key.len();
    let prefix = |i: usize| &data[i * arity..i * arity + k];
    // lower bound
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if prefix(mid) < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let start = lo;
    hi = n;
    while lo < hi {
        let mid = (lo + hi) / 2;
        if prefix(mid) <= key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (start, lo)
}

/// [`key_range`] for a key not smaller than the key whose range started at
/// `from`: gallops forward from there, so a run of ascending keys costs
/// about one merge pass instead of a binary search each.
#[inline]
pub(crate) fn key_range_from(
    data: &[u32],
    arity: usize,
    key: &[u32],
    from: usize,
) -> (usize, usize) {
    let n = row_count(data, arity);
    let k = key.len();
    let prefix = |i: usize| &data[i * arity..i * arity + k];
    let advance = |mut pos: usize, below: &dyn Fn(&[u32]) -> bool| {
        if pos < n && below(prefix(pos)) {
            let mut step = 1;
            while pos + step < n && below(prefix(pos + step)) {
                pos += step;
                step <<= 1;
            }
            step >>= 1;
            while step > 0 {
                if pos + step < n && below(prefix(pos + step)) {
                    pos += step;
                }
                step >>= 1;
            }
            pos += 1;
        }
        pos
    };
    let lo = advance(from.min(n), &|p| p < key);
    let hi = advance(lo, &|p| p <= key);
    (lo, hi)
}

/// Advances `pos` to the first row `>= row` by galloping (both sorted).
#[inline]
fn gallop(data: &[u32], arity: usize, mut pos: usize, row: &[u32]) -> usize {
    let n = row_count(data, arity);
    let at = |i: usize| &data[i * arity..(i + 1) * arity];
    if pos < n && at(pos) < row {
        let mut step = 1;
        while pos + step < n && at(pos + step) < row {
            pos += step;
            step <<= 1;
        }
        step >>= 1;
        while step > 0 {
            if pos + step < n && at(pos + step) < row {
                pos += step;
            }
            step >>= 1;
        }
        pos += 1;
    }
    pos
}

/// Removes from sorted `new` the rows present in sorted `old`.
pub(crate) fn subtract(new: &mut Vec<u32>, old: &[u32], arity: usize) {
    match arity {
        1 => subtract_n::<1>(new, old),
        2 => subtract_n::<2>(new, old),
        3 => subtract_n::<3>(new, old),
        4 => subtract_n::<4>(new, old),
        _ => subtract_slices(new, old, arity),
    }
}

/// A row of up to four columns as one integer with the same order.
#[inline]
fn wide_key<const N: usize>(row: &[u32; N]) -> u128 {
    row.iter().fold(0u128, |k, &c| (k << 32) | u128::from(c))
}

fn subtract_n<const N: usize>(new: &mut Vec<u32>, old: &[u32]) {
    if old.is_empty() || new.is_empty() {
        return;
    }
    let (old_rows, _) = old.as_chunks::<N>();
    let (new_rows, _) = new.as_chunks_mut::<N>();
    let n = old_rows.len();
    let mut pos = 0;
    let mut write = 0;
    for read in 0..new_rows.len() {
        let k = wide_key(&new_rows[read]);
        // gallop to the first old row >= k
        if pos < n && wide_key(&old_rows[pos]) < k {
            let mut step = 1;
            while pos + step < n && wide_key(&old_rows[pos + step]) < k {
                pos += step;
                step <<= 1;
            }
            step >>= 1;
            while step > 0 {
                if pos + step < n && wide_key(&old_rows[pos + step]) < k {
                    pos += step;
                }
                step >>= 1;
            }
            pos += 1;
        }
        if !(pos < n && wide_key(&old_rows[pos]) == k) {
            new_rows[write] = new_rows[read];
            write += 1;
        }
    }
    new.truncate(write * N);
}

fn subtract_slices(new: &mut Vec<u32>, old: &[u32], arity: usize) {
    if old.is_empty() || new.is_empty() {
        return;
    }
    let n = row_count(new, arity);
    let mut pos = 0;
    let mut write = 0;
    for read in 0..n {
        let row = read * arity..(read + 1) * arity;
        pos = gallop(old, arity, pos, &new[row.clone()]);
        let present =
            pos < row_count(old, arity) && old[pos * arity..(pos + 1) * arity] == new[row.clone()];
        if !present {
            new.copy_within(row, write * arity);
            write += 1;
        }
    }
    new.truncate(write * arity);
}

/// Merges two sorted runs without common rows.
fn merge(a: &[u32], b: &[u32], arity: usize) -> Vec<u32> {
    match arity {
        1 => merge_n::<1>(a, b),
        2 => merge_n::<2>(a, b),
        3 => merge_n::<3>(a, b),
        4 => merge_n::<4>(a, b),
        _ => merge_slices(a, b, arity),
    }
}

fn merge_n<const N: usize>(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (xs, _) = a.as_chunks::<N>();
    let (ys, _) = b.as_chunks::<N>();
    let mut out: Vec<[u32; N]> = Vec::with_capacity(xs.len() + ys.len());
    let (mut i, mut j) = (0, 0);
    while i < xs.len() && j < ys.len() {
        if wide_key(&xs[i]) <= wide_key(&ys[j]) {
            out.push(xs[i]);
            i += 1;
        } else {
            out.push(ys[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&xs[i..]);
    out.extend_from_slice(&ys[j..]);
    out.into_flattened()
}

fn merge_slices(a: &[u32], b: &[u32], arity: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (&a[i..i + arity], &b[j..j + arity]);
        if x.cmp(y) != Ordering::Greater {
            out.extend_from_slice(x);
            i += arity;
        } else {
            out.extend_from_slice(y);
            j += arity;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Rearranges rows from the column order `from` to the order `to` (both
/// permutations of the relation's columns).
pub(crate) fn permute(data: &[u32], arity: usize, from: &[usize], to: &[usize]) -> Vec<u32> {
    if from == to {
        return data.to_vec();
    }
    let map: Vec<usize> = to
        .iter()
        .map(|c| from.iter().position(|f| f == c).unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(data.len());
    for row in data.chunks_exact(arity) {
        out.extend(map.iter().map(|&m| row[m]));
    }
    out
}

/// [`permute`] in place.
pub(crate) fn permute_in_place(data: &mut [u32], arity: usize, from: &[usize], to: &[usize]) {
    if from == to {
        return;
    }
    let map: Vec<usize> = to
        .iter()
        .map(|c| from.iter().position(|f| f == c).unwrap_or(0))
        .collect();
    let mut row_copy = vec![0u32; arity];
    for row in data.chunks_exact_mut(arity) {
        row_copy.copy_from_slice(row);
        for (slot, &m) in row.iter_mut().zip(&map) {
            *slot = row_copy[m];
        }
    }
}

/// One sorted copy of a relation.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    /// Column order: `perm[i]` is the relation column stored at position `i`.
    /// Shared: copies of a store (a request's) share their column orders.
    pub(crate) perm: Arc<[usize]>,
    /// Sorted runs, never changed once made (merging makes a new one), so
    /// a copy of the store shares them: a request evaluated on top of a
    /// base evaluation copies no rows.
    pub(crate) stable: Vec<Arc<Vec<u32>>>,
    pub(crate) recent: Vec<u32>,
    /// Tagged evaluation: rows of `stable` whose tag changed last round,
    /// read again as part of the delta (one run, or none).
    pub(crate) retagged: Vec<Arc<Vec<u32>>>,
}

/// Which rows of an index a join reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// Everything known before this round.
    Old,
    /// What the last round added.
    Delta,
    /// Both.
    Full,
}

impl Index {
    /// The runs `version` covers.
    pub(crate) fn runs(&self, version: Version) -> impl Iterator<Item = &[u32]> {
        // The delta's runs are the retagged rows (tagged evaluation only;
        // none otherwise), then the recent ones: the same shape as the
        // stable runs then the recent ones, so the plain case pays nothing.
        let runs = match version {
            Version::Delta => &self.retagged[..],
            _ => &self.stable[..],
        };
        let recent = match version {
            Version::Old => None,
            _ => Some(&self.recent[..]),
        };
        runs.iter()
            .map(|run| run.as_slice())
            .chain(recent)
            .filter(|r| !r.is_empty())
    }

    /// Whether the last round changed anything here.
    pub(crate) fn has_delta(&self) -> bool {
        !self.recent.is_empty() || !self.retagged.is_empty()
    }

    fn settle_recent(&mut self, arity: usize) {
        if self.recent.is_empty() {
            return;
        }
        let mut run = std::mem::take(&mut self.recent);
        while let Some(last) = self.stable.last() {
            if last.len() > 2 * run.len() {
                break;
            }
            if let Some(last) = self.stable.pop() {
                run = merge(&last, &run, arity);
            }
        }
        self.stable.push(Arc::new(run));
    }
}

/// A relation's storage.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    /// Columns stored (at least one: a relation of no columns stores the
    /// constant 0 once when it holds).
    pub(crate) width: usize,
    pub(crate) indexes: Vec<Index>,
    /// Rows in canonical column order waiting for the next round.
    pub(crate) to_add: Vec<u32>,
    /// Rows in stable and recent.
    pub(crate) len: usize,
    /// Tagged evaluation: the last column holds each tuple's id in its tag
    /// table, and is in no index's key.
    pub(crate) tagged: bool,
    /// Tagged evaluation: rows already stored whose tag changed this round.
    pub(crate) to_retag: Vec<u32>,
}

impl Store {
    pub(crate) fn new(arity: usize) -> Self {
        Store {
            width: arity.max(1),
            indexes: Vec::new(),
            to_add: Vec::new(),
            len: 0,
            tagged: false,
            to_retag: Vec::new(),
        }
    }

    /// A store for tagged evaluation: one more column, the tuple's id.
    pub(crate) fn tagged(arity: usize) -> Self {
        Store {
            width: arity.max(1) + 1,
            tagged: true,
            ..Store::new(arity)
        }
    }

    /// The index with column order `perm`, built from the rows already there
    /// if it is new.
    pub(crate) fn index(&mut self, perm: &[usize]) -> usize {
        let mut perm = perm.to_vec();
        if self.tagged && perm.len() + 1 == self.width {
            perm.push(self.width - 1);
        }
        if let Some(i) = self.indexes.iter().position(|x| *x.perm == *perm) {
            return i;
        }
        let mut index = Index {
            perm: perm.as_slice().into(),
            stable: Vec::new(),
            recent: Vec::new(),
            retagged: Vec::new(),
        };
        if let Some(first) = self.indexes.first() {
            let mut stable = Vec::new();
            for run in &first.stable {
                stable.extend(permute(run, self.width, &first.perm, &perm));
            }
            sort_dedup(&mut stable, self.width);
            if !stable.is_empty() {
                index.stable.push(Arc::new(stable));
            }
            index.recent = permute(&first.recent, self.width, &first.perm, &perm);
            sort_dedup(&mut index.recent, self.width);
        }
        self.indexes.push(index);
        self.indexes.len() - 1
    }

    /// Ends a round: the recent rows become stable, and the rows to add that
    /// are new become recent. Returns how many are new.
    pub(crate) fn advance(&mut self) -> usize {
        if self.indexes.is_empty() {
            let identity: Vec<usize> = (0..self.width).collect();
            self.index(&identity);
        }
        let width = self.width;
        for index in &mut self.indexes {
            index.settle_recent(width);
            index.retagged.clear();
        }
        if !self.to_retag.is_empty() {
            let retag = std::mem::take(&mut self.to_retag);
            let identity: Vec<usize> = (0..width).collect();
            for index in &mut self.indexes {
                let mut rows = permute(&retag, width, &identity, &index.perm);
                sort_dedup(&mut rows, width);
                index.retagged = vec![Arc::new(rows)];
            }
        }
        if self.to_add.is_empty() {
            return 0;
        }
        let mut fresh = std::mem::take(&mut self.to_add);
        let Some((first, others)) = self.indexes.split_first_mut() else {
            return 0;
        };
        if !first.perm.iter().enumerate().all(|(i, &c)| i == c) {
            let identity: Vec<usize> = (0..width).collect();
            permute_in_place(&mut fresh, width, &identity, &first.perm);
        }
        sort_dedup(&mut fresh, width);
        for run in &first.stable {
            subtract(&mut fresh, run, width);
        }
        // Dedup may have left most of the buffer unused; keep only what
        // the rows need, since the run lives on as part of the relation.
        if fresh.capacity() > fresh.len() + fresh.len() / 4 {
            fresh.shrink_to_fit();
        }
        for index in others {
            let mut rows = permute(&fresh, width, &first.perm, &index.perm);
            sort_dedup(&mut rows, width);
            index.recent = rows;
        }
        let added = row_count(&fresh, width);
        first.recent = fresh;
        self.len += added;
        added
    }

    /// Whether the relation holds `row` (columns in canonical order): a
    /// binary search in each run of the first index.
    pub(crate) fn contains(&self, row: &[u32]) -> bool {
        let Some(index) = self.indexes.first() else {
            return false;
        };
        let key: Vec<u32> = if row.is_empty() {
            vec![0]
        } else {
            index
                .perm
                .iter()
                .filter_map(|&c| row.get(c).copied())
                .collect()
        };
        index.runs(Version::Full).any(|run| {
            let (lo, hi) = key_range(run, self.width, &key);
            lo < hi
        })
    }

    /// Every row, in canonical column order, unsorted.
    pub(crate) fn rows(&self) -> Vec<u32> {
        let Some(first) = self.indexes.first() else {
            return Vec::new();
        };
        let identity: Vec<usize> = (0..self.width).collect();
        let mut out = Vec::with_capacity(self.len * self.width);
        for run in first.runs(Version::Full) {
            out.extend(permute(run, self.width, &first.perm, &identity));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_keeps_a_set_in_every_index() {
        let mut store = Store::new(2);
        store.index(&[1, 0]);
        store.to_add = vec![1, 2, 3, 4, 1, 2];
        assert_eq!(store.advance(), 2);
        store.to_add = vec![1, 2, 5, 6];
        assert_eq!(store.advance(), 1);
        assert_eq!(store.indexes[0].recent, vec![6, 5]);
        assert_eq!(store.advance(), 0);
        let mut rows = store.rows();
        sort_dedup(&mut rows, 2);
        assert_eq!(rows, vec![1, 2, 3, 4, 5, 6]);
        let by_first = store.index(&[0, 1]);
        let run: Vec<u32> = store.indexes[by_first]
            .runs(Version::Full)
            .flatten()
            .copied()
            .collect();
        assert_eq!(run, vec![1, 2, 3, 4, 5, 6]);
    }

    proptest::proptest! {
        /// Packed (small ids) and unpacked (large ids) rows of three and
        /// four columns sort and deduplicate as a set of rows would.
        #[test]
        fn sort_dedup_is_the_sorted_set_of_rows(
            rows in proptest::collection::vec(proptest::collection::vec(0u32..6, 4), 0..300),
            arity in 3usize..=4,
            wide in proptest::sample::select(vec![0u32, 1 << 20, 1 << 21, u32::MAX - 8]),
        ) {
            // A large id in every row's last column decides whether the
            // columns pack into 64 bits.
            let rows: Vec<Vec<u32>> = rows
                .into_iter()
                .map(|mut r| {
                    r.truncate(arity);
                    r[arity - 1] = r[arity - 1].saturating_add(wide);
                    r
                })
                .collect();
            let expected: Vec<u32> = rows
                .iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .flatten()
                .collect();
            let mut data: Vec<u32> = rows.into_iter().flatten().collect();
            sort_dedup(&mut data, arity);
            proptest::prop_assert_eq!(data, expected);
        }
    }

    #[test]
    fn a_large_relation_of_three_columns_sorts_on_all_threads() {
        // Past PARALLEL_SORT, with ids of 21 bits (the widest that pack).
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as u32) & ((1 << 21) - 1)
        };
        let rows: Vec<[u32; 3]> = (0..100_000)
            .map(|_| [next() % 50, next(), next() % 7])
            .collect();
        let mut expected = rows.clone();
        expected.sort_unstable();
        expected.dedup();
        let mut data: Vec<u32> = rows.into_iter().flatten().collect();
        sort_dedup(&mut data, 3);
        assert_eq!(data, expected.into_iter().flatten().collect::<Vec<_>>());
    }

    #[test]
    fn key_range_finds_the_rows_with_a_prefix() {
        let data = vec![1, 1, 1, 2, 2, 1, 2, 5, 3, 0];
        assert_eq!(key_range(&data, 2, &[2]), (2, 4));
        assert_eq!(key_range(&data, 2, &[4]), (5, 5));
        assert_eq!(key_range(&data, 2, &[1, 2]), (1, 2));
        assert_eq!(key_range(&data, 2, &[]), (0, 5));
    }

    #[test]
    fn subtract_and_wide_rows() {
        let mut new = vec![1, 2, 3, 4, 5, 6];
        subtract(&mut new, &[3, 4, 9, 9], 2);
        assert_eq!(new, vec![1, 2, 5, 6]);
        let mut wide: Vec<u32> = (0..9).rev().flat_map(|i| vec![i % 3; 9]).collect();
        sort_dedup(&mut wide, 9);
        assert_eq!(wide.len(), 27);
    }
}
