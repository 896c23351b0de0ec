//! # dict: the hash table under every key
//!
//! Every key you `SET` lives in one of these. Each database's keyspace is a
//! `Dict` from key to value, its expires table is a second `Dict` from the
//! same keys to deadlines, and big hashes, sets and sorted sets are dicts too.
//! This module is Redis's `src/dict.c`, rewritten in Rust to be read.
//!
//! ## The idea
//!
//! At heart this is a textbook chained hash table. An array of *buckets*
//! whose length is a power of two; a key goes to bucket
//! `hash(key) & (size - 1)`; keys that land in the same bucket form a singly
//! linked *chain*. What is unusual is **how it grows**.
//!
//! When a `std::collections::HashMap` fills up, it allocates a bigger array
//! and moves every element across before the insert returns. With ten
//! million keys that one insert takes a noticeable fraction of a second. In
//! Redis every command runs on one thread, so during that pause *every*
//! client waits. Redis therefore keeps **two tables**. When table 0 fills
//! up, Redis allocates table 1 and moves the old table across one bucket at
//! a time: one bucket whenever a command looks up, adds or deletes a key,
//! plus batches for 1 ms at a time from `serverCron` while the server is
//! idle. This is *incremental rehashing*. Growing still costs the same total
//! work, but it is spread over thousands of commands and no single command
//! pays for all of it.
//!
//! ```text
//!               rehashidx = 2: buckets 0 and 1 are already moved
//!                     |
//!   tables[0]         v                    tables[1]
//!   size 4  [ . | . | c | d ]              size 8  [ a | . | . | b | . | e | . | f ]
//!                     |                              |
//!                     g                              h <- new keys always go here
//!
//!   lookup(k): look in tables[0] at hash & 3, then in tables[1] at hash & 7
//! ```
//!
//! ## Invariants (what every method may assume, and must keep)
//!
//! 1. A table's size is 0 (not allocated) or a power of two, at least
//!    [`INITIAL_SIZE`] = 4. So `hash & (size - 1)` is a bucket index, and
//!    growing from 8 to 16 splits bucket `b` into exactly `b` and `b + 8`.
//!    SCAN relies on this.
//! 2. Not rehashing (`rehashidx == -1`) means table 1 is not allocated:
//!    size 0, used 0. Everything is in table 0.
//! 3. While rehashing, **every bucket of table 0 below `rehashidx` is
//!    empty**: those have been moved. Random sampling uses this to skip
//!    them. Also `rehashidx < size of table 0`: a rehash that empties
//!    table 0 ends at once.
//! 4. While rehashing, new keys go into table 1 only. Table 0 can only
//!    lose keys, so the rehash always finishes.
//! 5. A key is in at most one table. Every entry sits in the bucket that its
//!    hash names in the table it is in. `tables[0].used + tables[1].used == len()`.
//!
//! ## When the table grows, and when it shrinks
//!
//! *Growing* is automatic (see `expand_if_needed`). When table 0 holds as
//! many keys as it has buckets (load factor 1), the next add allocates a
//! table of the next power of two `>= used + 1`, so the 5th key turns 4
//! buckets into 8. There is one exception. While a child process is saving
//! (`BGSAVE`, `BGREWRITEAOF`), the server calls
//! [`set_resize_allowed(false)`](set_resize_allowed). The child shares the
//! parent's memory pages copy-on-write. Moving entries between tables writes
//! to those pages, so the kernel would copy them and memory use would
//! spike. So while resizing is disallowed, a table only grows once it is
//! badly overloaded: more than [`FORCE_RESIZE_RATIO`] = 5 keys per bucket.
//!
//! *Shrinking* is never automatic inside the dict. The owner asks
//! [`Dict::needs_shrink`] (fewer than 10% of buckets in use: `server.c`'s
//! `htNeedsResize`) and then calls [`Dict::shrink_to_fit`] (`dictResize`).
//! `serverCron` does this for the keyspace and expires tables. The hash,
//! set and zset commands do it after deleting fields.
//!
//! ## Hashing
//!
//! A key's bucket comes from SipHash, keyed with a random seed chosen once
//! per process (Redis: `dict_hash_function_seed`, `siphash.c`). The random
//! key is what matters. Hash tables are vulnerable to *hash flooding*: with
//! a known hash function, an attacker sends keys that all land in one
//! bucket, so every operation walks one huge chain and the server slows to
//! a crawl. Without the seed, nobody can predict which keys collide. We use
//! std's `RandomState`, which is SipHash-1-3. Redis uses SipHash-1-2, a
//! variant with fewer rounds that is a bit faster and, its authors judged,
//! strong enough for this job. So our bucket positions, and therefore our
//! SCAN cursors, differ from a real Redis's. They differ between two runs
//! of the same Redis too. The hash is not stored in the entry. Rehashing
//! recomputes it for every moved key, which saves 8 bytes per key; Redis
//! makes the same trade.
//!
//! ## The Redis C counterpart (src/dict.c, Redis 7.0)
//!
//! | Redis                          | here                                         |
//! |--------------------------------|----------------------------------------------|
//! | `dict`, `ht_table`, `ht_used`, `rehashidx`, `pauserehash` | [`Dict`] and its fields    |
//! | `dictRehash`                   | [`Dict::rehash`]                             |
//! | `_dictRehashStep`              | `Dict::rehash_step`                          |
//! | `dictRehashMilliseconds`       | [`Dict::rehash_for`]                         |
//! | `_dictExpandIfNeeded`, `dictExpand` | `Dict::expand_if_needed`, [`Dict::expand`] |
//! | `dictResize`, `htNeedsResize` (server.c) | [`Dict::shrink_to_fit`], [`Dict::needs_shrink`] |
//! | `dictAdd`, `dictReplace`, `dictAddOrFind` | [`Dict::try_insert`], [`Dict::insert`], [`Dict::get_or_insert_with`] |
//! | `dictFind`, `dictDelete`/`dictUnlink`, `dictEmpty` | [`Dict::get_mut`], [`Dict::remove`], [`Dict::clear`] |
//! | `dictGetRandomKey`, `dictGetFairRandomKey`, `dictGetSomeKeys` | [`Dict::random_entry`], [`Dict::fair_random_entry`], [`Dict::sample_entries`] |
//! | `dictScan`                     | [`Dict::scan`]                               |
//! | `dictGetIterator` / `dictGetSafeIterator` | [`Dict::iter`] / [`Dict::safe_iter`] |
//! | `dictGetStats`                 | [`Dict::stats`]                              |
//!
//! ## What we simplified, and why
//!
//! - **No `dictType` callbacks.** In C, each dict carries function pointers
//!   to hash, compare, duplicate and free its keys and values. Here the key
//!   type implements `Borrow<[u8]>`, which gives us bytes to hash and
//!   compare. Rust's `Drop` frees keys and values when their entry goes
//!   away. Redis's `expandAllowed` hook (refuse a huge allocation near
//!   `maxmemory`) is left out.
//! - **No value union, no entry metadata.** A C `dictEntry` stores its value
//!   as a union of pointer, `u64`, `i64` and `double`, so that a zset's
//!   score can live inline. A generic `V` gives us the same thing with type
//!   checking: a zset's dict is simply a `Dict<Sds, f64>`. Redis 7.0's
//!   per-entry metadata (cluster mode's slot-to-keys links) is left for the
//!   cluster chapter to solve its own way.
//! - **The borrow checker replaces the unsafe-iterator fingerprint.** See
//!   [`Dict::iter`] and [`Dict::safe_iter`].
//! - **The resize switch is per thread, not per process.** Our server keeps
//!   all its data on one thread, so for the server this is the same thing.
//!   It also means tests that run in parallel cannot flip it for each other.
//! - **[`Dict::rehash`] itself honours the pause counter.** In Redis only
//!   its callers check `pauserehash`. Checking in one place means no caller
//!   can forget.
//! - **[`Dict::clear`] keeps the pause counter.** Redis's `dictEmpty`
//!   resets it to 0. A live safe cursor then simply finds nothing more and
//!   releases its pause as usual.
//! - **Allocation failure aborts**, as everywhere in Rust. There is no
//!   `dictTryExpand`.
//! - Our reference is Redis 7.0.15, whose dict.c changed in 7.0.12 in three
//!   ways. We print the stats of an empty table with its header line, as
//!   7.0.15 does; we keep 7.0.0's `dictGetSomeKeys`, without the reservoir
//!   sampling of the last chain (exercise 3), and its boolean resize
//!   switch, where 7.0.12's "forbid" state also stops rehash steps in the
//!   child process. `DEBUG HTSTATS ... full`
//!   (the `full` flag of [`Dict::stats`]) came in Redis 7.2.
//!
//! ## Watching a rehash
//!
//! The visualizer (`anatomy-viz`, through `ANATOMY EVENTS` in
//! `introspect.rs`) shows every resize and rehash step of the keyspace as
//! it happens. Redis has nothing like it, so this is our one addition to
//! the structure: an opt-in event buffer, [`Dict::watch_rehashing`]. An
//! unwatched dict (every hash, set and zset, and the keyspace until a
//! viewer connects) pays one test of an `Option` per resize and per
//! [`Dict::rehash`] call, nothing per lookup. A watched dict records a
//! [`RehashEvent`] when a table is allocated, replaced or freed, when a
//! rehash starts and ends, and once per `rehash` call with the range of
//! buckets it emptied. The buffer is bounded: when the server does not
//! drain it in time, consecutive steps merge into one event (they are
//! contiguous, so only granularity is lost) and other events push out the
//! oldest, which is counted.
//!
//! ## Exercises
//!
//! 1. Store each key's 64-bit hash in its entry. What does rehashing save,
//!    what does every key cost, and when is the trade worth it? (Measure
//!    with [`Dict::mem_usage_estimate`] and a timed [`Dict::rehash_for`].)
//! 2. [`Dict::get`] never performs a rehash step, but [`Dict::get_mut`]
//!    does. Why can't `get` take a step? What would a server serving only
//!    reads do to a table that is halfway through a rehash, and what stops
//!    that from lasting forever?
//! 3. [`Dict::sample_entries`] stops halfway through a chain once it has
//!    `count` entries, so keys near the tail of a long chain are sampled
//!    less often. Change it to keep reading the chain and use reservoir
//!    sampling (this is what Redis 7.0.12 does), then write a test that
//!    shows the difference.
//! 4. Draw the SCAN cursor sequence for a table that shrinks from 16 to 4
//!    buckets after three calls. Which keys can be returned twice?

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Buckets in a freshly allocated table (Redis: `DICT_HT_INITIAL_SIZE`).
/// No table is ever smaller.
pub const INITIAL_SIZE: usize = 4;

/// While resizing is disallowed, a table still grows once `used / size`
/// (integer division) exceeds this (Redis: `dict_force_resize_ratio`).
pub const FORCE_RESIZE_RATIO: usize = 5;

/// A table with more than [`INITIAL_SIZE`] buckets is worth shrinking once
/// fewer than this percentage of its buckets are in use (Redis:
/// `HASHTABLE_MIN_FILL` in server.h).
pub const MIN_FILL_PERCENT: usize = 10;

/// One rehash step may skip this many empty buckets per bucket it was asked
/// to move before giving up (Redis: the `n*10` in `dictRehash`).
const EMPTY_VISITS_PER_STEP: usize = 10;

/// Buckets per batch in [`Dict::rehash_for`]: the clock is read once per batch.
const REHASH_BATCH: usize = 100;

/// How many entries [`Dict::fair_random_entry`] samples (Redis: `GETFAIR_NUM_ENTRIES`).
const FAIR_SAMPLE: usize = 15;

/// Chain lengths counted separately by [`Dict::stats`] (Redis: `DICT_STATS_VECTLEN`).
const STATS_VECTLEN: usize = 50;

// ---------------------------------------------------------------------------
// Hashing, the resize switch, and a little randomness
// ---------------------------------------------------------------------------

/// The process-wide SipHash key, chosen at random on first use.
static HASH_SEED: OnceLock<RandomState> = OnceLock::new();

/// Hashes a key: SipHash with the process's random seed (std's
/// `RandomState`, currently SipHash-1-3; std reserves the right to change
/// the algorithm, and nothing here depends on which it is). The same
/// bytes give the same hash for the life of the process (a forked child
/// inherits the seed). They give a different hash in the next process.
pub fn hash_bytes(key: &[u8]) -> u64 {
    HASH_SEED.get_or_init(RandomState::new).hash_one(key)
}

thread_local! {
    /// Redis's `dict_can_resize`. See [`set_resize_allowed`].
    static RESIZE_ALLOWED: Cell<bool> = const { Cell::new(true) };

    /// State of the small generator behind random sampling.
    static RNG_STATE: Cell<u64> = Cell::new(
        RandomState::new().hash_one(0x5eed_u64),
    );
}

/// Allows or disallows resizing for every dict on this thread (Redis:
/// `dictEnableResize` / `dictDisableResize`, called from
/// `updateDictResizePolicy`).
///
/// The server turns resizing off while a fork child is writing an RDB or
/// rewriting the AOF, and back on when the child exits. While it is off:
/// - tables do not grow at load factor 1, only past [`FORCE_RESIZE_RATIO`];
/// - [`Dict::shrink_to_fit`] refuses.
///
/// A rehash that is already running goes on. (Redis 7.0.12 stops that too.)
pub fn set_resize_allowed(allowed: bool) {
    RESIZE_ALLOWED.with(|flag| flag.set(allowed));
}

/// Whether dicts on this thread may resize. See [`set_resize_allowed`].
pub fn resize_allowed() -> bool {
    RESIZE_ALLOWED.with(Cell::get)
}

/// A fast, non-cryptographic random number (SplitMix64). Redis uses a
/// Mersenne Twister here. All we need is to spread picks evenly over the
/// buckets.
fn random_u64() -> u64 {
    RNG_STATE.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A random index below `n` (`n > 0`). The modulo bias is at most
/// `n / 2^64`, far too small to matter here.
fn random_below(n: usize) -> usize {
    (random_u64() % n as u64) as usize
}

/// The bytes of a key. The key type may also implement `Borrow<K>` (every
/// type does), so `key.borrow()` alone would be ambiguous.
fn key_bytes<K: Borrow<[u8]>>(key: &K) -> &[u8] {
    key.borrow()
}

// ---------------------------------------------------------------------------
// The data structure
// ---------------------------------------------------------------------------

// ANCHOR: dict_struct
/// One key-value pair, plus the link to the next entry in its bucket's chain
/// (Redis: `dictEntry`).
struct Entry<K, V> {
    key: K,
    value: V,
    /// The next entry in the same bucket, or `None` at the end of the chain.
    /// New entries are pushed at the head: Redis assumes that a recently
    /// added key is more likely to be used soon.
    next: Link<K, V>,
}

/// A bucket head or a `next` pointer: an owned chain, possibly empty.
type Link<K, V> = Option<Box<Entry<K, V>>>;

/// One of the two hash tables.
struct Table<K, V> {
    /// Heads of the bucket chains. The length is 0 (not allocated) or a
    /// power of two, so `hash & (len - 1)` picks a bucket. Redis stores
    /// the exponent (`ht_size_exp`); we ask the `Vec` for its length.
    buckets: Vec<Link<K, V>>,
    /// How many entries this table holds (Redis: `ht_used`). Counted so
    /// that `len()` and the load factor cost O(1), not a walk.
    used: usize,
}

/// Redis's hash table: two tables, incremental rehashing and the SCAN cursor.
/// Keys are byte strings: any `K: Borrow<[u8]>`, looked up by `&[u8]`.
pub struct Dict<K, V> {
    /// `tables[0]` is the table in use. `tables[1]` is allocated only while
    /// rehashing: it is the new, resized table that `tables[0]` is being
    /// moved into, one bucket at a time. When the move is done it becomes
    /// `tables[0]`.
    tables: [Table<K, V>; 2],
    /// Redis's `rehashidx`. -1 when not rehashing. Otherwise, the next
    /// bucket of `tables[0]` to move: every bucket below it is already
    /// empty. Kept as Redis has it so it can be shown as-is; the public
    /// view is [`Dict::rehash_index`].
    rehashidx: i64,
    /// Redis's `pauserehash`: while above zero, no rehash step runs. This is
    /// not a bool but a counter, because pauses nest (two safe cursors at
    /// once). Safe cursors raise it for as long as they live, so entries
    /// do not move between tables under them.
    rehash_pauses: u32,
    /// Where resize and rehash events are written while someone watches
    /// (the visualizer, for the keyspace dicts); `None` otherwise. Not part
    /// of Redis: see "Watching a rehash" in the module notes.
    rehash_log: Option<Box<RehashLog>>,
}
// ANCHOR_END: dict_struct

// ANCHOR: dict_rehash_log
/// Something the rehash machinery did, recorded for a watcher. Bucket
/// indexes are table 0's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RehashEvent {
    /// Table 0 was replaced: allocated by the first insert (`from` 0),
    /// taken over from table 1 at the end of a rehash, or freed (`to` 0).
    TableResized { from: usize, to: usize },
    /// Table 1 was allocated with `to` buckets; `rehashidx` is now 0.
    RehashStarted { from: usize, to: usize },
    /// Buckets `first..=last` of table 0 were visited and emptied,
    /// moving `moved` entries to table 1.
    RehashStep {
        first: usize,
        last: usize,
        moved: usize,
    },
    /// Table 0 is empty and table 1 took its place (a `TableResized`
    /// follows).
    RehashFinished { size: usize },
}

/// The opt-in event buffer behind [`Dict::watch_rehashing`]. Bounded: when
/// nobody drains it, a new step merges into the step before it (rehash
/// steps are contiguous, so the merge loses only granularity), and any
/// other event pushes the oldest out and is counted in `dropped`.
#[derive(Debug, Default)]
struct RehashLog {
    events: std::collections::VecDeque<RehashEvent>,
    dropped: u64,
}

/// Events a watched dict buffers before merging or dropping.
const REHASH_LOG_CAP: usize = 256;

impl RehashLog {
    fn push(&mut self, event: RehashEvent) {
        if self.events.len() >= REHASH_LOG_CAP {
            if let (
                Some(RehashEvent::RehashStep { last, moved, .. }),
                RehashEvent::RehashStep {
                    last: new_last,
                    moved: new_moved,
                    ..
                },
            ) = (self.events.back_mut(), event)
            {
                *last = new_last;
                *moved += new_moved;
                return;
            }
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }
}
// ANCHOR_END: dict_rehash_log

/// Where an entry sits: table, bucket, and how many links from the head of
/// the chain. Used by the visualizer to highlight a key, and internally to
/// find an entry once with a shared borrow and then fetch it mutably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0 or 1.
    pub table: usize,
    /// Bucket index in that table: `hash & (table size - 1)`.
    pub bucket: usize,
    /// 0 for the head of the chain.
    pub depth: usize,
}

/// Why [`Dict::expand`] did nothing. Every case
/// leaves the dict unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandError {
    /// A rehash is already running. There are only two tables, so a new
    /// resize has to wait until it ends.
    Rehashing,
    /// The requested size is below the number of elements in table 0.
    SmallerThanUsed,
    /// The size rounds to the size table 0 already has: moving every key
    /// to an identical table would be pointless.
    SameSize,
    /// The bucket array's size in bytes would overflow `isize`.
    TooLarge,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExpandError::Rehashing => "a rehash is already in progress",
            ExpandError::SmallerThanUsed => "requested size is smaller than the number of elements",
            ExpandError::SameSize => "table already has that size",
            ExpandError::TooLarge => "requested size is too large",
        })
    }
}

impl std::error::Error for ExpandError {}

impl<K, V> Table<K, V> {
    fn with_size(size: usize) -> Self {
        let mut buckets = Vec::with_capacity(size);
        buckets.resize_with(size, || None);
        Table { buckets, used: 0 }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// `size - 1`: all ones below the size's single bit. `hash & mask` is
    /// the bucket. Only called on an allocated table.
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }
}

impl<K, V> Drop for Table<K, V> {
    /// Frees the chains in a loop. The compiler's own drop would recurse
    /// once per link (each `Box` drops its `next`), and a long enough chain
    /// would overflow the stack. Normal chains are short, but a table that
    /// could not grow (rehashing paused, resizing disallowed) can build
    /// long ones.
    fn drop(&mut self) {
        for bucket in &mut self.buckets {
            let mut chain = bucket.take();
            while let Some(mut entry) = chain {
                chain = entry.next.take();
            }
        }
    }
}

/// Next power of two `>= size`, at least [`INITIAL_SIZE`] (Redis:
/// `_dictNextExp`). `None` if the bucket array could not be allocated.
fn table_size_for<K, V>(size: usize) -> Option<usize> {
    let new_size = size.max(INITIAL_SIZE).checked_next_power_of_two()?;
    let bytes = new_size.checked_mul(std::mem::size_of::<Link<K, V>>())?;
    (bytes <= isize::MAX as usize).then_some(new_size)
}

// ---------------------------------------------------------------------------
// Size, shape and the rehash machinery
// ---------------------------------------------------------------------------

impl<K, V> Dict<K, V> {
    /// An empty dict. It allocates nothing: the first insert creates a table
    /// of [`INITIAL_SIZE`] buckets.
    pub fn new() -> Self {
        Dict {
            tables: [Table::default(), Table::default()],
            rehashidx: -1,
            rehash_pauses: 0,
            rehash_log: None,
        }
    }

    /// Number of entries in both tables (Redis: `dictSize`).
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether entries are being moved from table 0 to table 1.
    pub fn is_rehashing(&self) -> bool {
        self.rehashidx != -1
    }

    /// Redis's `rehashidx`: the next bucket of table 0 to move, or `None`
    /// when not rehashing.
    pub fn rehash_index(&self) -> Option<usize> {
        usize::try_from(self.rehashidx).ok()
    }

    /// Buckets in table `t` (0 or 1). 0 means not allocated.
    pub fn table_size(&self, t: usize) -> usize {
        self.tables[t].size()
    }

    /// Entries in table `t` (0 or 1).
    pub fn table_used(&self, t: usize) -> usize {
        self.tables[t].used
    }

    /// Stops rehash steps until a matching [`Dict::resume_rehashing`]. Calls nest.
    pub fn pause_rehashing(&mut self) {
        self.rehash_pauses += 1;
    }

    /// Undoes one [`Dict::pause_rehashing`].
    ///
    /// # Panics
    /// If rehashing is not paused: an unmatched resume is a bug in the caller.
    /// Redis treats it the same way ("<0 indicates coding error").
    pub fn resume_rehashing(&mut self) {
        assert!(
            self.rehash_pauses > 0,
            "resume_rehashing without pause_rehashing"
        );
        self.rehash_pauses -= 1;
    }

    /// Whether at least one pause is in force.
    pub fn is_rehashing_paused(&self) -> bool {
        self.rehash_pauses > 0
    }

    /// Whether the dict holds so few entries for its buckets that
    /// [`Dict::shrink_to_fit`] is worth it: more than [`INITIAL_SIZE`]
    /// buckets in total, fewer than [`MIN_FILL_PERCENT`]% of them used
    /// (server.c's `htNeedsResize`). Like Redis, it counts the buckets of
    /// both tables.
    pub fn needs_shrink(&self) -> bool {
        let buckets = self.tables[0].size() + self.tables[1].size();
        buckets > INITIAL_SIZE && self.len() * 100 / buckets < MIN_FILL_PERCENT
    }

    /// Empties the dict and frees both tables (Redis: `dictEmpty`). The
    /// next insert starts again from [`INITIAL_SIZE`] buckets. The pause
    /// counter is kept; see the module notes.
    pub fn clear(&mut self) {
        let from = self.tables[0].size();
        self.tables = [Table::default(), Table::default()];
        self.rehashidx = -1;
        if from != 0 {
            self.record(RehashEvent::TableResized { from, to: 0 });
        }
    }

    /// Starts recording resize and rehash events, for
    /// [`Dict::drain_rehash_events`]. Idempotent. Until this is called
    /// (and after [`Dict::unwatch_rehashing`]) recording costs one branch.
    pub fn watch_rehashing(&mut self) {
        if self.rehash_log.is_none() {
            self.rehash_log = Some(Box::default());
        }
    }

    /// Stops recording and forgets undrained events.
    pub fn unwatch_rehashing(&mut self) {
        self.rehash_log = None;
    }

    pub fn is_watching_rehashing(&self) -> bool {
        self.rehash_log.is_some()
    }

    /// Hands every recorded event to `f`, oldest first, and empties the
    /// buffer. Returns how many events were dropped (buffer full) since the
    /// last drain. Does nothing if the dict is not watched.
    pub fn drain_rehash_events(&mut self, mut f: impl FnMut(RehashEvent)) -> u64 {
        let Some(log) = self.rehash_log.as_mut() else {
            return 0;
        };
        log.events.drain(..).for_each(&mut f);
        std::mem::take(&mut log.dropped)
    }

    /// Records `event` if someone watches. Marked cold-path friendly: the
    /// unwatched case is a single test of the `Option`.
    #[inline]
    fn record(&mut self, event: RehashEvent) {
        if let Some(log) = self.rehash_log.as_mut() {
            log.push(event);
        }
    }

    /// Length of every bucket's chain in table `t`, in bucket order: what
    /// the visualizer draws. Empty if the table is not allocated.
    pub fn chain_lengths(&self, t: usize) -> Vec<usize> {
        self.tables[t]
            .buckets
            .iter()
            .map(|head| chain_len(head))
            .collect()
    }

    /// Length of one bucket's chain. Lets a viewer fetch just the range of
    /// a large table it shows. 0 when the bucket does not exist.
    pub fn chain_length(&self, t: usize, bucket: usize) -> usize {
        self.tables[t].buckets.get(bucket).map_or(0, chain_len)
    }

    /// A rough count of the bytes this dict uses: the `Dict` itself, both
    /// bucket arrays and one boxed entry per element. The allocator's own
    /// overhead is not counted, and neither is heap memory owned by keys
    /// and values (the bytes of an `Sds`, say): the caller adds those.
    pub fn mem_usage_estimate(&self) -> usize {
        let buckets = self.tables[0].size() + self.tables[1].size();
        std::mem::size_of::<Self>()
            + buckets * std::mem::size_of::<Link<K, V>>()
            + self.len() * std::mem::size_of::<Entry<K, V>>()
    }

    /// Iterates over all entries: table 0 bucket by bucket, then table 1
    /// (Redis: `dictGetIterator`). No rehash step, no allocation.
    ///
    /// Redis's *unsafe* iterator records a fingerprint of the dict (table
    /// pointers, sizes and counts) when it starts, and asserts at the end
    /// that it has not changed. Any add, delete or rehash step during the
    /// iteration would have moved entries under the iterator, so this
    /// catches the bug, after the fact, in production. Here the iterator
    /// borrows the dict immutably, so any `&mut self` method called while it
    /// lives is a *compile* error. [`Dict::get`] is still fine, because it
    /// takes no rehash step.
    pub fn iter(&self) -> Iter<'_, K, V> {
        let [t0, t1] = &self.tables;
        Iter {
            buckets: t0.buckets.iter().chain(t1.buckets.iter()),
            chain: None,
            remaining: self.len(),
        }
    }

    /// Like [`Dict::iter`] with mutable values. Keys stay immutable: a key
    /// changed in place would no longer match the bucket it sits in.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let remaining = self.len();
        let [t0, t1] = &mut self.tables;
        IterMut {
            buckets: t0.buckets.iter_mut().chain(t1.buckets.iter_mut()),
            chain: None,
            remaining,
        }
    }

    /// The entry at `pos`, which must name one (it came from `locate` or
    /// a sample taken since the last change).
    fn entry_ref(&self, pos: Position) -> &Entry<K, V> {
        let mut entry = self.tables[pos.table].buckets[pos.bucket]
            .as_deref()
            .expect("position names an entry");
        for _ in 0..pos.depth {
            entry = entry.next.as_deref().expect("position names an entry");
        }
        entry
    }

    /// Mutable twin of `entry_ref`.
    //
    // Why look an entry up in two passes (`locate` with a shared borrow,
    // then this)? A function that returns a mutable borrow found in a loop,
    // and otherwise goes on to use `self` again, is rejected by today's
    // borrow checker even though it is sound (the famous "NLL problem case
    // #3"). Walking `depth` links a second time is cheap: chains are short.
    fn entry_mut(&mut self, pos: Position) -> &mut Entry<K, V> {
        let mut entry = self.tables[pos.table].buckets[pos.bucket]
            .as_deref_mut()
            .expect("position names an entry");
        for _ in 0..pos.depth {
            entry = entry.next.as_deref_mut().expect("position names an entry");
        }
        entry
    }
}

fn chain_len<K, V>(head: &Link<K, V>) -> usize {
    let mut len = 0;
    let mut cur = head.as_deref();
    while let Some(entry) = cur {
        len += 1;
        cur = entry.next.as_deref();
    }
    len
}

impl<K, V> Default for Dict<K, V> {
    fn default() -> Self {
        Dict::new()
    }
}

/// A copy with the same contents (COPY of a hash, set or sorted set). It
/// is built by inserting every entry into a fresh dict sized for them, so
/// the copy is never in the middle of a rehash, whatever the original was.
impl<K: Borrow<[u8]> + Clone, V: Clone> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        let mut copy = Dict::new();
        if !self.is_empty() {
            let _ = copy.expand(self.len());
        }
        for (k, v) in self.iter() {
            copy.insert(k.clone(), v.clone());
        }
        copy
    }
}

impl<K: Borrow<[u8]>, V> Dict<K, V> {
    // ANCHOR: rehash
    /// Moves up to `n` non-empty buckets from table 0 to table 1. Returns
    /// `true` if entries remain to move, `false` when the rehash is over (or
    /// there was none). The step gives up early, returning `true`, after
    /// skipping `n * 10` empty buckets. When table 0 has emptied, table 1
    /// becomes table 0.
    ///
    /// While rehashing is paused this moves nothing and returns `true`.
    pub fn rehash(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        if self.rehash_pauses > 0 {
            return true;
        }
        // Why bound the empty buckets? A step runs inside an ordinary GET,
        // so its work needs a bound that does not depend on the shape of
        // the table. Consider a table of a million buckets, emptied by deletions
        // down to its last few keys and now being shrunk. Without a bound,
        // one step could scan a million empty buckets to find a key, and
        // that GET would stall every client. With the bound a step touches
        // at most n non-empty buckets (their chains) plus n * 10 empty ones,
        // then returns; the next step continues from `rehashidx`.
        let first = self.rehashidx as usize;
        let used_before = self.tables[0].used;
        let mut empty_visits = n.saturating_mul(EMPTY_VISITS_PER_STEP);
        let mut budget = n;
        while budget > 0 && self.tables[0].used != 0 {
            budget -= 1;
            // table 0 still holds entries, and all buckets below rehashidx
            // are empty, so a non-empty bucket lies ahead: the index stays
            // in range.
            let mut idx = self.rehashidx as usize;
            while self.tables[0].buckets[idx].is_none() {
                idx += 1;
                self.rehashidx = idx as i64;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.record_step(first, used_before);
                    return true;
                }
            }
            self.move_bucket(idx);
            self.rehashidx = idx as i64 + 1;
        }
        self.record_step(first, used_before);
        if self.tables[0].used == 0 {
            // Everything has moved: the new table takes over, and the old
            // bucket array is freed right here.
            let from = self.tables[0].size();
            self.tables[0] = std::mem::take(&mut self.tables[1]);
            self.rehashidx = -1;
            let size = self.tables[0].size();
            self.record(RehashEvent::RehashFinished { size });
            self.record(RehashEvent::TableResized { from, to: size });
            return false;
        }
        true
    }

    /// Records the buckets one [`Dict::rehash`] call went through:
    /// `first` up to the one before `rehashidx`.
    #[inline]
    fn record_step(&mut self, first: usize, used_before: usize) {
        if self.rehash_log.is_some() && self.rehashidx as usize > first {
            let moved = used_before - self.tables[0].used;
            let last = self.rehashidx as usize - 1;
            self.record(RehashEvent::RehashStep { first, last, moved });
        }
    }

    /// Moves every entry of bucket `idx` of table 0 to wherever its hash
    /// points in table 1. Order within a chain is not preserved (each moved
    /// entry is pushed at the head of its new bucket); nothing depends on it.
    fn move_bucket(&mut self, idx: usize) {
        let [old, new] = &mut self.tables;
        let new_mask = new.mask();
        let mut chain = old.buckets[idx].take();
        while let Some(mut entry) = chain {
            chain = entry.next.take();
            let bucket = hash_bytes(key_bytes(&entry.key)) as usize & new_mask;
            entry.next = new.buckets[bucket].take();
            new.buckets[bucket] = Some(entry);
            old.used -= 1;
            new.used += 1;
        }
    }
    // ANCHOR_END: rehash

    // ANCHOR: rehash_step
    /// One bucket of rehashing, run by every lookup, insert and delete
    /// (Redis: `_dictRehashStep`). A table in the middle of a rehash thus
    /// finishes moving because it is being used: a table that sees a lot
    /// of traffic finishes fast, at a price of one bucket per command. An
    /// idle table is finished by the server's cron calling
    /// [`Dict::rehash_for`].
    fn rehash_step(&mut self) {
        if self.is_rehashing() && self.rehash_pauses == 0 {
            self.rehash(1);
        }
    }
    // ANCHOR_END: rehash_step

    /// Rehashes in batches of 100 buckets until `budget` has elapsed or the
    /// rehash is done (Redis: `dictRehashMilliseconds`, called for 1 ms per
    /// cron tick when `activerehashing` is on). The clock is read after each
    /// batch, so the time taken exceeds `budget` by up to one batch.
    ///
    /// Returns 100 × the number of full batches that left work behind,
    /// which is exactly the number Redis returns. The final batch is not
    /// counted, and a batch may move fewer buckets than 100 (empty buckets,
    /// the end of the table), so this measures effort, not an exact count.
    /// Returns 0 while rehashing is paused.
    pub fn rehash_for(&mut self, budget: Duration) -> usize {
        if self.rehash_pauses > 0 {
            return 0;
        }
        let start = Instant::now();
        let mut rehashes = 0;
        while self.rehash(REHASH_BATCH) {
            rehashes += REHASH_BATCH;
            if start.elapsed() >= budget {
                break;
            }
        }
        rehashes
    }

    /// Resizes to `size` buckets, rounded up to a power of two and at least
    /// [`INITIAL_SIZE`] (Redis: `dictExpand`). Despite the name it can
    /// shrink too: [`Dict::shrink_to_fit`] is built on it.
    ///
    /// Outcomes:
    /// - table 0 not allocated yet: it is allocated at the new size. No
    ///   rehash is needed because there is nothing to move.
    /// - otherwise table 1 is allocated at the new size, `rehashidx` is set
    ///   to 0, and the move begins with the next steps.
    /// - `Err`: see [`ExpandError`]. Nothing changed.
    pub fn expand(&mut self, size: usize) -> Result<(), ExpandError> {
        if self.is_rehashing() {
            return Err(ExpandError::Rehashing);
        }
        if self.tables[0].used > size {
            return Err(ExpandError::SmallerThanUsed);
        }
        let new_size = table_size_for::<K, V>(size).ok_or(ExpandError::TooLarge)?;
        if new_size == self.tables[0].size() {
            return Err(ExpandError::SameSize);
        }
        let table = Table::with_size(new_size);
        let from = self.tables[0].size();
        if from == 0 {
            self.tables[0] = table;
            self.record(RehashEvent::TableResized { from, to: new_size });
        } else {
            self.tables[1] = table;
            self.rehashidx = 0;
            self.record(RehashEvent::RehashStarted { from, to: new_size });
        }
        Ok(())
    }

    /// Resizes table 0 to the smallest power of two that holds its entries
    /// at load factor <= 1, but not below [`INITIAL_SIZE`] (Redis:
    /// `dictResize`). This starts a rehash into the smaller table. Usually
    /// that means shrinking after [`Dict::needs_shrink`]. It grows instead
    /// if the table was overfilled while resizing was disallowed.
    ///
    /// Returns `true` if the resize began (Redis: `DICT_OK`). Returns
    /// `false`, changing nothing, in three cases: resizing is disallowed
    /// (a child is saving), a rehash is already running, or the table
    /// already has the right size. The caller (`serverCron`) simply tries
    /// again on a later tick, so a bool is all it needs.
    pub fn shrink_to_fit(&mut self) -> bool {
        resize_allowed()
            && !self.is_rehashing()
            && self.expand(self.tables[0].used.max(INITIAL_SIZE)).is_ok()
    }

    // ANCHOR: expand_if_needed
    /// Called before every add: grows table 0 when it is full (Redis:
    /// `_dictExpandIfNeeded`).
    fn expand_if_needed(&mut self) {
        // A rehash is already making room, and there are only two tables.
        if self.is_rehashing() {
            return;
        }
        let size = self.tables[0].size();
        if size == 0 {
            // First insert into a new or cleared dict.
            let _ = self.expand(INITIAL_SIZE);
            return;
        }
        // Grow at load factor 1 (as many entries as buckets), which keeps
        // the average chain length below 1. While a child is saving, grow
        // only once overloaded: `used / size > 5` in integer division,
        // which first holds at 6 entries per bucket. A 4-bucket table thus
        // takes 24 entries; the 25th add sees 24 / 4 = 6 > 5 and grows it.
        //
        // The new size is the next power of two >= used + 1, not simply
        // 2 * size. Usually that is the same thing (4 full buckets + 1 -> 8).
        // An overloaded table jumps straight to a fitting size
        // (24 + 1 -> 32 buckets).
        let used = self.tables[0].used;
        if used >= size && (resize_allowed() || used / size > FORCE_RESIZE_RATIO) {
            // Failure is only possible for absurd sizes. The dict then
            // keeps working, just with longer chains.
            let _ = self.expand(used + 1);
        }
    }
    // ANCHOR_END: expand_if_needed

    // -----------------------------------------------------------------------
    // Lookups, inserts and deletes
    // -----------------------------------------------------------------------

    /// Finds `key`: table 0 first, then table 1 if a rehash is running. No
    /// rehash step.
    fn locate(&self, key: &[u8], hash: u64) -> Option<Position> {
        for t in 0..2 {
            let table = &self.tables[t];
            if table.size() > 0 {
                let bucket = hash as usize & table.mask();
                let mut depth = 0;
                let mut cur = table.buckets[bucket].as_deref();
                while let Some(entry) = cur {
                    if key_bytes(&entry.key) == key {
                        return Some(Position {
                            table: t,
                            bucket,
                            depth,
                        });
                    }
                    depth += 1;
                    cur = entry.next.as_deref();
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// Where `key` sits right now, if present. No rehash step.
    pub fn position_of(&self, key: &[u8]) -> Option<Position> {
        if self.is_empty() {
            return None;
        }
        self.locate(key, hash_bytes(key))
    }

    /// Looks `key` up without a rehash step. Since it takes `&self`, it works
    /// on a dict that is only borrowed (during [`Dict::iter`], from a
    /// read-only snapshot for the visualizer).
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.position_of(key).map(|pos| &self.entry_ref(pos).value)
    }

    /// Looks `key` up after one rehash step (Redis: `dictFind`).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.get_key_value(key).map(|(_, value)| value)
    }

    /// Like [`Dict::get_mut`], also returning the stored key.
    pub fn get_key_value(&mut self, key: &[u8]) -> Option<(&K, &mut V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let pos = self.locate(key, hash_bytes(key))?;
        let entry = self.entry_mut(pos);
        Some((&entry.key, &mut entry.value))
    }

    /// Whether `key` is present, after one rehash step.
    pub fn contains_key(&mut self, key: &[u8]) -> bool {
        self.get_mut(key).is_some()
    }

    /// The shared first half of every add (Redis: the start of `dictAddRaw`
    /// and `_dictKeyIndex`): a rehash step, growth if the table is full,
    /// then a search for the key. The growth check comes before the search,
    /// so replacing the value of an existing key can start a rehash too,
    /// just as in Redis.
    fn prepare_add(&mut self, key: &[u8]) -> (u64, Option<Position>) {
        self.rehash_step();
        self.expand_if_needed();
        let hash = hash_bytes(key);
        (hash, self.locate(key, hash))
    }

    /// The second half: a new entry at the head of its bucket, in table 1
    /// while rehashing (invariant 4), otherwise in table 0.
    fn link_new_entry(&mut self, hash: u64, key: K, value: V) -> &mut V {
        let table = &mut self.tables[usize::from(self.rehashidx != -1)];
        let bucket = hash as usize & table.mask();
        let next = table.buckets[bucket].take();
        table.used += 1;
        &mut table.buckets[bucket]
            .insert(Box::new(Entry { key, value, next }))
            .value
    }

    /// Adds `key`, or replaces its value if present (Redis: `dictReplace`).
    /// Returns the old value. On replace the *stored* key stays, and the
    /// `key` passed in is dropped. Callers may hold on to the stored key
    /// (in Redis the keyspace and the expires table share one key string).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let (hash, existing) = self.prepare_add(key_bytes(&key));
        match existing {
            // The old value goes back to the caller, who decides when to
            // drop it. Redis must set the new value before freeing the old
            // one, in case they are the same refcounted object. Ownership
            // settles that question here.
            Some(pos) => Some(std::mem::replace(&mut self.entry_mut(pos).value, value)),
            None => {
                self.link_new_entry(hash, key, value);
                None
            }
        }
    }

    /// Adds `key` only if absent (Redis: `dictAdd`). If present, nothing
    /// changes and the key and value come back in `Err`.
    pub fn try_insert(&mut self, key: K, value: V) -> Result<&mut V, (K, V)> {
        let (hash, existing) = self.prepare_add(key_bytes(&key));
        if existing.is_some() {
            return Err((key, value));
        }
        Ok(self.link_new_entry(hash, key, value))
    }

    /// Finds `key`, or adds it (Redis: `dictAddRaw` / `dictAddOrFind`).
    /// Returns the value and whether it was just inserted. The owned key
    /// and the value are only built when the key is absent, so for example
    /// `HINCRBY` on an existing field allocates nothing. `make_key()` must
    /// return a key equal to `key`.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make_key: impl FnOnce() -> K,
        make_value: impl FnOnce() -> V,
    ) -> (&mut V, bool) {
        let (hash, existing) = self.prepare_add(key);
        match existing {
            Some(pos) => (&mut self.entry_mut(pos).value, false),
            None => {
                let owned = make_key();
                debug_assert!(key_bytes(&owned) == key, "make_key built a different key");
                (self.link_new_entry(hash, owned, make_value()), true)
            }
        }
    }

    /// Removes `key` after one rehash step, returning its key and value
    /// (Redis: `dictUnlink`). The caller gets ownership, so it decides when
    /// and where the pair is dropped. The lazyfree chapter drops big values
    /// on another thread.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let hash = hash_bytes(key);
        let rehashing = self.is_rehashing();
        for table in &mut self.tables {
            if table.size() > 0 {
                let bucket = hash as usize & table.mask();
                if let Some(entry) = unlink(&mut table.buckets[bucket], key) {
                    table.used -= 1;
                    let Entry { key, value, .. } = *entry;
                    return Some((key, value));
                }
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    // -----------------------------------------------------------------------
    // Random entries: eviction, active expiry, RANDOMKEY, SPOP
    // -----------------------------------------------------------------------

    // ANCHOR: random_entry
    /// A random entry, after one rehash step (Redis: `dictGetRandomKey`).
    /// Picks a random non-empty bucket, then a random entry in its chain.
    ///
    /// Not uniform. An entry that shares its bucket with others is less
    /// likely to be picked than one alone in its bucket. With chains this
    /// short the skew is small. [`Dict::fair_random_entry`] does better.
    /// The cost is the number of empty buckets probed first, about
    /// `size / non-empty buckets` on average. That is small while the load
    /// factor is kept near 1, but it grows large in a sparse table that was
    /// not allowed to shrink.
    pub fn random_entry(&mut self) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let (table, bucket) = if let Some(start) = self.rehash_index() {
            // Number the buckets of both tables 0..size0+size1. Those below
            // rehashidx are empty (invariant 3), so draw only from the rest.
            let size0 = self.tables[0].size();
            let total = size0 + self.tables[1].size();
            loop {
                let i = start + random_below(total - start);
                let (t, b) = if i >= size0 { (1, i - size0) } else { (0, i) };
                if self.tables[t].buckets[b].is_some() {
                    break (t, b);
                }
            }
        } else {
            let mask = self.tables[0].mask();
            loop {
                let b = random_u64() as usize & mask;
                if self.tables[0].buckets[b].is_some() {
                    break (0, b);
                }
            }
        };
        // A chain has no index, so count it and walk to a random position.
        let depth = random_below(chain_len(&self.tables[table].buckets[bucket]));
        let entry = self.entry_ref(Position {
            table,
            bucket,
            depth,
        });
        Some((&entry.key, &entry.value))
    }
    // ANCHOR_END: random_entry

    /// A random entry, chosen more evenly than by [`Dict::random_entry`]
    /// (Redis: `dictGetFairRandomKey`, used by RANDOMKEY, SRANDMEMBER,
    /// SPOP and HRANDFIELD). Samples a run of up to 15 entries with
    /// [`Dict::sample_entries`] and picks one of them. Chains of different
    /// lengths sit side by side in the sample, so an entry in a long chain
    /// is no longer at a disadvantage. Falls back to `random_entry` when
    /// the sample comes back empty (an unlucky run of empty buckets).
    pub fn fair_random_entry(&mut self) -> Option<(&K, &V)> {
        let sample = self.sample_positions(FAIR_SAMPLE);
        if sample.is_empty() {
            return self.random_entry();
        }
        let entry = self.entry_ref(sample[random_below(sample.len())]);
        Some((&entry.key, &entry.value))
    }

    /// Up to `count` entries from one random stretch of the table, after up
    /// to `count` rehash steps (Redis: `dictGetSomeKeys`, the sampler behind
    /// eviction and active expiry).
    ///
    /// Returns fewer than `count` if the dict holds fewer entries, or if
    /// `10 * count` bucket visits were not enough. An entry can appear twice
    /// when a jump lands on buckets already read. This is much cheaper than
    /// `count` calls to [`Dict::random_entry`]. The price is a worse
    /// distribution: neighbouring buckets are read, not independent ones.
    /// Eviction needs only a handful of candidates, not a fair draw.
    pub fn sample_entries(&mut self, count: usize) -> Vec<(&K, &V)> {
        let sample = self.sample_positions(count);
        let this = &*self;
        sample
            .into_iter()
            .map(|pos| {
                let entry = this.entry_ref(pos);
                (&entry.key, &entry.value)
            })
            .collect()
    }

    // ANCHOR: sample_entries
    fn sample_positions(&mut self, count: usize) -> Vec<Position> {
        let count = count.min(self.len());
        let mut sample = Vec::with_capacity(count);
        if count == 0 {
            return sample;
        }
        // Do rehash work in proportion to the sample: finishing the rehash
        // also makes the sample cheaper (one table to read, not two).
        for _ in 0..count {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        let tables = if self.is_rehashing() { 2 } else { 1 };
        let size = |t: usize| self.tables[t].size();
        // Walk indexes of the larger table. An index past the end of the
        // smaller one is simply skipped for it.
        let max_mask = (0..tables).map(|t| size(t) - 1).max().unwrap_or(0);
        let rehashidx = self.rehash_index().unwrap_or(0);

        let mut i = random_u64() as usize & max_mask;
        let mut empty_run = 0; // consecutive empty buckets seen
        let mut max_steps = count * 10; // the bound on the whole walk
        'walk: while sample.len() < count && max_steps > 0 {
            max_steps -= 1;
            for t in 0..tables {
                // Invariant 3: table 0 is empty below rehashidx, so skip it
                // there. If `i` is also past the end of table 1 (we are
                // shrinking into a smaller table), neither table has
                // anything at `i`: jump straight to rehashidx.
                if tables == 2 && t == 0 && i < rehashidx {
                    if i >= size(1) {
                        i = rehashidx;
                    } else {
                        continue;
                    }
                }
                if i >= size(t) {
                    continue;
                }
                let head = &self.tables[t].buckets[i];
                if head.is_none() {
                    // A long run of empty buckets suggests a sparse region.
                    // Jump somewhere random instead of crawling through it.
                    // A run counts as long once it is at least 5 buckets
                    // and longer than `count`.
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = random_u64() as usize & max_mask;
                        empty_run = 0;
                    }
                } else {
                    empty_run = 0;
                    // Take the chain from its head, stopping at `count`:
                    // entries deep in a long chain are sampled less often.
                    // (Exercise 3.)
                    for depth in 0..chain_len(head) {
                        sample.push(Position {
                            table: t,
                            bucket: i,
                            depth,
                        });
                        if sample.len() == count {
                            break 'walk;
                        }
                    }
                }
            }
            i = (i + 1) & max_mask;
        }
        sample
    }
    // ANCHOR_END: sample_entries

    // -----------------------------------------------------------------------
    // SCAN
    // -----------------------------------------------------------------------

    // ANCHOR: scan
    /// One step of a SCAN iteration (Redis: `dictScan`). Calls `f` for each
    /// entry in the bucket(s) the `cursor` names, and returns the cursor
    /// for the next call. Start with 0; the iteration is complete when 0
    /// comes back. See the comment in the source for how and why it works.
    //
    // HOW SCAN WORKS
    //
    // A SCAN cursor is a bucket index, counted in an unusual order. That
    // order is the whole trick. A client may wait minutes between two SCAN
    // calls, and the server keeps nothing for it in the meantime. By the
    // next call the table may have grown, shrunk, or be half-way through a
    // rehash. The cursor alone must tell us where to go on.
    //
    // WHY NOT COUNT 0, 1, 2, ...?
    //
    // A key's bucket is `hash & mask`, with `mask = size - 1`: the low bits
    // of its hash.
    //
    //     size  8, mask 0b0111: bucket = low 3 bits of the hash
    //     size 16, mask 0b1111: bucket = low 4 bits of the hash
    //
    // So growing 8 -> 16 splits bucket `b` into `0b` and `1b` (b and b+8),
    // and shrinking 16 -> 8 merges them back. Counting upwards, suppose
    // the table shrinks 16 -> 8 after we have visited buckets 0..=9. The
    // keys of buckets 10..=15 fall into buckets 2..=7. We have already
    // passed those, so the keys are never returned. Growing is harmless
    // for an upward count but shrinking is not.
    //
    // THE REVERSED COUNTER
    //
    // So count from the *top* bit of the mask down: reverse the bits, add
    // one, reverse them back (`next_cursor` below). With 8 buckets:
    //
    //     000 -> 100 -> 010 -> 110 -> 001 -> 101 -> 011 -> 111 -> (000: done)
    //      0      4      2      6      1      5      3      7
    //
    // The low bits change slowest. Every bucket visited so far is one of
    // the whole groups that share some low bits and differ only above them,
    // and such groups are exactly what growing splits and shrinking merges.
    //
    // WORKED EXAMPLE: THE TABLE GROWS FROM 8 TO 16 BUCKETS
    //
    // We have visited 000, 100 and 010, and returned cursor 110 (6). Then
    // the table grows to 16 (mask 1111). The keys already returned now
    // live in 0000/1000 (from 000), 0100/1100 (from 100) and 0010/1010
    // (from 010). The next calls count in 4-bit reversed order from 0110:
    //
    //     0110 -> 1110 -> 0001 -> 1001 -> 0101 -> 1101
    //          -> 0011 -> 1011 -> 0111 -> 1111 -> (0000: done)
    //
    // That is both halves of each 3-bit bucket not visited yet (110, 001,
    // 101, 011, 111), each visited once. None of the six buckets that hold
    // already-returned keys comes up again. Nothing is missed, nothing is
    // repeated.
    //
    // WORKED EXAMPLE: THE TABLE SHRINKS FROM 16 TO 8 BUCKETS
    //
    // We have visited 0000, 1000 and 0100, and returned cursor 1100 (12).
    // The table shrinks to 8 (mask 0111). The next call masks the cursor:
    // 1100 & 0111 = 100. In the small table, bucket 100 holds the keys of
    // both 0100 (already returned) and 1100 (not yet). All are returned,
    // so 0100's keys come back a *second* time. Then the 3-bit order goes
    // on: 010, 110, 001, 101, 011, 111, done. Bucket 000 (the old 0000
    // plus 1000) is not visited again, because both halves were already
    // done. Nothing is missed; a few keys are repeated.
    //
    // WAIT, THERE ARE TWO TABLES DURING A REHASH
    //
    // A key may be in either table, and keys move between our calls. So
    // one call visits the bucket `cursor & small_mask` of the *smaller*
    // table, then every expansion of it in the larger table: each value of
    // the extra high bits, stepping them with the same reversed increment
    // until they wrap to zero. Rehashing 8 -> 16 with cursor 010: visit
    // small[010], then large[0010] and large[1010], and return 110. Every
    // key whose hash ends in 010 is in one of those three buckets, wherever
    // the rehash has got to. This reduces the problem to one table again,
    // the larger one.
    //
    // THE GUARANTEE
    //
    // - Every element present from the start to the end of a full
    //   iteration is returned at least once, however the table is
    //   resized and rehashed in between.
    // - An element may be returned more than once (after a shrink, as
    //   above). Callers that care must remove duplicates themselves.
    // - Elements added or removed during the iteration may or may not be
    //   returned.
    // - The iteration ends. Read backwards, the cursor strictly increases
    //   with every call, by at least one step of the largest table's size,
    //   so a full iteration takes at most that many calls.
    // - The server keeps no state at all. A client that abandons a scan
    //   halfway costs nothing.
    //
    // The price: a call returns whole buckets, so the amount per call
    // varies (SCAN's COUNT is only a hint). And a cursor means nothing to
    // another server, which has another hash seed.
    //
    // Redis pauses rehashing during dictScan, in case the callback does a
    // lookup (which would take a rehash step and move entries). Here `f`
    // only receives `&K, &V` while the dict is borrowed immutably. It
    // cannot reach the dict mutably, so nothing can move.
    pub fn scan<F: FnMut(&K, &V)>(&self, cursor: u64, mut f: F) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut emit = |head: &Link<K, V>| {
            let mut cur = head.as_deref();
            while let Some(entry) = cur {
                f(&entry.key, &entry.value);
                cur = entry.next.as_deref();
            }
        };
        if !self.is_rehashing() {
            let table = &self.tables[0];
            let mask = table.mask() as u64;
            emit(&table.buckets[(v & mask) as usize]);
            v = next_cursor(v, mask);
        } else {
            let (small, large) = if self.tables[0].size() <= self.tables[1].size() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let small_mask = small.mask() as u64;
            let large_mask = large.mask() as u64;
            emit(&small.buckets[(v & small_mask) as usize]);
            // The expansions: the bits in large_mask but not in small_mask
            // run through all their values, in reversed order. When they
            // wrap back to zero the carry has moved on into small_mask's
            // bits, and `v` is the next cursor for the small table.
            loop {
                emit(&large.buckets[(v & large_mask) as usize]);
                v = next_cursor(v, large_mask);
                if v & (small_mask ^ large_mask) == 0 {
                    break;
                }
            }
        }
        v
    }
    // ANCHOR_END: scan

    // -----------------------------------------------------------------------
    // The safe cursor: iterate and delete
    // -----------------------------------------------------------------------

    /// Starts an iteration that may change the dict between steps, for
    /// instance deleting each entry it returns. Rehashing is paused until
    /// the iteration ends (Redis: `dictGetSafeIterator`).
    ///
    /// ```text
    /// let mut cursor = dict.safe_iter();
    /// while let Some((key, value)) = dict.safe_iter_next(&mut cursor) {
    ///     if expired(value) { let key = key.clone(); dict.remove(&key); }
    /// }
    /// dict.safe_iter_release(cursor); // or rely on None having ended it
    /// ```
    ///
    /// Redis's safe iterator keeps a pointer to the *next* entry, so the
    /// current one can be freed under it. A safe Rust cursor cannot hold a
    /// pointer into the dict while the caller mutates it. Instead it holds
    /// plain numbers: a table, a bucket, and how many entries of the
    /// current chain remain, *counted from the tail*. That count survives
    /// both things a caller may do between steps:
    /// - delete the entry just returned (it is on the head side of those
    ///   remaining, so the tail count does not change);
    /// - insert anywhere (new entries go on the head side of a chain).
    ///
    /// Pausing rehashing guarantees that nothing else moves: entries stay in
    /// their table and bucket, and the rehash cannot finish and swap the
    /// tables. Growth may still *begin* (new keys then go into table 1,
    /// which the cursor visits after table 0).
    ///
    /// The contract: every entry present for the whole iteration is returned
    /// exactly once. Entries added meanwhile may or may not be. Deleting an
    /// entry *other* than the one just returned, from the chain being walked,
    /// may make the cursor return one entry twice. (Redis would read freed
    /// memory in that case; here it is merely a duplicate.)
    pub fn safe_iter(&mut self) -> SafeCursor {
        self.pause_rehashing();
        SafeCursor {
            table: 0,
            next_bucket: 0,
            remaining: 0,
            done: false,
        }
    }

    /// The next entry of a safe iteration, or `None` at the end. The first
    /// `None` also ends the iteration: it resumes rehashing, and releasing
    /// the cursor afterwards is then a no-op. Use a cursor only with the
    /// dict that made it.
    pub fn safe_iter_next(&mut self, cursor: &mut SafeCursor) -> Option<(&K, &mut V)> {
        if cursor.done {
            return None;
        }
        let pos = loop {
            if cursor.remaining > 0 {
                let bucket = cursor.next_bucket - 1;
                let len = self.tables[cursor.table]
                    .buckets
                    .get(bucket)
                    .map_or(0, chain_len);
                // `remaining <= len` unless entries still ahead of us were
                // deleted. Clamping re-reads the chain from the head then: a
                // duplicate is better than a miss.
                let remaining = cursor.remaining.min(len);
                if remaining > 0 {
                    cursor.remaining = remaining - 1;
                    break Position {
                        table: cursor.table,
                        bucket,
                        depth: len - remaining,
                    };
                }
                cursor.remaining = 0;
            }
            // Current chain done: load the next bucket, moving on to table 1
            // after table 0 if a rehash is (still, or newly) running.
            if cursor.next_bucket >= self.tables[cursor.table].size() {
                if cursor.table == 0 && self.is_rehashing() {
                    cursor.table = 1;
                    cursor.next_bucket = 0;
                    continue;
                }
                cursor.done = true;
                self.resume_rehashing();
                return None;
            }
            cursor.remaining = chain_len(&self.tables[cursor.table].buckets[cursor.next_bucket]);
            cursor.next_bucket += 1;
        };
        let entry = self.entry_mut(pos);
        Some((&entry.key, &mut entry.value))
    }

    /// Ends a safe iteration early, resuming rehashing (Redis:
    /// `dictReleaseIterator`). A no-op if `safe_iter_next` already
    /// returned `None`.
    pub fn safe_iter_release(&mut self, mut cursor: SafeCursor) {
        if !cursor.done {
            cursor.done = true;
            self.resume_rehashing();
        }
    }

    // -----------------------------------------------------------------------
    // DEBUG HTSTATS
    // -----------------------------------------------------------------------

    /// The statistics `DEBUG HTSTATS` prints for one dict (Redis:
    /// `dictGetStats`): table 0, and table 1 while rehashing.
    ///
    /// With `full`, the text is Redis 7.0's (7.0 always printed everything):
    /// size, count, non-empty buckets ("different slots"), the longest chain,
    /// the average chain counted over non-empty buckets and computed as
    /// elements / non-empty buckets (the two agree; Redis prints both as a
    /// self-check), then how many buckets have each chain length. Without
    /// `full`, only size and count (the short form Redis 7.2 added).
    ///
    /// As in Redis, chain lengths of 49 and over are counted together, but
    /// that group is never printed (its loop stops one short). We keep
    /// that quirk so the output matches Redis byte for byte.
    pub fn stats(&self, full: bool) -> String {
        let mut out = String::new();
        self.table_stats(0, full, &mut out);
        if self.is_rehashing() {
            self.table_stats(1, full, &mut out);
        }
        out
    }

    fn table_stats(&self, t: usize, full: bool, out: &mut String) {
        let table = &self.tables[t];
        let role = if t == 0 {
            "main hash table"
        } else {
            "rehashing target"
        };
        if table.used == 0 {
            // Our reference, Redis 7.0.15, names the table first (7.0.12
            // added the header; earlier 7.0 releases printed only the line).
            let _ = write!(
                out,
                "Hash table {t} stats ({role}):\nNo stats available for empty dictionaries\n"
            );
            return;
        }
        let size = table.size();
        // Writing to a String cannot fail, hence the ignored results below.
        let _ = write!(
            out,
            "Hash table {t} stats ({role}):\n table size: {size}\n number of elements: {}\n",
            table.used
        );
        if !full {
            return;
        }
        let mut by_length = [0usize; STATS_VECTLEN];
        let (mut slots, mut max_chain, mut total_chain) = (0, 0, 0);
        for head in &table.buckets {
            let len = chain_len(head);
            by_length[len.min(STATS_VECTLEN - 1)] += 1;
            if len > 0 {
                slots += 1;
                max_chain = max_chain.max(len);
                total_chain += len;
            }
        }
        // Redis divides in single precision (`float`) and prints with
        // "%.02f". Rust's `{:.2}` rounds the same way (to nearest, ties to
        // even), so we compute in f32 too and get the same digits.
        let _ = write!(
            out,
            " different slots: {slots}\n max chain length: {max_chain}\n \
             avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n \
             Chain length distribution:\n",
            total_chain as f32 / slots as f32,
            table.used as f32 / slots as f32,
        );
        for (len, &buckets) in by_length.iter().enumerate().take(STATS_VECTLEN - 1) {
            if buckets > 0 {
                let percent = (buckets as f32 / size as f32) * 100.0;
                let _ = writeln!(out, "   {len}: {buckets} ({percent:.2}%)");
            }
        }
    }
}

// ANCHOR: rev_bits
/// The SCAN cursor after `cursor` for a table with mask `mask`: add one
/// from the top bit of the mask downwards.
///
/// Worked example, mask `0b111`, cursor `0b010`:
/// 1. Set every bit above the mask: `...1111_1010`. Reversed, those ones
///    are the *low* bits, so the `+ 1` carries straight through them into
///    the mask's bits.
/// 2. Reverse: `0101_1111...1111` (bit 63 first).
/// 3. Add one: the carry clears the 61 trailing ones and stops on the
///    next 0 in the mask's bits: `0110_0000...0000`.
/// 4. Reverse back: `0b110` = 6. The bits above the mask are 0 again.
///
/// When the mask's bits are all ones the carry runs off the end and the
/// cursor wraps to 0: the iteration is complete. Redis reverses bits with a
/// classic bit trick (`rev()` in dict.c); Rust has `u64::reverse_bits`,
/// a single instruction on some CPUs.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    (cursor | !mask)
        .reverse_bits()
        .wrapping_add(1)
        .reverse_bits()
}
// ANCHOR_END: rev_bits

/// Unlinks the entry for `key` from the chain starting at `link`.
fn unlink<K: Borrow<[u8]>, V>(mut link: &mut Link<K, V>, key: &[u8]) -> Option<Box<Entry<K, V>>> {
    // Walk the `&mut Link` slots, not the entries: when the loop stops,
    // `link` is the very slot (bucket head or some `next`) that points at
    // the entry, so unlinking is a single assignment, with no `prev`
    // pointer to handle specially as in C.
    while link
        .as_ref()
        .is_some_and(|entry| key_bytes(&entry.key) != key)
    {
        link = &mut link.as_mut().expect("checked by the loop condition").next;
    }
    let mut entry = link.take()?;
    *link = entry.next.take();
    Some(entry)
}

/// A live safe iteration over a [`Dict`]; see [`Dict::safe_iter`]. It holds
/// positions, not references, so the dict stays free for mutation between
/// steps.
#[must_use = "a safe iteration keeps rehashing paused until it ends; finish it or call safe_iter_release"]
#[derive(Debug)]
pub struct SafeCursor {
    /// The table being walked: 0, then 1 if a rehash is running.
    table: usize,
    /// The bucket to load next. The chain being walked is `next_bucket - 1`.
    next_bucket: usize,
    /// Entries of the current chain not yet returned, counted from the tail.
    remaining: usize,
    /// The iteration has ended and its pause has been lifted.
    done: bool,
}

impl Drop for SafeCursor {
    /// A cursor dropped while still live would leave rehashing paused for
    /// good. Nothing unsafe, but the table could never grow again, and its
    /// chains would get longer and longer. Debug builds catch the mistake
    /// here, as Redis's assertions do.
    fn drop(&mut self) {
        if !self.done && !std::thread::panicking() {
            debug_assert!(
                false,
                "SafeCursor dropped without reaching the end or safe_iter_release"
            );
        }
    }
}

/// The bucket heads of table 0 followed by those of table 1.
type BothTables<I> = std::iter::Chain<I, I>;

/// Iterator over `(&K, &V)`; see [`Dict::iter`].
pub struct Iter<'a, K, V> {
    /// Bucket heads of table 0, then of table 1.
    buckets: BothTables<std::slice::Iter<'a, Link<K, V>>>,
    /// The rest of the chain being walked.
    chain: Option<&'a Entry<K, V>>,
    /// Entries not yet returned, for an exact `size_hint`.
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.chain {
                self.chain = entry.next.as_deref();
                self.remaining -= 1;
                return Some((&entry.key, &entry.value));
            }
            self.chain = self.buckets.next()?.as_deref();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// Iterator over `(&K, &mut V)`; see [`Dict::iter_mut`].
pub struct IterMut<'a, K, V> {
    buckets: BothTables<std::slice::IterMut<'a, Link<K, V>>>,
    chain: Option<&'a mut Entry<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.chain.take() {
                // Split the entry into its fields. They are disjoint borrows,
                // so we can hand out the key and value and keep the link.
                let Entry { key, value, next } = entry;
                self.chain = next.as_deref_mut();
                self.remaining -= 1;
                return Some((&*key, value));
            }
            self.chain = self.buckets.next()?.as_deref_mut();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<'a, K, V> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut Dict<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dict")
            .field("len", &self.len())
            .field("table_sizes", &[self.table_size(0), self.table_size(1)])
            .field("rehashidx", &self.rehashidx)
            .field("entries", &DebugEntries(self))
            .finish()
    }
}

struct DebugEntries<'a, K, V>(&'a Dict<K, V>);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for DebugEntries<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    type TestDict = Dict<Vec<u8>, u64>;

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    fn dict_with(n: usize) -> TestDict {
        let mut d = Dict::new();
        for i in 0..n {
            d.insert(key(i), i as u64);
        }
        d
    }

    fn finish_rehash<K: Borrow<[u8]>, V>(d: &mut Dict<K, V>) {
        while d.rehash(100) {}
    }

    /// The first `count` keys named `prefix{i}` whose hash lands in `bucket`
    /// of a table with mask `mask`.
    fn keys_in_bucket(prefix: &str, mask: usize, bucket: usize, count: usize) -> Vec<Vec<u8>> {
        (0..)
            .map(|i| format!("{prefix}{i}").into_bytes())
            .filter(|k| hash_bytes(k) as usize & mask == bucket)
            .take(count)
            .collect()
    }

    impl<K: Borrow<[u8]>, V> Dict<K, V> {
        /// Checks every invariant in the module essay.
        fn assert_invariants(&self) {
            for table in &self.tables {
                let size = table.size();
                assert!(
                    size == 0 || (size.is_power_of_two() && size >= INITIAL_SIZE),
                    "bad size {size}"
                );
                let mut count = 0;
                for (b, head) in table.buckets.iter().enumerate() {
                    let mut cur = head.as_deref();
                    while let Some(e) = cur {
                        assert_eq!(
                            hash_bytes(key_bytes(&e.key)) as usize & table.mask(),
                            b,
                            "entry in wrong bucket"
                        );
                        count += 1;
                        cur = e.next.as_deref();
                    }
                }
                assert_eq!(count, table.used, "used count is wrong");
            }
            match self.rehash_index() {
                None => {
                    assert_eq!(self.rehashidx, -1);
                    assert_eq!(
                        self.tables[1].size(),
                        0,
                        "table 1 allocated while not rehashing"
                    );
                    assert_eq!(self.tables[1].used, 0);
                }
                Some(idx) => {
                    assert!(self.tables[0].size() > 0 && self.tables[1].size() > 0);
                    assert!(idx < self.tables[0].size(), "rehashidx out of range");
                    assert!(
                        self.tables[0].buckets[..idx].iter().all(Option::is_none),
                        "bucket below rehashidx not empty"
                    );
                }
            }
            let mut seen = HashSet::new();
            for (k, _) in self.iter() {
                assert!(seen.insert(key_bytes(k).to_vec()), "key present twice");
            }
            assert_eq!(seen.len(), self.len());
            assert_eq!(self.iter().len(), self.len());
        }
    }

    // -- growing ----------------------------------------------------------

    #[test]
    fn fifth_insert_starts_growing_from_4_to_8_buckets() {
        let mut d = dict_with(4);
        assert_eq!(
            (d.table_size(0), d.table_used(0), d.rehash_index()),
            (4, 4, None)
        );
        d.insert(key(4), 4);
        assert_eq!(
            d.rehash_index(),
            Some(0),
            "the 5th insert starts the rehash"
        );
        assert_eq!(
            (d.table_size(0), d.table_used(0)),
            (4, 4),
            "nothing moved yet"
        );
        assert_eq!(
            (d.table_size(1), d.table_used(1)),
            (8, 1),
            "the new key went to table 1"
        );
        assert_eq!(d.position_of(&key(4)).unwrap().table, 1);
        d.assert_invariants();
    }

    #[test]
    fn rehash_moves_one_bucket_per_step_and_table_1_becomes_table_0() {
        let mut d = dict_with(5);
        let mut steps = 0;
        let mut last = 0;
        while d.rehash(1) {
            steps += 1;
            let idx = d.rehash_index().unwrap();
            assert!(idx > last, "rehashidx only moves forward");
            last = idx;
            d.assert_invariants();
        }
        assert!(
            steps < 4,
            "4 buckets take at most 4 steps, the last one returning false"
        );
        assert!(!d.is_rehashing());
        assert_eq!(
            (
                d.table_size(0),
                d.table_used(0),
                d.table_size(1),
                d.table_used(1)
            ),
            (8, 5, 0, 0)
        );
        assert!(!d.rehash(1), "no rehash, nothing to do");
        for i in 0..5 {
            assert_eq!(d.get(&key(i)), Some(&(i as u64)));
        }
    }

    #[test]
    fn a_watched_dict_records_resize_start_steps_and_finish_in_order() {
        let mut d = TestDict::new();
        d.watch_rehashing();
        for i in 0..5 {
            d.insert(key(i), i as u64); // the 5th insert starts 4 -> 8
        }
        let mut events = Vec::new();
        assert_eq!(d.drain_rehash_events(|e| events.push(e)), 0);
        assert_eq!(events[0], RehashEvent::TableResized { from: 0, to: 4 });
        assert_eq!(events[1], RehashEvent::RehashStarted { from: 4, to: 8 });
        finish_rehash(&mut d);
        events.clear();
        d.drain_rehash_events(|e| events.push(e));
        // The steps cover buckets 0..=3 exactly once, in order, and move
        // the 5 keys that were in table 0 when the rehash began (the 5th
        // went straight to table 1).
        let mut next_bucket = 0;
        let mut moved_total = 0;
        for e in &events[..events.len() - 2] {
            let RehashEvent::RehashStep { first, last, moved } = *e else {
                panic!("expected only steps before the end, got {e:?}");
            };
            assert_eq!(first, next_bucket);
            next_bucket = last + 1;
            moved_total += moved;
        }
        assert!(next_bucket <= 4);
        assert_eq!(moved_total, 4);
        assert_eq!(
            events[events.len() - 2..],
            [
                RehashEvent::RehashFinished { size: 8 },
                RehashEvent::TableResized { from: 4, to: 8 }
            ]
        );
    }

    #[test]
    fn an_undrained_rehash_log_merges_steps_and_stays_bounded() {
        let mut d = dict_with(REHASH_LOG_CAP * 8);
        finish_rehash(&mut d);
        let old_size = d.table_size(0);
        d.expand(old_size * 2).unwrap();
        d.watch_rehashing();
        while d.rehash(1) {} // thousands of steps, nobody draining
        let mut events = Vec::new();
        let dropped = d.drain_rehash_events(|e| events.push(e));
        assert_eq!(events.len(), REHASH_LOG_CAP);
        // Finished and Resized each pushed the oldest step out.
        assert_eq!(dropped, 2);
        let (steps, end) = events.split_at(events.len() - 2);
        let mut next_bucket = None;
        for e in steps {
            let RehashEvent::RehashStep { first, last, .. } = *e else {
                panic!("expected a step, got {e:?}");
            };
            if let Some(expected) = next_bucket {
                assert_eq!(first, expected, "steps stay contiguous when merged");
            }
            next_bucket = Some(last + 1);
        }
        // The last step ends at the last non-empty bucket: trailing empty
        // buckets are never visited, the table simply runs out of entries.
        assert!(next_bucket.unwrap() <= old_size);
        assert_eq!(end[0], RehashEvent::RehashFinished { size: old_size * 2 });
        let mut unwatched = dict_with(100);
        assert!(!unwatched.is_watching_rehashing());
        assert_eq!(unwatched.drain_rehash_events(|_| panic!("not watched")), 0);
    }

    #[test]
    fn lookups_inserts_and_deletes_work_in_the_middle_of_a_rehash() {
        let mut d = dict_with(100);
        finish_rehash(&mut d);
        d.expand(1024).unwrap();
        d.rehash(10);
        assert!(
            d.is_rehashing() && d.table_used(0) > 0 && d.table_used(1) > 0,
            "keys in both tables"
        );
        for i in 0..100 {
            assert_eq!(
                d.get(&key(i)),
                Some(&(i as u64)),
                "get finds keys in either table"
            );
        }
        for i in 0..10 {
            *d.get_mut(&key(i)).unwrap() += 1000;
        }
        d.insert(key(500), 500);
        assert_eq!(
            d.position_of(&key(500)).unwrap().table,
            1,
            "new keys go to table 1"
        );
        for i in (0..100).step_by(3) {
            assert_eq!(
                d.remove(&key(i)).map(|(_, v)| v),
                Some(if i < 10 { i as u64 + 1000 } else { i as u64 })
            );
        }
        assert_eq!(d.remove(&key(0)), None);
        d.assert_invariants();
        finish_rehash(&mut d);
        assert_eq!(d.len(), 100 - 34 + 1);
        assert_eq!(d.get(&key(500)), Some(&500));
        assert_eq!(d.get(&key(1)), Some(&1001));
        assert_eq!(d.get(&key(3)), None);
        d.assert_invariants();
    }

    #[test]
    fn get_takes_no_rehash_step_but_get_mut_does() {
        let mut d = dict_with(5);
        assert_eq!(d.rehash_index(), Some(0));
        assert!(d.get(&key(0)).is_some());
        assert_eq!(d.rehash_index(), Some(0), "get is read-only");
        assert!(d.get_mut(&key(0)).is_some());
        assert_ne!(d.rehash_index(), Some(0), "get_mut moved a bucket first");
    }

    #[test]
    fn paused_rehashing_moves_nothing_until_resumed() {
        let mut d = dict_with(5);
        d.pause_rehashing();
        d.get_mut(&key(1));
        d.remove(&key(2));
        assert!(d.rehash(100), "rehash reports work left, but does none");
        assert_eq!(d.rehash_for(Duration::from_millis(5)), 0);
        assert_eq!(d.rehash_index(), Some(0));
        d.resume_rehashing();
        finish_rehash(&mut d);
        assert!(!d.is_rehashing());
    }

    #[test]
    #[should_panic(expected = "resume_rehashing without pause_rehashing")]
    fn unmatched_resume_is_a_bug() {
        TestDict::new().resume_rehashing();
    }

    #[test]
    fn rehash_for_finishes_a_rehash_and_reports_batches_of_100() {
        let mut d = dict_with(5000);
        finish_rehash(&mut d);
        d.expand(65536).unwrap();
        let moved = d.rehash_for(Duration::from_secs(60));
        assert!(!d.is_rehashing());
        assert_eq!(moved % 100, 0);
        assert!(moved > 0, "8192 buckets need more than one batch");
        d.assert_invariants();
    }

    #[test]
    fn growth_waits_for_more_than_5_per_bucket_while_resizing_is_disallowed() {
        set_resize_allowed(false);
        let mut d = dict_with(24);
        assert_eq!(
            (d.table_size(0), d.rehash_index()),
            (4, None),
            "each add checked before adding: at most 23/4 = 5"
        );
        d.insert(key(24), 24);
        assert_eq!(
            d.rehash_index(),
            Some(0),
            "the 25th insert sees 24/4 = 6 > 5"
        );
        assert_eq!(d.table_size(1), 32, "next power of two >= 25");
        assert!(!d.shrink_to_fit(), "no shrinking while a child is saving");
        finish_rehash(&mut d);
        set_resize_allowed(true);
        assert_eq!(d.table_size(0), 32);
        d.assert_invariants();
    }

    #[test]
    fn replacing_a_value_in_a_full_table_also_starts_the_growth() {
        let mut d = dict_with(4);
        assert_eq!(d.insert(key(0), 99), Some(0));
        assert_eq!(
            d.table_size(1),
            8,
            "as in Redis, the check runs before the search"
        );
    }

    // -- shrinking --------------------------------------------------------

    #[test]
    fn shrink_to_fit_goes_from_1024_buckets_to_the_power_of_two_above_used() {
        let mut d = dict_with(1000);
        finish_rehash(&mut d);
        assert_eq!(d.table_size(0), 1024);
        for i in 100..1000 {
            d.remove(&key(i));
            if i == 800 {
                assert!(!d.needs_shrink(), "200 of 1024 is 19%: keep");
            }
        }
        assert!(d.needs_shrink(), "100 of 1024 is 9%: below 10%");
        assert!(d.shrink_to_fit());
        assert_eq!(
            (d.table_size(0), d.table_size(1), d.rehash_index()),
            (1024, 128, Some(0))
        );
        assert!(!d.shrink_to_fit(), "refused while rehashing");
        finish_rehash(&mut d);
        assert_eq!((d.table_size(0), d.table_used(0)), (128, 100));
        assert!(!d.needs_shrink());
        assert!(!d.shrink_to_fit(), "already the right size");
        d.assert_invariants();
    }

    #[test]
    fn expand_reports_every_refusal() {
        let mut d = dict_with(10);
        finish_rehash(&mut d);
        assert_eq!(d.expand(5), Err(ExpandError::SmallerThanUsed));
        assert_eq!(d.expand(16), Err(ExpandError::SameSize));
        assert_eq!(d.expand(usize::MAX), Err(ExpandError::TooLarge));
        assert_eq!(d.expand(17), Ok(()));
        assert_eq!(d.expand(64), Err(ExpandError::Rehashing));
        let mut fresh = TestDict::new();
        assert_eq!(fresh.expand(100), Ok(()));
        assert_eq!(
            (fresh.table_size(0), fresh.rehash_index()),
            (128, None),
            "first table needs no rehash"
        );
    }

    #[test]
    fn one_rehash_step_visits_at_most_ten_empty_buckets_per_bucket() {
        let mut d = TestDict::new();
        d.expand(1024).unwrap();
        let lone = keys_in_bucket("lone", 1023, 700, 1).pop().unwrap();
        d.insert(lone.clone(), 1);
        assert!(d.shrink_to_fit());
        assert_eq!(d.table_size(1), 4);
        assert!(d.rehash(1));
        assert_eq!(d.rehash_index(), Some(10), "gave up after 10 empty buckets");
        assert!(d.rehash(2));
        assert_eq!(d.rehash_index(), Some(30));
        assert!(d.rehash(50));
        assert_eq!(d.rehash_index(), Some(530));
        assert!(
            !d.rehash(50),
            "found the key at 700, moved it, and finished"
        );
        assert_eq!((d.table_size(0), d.get(&lone)), (4, Some(&1)));
    }

    // -- the API ----------------------------------------------------------

    #[test]
    fn insert_replace_keeps_the_stored_key_and_returns_the_old_value() {
        let mut d = TestDict::new();
        let original = b"a".to_vec();
        let original_ptr = original.as_ptr();
        assert_eq!(d.insert(original, 1), None);
        assert_eq!(d.insert(b"a".to_vec(), 2), Some(1));
        let (stored, value) = d.get_key_value(b"a").unwrap();
        assert_eq!((stored.as_ptr(), *value), (original_ptr, 2));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn try_insert_adds_only_absent_keys() {
        let mut d = TestDict::new();
        *d.try_insert(b"a".to_vec(), 1).unwrap() += 10;
        assert_eq!(d.try_insert(b"a".to_vec(), 2), Err((b"a".to_vec(), 2)));
        assert_eq!(d.get(b"a"), Some(&11));
    }

    #[test]
    fn get_or_insert_with_builds_the_key_only_when_absent() {
        let mut d = TestDict::new();
        let (v, inserted) = d.get_or_insert_with(b"f", || b"f".to_vec(), || 5);
        assert!(inserted);
        *v += 1;
        let (v, inserted) = d.get_or_insert_with(
            b"f",
            || panic!("key built twice"),
            || panic!("value built twice"),
        );
        assert_eq!((*v, inserted), (6, false));
        assert!(d.contains_key(b"f") && !d.contains_key(b"g"));
    }

    #[test]
    fn clear_frees_both_tables() {
        let mut d = dict_with(5);
        assert!(d.is_rehashing());
        d.clear();
        assert_eq!(
            (d.len(), d.table_size(0), d.table_size(1), d.rehash_index()),
            (0, 0, 0, None)
        );
        assert_eq!(d.mem_usage_estimate(), std::mem::size_of::<TestDict>());
        d.insert(key(1), 1);
        assert_eq!(d.table_size(0), INITIAL_SIZE);
    }

    #[test]
    fn iter_and_iter_mut_visit_each_entry_once_across_both_tables() {
        let mut d = dict_with(50);
        finish_rehash(&mut d);
        d.expand(256).unwrap();
        d.rehash(3);
        assert!(d.is_rehashing());
        for (_, v) in &mut d {
            *v *= 2;
        }
        let mut seen: Vec<u64> = d.iter().map(|(_, v)| *v).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn chain_lengths_and_memory_estimate_follow_the_tables() {
        let d = dict_with(5);
        for t in 0..2 {
            let lengths = d.chain_lengths(t);
            assert_eq!(lengths.len(), d.table_size(t));
            assert_eq!(lengths.iter().sum::<usize>(), d.table_used(t));
            let each: Vec<usize> = (0..d.table_size(t)).map(|b| d.chain_length(t, b)).collect();
            assert_eq!(each, lengths);
        }
        assert_eq!(d.chain_length(0, 999), 0);
        let ptr = std::mem::size_of::<usize>();
        assert!(
            d.mem_usage_estimate()
                >= std::mem::size_of::<TestDict>() + 12 * ptr + 5 * (3 * ptr + 8)
        );
        let pos = d.position_of(&key(4)).unwrap();
        assert_eq!(pos.bucket, hash_bytes(&key(4)) as usize & 7);
    }

    #[test]
    fn dropping_a_chain_of_a_million_entries_does_not_overflow_the_stack() {
        let mut table: Table<Vec<u8>, ()> = Table::with_size(4);
        for _ in 0..1_000_000 {
            let next = table.buckets[0].take();
            table.buckets[0] = Some(Box::new(Entry {
                key: Vec::new(),
                value: (),
                next,
            }));
        }
        drop(table);
    }

    // -- random sampling --------------------------------------------------

    #[test]
    fn random_entry_returns_members_and_eventually_all_of_them() {
        assert!(TestDict::new().random_entry().is_none());
        let mut d = dict_with(8);
        d.expand(64).unwrap_or(());
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let (k, v) = d.random_entry().unwrap();
            assert_eq!(k, &key(*v as usize));
            seen.insert(*v);
            let (k, v) = d.fair_random_entry().unwrap();
            assert_eq!(k, &key(*v as usize));
        }
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn sample_entries_returns_at_most_count_members() {
        let mut d = dict_with(300);
        d.insert(key(300), 300); // likely mid-rehash: both tables sampled
        for count in [0, 1, 5, 16, 300, 1000] {
            let sample = d.sample_entries(count);
            assert!(sample.len() <= count.min(301));
            for (k, v) in sample {
                assert_eq!(k, &key(*v as usize));
            }
        }
        // A dense table gives a full sample: 16 buckets in a row hold ~16 keys.
        finish_rehash(&mut d);
        assert!(d.sample_entries(16).len() >= 8);
    }

    // -- the safe cursor --------------------------------------------------

    #[test]
    fn safe_iter_lets_the_caller_delete_what_it_returns_and_insert_anywhere() {
        let mut d = dict_with(200);
        finish_rehash(&mut d);
        d.expand(2048).unwrap();
        d.rehash(20);
        assert!(d.is_rehashing());
        let mut returned = HashMap::new();
        let mut cursor = d.safe_iter();
        let mut step = 0;
        while let Some((k, v)) = d.safe_iter_next(&mut cursor) {
            *returned.entry(k.clone()).or_insert(0) += 1;
            *v += 1;
            let k = k.clone();
            if step % 2 == 0 {
                d.remove(&k);
            }
            if step % 3 == 0 {
                d.insert(format!("new:{step}").into_bytes(), 0);
            }
            assert!(d.is_rehashing_paused());
            step += 1;
        }
        assert!(
            !d.is_rehashing_paused(),
            "the end of the iteration resumes rehashing"
        );
        d.safe_iter_release(cursor);
        for i in 0..200 {
            assert_eq!(
                returned.get(&key(i)),
                Some(&1),
                "key {i} returned exactly once"
            );
        }
        assert!(returned.values().all(|&n| n == 1));
        d.assert_invariants();
    }

    #[test]
    fn safe_iter_visits_table_1_when_growth_starts_during_the_iteration() {
        let mut d = dict_with(4);
        let mut cursor = d.safe_iter();
        let mut originals = 0;
        let mut i = 100;
        while let Some((k, _)) = d.safe_iter_next(&mut cursor) {
            if k.starts_with(b"key:") && k != &key(100) && k != &key(101) {
                originals += 1;
            }
            if i < 102 {
                d.insert(key(i), i as u64); // the first one starts a rehash
                i += 1;
            }
        }
        assert_eq!(originals, 4);
        assert!(
            d.is_rehashing(),
            "the rehash began but could not advance while paused"
        );
        d.safe_iter_release(cursor);
        finish_rehash(&mut d);
        d.assert_invariants();
    }

    #[test]
    fn safe_iter_release_ends_an_iteration_early() {
        let mut d = dict_with(10);
        let mut cursor = d.safe_iter();
        assert!(d.safe_iter_next(&mut cursor).is_some());
        d.safe_iter_release(cursor);
        assert!(!d.is_rehashing_paused());
    }

    // -- SCAN -------------------------------------------------------------

    fn scan_all(d: &TestDict) -> (Vec<u64>, Vec<Vec<u8>>) {
        let (mut cursors, mut keys) = (Vec::new(), Vec::new());
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, |k, _| keys.push(k.clone()));
            cursors.push(cursor);
            if cursor == 0 {
                return (cursors, keys);
            }
        }
    }

    #[test]
    fn reversed_cursor_order_for_8_buckets_is_0_4_2_6_1_5_3_7() {
        assert_eq!(next_cursor(0b010, 0b111), 0b110);
        let mut d = dict_with(5);
        finish_rehash(&mut d);
        let (cursors, mut keys) = scan_all(&d);
        assert_eq!(cursors, [4, 2, 6, 1, 5, 3, 7, 0]);
        keys.sort();
        assert_eq!(
            keys,
            (0..5).map(key).collect::<Vec<_>>(),
            "each key exactly once"
        );
        assert_eq!(TestDict::new().scan(0, |_, _| panic!("empty")), 0);
    }

    #[test]
    fn scan_continues_without_misses_or_repeats_when_the_table_grows_from_8_to_16() {
        let mut d = dict_with(8);
        finish_rehash(&mut d);
        assert_eq!(d.table_size(0), 8);
        let mut keys = Vec::new();
        let mut cursor = 0;
        for _ in 0..3 {
            cursor = d.scan(cursor, |k, _| keys.push(k.clone()));
        }
        assert_eq!(cursor, 0b110, "visited 000, 100, 010");
        d.expand(16).unwrap();
        finish_rehash(&mut d);
        let mut cursors = Vec::new();
        while cursor != 0 {
            cursor = d.scan(cursor, |k, _| keys.push(k.clone()));
            cursors.push(cursor);
        }
        assert_eq!(
            cursors,
            [0b1110, 0b0001, 0b1001, 0b0101, 0b1101, 0b0011, 0b1011, 0b0111, 0b1111, 0]
        );
        keys.sort();
        assert_eq!(
            keys,
            (0..8).map(key).collect::<Vec<_>>(),
            "every key exactly once"
        );
    }

    #[test]
    fn scan_after_a_shrink_from_16_to_8_may_repeat_but_never_misses() {
        let mut d = TestDict::new();
        d.expand(16).unwrap();
        for i in 0..8 {
            d.insert(key(i), i as u64);
        }
        let mut keys = Vec::new();
        let mut cursor = 0;
        for _ in 0..3 {
            cursor = d.scan(cursor, |k, _| keys.push(k.clone()));
        }
        assert_eq!(cursor, 0b1100, "visited 0000, 1000, 0100");
        assert!(d.shrink_to_fit());
        finish_rehash(&mut d);
        assert_eq!(d.table_size(0), 8);
        let mut cursors = Vec::new();
        while cursor != 0 {
            cursor = d.scan(cursor, |k, _| keys.push(k.clone()));
            cursors.push(cursor);
        }
        assert_eq!(cursors, [0b010, 0b110, 0b001, 0b101, 0b011, 0b111, 0]);
        let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
        for k in keys {
            *counts.entry(k).or_default() += 1;
        }
        for i in 0..8 {
            let expected = if hash_bytes(&key(i)) & 0b1111 == 0b0100 {
                2
            } else {
                1
            };
            assert_eq!(
                counts[&key(i)],
                expected,
                "only keys of bucket 0100 come back twice"
            );
        }
    }

    #[test]
    fn scan_during_a_rehash_visits_the_small_bucket_and_both_expansions() {
        let mut d = dict_with(8);
        finish_rehash(&mut d);
        d.expand(16).unwrap();
        d.rehash(2);
        assert!(d.is_rehashing());
        let mut keys = Vec::new();
        let next = d.scan(0b010, |k, _| keys.push(k.clone()));
        assert_eq!(next, 0b110);
        keys.sort();
        let expected: Vec<_> = (0..8)
            .map(key)
            .filter(|k| hash_bytes(k) & 0b111 == 0b010)
            .collect();
        assert_eq!(keys, expected);
    }

    // -- DEBUG HTSTATS ----------------------------------------------------

    #[test]
    fn stats_of_an_empty_dict() {
        assert_eq!(
            TestDict::new().stats(true),
            "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
        );
    }

    #[test]
    fn stats_match_redis_for_a_table_with_one_collision() {
        let mut d = TestDict::new();
        for k in keys_in_bucket("a", 3, 1, 2)
            .into_iter()
            .chain(keys_in_bucket("b", 3, 2, 1))
        {
            d.insert(k, 0);
        }
        assert_eq!(
            d.stats(false),
            "Hash table 0 stats (main hash table):\n table size: 4\n number of elements: 3\n"
        );
        assert_eq!(
            d.stats(true),
            "Hash table 0 stats (main hash table):\n\
             \x20table size: 4\n\
             \x20number of elements: 3\n\
             \x20different slots: 2\n\
             \x20max chain length: 2\n\
             \x20avg chain length (counted): 1.50\n\
             \x20avg chain length (computed): 1.50\n\
             \x20Chain length distribution:\n\
             \x20  0: 2 (50.00%)\n\
             \x20  1: 1 (25.00%)\n\
             \x20  2: 1 (25.00%)\n"
        );
    }

    #[test]
    fn stats_show_the_rehashing_target_while_rehashing() {
        let mut d = TestDict::new();
        for b in 0..4 {
            d.insert(keys_in_bucket("k", 3, b, 1).pop().unwrap(), 0);
        }
        d.insert(b"fifth".to_vec(), 0);
        assert!(d.is_rehashing());
        assert_eq!(
            d.stats(true),
            "Hash table 0 stats (main hash table):\n\
             \x20table size: 4\n\
             \x20number of elements: 4\n\
             \x20different slots: 4\n\
             \x20max chain length: 1\n\
             \x20avg chain length (counted): 1.00\n\
             \x20avg chain length (computed): 1.00\n\
             \x20Chain length distribution:\n\
             \x20  1: 4 (100.00%)\n\
             Hash table 1 stats (rehashing target):\n\
             \x20table size: 8\n\
             \x20number of elements: 1\n\
             \x20different slots: 1\n\
             \x20max chain length: 1\n\
             \x20avg chain length (counted): 1.00\n\
             \x20avg chain length (computed): 1.00\n\
             \x20Chain length distribution:\n\
             \x20  0: 7 (87.50%)\n\
             \x20  1: 1 (12.50%)\n"
        );
    }

    #[test]
    fn stats_distribution_accounts_for_every_bucket_of_a_big_table() {
        let mut d = dict_with(3000);
        finish_rehash(&mut d);
        let text = d.stats(true);
        assert!(text.starts_with(
            "Hash table 0 stats (main hash table):\n table size: 4096\n number of elements: 3000\n"
        ));
        let buckets: usize = text
            .lines()
            .skip_while(|l| !l.contains("Chain length distribution"))
            .skip(1)
            .map(|l| {
                l.trim()
                    .split(' ')
                    .nth(1)
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(buckets, 4096);
    }

    // -- properties -------------------------------------------------------

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u64),
        TryInsert(u8, u64),
        GetOrInsert(u8, u64),
        Remove(u8),
        Get(u8),
        GetMut(u8),
        Rehash(usize),
        RehashFor,
        Shrink,
        Expand(usize),
        SetResizeAllowed(bool),
        Pause,
        Resume,
        Clear,
        RandomEntry,
        Sample(usize),
        SafeSweep(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Weights: mostly inserts and removes, so that tables grow to a
            // few hundred keys and shrink again; `Clear` rarely, or nothing
            // would ever get big.
            36 => (any::<u8>(), any::<u64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            6 => (any::<u8>(), any::<u64>()).prop_map(|(k, v)| Op::TryInsert(k, v)),
            6 => (any::<u8>(), any::<u64>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
            24 => any::<u8>().prop_map(Op::Remove),
            6 => any::<u8>().prop_map(Op::Get),
            6 => any::<u8>().prop_map(Op::GetMut),
            9 => (0usize..20).prop_map(Op::Rehash),
            3 => Just(Op::RehashFor),
            6 => Just(Op::Shrink),
            3 => (0usize..600).prop_map(Op::Expand),
            3 => any::<bool>().prop_map(Op::SetResizeAllowed),
            3 => Just(Op::Pause),
            3 => Just(Op::Resume),
            1 => Just(Op::Clear),
            3 => Just(Op::RandomEntry),
            3 => (0usize..40).prop_map(Op::Sample),
            3 => (2u64..5).prop_map(Op::SafeSweep),
        ]
    }

    fn pkey(k: u8) -> Vec<u8> {
        format!("k{k}").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn dict_behaves_like_a_hash_map_and_keeps_its_invariants(ops in prop::collection::vec(op(), 1..300)) {
            set_resize_allowed(true);
            let mut d = TestDict::new();
            let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
            let mut pauses = 0;
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(d.insert(pkey(k), v), model.insert(pkey(k), v)),
                    Op::TryInsert(k, v) => {
                        let absent = !model.contains_key(&pkey(k));
                        prop_assert_eq!(d.try_insert(pkey(k), v).is_ok(), absent);
                        model.entry(pkey(k)).or_insert(v);
                    }
                    Op::GetOrInsert(k, v) => {
                        let (value, inserted) = d.get_or_insert_with(&pkey(k), || pkey(k), || v);
                        prop_assert_eq!(inserted, !model.contains_key(&pkey(k)));
                        prop_assert_eq!(*value, *model.entry(pkey(k)).or_insert(v));
                    }
                    Op::Remove(k) => prop_assert_eq!(d.remove(&pkey(k)).map(|(_, v)| v), model.remove(&pkey(k))),
                    Op::Get(k) => prop_assert_eq!(d.get(&pkey(k)), model.get(&pkey(k))),
                    Op::GetMut(k) => {
                        if let Some(v) = d.get_mut(&pkey(k)) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&pkey(k)) {
                            *v = v.wrapping_add(1);
                        }
                    }
                    Op::Rehash(n) => {
                        let before = d.rehash_index();
                        let more = d.rehash(n);
                        prop_assert_eq!(more, d.is_rehashing());
                        if let (Some(a), Some(b)) = (before, d.rehash_index()) {
                            prop_assert!(b >= a);
                            prop_assert!(pauses > 0 || b - a <= n * 11 || n == 0, "a step stays bounded");
                        }
                    }
                    Op::RehashFor => { d.rehash_for(Duration::from_micros(50)); }
                    Op::Shrink => {
                        if d.needs_shrink() {
                            d.shrink_to_fit();
                        }
                    }
                    Op::Expand(n) => { let _ = d.expand(n); }
                    Op::SetResizeAllowed(on) => set_resize_allowed(on),
                    Op::Pause => { d.pause_rehashing(); pauses += 1; }
                    Op::Resume => if pauses > 0 { d.resume_rehashing(); pauses -= 1; },
                    Op::Clear => { d.clear(); model.clear(); }
                    Op::RandomEntry => {
                        match d.random_entry() {
                            Some((k, v)) => prop_assert_eq!(model.get(k), Some(v)),
                            None => prop_assert!(model.is_empty()),
                        }
                    }
                    Op::Sample(n) => {
                        let sample = d.sample_entries(n);
                        prop_assert!(sample.len() <= n.min(model.len()));
                        for (k, v) in sample {
                            prop_assert_eq!(model.get(k), Some(v));
                        }
                    }
                    Op::SafeSweep(m) => {
                        // Delete what the cursor returns, when the value is
                        // divisible by m: every key present at the start must
                        // come back exactly once.
                        let before: HashSet<Vec<u8>> = model.keys().cloned().collect();
                        let mut cursor = d.safe_iter();
                        let mut seen = HashSet::new();
                        while let Some((k, v)) = d.safe_iter_next(&mut cursor) {
                            prop_assert!(seen.insert(k.clone()), "returned twice");
                            if *v % m == 0 {
                                let k = k.clone();
                                d.remove(&k);
                                model.remove(&k);
                            }
                        }
                        prop_assert_eq!(seen, before);
                    }
                }
                prop_assert_eq!(d.len(), model.len());
                prop_assert_eq!(d.is_rehashing_paused(), pauses > 0);
                let contents: HashMap<Vec<u8>, u64> = d.iter().map(|(k, v)| (k.clone(), *v)).collect();
                prop_assert_eq!(&contents, &model);
                d.assert_invariants();
            }
            set_resize_allowed(true);
        }
    }

    #[derive(Debug, Clone)]
    enum ScanOp {
        InsertOthers(usize),
        RemoveOthers(usize),
        Rehash(usize),
        RehashToEnd,
        Shrink,
        Expand(usize),
        SetResizeAllowed(bool),
        Nothing,
    }

    fn scan_op() -> impl Strategy<Value = ScanOp> {
        prop_oneof![
            3 => (1usize..150).prop_map(ScanOp::InsertOthers),
            3 => (1usize..150).prop_map(ScanOp::RemoveOthers),
            2 => (0usize..50).prop_map(ScanOp::Rehash),
            1 => Just(ScanOp::RehashToEnd),
            2 => Just(ScanOp::Shrink),
            1 => (0usize..4096).prop_map(ScanOp::Expand),
            1 => any::<bool>().prop_map(ScanOp::SetResizeAllowed),
            2 => Just(ScanOp::Nothing),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn scan_returns_every_key_present_for_the_whole_iteration_while_the_table_resizes(
            stable in 0usize..200,
            others_before in 0usize..400,
            ops in prop::collection::vec(scan_op(), 1..40),
        ) {
            set_resize_allowed(true);
            let mut d = TestDict::new();
            for i in 0..stable {
                d.insert(key(i), 0);
            }
            let mut others: Vec<Vec<u8>> = Vec::new();
            let mut next_other = 0usize;
            let mut add_others = |d: &mut TestDict, others: &mut Vec<Vec<u8>>, n: usize| {
                for _ in 0..n {
                    // A bounded pool of other keys keeps the table, and so the
                    // number of SCAN calls, bounded.
                    let k = format!("other:{}", next_other % 1000).into_bytes();
                    next_other += 1;
                    if d.insert(k.clone(), 1).is_none() {
                        others.push(k);
                    }
                }
            };
            add_others(&mut d, &mut others, others_before);

            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut calls = 0usize;
            loop {
                cursor = d.scan(cursor, |k, _| { seen.insert(k.clone()); });
                calls += 1;
                prop_assert!(calls < 100_000, "SCAN did not terminate");
                if cursor == 0 {
                    break;
                }
                match ops[calls % ops.len()].clone() {
                    ScanOp::InsertOthers(n) => add_others(&mut d, &mut others, n),
                    ScanOp::RemoveOthers(n) => {
                        for _ in 0..n.min(others.len()) {
                            let k = others.swap_remove(random_below(others.len()));
                            d.remove(&k);
                        }
                    }
                    ScanOp::Rehash(n) => { d.rehash(n); }
                    ScanOp::RehashToEnd => finish_rehash(&mut d),
                    ScanOp::Shrink => { d.shrink_to_fit(); }
                    ScanOp::Expand(n) => { let _ = d.expand(n); }
                    ScanOp::SetResizeAllowed(on) => set_resize_allowed(on),
                    ScanOp::Nothing => {}
                }
            }
            for i in 0..stable {
                prop_assert!(seen.contains(&key(i)), "SCAN missed {:?}", String::from_utf8_lossy(&key(i)));
            }
            set_resize_allowed(true);
        }
    }
}
