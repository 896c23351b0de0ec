//! # SLOWLOG: the commands that took longest
//!
//! Every command that runs for at least `slowlog-log-slower-than`
//! microseconds (10000 by default; 0 logs everything, a negative value
//! nothing) is remembered with its arguments, newest first, up to
//! `slowlog-max-len` entries (128). The time measured is the command's
//! execution only, not the network: a slow SLOWLOG entry is the server's
//! fault, not the client's.
//!
//! Redis's counterpart is `src/slowlog.c` (`slowlogPushEntryIfNeeded`,
//! `slowlogCreateEntry`, which trims arguments the same way).

use std::collections::VecDeque;

use super::Client;
use crate::resp::Args;

/// At most this many arguments are kept (`SLOWLOG_ENTRY_MAX_ARGC`).
const MAX_ARGC: usize = 32;
/// Each argument is cut to this many bytes (`SLOWLOG_ENTRY_MAX_STRING`).
const MAX_STRING: usize = 128;

pub struct SlowLogEntry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub client_addr: String,
    pub client_name: Vec<u8>,
}

#[derive(Default)]
pub struct SlowLog {
    /// Newest first.
    pub entries: VecDeque<SlowLogEntry>,
    pub next_id: u64,
}

impl SlowLog {
    pub fn push(&mut self, client: &Client, args: Args, duration_us: u64, max_len: usize) {
        let argc = args.len().min(MAX_ARGC);
        let mut kept = Vec::with_capacity(argc);
        for i in 0..argc {
            if argc != args.len() && i == argc - 1 {
                kept.push(format!("... ({} more arguments)", args.len() - argc + 1).into_bytes());
                break;
            }
            let a = args.get(i);
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

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}
