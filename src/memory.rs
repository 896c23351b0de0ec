//! # Memory: the allocator and what it tells
//!
//! Redis links jemalloc and asks it how many bytes are allocated: that is
//! `used_memory`, the number `maxmemory` is compared against. The kernel
//! tells a different number, the resident set size (`used_memory_rss`):
//! pages actually held, including the allocator's free-but-kept pages and
//! fragmentation. Their ratio is `mem_fragmentation_ratio`.
//!
//! We use jemalloc too (the `tikv-jemallocator` binding), for the same
//! reasons Redis does: size classes that keep fragmentation low for many
//! small objects, and exact statistics. The memory chapter builds on this.
//!
//! Redis's counterpart: `src/zmalloc.c` (`zmalloc_used_memory`,
//! `zmalloc_get_rss`), and `src/object.c` (`getMemoryOverheadData`).

use tikv_jemalloc_ctl::{epoch, stats};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's version string, as INFO `mem_allocator` shows it.
pub const ALLOCATOR_NAME: &str = "jemalloc-5.3.0";

/// Allocator statistics at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocatorStats {
    /// Bytes handed out to the program (`used_memory`).
    pub allocated: usize,
    /// Bytes in pages the allocator has in use, including slack in size
    /// classes (`allocator_active`).
    pub active: usize,
    /// Bytes the allocator holds resident (`allocator_resident`).
    pub resident: usize,
}

/// Refresh jemalloc's cached statistics and read them.
pub fn allocator_stats() -> AllocatorStats {
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    let _ = epoch::advance();
    AllocatorStats {
        allocated: stats::allocated::read().unwrap_or(0),
        active: stats::active::read().unwrap_or(0),
        resident: stats::resident::read().unwrap_or(0),
    }
}

/// `used_memory`: bytes allocated right now.
pub fn used_memory() -> usize {
    allocator_stats().allocated
}

/// The process's resident set size from `/proc/self/statm`.
pub fn rss_bytes() -> usize {
    let page = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<usize>().ok())
        })
        .map(|pages| pages * page)
        .unwrap_or(0)
}

/// Total memory of the machine, from `/proc/meminfo` (`total_system_memory`).
pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Redis's `bytesToHuman`: `1.23M`, `512B`, `2.00G`.
pub fn bytes_to_human(n: u64) -> String {
    let n = n as f64;
    const K: f64 = 1024.0;
    if n < K {
        format!("{}B", n as u64)
    } else if n < K * K {
        format!("{:.2}K", n / K)
    } else if n < K * K * K {
        format!("{:.2}M", n / (K * K))
    } else if n < K * K * K * K {
        format!("{:.2}G", n / (K * K * K))
    } else if n < K * K * K * K * K {
        format!("{:.2}T", n / (K * K * K * K))
    } else {
        format!("{:.2}P", n / (K * K * K * K * K))
    }
}

/// The jemalloc size class a request of `n` bytes is served from (what
/// `zmalloc_size` reports in Redis). jemalloc rounds small sizes up to 8
/// and 16, then to multiples of 16 up to 64, and above that keeps four
/// classes per doubling: 80, 96, 112, 128, then 160, 192, 224, 256, ...
pub fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 16 {
        return 16;
    }
    if n <= 64 {
        return n.div_ceil(16) * 16;
    }
    // n is in (2^k, 2^(k+1)]: the step is 2^(k-2).
    let k = usize::BITS - 1 - (n - 1).leading_zeros();
    let step = 1usize << (k - 2);
    n.div_ceil(step) * step
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_follow_jemalloc() {
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (33, 48),
            (64, 64),
            (65, 80),
            (129, 160),
            (257, 320),
            (4097, 5120),
        ];
        for (n, class) in cases {
            assert_eq!(size_class(n), class, "{n}");
        }
    }
}
