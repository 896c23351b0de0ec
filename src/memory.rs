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

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemalloc_ctl::{epoch, stats};

// ANCHOR: memory_counting_allocator
/// jemalloc, with a running count of the bytes handed out: Redis's
/// `zmalloc` wrappers keep the same counter (`used_memory`), adding the
/// allocator's usable size of each block on allocation and subtracting it
/// on free. Reading it is one atomic load, cheap enough to do before every
/// command when `maxmemory` is set. (jemalloc's own `stats.allocated` needs
/// an epoch refresh, which walks every arena, and it counts the blocks
/// parked in the thread cache as still allocated.)
pub struct CountingJemalloc;

static USED_MEMORY: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingJemalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = tikv_jemallocator::Jemalloc.alloc(layout);
        if !p.is_null() {
            USED_MEMORY.fetch_add(block_size(layout), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = tikv_jemallocator::Jemalloc.alloc_zeroed(layout);
        if !p.is_null() {
            USED_MEMORY.fetch_add(block_size(layout), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        USED_MEMORY.fetch_sub(block_size(layout), Ordering::Relaxed);
        tikv_jemallocator::Jemalloc.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = tikv_jemallocator::Jemalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            USED_MEMORY.fetch_add(block_size(new_layout), Ordering::Relaxed);
            USED_MEMORY.fetch_sub(block_size(layout), Ordering::Relaxed);
        }
        p
    }
}

/// The size of the block jemalloc serves for `layout`: its size class,
/// computed rather than asked (`sallocx` is a radix-tree lookup).
#[inline]
fn block_size(layout: Layout) -> usize {
    size_class(layout.size().max(layout.align()))
}
// ANCHOR_END: memory_counting_allocator

#[global_allocator]
static ALLOCATOR: CountingJemalloc = CountingJemalloc;

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

/// `used_memory`: bytes allocated right now, by our own count
/// (`zmalloc_used_memory`). In a process running several servers (the
/// tests do) it is the whole process's.
#[inline]
pub fn used_memory() -> usize {
    USED_MEMORY.load(Ordering::Relaxed)
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
#[inline]
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
