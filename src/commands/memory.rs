//! # MEMORY: asking the server where its memory went
//!
//! `MEMORY USAGE key` estimates the bytes one key costs: the dict entry,
//! the key's string, and the value with everything it owns, each rounded
//! up to the jemalloc size class it is served from (`memory::size_class`).
//! A big collection is not walked whole: `SAMPLES n` (5 by default, 0 for
//! all) elements are measured and the average is multiplied out, as Redis
//! does, so the answer costs O(samples), not O(size).
//!
//! `MEMORY STATS` breaks `used_memory` down (startup, dataset, overhead),
//! `MEMORY DOCTOR` reads the same numbers and says what looks wrong,
//! `MEMORY MALLOC-STATS` prints jemalloc's own report and `MEMORY PURGE`
//! asks jemalloc to return dirty pages to the kernel.
//!
//! ## The invariant
//!
//! `MEMORY USAGE` grows with the value: a longer string or a collection
//! with more (or bigger) elements never reports less.
//!
//! ## The Redis C counterpart
//!
//! `src/object.c`: `memoryCommand`, `objectComputeSize`,
//! `getMemoryOverheadData`, `getMemoryDoctorReport`.
//!
//! ## What we simplified
//!
//! Our structures are not Redis's, so the numbers are ours: there is no
//! separate `robj` header (the object lives in the dict entry), and a
//! collection's bookkeeping is what our Rust types take. The shape of the
//! estimate (entry + key + value, sampled for big values) is Redis's.
//! The overhead in `MEMORY STATS` counts the dicts and the clients'
//! buffers; the rest of `used_memory` is the dataset.

use crate::dict::Dict;
use crate::memory::{self, size_class};
use crate::object::{HashValue, RObj, SetValue, StrValue, Value, ZSetValue};
use crate::resp::Args;
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::{Client, Ctx, Server, NOT_INTEGER, SYNTAX_ERR};

use super::eq_ic;

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "memory",
    arity: -2,
    flags: "",
    since: "4.0.0",
    summary: "Where the memory goes: per key, per area, and the allocator's view.",
    run: memory_container,
    subcommands: MEMORY_SUBCOMMANDS,
    ..CommandDef::base(Group::Server)
}];

static MEMORY_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "4.0.0",
        summary: "Lists the MEMORY subcommands.",
        run: memory_help,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "usage",
        arity: -3,
        flags: "readonly",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "4.0.0",
        summary: "Estimated bytes of one key and its value, sampling big values.",
        run: memory_usage,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "stats",
        arity: 2,
        flags: "",
        since: "4.0.0",
        summary: "used_memory broken down into startup, overhead and dataset.",
        run: memory_stats,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "doctor",
        arity: 2,
        flags: "",
        since: "4.0.0",
        summary: "A short reading of the memory numbers.",
        run: memory_doctor,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "malloc-stats",
        arity: 2,
        flags: "",
        since: "4.0.0",
        summary: "The allocator's own statistics report.",
        run: memory_malloc_stats,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "purge",
        arity: 2,
        flags: "",
        since: "4.0.0",
        summary: "Asks the allocator to give dirty pages back to the kernel.",
        run: memory_purge,
        ..CommandDef::base(Group::Server)
    },
];

fn memory_container(ctx: &mut Ctx, _args: Args) {
    ctx.reply().error(SYNTAX_ERR);
}

fn memory_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ];
    let reply = ctx.reply();
    reply.array(LINES.len());
    for line in LINES {
        reply.simple(line);
    }
}

/// The default number of elements `MEMORY USAGE` measures in a collection.
const DEFAULT_SAMPLES: usize = 5;

fn memory_usage(ctx: &mut Ctx, args: Args) {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "samples") && i + 1 < args.len() {
            match crate::resp::parse_i64(&args[i + 1]) {
                None => return ctx.reply().error(NOT_INTEGER),
                Some(n) if n < 0 => return ctx.reply().error(SYNTAX_ERR),
                // 0 means every element.
                Some(0) => samples = usize::MAX,
                Some(n) => samples = n as usize,
            }
            i += 2;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    let key = &args[2];
    let db = ctx.client.db;
    let now = ctx.now_ms;
    match ctx.server.lookup_read_no_touch(db, key, now) {
        None => ctx.client.reply.null(),
        Some(obj) => {
            let n = key_usage(key, obj, samples);
            ctx.client.reply.int(n as i64);
        }
    }
}

// ANCHOR: memory_usage_estimate
/// One key's bytes: its dict entry (key handle + object + chain link),
/// the key's string, and the value (`memoryCommand` + `objectComputeSize`).
pub fn key_usage(key: &[u8], obj: &RObj, samples: usize) -> usize {
    let entry = size_class(std::mem::size_of::<(Sds, RObj, usize)>());
    entry + sds_bytes_for_len(key.len()) + value_usage(&obj.value, samples)
}

/// An sds of `len` bytes as we allocate it: header, bytes, terminator.
fn sds_bytes_for_len(len: usize) -> usize {
    size_class(Sds::new(&vec![b'x'; len.min(64)]).alloc_size() + len.saturating_sub(64))
}

fn sds_bytes(s: &Sds) -> usize {
    size_class(s.alloc_size())
}

/// A boxed value's own block.
fn boxed<T>() -> usize {
    size_class(std::mem::size_of::<T>())
}

/// Measure up to `samples` items of `items` and scale the average to `len`.
fn sampled<I: Iterator<Item = usize>>(items: I, len: usize, samples: usize) -> usize {
    let mut seen = 0usize;
    let mut total = 0usize;
    for bytes in items.take(samples) {
        seen += 1;
        total += bytes;
    }
    if seen == 0 {
        0
    } else {
        (total as f64 / seen as f64 * len as f64) as usize
    }
}

/// A dict's tables and entries, plus its keys' (and values') heap bytes.
fn dict_usage<V>(d: &Dict<Sds, V>, samples: usize, value_bytes: impl Fn(&V) -> usize) -> usize {
    d.mem_usage_estimate() - std::mem::size_of::<Dict<Sds, V>>()
        + sampled(
            d.iter().map(|(k, v)| sds_bytes(k) + value_bytes(v)),
            d.len(),
            samples,
        )
}

/// The value and everything it owns.
fn value_usage(value: &Value, samples: usize) -> usize {
    match value {
        Value::Stream(s) => {
            // The struct, each node's listpack plus its share of the
            // B-tree (a 16-byte key and a listpack header, about 48 bytes
            // with the tree's own slack), and the PEL entries of the
            // groups and consumers (each a tree slot and a small record).
            boxed::<crate::stream::Stream>()
                + sampled(
                    s.nodes.values().map(|lp| size_class(lp.bytes_len()) + 48),
                    s.nodes.len(),
                    samples,
                )
                + s.groups
                    .iter()
                    .map(|(name, g)| {
                        size_class(name.len() + 96)
                            + g.pel.len() * 64
                            + g.consumers
                                .iter()
                                .map(|(c, cons)| size_class(c.len() + 64) + cons.pel.len() * 24)
                                .sum::<usize>()
                    })
                    .sum::<usize>()
        }
        // The integer lives in the entry itself.
        Value::Str(StrValue::Int(_)) => 0,
        Value::Str(StrValue::Embstr(s) | StrValue::Raw(s)) => sds_bytes(s),
        Value::List(ql) => {
            // A quicklist node: its bookkeeping plus its listpack or
            // element bytes (compressed nodes count their stored size).
            let node = size_class(48);
            boxed::<crate::quicklist::Quicklist>()
                + sampled(
                    ql.nodes().map(|n| {
                        node + size_class(match n.data {
                            crate::quicklist::NodeData::Raw(b)
                            | crate::quicklist::NodeData::Lzf(b) => b.len(),
                        })
                    }),
                    ql.node_count(),
                    samples,
                )
        }
        Value::Hash(h) => {
            boxed::<HashValue>()
                + match &**h {
                    HashValue::Listpack(lp) => size_class(lp.bytes_len()),
                    HashValue::Table(d) => {
                        boxed::<Dict<Sds, Sds>>() + dict_usage(d, samples, sds_bytes)
                    }
                }
        }
        // The set's value sits in the entry; only what it points to counts.
        Value::Set(s) => match s {
            SetValue::Intset(is) => size_class(is.blob_len()),
            SetValue::Table(d) => boxed::<Dict<Sds, ()>>() + dict_usage(d, samples, |_| 0),
        },
        Value::ZSet(z) => {
            boxed::<ZSetValue>()
                + match &**z {
                    ZSetValue::Listpack(lp) => size_class(lp.bytes_len()),
                    ZSetValue::Skiplist(t) => {
                        // The skiplist holds every member a second time,
                        // in a node with its score and levels (about 1.33
                        // levels of 16 bytes on average, p = 1/4).
                        let node = size_class(8 + 8 + 16 + 24);
                        boxed::<crate::object::SortedTable>()
                            + dict_usage(&t.dict, samples, |_| 0)
                            + sampled(
                                t.dict.iter().map(|(k, _)| node + sds_bytes(k)),
                                t.dict.len(),
                                samples,
                            )
                    }
                }
        }
    }
}
// ANCHOR_END: memory_usage_estimate

/// What `used_memory` is made of (`getMemoryOverheadData`).
pub struct Overhead {
    pub used: u64,
    pub startup: u64,
    pub clients_normal: u64,
    /// Per database: (id, main dict bytes, expires dict bytes).
    pub dbs: Vec<(usize, u64, u64)>,
    pub total_overhead: u64,
    pub dataset: u64,
    pub keys: u64,
}

/// `current` is the client whose command is running, if any: its cell is
/// borrowed already.
pub fn overhead(s: &Server, current: Option<&Client>) -> Overhead {
    let used = memory::used_memory() as u64;
    let startup = s.startup_memory.min(used);
    let mut clients_normal = 0u64;
    for rc in s.clients.values() {
        // The running client's cell is borrowed already: it is `current`.
        let bytes = match (rc.try_borrow(), current) {
            (Ok(c), _) => c.reply.buf.capacity(),
            (Err(_), Some(c)) => c.reply.buf.capacity(),
            (Err(_), None) => 0,
        };
        clients_normal += bytes as u64;
    }
    let mut dbs = Vec::new();
    let mut keys = 0u64;
    let mut dict_total = 0u64;
    for db in &s.dbs {
        if db.dict.is_empty() && db.expires.is_empty() {
            continue;
        }
        keys += db.dict.len() as u64;
        let main = db.dict.mem_usage_estimate() as u64;
        let exp = db.expires.mem_usage_estimate() as u64;
        dict_total += main + exp;
        dbs.push((db.id, main, exp));
    }
    let total_overhead = startup + clients_normal + dict_total;
    Overhead {
        used,
        startup,
        clients_normal,
        dbs,
        total_overhead,
        dataset: used.saturating_sub(total_overhead),
        keys,
    }
}

fn memory_stats(ctx: &mut Ctx, _args: Args) {
    let o = overhead(ctx.server, Some(ctx.client));
    let peak = o.used.max(ctx.server.peak_memory);
    let a = memory::allocator_stats();
    let rss = memory::rss_bytes() as u64;
    let reply = &mut ctx.client.reply;
    // The fields Redis 7.0 reports that have a meaning here; replication,
    // AOF, Lua and cluster fields are 0 until those chapters exist.
    let fixed = 27 + o.dbs.len();
    reply.map(fixed);
    let int = |r: &mut crate::resp::Reply, k: &str, v: i64| {
        r.bulk(k.as_bytes());
        r.int(v);
    };
    int(reply, "peak.allocated", peak as i64);
    int(reply, "total.allocated", o.used as i64);
    int(reply, "startup.allocated", o.startup as i64);
    int(reply, "replication.backlog", 0);
    int(reply, "clients.slaves", 0);
    int(reply, "clients.normal", o.clients_normal as i64);
    int(reply, "cluster.links", 0);
    int(reply, "aof.buffer", 0);
    int(reply, "lua.caches", 0);
    int(reply, "functions.caches", 0);
    for (id, main, exp) in &o.dbs {
        reply.bulk(format!("db.{id}").as_bytes());
        reply.map(3);
        int(reply, "overhead.hashtable.main", *main as i64);
        int(reply, "overhead.hashtable.expires", *exp as i64);
        int(reply, "overhead.hashtable.slot-to-keys", 0);
    }
    int(reply, "overhead.total", o.total_overhead as i64);
    int(reply, "keys.count", o.keys as i64);
    let per_key = o.dataset.checked_div(o.keys).unwrap_or(0);
    int(reply, "keys.bytes-per-key", per_key as i64);
    int(reply, "dataset.bytes", o.dataset as i64);
    reply.bulk(b"dataset.percentage");
    reply.double(pct(o.dataset, o.used.saturating_sub(o.startup)));
    reply.bulk(b"peak.percentage");
    reply.double(pct(o.used, peak));
    int(reply, "allocator.allocated", a.allocated as i64);
    int(reply, "allocator.active", a.active as i64);
    int(reply, "allocator.resident", a.resident as i64);
    reply.bulk(b"allocator-fragmentation.ratio");
    reply.double(ratio(a.active as u64, a.allocated as u64));
    int(
        reply,
        "allocator-fragmentation.bytes",
        a.active as i64 - a.allocated as i64,
    );
    reply.bulk(b"allocator-rss.ratio");
    reply.double(ratio(a.resident as u64, a.active as u64));
    int(
        reply,
        "allocator-rss.bytes",
        a.resident as i64 - a.active as i64,
    );
    reply.bulk(b"rss-overhead.ratio");
    reply.double(ratio(rss, a.resident as u64));
    int(reply, "rss-overhead.bytes", rss as i64 - a.resident as i64);
    reply.bulk(b"fragmentation");
    reply.double(ratio(rss, o.used));
    int(reply, "fragmentation.bytes", rss as i64 - o.used as i64);
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

// ANCHOR: memory_doctor
/// A plain reading of the numbers: empty instance, peak far above now,
/// fragmentation, big client buffers. Redis's doctor looks at the same
/// things (`getMemoryDoctorReport`); the words are ours.
fn memory_doctor(ctx: &mut Ctx, _args: Args) {
    let o = overhead(ctx.server, Some(ctx.client));
    let peak = o.used.max(ctx.server.peak_memory);
    let rss = memory::rss_bytes() as u64;
    let mut findings: Vec<String> = Vec::new();
    if o.used < 5 * 1024 * 1024 {
        findings.push(format!(
            "Memory use is small ({}): nothing to diagnose yet.",
            memory::bytes_to_human(o.used)
        ));
    } else {
        if peak > o.used + o.used / 2 {
            findings.push(format!(
                "Peak memory ({}) is more than 150% of the memory used now ({}): the RSS (and the fragmentation ratio) may stay high until the allocator reuses or purges those pages.",
                memory::bytes_to_human(peak),
                memory::bytes_to_human(o.used)
            ));
        }
        let frag = ratio(rss, o.used);
        if frag > 1.4 {
            findings.push(format!(
                "The fragmentation ratio is {frag:.2}: the process holds {} more than it uses. MEMORY PURGE returns dirty pages; a restart defragments fully.",
                memory::bytes_to_human(rss - o.used)
            ));
        }
        if o.clients_normal > o.used / 4 {
            findings.push(format!(
                "Client buffers take {} ({:.0}% of used memory).",
                memory::bytes_to_human(o.clients_normal),
                pct(o.clients_normal, o.used)
            ));
        }
        if findings.is_empty() {
            findings.push("No memory problems found.".to_string());
        }
    }
    let text = findings.join("\n");
    ctx.client.reply.verbatim(text.as_bytes());
}
// ANCHOR_END: memory_doctor

/// jemalloc's `malloc_stats_print`, collected into a string.
fn memory_malloc_stats(ctx: &mut Ctx, _args: Args) {
    let mut out = Vec::new();
    let text = match tikv_jemalloc_ctl::stats_print::stats_print(&mut out, Default::default()) {
        Ok(()) => out,
        Err(_) => b"Stats not supported for the current allocator".to_vec(),
    };
    ctx.client.reply.verbatim(&text);
}

/// `arena.<all>.purge`: return every arena's dirty pages to the kernel.
fn memory_purge(ctx: &mut Ctx, _args: Args) {
    // MALLCTL_ARENAS_ALL is 4096 in jemalloc 5.
    let name = b"arena.4096.purge\0";
    // SAFETY: a void mallctl that reads and writes nothing.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr() as *const _,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 {
        ctx.reply().ok();
    } else {
        ctx.reply().error("ERR Error purging dirty pages");
    }
}
