//! # The latency monitor
//!
//! With `latency-monitor-threshold` set to N milliseconds, every event that
//! takes at least N ms is recorded under its name (`command`,
//! `fast-command`, later `fork`, `aof-fsync-always`...): the latest and the
//! worst latency, and a history of the last 160 samples, one per second at
//! most (a second sample in the same second keeps the larger).
//!
//! Redis's counterpart is `src/latency.c` (`latencyAddSample`,
//! `latencyCommand`). We keep LATEST, HISTORY and RESET; DOCTOR and GRAPH
//! (the ASCII art) are left out.

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
}
