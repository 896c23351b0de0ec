//! # SLOWLOG: the commands that took longest
//!
//! Every command that runs for at least `slowlog-log-slower-than`
//! microseconds (10000 by default; 0 logs everything, a negative value
//! nothing) is remembered with its arguments, newest first, up to
//! `slowlog-max-len` entries (128). The time measured is the command's
//! execution only, not the network or the time it waited in the query
//! buffer: a SLOWLOG entry is the server's own cost, which is why it is the
//! first place to look when "Redis is slow".
//!
//! ## The invariant
//!
//! The log is bounded twice: at most `slowlog-max-len` entries, and each
//! entry at most 32 arguments of at most 128 bytes (with a note of what was
//! cut), so a pathological `MSET` of a million keys costs a few kilobytes,
//! not a copy of its arguments. Ids only grow, even across SLOWLOG RESET,
//! so a monitoring tool can tell which entries it has already seen.
//!
//! ## The Redis C counterpart
//!
//! `src/slowlog.c`: `slowlogPushEntryIfNeeded` (called from `call` in
//! server.c), `slowlogCreateEntry` (the trimming), `slowlogCommand`.
//!
//! ## What we simplified
//!
//! Redis keeps a linked list of entries sharing the argument objects when
//! it can; we copy the (trimmed) argument bytes into a `VecDeque`. A
//! changed `slowlog-max-len` takes effect at the next push, as in Redis.

use std::collections::VecDeque;

use super::Client;
use crate::resp::Args;

/// At most this many arguments are kept (`SLOWLOG_ENTRY_MAX_ARGC`).
const MAX_ARGC: usize = 32;
/// Each argument is cut to this many bytes (`SLOWLOG_ENTRY_MAX_STRING`).
const MAX_STRING: usize = 128;

/// One logged command, in the six fields SLOWLOG GET replies with.
pub struct SlowLogEntry {
    /// Increasing over the server's life; RESET does not restart it.
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: i64,
    /// Execution time in microseconds.
    pub duration_us: u64,
    /// The arguments, trimmed to `MAX_ARGC` and `MAX_STRING`.
    pub args: Vec<Vec<u8>>,
    /// `ip:port` of the client, so a slow caller can be found.
    pub client_addr: String,
    /// Its CLIENT SETNAME name, empty if none.
    pub client_name: Vec<u8>,
}

#[derive(Default)]
pub struct SlowLog {
    /// Newest first.
    pub entries: VecDeque<SlowLogEntry>,
    pub next_id: u64,
}

impl SlowLog {
    // ANCHOR: slowlog_push
    /// Log one command (the caller checked the threshold), trimming its
    /// arguments, then drop the oldest entries beyond `max_len`.
    pub fn push(&mut self, client: &Client, args: Args, duration_us: u64, max_len: usize) {
        let argc = args.len().min(MAX_ARGC);
        let mut kept = Vec::with_capacity(argc);
        for i in 0..argc {
            if argc != args.len() && i == argc - 1 {
                kept.push(format!("... ({} more arguments)", args.len() - argc + 1).into_bytes());
                break;
            }
            let a = crate::acl::shown_arg(client, args, i);
            if a.len() > MAX_STRING {
                let mut v = a[..MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                kept.push(v);
            } else {
                kept.push(a.to_vec());
            }
        }
        self.entries.push_front(SlowLogEntry {
            id: self.next_id,
            time: super::unix_ms() / 1000,
            duration_us,
            args: kept,
            client_addr: client.addr.to_string(),
            client_name: client.name.clone().unwrap_or_default(),
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }
    // ANCHOR_END: slowlog_push

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}
