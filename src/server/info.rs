//! # INFO: the server describes itself
//!
//! `INFO [section ...]` returns `field:value` lines grouped under `# Section`
//! headers, with Redis 7.0's field names and formats, so that tools written
//! for Redis (redis-cli, exporters, a student's own scripts) read this
//! server unchanged. Almost every number here is a counter some other part
//! of the server keeps as it works: `call` counts commands, errors and
//! their time; the connection task counts bytes; lookups count hits and
//! misses; the expiry cycle counts expired keys. INFO only formats them.
//!
//! ## The invariant
//!
//! A section appears only when its fields are real. Redis 7.0 also prints
//! modules, latencystats and cluster sections; they join [`SECTIONS`]
//! with the chapters that make their numbers true (persistence and
//! replication have), and until then `INFO cluster` answers what Redis answers for a name
//! it does not know: nothing. A few fields of real sections are fixed by
//! construction (`blocked_clients:0` before blocking commands exist,
//! `gcc_version`, `redis_build_id`); they are printed because clients
//! parse them, and say so in the code.
//!
//! ## The Redis C counterpart
//!
//! `src/server.c`: `infoCommand`, `genInfoSectionDict` (which names select
//! what), `genRedisInfoString` (the text), `trackInstantaneousMetric` and
//! `getInstantaneousMetric` (the `instantaneous_*` rates),
//! `genRedisInfoStringCommandStats`.
//!
//! ## What we simplified
//!
//! Redis keeps requested section names in a dict and builds the text with
//! `sdscatprintf`; we use a fixed table of our sections and `write!` into
//! one `String`. INFO is not a hot path, so clarity wins.

use std::fmt::Write;
use std::time::Instant;

use super::{command_table, Server};
use crate::memory;

/// How many samples the instantaneous metrics average over
/// (`STATS_METRIC_SAMPLES`), taken at most every 100 ms.
const METRIC_SAMPLES: usize = 16;

/// A ring of samples per metric for `instantaneous_ops_per_sec` and the
/// kbps fields.
#[derive(Debug, Default)]
pub struct MetricSamples {
    last_time: Option<Instant>,
    last: [u64; 3],
    /// Per-second rates: ops, input bytes, output bytes.
    rates: [[f64; METRIC_SAMPLES]; 3],
    index: usize,
}

impl MetricSamples {
    fn mean(&self, metric: usize) -> f64 {
        self.rates[metric].iter().sum::<f64>() / METRIC_SAMPLES as f64
    }
}

/// Called from cron: sample the counters at most every 100 ms.
pub fn track_instantaneous_metrics(s: &mut Server) {
    let now = Instant::now();
    let current = [
        s.stats.total_commands_processed,
        s.stats.total_net_input_bytes,
        s.stats.total_net_output_bytes,
    ];
    let m = &mut s.stats.samples;
    match m.last_time {
        Some(t) if now.duration_since(t).as_millis() < 100 => return,
        Some(t) => {
            let secs = now.duration_since(t).as_secs_f64();
            for (i, value) in current.iter().enumerate() {
                m.rates[i][m.index] = value.saturating_sub(m.last[i]) as f64 / secs;
            }
            m.index = (m.index + 1) % METRIC_SAMPLES;
        }
        None => {}
    }
    m.last_time = Some(now);
    m.last = current;
}

// ANCHOR: info_sections
/// The sections this server has, in the order Redis prints them, and
/// whether a bare `INFO` (or `INFO default`) includes each. Redis's other
/// sections (modules, latencystats, cluster)
/// join this list with their chapters; until then asking for one gives
/// nothing, exactly as Redis answers a section name it does not know.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("commandstats", false),
    ("errorstats", true),
    ("keyspace", true),
];

/// Build the INFO text for the requested sections (`genInfoSectionDict`
/// and `genRedisInfoString`): none means the defaults; `default`, `all`
/// and `everything` are groups; other names are matched without regard
/// to case; unknown names add nothing. Sections are separated by an empty
/// line, and every line ends in CRLF.
pub fn info_string(s: &Server, requested: &[&[u8]]) -> String {
    let mut all = false;
    let mut wanted = [false; SECTIONS.len()];
    if requested.is_empty() {
        for (i, (_, default)) in SECTIONS.iter().enumerate() {
            wanted[i] = *default;
        }
    }
    for r in requested {
        if r.eq_ignore_ascii_case(b"all") || r.eq_ignore_ascii_case(b"everything") {
            all = true;
        } else if r.eq_ignore_ascii_case(b"default") {
            for (i, (_, default)) in SECTIONS.iter().enumerate() {
                wanted[i] |= *default;
            }
        } else if let Some(i) = SECTIONS
            .iter()
            .position(|(name, _)| r.eq_ignore_ascii_case(name.as_bytes()))
        {
            wanted[i] = true;
        }
    }
    let mut out = String::new();
    for (i, (section, _)) in SECTIONS.iter().enumerate() {
        if !(all || wanted[i]) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server_section(s, &mut out),
            "clients" => clients_section(s, &mut out),
            "memory" => memory_section(s, &mut out),
            "persistence" => crate::commands::persistence::info_section(s, &mut out),
            "stats" => stats_section(s, &mut out),
            "replication" => crate::replication::info_section(s, &mut out, None),
            "cpu" => cpu_section(&mut out),
            "commandstats" => commandstats_section(s, &mut out),
            "errorstats" => errorstats_section(s, &mut out),
            "keyspace" => keyspace_section(s, &mut out),
            _ => unreachable!("every section in SECTIONS has a writer"),
        }
    }
    out
}
// ANCHOR_END: info_sections

macro_rules! field {
    ($out:expr, $name:expr, $($arg:tt)*) => {{
        let _ = write!($out, "{}:", $name);
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

// The casts keep this file compiling whichever integer types the config
// chapter gives its fields (the stand-in's match them already).
#[allow(clippy::unnecessary_cast)]
fn server_section(s: &Server, out: &mut String) {
    let uptime = s.started.elapsed().as_secs();
    let uname = uname();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", "7.0.15");
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", "0");
    // No C build here: Redis hashes its build flags; we have none to hash.
    field!(out, "redis_build_id", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", "{}", uname);
    field!(out, "arch_bits", "64");
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "atomicvar_api", "c11-builtin");
    // Built by rustc, not gcc; tools parse the field, so it stays.
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", "{}", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", "{}", s.run_id);
    field!(
        out,
        "tcp_port",
        "{}",
        s.local_addr.map(|a| a.port()).unwrap_or(s.config.port)
    );
    field!(out, "server_time_usec", "{}", super::unix_us());
    field!(out, "uptime_in_seconds", "{}", uptime);
    field!(out, "uptime_in_days", "{}", uptime / 86400);
    field!(out, "hz", "{}", s.hz);
    field!(out, "configured_hz", "{}", s.config.hz);
    field!(out, "lru_clock", "{}", s.lru_clock);
    field!(
        out,
        "executable",
        "{}",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(
        out,
        "config_file",
        "{}",
        s.config_file.as_deref().unwrap_or("")
    );
    field!(out, "io_threads_active", "0");
}

fn uname() -> String {
    // SAFETY: uname fills a struct we own; it cannot fail with a valid pointer.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

fn clients_section(s: &Server, out: &mut String) {
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", "{}", s.clients.len());
    field!(out, "cluster_connections", "0");
    field!(out, "maxclients", "{}", s.config.maxclients);
    field!(
        out,
        "client_recent_max_input_buffer",
        "{}",
        s.client_recent_max_input_buffer
    );
    field!(
        out,
        "client_recent_max_output_buffer",
        "{}",
        s.client_recent_max_output_buffer
    );
    // Fixed until the blocking commands (BLPOP...) and tracking arrive.
    let paused = super::client::paused_count(&s.clients);
    field!(
        out,
        "blocked_clients",
        "{}",
        s.blocking.blocked_count + paused
    );
    field!(out, "tracking_clients", "{}", s.tracking.clients);
    field!(out, "clients_in_timeout_table", "0");
}

#[allow(clippy::unnecessary_cast)]
fn memory_section(s: &Server, out: &mut String) {
    let a = memory::allocator_stats();
    let rss = memory::rss_bytes() as u64;
    let used = memory::used_memory() as u64;
    let peak = used.max(s.peak_memory);
    let system = memory::total_system_memory();
    let maxmemory = s.config.maxmemory;
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", "{}", used);
    field!(out, "used_memory_human", "{}", memory::bytes_to_human(used));
    field!(out, "used_memory_rss", "{}", rss);
    field!(
        out,
        "used_memory_rss_human",
        "{}",
        memory::bytes_to_human(rss)
    );
    field!(out, "used_memory_peak", "{}", peak);
    field!(
        out,
        "used_memory_peak_human",
        "{}",
        memory::bytes_to_human(peak)
    );
    field!(
        out,
        "used_memory_peak_perc",
        "{:.2}%",
        if peak > 0 {
            used as f64 * 100.0 / peak as f64
        } else {
            0.0
        }
    );
    let o = crate::commands::memory::overhead(s, None);
    field!(out, "used_memory_overhead", "{}", o.total_overhead);
    field!(out, "used_memory_startup", "{}", o.startup);
    field!(out, "used_memory_dataset", "{}", o.dataset);
    field!(
        out,
        "used_memory_dataset_perc",
        "{:.2}%",
        ratio(o.dataset * 100, used.saturating_sub(o.startup))
    );
    field!(out, "allocator_allocated", "{}", a.allocated);
    field!(out, "allocator_active", "{}", a.active);
    field!(out, "allocator_resident", "{}", a.resident);
    field!(out, "total_system_memory", "{}", system);
    field!(
        out,
        "total_system_memory_human",
        "{}",
        memory::bytes_to_human(system)
    );
    field!(out, "maxmemory", "{}", maxmemory);
    field!(
        out,
        "maxmemory_human",
        "{}",
        memory::bytes_to_human(maxmemory)
    );
    field!(
        out,
        "maxmemory_policy",
        "{}",
        s.config.maxmemory_policy_name()
    );
    field!(
        out,
        "allocator_frag_ratio",
        "{:.2}",
        ratio(a.active as u64, a.allocated as u64)
    );
    field!(
        out,
        "allocator_frag_bytes",
        "{}",
        a.active as i64 - a.allocated as i64
    );
    field!(
        out,
        "allocator_rss_ratio",
        "{:.2}",
        ratio(a.resident as u64, a.active as u64)
    );
    field!(
        out,
        "allocator_rss_bytes",
        "{}",
        a.resident as i64 - a.active as i64
    );
    field!(
        out,
        "rss_overhead_ratio",
        "{:.2}",
        ratio(rss, a.resident as u64)
    );
    field!(
        out,
        "rss_overhead_bytes",
        "{}",
        rss as i64 - a.resident as i64
    );
    field!(out, "mem_fragmentation_ratio", "{:.2}", ratio(rss, used));
    field!(
        out,
        "mem_fragmentation_bytes",
        "{}",
        rss as i64 - used as i64
    );
    field!(out, "mem_not_counted_for_evict", "0");
    // The ring is allocated whole when the first replica attaches.
    let backlog = s.replication.backlog.as_ref().map_or(0, |b| b.size());
    field!(out, "mem_replication_backlog", "{backlog}");
    field!(out, "mem_total_replication_buffers", "0");
    field!(out, "mem_clients_slaves", "0");
    field!(out, "mem_clients_normal", "{}", o.clients_normal);
    field!(out, "mem_cluster_links", "0");
    field!(out, "mem_aof_buffer", "0");
    field!(out, "mem_allocator", "{}", memory::ALLOCATOR_NAME);
    // No defragmenter, and values are freed on the spot (UNLINK and
    // FLUSHALL ASYNC included, see db.rs): nothing is ever pending.
    field!(out, "active_defrag_running", "0");
    field!(out, "lazyfree_pending_objects", "0");
    field!(out, "lazyfreed_objects", "{}", s.stats.lazyfreed_objects);
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn stats_section(s: &Server, out: &mut String) {
    let st = &s.stats;
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        "{}",
        st.total_connections_received
    );
    field!(
        out,
        "total_commands_processed",
        "{}",
        st.total_commands_processed
    );
    field!(
        out,
        "instantaneous_ops_per_sec",
        "{}",
        st.samples.mean(0) as u64
    );
    field!(out, "total_net_input_bytes", "{}", st.total_net_input_bytes);
    field!(
        out,
        "total_net_output_bytes",
        "{}",
        st.total_net_output_bytes
    );
    field!(
        out,
        "instantaneous_input_kbps",
        "{:.2}",
        st.samples.mean(1) / 1024.0
    );
    field!(
        out,
        "instantaneous_output_kbps",
        "{:.2}",
        st.samples.mean(2) / 1024.0
    );
    field!(out, "rejected_connections", "{}", st.rejected_connections);
    let r = &s.replication;
    field!(out, "sync_full", "{}", r.sync_full);
    field!(out, "sync_partial_ok", "{}", r.sync_partial_ok);
    field!(out, "sync_partial_err", "{}", r.sync_partial_err);
    field!(out, "expired_keys", "{}", st.expired_keys);
    field!(
        out,
        "expired_stale_perc",
        "{:.2}",
        st.expired_stale_perc * 100.0
    );
    field!(
        out,
        "expired_time_cap_reached_count",
        "{}",
        st.expired_time_cap_reached_count
    );
    field!(
        out,
        "expire_cycle_cpu_milliseconds",
        "{}",
        st.expire_cycle_cpu_milliseconds
    );
    field!(out, "evicted_keys", "{}", st.evicted_keys);
    field!(out, "keyspace_hits", "{}", st.keyspace_hits);
    field!(out, "keyspace_misses", "{}", st.keyspace_misses);
    field!(out, "pubsub_channels", "{}", s.pubsub.channels.len());
    field!(out, "pubsub_patterns", "{}", s.pubsub.patterns.len());
    field!(out, "migrate_cached_sockets", "{}", s.migrate.len());
    field!(out, "tracking_total_keys", "{}", s.tracking.total_keys());
    field!(out, "tracking_total_items", "{}", s.tracking.total_items());
    field!(
        out,
        "tracking_total_prefixes",
        "{}",
        s.tracking.total_prefixes()
    );
    field!(out, "total_error_replies", "{}", st.total_error_replies);
    field!(out, "total_reads_processed", "{}", st.total_reads_processed);
    field!(
        out,
        "total_writes_processed",
        "{}",
        st.total_writes_processed
    );
}

/// `# Persistence`: a minimal section until the RDB chapter fills in its
/// rdb_* fields; the AOF's lines come from `aof::aof_info_lines`.
fn cpu_section(out: &mut String) {
    let (self_user, self_sys) = rusage(libc::RUSAGE_SELF);
    let (child_user, child_sys) = rusage(libc::RUSAGE_CHILDREN);
    let (thread_user, thread_sys) = rusage(libc::RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", "{:.6}", self_sys);
    field!(out, "used_cpu_user", "{:.6}", self_user);
    field!(out, "used_cpu_sys_children", "{:.6}", child_sys);
    field!(out, "used_cpu_user_children", "{:.6}", child_user);
    field!(out, "used_cpu_sys_main_thread", "{:.6}", thread_sys);
    field!(out, "used_cpu_user_main_thread", "{:.6}", thread_user);
}

/// (user, system) CPU seconds from `getrusage`.
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage writes into a struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

fn errorstats_section(s: &Server, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    for (code, count) in &s.stats.error_codes {
        field!(out, format!("errorstat_{code}"), "count={}", count);
    }
}

fn keyspace_section(s: &Server, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for db in &s.dbs {
        if db.is_empty() {
            continue;
        }
        field!(
            out,
            format!("db{}", db.id),
            "keys={},expires={},avg_ttl={}",
            db.len(),
            db.expires.len(),
            db.avg_ttl
        );
    }
}

fn commandstats_section(s: &Server, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    for cmd in command_table().all() {
        let st = s.command_stats[cmd.stats_index];
        if st.calls == 0 && st.failed_calls == 0 && st.rejected_calls == 0 {
            continue;
        }
        // Redis divides as C `float`s; doing the same keeps the rounding of
        // the last printed digit identical.
        let per_call = if st.calls > 0 {
            st.usec as f32 / st.calls as f32
        } else {
            0.0
        };
        field!(
            out,
            format!("cmdstat_{}", cmd.full_name),
            "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
            st.calls,
            st.usec,
            per_call,
            st.rejected_calls,
            st.failed_calls
        );
    }
}
