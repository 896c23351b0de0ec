//! # Eviction: staying under `maxmemory`
//!
//! With `maxmemory` set, the server checks before each command whether the
//! allocator's count (`used_memory`, see `memory.rs`) is over the limit,
//! and if it is, deletes keys until it is not. Which keys go is the
//! `maxmemory-policy`: the least recently used (`*-lru`), the least
//! frequently used (`*-lfu`), random ones (`*-random`), the nearest to
//! expiring (`volatile-ttl`), or none (`noeviction`: writes are refused
//! with `-OOM`). The `allkeys-*` policies choose among every key, the
//! `volatile-*` ones only among keys that have a TTL.
//!
//! ## The idea: approximate, with a memory of good candidates
//!
//! An exact LRU needs a linked list through every key, updated on every
//! read: two pointers per key and a cache miss per access. Redis instead
//! keeps a 24-bit clock in each object (seconds, the `lru` field of
//! `RObj`) and, when it must evict, *samples* `maxmemory-samples` keys
//! per database and keeps the best candidates seen so far in a small
//! sorted *pool* of 16. The pool survives between evictions, so a key
//! that was a good candidate a moment ago is still remembered: with 5
//! samples the result is close to a true LRU, with 10 closer still (the
//! benchmark's `lru_quality` experiment measures how close).
//!
//! Under an LFU policy the same 24 bits hold something else: 16 bits of
//! time in minutes (when the counter was last decayed) and an 8-bit
//! *logarithmic* counter. A hit increments the counter with probability
//! `1 / ((counter - 5) * lfu-log-factor + 1)`, so it takes about a
//! million hits to reach 255 with the default factor 10; and the counter
//! loses one point per `lfu-decay-time` minutes without access, so a key
//! that was hot yesterday does not stay forever.
//!
//! ## The invariant
//!
//! After [`perform_evictions`] returns [`EvictResult::Ok`], `used_memory`
//! was at or under `maxmemory` when it finished (or it stopped early to
//! bound latency, and a cron tick continues). A `volatile-*` policy never
//! deletes a key without a TTL: when none is left, it fails and denyoom
//! commands get `-OOM`.
//!
//! ## The Redis C counterpart
//!
//! `src/evict.c`: `performEvictions`, `evictionPoolPopulate`,
//! `evictionPoolAlloc` (`EVPOOL_SIZE`), `estimateObjectIdleTime`,
//! `LFUGetTimeInMinutes`, `LFUTimeElapsed`, `LFULogIncr`,
//! `LFUDecrAndReturn`, `evictionTimeLimitUs`; `src/db.c`: `updateLFU` in
//! `lookupKey`; `src/server.c`: the OOM check in `processCommand`.
//!
//! ## What we simplified
//!
//! - The pool stores owned key copies and skips a key already in it
//!   (Redis keeps a cached sds per slot and may hold a key twice).
//! - Redis subtracts replication and AOF buffers from `used_memory` before
//!   comparing (`freeMemoryGetNotCountedMemory`); we have neither yet.
//! - No lazy freeing: a victim's value is dropped right away, so the
//!   memory it frees is seen at once.
//! - jemalloc's thread cache keeps a few freed blocks counted as allocated
//!   until it flushes; the loop measures the memory freed per key as Redis
//!   does, so it may evict a few keys more than strictly needed.

use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::object::RObj;
use crate::sds::Sds;
use crate::server::command::flags;
use crate::server::config::{Config, MaxmemoryPolicy};
use crate::server::{notify_class, Client, Command, Server};

/// Candidates the pool remembers (`EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

/// The counter a new object starts with under LFU (`LFU_INIT_VAL`): not 0,
/// so that a new key gets a chance to be used before it is evicted.
pub const LFU_INIT_VAL: u32 = 5;

/// The 24-bit LRU clock's largest value (`LRU_CLOCK_MAX`).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// The exact refusal Redis sends (`shared.oomerr`).
pub const OOM_ERR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// What `perform_evictions` achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictResult {
    /// Under the limit (or not limited at all).
    Ok,
    /// Still over, but the time budget ran out; cron continues.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// One remembered candidate: a bigger `score` is a better victim (longer
/// idle, lower frequency, or sooner expiry, depending on the policy).
#[derive(Debug)]
struct Candidate {
    score: u64,
    db: usize,
    key: Sds,
}

/// What eviction carries from one call to the next.
#[derive(Debug)]
pub struct EvictState {
    /// Sorted by ascending score: the best victim is last.
    pool: Vec<Candidate>,
    /// Where the `*-random` policies look first (Redis's static `next_db`).
    next_random_db: usize,
    /// The time budget ran out with memory still over: cron carries on
    /// (Redis's `evictionTimeProc`).
    pub continue_in_cron: bool,
    /// Coin flips for the LFU counter.
    rng: SmallRng,
}

impl Default for EvictState {
    fn default() -> Self {
        EvictState {
            pool: Vec::with_capacity(POOL_SIZE),
            next_random_db: 0,
            continue_in_cron: false,
            rng: SmallRng::from_entropy(),
        }
    }
}

/// How a policy picks its victim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Lru,
    Lfu,
    Ttl,
    Random,
    Never,
}

/// A policy as (strategy, among all keys?).
fn strategy(policy: MaxmemoryPolicy) -> (Strategy, bool) {
    use MaxmemoryPolicy::*;
    match policy {
        AllkeysLru => (Strategy::Lru, true),
        VolatileLru => (Strategy::Lru, false),
        AllkeysLfu => (Strategy::Lfu, true),
        VolatileLfu => (Strategy::Lfu, false),
        AllkeysRandom => (Strategy::Random, true),
        VolatileRandom => (Strategy::Random, false),
        VolatileTtl => (Strategy::Ttl, false),
        NoEviction => (Strategy::Never, false),
    }
}

/// Is the object clock an LFU counter under this policy
/// (`MAXMEMORY_FLAG_LFU`)?
pub fn is_lfu(policy: MaxmemoryPolicy) -> bool {
    matches!(
        policy,
        MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu
    )
}

/// Is it an LRU clock the eviction reads (`MAXMEMORY_FLAG_LRU`)?
pub fn is_lru(policy: MaxmemoryPolicy) -> bool {
    matches!(
        policy,
        MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::VolatileLru
    )
}

// ANCHOR: evict_lfu_counter
/// Minutes since the epoch, on 16 bits (`LFUGetTimeInMinutes`).
pub fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 65535
}

/// Minutes between a stored 16-bit time and now, wrapping once
/// (`LFUTimeElapsed`).
fn lfu_elapsed(stored: u32, now: u32) -> u32 {
    if now >= stored {
        now - stored
    } else {
        65535 - stored + now
    }
}

/// The counter as it reads now: the stored one minus one per
/// `decay_minutes` since it was last decayed (`LFUDecrAndReturn`). The
/// object is not modified; a hit stores the decayed value back.
pub fn lfu_decayed(clock: u32, decay_minutes: u32, now_ms: i64) -> u32 {
    let stored_minutes = clock >> 8;
    let counter = clock & 255;
    // A decay time of 0 means the counter never decays.
    let periods = lfu_elapsed(stored_minutes, lfu_minutes(now_ms))
        .checked_div(decay_minutes)
        .unwrap_or(0);
    counter.saturating_sub(periods)
}

/// One hit: increment with probability 1 / ((counter - 5) * factor + 1)
/// (`LFULogIncr`). The first points above the initial 5 come easily, the
/// next ones harder and harder: the counter grows like the logarithm of
/// the number of hits.
pub fn lfu_log_incr(counter: u32, log_factor: u32, rng: &mut impl Rng) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if rng.gen::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}
// ANCHOR_END: evict_lfu_counter

/// Seconds idle from a 24-bit LRU clock (`estimateObjectIdleTime`, which
/// counts in ms at a resolution of 1000 ms).
pub fn idle_seconds(lru_clock: u32, obj_clock: u32) -> u64 {
    if lru_clock >= obj_clock {
        (lru_clock - obj_clock) as u64
    } else {
        lru_clock as u64 + (LRU_CLOCK_MAX - obj_clock) as u64
    }
}

impl Server {
    /// The clock a new object starts with: now on the LRU clock, or
    /// (minutes now, counter 5) under LFU (`createObject`).
    #[inline]
    pub fn new_object_clock(&self, now_ms: i64) -> u32 {
        if is_lfu(self.config.maxmemory_policy) {
            (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
        } else {
            self.lru_clock
        }
    }
}

// ANCHOR: evict_touch
/// A key was used: refresh its clock as `lookupKey` does. Under LRU the
/// clock is now; under LFU the counter is decayed, incremented with the
/// logarithmic coin, and stamped with the current minute (`updateLFU`).
#[inline]
pub fn touch(obj: &mut RObj, config: &Config, lru_clock: u32, now_ms: i64, state: &mut EvictState) {
    if is_lfu(config.maxmemory_policy) {
        let decayed = lfu_decayed(obj.lru, config.lfu_decay_time, now_ms);
        let counter = lfu_log_incr(decayed, config.lfu_log_factor, &mut state.rng);
        obj.lru = (lfu_minutes(now_ms) << 8) | counter;
    } else {
        obj.lru = lru_clock;
    }
}
// ANCHOR_END: evict_touch

/// How long one call may spend evicting, from `maxmemory-eviction-tenacity`
/// (`evictionTimeLimitUs`): 50 µs per point up to 10 (the default gives
/// 500 µs), then 15% more per point, and no limit at 100.
fn time_limit_us(tenacity: u32) -> u64 {
    if tenacity <= 10 {
        50 * tenacity as u64
    } else if tenacity < 100 {
        (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64
    } else {
        u64::MAX
    }
}

// ANCHOR: evict_pool
/// Sample `samples` keys of one database and offer each to the pool
/// (`evictionPoolPopulate`).
fn populate_pool(server: &mut Server, db: usize, strat: Strategy, allkeys: bool, now_ms: i64) {
    let samples = server.config.maxmemory_samples.max(1) as usize;
    let decay = server.config.lfu_decay_time;
    let lru_clock = server.lru_clock;
    let state = &mut server.evict;
    let d = &mut server.dbs[db];
    let score_of = |obj: &RObj| -> u64 {
        match strat {
            Strategy::Lru => idle_seconds(lru_clock, obj.lru),
            Strategy::Lfu => 255 - lfu_decayed(obj.lru, decay, now_ms) as u64,
            _ => 0,
        }
    };
    if allkeys {
        for (key, obj) in d.dict.sample_entries(samples) {
            offer(&mut state.pool, score_of(obj), db, key);
        }
    } else {
        let dict = &d.dict;
        for (key, &when) in d.expires.sample_entries(samples) {
            let score = match strat {
                // The sooner it expires, the better a victim.
                Strategy::Ttl => u64::MAX - when as u64,
                _ => match dict.get(key.as_bytes()) {
                    Some(obj) => score_of(obj),
                    None => continue,
                },
            };
            offer(&mut state.pool, score, db, key);
        }
    }
}

/// Insert a candidate in score order, dropping the worst one when the
/// pool is full; a candidate worse than all of a full pool is ignored.
fn offer(pool: &mut Vec<Candidate>, score: u64, db: usize, key: &Sds) {
    let at = pool.partition_point(|c| c.score < score);
    if at == 0 && pool.len() == POOL_SIZE {
        return;
    }
    if pool
        .iter()
        .any(|c| c.db == db && c.key.as_bytes() == key.as_bytes())
    {
        return;
    }
    let candidate = Candidate {
        score,
        db,
        key: Sds::new(key.as_bytes()),
    };
    if pool.len() < POOL_SIZE {
        pool.insert(at, candidate);
    } else {
        // Full: the worst (first) goes, everything below `at` moves down.
        pool.remove(0);
        pool.insert(at - 1, candidate);
    }
}
// ANCHOR_END: evict_pool

/// The next victim under `strat`, or None when there is nothing to evict.
fn pick_victim(
    server: &mut Server,
    strat: Strategy,
    allkeys: bool,
    now_ms: i64,
) -> Option<(usize, Sds)> {
    let ndbs = server.dbs.len();
    if strat == Strategy::Random {
        // The first non-empty database after the last one used, a random
        // key in it.
        for _ in 0..ndbs {
            server.evict.next_random_db = (server.evict.next_random_db + 1) % ndbs;
            let db = server.evict.next_random_db;
            let d = &mut server.dbs[db];
            let key = if allkeys {
                d.dict.random_entry().map(|(k, _)| Sds::new(k.as_bytes()))
            } else {
                d.expires
                    .random_entry()
                    .map(|(k, _)| Sds::new(k.as_bytes()))
            };
            if let Some(key) = key {
                return Some((db, key));
            }
        }
        return None;
    }
    loop {
        let mut candidates = 0;
        for db in 0..ndbs {
            let d = &server.dbs[db];
            let n = if allkeys {
                d.dict.len()
            } else {
                d.expires.len()
            };
            if n > 0 {
                candidates += n;
                populate_pool(server, db, strat, allkeys, now_ms);
            }
        }
        if candidates == 0 {
            return None;
        }
        // Best first; a remembered key may be gone (deleted, or its TTL
        // removed under a volatile policy): drop it and try the next.
        while let Some(c) = server.evict.pool.pop() {
            let d = &mut server.dbs[c.db];
            let still_there = if allkeys {
                d.dict.contains_key(c.key.as_bytes())
            } else {
                d.expires.contains_key(c.key.as_bytes())
            };
            if still_there {
                return Some((c.db, c.key));
            }
        }
    }
}

// ANCHOR: evict_perform
/// Redis's `performEvictions`: if `used_memory` is over `maxmemory`, evict
/// keys by the policy until it is not, within the tenacity's time budget.
pub fn perform_evictions(server: &mut Server, now_ms: i64) -> EvictResult {
    let maxmemory = server.config.maxmemory;
    if maxmemory == 0 || server.pause.is_some() {
        return EvictResult::Ok;
    }
    // A replica's memory is its primary's business (its DELs would also
    // diverge from the stream): `replica-ignore-maxmemory yes`.
    if server.config.replica_ignore_maxmemory && crate::replication::replica::is_replica(server) {
        return EvictResult::Ok;
    }
    let used = crate::memory::used_memory() as u64;
    if used <= maxmemory {
        server.evict.continue_in_cron = false;
        return EvictResult::Ok;
    }
    let (strat, allkeys) = strategy(server.config.maxmemory_policy);
    if strat == Strategy::Never {
        return EvictResult::Fail;
    }
    let to_free = used - maxmemory;
    let mut freed = 0u64;
    let started = Instant::now();
    let limit_us = time_limit_us(server.config.maxmemory_eviction_tenacity);
    let mut evicted = 0u64;
    while freed < to_free {
        let Some((db, key)) = pick_victim(server, strat, allkeys, now_ms) else {
            return EvictResult::Fail;
        };
        // Measure what this one key gave back, as Redis does: the value's
        // destructor may free much or little.
        let before = crate::memory::used_memory() as u64;
        drop(server.dbs[db].delete(key.as_bytes()));
        let after = crate::memory::used_memory() as u64;
        freed += before.saturating_sub(after);
        server.stats.evicted_keys += 1;
        evicted_key_bookkeeping(server, db, key.as_bytes());
        evicted += 1;
        // Checking the clock costs; do it every 16 keys.
        if evicted.is_multiple_of(16) && started.elapsed().as_micros() as u64 > limit_us {
            server.evict.continue_in_cron = true;
            return EvictResult::Running;
        }
    }
    server.evict.continue_in_cron = false;
    EvictResult::Ok
}
// ANCHOR_END: evict_perform

// ANCHOR: evict_oom_check
/// The check in `processCommand`: evict if over the limit, and say whether
/// this command must be refused with `-OOM`. A denyoom command (one that
/// may add memory) is refused when eviction failed; so is EXEC if it
/// queued one, and, inside MULTI, any command but EXEC, DISCARD, QUIT and
/// RESET, since queueing itself takes memory.
pub fn refuse_for_oom(server: &mut Server, client: &Client, cmd: &Command) -> bool {
    let out_of_memory = perform_evictions(server, crate::server::unix_ms()) == EvictResult::Fail;
    if !out_of_memory {
        return false;
    }
    let name = cmd.full_name;
    let denyoom = cmd.has(flags::DENYOOM)
        || (name == "exec"
            && client
                .multi
                .queued
                .iter()
                .any(|(c, _)| c.has(flags::DENYOOM)));
    denyoom || (client.multi.active && !matches!(name, "exec" | "discard" | "quit" | "reset"))
}
// ANCHOR_END: evict_oom_check

/// What follows an eviction: WATCH sees a change, the `evicted` event,
/// and the DEL for the AOF and replicas.
fn evicted_key_bookkeeping(server: &mut Server, db: usize, key: &[u8]) {
    crate::multi::touch_watched_key(server, None, db, key);
    crate::tracking::invalidate_key(server, None, key);
    if server.config.notify_keyspace_events & notify_class::EVICTED != 0 {
        crate::notify::notify_keyspace_event(
            server,
            None,
            notify_class::EVICTED,
            "evicted",
            key,
            db,
        );
    }
    server.propagate_eviction(db, key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut counter = LFU_INIT_VAL;
        let mut at_1k = 0;
        for hit in 1..=100_000u32 {
            counter = lfu_log_incr(counter, 10, &mut rng);
            if hit == 1000 {
                at_1k = counter;
            }
        }
        // Redis's table for factor 10: ~18 after 1k hits, ~142 after 100k.
        assert!((12..=25).contains(&at_1k), "{at_1k}");
        assert!((120..=165).contains(&counter), "{counter}");
    }

    #[test]
    fn lfu_decays_one_point_per_period() {
        let now_ms = 1_000 * 60_000;
        let stored = ((lfu_minutes(now_ms) - 3) << 8) | 20;
        assert_eq!(lfu_decayed(stored, 1, now_ms), 17);
        assert_eq!(lfu_decayed(stored, 2, now_ms), 19);
        assert_eq!(lfu_decayed(stored, 0, now_ms), 20);
        let old = ((lfu_minutes(now_ms) - 100) << 8) | 20;
        assert_eq!(lfu_decayed(old, 1, now_ms), 0);
    }

    #[test]
    fn pool_keeps_the_best_sixteen_in_order() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            let score = (i * 37) % 41;
            offer(&mut pool, score, 0, &Sds::from_i64(i as i64));
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        let mut all: Vec<u64> = (0..40u64).map(|i| (i * 37) % 41).collect();
        all.sort();
        assert_eq!(scores, all[40 - POOL_SIZE..]);
        // A duplicate is not taken twice.
        offer(&mut pool, 1000, 0, &Sds::from_i64(0));
        offer(&mut pool, 1000, 0, &Sds::from_i64(0));
        assert_eq!(pool.iter().filter(|c| c.score == 1000).count(), 1);
    }

    #[test]
    fn tenacity_time_limits() {
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(100), u64::MAX);
        assert!(time_limit_us(20) > 2000);
    }
}
