//! # serverCron: background work in small slices
//!
//! A single-threaded server cannot stop the world to expire a million keys
//! or rehash a big table: every client would wait. So background work is
//! cut into slices and done `hz` times a second (10 by default), each slice
//! with a time budget:
//!
//! - the active expiry cycle: at most 25% of one core (`expire.rs`);
//! - active rehashing: 1 ms per tick on one database (`activerehashing`);
//! - shrinking dicts that became mostly empty;
//! - closing clients idle past `timeout`, ending CLIENT PAUSE;
//! - refreshing the LRU clock and the instantaneous metrics of INFO.
//!
//! With `dynamic-hz yes` the frequency rises with the number of clients so
//! that each tick still visits a bounded number of them.
//!
//! Redis's counterpart is `serverCron` and `databasesCron` in server.c.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::Server;

/// Redis visits at most this many clients per tick before raising hz
/// (`MAX_CLIENTS_PER_CLOCK_TICK`).
const MAX_CLIENTS_PER_CLOCK_TICK: usize = 200;
/// The highest hz (`CONFIG_MAX_HZ`).
const MAX_HZ: u32 = 500;

pub async fn run(server: Rc<RefCell<Server>>) {
    loop {
        let hz = server.borrow().hz.max(1);
        tokio::time::sleep(Duration::from_micros(1_000_000 / hz as u64)).await;
        let mut s = server.borrow_mut();
        if s.shutdown_requested {
            break;
        }
        server_cron(&mut s);
    }
}

// ANCHOR: server_cron
pub fn server_cron(s: &mut Server) {
    s.lru_clock = super::lru_clock_now();
    s.clock = super::CachedClock::now();
    s.hz = s.config.hz;
    if s.config.dynamic_hz {
        while s.clients.len() / s.hz as usize > MAX_CLIENTS_PER_CLOCK_TICK {
            s.hz *= 2;
            if s.hz > MAX_HZ {
                s.hz = MAX_HZ;
                break;
            }
        }
    }
    super::info::track_instantaneous_metrics(s);
    s.peak_memory = s.peak_memory.max(crate::memory::used_memory() as u64);
    // An eviction that ran out of time budget continues here
    // (Redis's `evictionTimeProc`).
    if s.evict.continue_in_cron {
        crate::evict::perform_evictions(s, super::unix_ms());
    }
    clients_cron(s);
    databases_cron(s);
    crate::commands::persistence::persistence_cron(s);
    crate::aof::aof_cron(s);
    crate::replication::cron(s);
    crate::commands::migrate::close_idle_sockets(s);
    crate::tracking::limit_table(s, None);
    crate::tracking::broadcast(s, None);
    if let Some(p) = s.pause {
        if Instant::now() >= p.until {
            s.pause = None;
            s.unpause.notify_waiters();
        }
    }
}
// ANCHOR_END: server_cron

/// Close clients idle for more than `timeout` seconds. Waiting is not
/// idleness for a subscriber (it waits for messages) nor for a client
/// parked in BLPOP (its own timeout governs it), so, as Redis's
/// `clientsCronHandleTimeout`, those two are never closed here; nor is a
/// MONITOR.
fn clients_cron(s: &mut Server) {
    let timeout = s.config.timeout as u64;
    let now = Instant::now();
    // INFO's client_recent_max_* start each tick from what the clients
    // hold now, so a client whose output sits unsent (it stopped
    // reading) keeps showing, as in Redis's clientsCronTrackExpansiveClients.
    let (mut max_input, mut max_output) = (0, 0);
    let (peak_reset_ms, resizing) = (s.reply_buffer_peak_reset_ms, s.reply_buffer_resizing);
    for rc in s.clients.values() {
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        max_input = max_input.max(c.query_buffer_len);
        max_output = max_output.max(c.reply.len() + c.reply_in_flight);
        let waits_by_design = c.monitor || c.blocked.is_some() || c.pubsub.active();
        if timeout > 0
            && !waits_by_design
            && !c.is_replica()
            && now.duration_since(c.last_interaction).as_secs() > timeout
        {
            c.close_asap = true;
            c.wake.notify_one();
        }
        // A client that stopped reading has its connection task parked in
        // a write, reading nothing, so no new reply re-checks its soft
        // output limit; the cron does, so the limit's seconds still run out.
        super::connection::enforce_output_limit(&s.config, &mut c);
        c.query_buffer_peak = c.query_buffer_len;
        c.cron_resize_reply_buffer(peak_reset_ms, resizing);
    }
    s.client_recent_max_input_buffer = max_input;
    s.client_recent_max_output_buffer = max_output;
}

// ANCHOR: databases_cron
/// Expire, shrink, rehash.
fn databases_cron(s: &mut Server) {
    if s.active_expire_enabled {
        crate::expire::active_expire_cycle(s);
    }
    // Shrink dicts that have become mostly empty (under 10% full).
    for db in &mut s.dbs {
        if db.dict.needs_shrink() {
            db.dict.shrink_to_fit();
        }
        if db.expires.needs_shrink() {
            db.expires.shrink_to_fit();
        }
    }
    // Rehash for 1 ms, on the first database that needs it.
    if s.config.activerehashing {
        for db in &mut s.dbs {
            if db.dict.is_rehashing() {
                db.dict.rehash_for(Duration::from_millis(1));
                break;
            }
            if db.expires.is_rehashing() {
                db.expires.rehash_for(Duration::from_millis(1));
                break;
            }
        }
    }
}
// ANCHOR_END: databases_cron
