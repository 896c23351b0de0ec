//! # The server: one thread owns the data
//!
//! Redis runs every command on one thread. That single fact explains most
//! of its behaviour: a command is atomic because nothing else runs while it
//! does; MULTI/EXEC needs no locks; a slow command (`KEYS *` on ten million
//! keys) stalls every client. We keep the model because it is the thing to
//! understand, and because it is fast: no locks, no contention, the data in
//! one core's cache.
//!
//! ## How a command travels
//!
//! ```text
//! socket ──read──▶ query buffer ──parse──▶ Args ──lookup──▶ Command row
//!                                                              │
//!   socket ◀──write── output buffer ◀──replies── run(Ctx, Args)◀┘
//! ```
//!
//! Each connection is a task on a single-threaded Tokio runtime
//! (`connection.rs`). When bytes arrive it parses *every* complete command
//! in the buffer, runs each one synchronously against the [`Server`] (a
//! plain `&mut`, borrowed from a `RefCell` that is never held across an
//! `.await`), and then writes all the replies with one `write`. A timer
//! task, the cron (`cron.rs`), ticks `hz` times a second to do background
//! work in small slices: expire keys, rehash dicts, close idle clients.
//!
//! ## The invariant
//!
//! No `.await` happens while a command runs. Everything a command touches
//! is in [`Server`] or in the [`Client`] it came from; the borrow of both
//! lasts exactly one batch of commands.
//!
//! ## The Redis C counterpart
//!
//! `src/server.c`: `processCommand` (the checks a command passes before it
//! runs, in order), `call` (run it, then time it for SLOWLOG, LATENCY and
//! INFO commandstats, and feed MONITOR), `serverCron`, `databasesCron`;
//! `src/ae.c` is the event loop Tokio replaces here.
//!
//! ## What we simplified
//!
//! Redis's event loop is its own 800 lines of `epoll` code (`ae.c`); we use
//! Tokio's, pinned to one thread (`current_thread` + `LocalSet`), which does
//! the same job. Redis 6+ can also use I/O threads for reading and writing
//! sockets; like Redis by default (`io-threads 1`), we don't.

pub mod blocking;
pub mod busy;
pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod cron;
pub mod info;
pub mod key_specs;
pub mod latency;
pub mod slowlog;
pub mod wake;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

pub use client::Client;
pub use command::{command_table, Command};
pub use config::Config;

use crate::db::Db;
use crate::object::RObj;
use crate::resp::{Args, Reply};
use command::{flags, LookupError};

/// Counters shown by `INFO stats`, reset by `CONFIG RESETSTAT`.
#[derive(Default, Debug)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    /// Estimated share of keys with a TTL that are already expired but not
    /// yet removed (the active cycle's view).
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub expire_cycle_cpu_milliseconds: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    /// Values UNLINK judged big enough to free in the background
    /// (INFO `lazyfreed_objects`; see `Value::free_effort`).
    pub lazyfreed_objects: u64,
    /// `errorstats`: count per error code (`ERR`, `WRONGTYPE`...).
    pub error_codes: BTreeMap<String, u64>,
    /// Samples of (time, commands, input bytes, output bytes) for the
    /// `instantaneous_*` fields; see `cron::track_instantaneous_metrics`.
    pub samples: info::MetricSamples,
}

/// Per-command counters for `INFO commandstats`.
#[derive(Default, Debug, Clone, Copy)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    /// Run times for LATENCY HISTOGRAM (`latency-tracking`).
    pub latency: latency::LatencyHistogram,
}

/// `CLIENT PAUSE`.
#[derive(Debug, Clone, Copy)]
pub struct Pause {
    pub until: Instant,
    /// `ALL` (true) or `WRITE` (false).
    pub all: bool,
}

/// Everything the server owns. One instance per server, borrowed mutably
/// for the length of one batch of commands or one cron tick.
pub struct Server {
    pub config: Config,
    pub dbs: Vec<Db>,
    /// Connected clients by id (ordered: CLIENT LIST lists by id).
    pub clients: BTreeMap<u64, Rc<RefCell<Client>>>,
    pub next_client_id: u64,
    pub stats: Stats,
    pub command_stats: Vec<CommandStats>,
    /// Changes since the last save (`server.dirty`): every write adds the
    /// number of keys it changed.
    pub dirty: u64,
    pub started: Instant,
    /// Random hex id of this run (INFO `run_id`).
    pub run_id: String,
    /// The address actually bound (the port may have been 0).
    pub local_addr: Option<SocketAddr>,
    pub config_file: Option<String>,
    /// The 24-bit LRU clock in seconds, refreshed by cron (`server.lruclock`).
    pub lru_clock: u32,
    /// The last clock reading, and wall time from a monotonic reading
    /// (Redis's cached `server.unixtime` / `server.mstime`).
    pub clock: CachedClock,
    /// The hz cron runs at now; with `dynamic-hz` it rises with the number
    /// of clients.
    pub hz: u32,
    /// `DEBUG SET-ACTIVE-EXPIRE 0|1`.
    pub active_expire_enabled: bool,
    pub slowlog: slowlog::SlowLog,
    pub latency: latency::LatencyMonitor,
    /// Clients in MONITOR mode.
    pub monitors: Vec<u64>,
    pub pause: Option<Pause>,
    /// Wakes clients waiting for a CLIENT PAUSE to end.
    pub unpause: Rc<Notify>,
    /// Clients with replies to write at the end of this turn of the loop,
    /// and the wake-up of the task that writes them (Redis's
    /// `clients_pending_write`; see `connection::write_replies_before_sleep`).
    pub pending_writes: Vec<Rc<RefCell<Client>>>,
    pub pending_writes_kick: Rc<wake::Wake>,
    /// `DEBUG REPLYBUFFER peak-reset-time` (ms, -1: never) and `resizing`:
    /// the client cron's reply buffer resizing (`client.rs`).
    pub reply_buffer_peak_reset_ms: i64,
    pub reply_buffer_resizing: bool,
    /// Set by SHUTDOWN; the accept loop and cron stop, then the process.
    pub shutdown_requested: bool,
    pub shutdown: Rc<Notify>,
    /// The accept loop's listeners, re-bound by `CONFIG SET port`/`bind`.
    pub listeners: connection::Listeners,
    /// Peak input/output buffer sizes seen recently (INFO clients).
    pub client_recent_max_input_buffer: usize,
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD`: list elements this big or bigger
    /// get a PLAIN quicklist node (0: the 1 GiB default). Global, as in
    /// Redis; list writes apply it to the list they touch.
    pub list_packed_threshold: usize,
    pub client_recent_max_output_buffer: usize,
    /// The highest `used_memory` seen (INFO `used_memory_peak`).
    pub peak_memory: u64,
    /// What the active expiry cycle carries from one run to the next.
    pub expire_cycle: crate::expire::ExpireCycleState,
    /// Clients parked by blocking commands, and keys ready to serve them.
    pub blocking: blocking::BlockingState,
    /// Channels and patterns with their subscribers (`pubsub`).
    pub pubsub: crate::pubsub::PubSubState,
    /// Watched keys and their watchers (`multi`).
    pub watch: crate::multi::WatchIndex,
    /// The visualizer's snapshot counter and event log (`introspect.rs`).
    pub anatomy: crate::introspect::Anatomy,
    /// RDB saves, the BGSAVE child, the last load (the persistence chapter).
    pub rdb: crate::rdb::PersistState,
    /// The eviction pool and its companions (`evict.rs`).
    pub evict: crate::evict::EvictState,
    /// `used_memory` when the server was created (INFO/MEMORY STATS
    /// `startup.allocated`).
    pub startup_memory: u64,
    /// Writes waiting to be sent to the AOF and replicas (`propagate`).
    pub propagate: crate::propagate::Propagation,
    /// The append-only file (`aof`).
    pub aof: crate::aof::Aof,
    /// The primary's replication state: id, offset, backlog, replicas.
    pub replication: crate::replication::Replication,
    /// The Lua interpreter, the script cache and the running script
    /// (`crate::scripting`).
    pub scripting: crate::scripting::Scripting,
    /// This server's `rename-command` lines, resolved against the table.
    pub renames: command::Renames,
    /// ACL users and the ACL log (`acl`).
    pub acl: crate::acl::AclState,
    /// MIGRATE's cached connections to its targets.
    pub migrate: crate::commands::migrate::MigrateSockets,
    /// Client-side caching's key table and BCAST prefixes.
    pub tracking: crate::tracking::Tracking,
    /// Loading and busy scripts: serving while one job holds the thread.
    pub busy: busy::BusyState,
}

impl Server {
    pub fn new(config: Config) -> Server {
        let dbs = (0..config.databases).map(Db::new).collect();
        let table = command_table();
        let hz = config.hz;
        Server {
            dbs,
            clients: BTreeMap::new(),
            next_client_id: 1,
            stats: Stats::default(),
            command_stats: vec![CommandStats::default(); table.stats_slots],
            dirty: 0,
            started: Instant::now(),
            run_id: random_hex(40),
            local_addr: None,
            config_file: None,
            lru_clock: lru_clock_now(),
            clock: CachedClock::now(),
            hz,
            active_expire_enabled: true,
            slowlog: slowlog::SlowLog::default(),
            latency: latency::LatencyMonitor::default(),
            monitors: Vec::new(),
            pause: None,
            unpause: Rc::new(Notify::new()),
            pending_writes: Vec::new(),
            pending_writes_kick: Rc::new(wake::Wake::new()),
            reply_buffer_peak_reset_ms: client::REPLY_PEAK_RESET_MS,
            reply_buffer_resizing: true,
            shutdown_requested: false,
            shutdown: Rc::new(Notify::new()),
            listeners: Default::default(),
            client_recent_max_input_buffer: 0,
            list_packed_threshold: 0,
            client_recent_max_output_buffer: 0,
            peak_memory: 0,
            expire_cycle: Default::default(),
            blocking: blocking::BlockingState::default(),
            pubsub: Default::default(),
            watch: Default::default(),
            anatomy: Default::default(),
            rdb: Default::default(),
            evict: Default::default(),
            startup_memory: crate::memory::used_memory() as u64,
            propagate: Default::default(),
            aof: Default::default(),
            replication: Default::default(),
            scripting: Default::default(),
            // A bad line stopped the server at startup (main.rs); here only
            // valid ones can arrive.
            renames: command::Renames::resolve(table, &config.rename_commands).unwrap_or_default(),
            acl: crate::acl::AclState::new(&config),
            migrate: Default::default(),
            tracking: Default::default(),
            busy: Default::default(),
            config,
        }
    }

    /// Run `f` on every connected client. `current` is the client whose
    /// command is running: its `RefCell` is already borrowed by the caller,
    /// so it is handed to `f` directly instead of being borrowed twice.
    pub fn for_each_client(&self, current: &mut Client, mut f: impl FnMut(&mut Client)) {
        for rc in self.clients.values() {
            match rc.try_borrow_mut() {
                Ok(mut c) => f(&mut c),
                Err(_) => f(current),
            }
        }
    }

    /// Ask every client task to look at its state (after CLIENT KILL etc.).
    pub fn wake_client(&self, id: u64) {
        if let Some(rc) = self.clients.get(&id) {
            // The task may be the one running now; a Notify permit is kept
            // until it next waits, so nothing is lost either way.
            let wake = match rc.try_borrow() {
                Ok(c) => c.wake.clone(),
                Err(_) => return,
            };
            wake.notify_one();
        }
    }
}

// ANCHOR: cached_clock
/// Redis reads the clock once per event and keeps it (`server.unixtime`,
/// `server.mstime`, refreshed by `updateCachedTime`) because a clock read
/// is not free: about 50 ns here, through the vDSO, and a round trip at
/// `redis-benchmark -P 1` made five of them (two of them Tokio's timer
/// wheel), a few tenths of a percent of the server's CPU each. A command
/// needs two, to time itself; everything else is derived or cached here.
#[derive(Clone, Copy, Debug)]
pub struct CachedClock {
    /// The latest reading, by cron or by the latest command: what a
    /// client's `last_interaction` is set to when its input runs (idle
    /// time is shown in seconds, so this is fine-grained enough).
    pub last: Instant,
    /// A wall-clock reading (Unix time in nanoseconds) and the monotonic
    /// instant it was taken at: the anchor that turns an `Instant` into
    /// Unix time. Refreshed by cron each tick, so a step of the wall clock
    /// shows within one tick. Nanoseconds, not milliseconds: two truncated
    /// terms could put `now` a millisecond behind the wall clock, and a
    /// client that sends `GETEX k PXAT <its now + 10000>` would read a
    /// PTTL of 10001 (Redis's own suite checks it).
    anchor: Instant,
    anchor_unix_ns: i64,
}

impl CachedClock {
    pub fn now() -> CachedClock {
        // The instant first: the wall reading, a few ns later, then errs
        // ahead, never behind.
        let anchor = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        CachedClock {
            last: anchor,
            anchor,
            anchor_unix_ns: unix,
        }
    }

    /// Unix milliseconds at `t` (an instant at or after the anchor).
    pub fn unix_ms_at(&self, t: Instant) -> i64 {
        let since = t.saturating_duration_since(self.anchor).as_nanos() as i64;
        (self.anchor_unix_ns + since) / 1_000_000
    }
}
// ANCHOR_END: cached_clock

/// Redis's LRU clock: seconds, modulo 2^24 (`LRU_CLOCK_MAX`).
pub fn lru_clock_now() -> u32 {
    (unix_ms() / 1000) as u32 & ((1 << 24) - 1)
}

/// Wall-clock time in Unix milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall-clock time in Unix microseconds.
pub fn unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap())
        .collect()
}

/// What a command function gets: the server, its client, and the time the
/// command started (Redis caches it too, so that every key a command
/// touches is judged against the same clock).
pub struct Ctx<'a> {
    pub server: &'a mut Server,
    pub client: &'a mut Client,
    pub cmd: &'static Command,
    /// Unix ms when the command started.
    pub now_ms: i64,
}

/// Keyspace event classes, Redis's `NOTIFY_*` bits; `notify-keyspace-events`
/// selects which are delivered.
/// These are the config module's `NOTIFY_*` bits under short names.
pub mod notify_class {
    use super::config as c;
    pub const KEYSPACE: u32 = c::NOTIFY_KEYSPACE;
    pub const KEYEVENT: u32 = c::NOTIFY_KEYEVENT;
    pub const GENERIC: u32 = c::NOTIFY_GENERIC;
    pub const STRING: u32 = c::NOTIFY_STRING;
    pub const LIST: u32 = c::NOTIFY_LIST;
    pub const SET: u32 = c::NOTIFY_SET;
    pub const HASH: u32 = c::NOTIFY_HASH;
    pub const ZSET: u32 = c::NOTIFY_ZSET;
    pub const EXPIRED: u32 = c::NOTIFY_EXPIRED;
    pub const EVICTED: u32 = c::NOTIFY_EVICTED;
    pub const STREAM: u32 = c::NOTIFY_STREAM;
    pub const KEY_MISS: u32 = c::NOTIFY_KEY_MISS;
    pub const MODULE: u32 = c::NOTIFY_MODULE;
    pub const NEW: u32 = c::NOTIFY_NEW;
}

impl Ctx<'_> {
    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.server.dbs[self.client.db]
    }

    pub fn reply(&mut self) -> &mut Reply {
        &mut self.client.reply
    }

    /// Look `key` up for reading and hand back the reply buffer with it:
    /// the object borrows the server and the reply the client, and a
    /// command usually needs both at once.
    pub fn read_key(&mut self, key: &[u8]) -> (Option<&mut RObj>, &mut Reply) {
        let obj = self.server.lookup_read(self.client.db, key, self.now_ms);
        (obj, &mut self.client.reply)
    }

    /// Like [`Ctx::read_key`], for a command that will modify the value.
    pub fn write_key(&mut self, key: &[u8]) -> (Option<&mut RObj>, &mut Reply) {
        let obj = self.server.lookup_write(self.client.db, key, self.now_ms);
        (obj, &mut self.client.reply)
    }

    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut RObj> {
        self.server.lookup_read(self.client.db, key, self.now_ms)
    }

    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut RObj> {
        self.server.lookup_write(self.client.db, key, self.now_ms)
    }

    /// Does `key` exist (after lazy expiry), without touching its clock?
    pub fn exists(&mut self, key: &[u8]) -> bool {
        !self.expire_if_needed(key) && self.server.dbs[self.client.db].dict.contains_key(key)
    }

    /// Lazy expiry of one key in the client's db (see
    /// `Server::expire_if_needed`): true if the key is logically expired.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.server
            .expire_if_needed(self.client.db, key, self.now_ms)
    }

    /// A new value for `key` (SET semantics: the TTL goes unless kept).
    pub fn set_key(&mut self, key: &[u8], value: RObj, keep_ttl: bool) {
        self.server.dbs[self.client.db].set(key, value, keep_ttl);
        self.signal_modified_key(key);
    }

    /// Delete `key` (expiry checked first); true if it existed.
    pub fn delete_key(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed(key);
        if self.server.dbs[self.client.db].delete(key).is_some() {
            self.signal_modified_key(key);
            true
        } else {
            false
        }
    }

    /// A new object stamped with the current access clock.
    pub fn new_object(&self, value: crate::object::Value) -> RObj {
        RObj::new(value, self.server.new_object_clock(self.now_ms))
    }

    /// Redis's `signalModifiedKey`: a key changed. WATCH (the transactions
    /// chapter) hooks in here to invalidate the transactions watching it.
    #[inline]
    pub fn signal_modified_key(&mut self, key: &[u8]) {
        self.signal_modified_key_in(self.client.db, key);
    }

    /// [`Ctx::signal_modified_key`] for a key in another database (MOVE,
    /// COPY ... DB).
    pub fn signal_modified_key_in(&mut self, db: usize, key: &[u8]) {
        if !self.server.watch.is_empty() {
            crate::multi::touch_watched_key(self.server, Some(self.client), db, key);
        }
        // A waited-on key that no longer holds a stream may strand an
        // XREADGROUP (its group went with the stream). Redis signals
        // deleted and overwritten streams from `dbGenericDelete` and
        // `dbSetValue`; every change passes here, so look at what the key
        // holds now. A key that still is a stream needs no signal from
        // here: the commands that feed a stream signal it themselves.
        if !self.server.blocking.waiters.is_empty() {
            let still_stream = self.server.dbs[db]
                .dict
                .get(key)
                .is_some_and(|v| v.obj_type() == crate::object::ObjType::Stream);
            if !still_stream {
                self.server.signal_key_as_ready(db, key);
            }
        }
        crate::tracking::invalidate_key(self.server, Some(self.client), key);
    }

    /// Redis's `notifyKeyspaceEvent`: publish on `__keyspace@<db>__:` and
    /// `__keyevent@<db>__:` if `notify-keyspace-events` selects `class`
    /// (see `crate::notify`).
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.notify_in(self.client.db, class, event, key);
    }

    /// [`Ctx::notify`] for a key in another database (MOVE's `move_to`,
    /// COPY's `copy_to`).
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        if self.server.config.notify_keyspace_events & class != 0 {
            crate::notify::notify_keyspace_event(
                self.server,
                Some(self.client),
                class,
                event,
                key,
                db,
            );
        }
    }

    /// Count `n` changes for the save rules and propagation (`server.dirty`).
    pub fn dirty(&mut self, n: u64) {
        self.server.dirty += n;
    }

    /// Errors every chapter uses, with Redis's text.
    pub fn wrong_type(&mut self) {
        self.client.reply.error(WRONGTYPE);
    }
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX_ERR: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";

impl Server {
    // ANCHOR: lookup_read
    /// Redis's `lookupKeyRead`: expire the key if its time has come, count
    /// a hit or a miss, refresh its access clock.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut RObj> {
        if self.expire_if_needed(db, key, now_ms) {
            self.stats.keyspace_misses += 1;
            self.key_miss(db, key);
            return None;
        }
        if self.key_miss_observed(db, key) {
            return None;
        }
        let lru = self.lru_clock;
        match self.dbs[db].dict.get_mut(key) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                crate::evict::touch(obj, &self.config, lru, now_ms, &mut self.evict);
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }
    // ANCHOR_END: lookup_read

    /// Redis's `lookupKeyWrite`: like a read but counts no hit or miss.
    pub fn lookup_write(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut RObj> {
        if self.expire_if_needed(db, key, now_ms) {
            return None;
        }
        let lru = self.lru_clock;
        let obj = self.dbs[db].dict.get_mut(key)?;
        crate::evict::touch(obj, &self.config, lru, now_ms, &mut self.evict);
        Some(obj)
    }

    /// `lookupKeyReadWithFlags(LOOKUP_NOTOUCH)`: a read lookup that counts
    /// a hit or a miss but leaves the access clock alone, for commands
    /// that inspect a key without using it (EXISTS, TYPE, TTL, OBJECT).
    pub fn lookup_read_no_touch(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&RObj> {
        if self.expire_if_needed(db, key, now_ms) {
            self.stats.keyspace_misses += 1;
            self.key_miss(db, key);
            return None;
        }
        if self.key_miss_observed(db, key) {
            return None;
        }
        match self.dbs[db].dict.get(key) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// With `keymiss` events on (class `m`), a read of a missing key is
    /// counted and announced here, before the lookup proper: the lookup
    /// hands out a borrow of the value, which rules out publishing from
    /// its miss branch. With the class off, this is one test.
    #[inline]
    fn key_miss_observed(&mut self, db: usize, key: &[u8]) -> bool {
        if self.config.notify_keyspace_events & notify_class::KEY_MISS == 0
            || self.dbs[db].dict.contains_key(key)
        {
            return false;
        }
        self.stats.keyspace_misses += 1;
        self.key_miss(db, key);
        true
    }

    /// A read found no key: the `keymiss` event (class `m`).
    #[inline]
    fn key_miss(&mut self, db: usize, key: &[u8]) {
        if self.config.notify_keyspace_events & notify_class::KEY_MISS != 0 {
            crate::notify::notify_keyspace_event(
                self,
                None,
                notify_class::KEY_MISS,
                "keymiss",
                key,
                db,
            );
        }
    }

    /// Bookkeeping for a key removed because its TTL passed: the stats,
    /// the `expired` event, and WATCH (an expiry is a change). The
    /// propagation of a DEL to the AOF and the replicas hooks in here with
    /// the persistence chapter.
    pub fn key_expired(&mut self, db: usize, key: &[u8]) {
        self.stats.expired_keys += 1;
        if self.config.notify_keyspace_events & notify_class::EXPIRED != 0 {
            crate::notify::notify_keyspace_event(
                self,
                None,
                notify_class::EXPIRED,
                "expired",
                key,
                db,
            );
        }
        crate::multi::touch_watched_key(self, None, db, key);
        crate::tracking::invalidate_key(self, None, key);
        let lazy = self.config.lazyfree_lazy_expire;
        crate::propagate::propagate_del(self, db, key, lazy);
        // An expired stream strands its XREADGROUP waiters, as a DEL would.
        self.signal_key_as_ready(db, key);
    }

    /// An evicted key reaches the AOF (and later the replicas) as a DEL,
    /// or UNLINK with `lazyfree-lazy-eviction` (Redis's `propagateDeletion`
    /// in `performEvictions`).
    pub fn propagate_eviction(&mut self, db: usize, key: &[u8]) {
        let lazy = self.config.lazyfree_lazy_eviction;
        crate::propagate::propagate_del(self, db, key, lazy);
        self.signal_key_as_ready(db, key);
    }

    /// Is this client allowed to run commands now, or is it held by
    /// CLIENT PAUSE? (Writes only, or everything, until `until`.)
    pub fn paused_for(&mut self, cmd: &Command, exec_of_writes: bool) -> Option<Instant> {
        let pause = self.pause?;
        if Instant::now() >= pause.until {
            self.pause = None;
            self.unpause.notify_waiters();
            return None;
        }
        let affected =
            pause.all || cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE) || exec_of_writes;
        affected.then_some(pause.until)
    }
}

/// What processing one command asked of the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// CLIENT PAUSE holds this client until the given instant; the command
    /// was not run and must be retried.
    Paused(Instant),
}

// ANCHOR: process_command
/// Redis's `processCommand`: find the command, run the checks in Redis's
/// order, and call it.
pub fn process_command(server: &mut Server, client: &mut Client, args: Args) -> Flow {
    let table = command_table();
    let cmd = match server.renames.lookup(table, args) {
        Ok(cmd) => cmd,
        Err(LookupError::Unknown(msg)) | Err(LookupError::UnknownSubcommand(msg)) => {
            reject_bytes(server, client, None, &msg);
            return Flow::Continue;
        }
        Err(LookupError::Arity(msg)) => {
            let cmd = table.get(args.get(0));
            if let Some(c) = cmd {
                server.command_stats[c.stats_index].rejected_calls += 1;
            }
            reject(server, client, cmd, &msg);
            return Flow::Continue;
        }
    };
    client.last_command = cmd.full_name;
    // Protected commands (DEBUG) need `enable-debug-command`.
    if let Some(msg) = crate::commands::server::protected_command_refusal(server, client, cmd) {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(server, client, Some(cmd), &msg);
        return Flow::Continue;
    }
    // Authentication: before AUTH, only no-auth commands (AUTH, HELLO, QUIT).
    if !client.authenticated
        && crate::acl::default_requires_auth(server)
        && !cmd.has(flags::NO_AUTH)
    {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(server, client, Some(cmd), "NOAUTH Authentication required.");
        return Flow::Continue;
    }
    if client.multi.active && cmd.has(flags::NO_MULTI) {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(
            server,
            client,
            Some(cmd),
            "ERR Command not allowed inside a transaction",
        );
        return Flow::Continue;
    }
    // The user's ACL rules: the command, its keys, its channels (`acl`).
    if let Some(msg) = crate::acl::refusal(server, client, cmd, args) {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(server, client, Some(cmd), &msg);
        return Flow::Continue;
    }
    // Over `maxmemory`: evict first; if that cannot free enough, refuse
    // what could grow memory (denyoom commands, and anything queued in
    // MULTI except EXEC/DISCARD/QUIT/RESET). See `evict.rs`.
    if server.config.maxmemory > 0 && crate::evict::refuse_for_oom(server, client, cmd) {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(server, client, Some(cmd), crate::evict::OOM_ERR);
        return Flow::Continue;
    }
    // A failed BGSAVE with `stop-writes-on-bgsave-error yes`: refuse
    // writes (and PING) until a save succeeds (the persistence chapter).
    if let Some(msg) = crate::commands::persistence::writes_denied_by_disk_error(server) {
        let writes = cmd.has(flags::WRITE)
            || (cmd.full_name == "exec"
                && client.multi.queued.iter().any(|(c, _)| c.has(flags::WRITE)));
        if writes || cmd.full_name == "ping" {
            server.command_stats[cmd.stats_index].rejected_calls += 1;
            reject(server, client, Some(cmd), msg);
            return Flow::Continue;
        }
    }
    // `min-replicas-to-write`: too few good replicas, no writes (the
    // replication chapter; Redis's `checkGoodReplicasStatus`).
    if server.config.min_replicas_to_write > 0 {
        let writes = cmd.has(flags::WRITE)
            || (cmd.full_name == "exec"
                && client.multi.queued.iter().any(|(c, _)| c.has(flags::WRITE)));
        if writes && !crate::replication::enough_good_replicas(server, Some(client)) {
            server.command_stats[cmd.stats_index].rejected_calls += 1;
            reject(
                server,
                client,
                Some(cmd),
                crate::replication::NOREPLICAS_ERR,
            );
            return Flow::Continue;
        }
    }
    // A replica refuses writes (`replica-read-only`) and, with its link
    // down, stale reads (`replica-serve-stale-data no`).
    if let Some(msg) = crate::replication::replica::refusal(server, client, cmd) {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(server, client, Some(cmd), msg);
        return Flow::Continue;
    }
    // RESP2 subscribed mode: replies and messages would be indistinguishable
    // arrays, so only the subscription commands are allowed (the pubsub
    // chapter). RESP3 tells them apart (push frames): no limit there.
    if client.pubsub.active()
        && !client.reply.is_resp3()
        && !crate::pubsub::allowed_in_subscribed_mode(cmd)
    {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        let msg = crate::pubsub::subscribed_mode_error(cmd);
        reject(server, client, Some(cmd), &msg);
        return Flow::Continue;
    }
    // Loading, or a script past `busy-reply-threshold`: only commands
    // flagged `loading` / `allow_busy` run (`busy.rs`).
    if server.busy.active() {
        if let Some(msg) = busy::refusal(server, client, cmd) {
            server.command_stats[cmd.stats_index].rejected_calls += 1;
            reject(server, client, Some(cmd), msg);
            return Flow::Continue;
        }
    }
    // A MONITOR connection is a replica in Redis's eyes (it is fed the
    // command stream), and a replica may not touch the keyspace.
    if client.monitor
        && (cmd.has(flags::WRITE) || cmd.has(flags::READONLY) || cmd.has(flags::MAY_REPLICATE))
    {
        server.command_stats[cmd.stats_index].rejected_calls += 1;
        reject(
            server,
            client,
            Some(cmd),
            "ERR Replica can't interact with the keyspace",
        );
        return Flow::Continue;
    }
    let exec_of_writes = cmd.full_name == "exec" && crate::multi::queued_may_replicate(client);
    if let Some(until) = server.paused_for(cmd, exec_of_writes) {
        // A script that declares `no-writes` runs during a write pause.
        if !crate::commands::scripting::declares_no_writes(server, cmd.full_name, args) {
            return Flow::Paused(until);
        }
    }
    // Inside MULTI, a command is stored for EXEC instead of run.
    if client.multi.active && !crate::multi::runs_inside_multi(cmd) {
        let reply_start = client.reply.len();
        crate::multi::queue_command(client, cmd, args);
        apply_reply_mode(client, reply_start);
        return Flow::Continue;
    }
    call(server, client, cmd, args);
    // The command may have fed keys that parked clients wait on.
    if !server.blocking.ready.is_empty() {
        server.handle_clients_blocked_on_keys();
        crate::multi::after_command(server, client);
    }
    Flow::Continue
}
// ANCHOR_END: process_command

/// CLIENT REPLY OFF|SKIP: the command ran (or was rejected), its reply is
/// dropped, and a SKIP lasts exactly one command. The mode is read after
/// the command, as Redis checks it when a reply is added: CLIENT REPLY ON
/// and RESET turn replies back on and their own answer goes out.
fn apply_reply_mode(client: &mut Client, reply_start: usize) {
    let skip_reply = matches!(
        client.reply_mode,
        client::ReplyMode::Off | client::ReplyMode::Skip
    );
    if skip_reply && client.reply.len() > reply_start {
        client.reply.truncate(reply_start);
    }
    // Pub/sub frames set aside under OFF/SKIP are delivered all the same.
    if !client.pushed.is_empty() {
        let pushed = std::mem::take(&mut client.pushed);
        client.reply.raw(&pushed);
    }
    match client.reply_mode {
        client::ReplyMode::Skip => client.reply_mode = client::ReplyMode::On,
        client::ReplyMode::SkipNext => client.reply_mode = client::ReplyMode::Skip,
        _ => {}
    }
}

/// Answer a command refused before it ran (unknown, wrong arity, NOAUTH),
/// as Redis's `rejectCommand`: inside MULTI the refusal dooms the
/// transaction, and a refused EXEC ends it with `EXECABORT`.
fn reject(server: &mut Server, client: &mut Client, cmd: Option<&Command>, msg: &str) {
    reject_bytes(server, client, cmd, msg.as_bytes())
}

/// [`reject`] with a message that quotes the client's bytes verbatim.
fn reject_bytes(server: &mut Server, client: &mut Client, cmd: Option<&Command>, msg: &[u8]) {
    let reply_start = client.reply.len();
    crate::multi::flag_transaction(client);
    let abort;
    let msg = if cmd.is_some_and(|c| c.full_name == "exec") {
        crate::multi::discard_transaction(server, client);
        let mut m = b"EXECABORT Transaction discarded because of: ".to_vec();
        m.extend_from_slice(msg.strip_prefix(b"ERR ").unwrap_or(msg));
        abort = m;
        &abort
    } else {
        msg
    };
    client.reply.error_bytes(msg);
    client.reply.errors.clear();
    server.stats.total_error_replies += 1;
    let code = msg.split(|&b| b == b' ').next().unwrap_or(b"ERR");
    *server
        .stats
        .error_codes
        .entry(String::from_utf8_lossy(code).into_owned())
        .or_default() += 1;
    apply_reply_mode(client, reply_start);
}

// ANCHOR: call
/// Redis's `call`: run the command, then account for it.
pub fn call(server: &mut Server, client: &mut Client, cmd: &'static Command, args: Args) {
    let reply_start = client.reply.len();
    let dirty_before = server.dirty;
    crate::notify::track_new_keys(server);
    if server.tracking.clients > 0 {
        crate::tracking::before_command(server, client);
    }
    // One clock read gives both the command's `now` and the start of its
    // duration, as Redis's `call` takes one `ustime()` for both.
    let started = Instant::now();
    server.clock.last = started;
    server.propagate.enter();
    {
        let mut ctx = Ctx {
            now_ms: server.clock.unix_ms_at(started),
            server: &mut *server,
            client: &mut *client,
            cmd,
        };
        (cmd.def.run)(&mut ctx, args);
    }
    // A created key whose command fired no event still announces `new`.
    if server.dbs.first().is_some_and(|d| d.record_created) {
        crate::notify::flush_new_key_events(server, Some(&mut *client));
    }
    let elapsed = started.elapsed();
    let usec = elapsed.as_micros() as u64;
    let offset_before = server.replication.master_repl_offset;
    crate::propagate::after_call(server, client.db, cmd, args, dirty_before);
    // WAIT waits for the stream offset of this client's last write.
    if server.replication.master_repl_offset != offset_before {
        client.write_offset = server.replication.master_repl_offset;
    }

    // Errors the command replied with: INFO errorstats and failed_calls.
    let stats = &mut server.command_stats[cmd.stats_index];
    stats.calls += 1;
    stats.usec += usec;
    if server.config.latency_tracking {
        stats.latency.record(usec);
    }
    if !client.reply.errors.is_empty() {
        stats.failed_calls += 1;
        for code in client.reply.errors.drain(..) {
            server.stats.total_error_replies += 1;
            *server.stats.error_codes.entry(code).or_default() += 1;
        }
    }
    server.stats.total_commands_processed += 1;

    // Client-side caching: remember what a tracking client read; send
    // what its command invalidated for itself, after the reply.
    if cmd.has(flags::READONLY) && client.tracking.on && !client.tracking.bcast {
        crate::tracking::remember_keys(server, client, cmd, args);
    }
    crate::tracking::after_command(server, client, cmd);

    // Messages and WATCH touches that could not reach this client while
    // its command held it.
    crate::multi::after_command(server, client);

    apply_reply_mode(client, reply_start);

    // The latency monitor samples every command (fast ones under their own
    // event name); only the slow log honours `skip_slowlog`.
    let event = if cmd.has(flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    server
        .latency
        .observe(event, elapsed, server.config.latency_monitor_threshold);
    if !cmd.has(flags::SKIP_SLOWLOG) {
        let threshold = server.config.slowlog_log_slower_than;
        if threshold >= 0 && usec as i64 >= threshold {
            server
                .slowlog
                .push(client, args, usec, server.config.slowlog_max_len);
        }
    }
    if !server.monitors.is_empty() && !cmd.has(flags::ADMIN) && !cmd.has(flags::SKIP_MONITOR) {
        feed_monitors(server, client, args);
    }
    if !client.redacted_args.is_empty() {
        client.redacted_args.clear();
    }
}
// ANCHOR_END: call

/// MONITOR's line: `+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
pub fn feed_monitors(server: &mut Server, client: &mut Client, args: Args) {
    let us = unix_us();
    // A command a script runs shows `lua` where the address would be.
    let addr: &dyn std::fmt::Display = if client.lua { &"lua" } else { &client.addr };
    let mut line = format!(
        "{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        addr
    );
    for i in 0..args.len() {
        line.push(' ');
        line.push_str(&quote_repr(crate::acl::shown_arg(client, args, i)));
    }
    let ids = server.monitors.clone();
    for id in ids {
        if id == client.id {
            // A monitor sees its own commands too (after their replies);
            // its RefCell is the one borrowed by the caller.
            client.reply.simple(&line);
            continue;
        }
        if let Some(rc) = server.clients.get(&id) {
            if let Ok(mut m) = rc.try_borrow_mut() {
                m.reply.simple(&line);
                connection::enforce_output_limit(&server.config, &mut m);
                m.wake.notify_one();
            }
        }
    }
}

/// Redis's `sdscatrepr`: a quoted, escaped rendering of binary data.
pub fn quote_repr(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

// ANCHOR: load_data_from_disk
/// Redis's `loadDataFromDisk`: with `appendonly yes` the AOF is the truth
/// and the RDB file is ignored; otherwise the RDB file, if there is one.
pub fn load_data_from_disk(server: &mut Server) -> Result<(), String> {
    // Users first, as Redis's `ACLLoadUsersAtStartup` runs before the data.
    crate::acl::load_users_at_startup(server)?;
    if server.config.appendonly {
        crate::aof::load_at_startup(server)
    } else {
        crate::commands::persistence::load_at_startup(server)
    }
}
// ANCHOR_END: load_data_from_disk

/// A running server in this process: what tests and `demo` use.
pub struct ServerHandle {
    pub addr: SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ServerHandle {
    /// Stop the server and wait for its thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Start a server on its own thread (its own single-threaded runtime) and
/// return once it is listening. Port 0 picks a free port.
pub fn spawn(config: Config) -> std::io::Result<ServerHandle> {
    spawn_inner(config, false)
}

/// Like [`spawn`], but return as soon as the port is bound, while the
/// dataset is still loading (answering `-LOADING`; see `busy.rs`). A load
/// that fails stops the server instead of failing this call.
pub fn spawn_loading(config: Config) -> std::io::Result<ServerHandle> {
    spawn_inner(config, true)
}

fn spawn_inner(config: Config, return_before_load: bool) -> std::io::Result<ServerHandle> {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("redis-anatomy".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                match connection::bind(&config).await {
                    Ok(listeners) => {
                        let addr = listeners[0].local_addr().expect("local addr");
                        let server = Rc::new(RefCell::new(Server::new(config)));
                        server.borrow_mut().local_addr = Some(addr);
                        server.borrow_mut().busy.listen_fds = connection::listen_fds(&listeners);
                        if return_before_load {
                            let _ = addr_tx.send(Ok(addr));
                        }
                        if let Err(e) = load_data_from_disk(&mut server.borrow_mut()) {
                            let _ = addr_tx.send(Err(std::io::Error::other(e)));
                            return;
                        }
                        let _ = addr_tx.send(Ok(addr));
                        let serving = server.clone();
                        // A task, not this future: see `run`.
                        let _ = tokio::task::spawn_local(async move {
                            tokio::select! {
                                _ = connection::serve(serving, listeners) => {}
                                _ = stop_rx => {}
                            }
                        })
                        .await;
                        connection::close_all(&server);
                        crate::aof::on_shutdown(&mut server.borrow_mut());
                    }
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                    }
                }
            });
        })?;
    let addr = addr_rx
        .recv()
        .map_err(|_| std::io::Error::other("server thread died"))??;
    Ok(ServerHandle {
        addr,
        thread: Some(thread),
        stop: Some(stop_tx),
    })
}

/// Run a server on this thread until SHUTDOWN or a signal: what `main` does.
pub fn run(config: Config, config_file: Option<String>) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listeners = connection::bind(&config).await?;
        let addr = listeners[0].local_addr()?;
        let mut fresh = Server::new(config);
        fresh.local_addr = Some(addr);
        fresh.config_file = config_file;
        // Listening already: a client connecting during the load is
        // accepted and answered `-LOADING` (`busy.rs`).
        fresh.busy.listen_fds = connection::listen_fds(&listeners);
        if let Err(e) = load_data_from_disk(&mut fresh) {
            // `main` prints it and exits non-zero; the files are left alone.
            return Err(std::io::Error::other(e));
        }
        let server = Rc::new(RefCell::new(fresh));
        eprintln!(
            "{} * Redis Anatomy ready to accept connections on {}",
            std::process::id(),
            listeners
                .iter()
                .filter_map(|l| l.local_addr().ok())
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let sigterm = async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
                let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
        };
        // ANCHOR: main_task
        // Serving runs as a task of the LocalSet, and this future only
        // waits for it to end. `LocalSet::run_until` polls its own future
        // each time any task is woken, so whatever sits here is polled once
        // per turn of the loop: a `select!` over SIGTERM, SIGINT, SHUTDOWN
        // and re-binding here cost every round trip about 1% of the
        // server's CPU time at `redis-benchmark -P 1` (perf); a JoinHandle
        // costs one atomic load.
        let serving = server.clone();
        let _ = tokio::task::spawn_local(async move {
            tokio::select! {
                _ = connection::serve(serving, listeners) => {}
                _ = sigterm => {
                    eprintln!("{} # Received signal, scheduling shutdown...", std::process::id());
                }
            }
        })
        .await;
        // ANCHOR_END: main_task
        connection::close_all(&server);
        crate::aof::on_shutdown(&mut server.borrow_mut());
        eprintln!(
            "{} # Redis Anatomy is now ready to exit, bye bye...",
            std::process::id()
        );
        Ok::<(), std::io::Error>(())
    })
}

/// Per-command counters for INFO, by full name.
pub fn command_stats_by_name(server: &Server) -> HashMap<&'static str, CommandStats> {
    let table = command_table();
    table
        .stats_names
        .iter()
        .zip(server.command_stats.iter())
        .map(|(n, s)| (*n, *s))
        .collect()
}

/// How long until `deadline`, at least zero.
pub fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
