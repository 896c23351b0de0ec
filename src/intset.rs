//! # intset: a set of integers as one sorted array
//!
//! `SADD s 1 2 3` does not build a hash table. While every member of a set
//! is an integer and there are at most `set-max-intset-entries` (512) of
//! them, Redis keeps the set as an *intset*: one sorted array of integers,
//! all stored with the same width, in one heap block. `OBJECT ENCODING s`
//! answers `intset`. This module is Redis's `src/intset.c`.
//!
//! ## The idea
//!
//! A small set of integers in a hash table costs a table slot, an entry and
//! a string per member: easily 50 bytes to remember the number 3. A sorted
//! array costs 2 bytes for it. Membership is a binary search instead of a
//! hash lookup, O(log n) instead of O(1), and adding or removing a member
//! moves the tail of the array, O(n). With n capped at 512, a search is at
//! most 10 comparisons and a move is at most 4 KiB of `memmove`: cheap
//! enough that the memory saving wins.
//!
//! The one clever part is the **width**. Every element uses the same number
//! of bytes, the *encoding*: 2, 4 or 8 (`int16_t`, `int32_t`, `int64_t`).
//! A new intset starts at 2 bytes. When a value arrives that does not fit
//! (say 65 536 into a set of small numbers), the whole array is *upgraded*
//! in place to the width the new value needs. It is never downgraded: after
//! `SREM s 65536` the other members keep their 4 bytes each. Downgrading
//! would need a scan of the whole array on every removal to learn whether
//! the last wide value is gone, and a set that once held a wide value is
//! likely to get one again.
//!
//! ## The layout
//!
//! The intset *is* its bytes. Redis writes it into an RDB file verbatim
//! (`RDB_TYPE_SET_INTSET`, type 11) and reads it back the same way, so we
//! keep Redis's exact layout, little-endian on every platform:
//!
//! ```text
//!   SADD s 1 2 3                         (14 bytes)
//!
//!   +-------------+-------------+-------+-------+-------+
//!   | encoding    | length      | 1     | 2     | 3     |
//!   | 02 00 00 00 | 03 00 00 00 | 01 00 | 02 00 | 03 00 |
//!   +-------------+-------------+-------+-------+-------+
//!     u32 LE        u32 LE        contents: length * encoding bytes
//!
//!   SADD s -32769 5        (-32769 does not fit 16 bits: encoding 4, 16 bytes)
//!
//!   | 04 00 00 00 | 02 00 00 00 | ff 7f ff ff | 05 00 00 00 |
//! ```
//!
//! `DUMP s` on a Redis 7.0 server shows exactly these bytes after the RDB
//! type byte and the string length (the tests below carry those blobs).
//!
//! ## The invariants
//!
//! Between any two public calls:
//!
//! 1. `bytes.len() == 8 + length * encoding`, and `encoding` is 2, 4 or 8.
//!    So [`Intset::blob_len`] is exact, and an element's bytes start at
//!    `8 + index * encoding`.
//! 2. The elements are **strictly increasing** as signed integers. No
//!    duplicates; binary search is valid.
//! 3. Every element fits the encoding (automatically: it is stored in it).
//!    The converse does not hold: the encoding may be wider than the
//!    elements need, because it is never downgraded.
//!
//! Bounds: the length field is a `u32`, so an intset can in principle hold
//! 4 294 967 295 elements (32 GiB at width 8). The server converts the set
//! to a hash table long before: at 513 members, or when a member is not an
//! integer. At 512 members of width 8 the block is 8 + 4096 bytes.
//!
//! ## Worked example: upgrading `[1, 2, 3]` for 65 536
//!
//! 65 536 needs 4 bytes, the set is at 2. A value that needs a wider type
//! than every current member is **outside their whole range**: it is either
//! bigger than all of them (if positive) or smaller than all of them (if
//! negative). So no search is needed: it goes at one end.
//!
//! GROW. The block grows from 8 + 3*2 = 14 to 8 + 4*4 = 24 bytes, and the
//! encoding field is set to 4. Old element `i` still sits at `8 + 2i`.
//!
//! MOVE, BACK TO FRONT. Element 2 (value 3) is read from bytes 12..14 and
//! written to 16..20; element 1 from 10..12 to 12..16; element 0 from 8..10
//! to 8..12.
//!
//! ```text
//!   before  [02 00 00 00][03 00 00 00][01 00|02 00|03 00]..........
//!   after   [04 00 00 00][03 00 00 00][01 00 00 00|02 00 00 00|03 00 00 00|.. .. .. ..]
//! ```
//!
//! Why back to front: new slot `j` covers bytes `8 + 4j .. 8 + 4j + 4`, which
//! held old slots `2j` and `2j + 1`. Both are `>= j`, so going from the last
//! element down, each old value is read before anything overwrites it. Going
//! front to back, writing new slot 1 would destroy old slots 2 and 3 before
//! they were read. (If the new value is negative, every element moves one
//! slot further right to leave slot 0 free; the same argument holds.)
//!
//! PLACE. 65 536 is positive, so it goes in the new last slot, and the
//! length becomes 4.
//!
//! An upgrade costs O(n), and there are at most two per intset (2 to 4, 4 to
//! 8; or one straight from 2 to 8).
//!
//! ## The Redis counterpart (src/intset.c, Redis 7.0)
//!
//! | here                         | Redis                                   |
//! |------------------------------|-----------------------------------------|
//! | [`Intset::new`]              | `intsetNew`                             |
//! | [`width_for`]                | `_intsetValueEncoding`                  |
//! | [`Intset::search`]           | `intsetSearch`                          |
//! | [`Intset::insert`]           | `intsetAdd`, `intsetUpgradeAndAdd`      |
//! | [`Intset::remove`]           | `intsetRemove`                          |
//! | [`Intset::contains`]         | `intsetFind`                            |
//! | [`Intset::get`]              | `intsetGet`                             |
//! | [`Intset::min`], [`Intset::max`] | `intsetMin`, `intsetMax`            |
//! | [`Intset::len`], [`Intset::blob_len`] | `intsetLen`, `intsetBlobLen`   |
//! | [`Intset::from_bytes`]       | `intsetValidateIntegrity(.., deep=1)`   |
//!
//! ## What we simplified, and why
//!
//! * **No `intsetRandom`.** It is `get(rand() % len)`. This module has no
//!   source of randomness; SRANDMEMBER and SPOP pick an index and call
//!   [`Intset::get`].
//! * **Nothing simplified in the sizing: exact fit, both ways.** Redis
//!   calls `zrealloc` to the exact new size on every add and remove, and so
//!   do we: the bytes are a boxed slice, always exactly the blob, and an
//!   insert or a removal reallocates it. A doubling `Vec` would hold up to
//!   half of every small set spare (an intset exists to be small: 100 small
//!   integers are 208 bytes, and doubling would allocate 256 or more). The
//!   allocator rounds each request up to its size class, so most of these
//!   reallocations stay in place: growing 208 bytes to 210 stays in the
//!   224-byte class. A boxed slice is also one word smaller than a `Vec`
//!   (pointer and length, no capacity), which is what lets a set's value
//!   sit in its keyspace entry without a box of its own (`object.rs`,
//!   [`SetValue`](crate::object::SetValue)).
//! * **No byte swapping.** Redis stores the header and elements in the
//!   machine's order and swaps on big-endian machines (`intrev32ifbe`,
//!   `memrev64ifbe`). We always read and write little-endian with
//!   `from_le_bytes`/`to_le_bytes`, which is the same thing said plainly.
//! * **Indices are `usize`.** Redis uses `uint32_t` positions. The length
//!   field is still a `u32`; [`Intset::insert`] panics rather than wrap if
//!   an intset ever held 4 294 967 295 elements.
//!
//! ## Exercises
//!
//! 1. Insert 1..=512 into an intset and count the bytes moved by all the
//!    tail moves together. Now insert the same numbers in decreasing order.
//!    Explain the difference, and what it means for `SADD` order.
//! 2. Write `remove_and_maybe_downgrade`: after a removal, shrink the
//!    encoding if no remaining element needs it. What does each `SREM` cost
//!    now, and how could you make the check O(1)? (Hint: the elements are
//!    sorted.)
//! 3. SINTER of two intsets of sizes m and n can walk both arrays (O(m + n))
//!    or binary-search each element of the smaller in the larger
//!    (O(m log n)). When is each better? Which does Redis use?

use std::fmt;

/// Bytes in the header: `encoding` (u32) then `length` (u32).
pub const HEADER_LEN: usize = 8;

/// The element width (Redis: `INTSET_ENC_INT16`, `INTSET_ENC_INT32`,
/// `INTSET_ENC_INT64`, which are `sizeof` the C types). The widths are
/// ordered, so "needs a wider encoding" is a plain `>`.
const ENC_INT16: u8 = 2;
const ENC_INT32: u8 = 4;
const ENC_INT64: u8 = 8;

// ANCHOR: intset_layout
/// A sorted set of distinct `i64`s, stored as Redis lays out an intset:
/// `[encoding u32 LE][length u32 LE][length elements of encoding bytes, LE]`.
///
/// Nothing is cached outside the bytes: the header fields are read from
/// them, so the bytes can never disagree with what the struct believes.
#[derive(Clone, PartialEq, Eq)]
pub struct Intset {
    /// The whole intset, header included, exactly as RDB stores it. See the
    /// module invariants: `len() == 8 + length * encoding`, elements
    /// strictly increasing. Boxed, not a `Vec`: no spare capacity to
    /// track, and 16 bytes instead of 24 (module comment).
    bytes: Box<[u8]>,
}

/// The smallest encoding that can hold `value`: 2, 4 or 8 bytes (Redis:
/// `_intsetValueEncoding`). The boundaries are those of the C types:
/// -32 768 and 32 767 need 2 bytes, -32 769 and 32 768 need 4,
/// -2 147 483 649 and 2 147 483 648 need 8.
pub fn width_for(value: i64) -> u8 {
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) {
        ENC_INT64
    } else if value < i64::from(i16::MIN) || value > i64::from(i16::MAX) {
        ENC_INT32
    } else {
        ENC_INT16
    }
}
// ANCHOR_END: intset_layout

/// Reads the little-endian `u32` at `at`.
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads the element at slot `index` of an array of `width`-byte elements
/// starting at byte 8 (Redis: `_intsetGetEncoded`). Sign-extends to `i64`.
fn read_element(bytes: &[u8], width: u8, index: usize) -> i64 {
    let at = HEADER_LEN + index * width as usize;
    match width {
        ENC_INT16 => i64::from(i16::from_le_bytes([bytes[at], bytes[at + 1]])),
        ENC_INT32 => i64::from(i32::from_le_bytes(
            bytes[at..at + 4].try_into().expect("4 bytes"),
        )),
        _ => i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")),
    }
}

/// Writes `value` into slot `index` with `width` bytes (Redis:
/// `_intsetSet`). The caller guarantees the value fits: the casts below
/// only drop bits that are copies of the sign bit.
fn write_element(bytes: &mut [u8], width: u8, index: usize, value: i64) {
    let at = HEADER_LEN + index * width as usize;
    match width {
        ENC_INT16 => bytes[at..at + 2].copy_from_slice(&(value as i16).to_le_bytes()),
        ENC_INT32 => bytes[at..at + 4].copy_from_slice(&(value as i32).to_le_bytes()),
        _ => bytes[at..at + 8].copy_from_slice(&value.to_le_bytes()),
    }
}

impl Intset {
    /// An empty intset: encoding 2, length 0, 8 bytes (Redis: `intsetNew`).
    /// Every intset starts narrow; only values that need it widen it.
    pub fn new() -> Intset {
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        bytes.extend_from_slice(&u32::from(ENC_INT16).to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        Intset {
            bytes: bytes.into_boxed_slice(),
        }
    }

    /// Takes an intset blob as RDB stores it, checking it the way Redis
    /// checks an intset read from an RDB file or a `RESTORE` payload
    /// (`intsetValidateIntegrity` with `deep` set). Returns `None` unless
    /// all of these hold:
    ///
    /// - the 8-byte header is there;
    /// - the encoding is 2, 4 or 8;
    /// - the size is exactly `8 + length * encoding` (no missing and no
    ///   trailing bytes);
    /// - the length is not 0: Redis never writes an empty set (an empty
    ///   set's key is deleted), so an empty intset in a file is corruption;
    /// - the elements are strictly increasing (no duplicates, no disorder),
    ///   because every search relies on it.
    ///
    /// An encoding wider than the elements need is accepted: it is what a
    /// set looks like after its widest member was removed.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Intset> {
        if bytes.len() < HEADER_LEN {
            return None;
        }
        let width = match read_u32(&bytes, 0) {
            2 => ENC_INT16,
            4 => ENC_INT32,
            8 => ENC_INT64,
            _ => return None,
        };
        // usize arithmetic cannot overflow on 64-bit: at most 2^32 * 8.
        let length = read_u32(&bytes, 4) as usize;
        if bytes.len() != HEADER_LEN + length * width as usize || length == 0 {
            return None;
        }
        let strictly_increasing = (1..length)
            .all(|i| read_element(&bytes, width, i - 1) < read_element(&bytes, width, i));
        strictly_increasing.then(|| Intset {
            bytes: bytes.into_boxed_slice(),
        })
    }

    /// The blob, exactly as Redis would write it into an RDB file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives up the blob without copying it.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes.into_vec()
    }

    /// Number of elements (Redis: `intsetLen`): the header's length field.
    pub fn len(&self) -> usize {
        read_u32(&self.bytes, 4) as usize
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element: 2, 4 or 8. Only ever grows.
    pub fn encoding_width(&self) -> u8 {
        // The header can only hold 2, 4 or 8 (invariant 1), so the cast is exact.
        read_u32(&self.bytes, 0) as u8
    }

    /// Size of the blob in bytes, `8 + len * encoding_width` (Redis:
    /// `intsetBlobLen`). This is what the set costs in RDB, and what
    /// `MEMORY USAGE` counts for it before allocator rounding.
    pub fn blob_len(&self) -> usize {
        self.bytes.len()
    }

    /// The element at position `index` in ascending order, or `None` past
    /// the end (Redis: `intsetGet`).
    pub fn get(&self, index: usize) -> Option<i64> {
        (index < self.len()).then(|| read_element(&self.bytes, self.encoding_width(), index))
    }

    /// The smallest element (Redis: `intsetMin`). O(1): it is slot 0.
    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    /// The largest element (Redis: `intsetMax`). O(1): it is the last slot.
    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).and_then(|last| self.get(last))
    }

    /// The elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            front: 0,
            back: self.len(),
        }
    }

    // ANCHOR: intset_search
    /// Binary search (Redis: `intsetSearch`). `Ok(i)` if `value` is at
    /// position `i`; `Err(i)` if it is absent and `i` is where it would have
    /// to be inserted to keep the order. Same contract as
    /// `slice::binary_search`.
    ///
    /// Before searching, Redis compares with the last and the first element:
    /// a value beyond either end is answered in one comparison. That makes
    /// the common case of adding increasing IDs (`SADD ids 1001`, `1002`,
    /// ...) O(1) for the search; only the tail move remains, and there is
    /// no tail.
    ///
    /// Bound: the loop halves `[lo, hi)` each time, so at most
    /// `ceil(log2(len + 1))` comparisons: 10 for the 512 elements the
    /// server allows.
    pub fn search(&self, value: i64) -> Result<usize, usize> {
        let len = self.len();
        let width = self.encoding_width();
        if len == 0 {
            return Err(0);
        }
        if value > read_element(&self.bytes, width, len - 1) {
            return Err(len);
        }
        if value < read_element(&self.bytes, width, 0) {
            return Err(0);
        }
        // Invariant of the loop: everything before `lo` is < value, and
        // everything at or after `hi` is > value. (Redis keeps an inclusive
        // `max`; a half-open range avoids its `-1` on an unsigned index.)
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let current = read_element(&self.bytes, width, mid);
            if current < value {
                lo = mid + 1;
            } else if current > value {
                hi = mid;
            } else {
                return Ok(mid);
            }
        }
        Err(lo)
    }
    // ANCHOR_END: intset_search

    /// Whether `value` is a member (Redis: `intsetFind`). A value that
    /// needs a wider encoding than the set has cannot be in it, which is
    /// answered without searching.
    pub fn contains(&self, value: i64) -> bool {
        width_for(value) <= self.encoding_width() && self.search(value).is_ok()
    }

    /// Adds `value`; returns true if it was added, false if it was already
    /// there (Redis: `intsetAdd` and its `success` flag). Every outcome:
    ///
    /// - **Needs a wider encoding**: upgrade the whole array and put the
    ///   value at the front or the back (see `Intset::upgrade_and_add`).
    ///   It cannot be a duplicate. O(n).
    /// - **Already present**: nothing changes. O(log n).
    /// - **Absent**: grow by one slot, move the tail after the insert
    ///   position one slot right, write the value. O(n) bytes moved, O(1)
    ///   when appending at the end.
    pub fn insert(&mut self, value: i64) -> bool {
        if width_for(value) > self.encoding_width() {
            self.upgrade_and_add(value);
            return true;
        }
        let position = match self.search(value) {
            Ok(_) => return false,
            Err(position) => position,
        };
        let width = self.encoding_width();
        let at = HEADER_LEN + position * width as usize;
        // Redis's resize + `intsetMoveTail` + set: grow by exactly one
        // slot (an exact-fit reservation, as `zrealloc` to the new size:
        // a doubling `Vec` would waste up to half of every small set), move
        // the bytes after `at` one slot right with a single memmove
        // (`copy_within`), and write the value into the gap.
        //
        // Little-endian puts the low bytes first, so the first `width`
        // bytes of the 8-byte form are the value's `width`-byte form
        // (the value fits, so the dropped bytes are only sign extension).
        let width = width as usize;
        let old_len = self.bytes.len();
        self.resize(old_len + width);
        self.bytes.copy_within(at..old_len, at + width);
        self.bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        self.set_len(self.len() + 1);
        true
    }

    // ANCHOR: intset_upgrade
    /// Widens every element to the encoding `value` needs, then adds
    /// `value` at whichever end it belongs (Redis: `intsetUpgradeAndAdd`).
    /// The module's worked example walks through the byte moves.
    ///
    /// Precondition: `width_for(value) > self.encoding_width()`. Then
    /// `value` lies outside the range of every element: positive values
    /// are larger than all of them, negative ones smaller. So it goes last
    /// or first, without a search.
    fn upgrade_and_add(&mut self, value: i64) {
        let old_width = self.encoding_width();
        let new_width = width_for(value);
        let len = self.len();
        // 1 if the new value takes slot 0, so every old element shifts one
        // slot right; 0 if it takes the new last slot.
        let shift = usize::from(value < 0);

        self.resize(HEADER_LEN + (len + 1) * new_width as usize);
        self.bytes[0..4].copy_from_slice(&u32::from(new_width).to_le_bytes());

        // Back to front, so that no old element is overwritten before it is
        // read: new slot j + shift covers old slots at least j (module
        // comment, "Why back to front").
        for index in (0..len).rev() {
            let element = read_element(&self.bytes, old_width, index);
            write_element(&mut self.bytes, new_width, index + shift, element);
        }
        let slot = if shift == 1 { 0 } else { len };
        write_element(&mut self.bytes, new_width, slot, value);
        self.set_len(len + 1);
    }
    // ANCHOR_END: intset_upgrade

    /// Removes `value`; returns true if it was there (Redis: `intsetRemove`).
    /// The tail after it moves one slot left and the blob shrinks by one
    /// element. The encoding stays as it is, even if no remaining element
    /// needs it (module comment: never downgraded).
    pub fn remove(&mut self, value: i64) -> bool {
        if width_for(value) > self.encoding_width() {
            return false;
        }
        let Ok(position) = self.search(value) else {
            return false;
        };
        let width = self.encoding_width() as usize;
        let at = HEADER_LEN + position * width;
        let old_len = self.bytes.len();
        self.bytes.copy_within(at + width..old_len, at);
        self.resize(old_len - width);
        self.set_len(self.len() - 1);
        true
    }

    /// Reallocates the blob to exactly `size` bytes, keeping what fits and
    /// zero-filling what is new (Redis: `intsetResize`, a `zrealloc`). The
    /// `Vec` round trip costs nothing: its capacity is asked for exactly,
    /// so turning it back into a boxed slice has nothing to trim.
    fn resize(&mut self, size: usize) {
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        if size > bytes.len() {
            bytes.reserve_exact(size - bytes.len());
        }
        bytes.resize(size, 0);
        self.bytes = bytes.into_boxed_slice();
    }

    /// Writes the header's length field.
    fn set_len(&mut self, len: usize) {
        let len = u32::try_from(len).expect("an intset holds at most u32::MAX elements");
        self.bytes[4..8].copy_from_slice(&len.to_le_bytes());
    }
}

impl Default for Intset {
    fn default() -> Intset {
        Intset::new()
    }
}

/// Shows the encoding and the elements, e.g. `Intset(width 2)[1, 2, 3]`.
impl fmt::Debug for Intset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Intset(width {})", self.encoding_width())?;
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Ascending iterator over an [`Intset`], from [`Intset::iter`]. Reads each
/// element from the bytes as it goes; nothing is copied up front.
pub struct Iter<'a> {
    set: &'a Intset,
    /// Next position to yield from the front.
    front: usize,
    /// One past the next position to yield from the back.
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.set.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.set.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Intset {
    type Item = i64;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn intset_of(values: &[i64]) -> Intset {
        let mut set = Intset::new();
        for &v in values {
            set.insert(v);
        }
        set
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn width_for_follows_the_c_type_boundaries() {
        let cases = [
            (0, 2),
            (i64::from(i16::MAX), 2),
            (i64::from(i16::MIN), 2),
            (i64::from(i16::MAX) + 1, 4),
            (i64::from(i16::MIN) - 1, 4),
            (i64::from(i32::MAX), 4),
            (i64::from(i32::MIN), 4),
            (i64::from(i32::MAX) + 1, 8),
            (i64::from(i32::MIN) - 1, 8),
            (i64::MAX, 8),
            (i64::MIN, 8),
        ];
        for (value, width) in cases {
            assert_eq!(width_for(value), width, "width_for({value})");
        }
    }

    #[test]
    fn a_new_intset_is_an_eight_byte_header_with_encoding_two() {
        let set = Intset::new();
        assert_eq!(set.as_bytes(), hex("02000000 00000000").as_slice());
        assert!(set.is_empty());
        assert_eq!(set.encoding_width(), 2);
        assert_eq!(set.min(), None);
        assert_eq!(set.max(), None);
        assert_eq!(set.search(5), Err(0));
    }

    #[test]
    fn upgrade_happens_exactly_at_i16_max_plus_one() {
        let mut set = intset_of(&[1, i64::from(i16::MAX)]);
        assert_eq!(set.encoding_width(), 2);
        assert!(set.insert(i64::from(i16::MAX) + 1));
        assert_eq!(set.encoding_width(), 4);
        assert_eq!(set.iter().collect::<Vec<_>>(), [1, 32767, 32768]);
        assert_eq!(set.blob_len(), 8 + 3 * 4);
    }

    #[test]
    fn upgrade_happens_exactly_at_i16_min_minus_one_and_prepends() {
        let mut set = intset_of(&[i64::from(i16::MIN), 7]);
        assert_eq!(set.encoding_width(), 2);
        assert!(set.insert(i64::from(i16::MIN) - 1));
        assert_eq!(set.encoding_width(), 4);
        assert_eq!(set.iter().collect::<Vec<_>>(), [-32769, -32768, 7]);
    }

    #[test]
    fn upgrade_to_eight_bytes_at_i32_boundaries() {
        let mut set = intset_of(&[i64::from(i32::MIN), -1, i64::from(i32::MAX)]);
        assert_eq!(set.encoding_width(), 4);
        assert!(set.insert(i64::from(i32::MIN) - 1));
        assert_eq!(set.encoding_width(), 8);
        assert!(set.insert(i64::from(i32::MAX) + 1));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [-2147483649, -2147483648, -1, 2147483647, 2147483648]
        );
        assert_eq!(set.blob_len(), 8 + 5 * 8);
    }

    #[test]
    fn one_upgrade_can_jump_from_two_bytes_straight_to_eight() {
        let mut set = intset_of(&[1, 2, 3]);
        assert!(set.insert(i64::MIN));
        assert_eq!(set.encoding_width(), 8);
        assert_eq!(set.iter().collect::<Vec<_>>(), [i64::MIN, 1, 2, 3]);
        assert!(set.insert(i64::MAX));
        assert_eq!(set.max(), Some(i64::MAX));
    }

    #[test]
    fn removing_the_wide_value_does_not_downgrade() {
        let mut set = intset_of(&[1, 2, 65536]);
        assert!(set.remove(65536));
        assert_eq!(set.encoding_width(), 4);
        assert_eq!(
            set.as_bytes(),
            hex("04000000 02000000 01000000 02000000").as_slice()
        );
        assert!(!set.remove(65536));
    }

    #[test]
    fn values_wider_than_the_encoding_are_absent_without_a_search() {
        let set = intset_of(&[0, 1]);
        assert!(!set.contains(1 << 40));
        assert!(!set.contains(-(1 << 20)));
        let mut set = set;
        assert!(!set.remove(1 << 40));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn insert_reports_duplicates_and_keeps_the_bytes() {
        let mut set = intset_of(&[5, 6, 4]);
        let before = set.as_bytes().to_vec();
        assert!(!set.insert(4));
        assert_eq!(set.as_bytes(), before.as_slice());
        assert_eq!(set.iter().collect::<Vec<_>>(), [4, 5, 6]);
    }

    #[test]
    fn search_reports_insert_positions_at_both_ends_and_inside() {
        let set = intset_of(&[10, 20, 30]);
        assert_eq!(set.search(5), Err(0));
        assert_eq!(set.search(10), Ok(0));
        assert_eq!(set.search(15), Err(1));
        assert_eq!(set.search(30), Ok(2));
        assert_eq!(set.search(35), Err(3));
    }

    /// Blobs taken from `DUMP` on Redis 7.0.15 (with `rdbcompression no`):
    /// the payload is `0b` (RDB_TYPE_SET_INTSET), a string length byte, then
    /// the intset bytes, then the RDB version and a CRC64.
    #[test]
    fn bytes_match_redis_dump_output() {
        // SADD s 1 2 3   -> "\x0b\x0e" + ...
        assert_eq!(
            intset_of(&[1, 2, 3]).as_bytes(),
            hex("02000000 03000000 0100 0200 0300").as_slice()
        );
        // SADD s2 -32769 5
        assert_eq!(
            intset_of(&[-32769, 5]).as_bytes(),
            hex("04000000 02000000 ff7fffff 05000000").as_slice()
        );
        // SADD s4 32767 32768 -32768
        assert_eq!(
            intset_of(&[32767, 32768, -32768]).as_bytes(),
            hex("04000000 03000000 0080ffff ff7f0000 00800000").as_slice()
        );
        // SADD s5 0 -2147483649
        assert_eq!(
            intset_of(&[0, -2147483649]).as_bytes(),
            hex("08000000 02000000 ffffff7fffffffff 0000000000000000").as_slice()
        );
        // SADD s3 1 4294967296 -1
        assert_eq!(
            intset_of(&[1, 4294967296, -1]).as_bytes(),
            hex("08000000 03000000 ffffffffffffffff 0100000000000000 0000000001000000").as_slice()
        );
        // ... then SREM s4 32768: still 4 bytes wide.
        let mut s4 = intset_of(&[32767, 32768, -32768]);
        s4.remove(32768);
        assert_eq!(
            s4.as_bytes(),
            hex("04000000 02000000 0080ffff ff7f0000").as_slice()
        );
    }

    #[test]
    fn from_bytes_accepts_what_redis_writes() {
        let blob = hex("04000000 02000000 0080ffff ff7f0000");
        let set = Intset::from_bytes(blob.clone()).expect("valid");
        assert_eq!(set.iter().collect::<Vec<_>>(), [-32768, 32767]);
        assert_eq!(set.encoding_width(), 4, "wider than needed is allowed");
        assert_eq!(set.into_bytes(), blob);
    }

    #[test]
    fn from_bytes_rejects_what_intset_validate_integrity_rejects() {
        let cases: [(&str, &str); 10] = [
            ("", "no header"),
            ("02000000 000000", "short header"),
            ("03000000 01000000 010000", "encoding 3"),
            ("00000000 00000000", "encoding 0"),
            (
                "10000000 01000000 0000000000000000 0000000000000000",
                "encoding 16",
            ),
            ("02000000 00000000", "empty set"),
            ("02000000 02000000 0100", "too few bytes for the length"),
            ("02000000 01000000 0100 0200", "trailing bytes"),
            ("02000000 02000000 0100 0100", "duplicate"),
            ("02000000 02000000 0200 0100", "out of order"),
        ];
        for (blob, why) in cases {
            assert!(
                Intset::from_bytes(hex(blob)).is_none(),
                "{why} should be rejected"
            );
        }
        // The order is signed: 0xffff is -1, which is less than 1.
        assert!(Intset::from_bytes(hex("02000000 02000000 0100 ffff")).is_none());
        assert!(Intset::from_bytes(hex("02000000 02000000 ffff 0100")).is_some());
    }

    #[test]
    fn iterators_run_both_ways_and_know_their_length() {
        let set = intset_of(&[3, -1, 2]);
        let mut it = set.iter();
        assert_eq!(it.len(), 3);
        assert_eq!(it.next(), Some(-1));
        assert_eq!(it.next_back(), Some(3));
        assert_eq!(it.len(), 1);
        assert_eq!(it.next(), Some(2));
        assert_eq!(it.next_back(), None);
        assert_eq!((&set).into_iter().rev().collect::<Vec<_>>(), [3, 2, -1]);
        assert_eq!(format!("{set:?}"), "Intset(width 2)[-1, 2, 3]");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(i64),
        Remove(i64),
        Contains(i64),
    }

    /// Values concentrated around the width boundaries, plus small values
    /// that collide often, so that duplicates, removals and upgrades all
    /// happen in short runs.
    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![
            -20i64..20,
            (-3i64..3).prop_map(|d| i64::from(i16::MAX) + d),
            (-3i64..3).prop_map(|d| i64::from(i16::MIN) + d),
            (-3i64..3).prop_map(|d| i64::from(i32::MAX) + d),
            (-3i64..3).prop_map(|d| i64::from(i32::MIN) + d),
            any::<i64>(),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => value().prop_map(Op::Insert),
            2 => value().prop_map(Op::Remove),
            1 => value().prop_map(Op::Contains),
        ]
    }

    proptest! {
        #[test]
        fn intset_behaves_like_a_btreeset(ops in proptest::collection::vec(op(), 0..200)) {
            let mut set = Intset::new();
            let mut model = BTreeSet::new();
            // The encoding only grows: it is the widest value ever added.
            let mut widest = 2u8;
            for op in ops {
                match op {
                    Op::Insert(v) => {
                        let added = model.insert(v);
                        if added {
                            widest = widest.max(width_for(v));
                        }
                        prop_assert_eq!(set.insert(v), added);
                    }
                    Op::Remove(v) => prop_assert_eq!(set.remove(v), model.remove(&v)),
                    Op::Contains(v) => prop_assert_eq!(set.contains(v), model.contains(&v)),
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert_eq!(set.encoding_width(), widest);
                prop_assert_eq!(set.blob_len(), 8 + set.len() * widest as usize);
                prop_assert!(set.iter().eq(model.iter().copied()));
                prop_assert_eq!(set.min(), model.first().copied());
                prop_assert_eq!(set.max(), model.last().copied());
                for (i, v) in model.iter().enumerate() {
                    prop_assert_eq!(set.get(i), Some(*v));
                    prop_assert_eq!(set.search(*v), Ok(i));
                }
                prop_assert_eq!(set.get(model.len()), None);
                if !set.is_empty() {
                    let copy = Intset::from_bytes(set.as_bytes().to_vec());
                    prop_assert_eq!(copy.as_ref(), Some(&set));
                }
            }
        }
    }
}
