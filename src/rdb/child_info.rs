//! # Child info: how a forked child tells its parent what fork cost
//!
//! After `fork()` the parent and the child share every page of memory
//! until one of them writes to a page; the kernel then copies that page
//! (copy-on-write, COW). A `BGSAVE` child writes almost nothing, but the
//! parent keeps serving writes, and every page a write touches is copied
//! once. The price of a snapshot is therefore not "the size of the
//! dataset" but "the pages the parent dirtied while the child ran", and
//! only the kernel knows it.
//!
//! ## How it is measured
//!
//! The child reads its own `/proc/self/smaps_rollup` (or `smaps`) and
//! sums `Private_Dirty`: pages that are dirty and mapped by this process
//! only. Right after the fork nearly everything is shared (not private).
//! When the parent writes to a shared page, the parent gets a fresh copy
//! and the child's old page is left mapped by the child alone: it becomes
//! the child's private dirty memory. So the child's `Private_Dirty` grows
//! by one page (4 KiB) per page the parent touched, plus the child's own
//! buffers. Worked example: the parent rewrites 10,000 values of 100 bytes
//! spread over the heap while the child saves; if they land on 2,500
//! distinct pages, about 10 MB becomes private (2,500 x 4 KiB), whatever
//! the dataset's total size.
//!
//! ## The pipe
//!
//! The child cannot write into the parent's memory, so it sends fixed-size
//! messages through a pipe created before the fork: about once a second
//! while it works (keys written, current COW) and once at the end (the
//! final report). The parent drains the pipe from cron without blocking
//! (the read end is non-blocking) and keeps the peak: the final
//! `rdb_last_cow_size` / `aof_last_cow_size` is the peak seen, as in Redis.
//! A message is 40 bytes, under `PIPE_BUF`, so each write is atomic.
//!
//! Reading smaps is not free (it walks every mapping: a few milliseconds
//! for a big heap), so a progress report re-reads it only when the time
//! since the last reading is over 100 times what that reading cost: the
//! child spends at most 1% of its time measuring itself (Redis's
//! `CHILD_COW_DUTY_CYCLE`). The final report always re-reads.
//!
//! ## Redis counterparts
//!
//! `childinfo.c` (`openChildInfoPipe`, `sendChildInfoGeneric`,
//! `receiveChildInfo`, `updateChildInfo`), `zmalloc.c`
//! (`zmalloc_get_private_dirty`, `zmalloc_get_smap_bytes_by_field`).
//!
//! ## What we simplified
//!
//! Redis also sends a module-fork kind and a progress fraction for module
//! children; we have no modules. The "age" of the current COW reading is
//! measured from when the parent received it, not from the child's
//! reading (the two differ by at most one cron tick).

use std::io;
use std::time::Instant;

/// What a message reports (`childInfoType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoKind {
    /// A progress report while the child works.
    Current = 0,
    /// The final report of an AOF rewrite child.
    AofCowSize = 1,
    /// The final report of a BGSAVE child.
    RdbCowSize = 2,
}

/// One message, as the parent decodes it.
#[derive(Clone, Copy, Debug)]
pub struct ChildInfo {
    pub kind: InfoKind,
    /// Keys written so far.
    pub keys: u64,
    /// Private dirty bytes at the last reading.
    pub cow: u64,
    /// Highest and average of the child's readings (for the log line).
    pub peak: u64,
    pub average: u64,
}

const MESSAGE_LEN: usize = 40;

/// Redis's `CHILD_COW_DUTY_CYCLE`: spend at most 1% of the child's time
/// reading smaps.
const COW_DUTY_CYCLE: u32 = 100;

/// Sum of `Private_Dirty` over this process's mappings, in bytes
/// (`zmalloc_get_private_dirty`). 0 where /proc is not available.
pub fn private_dirty_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .or_else(|_| std::fs::read_to_string("/proc/self/smaps"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("Private_Dirty:"))
        .filter_map(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum::<u64>()
        * 1024
}

/// The pipe between a forked child and its parent. Created by the parent
/// before `fork`; each side then closes the end it does not use.
#[derive(Debug)]
pub struct ChildInfoPipe {
    read_fd: i32,
    write_fd: i32,
    /// A message the parent has read only part of (a short read).
    partial: Vec<u8>,
}

impl ChildInfoPipe {
    /// `openChildInfoPipe`: the read end does not block the parent.
    pub fn open() -> io::Result<ChildInfoPipe> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the two-element array we pass.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fcntl on a descriptor we just created.
        unsafe {
            let flags = libc::fcntl(fds[0], libc::F_GETFL);
            libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Ok(ChildInfoPipe {
            read_fd: fds[0],
            write_fd: fds[1],
            partial: Vec::with_capacity(MESSAGE_LEN),
        })
    }

    /// In the parent after `fork`: only the child writes.
    pub fn parent_side(&mut self) {
        close(&mut self.write_fd);
    }

    /// In the child after `fork`: a reporter that owns the write end.
    pub fn child_side(&mut self, name: &'static str) -> CowReporter {
        close(&mut self.read_fd);
        let fd = std::mem::replace(&mut self.write_fd, -1);
        CowReporter {
            fd,
            name,
            last_reading: None,
            reading_cost: std::time::Duration::ZERO,
            cow: 0,
            peak: 0,
            sum: 0,
            readings: 0,
        }
    }

    /// Every complete message waiting in the pipe (`receiveChildInfo`).
    pub fn drain(&mut self, mut on_message: impl FnMut(ChildInfo)) {
        if self.read_fd < 0 {
            return;
        }
        let mut buf = [0u8; MESSAGE_LEN];
        loop {
            let want = MESSAGE_LEN - self.partial.len();
            // SAFETY: reads at most `want` bytes into our stack buffer.
            let n = unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), want) };
            if n <= 0 {
                return;
            }
            self.partial.extend_from_slice(&buf[..n as usize]);
            if self.partial.len() == MESSAGE_LEN {
                on_message(decode(&self.partial));
                self.partial.clear();
            }
        }
    }
}

impl Drop for ChildInfoPipe {
    fn drop(&mut self) {
        close(&mut self.read_fd);
        close(&mut self.write_fd);
    }
}

fn close(fd: &mut i32) {
    if *fd >= 0 {
        // SAFETY: closes a descriptor this struct owns, once.
        unsafe { libc::close(*fd) };
        *fd = -1;
    }
}

fn decode(m: &[u8]) -> ChildInfo {
    let word = |i: usize| u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    ChildInfo {
        kind: match word(0) {
            1 => InfoKind::AofCowSize,
            2 => InfoKind::RdbCowSize,
            _ => InfoKind::Current,
        },
        keys: word(1),
        cow: word(2),
        peak: word(3),
        average: word(4),
    }
}

// ANCHOR: child_info_send
/// The child's end: measures its private dirty memory and sends reports
/// (`sendChildInfoGeneric`). Lives only in the child.
pub struct CowReporter {
    fd: i32,
    /// "RDB" or "AOF rewrite", for the parent's log line.
    pub name: &'static str,
    last_reading: Option<Instant>,
    reading_cost: std::time::Duration,
    cow: u64,
    peak: u64,
    sum: u64,
    readings: u64,
}

impl CowReporter {
    /// Report progress (`keys` written so far). Called every 1024 keys;
    /// sends at most once a second, and re-reads smaps only when the
    /// duty cycle allows.
    pub fn progress(&mut self, keys: u64) {
        let due = self
            .last_reading
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1));
        if due {
            self.send(InfoKind::Current, keys);
        }
    }

    /// Measure (unless measured too recently for a progress report) and
    /// send one message.
    pub fn send(&mut self, kind: InfoKind, keys: u64) {
        let stale = self
            .last_reading
            .is_none_or(|t| t.elapsed() > self.reading_cost * COW_DUTY_CYCLE);
        if kind != InfoKind::Current || stale {
            let start = Instant::now();
            self.cow = private_dirty_bytes();
            self.reading_cost = start.elapsed();
            self.last_reading = Some(Instant::now());
            self.peak = self.peak.max(self.cow);
            self.sum += self.cow;
            self.readings += 1;
        }
        let average = self.sum / self.readings.max(1);
        let mut m = [0u8; MESSAGE_LEN];
        for (i, w) in [kind as u64, keys, self.cow, self.peak, average]
            .into_iter()
            .enumerate()
        {
            m[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        // SAFETY: writes our 40-byte buffer to the pipe we own. A failed
        // write (the parent is gone) only loses the report.
        unsafe { libc::write(self.fd, m.as_ptr().cast(), MESSAGE_LEN) };
    }
}
// ANCHOR_END: child_info_send

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_crosses_the_pipe_whole() {
        let mut pipe = ChildInfoPipe::open().unwrap();
        let mut child = CowReporter {
            fd: pipe.write_fd,
            name: "RDB",
            last_reading: None,
            reading_cost: std::time::Duration::ZERO,
            cow: 0,
            peak: 0,
            sum: 0,
            readings: 0,
        };
        child.send(InfoKind::RdbCowSize, 7);
        let mut got = Vec::new();
        pipe.drain(|m| got.push(m));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, InfoKind::RdbCowSize);
        assert_eq!(got[0].keys, 7);
        // This test process has written to its heap and stack: it has
        // private dirty pages, and smaps says so.
        assert!(got[0].cow > 0 && got[0].peak == got[0].cow);
        // Nothing more is waiting; drain does not block.
        pipe.drain(|_| panic!("no second message"));
    }
}
