//! # introspect: the window the visualizer looks through
//!
//! `anatomy-viz` shows what the server's data structures are doing while
//! the server runs: today, the keyspace dict's two tables and its
//! incremental rehash. It does not read the server's memory. It asks over
//! the ordinary protocol, ten times a second:
//!
//! - `ANATOMY DICT [key]`: a snapshot of one dict (the selected database's
//!   keyspace, or the dict inside a hash, set or sorted set): both tables'
//!   sizes and counts, `rehashidx`, and the chain length of every bucket,
//!   as JSON built from the `anatomy-viz-proto` types the viz shares.
//! - `ANATOMY EVENTS <since-seq>`: what happened since the viewer last
//!   looked: rehash started, steps with their bucket ranges, finished,
//!   table resized. Snapshots at 10 Hz miss the moments in between; the
//!   event log does not.
//!
//! Together with `DEBUG REHASH-STEP <n>` and `CONFIG SET activerehashing
//! no`, a student can freeze a rehash and advance it bucket by bucket.
//!
//! ## The invariants
//!
//! - **Read-only.** A snapshot changes no data, takes no rehash step,
//!   counts no keyspace hit or miss. (Looking up `key` with `Dict::get`
//!   also means a key that expired but was not yet removed is still shown:
//!   it is still in the table.)
//! - **Cheap and small, whatever the size.** A table is listed bucket by
//!   bucket only up to [`BUCKET_CAP`] buckets. A bigger table is *sampled*:
//!   every `size / BUCKET_CAP`-th bucket, and the snapshot says so
//!   (`BucketSampling::Sampled { stride }`). So a snapshot walks at most
//!   2 × 4096 chains, whatever the key count: well under a millisecond for
//!   a million keys, and under 64 KB of JSON.
//! - **Sequence numbers only grow**: one counter for snapshots, one for
//!   events. `EVENTS n` returns the events numbered above `n` that the
//!   bounded log still holds, and says `missed` when some already left it.
//!
//! ## Where the events come from
//!
//! The dict records its own events (`Dict::watch_rehashing`): it is the
//! only code that knows when a bucket moves. Nobody pays for that until a
//! viewer asks: the first `ANATOMY` call switches recording on for the
//! keyspace dict of every database, and every later call switches it on
//! again for a dict that a FLUSHALL replaced. Each call then drains the
//! dicts' buffers into this module's log, numbering the events as they
//! arrive. Recording stays on for the life of the process; its cost is a
//! push onto a small buffer per rehash call.
//!
//! ## The Redis C counterpart
//!
//! None. Redis's nearest tools are `DEBUG HTSTATS` / `HTSTATS-KEY`
//! (`dictGetStats` in `dict.c`: text histograms of chain lengths) and the
//! `keyspace` section of `INFO`. We keep the same read-only spirit with a
//! machine-readable answer.

use std::collections::VecDeque;

use anatomy_viz_proto::{
    BucketList, BucketSampling, DictSnapshot, DictSource, Event, EventBatch, EventKind,
    TableSnapshot, BUCKET_CAP, CHAIN_LEN_SATURATED, PROTO_VERSION,
};

use crate::dict::{Dict, RehashEvent};
use crate::server::Server;

/// Events the log keeps. At 10 polls a second, and with consecutive steps
/// merged inside the dict when they come fast, a viewer misses nothing
/// unless it stops polling.
pub const EVENT_LOG_CAP: usize = 1024;

/// The visualizer's state inside the server: counters and the event log.
#[derive(Debug, Default)]
pub struct Anatomy {
    /// Sequence number of the last snapshot built.
    snapshot_seq: u64,
    /// Sequence number of the last event logged.
    event_seq: u64,
    /// The newest [`EVENT_LOG_CAP`] events, oldest first.
    events: VecDeque<Event>,
}

impl Anatomy {
    fn log(&mut self, time_ms: i64, kind: EventKind) {
        if self.events.len() == EVENT_LOG_CAP {
            self.events.pop_front();
        }
        self.event_seq += 1;
        self.events.push_back(Event {
            seq: self.event_seq,
            time_ms,
            kind,
        });
    }

    /// The events numbered above `since`, oldest first.
    pub fn events_since(&self, since: u64) -> EventBatch {
        let oldest = self.events.front().map_or(self.event_seq + 1, |e| e.seq);
        EventBatch {
            version: PROTO_VERSION,
            last_seq: self.event_seq,
            // Events since+1 .. oldest-1 existed and are gone.
            missed: since.saturating_add(1) < oldest && since < self.event_seq,
            events: self
                .events
                .iter()
                .filter(|e| e.seq > since)
                .cloned()
                .collect(),
        }
    }
}

// ANCHOR: introspect_collect
/// Switches event recording on for every keyspace dict (idempotent) and
/// moves what they recorded into the server's numbered log. Called at the
/// start of every `ANATOMY` request.
pub fn collect_events(server: &mut Server, now_ms: i64) {
    let Server { dbs, anatomy, .. } = server;
    for db in dbs.iter_mut() {
        let id = db.id as u32;
        db.dict.watch_rehashing();
        let dropped = db
            .dict
            .drain_rehash_events(|event| anatomy.log(now_ms, event_kind(id, event)));
        if dropped > 0 {
            anatomy.log(
                now_ms,
                EventKind::EventsDropped {
                    db: id,
                    count: dropped,
                },
            );
        }
    }
}
// ANCHOR_END: introspect_collect

/// The dict's event, in the protocol's terms.
fn event_kind(db: u32, event: RehashEvent) -> EventKind {
    let n = |x: usize| x as u64;
    match event {
        RehashEvent::TableResized { from, to } => EventKind::TableResized {
            db,
            from: n(from),
            to: n(to),
        },
        RehashEvent::RehashStarted { from, to } => EventKind::RehashStarted {
            db,
            from: n(from),
            to: n(to),
        },
        RehashEvent::RehashStep { first, last, moved } => EventKind::RehashStep {
            db,
            first: n(first),
            last: n(last),
            moved: n(moved),
        },
        RehashEvent::RehashFinished { size } => EventKind::RehashFinished { db, size: n(size) },
    }
}

// ANCHOR: introspect_snapshot
/// A snapshot of `dict`: both tables and `rehashidx`. Numbers it with the
/// server's next snapshot sequence.
pub fn dict_snapshot<K, V>(
    anatomy: &mut Anatomy,
    dict: &Dict<K, V>,
    source: DictSource,
    active_rehashing: bool,
    now_ms: i64,
) -> DictSnapshot {
    anatomy.snapshot_seq += 1;
    DictSnapshot {
        version: PROTO_VERSION,
        seq: anatomy.snapshot_seq,
        event_seq: anatomy.event_seq,
        time_ms: now_ms,
        source,
        rehash_index: dict.rehash_index().map(|i| i as u64),
        active_rehashing,
        rehash_paused: dict.is_rehashing_paused(),
        tables: [table_snapshot(dict, 0), table_snapshot(dict, 1)],
    }
}

/// One table: every bucket's chain length up to [`BUCKET_CAP`] buckets,
/// else every `stride`-th bucket. Sizes are powers of two, so the stride
/// is too and the sample has exactly `BUCKET_CAP` entries.
fn table_snapshot<K, V>(dict: &Dict<K, V>, t: usize) -> TableSnapshot {
    let size = dict.table_size(t);
    let stride = if size <= BUCKET_CAP {
        1
    } else {
        size / BUCKET_CAP
    };
    let lengths = (0..size)
        .step_by(stride)
        .map(|b| dict.chain_length(t, b).min(CHAIN_LEN_SATURATED as usize) as u8)
        .collect();
    TableSnapshot {
        size: size as u64,
        used: dict.table_used(t) as u64,
        buckets: BucketList {
            sampling: if stride == 1 {
                BucketSampling::All
            } else {
                BucketSampling::Sampled {
                    stride: stride as u64,
                }
            },
            lengths,
        },
    }
}
// ANCHOR_END: introspect_snapshot

/// Encodes a protocol value as the JSON text `ANATOMY` replies with.
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail: no maps with non-string
    // keys, no custom serialisers.
    serde_json::to_vec(value).expect("protocol types serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_table_lists_every_bucket_and_a_large_one_is_sampled() {
        let mut anatomy = Anatomy::default();
        let mut d: Dict<Vec<u8>, ()> = Dict::new();
        for i in 0..10u32 {
            d.insert(i.to_be_bytes().to_vec(), ());
        }
        let snap = dict_snapshot(&mut anatomy, &d, DictSource::Keyspace { db: 0 }, true, 0);
        let t0 = &snap.tables[0];
        assert_eq!(t0.buckets.sampling, BucketSampling::All);
        assert_eq!(t0.buckets.lengths.len() as u64, t0.size);
        let listed: u64 = snap
            .tables
            .iter()
            .flat_map(|t| t.buckets.lengths.iter())
            .map(|&l| l as u64)
            .sum();
        assert_eq!(listed, 10, "every key is in exactly one listed chain");

        let mut big: Dict<Vec<u8>, ()> = Dict::new();
        big.expand(BUCKET_CAP * 4).unwrap();
        for i in 0..(BUCKET_CAP * 4) as u32 {
            big.insert(i.to_be_bytes().to_vec(), ());
        }
        let snap = dict_snapshot(&mut anatomy, &big, DictSource::Keyspace { db: 0 }, true, 0);
        assert_eq!(snap.seq, 2);
        let t0 = &snap.tables[0];
        assert_eq!(
            t0.buckets.sampling,
            BucketSampling::Sampled { stride: 4 },
            "16384 buckets are sent as every 4th"
        );
        assert_eq!(t0.buckets.lengths.len(), BUCKET_CAP);
        assert_eq!(t0.buckets.lengths[3], big.chain_length(0, 12) as u8);
    }

    #[test]
    fn events_since_returns_only_newer_events_and_reports_what_left_the_log() {
        let mut anatomy = Anatomy::default();
        assert!(!anatomy.events_since(0).missed, "nothing happened yet");
        for size in 0..(EVENT_LOG_CAP as u64 + 5) {
            anatomy.log(
                0,
                EventKind::RehashFinished {
                    db: 0,
                    size: size + 1,
                },
            );
        }
        let newest = anatomy.events_since(EVENT_LOG_CAP as u64 + 2);
        assert!(!newest.missed);
        assert_eq!(
            newest.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [
                EVENT_LOG_CAP as u64 + 3,
                EVENT_LOG_CAP as u64 + 4,
                EVENT_LOG_CAP as u64 + 5
            ]
        );
        let stale = anatomy.events_since(2);
        assert!(stale.missed, "events 3..=5 were pushed out");
        assert_eq!(stale.events.len(), EVENT_LOG_CAP);
        assert!(
            !anatomy.events_since(5).missed,
            "event 6 is the oldest kept"
        );
    }
}
