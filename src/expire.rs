//! # Expiry: lazy and active
//!
//! A key with a TTL must disappear when its time comes, but a server with
//! a million keys cannot keep a timer per key. Redis combines two cheap
//! mechanisms:
//!
//! - **Lazy expiry.** Every lookup checks the key's TTL first and deletes
//!   it if it has passed ([`crate::db::Db::expire_if_needed`]). A client
//!   can never read an expired key.
//! - **Active expiry.** Keys nobody reads would stay in memory forever, so
//!   `hz` times a second the cron samples keys that have a TTL and deletes
//!   the expired ones. If more than 10% of a sample was expired, the
//!   database probably has many more, so it samples again, until the
//!   share drops or the time budget (25% of a core) runs out.
//!
//! ## The invariant
//!
//! The share of logically expired keys still in memory stays around
//! `acceptable_stale` (10% at the default effort) of the keys with a TTL,
//! and expiry never takes more than 25% of the CPU in the slow cycle.
//!
//! ## Worked example, default effort (1)
//!
//! `hz` 10 gives each tick a budget of 1,000,000 µs × 25% / 10 = 25,000 µs.
//! Each round samples 20 keys from `expires`; if 5 of them were expired
//! (25% > 10%), another round runs; if 1 was (5%), the cycle moves to the
//! next database.
//!
//! ## The Redis C counterpart
//!
//! `src/expire.c`: `activeExpireCycle` (its slow mode), `activeExpireCycleTryExpire`;
//! `src/db.c`: `expireIfNeeded`.
//!
//! ## What we simplified
//!
//! Redis also runs a *fast* cycle (at most 1 ms, from `beforeSleep`) when
//! the slow one hit its time limit; we run only the slow one. Redis walks
//! the `expires` buckets with its own cursor; we use the dict's SCAN cursor,
//! which visits buckets in the same way and survives a rehash.

use std::time::Instant;

use crate::server::{unix_ms, Server};

/// Keys sampled per round at effort 1 (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: usize = 20;
/// Share of a core the slow cycle may use (`ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`).
const SLOW_TIME_PERC: u64 = 25;
/// Stop sampling a db when fewer than this % of the sample was expired.
const ACCEPTABLE_STALE: u64 = 10;

// ANCHOR: active_expire_cycle
pub fn active_expire_cycle(s: &mut Server) {
    let effort = s.config.active_expire_effort.saturating_sub(1) as u64; // 0..9
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort as usize;
    let acceptable_stale = ACCEPTABLE_STALE - effort;
    let time_limit_us = 1_000_000 * (SLOW_TIME_PERC + 2 * effort) / s.hz.max(1) as u64 / 100;
    let started = Instant::now();
    let mut total_sampled = 0u64;
    let mut total_expired = 0u64;
    let mut time_limit_hit = false;

    for db_index in 0..s.dbs.len() {
        let mut iteration = 0u64;
        loop {
            let db = &mut s.dbs[db_index];
            if db.expires.is_empty() {
                db.avg_ttl = 0;
                break;
            }
            iteration += 1;
            let now = unix_ms();
            // Sample: walk buckets from the saved cursor until we have seen
            // `keys_per_loop` keys, or visited 20x that many buckets (so a
            // sparse table cannot make one round long).
            let max_buckets = keys_per_loop * 20;
            let mut sampled = 0usize;
            let mut buckets = 0usize;
            let mut expired_keys = Vec::new();
            let mut ttl_sum = 0i64;
            let mut ttl_samples = 0i64;
            let mut cursor = db.expires_cursor;
            loop {
                cursor = db.expires.scan(cursor, |key, &when| {
                    sampled += 1;
                    if when <= now {
                        expired_keys.push(key.as_bytes().to_vec());
                    } else {
                        ttl_sum += when - now;
                        ttl_samples += 1;
                    }
                });
                buckets += 1;
                if cursor == 0 || sampled >= keys_per_loop || buckets >= max_buckets {
                    break;
                }
            }
            db.expires_cursor = cursor;
            let expired = expired_keys.len();
            for key in expired_keys {
                s.dbs[db_index].delete(&key);
                s.key_expired(db_index, &key);
            }
            // avg_ttl: a running average, as Redis keeps it.
            let db = &mut s.dbs[db_index];
            if ttl_samples > 0 {
                let avg = ttl_sum / ttl_samples;
                db.avg_ttl = if db.avg_ttl == 0 {
                    avg
                } else {
                    (db.avg_ttl / 50) * 49 + avg / 50
                };
            }
            total_sampled += sampled as u64;
            total_expired += expired as u64;
            // Check the clock every 16 rounds: it is cheap, but not free.
            if iteration.is_multiple_of(16) && started.elapsed().as_micros() as u64 > time_limit_us
            {
                time_limit_hit = true;
                break;
            }
            if sampled == 0 || (expired as u64 * 100 / sampled as u64) <= acceptable_stale {
                break;
            }
        }
        if time_limit_hit {
            break;
        }
    }
    let elapsed_us = started.elapsed().as_micros() as u64;
    s.stats.expire_cycle_cpu_milliseconds += elapsed_us / 1000;
    if time_limit_hit {
        s.stats.expired_time_cap_reached_count += 1;
    }
    let current_perc = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
    s.stats.expired_stale_perc = current_perc * 0.05 + s.stats.expired_stale_perc * 0.95;
}
// ANCHOR_END: active_expire_cycle
