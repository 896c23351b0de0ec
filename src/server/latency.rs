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
//! never grows past 160. LATENCY GRAPH (an ASCII sparkline) and HISTOGRAM
//! (per-command HDR histograms) are left out, and DOCTOR states the facts
//! in a few lines instead of Redis's advice essay.

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
