//! # The latency monitor
//!
//! With `latency-monitor-threshold` set to N milliseconds (0, the default,
//! turns it off), every event that takes at least N ms is recorded under
//! its name: `command` for a slow command, `fast-command` for a command
//! flagged `fast` that was not (a much worse sign), and later `fork`,
//! `aof-fsync-always`, `expire-cycle`... For each event the monitor keeps
//! the worst latency ever seen and a history of recent spikes. SLOWLOG
//! says *which command* was slow; the latency monitor says *when* the
//! server stalled and for how long, whatever the cause.
//!
//! ## The invariant
//!
//! At most one sample per event per second (a second spike in the same
//! second only raises that second's value) and at most 160 samples per
//! event, so the monitor's memory is bounded however bad things get.
//!
//! ## The Redis C counterpart
//!
//! `src/latency.c`: `latencyAddSample`, `latencyCommand`,
//! `latencyCommandReplyWithLatestEvents`, `latencyCommandReplyWithSamples`,
//! `latencyResetEvent`; the sampling in `call` (server.c).
//!
//! ## What we simplified
//!
//! Redis keeps a fixed ring of 160 slots per event; we keep a `Vec` that
//! never grows past 160. LATENCY GRAPH (an ASCII sparkline) is left out,
//! and DOCTOR states the facts in a few lines instead of Redis's advice
//! essay.
//!
//! ## Per-command histograms (LATENCY HISTOGRAM)
//!
//! Separately from the spikes, with `latency-tracking yes` (the default)
//! every command's run time goes into a histogram of its own
//! ([`LatencyHistogram`], kept in the command's statistics, emptied by
//! CONFIG RESETSTAT). `LATENCY HISTOGRAM set` answers the cumulative
//! distribution: `calls 2 histogram_usec {8 1 16 2}` says one SET took at
//! most 8 µs and both took at most 16 µs. Redis keeps an HDR histogram
//! (`hdr_histogram.c`, 2 significant digits from 1 µs to 1 s) and reads it
//! back in power-of-two steps (`fillCommandCDF` in `latency.c`); we keep
//! just those power-of-two buckets, which is all the reply shows: 32
//! counters per command instead of an HDR table. The bucket edges are
//! exact powers of two, where HDR's are within its 1% precision of them.

use std::collections::BTreeMap;
use std::time::Duration;

/// Samples kept per event (`LATENCY_TS_LEN`).
const HISTORY_LEN: usize = 160;

#[derive(Default)]
pub struct EventSeries {
    /// (unix seconds, ms), oldest first.
    pub samples: Vec<(i64, u64)>,
    pub max: u64,
}

#[derive(Default)]
pub struct LatencyMonitor {
    pub events: BTreeMap<String, EventSeries>,
}

impl LatencyMonitor {
    /// Record `elapsed` under `event` if it reaches `threshold_ms` (0: off).
    pub fn observe(&mut self, event: &str, elapsed: Duration, threshold_ms: u64) {
        let ms = elapsed.as_millis() as u64;
        if threshold_ms == 0 || ms < threshold_ms {
            return;
        }
        self.add_sample(event, ms);
    }

    // ANCHOR: latency_add_sample
    /// Record a spike of `ms` for `event` now.
    pub fn add_sample(&mut self, event: &str, ms: u64) {
        let now = super::unix_ms() / 1000;
        let series = self.events.entry(event.to_string()).or_default();
        series.max = series.max.max(ms);
        if let Some(last) = series.samples.last_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                return;
            }
        }
        series.samples.push((now, ms));
        if series.samples.len() > HISTORY_LEN {
            series.samples.remove(0);
        }
    }
    // ANCHOR_END: latency_add_sample
}

// ANCHOR: latency_histogram
/// Run times of one command, in power-of-two buckets of nanoseconds:
/// bucket k counts the runs that took at most 1024 * 2^k ns (bucket 0:
/// up to 1.024 µs, bucket 10: up to 1.05 ms, bucket 31: up to 36 min;
/// longer runs are counted in bucket 31).
#[derive(Clone, Copy, Debug, Default)]
pub struct LatencyHistogram {
    pub buckets: [u64; 32],
    /// Runs recorded (the `calls` of LATENCY HISTOGRAM).
    pub total: u64,
}

impl LatencyHistogram {
    /// Record a run of `usec` microseconds. As Redis, the time is taken
    /// in whole microseconds and counted as nanoseconds, at least 1024
    /// (the histogram's lowest trackable value).
    pub fn record(&mut self, usec: u64) {
        let ns = usec.saturating_mul(1000).max(1024);
        // The smallest k with ns <= 1024 << k: 1024 -> 0, 1025..=2048 -> 1.
        let k = (64 - ((ns - 1) / 1024).leading_zeros()) as usize;
        self.buckets[k.min(31)] += 1;
        self.total += 1;
    }

    /// `calls N histogram_usec {edge cumulative ...}`, one pair per
    /// non-empty bucket, its edge in whole microseconds as Redis prints
    /// it (1024 ns -> 1, 65536 ns -> 65).
    pub fn reply(&self, reply: &mut crate::resp::Reply) {
        use crate::resp::Aggregate;
        reply.map(2);
        reply.bulk(b"calls");
        reply.int(self.total as i64);
        reply.bulk(b"histogram_usec");
        let non_empty = self.buckets.iter().filter(|&&n| n > 0).count();
        let at = reply.defer_len();
        let mut cumulative = 0;
        for (k, &n) in self.buckets.iter().enumerate() {
            if n == 0 {
                continue;
            }
            cumulative += n;
            reply.int(((1024u64 << k) / 1000) as i64);
            reply.int(cumulative as i64);
        }
        reply.set_len(at, Aggregate::Map, non_empty);
    }
}
// ANCHOR_END: latency_histogram

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn runs_land_in_power_of_two_buckets_and_reply_cumulatively() {
        let mut h = LatencyHistogram::default();
        h.record(0); // clamped to 1024 ns: bucket 0
        h.record(5); // 5000 ns <= 8192: bucket 3
        h.record(8); // 8000 ns <= 8192: bucket 3
        h.record(9); // 9000 ns <= 16384: bucket 4
        assert_eq!(h.buckets[..5], [1, 0, 0, 2, 1]);
        let mut r = crate::resp::Reply::new();
        h.reply(&mut r);
        assert_eq!(
            String::from_utf8(r.buf).unwrap(),
            "*4\r\n$5\r\ncalls\r\n:4\r\n$14\r\nhistogram_usec\r\n\
             *6\r\n:1\r\n:1\r\n:8\r\n:3\r\n:16\r\n:4\r\n"
        );
    }
}
