//! # Streams: an append-only log of small records
//!
//! A stream is a log: every entry is a small field/value record stamped
//! with an ID `<ms>-<seq>` that only grows. Readers ask for ranges of IDs
//! (XRANGE), for what came after an ID they remember (XREAD), or share
//! the work through consumer groups (XREADGROUP), which remember what
//! each consumer was given until it is acknowledged (XACK).
//!
//! ## The structure: a sorted map of listpacks
//!
//! Storing each entry as its own object would cost several allocations
//! and pointers per entry. Redis instead packs runs of consecutive entries
//! into one listpack (a *node*), and indexes the nodes by the ID of their
//! first entry (the node's *master ID*):
//!
//! ```text
//!   nodes: 1700000000000-0 ──► [count|deleted|nfields|f1..fN|0| e e e ...]
//!          1700000000055-3 ──► [count|deleted|nfields|f1..fN|0| e e ...]
//! ```
//!
//! Each node opens with a *master entry*: the number of live entries, the
//! number of deleted ones, and the field names of the node's first entry,
//! closed by a `0`. Then each entry:
//!
//! ```text
//!   flags | ms-diff | seq-diff | nfields | f1 | v1 | ... | fN | vN | lp-count
//!   flags | ms-diff | seq-diff | v1 | ... | vN | lp-count     (SAMEFIELDS)
//! ```
//!
//! The ID is stored as a difference from the master ID (small numbers fit
//! one listpack byte), and an entry whose field names are the master's
//! (the usual case: a log has one schema) stores only its values and sets
//! the `SAMEFIELDS` flag. `lp-count` is the number of listpack elements of
//! the entry before it, so a reader walking backwards can jump to `flags`.
//! XDEL does not remove bytes: it sets the `DELETED` flag and moves one
//! from `count` to `deleted`; a node whose `count` reaches zero is freed.
//!
//! Worked example: `XADD s 5-1 temp 20 hum 40` then `XADD s 5-2 temp 21 hum 41`
//! make one node keyed `5-1` holding
//! `2 0 2 temp hum 0 | 2 0 0 20 40 5 | 2 0 1 21 41 5`
//! (flags 2 = SAMEFIELDS, lp-count 5 = flags, two diffs, two values).
//!
//! ## The invariants
//!
//! - Nodes are keyed by their master ID, and every entry of a node has an
//!   ID at least its master ID and below the next node's master ID.
//! - `length` is the number of live (not deleted) entries; `last_id` is the
//!   greatest ID ever added (or set by XSETID), so IDs never go back even
//!   after the newest entry is deleted.
//! - A node accepts a new entry while it is below `stream-node-max-bytes`
//!   (4096) bytes and `stream-node-max-entries` (100) entries, live plus
//!   deleted: a node is at most about 4 KB, and XRANGE decodes at most one
//!   partly-wanted node at each end of a range.
//! - A consumer group's pending entries list (PEL) holds every ID delivered
//!   and not acknowledged; each is also in exactly one consumer's PEL.
//!
//! ## The Redis C counterpart
//!
//! `src/t_stream.c`: `streamAppendItem` (the node layout above),
//! `streamTrim`, `streamIteratorGetID` (the walk over a node),
//! `streamDeleteItem`, `streamCreateCG`, `streamCreateNACK`; `src/stream.h`
//! for `stream`, `streamCG`, `streamConsumer`, `streamNACK`; `src/rax.c`
//! for the radix tree; `src/listpack.c` for the nodes.
//!
//! ## What we simplified
//!
//! Redis indexes nodes with a radix tree (`rax`) keyed by the 128-bit
//! big-endian ID, so that byte order is ID order and common prefixes (the
//! high bytes of nearby timestamps) are stored once. We use a
//! `BTreeMap<StreamId, Listpack>`: the same ordered map with the same
//! seek-to-greatest-key-at-most operation, without the prefix compression.
//! A B-tree of 16-byte keys costs a little more memory per node than a rax
//! (nodes hold about a hundred entries, so this is a few bytes per hundred
//! entries), and it lets this chapter be about streams, not radix trees.
//! The listpacks are byte for byte Redis's, so an RDB writer can copy them.
//! The consumer groups' PELs are also B-trees (rax in Redis), ordered the
//! same way.

use std::collections::BTreeMap;

use crate::listpack::{Listpack, LpPos, LpValue};

/// The `flags` element of an entry: nothing special.
pub const FLAG_NONE: i64 = 0;
/// The entry was deleted (XDEL, XTRIM inside a node).
pub const FLAG_DELETED: i64 = 1;
/// The entry's field names are the master entry's, and are not stored.
pub const FLAG_SAMEFIELDS: i64 = 2;

// ANCHOR: stream_id
/// A stream entry ID: milliseconds, then a sequence number within the
/// millisecond. Ordered as the pair, which is the order of the 128-bit
/// big-endian number Redis uses as the rax key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}
// ANCHOR_END: stream_id

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, or `None` after `MAX` (Redis's `streamIncrID`).
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID, or `None` before `0-0` (`streamDecrID`).
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The 16 bytes Redis writes (rax keys, RDB): ms then seq, big-endian.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_be_bytes(b: &[u8; 16]) -> StreamId {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }

    /// `<ms>-<seq>` into `buf` (at most 20 + 1 + 20 bytes), no allocation.
    pub fn format(self, buf: &mut [u8; 41]) -> &[u8] {
        let mut n = write_u64(&mut buf[..], self.ms);
        buf[n] = b'-';
        n += 1;
        n += write_u64(&mut buf[n..], self.seq);
        &buf[..n]
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut buf = [0u8; 41];
        self.format(&mut buf).to_vec()
    }
}

/// Decimal digits of `v` at the start of `out`; returns how many.
fn write_u64(out: &mut [u8], mut v: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = tmp.len() - i;
    out[..n].copy_from_slice(&tmp[i..]);
    n
}

/// Redis's `string2ull`: a non-negative decimal integer that fits 64 bits.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::resp::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    // Above i64::MAX: strtoull's digits (an optional '+').
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// One pending (delivered, not acknowledged) entry of a group: Redis's
/// `streamNACK`.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEntry {
    /// Unix ms of the last delivery (XPENDING's idle time counts from it).
    pub delivery_time: i64,
    /// How many times it was delivered (XCLAIM raises it).
    pub delivery_count: u64,
    /// The consumer that holds it now.
    pub consumer: Vec<u8>,
}

/// A consumer of a group: Redis's `streamConsumer`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Consumer {
    /// Unix ms of its last read or claim (XINFO CONSUMERS `idle`).
    pub seen_time: i64,
    /// The IDs it holds; each is also in the group's PEL.
    pub pel: BTreeMap<StreamId, ()>,
}

// ANCHOR: stream_group
/// A consumer group: Redis's `streamCG`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerGroup {
    /// The last ID delivered to any consumer with `>`.
    pub last_id: StreamId,
    /// How many entries the group has read (7.0's logical read counter,
    /// behind XINFO's `lag`); -1 when unknown (`SCG_INVALID_ENTRIES_READ`).
    pub entries_read: i64,
    /// Every delivered, unacknowledged ID.
    pub pel: BTreeMap<StreamId, PendingEntry>,
    /// Consumers by name (a rax in Redis, so also in name order).
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}
// ANCHOR_END: stream_group

// ANCHOR: stream_struct
/// A stream value: Redis's `stream` struct.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    /// The nodes, keyed by master ID (Redis: the rax).
    pub nodes: BTreeMap<StreamId, Listpack>,
    /// Live entries.
    pub length: u64,
    /// The greatest ID ever used: new IDs must be above it.
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    /// The greatest ID ever deleted (7.0, for the consumer-group lag).
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added (7.0, for the lag): XADDs, or XSETID ENTRIESADDED.
    pub entries_added: u64,
    /// Consumer groups by name (a rax in Redis, so in name order).
    pub groups: BTreeMap<Vec<u8>, ConsumerGroup>,
}
// ANCHOR_END: stream_struct

/// Where an entry sits inside its node, as decoded by [`decode_node`].
#[derive(Clone, Copy, Debug)]
pub struct EntryRef {
    pub id: StreamId,
    pub flags: i64,
    /// Position of the `flags` element.
    pub at: LpPos,
    /// Number of field/value pairs.
    pub num_fields: usize,
    /// Position of the first field (or first value if SAMEFIELDS).
    pub body: LpPos,
}

impl EntryRef {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }
}

/// A decoded node: where the master fields are and where each entry is.
pub struct NodeView {
    /// Position of the first master field name.
    pub master_fields: Option<LpPos>,
    pub master_count: usize,
    pub entries: Vec<EntryRef>,
}

fn int_at(lp: &Listpack, pos: LpPos) -> i64 {
    lp.get(pos).as_i64().unwrap_or(0)
}

// ANCHOR: stream_decode_node
/// Walk one node from its master entry to its end: the work Redis's
/// `streamIteratorGetID` does one entry at a time. At most
/// `stream-node-max-entries` entries, so the vector is small.
pub fn decode_node(master: StreamId, lp: &Listpack) -> NodeView {
    let mut view = NodeView {
        master_fields: None,
        master_count: 0,
        entries: Vec::new(),
    };
    let Some(count_pos) = lp.first() else {
        return view;
    };
    let deleted_pos = lp.next(count_pos).expect("stream node: deleted");
    let nfields_pos = lp.next(deleted_pos).expect("stream node: num-fields");
    let master_count = int_at(lp, nfields_pos) as usize;
    view.master_count = master_count;
    let mut pos = lp.next(nfields_pos);
    view.master_fields = pos;
    for _ in 0..master_count {
        pos = pos.and_then(|p| lp.next(p));
    }
    // `pos` is the master terminator `0`.
    let mut pos = pos.and_then(|p| lp.next(p));
    while let Some(at) = pos {
        let flags = int_at(lp, at);
        let ms_pos = lp.next(at).expect("stream entry: ms-diff");
        let seq_pos = lp.next(ms_pos).expect("stream entry: seq-diff");
        let id = StreamId::new(
            master.ms.wrapping_add(int_at(lp, ms_pos) as u64),
            master.seq.wrapping_add(int_at(lp, seq_pos) as u64),
        );
        let after_id = lp.next(seq_pos).expect("stream entry: body");
        let (num_fields, body, elements) = if flags & FLAG_SAMEFIELDS != 0 {
            (master_count, after_id, master_count)
        } else {
            let n = int_at(lp, after_id) as usize;
            (n, lp.next(after_id).expect("stream entry: fields"), 2 * n)
        };
        let mut p = Some(body);
        for _ in 0..elements {
            p = p.and_then(|q| lp.next(q));
        }
        // `p` is lp-count; the next entry follows it.
        view.entries.push(EntryRef {
            id,
            flags,
            at,
            num_fields,
            body,
        });
        pos = p.and_then(|q| lp.next(q));
    }
    view
}
// ANCHOR_END: stream_decode_node

// ANCHOR: stream_validate_node
/// Is `lp` a well-formed stream node (Redis's
/// `streamValidateListpackIntegrity`, deep)? The master entry must be
/// `count deleted nfields fields... 0`, and every entry `flags ms-diff
/// seq-diff [nfields] fields/values lp-count` with a consistent lp-count,
/// IDs strictly increasing from the master, and `count`/`deleted` equal to
/// the live and deleted entries found. Loading (RDB, RESTORE) checks this
/// so that [`decode_node`] can trust the layout.
pub fn validate_node(master: StreamId, lp: &Listpack) -> bool {
    let mut pos = lp.first();
    let next_int = |pos: &mut Option<LpPos>| -> Option<i64> {
        let p = (*pos)?;
        let v = lp.get(p).as_i64();
        *pos = lp.next(p);
        v
    };
    let skip = |pos: &mut Option<LpPos>| -> bool {
        match *pos {
            Some(p) => {
                *pos = lp.next(p);
                true
            }
            None => false,
        }
    };
    let (Some(count), Some(deleted), Some(nfields)) =
        (next_int(&mut pos), next_int(&mut pos), next_int(&mut pos))
    else {
        return false;
    };
    if count < 0 || deleted < 0 || nfields < 0 {
        return false;
    }
    for _ in 0..nfields {
        if !skip(&mut pos) {
            return false;
        }
    }
    if next_int(&mut pos) != Some(0) {
        return false;
    }
    let (mut live, mut dead) = (0i64, 0i64);
    let mut prev: Option<StreamId> = None;
    while pos.is_some() {
        let Some(flags) = next_int(&mut pos) else {
            return false;
        };
        let (Some(ms), Some(seq)) = (next_int(&mut pos), next_int(&mut pos)) else {
            return false;
        };
        let id = StreamId::new(
            master.ms.wrapping_add(ms as u64),
            master.seq.wrapping_add(seq as u64),
        );
        if id < master || prev.is_some_and(|p| id <= p) {
            return false;
        }
        prev = Some(id);
        let elements = if flags & FLAG_SAMEFIELDS != 0 {
            nfields
        } else {
            let Some(n) = next_int(&mut pos) else {
                return false;
            };
            if n < 0 {
                return false;
            }
            2 * n
        };
        for _ in 0..elements {
            if !skip(&mut pos) {
                return false;
            }
        }
        let lp_count = next_int(&mut pos);
        let want = 3 + if flags & FLAG_SAMEFIELDS != 0 {
            nfields
        } else {
            elements + 1
        };
        if lp_count != Some(want) {
            return false;
        }
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            live += 1;
        }
    }
    live == count && dead == deleted
}
// ANCHOR_END: stream_validate_node

impl NodeView {
    /// The field/value pairs of `entry`, in order.
    pub fn fields<'a>(
        &self,
        lp: &'a Listpack,
        entry: &EntryRef,
    ) -> impl Iterator<Item = (LpValue<'a>, LpValue<'a>)> + 'a {
        let same = entry.flags & FLAG_SAMEFIELDS != 0;
        let mut field_pos = if same { self.master_fields } else { None };
        let mut pos = Some(entry.body);
        let n = entry.num_fields;
        (0..n).map(move |_| {
            let (f, v);
            if same {
                let fp = field_pos.expect("stream: master field");
                let vp = pos.expect("stream: value");
                f = lp.get(fp);
                v = lp.get(vp);
                field_pos = lp.next(fp);
                pos = lp.next(vp);
            } else {
                let fp = pos.expect("stream: field");
                let vp = lp.next(fp).expect("stream: value");
                f = lp.get(fp);
                v = lp.get(vp);
                pos = lp.next(vp);
            }
            (f, v)
        })
    }
}

/// An entry as owned data: its ID and its field/value pairs.
pub type OwnedEntry = (StreamId, Vec<(Vec<u8>, Vec<u8>)>);

/// How XADD/XTRIM trim: Redis's `streamAddTrimArgs` minus the parsing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrimStrategy {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

/// Why an append failed.
#[derive(Debug, PartialEq)]
pub enum AppendError {
    /// The ID is not above the stream's last ID (`EDOM` in Redis).
    IdTooSmall,
    /// The fields and values are over 1 GB together (`ERANGE`).
    TooLarge,
}

/// Listpacks may not exceed this (`STREAM_LISTPACK_MAX_SIZE`, 1 GB).
const LISTPACK_MAX_SIZE: usize = 1 << 30;

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// The ID XADD `*` would use: the current time, or one above the last
    /// ID if the clock is behind it (`streamNextID`).
    pub fn next_id(&self, now_ms: u64) -> StreamId {
        if now_ms > self.last_id.ms {
            StreamId::new(now_ms, 0)
        } else {
            self.last_id.next().unwrap_or(StreamId::MAX)
        }
    }

    // ANCHOR: stream_append
    /// Append an entry (Redis's `streamAppendItem`). `id` is the resolved
    /// ID; the caller checks it is above `last_id` or gets `IdTooSmall`.
    /// `pairs` holds field, value, field, value...
    pub fn append(
        &mut self,
        id: StreamId,
        pairs: &[&[u8]],
        node_max_bytes: usize,
        node_max_entries: u64,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: usize = pairs.iter().map(|p| p.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let num_fields = pairs.len() / 2;
        let max_bytes = if node_max_bytes == 0 || node_max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            node_max_bytes
        };

        // Is there a tail node with room? Its size plus the new data must
        // stay under the byte bound, and live plus deleted entries under
        // the entry bound.
        let tail = self.nodes.iter_mut().next_back().and_then(|(&master, lp)| {
            let full_bytes = lp.bytes_len() + total >= max_bytes;
            let first = lp.first()?;
            let count = int_at(lp, first) + int_at(lp, lp.next(first)?);
            let full_entries = node_max_entries != 0 && count as u64 >= node_max_entries;
            if full_bytes || full_entries {
                // This node is done growing: give back its spare room.
                lp.shrink_to_fit();
                None
            } else {
                Some(master)
            }
        });

        let mut flags = FLAG_NONE;
        let (master, lp) = match tail {
            Some(master) => {
                let lp = self.nodes.get_mut(&master).expect("tail node");
                let first = lp.first().expect("stream node: count");
                let count = int_at(lp, first);
                lp.replace_int(first, count + 1);
                let deleted = lp.next(first).expect("stream node: deleted");
                let nfields_pos = lp.next(deleted).expect("stream node: num-fields");
                if int_at(lp, nfields_pos) as usize == num_fields {
                    let mut p = lp.next(nfields_pos);
                    let same = (0..num_fields).all(|i| match p {
                        Some(q) => {
                            let eq = lp.get(q).eq_bytes(pairs[2 * i]);
                            p = lp.next(q);
                            eq
                        }
                        None => false,
                    });
                    if same {
                        flags |= FLAG_SAMEFIELDS;
                    }
                }
                (master, lp)
            }
            None => {
                let mut lp = Listpack::new();
                lp.push_back_int(1);
                lp.push_back_int(0);
                lp.push_back_int(num_fields as i64);
                for i in 0..num_fields {
                    lp.push_back(pairs[2 * i]);
                }
                lp.push_back_int(0);
                self.nodes.insert(id, lp);
                flags |= FLAG_SAMEFIELDS;
                (id, self.nodes.get_mut(&id).expect("just inserted"))
            }
        };

        let same = flags & FLAG_SAMEFIELDS != 0;
        lp.push_back_int(flags);
        lp.push_back_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_back_int(id.seq.wrapping_sub(master.seq) as i64);
        if !same {
            lp.push_back_int(num_fields as i64);
        }
        for i in 0..num_fields {
            if !same {
                lp.push_back(pairs[2 * i]);
            }
            lp.push_back(pairs[2 * i + 1]);
        }
        let lp_count = 3 + num_fields + if same { 0 } else { num_fields + 1 };
        lp.push_back_int(lp_count as i64);

        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }
    // ANCHOR_END: stream_append

    /// Visit the entries with `start <= id <= end`, forwards or backwards,
    /// skipping deleted ones, until `f` returns false. `f` gets the node's
    /// listpack and view to read the entry's fields.
    pub fn for_each_in_range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(&Listpack, &NodeView, &EntryRef) -> bool,
    ) {
        if start > end {
            return;
        }
        // The node that may hold `start` is the last one keyed at most
        // `start`; every later node up to `end` may hold wanted entries.
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let nodes = self.nodes.range(from..=end);
        let mut visit = |master: &StreamId, lp: &Listpack| -> bool {
            let view = decode_node(*master, lp);
            let mut go = |e: &EntryRef| -> Option<bool> {
                if e.id < start || e.id > end || e.deleted() {
                    return None;
                }
                Some(f(lp, &view, e))
            };
            if rev {
                for e in view.entries.iter().rev() {
                    if go(e) == Some(false) {
                        return false;
                    }
                }
            } else {
                for e in view.entries.iter() {
                    if go(e) == Some(false) {
                        return false;
                    }
                }
            }
            true
        };
        if rev {
            for (m, lp) in nodes.rev() {
                if !visit(m, lp) {
                    return;
                }
            }
        } else {
            for (m, lp) in nodes {
                if !visit(m, lp) {
                    return;
                }
            }
        }
    }

    /// The first (or last) entry's ID, counting deleted entries only if
    /// `with_tombstones` (Redis's `streamGetEdgeID`). Empty: `None`.
    pub fn edge_id(&self, first: bool, with_tombstones: bool) -> Option<StreamId> {
        let pick = |view: NodeView| -> Option<StreamId> {
            let mut it: Box<dyn Iterator<Item = &EntryRef>> = if first {
                Box::new(view.entries.iter())
            } else {
                Box::new(view.entries.iter().rev())
            };
            it.find(|e| with_tombstones || !e.deleted()).map(|e| e.id)
        };
        if first {
            self.nodes
                .iter()
                .find_map(|(m, lp)| pick(decode_node(*m, lp)))
        } else {
            self.nodes
                .iter()
                .rev()
                .find_map(|(m, lp)| pick(decode_node(*m, lp)))
        }
    }

    /// The last live ID, or 0-0 (`streamLastValidID`).
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false, false).unwrap_or(StreamId::MIN)
    }

    // ANCHOR: stream_delete
    /// Delete one entry by ID (XDEL): mark it deleted in its node, move one
    /// from the node's `count` to `deleted`, and free the node when no
    /// live entry is left. True if the entry existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, lp)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let view = decode_node(master, lp);
        let Some(entry) = view.entries.iter().find(|e| e.id == id && !e.deleted()) else {
            return false;
        };
        // The flags change 2 -> 3 or 0 -> 1: same encoded size, so the
        // positions decoded above stay valid for the counters.
        lp.replace_int(entry.at, entry.flags | FLAG_DELETED);
        let first = lp.first().expect("stream node: count");
        let count = int_at(lp, first) - 1;
        if count == 0 {
            self.nodes.remove(&master);
        } else {
            lp.replace_int(first, count);
            let deleted_pos = lp.next(first).expect("stream node: deleted");
            let deleted = int_at(lp, deleted_pos);
            lp.replace_int(deleted_pos, deleted + 1);
        }
        self.length -= 1;
        if id > self.max_deleted_entry_id {
            self.max_deleted_entry_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.edge_id(true, false).unwrap_or(StreamId::MIN);
        }
        true
    }
    // ANCHOR_END: stream_delete

    // ANCHOR: stream_trim
    /// Trim from the head (Redis's `streamTrim`): whole nodes while they
    /// are entirely unwanted, then, unless `approx`, entries inside the
    /// next node. `limit` (0: none) bounds the entries removed, counted per
    /// whole node. Returns how many entries went.
    pub fn trim(&mut self, strategy: TrimStrategy, approx: bool, limit: u64) -> u64 {
        if strategy == TrimStrategy::None {
            return 0;
        }
        let mut deleted = 0u64;
        while let Some((&master, lp)) = self.nodes.iter_mut().next() {
            if let TrimStrategy::MaxLen(maxlen) = strategy {
                if self.length <= maxlen {
                    break;
                }
            }
            let first = lp.first().expect("stream node: count");
            let entries = int_at(lp, first) as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let view = decode_node(master, lp);
            let remove_node = match strategy {
                TrimStrategy::MaxLen(maxlen) => self.length - entries >= maxlen,
                TrimStrategy::MinId(min) => {
                    // The node's last entry, deleted or not.
                    view.entries.last().is_none_or(|e| e.id < min)
                }
                TrimStrategy::None => false,
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Mark entries deleted one by one inside this node. Flags keep
            // their encoded size, so the decoded positions stay valid.
            let mut deleted_here = 0u64;
            for e in &view.entries {
                let stop = match strategy {
                    TrimStrategy::MaxLen(maxlen) => self.length <= maxlen,
                    TrimStrategy::MinId(min) => e.id >= min,
                    TrimStrategy::None => true,
                };
                if stop {
                    break;
                }
                if !e.deleted() {
                    lp.replace_int(e.at, e.flags | FLAG_DELETED);
                    deleted_here += 1;
                    self.length -= 1;
                }
            }
            deleted += deleted_here;
            let first = lp.first().expect("stream node: count");
            lp.replace_int(first, entries as i64 - deleted_here as i64);
            let deleted_pos = lp.next(first).expect("stream node: deleted");
            let marked = int_at(lp, deleted_pos);
            lp.replace_int(deleted_pos, marked + deleted_here as i64);
            break;
        }
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.edge_id(true, false).unwrap_or(StreamId::MIN)
        };
        deleted
    }
    // ANCHOR_END: stream_trim

    /// Every live entry as owned data (tests, DEBUG, COPY checks).
    pub fn entries(&self) -> Vec<OwnedEntry> {
        let mut out = Vec::new();
        self.for_each_in_range(StreamId::MIN, StreamId::MAX, false, |lp, view, e| {
            let fields = view
                .fields(lp, e)
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect();
            out.push((e.id, fields));
            true
        });
        out
    }

    // ANCHOR: stream_rax_nodes
    /// How many nodes Redis's radix tree would have for these keys (XINFO's
    /// `radix-tree-nodes`), so the number a student compares is Redis's.
    ///
    /// A rax node sits at the root, at every key, at every prefix where keys
    /// branch, and at every child of a branching prefix; a run of single-child
    /// positions between those is one compressed node. With the 16-byte keys
    /// sorted, two neighbours with common prefix length `l` show that their
    /// `l`-byte prefix branches, and their `l + 1`-byte prefixes are children
    /// of it; every branching prefix and every child shows up this way. So
    /// the node set is: the root, the keys, and for each neighbour pair those
    /// three prefixes. Example: keys `AAx`, `AAy`, `B..`: root (branches on A/B),
    /// `A` (its child), `AA` (branches), `AAx`, `AAy`, `B..` (child, key): 6.
    pub fn radix_tree_nodes(&self) -> usize {
        use std::collections::HashSet;
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|id| id.to_be_bytes()).collect();
        let prefix = |k: &[u8; 16], len: usize| {
            let mut p = [0u8; 16];
            p[..len].copy_from_slice(&k[..len]);
            (len as u8, p)
        };
        let mut set: HashSet<(u8, [u8; 16])> = HashSet::with_capacity(keys.len() * 3);
        set.insert((0, [0u8; 16]));
        for k in &keys {
            set.insert(prefix(k, 16));
        }
        for pair in keys.windows(2) {
            let l = pair[0]
                .iter()
                .zip(&pair[1])
                .take_while(|(a, b)| a == b)
                .count();
            set.insert(prefix(&pair[1], l));
            set.insert(prefix(&pair[0], l + 1));
            set.insert(prefix(&pair[1], l + 1));
        }
        set.len()
    }
    // ANCHOR_END: stream_rax_nodes

    /// Bytes held by the nodes' listpacks (MEMORY USAGE's main part).
    pub fn nodes_bytes(&self) -> usize {
        self.nodes.values().map(|lp| lp.bytes_len()).sum()
    }
}

// ============================================================================
// Persistence: the AOF rewrite's commands
// ============================================================================

// ANCHOR: stream_rewrite
/// The commands that rebuild `stream` under `key` (Redis's
/// `rewriteStreamObject`): one XADD per entry (an empty stream is made by
/// `XADD key MAXLEN 0 0-1 x y`), XSETID to restore the last ID and the 7.0
/// counters, then per group XGROUP CREATE, and per pending entry an XCLAIM
/// with its delivery time and count (consumers holding nothing: XGROUP
/// CREATECONSUMER).
pub fn rewrite_commands(key: &[u8], stream: &Stream, mut emit: impl FnMut(&[Vec<u8>])) {
    let num = |n: u64| n.to_string().into_bytes();
    let mut argv: Vec<Vec<u8>> = Vec::new();
    if stream.length > 0 {
        stream.for_each_in_range(StreamId::MIN, StreamId::MAX, false, |lp, view, e| {
            argv.clear();
            argv.push(b"XADD".to_vec());
            argv.push(key.to_vec());
            argv.push(e.id.to_vec());
            for (f, v) in view.fields(lp, e) {
                argv.push(f.to_vec());
                argv.push(v.to_vec());
            }
            emit(&argv);
            true
        });
    } else {
        emit(&[
            b"XADD".to_vec(),
            key.to_vec(),
            b"MAXLEN".to_vec(),
            b"0".to_vec(),
            b"0-1".to_vec(),
            b"x".to_vec(),
            b"y".to_vec(),
        ]);
    }
    emit(&[
        b"XSETID".to_vec(),
        key.to_vec(),
        stream.last_id.to_vec(),
        b"ENTRIESADDED".to_vec(),
        num(stream.entries_added),
        b"MAXDELETEDID".to_vec(),
        stream.max_deleted_entry_id.to_vec(),
    ]);
    for (name, group) in &stream.groups {
        emit(&[
            b"XGROUP".to_vec(),
            b"CREATE".to_vec(),
            key.to_vec(),
            name.clone(),
            group.last_id.to_vec(),
            b"ENTRIESREAD".to_vec(),
            group.entries_read.to_string().into_bytes(),
        ]);
        for (consumer_name, consumer) in &group.consumers {
            if consumer.pel.is_empty() {
                emit(&[
                    b"XGROUP".to_vec(),
                    b"CREATECONSUMER".to_vec(),
                    key.to_vec(),
                    name.clone(),
                    consumer_name.clone(),
                ]);
                continue;
            }
            for id in consumer.pel.keys() {
                let Some(nack) = group.pel.get(id) else {
                    continue;
                };
                emit(&[
                    b"XCLAIM".to_vec(),
                    key.to_vec(),
                    name.clone(),
                    consumer_name.clone(),
                    b"0".to_vec(),
                    id.to_vec(),
                    b"TIME".to_vec(),
                    nack.delivery_time.to_string().into_bytes(),
                    b"RETRYCOUNT".to_vec(),
                    num(nack.delivery_count),
                    b"JUSTID".to_vec(),
                    b"FORCE".to_vec(),
                ]);
            }
        }
    }
}
// ANCHOR_END: stream_rewrite

/// DEBUG DIGEST's walk (Redis's `xorObjectDigest` for streams): every live
/// entry's `<ms>.<seq>` (a dot, not a dash), then its fields and values,
/// each handed to `mix` in order.
pub fn digest_parts(stream: &Stream, mut mix: impl FnMut(&[u8])) {
    stream.for_each_in_range(StreamId::MIN, StreamId::MAX, false, |lp, view, e| {
        let id = format!("{}.{}", e.id.ms, e.id.seq);
        mix(id.as_bytes());
        for (f, v) in view.fields(lp, e) {
            mix(&f.to_vec());
            mix(&v.to_vec());
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Stream, id: StreamId, pairs: &[&[u8]]) {
        s.append(id, pairs, 4096, 100).unwrap();
    }

    #[test]
    fn node_layout_is_redis_master_entry_then_delta_encoded_entries() {
        let mut s = Stream::new();
        add(
            &mut s,
            StreamId::new(5, 1),
            &[b"temp", b"20", b"hum", b"40"],
        );
        add(
            &mut s,
            StreamId::new(5, 2),
            &[b"temp", b"21", b"hum", b"41"],
        );
        add(&mut s, StreamId::new(6, 0), &[b"x", b"y"]);
        assert_eq!(s.nodes.len(), 1);
        let lp = &s.nodes[&StreamId::new(5, 1)];
        let items: Vec<Vec<u8>> = lp.iter().map(|v| v.to_vec()).collect();
        // The third entry has other fields (flags 0, its own names), and its
        // seq diff 0 - 1 wraps to -1, as Redis's unsigned subtraction does.
        let want: Vec<&[u8]> = vec![
            b"3", b"0", b"2", b"temp", b"hum", b"0", // master entry
            b"2", b"0", b"0", b"20", b"40", b"5", // SAMEFIELDS
            b"2", b"0", b"1", b"21", b"41", b"5", // SAMEFIELDS
            b"0", b"1", b"-1", b"1", b"x", b"y", b"6", // own fields
        ];
        let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(items, want);
    }

    #[test]
    fn nodes_split_at_the_entry_bound_and_delete_frees_empty_nodes() {
        let mut s = Stream::new();
        for i in 1..=5u64 {
            s.append(StreamId::new(i, 0), &[b"f", b"v"], 4096, 2)
                .unwrap();
        }
        assert_eq!(s.nodes.len(), 3);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.nodes.len(), 3);
        assert!(s.delete(StreamId::new(2, 0)));
        assert_eq!(s.nodes.len(), 2);
        assert_eq!(s.first_id, StreamId::new(3, 0));
        assert_eq!(s.length, 3);
        assert_eq!(s.max_deleted_entry_id, StreamId::new(2, 0));
    }

    #[test]
    fn trim_exact_and_approx() {
        let mut s = Stream::new();
        for i in 1..=10u64 {
            s.append(StreamId::new(i, 0), &[b"f", b"v"], 4096, 4)
                .unwrap();
        }
        // approx removes only whole nodes: 10 -> 6 (one node of 4).
        assert_eq!(s.trim(TrimStrategy::MaxLen(5), true, 0), 4);
        assert_eq!(s.length, 6);
        assert_eq!(s.trim(TrimStrategy::MaxLen(5), false, 0), 1);
        assert_eq!(s.length, 5);
        assert_eq!(s.first_id, StreamId::new(6, 0));
        assert_eq!(
            s.trim(TrimStrategy::MinId(StreamId::new(9, 0)), false, 0),
            3
        );
        let ids: Vec<u64> = s.entries().iter().map(|e| e.0.ms).collect();
        assert_eq!(ids, vec![9, 10]);
    }

    proptest::proptest! {
        #[test]
        fn stream_matches_a_vector_model(ops in proptest::collection::vec((0u8..4, 0u64..40), 1..120)) {
            let mut s = Stream::new();
            let mut model: Vec<OwnedEntry> = Vec::new();
            let mut next = 1u64;
            for (op, n) in ops {
                match op {
                    0 | 1 => {
                        let id = StreamId::new(next, n);
                        next += 1 + n % 3;
                        let v = n.to_string().into_bytes();
                        let pairs: Vec<&[u8]> = if op == 0 { vec![b"a", &v] } else { vec![b"b", &v, b"c", b"12"] };
                        s.append(id, &pairs, 120, 5).unwrap();
                        model.push((id, pairs.chunks(2).map(|c| (c[0].to_vec(), c[1].to_vec())).collect()));
                    }
                    2 => {
                        let victim = model.get(n as usize % (model.len() + 1)).map(|e| e.0);
                        if let Some(id) = victim {
                            proptest::prop_assert!(s.delete(id));
                            model.retain(|e| e.0 != id);
                        }
                    }
                    _ => {
                        let keep = n % 20;
                        s.trim(TrimStrategy::MaxLen(keep), false, 0);
                        while model.len() as u64 > keep { model.remove(0); }
                    }
                }
                proptest::prop_assert_eq!(s.length as usize, model.len());
                proptest::prop_assert_eq!(&s.entries(), &model);
                proptest::prop_assert_eq!(s.first_id, model.first().map(|e| e.0).unwrap_or_default());
            }
        }
    }
}
