//! # proto: what the server tells the visualizer
//!
//! The visualizer never looks inside the server's memory. It asks, over the
//! ordinary Redis protocol, with `ANATOMY <topic>`, and the server answers
//! with one bulk string of JSON built from the types in this crate. Both
//! sides compile these same types, so a field added here is a field both
//! sides agree on; serde does the encoding.
//!
//! ## The invariant
//!
//! A snapshot describes the server at one instant: it is built in one go by
//! the single thread that owns the data, so its numbers are consistent with
//! each other (`used` of both tables adds up to the keys counted, every
//! bucket below `rehash_index` in table 0 is empty). Sequence numbers only
//! grow: `seq` per snapshot, `Event::seq` per event, so a poller can ask
//! for "everything after what I have seen".
//!
//! ## Size
//!
//! A million-key table has a million buckets; sending them all would cost
//! megabytes per poll. A [`BucketList`] therefore lists every bucket only up
//! to [`BUCKET_CAP`]; beyond that it lists every `stride`-th bucket
//! ([`BucketSampling::Sampled`]) and says so, so the viewer can label what
//! it draws honestly. The snapshot of any dict stays well under 64 KB.
//!
//! ## The Redis C counterpart
//!
//! None: Redis has no such window. The closest are `DEBUG HTSTATS`
//! (`dictGetStats` in `dict.c`), which prints chain-length histograms as
//! text, and `INFO keyspace`.

use serde::{Deserialize, Serialize};

/// Version of this protocol, carried in every snapshot. A viewer that
/// finds another number says so instead of misreading fields.
pub const PROTO_VERSION: u32 = 1;

/// Most buckets a table's list carries one by one. Beyond this the list is
/// sampled with a stride (see [`BucketSampling`]).
pub const BUCKET_CAP: usize = 4096;

/// Chain lengths are sent as `u8`; a longer chain is sent as this value,
/// read "255 or more".
pub const CHAIN_LEN_SATURATED: u8 = u8::MAX;

/// `ANATOMY DICT [key]`: one dict (the keyspace of the selected database,
/// or the dict inside a hash, set or sorted set) at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DictSnapshot {
    /// Always [`PROTO_VERSION`] for this crate's version.
    pub version: u32,
    /// Increases by one with every snapshot the server builds (any dict).
    pub seq: u64,
    /// The sequence number of the newest event in the server's log when the
    /// snapshot was taken (0 if none): events up to here are reflected.
    pub event_seq: u64,
    /// Milliseconds since the Unix epoch, server clock.
    pub time_ms: i64,
    /// What this dict is.
    pub source: DictSource,
    /// Redis's `rehashidx`: the next bucket of table 0 to move, or `None`
    /// when no rehash is running.
    pub rehash_index: Option<u64>,
    /// The server's `activerehashing` setting (cron's 1 ms per tick).
    pub active_rehashing: bool,
    /// Whether rehashing is paused (a safe iterator is live).
    pub rehash_paused: bool,
    /// Table 0 (in use) and table 1 (the target of a rehash; size 0 when
    /// not rehashing).
    pub tables: [TableSnapshot; 2],
}

/// Which dict a snapshot shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DictSource {
    /// The keyspace of database `db`.
    Keyspace { db: u32 },
    /// The dict inside a key's value: `kind` is `"hash"`, `"set"` or `"zset"`.
    Key { db: u32, key: String, kind: String },
}

/// One of the two hash tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableSnapshot {
    /// Number of buckets (0 = not allocated, else a power of two).
    pub size: u64,
    /// Number of entries in this table.
    pub used: u64,
    /// Chain length per bucket, possibly sampled.
    pub buckets: BucketList,
}

impl TableSnapshot {
    /// Entries per bucket: above 1 the table grows, below 0.1 it shrinks.
    pub fn load_factor(&self) -> f64 {
        if self.size == 0 {
            0.0
        } else {
            self.used as f64 / self.size as f64
        }
    }
}

/// Chain lengths of a table's buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BucketList {
    pub sampling: BucketSampling,
    /// `lengths[i]` is the chain length of bucket `i * stride` (stride 1
    /// when every bucket is listed), saturated at [`CHAIN_LEN_SATURATED`].
    pub lengths: Vec<u8>,
}

/// How [`BucketList::lengths`] maps to buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketSampling {
    /// Every bucket, in order.
    #[default]
    All,
    /// Every `stride`-th bucket: entry `i` is bucket `i * stride`. The
    /// buckets in between are not shown.
    Sampled { stride: u64 },
}

impl BucketList {
    /// Distance in buckets between two listed entries.
    pub fn stride(&self) -> u64 {
        match self.sampling {
            BucketSampling::All => 1,
            BucketSampling::Sampled { stride } => stride,
        }
    }

    /// The bucket index that entry `i` of `lengths` describes.
    pub fn bucket_index(&self, i: usize) -> u64 {
        i as u64 * self.stride()
    }
}

/// `ANATOMY EVENTS <since-seq>`: the events after `since`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub version: u32,
    /// Sequence number of the newest event the server has (0 if none).
    pub last_seq: u64,
    /// True when events after `since` have already left the bounded log:
    /// the viewer missed some and should re-read a snapshot.
    pub missed: bool,
    pub events: Vec<Event>,
}

/// One thing that happened inside the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Increases by one per event.
    pub seq: u64,
    pub time_ms: i64,
    pub kind: EventKind,
}

/// What happened. Rehash events concern the keyspace dict of database `db`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    /// Table 0 was replaced: allocated by the first insert (`from` 0), by
    /// the end of a rehash (table 1 became table 0), or freed (`to` 0).
    TableResized { db: u32, from: u64, to: u64 },
    /// A rehash began: table 1 was allocated with `to` buckets.
    RehashStarted { db: u32, from: u64, to: u64 },
    /// Buckets `first..=last` of table 0 were visited and emptied into
    /// table 1, moving `moved` entries. Consecutive steps may be merged
    /// into one event when they come faster than anyone reads them.
    RehashStep {
        db: u32,
        first: u64,
        last: u64,
        moved: u64,
    },
    /// The rehash ended; table 0 now has `size` buckets.
    RehashFinished { db: u32, size: u64 },
    /// The dict dropped events before the server collected them.
    EventsDropped { db: u32, count: u64 },
}

impl EventKind {
    /// A one-line description for the viewer's event list.
    pub fn describe(&self) -> String {
        match self {
            EventKind::TableResized { db, from, to } => {
                format!("db{db}: table 0 resized {from} -> {to} buckets")
            }
            EventKind::RehashStarted { db, from, to } => {
                format!("db{db}: rehash started, {from} -> {to} buckets")
            }
            EventKind::RehashStep {
                db,
                first,
                last,
                moved,
            } => {
                if first == last {
                    format!("db{db}: rehash step, bucket {first}, {moved} entries moved")
                } else {
                    format!("db{db}: rehash steps, buckets {first}..={last}, {moved} entries moved")
                }
            }
            EventKind::RehashFinished { db, size } => {
                format!("db{db}: rehash finished, table 0 has {size} buckets")
            }
            EventKind::EventsDropped { db, count } => {
                format!("db{db}: {count} events dropped before they were read")
            }
        }
    }
}

/// `ANATOMY BACKLOG`: the replication stream's numbering at one instant,
/// the backlog ring, and where each replica is in the stream. Offsets, not
/// bytes: the payload stays a few hundred bytes whatever the ring's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacklogSnapshot {
    pub version: u32,
    /// The history's id (`master_replid`).
    pub replid: String,
    /// Bytes of the stream produced so far (`master_repl_offset`).
    pub master_repl_offset: i64,
    /// False until the first replica attaches (then `size` etc. are 0).
    pub active: bool,
    /// The ring's size in bytes (`repl-backlog-size`).
    pub size: u64,
    /// Stream offset of the oldest byte held, and how many are held.
    pub first_byte_offset: i64,
    pub histlen: u64,
    /// Where in the ring the next byte goes (0..size).
    pub write_index: u64,
    pub replicas: Vec<ReplicaPosition>,
}

/// One attached replica, as `ANATOMY BACKLOG` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaPosition {
    /// Its client id (CLIENT LIST `id=`).
    pub client_id: u64,
    /// `ip:port` of its connection.
    pub addr: String,
    /// The port it serves clients on (`REPLCONF listening-port`), 0 if unknown.
    pub listening_port: u16,
    /// `wait_bgsave`, `send_bulk` or `online` (INFO's names).
    pub state: String,
    /// The offset its RDB stands for (fixed at the fork).
    pub initial_offset: i64,
    /// The offset it acknowledged last (`REPLCONF ACK`).
    pub ack_offset: i64,
    /// Stream bytes queued for it and not yet written to its socket.
    pub pending_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_list_maps_entries_to_strided_buckets() {
        let list = BucketList {
            sampling: BucketSampling::Sampled { stride: 256 },
            lengths: vec![1, 0, 2],
        };
        assert_eq!(list.bucket_index(2), 512);
        assert_eq!(BucketList::default().bucket_index(7), 7);
    }

    #[test]
    fn load_factor_of_an_unallocated_table_is_zero() {
        let t = TableSnapshot::default();
        assert_eq!(t.load_factor(), 0.0);
        let t = TableSnapshot {
            size: 8,
            used: 4,
            ..Default::default()
        };
        assert_eq!(t.load_factor(), 0.5);
    }
}
