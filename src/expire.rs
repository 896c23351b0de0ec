//! # Expiry: lazy and active
//!
//! A key with a TTL must disappear when its time comes, but a server with
//! a million volatile keys cannot keep a timer per key. Redis combines two
//! cheap mechanisms, and neither alone would do:
//!
//! - **Lazy expiry.** Every lookup first asks "has this key's time
//!   passed?" and, if so, deletes it and reports it missing
//!   ([`Server::expire_if_needed`]). A client can never read a dead key,
//!   whatever the background work has or has not done. But a key nobody
//!   asks for again would stay in memory forever.
//! - **Active expiry.** So `hz` times a second the cron walks a slice of
//!   each database's `expires` table and deletes the dead keys it finds
//!   ([`active_expire_cycle`]). It is a sampling process, not a sweep: if
//!   a sample was mostly alive, the database probably is too, and the
//!   cycle moves on; if more than 10% of it was dead, there are probably
//!   many more, and it samples again, until the share drops or its time
//!   budget runs out.
//!
//! ## The invariants
//!
//! - Correctness never depends on the active cycle: lazy expiry alone
//!   guarantees no command sees an expired key. The active cycle only
//!   bounds *memory*: the share of logically expired keys still stored
//!   stays near `acceptable_stale` (10% at the default effort) of the
//!   keys with a TTL.
//! - Bounded work: one slow cycle spends at most 25% of a core
//!   (`1_000_000 µs × 25% / hz` per tick), checked every 16 sampling
//!   rounds; one round stops once it has seen `keys_per_loop` keys (it
//!   finishes the bucket it is in) or visited `20 × keys_per_loop`
//!   buckets, so a sparse table cannot make a round long.
//! - While clients are paused (`CLIENT PAUSE`), nothing expires: the
//!   dataset must stay still (a failover may be in progress). Lookups
//!   still *report* a dead key as missing; they just don't delete it yet.
//!
//! ## Worked example, default effort (1), hz 10
//!
//! The budget per tick is 1,000,000 µs × 25% / 10 = 25,000 µs. The cycle
//! visits up to 16 databases, starting after the one where the previous
//! cycle stopped. In each, a round walks `expires` from the saved cursor
//! until it has seen 20 keys (or 400 buckets):
//!
//! ```text
//! round 1: 20 sampled, 15 dead  → 75% > 10%: sample again
//! round 2: 20 sampled,  6 dead  → 30% > 10%: again
//! round 3: 20 sampled,  1 dead  →  5% ≤ 10%: next database
//! ```
//!
//! Raising `active-expire-effort` to 10 samples 65 keys a round, accepts
//! only 1% stale keys and allows 43% of a core.
//!
//! ## The Redis C counterpart
//!
//! `src/expire.c`: `activeExpireCycle` (the slow cycle) and
//! `activeExpireCycleTryExpire`; `src/db.c`: `expireIfNeeded`,
//! `keyIsExpired`, `deleteExpiredKeyAndPropagate`, `dbRandomKey` (whose
//! loop needs the same care, see `commands/keys.rs`).
//!
//! ## What we simplified
//!
//! - Redis also runs a *fast* cycle (at most 1 ms, from `beforeSleep`,
//!   before each wait for events) when the last slow cycle ran out of
//!   time or the stale estimate is high; we run only the slow one, from
//!   cron. A server flooded with expiring keys therefore reclaims them a
//!   little more slowly here.
//! - Redis walks `expires` bucket by bucket with a plain counter; we walk
//!   it with the dict's SCAN cursor, which visits each bucket once per
//!   pass even while the table is rehashing. A wrap of the cursor ends the
//!   round, so a small table is not sampled twice in one round.
//! - Replicas, which leave expiry to their master, come with the
//!   replication chapter; so do the DELs that propagate an expiry to the
//!   AOF and the replicas (`Server::key_expired` is where they hook in).

use std::time::{Duration, Instant};

use crate::db::ExpireCheck;
use crate::server::{unix_ms, Server};

/// Keys sampled per round at effort 1 (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: u64 = 20;
/// Share of a core the slow cycle may use, in % (`..._SLOW_TIME_PERC`).
const SLOW_TIME_PERC: u64 = 25;
/// Sample a db again while more than this % of a sample was expired
/// (`ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`).
const ACCEPTABLE_STALE: u64 = 10;
/// Databases visited per cycle (`CRON_DBS_PER_CALL`).
const DBS_PER_CALL: usize = 16;
/// A dict's smallest table (`DICT_HT_INITIAL_SIZE`): below it, a table is
/// never considered too sparse to sample.
const DICT_INITIAL_SIZE: usize = 4;

/// What the active cycle remembers between two runs (Redis keeps these
/// in `static` variables inside `activeExpireCycle`).
#[derive(Debug, Default)]
pub struct ExpireCycleState {
    /// The next database to visit: a cycle that ran out of time resumes
    /// after the last database it worked on, so one huge database cannot
    /// starve the others.
    pub current_db: usize,
    /// The previous cycle hit its time limit: there is a backlog, so the
    /// next one visits every database instead of at most 16.
    pub timelimit_exit: bool,
    /// Microseconds of cycle time not yet counted into INFO's
    /// `expire_cycle_cpu_milliseconds` (a cycle usually takes far less
    /// than a millisecond; dropping the remainder would count nothing).
    pub unreported_us: u64,
}

// ANCHOR: expire_lazy
impl Server {
    /// Lazy expiry (Redis's `expireIfNeeded`): true if `key` is logically
    /// expired, in which case the caller must treat it as missing.
    ///
    /// Every outcome:
    /// - no TTL, or its time has not passed: false, nothing changes;
    /// - expired, clients not paused: the key is deleted, counted in
    ///   `expired_keys` (and, later, an `expired` event and a DEL
    ///   propagated); true;
    /// - expired while clients are paused: true, but the key stays until
    ///   the pause ends, so that the dataset does not change under a
    ///   failover.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        if crate::replication::replica::is_replica(self) {
            // A replica never deletes: the primary's DEL will. Until then
            // the key reads as gone, except to the master client, which
            // must find what its primary found (Redis's `expireIfNeeded`).
            return !self.replication.replica.applying && self.dbs[db].is_expired(key, now_ms);
        }
        if self.expiry_paused() {
            return self.dbs[db].is_expired(key, now_ms);
        }
        if self.dbs[db].expire_if_needed(key, now_ms) == ExpireCheck::Deleted {
            self.key_expired(db, key);
            true
        } else {
            false
        }
    }

    /// Are expiry deletions on hold? True while a `CLIENT PAUSE` lasts
    /// (Redis's `checkClientPauseTimeoutAndReturnIfPaused`), and always on
    /// a replica (only its primary expires keys).
    pub fn expiry_paused(&self) -> bool {
        crate::replication::replica::is_replica(self)
            || matches!(self.pause, Some(p) if Instant::now() < p.until)
    }
}
// ANCHOR_END: expire_lazy

// ANCHOR: active_expire_cycle
/// The slow active expiry cycle, run by cron `hz` times a second.
pub fn active_expire_cycle(s: &mut Server) {
    if s.expiry_paused() {
        return;
    }
    // Effort 1..10 rescaled to 0..9: each step samples more, tolerates
    // fewer stale keys and allows a little more CPU.
    let effort = s.config.active_expire_effort.clamp(1, 10) as u64 - 1;
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
    let acceptable_stale = ACCEPTABLE_STALE - effort;
    let time_limit = slow_cycle_time_limit(s.config.active_expire_effort, s.hz);

    let dbnum = s.dbs.len();
    let dbs_per_call = if s.expire_cycle.timelimit_exit {
        dbnum
    } else {
        DBS_PER_CALL.min(dbnum)
    };
    s.expire_cycle.timelimit_exit = false;

    let started = Instant::now();
    let mut iteration = 0u64;
    let mut total_sampled = 0u64;
    let mut total_expired = 0u64;
    // Names of the dead keys found by one round, back to back; reused.
    let mut dead = DeadKeys::default();

    for _ in 0..dbs_per_call {
        if s.expire_cycle.timelimit_exit {
            break;
        }
        let db_index = s.expire_cycle.current_db % dbnum;
        // Advance first: if this db eats the time budget, the next cycle
        // starts with the one after it.
        s.expire_cycle.current_db = s.expire_cycle.current_db.wrapping_add(1);

        loop {
            iteration += 1;
            let db = &mut s.dbs[db_index];
            let volatile = db.expires.len() as u64;
            if volatile == 0 {
                db.avg_ttl = 0;
                break;
            }
            // Under 1% full, sampling finds almost only empty buckets;
            // wait for the cron to shrink the table instead.
            let slots = db.expires.table_size(0) + db.expires.table_size(1);
            if slots > DICT_INITIAL_SIZE && volatile * 100 / slots as u64 == 0 {
                break;
            }
            let now = unix_ms();
            let want = volatile.min(keys_per_loop);
            let round = sample_round(db, now, want, &mut dead);
            for key in dead.iter() {
                s.dbs[db_index].delete(key);
                s.key_expired(db_index, key);
            }
            let db = &mut s.dbs[db_index];
            if round.ttl_samples > 0 {
                // A running average giving the new sample 2% weight.
                let avg = round.ttl_sum / round.ttl_samples;
                if db.avg_ttl == 0 {
                    db.avg_ttl = avg;
                }
                db.avg_ttl = (db.avg_ttl / 50) * 49 + avg / 50;
            }
            total_sampled += round.sampled;
            total_expired += round.expired;

            // Reading the clock is cheap but not free: every 16 rounds.
            if iteration.is_multiple_of(16) && started.elapsed() > time_limit {
                s.expire_cycle.timelimit_exit = true;
                s.stats.expired_time_cap_reached_count += 1;
                break;
            }
            // Stop when the sample was mostly alive. An empty sample (all
            // buckets visited were empty) says nothing: try again.
            if round.sampled != 0 && round.expired * 100 / round.sampled <= acceptable_stale {
                break;
            }
        }
    }

    let elapsed = started.elapsed();
    let used_us = s.expire_cycle.unreported_us + elapsed.as_micros() as u64;
    s.stats.expire_cycle_cpu_milliseconds += used_us / 1000;
    s.expire_cycle.unreported_us = used_us % 1000;
    let threshold = s.config.latency_monitor_threshold;
    s.latency.observe("expire-cycle", elapsed, threshold);

    // The share of sampled keys that were dead, as a running average
    // giving this cycle 5% weight (INFO `expired_stale_perc`).
    let current_perc = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
    s.stats.expired_stale_perc = current_perc * 0.05 + s.stats.expired_stale_perc * 0.95;
}
// ANCHOR_END: active_expire_cycle

/// What one sampling round saw.
struct Round {
    sampled: u64,
    expired: u64,
    /// Sum and count of the remaining TTLs of the live keys sampled.
    ttl_sum: i64,
    ttl_samples: i64,
}

// ANCHOR: expire_sample_round
/// Walk `db.expires` from its saved cursor until `want` keys were seen,
/// `20 × want` buckets were visited, or the walk wrapped around. The dead
/// keys are collected into `dead` (deleting them during the walk would
/// change the table under the cursor).
fn sample_round(db: &mut crate::db::Db, now: i64, want: u64, dead: &mut DeadKeys) -> Round {
    dead.clear();
    let max_buckets = want * 20;
    let mut round = Round {
        sampled: 0,
        expired: 0,
        ttl_sum: 0,
        ttl_samples: 0,
    };
    let mut buckets = 0u64;
    let mut cursor = db.expires_cursor;
    while round.sampled < want && buckets < max_buckets {
        cursor = db.expires.scan(cursor, |key, &when| {
            round.sampled += 1;
            // The same strict test as lazy expiry: dead once now > when.
            if now > when {
                round.expired += 1;
                dead.push(key.as_bytes());
            } else if when > now {
                round.ttl_sum += when - now;
                round.ttl_samples += 1;
            }
        });
        buckets += 1;
        if cursor == 0 {
            break;
        }
    }
    db.expires_cursor = cursor;
    round
}
// ANCHOR_END: expire_sample_round

/// Key names packed into one buffer: a round allocates nothing once the
/// buffers have grown to fit a sample.
#[derive(Default)]
struct DeadKeys {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl DeadKeys {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn push(&mut self, key: &[u8]) {
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let key = &self.bytes[start..end];
            start = end;
            key
        })
    }
}

/// How long one slow cycle may run: `25% + 2% per effort step` of the
/// time between two cron ticks (at least 1 µs).
pub fn slow_cycle_time_limit(effort: u32, hz: u32) -> Duration {
    let effort = effort.clamp(1, 10) as u64 - 1;
    Duration::from_micros(
        ((SLOW_TIME_PERC + 2 * effort) * 1_000_000 / hz.max(1) as u64 / 100).max(1),
    )
}
