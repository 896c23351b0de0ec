//! # Simple Dynamic Strings
//!
//! This chapter is about the string type the server stores: every key, every
//! string value that is not kept as an integer, and every member of a hash
//! or set that has outgrown its listpack is an [`Sds`]. Redis calls it SDS,
//! "Simple Dynamic String" (`src/sds.h`, `src/sds.c`), and it is the first
//! data structure a student meets because everything else is built from it.
//!
//! ## The idea
//!
//! A C string is a pointer to bytes ending in `\0`. That gives three problems a
//! database cannot live with: the length costs a scan (`strlen` is O(n)), a
//! value cannot contain a zero byte (so no images, no serialised integers), and
//! every append must find the end and hope there is room. SDS keeps the pointer
//! but puts a small *header* in front of the bytes:
//!
//! * **Binary safe.** The length lives in the header and is the only
//!   authority on where the string ends. Zero bytes inside are ordinary bytes.
//! * **O(1) length.** `len()` reads a header field.
//! * **Amortised appends.** The header also records `alloc`, the capacity.
//!   When an append does not fit, [`Sds::make_room_for`] allocates more than
//!   it was asked for, so the next appends are plain copies.
//! * **A header sized to the string.** A 10-byte key does not need 8-byte
//!   length fields. There are five header layouts; the smallest that can hold
//!   the numbers is used, so a short key pays 1 byte of header, not 16.
//!
//! The pointer the rest of the program holds points at the *first string
//! byte*, not at the header. In C this means an `sds` can be passed to
//! `printf` or `strcmp` as if it were a plain `char *`; that is also why the
//! bytes are still followed by a `\0` even though the length is authoritative.
//! We keep that terminator, exactly as Redis does: it costs one byte per string
//! and buys nothing in Rust itself, but it keeps the block layout, and so every
//! byte count in this chapter, the same as Redis's.
//!
//! ## The memory layout
//!
//! One heap block per string. The header sits immediately before the bytes,
//! and its *last* byte is always the flags byte, whose low 3 bits name the
//! header type. So from the string pointer alone, `ptr[-1]` tells you how big
//! the header is and where the block starts:
//!
//! ```text
//!   "redis" in a type-8 header with room for 10 bytes (alloc_size = 3+10+1 = 14)
//!
//!   block start                Sds points here
//!   |                          |
//!   v                          v
//!   +------+--------+--------+---+---+---+---+---+----+---------------------+
//!   | len  | alloc  | flags  | r | e | d | i | s | \0 | 5 spare bytes       |
//!   | 0x05 | 0x0a   | 0x01   |   |   |   |   |   |    | (uninitialised)     |
//!   +------+--------+--------+---+---+---+---+---+----+---------------------+
//!    \_____ header (3) _____/ \___ len (5) _______/      \__ alloc - len __/
//!
//!   "hi" in a type-5 header (alloc_size = 1+2+1 = 4)
//!
//!   +--------------------------+---+---+----+
//!   | flags = 2<<3 | 0 = 0x10  | h | i | \0 |
//!   +--------------------------+---+---+----+
//!     5 bits of length, 3 bits of type; no alloc field, so no spare room
//! ```
//!
//! The five header classes, with what they cost and what they can hold:
//!
//! | type | header bytes | fields                 | holds `alloc` up to |
//! |------|--------------|------------------------|---------------------|
//! | 5    | 1            | flags (len in top bits)| 31 (and alloc = len)|
//! | 8    | 3            | len u8, alloc u8, flags| 255                 |
//! | 16   | 5            | u16, u16, flags        | 65 535              |
//! | 32   | 9            | u32, u32, flags        | 4 294 967 295       |
//! | 64   | 17           | u64, u64, flags        | everything          |
//!
//! So the fixed cost of a string is `header + 1` (the terminator): 2 bytes
//! below 32 bytes of content, 4 below 256, 6 below 64 KiB, 10 below 4 GiB.
//! The handle itself is one pointer, 8 bytes, and `Option<Sds>` is also
//! 8 bytes (the pointer is never null), which is the Rust spelling of Redis's
//! "an sds may be NULL".
//!
//! ## The invariants
//!
//! Every `Sds`, between any two public calls, satisfies:
//!
//! 1. `buf` points `header_len` bytes into a block of exactly
//!    `header_len + alloc + 1` bytes obtained from the global allocator with
//!    alignment 1. (Rust's `dealloc` must be told the size it allocated; C's
//!    `free` need not. This is why the header must never under-report.)
//! 2. The flags byte at `buf[-1]` names a valid type, and that type can
//!    represent `alloc`: `alloc <= SdsType::max_alloc()`. For type 5 the length
//!    is in its top 5 bits and `alloc == len < 32`.
//! 3. `len <= alloc`; bytes `[0, len)` are initialised; `buf[len] == 0`.
//!    Bytes in `(len, alloc]` may be uninitialised and are never exposed.
//!
//! All of this chapter's `unsafe` lives in this file, and every public method
//! is safe: no sequence of calls can break 1-3. The
//! property test at the bottom of the file drives random call sequences
//! against a `Vec<u8>` model and checks all three after every step, and the
//! unit tests run under Miri.
//!
//! ## Why this chapter uses `unsafe`
//!
//! Rust already has a growable byte string: `Vec<u8>`. It gives us almost
//! everything SDS gives C: a length and a capacity (O(1) `len`), amortised
//! growth, binary safety. What it does not give:
//!
//! * **A one-pointer handle.** A `Vec` is three words, 24 bytes, wherever it is
//!   stored. The keyspace stores one handle per key; with ten million keys the
//!   difference between 8 and 24 bytes is 160 MB.
//! * **A header sized to the string.** `Vec`'s length and capacity are always
//!   two full `usize`s. `Box<[u8]>` drops the capacity but is still a 16-byte
//!   fat pointer and cannot grow in place.
//! * **Redis's growth policy.** `Vec`'s growth factor is unspecified. We want
//!   the server to make the requests Redis makes (the same growth steps, the
//!   same header changes), so the chapter on memory and the visualizer can
//!   show Redis's behaviour, not `Vec`'s.
//!
//! The natural safe spelling, a struct with a header followed by `[u8]`, is a
//! dynamically sized type, and Rust represents pointers to those as *fat*
//! pointers (address plus length), which defeats the point. So this module asks
//! the allocator for raw bytes (`std::alloc::{alloc, realloc, dealloc}`) and
//! lays them out by hand. Each `unsafe` block is a few lines and carries a
//! `// SAFETY:` comment saying which invariant makes it sound; the lint at the
//! top of the file refuses an unsafe block without one.
//!
//! ## The growth policy
//!
//! When an append of `addlen` bytes does not fit, the new capacity is
//! computed from `reqlen = len + addlen`:
//!
//! * below 1 MiB (`SDS_MAX_PREALLOC`): `alloc = 2 * reqlen`;
//! * from 1 MiB on: `alloc = reqlen + 1 MiB`.
//!
//! Bounds: right after a grow, at most half the capacity is spare below 1 MiB,
//! and at most 1 MiB is spare above it. Appending one byte at a time to an
//! empty string reallocates when the length reaches 1, 3, 7, 15, ... and the
//! capacities run 2, 6, 14, 30, 62, 126, 254, 510, 1022: nine allocations for
//! the first thousand bytes, about `log2(n)` up to 1 MiB, then one per MiB.
//! At 254 -> 510 the capacity no longer fits in a `u8`, so the header changes
//! from type 8 to type 16; that step cannot use `realloc` (the bytes must move
//! two places to the right) and is a malloc + copy + free instead.
//!
//! Type 5 is never chosen for a string that is growing: it has no `alloc`
//! field, so every later append would have to reallocate again.
//!
//! ## Worked example: appending to a 30-byte type-5 string
//!
//! A client sends `APPEND k "!!"` and `k` holds 30 bytes created exact-fit, as
//! keys and values are: `"user:1000:session:abcdefghijkl"`.
//!
//! BEFORE. A type-5 block of 1 + 30 + 1 = 32 bytes. The flags byte is
//! `30 << 3 | 0 = 0xf0`; `len = alloc = 30`, `avail = 0`.
//!
//! ```text
//!   [f0][u s e r : 1 0 0 0 : ... i j k l][00]
//! ```
//!
//! MAKE ROOM. `push_bytes` asks `make_room_for(2)`. `avail = 0 < 2`, so
//! `reqlen = 32`, which is under 1 MiB, so the new capacity is 64. The
//! smallest header for 64 is type 8 (and 32 could not even be written in
//! type 5's five bits). The header type changes, so `realloc` is not an option:
//! a new block of 3 + 64 + 1 = 68 bytes is allocated, the 30 bytes and their
//! terminator are copied to offset 3, the header is written as
//! `len = 0x1e, alloc = 0x40, flags = 0x01`, and the old 32-byte block is
//! freed.
//!
//! COPY. `"!!"` is copied to string offsets 30 and 31, `len` becomes 32
//! (`0x20`), and a `\0` is written at offset 32. The block now reads
//!
//! ```text
//!   [20][40][01][u s e r ... i j k l ! !][00][31 bytes never written]
//! ```
//!
//! The next 32 one-byte appends cost a copy each and no allocation.
//!
//! ## The Redis counterpart
//!
//! | here                          | `src/sds.c` (Redis 7.0)                  |
//! |-------------------------------|------------------------------------------|
//! | [`Sds::new`], [`Sds::empty`]  | `sdsnewlen`, `sdsempty`                  |
//! | [`req_type`]                  | `sdsReqType`                             |
//! | [`Sds::make_room_for`]        | `sdsMakeRoomFor` (the greedy flavour)    |
//! | [`Sds::push_bytes`]           | `sdscatlen`                              |
//! | [`Sds::grow_zeroed`]          | `sdsgrowzero` (SETRANGE, SETBIT)         |
//! | [`Sds::range`]                | `sdsrange` / `sdssubstr`                 |
//! | [`Sds::clear`]                | `sdsclear`                               |
//! | [`Sds::remove_free_space`]    | `sdsRemoveFreeSpace`                     |
//! | [`Sds::alloc_size`]           | `sdsAllocSize`                           |
//! | [`Sds::from_i64`]             | `sdsfromlonglong`                        |
//! | `Drop`, `Clone`               | `sdsfree`, `sdsdup`                      |
//!
//! ## What we simplified, and why
//!
//! * **No allocator usable-size trick.** Redis 7.0 asks jemalloc how big the
//!   block really is (`s_malloc_usable`) and records that as `alloc` (clamped
//!   to what the header can hold), so even `sdsnewlen` is not quite exact fit.
//!   jemalloc rounds requests up to size classes (..., 32, 48, 64, 80, ...):
//!   the worked example's 68-byte request lands in the 80-byte class, and
//!   Redis records `alloc = 76` where we record 64; appending one byte to a
//!   10-byte string asks for 26 bytes, gets 32, and Redis records 28, not 22.
//!   The Rust global allocator has no such query, and invariant 1 needs the
//!   size we asked for, so our `alloc` is always exactly the request. Our
//!   numbers are Redis's *requests*; Redis's `MEMORY USAGE` reports size
//!   classes (`zmalloc_size`), so comparing with a real server needs that
//!   rounding on top.
//! * **Shortening a type-5 string shrinks its block.** Type 5 has nowhere to
//!   remember spare room. Redis simply forgets it (C's `free` does not need the
//!   size). We cannot: `dealloc` must be handed the original size. So
//!   `truncate`, `clear` and `range` on a type-5 string `realloc` the block
//!   down (allocators do this in place). On types 8-64 they keep the block,
//!   as in Redis.
//! * **One shrink flavour.** Redis also has `sdsResize` (shrink or grow to a
//!   given size), and later 7.0 patch releases add a `would_regrow` flag that
//!   forbids type 5. We keep only what string values need: `remove_free_space`
//!   is `sdsRemoveFreeSpace` as `trimStringObjectIfNeeded` calls it (flag 0),
//!   and it may pick type 5.
//! * **Only greedy growth.** `sdsMakeRoomForNonGreedy` serves the query buffer
//!   in the networking chapter, which reads into its own buffer.
//! * **No `sdscatprintf`, `sdssplitlen`, `sdsmapchars`, ...** Formatting is
//!   Rust's `fmt`; the remaining helpers belong to the modules that use them.
//! * **Rusty ranges.** `sdsrange` takes inclusive, possibly negative indices.
//!   [`Sds::range`] takes a half-open range clamped to the string; turning
//!   GETRANGE's negative indices into that is the command's job.
//! * **No NULL string, no shared empty string.** `Option<Sds>` is the nullable
//!   string, at no cost in size. Every `Sds`, even an empty one, owns a block
//!   (an empty string is 3 + 0 + 1 = 4 bytes), exactly like `sdsempty()`; unlike
//!   `String::new()`, `Sds::default()` allocates.
//!
//! ## Exercises
//!
//! 1. Append one byte at a time to an empty `Sds` until it reaches 3 MiB and
//!    count the reallocations. Predict the number from the growth policy first.
//! 2. `remove_free_space` keeps a type-32 header on a string that would fit a
//!    type-16 one. Work out how many bytes that wastes at most, and argue why
//!    Redis thinks avoiding the copy is worth it.
//! 3. Rust's borrow checker makes `s.push_bytes(&s)` impossible. Read
//!    `sdscatlen` and explain what would go wrong in C if `t` pointed into `s`
//!    and `sdsMakeRoomFor` moved the block.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::ops::{Deref, DerefMut};
use std::ptr::{self, NonNull};
use std::slice;

// ANCHOR: header_types
/// Which of the five header layouts a string carries.
///
/// The discriminants are Redis's `SDS_TYPE_*` numbers: they are what the low
/// 3 bits of the flags byte hold, and their order is the order of header size.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SdsType {
    /// One byte: the flags byte, with the length in its top 5 bits.
    /// No capacity field, so `alloc == len < 32` and any growth reallocates.
    Type5 = 0,
    /// `len: u8, alloc: u8, flags` (3 bytes).
    Type8 = 1,
    /// `len: u16, alloc: u16, flags` (5 bytes).
    Type16 = 2,
    /// `len: u32, alloc: u32, flags` (9 bytes).
    Type32 = 3,
    /// `len: u64, alloc: u64, flags` (17 bytes).
    Type64 = 4,
}

/// The type-8 header. `packed` because a header padded for alignment would
/// waste the very bytes this design exists to save, and because the flags byte
/// must be the last byte before the string. All fields are read and written by
/// value (never by reference), which is what packed fields require.
#[repr(C, packed)]
struct SdsHdr8 {
    /// Bytes in use.
    len: u8,
    /// Capacity, excluding the header and the terminator.
    alloc: u8,
    /// Low 3 bits: the type. High 5 bits unused.
    flags: u8,
}

/// The type-16 header; same shape as [`SdsHdr8`] with wider counters.
#[repr(C, packed)]
struct SdsHdr16 {
    len: u16,
    alloc: u16,
    flags: u8,
}

/// The type-32 header.
#[repr(C, packed)]
struct SdsHdr32 {
    len: u32,
    alloc: u32,
    flags: u8,
}

/// The type-64 header.
#[repr(C, packed)]
struct SdsHdr64 {
    len: u64,
    alloc: u64,
    flags: u8,
}

/// Mask for the type bits of the flags byte.
const TYPE_MASK: u8 = 0b111;
/// How far a type-5 length is shifted up inside the flags byte.
const TYPE_BITS: u32 = 3;
// ANCHOR_END: header_types

impl SdsType {
    /// Bytes of header in front of the string for this type.
    pub const fn header_len(self) -> usize {
        match self {
            SdsType::Type5 => 1,
            SdsType::Type8 => size_of::<SdsHdr8>(),
            SdsType::Type16 => size_of::<SdsHdr16>(),
            SdsType::Type32 => size_of::<SdsHdr32>(),
            SdsType::Type64 => size_of::<SdsHdr64>(),
        }
    }

    /// The largest capacity (`alloc`) this header can record.
    pub const fn max_alloc(self) -> usize {
        match self {
            SdsType::Type5 => (1 << (8 - TYPE_BITS)) - 1,
            SdsType::Type8 => u8::MAX as usize,
            SdsType::Type16 => u16::MAX as usize,
            SdsType::Type32 => u32::MAX as usize,
            SdsType::Type64 => usize::MAX,
        }
    }

    /// Decodes the type from a flags byte.
    fn from_flags(flags: u8) -> SdsType {
        match flags & TYPE_MASK {
            0 => SdsType::Type5,
            1 => SdsType::Type8,
            2 => SdsType::Type16,
            3 => SdsType::Type32,
            4 => SdsType::Type64,
            // Only this module writes flags bytes, and it writes only the five
            // values above; reaching this means memory was corrupted.
            _ => unreachable!("corrupt sds flags byte {flags:#04x}"),
        }
    }
}

// ANCHOR: req_type
/// The smallest header type able to record a length or capacity of `n`.
///
/// Boundaries: 31 -> type 5, 32 -> type 8; 255 -> 8, 256 -> 16;
/// 65 535 -> 16, 65 536 -> 32; 2^32 - 1 -> 32, 2^32 -> 64.
///
/// Callers apply two exceptions on top: a *new empty* string and a *growing*
/// string never get type 5, because type 5 cannot hold spare capacity.
pub fn req_type(n: usize) -> SdsType {
    if n < 1 << 5 {
        SdsType::Type5
    } else if n < 1 << 8 {
        SdsType::Type8
    } else if n < 1 << 16 {
        SdsType::Type16
    } else if (n as u64) < 1 << 32 {
        SdsType::Type32
    } else {
        SdsType::Type64
    }
}
// ANCHOR_END: req_type

// ANCHOR: grow_policy
/// Below this size a growing string doubles; above it, it grows by this much.
/// The cap keeps a 100 MiB string from reserving another 100 MiB for one
/// more byte.
pub const SDS_MAX_PREALLOC: usize = 1024 * 1024;

/// The capacity to allocate when a string must hold `reqlen` bytes and does
/// not: twice as much below 1 MiB, 1 MiB more from there on.
///
/// Worked numbers: 11 -> 22; 1 048 575 -> 2 097 150; 1 048 576 -> 2 097 152;
/// 5 MiB -> 6 MiB.
fn greedy_capacity(reqlen: usize) -> usize {
    if reqlen < SDS_MAX_PREALLOC {
        reqlen * 2
    } else {
        reqlen
            .checked_add(SDS_MAX_PREALLOC)
            .unwrap_or_else(|| capacity_overflow())
    }
}
// ANCHOR_END: grow_policy

/// A binary-safe, length-prefixed, growable byte string laid out like Redis's
/// `sds`: one pointer wide, with a header sized to the string just in front
/// of the bytes. See the module essay for the layout and invariants.
pub struct Sds {
    /// Points at the first string byte, which is `header_len` bytes into a
    /// block of `header_len + alloc + 1` bytes (invariant 1). Never null, so
    /// `Option<Sds>` needs no extra word.
    buf: NonNull<u8>,
}

// The claim in the essay, checked at compile time.
const _: () = assert!(size_of::<Sds>() == size_of::<*const u8>());
const _: () = assert!(size_of::<Option<Sds>>() == size_of::<*const u8>());

// SAFETY: an `Sds` owns its block exclusively, like `Box<[u8]>`: no other
// handle points into it, and `&Sds` only permits reads. Moving it to another
// thread moves the ownership; sharing `&Sds` shares only immutable bytes.
unsafe impl Send for Sds {}
// SAFETY: see `Send` above; there is no interior mutability.
unsafe impl Sync for Sds {}

// ----------------------------------------------------------------------------
// Raw header access. Every read or write of a whole header goes through
// `read_header` and `write_header`; `Sds::flags` reads the one byte all
// header types share. Every block is made by `allocate`.
// ----------------------------------------------------------------------------

/// Where a header of type `H` starts, given the string pointer `s`.
/// Computing the address is safe; using it is not.
fn header_ptr<H>(s: *mut u8) -> *mut H {
    s.wrapping_sub(size_of::<H>()).cast()
}

/// Reads `(len, alloc)` from the header of type `ty` in front of `s`.
///
/// # Safety
/// `s` must be the string pointer of a live block whose header is of type `ty`.
unsafe fn read_header(s: *mut u8, ty: SdsType) -> (usize, usize) {
    // SAFETY: by the caller's promise the `header_len` bytes before `s` are an
    // initialised header of type `ty`. The header structs have alignment 1, so
    // any address is aligned for them, and `read` copies them out by value.
    unsafe {
        match ty {
            SdsType::Type5 => {
                let len = usize::from(s.sub(1).read() >> TYPE_BITS);
                (len, len)
            }
            SdsType::Type8 => {
                let h = header_ptr::<SdsHdr8>(s).read();
                (usize::from(h.len), usize::from(h.alloc))
            }
            SdsType::Type16 => {
                let h = header_ptr::<SdsHdr16>(s).read();
                (usize::from(h.len), usize::from(h.alloc))
            }
            SdsType::Type32 => {
                let h = header_ptr::<SdsHdr32>(s).read();
                (h.len as usize, h.alloc as usize)
            }
            SdsType::Type64 => {
                let h = header_ptr::<SdsHdr64>(s).read();
                (h.len as usize, h.alloc as usize)
            }
        }
    }
}

/// Writes a complete header of type `ty` saying `len` and `alloc` in front
/// of `s`, flags byte last.
///
/// # Safety
/// The `ty.header_len()` bytes before `s` must be writable memory of one live
/// block. The numbers must fit: `len <= alloc <= ty.max_alloc()`, and for
/// type 5 `len == alloc`.
unsafe fn write_header(s: *mut u8, ty: SdsType, len: usize, alloc: usize) {
    debug_assert!(len <= alloc && alloc <= ty.max_alloc());
    debug_assert!(ty != SdsType::Type5 || len == alloc);
    let flags = ty as u8;
    // The `as` casts below cannot truncate: the caller promised the numbers
    // fit the type (checked above in debug builds).
    // SAFETY: by the caller's promise the header bytes are ours to write, and
    // the header structs have alignment 1.
    unsafe {
        match ty {
            SdsType::Type5 => s.sub(1).write(flags | (len as u8) << TYPE_BITS),
            SdsType::Type8 => header_ptr::<SdsHdr8>(s).write(SdsHdr8 {
                len: len as u8,
                alloc: alloc as u8,
                flags,
            }),
            SdsType::Type16 => header_ptr::<SdsHdr16>(s).write(SdsHdr16 {
                len: len as u16,
                alloc: alloc as u16,
                flags,
            }),
            SdsType::Type32 => header_ptr::<SdsHdr32>(s).write(SdsHdr32 {
                len: len as u32,
                alloc: alloc as u32,
                flags,
            }),
            SdsType::Type64 => header_ptr::<SdsHdr64>(s).write(SdsHdr64 {
                len: len as u64,
                alloc: alloc as u64,
                flags,
            }),
        }
    }
}

/// The allocator layout of a block with header `ty` and capacity `alloc`:
/// `header + alloc + 1` bytes, alignment 1. Never zero-sized (the header and
/// the terminator are at least 2 bytes), which `alloc::alloc` requires.
fn block_layout(ty: SdsType, alloc: usize) -> Layout {
    ty.header_len()
        .checked_add(alloc)
        .and_then(|n| n.checked_add(1))
        .and_then(|size| Layout::from_size_align(size, 1).ok())
        .unwrap_or_else(|| capacity_overflow())
}

/// Like `Vec`, we treat a size that cannot be represented as a bug in the
/// caller, not as an out-of-memory condition.
#[cold]
fn capacity_overflow() -> ! {
    panic!("sds: capacity overflow")
}

/// Allocates a block for header `ty` and capacity `alloc`, writes a header
/// saying `len`, and returns the string pointer. The string bytes, including
/// the terminator at `len`, are left for the caller to write.
fn allocate(ty: SdsType, len: usize, alloc: usize) -> NonNull<u8> {
    // A real assert, not a debug one: a header that under-reports its block
    // would make `Drop` free the wrong size. Once per allocation, so cheap.
    assert!(len <= alloc && alloc <= ty.max_alloc() && (ty != SdsType::Type5 || len == alloc));
    let layout = block_layout(ty, alloc);
    // SAFETY: `layout` has non-zero size (see `block_layout`).
    let base = unsafe { alloc::alloc(layout) };
    if base.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: `header_len < layout.size()`, so the result stays in the block.
    let s = unsafe { base.add(ty.header_len()) };
    // SAFETY: the header bytes are the first bytes of the fresh block, and
    // the numbers fit `ty` (asserted above).
    unsafe { write_header(s, ty, len, alloc) };
    // SAFETY: `s` is `base` (non-null) plus an in-bounds offset.
    unsafe { NonNull::new_unchecked(s) }
}

impl Sds {
    // ------------------------------------------------------------------------
    // Construction
    // ------------------------------------------------------------------------

    // ANCHOR: new
    /// A new string holding a copy of `bytes`, with no spare room
    /// (`alloc == len`), like `sdsnewlen`.
    ///
    /// The header is the smallest that fits the length, except that an empty
    /// string gets type 8, not type 5: empty strings are almost always created
    /// to be appended to. Its first append still has to grow it (there is no
    /// spare room), but within the same header type that is a `realloc`,
    /// possibly in place; from type 5 it would be a new block and a copy.
    pub fn new(bytes: &[u8]) -> Sds {
        let len = bytes.len();
        let ty = match req_type(len) {
            SdsType::Type5 if len == 0 => SdsType::Type8,
            ty => ty,
        };
        let buf = allocate(ty, len, len);
        // SAFETY: the fresh block has `len + 1` writable bytes at `buf`, and
        // a fresh block cannot overlap the live memory `bytes` borrows.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), buf.as_ptr(), len);
            buf.as_ptr().add(len).write(0);
        }
        Sds { buf }
    }
    // ANCHOR_END: new

    /// An empty string: a type-8 header with no capacity, 4 bytes in all.
    pub fn empty() -> Sds {
        Sds::new(b"")
    }

    /// An empty string with room for `capacity` bytes, so the first
    /// `capacity` bytes of appends do not allocate. Redis gets the same
    /// string from `sdsMakeRoomForNonGreedy(sdsempty(), n)`. Never type 5.
    pub fn with_capacity(capacity: usize) -> Sds {
        let ty = match req_type(capacity) {
            SdsType::Type5 => SdsType::Type8,
            ty => ty,
        };
        let buf = allocate(ty, 0, capacity);
        // SAFETY: the block has at least one string byte (the terminator).
        unsafe { buf.as_ptr().write(0) };
        Sds { buf }
    }

    /// The decimal representation of `value`, like `sdsfromlonglong`, which
    /// INCR and friends use to turn a number back into a string value.
    ///
    /// Digits are produced right to left into a stack buffer, so no reversal
    /// pass is needed. The longest result is `i64::MIN`,
    /// `-9223372036854775808`: 20 bytes.
    pub fn from_i64(value: i64) -> Sds {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        // `unsigned_abs` handles i64::MIN, whose negation does not fit i64.
        let mut v = value.unsigned_abs();
        loop {
            start -= 1;
            digits[start] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if value < 0 {
            start -= 1;
            digits[start] = b'-';
        }
        Sds::new(&digits[start..])
    }

    // ------------------------------------------------------------------------
    // Reading the header
    // ------------------------------------------------------------------------

    /// The flags byte, `buf[-1]`.
    #[inline]
    fn flags(&self) -> u8 {
        // SAFETY: invariant 1 puts a header, whose last byte is the flags
        // byte, right before `buf`.
        unsafe { self.buf.as_ptr().sub(1).read() }
    }

    /// Which header this string currently carries.
    #[inline]
    pub fn header_type(&self) -> SdsType {
        SdsType::from_flags(self.flags())
    }

    /// Bytes of header in front of the string (1, 3, 5, 9 or 17).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_type().header_len()
    }

    /// `(len, alloc)` in one header read.
    #[inline]
    fn len_alloc(&self) -> (usize, usize) {
        // SAFETY: `header_type` just decoded the type of our own live header.
        unsafe { read_header(self.buf.as_ptr(), self.header_type()) }
    }

    /// Length in bytes. O(1): a header read.
    #[inline]
    pub fn len(&self) -> usize {
        self.len_alloc().0
    }

    /// Whether the length is zero.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity: how many bytes the string can hold without reallocating,
    /// not counting header or terminator. Equal to `len()` for type 5.
    #[inline]
    pub fn alloc(&self) -> usize {
        self.len_alloc().1
    }

    /// Spare room: `alloc() - len()`. Always 0 for type 5.
    #[inline]
    pub fn avail(&self) -> usize {
        let (len, alloc) = self.len_alloc();
        alloc - len
    }

    /// Total bytes requested from the allocator for this string:
    /// `header_len + alloc + 1`, like `sdsAllocSize`. `MEMORY USAGE` adds
    /// this up; it does not include the 8-byte handle itself.
    pub fn alloc_size(&self) -> usize {
        self.header_len() + self.alloc() + 1
    }

    /// The string's bytes, `[0, len)`. The terminator is not included.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: invariant 3: `len` initialised bytes start at `buf`, and
        // they live as long as `self` is borrowed.
        unsafe { slice::from_raw_parts(self.buf.as_ptr(), self.len()) }
    }

    /// The string's bytes, mutably. The length cannot change through this
    /// slice, so the header and terminator stay right.
    #[inline]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.len();
        // SAFETY: as in `as_bytes`; `&mut self` makes the borrow unique.
        unsafe { slice::from_raw_parts_mut(self.buf.as_ptr(), len) }
    }

    /// Copies the bytes into a `Vec<u8>` and frees the string. (A copy is
    /// unavoidable: a `Vec` cannot own a block that starts with a header.)
    pub fn into_vec(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// Where the block begins: `buf - header_len`.
    #[inline]
    fn block_start(&self) -> *mut u8 {
        // SAFETY: invariant 1: the header is inside the same block, so the
        // subtraction stays in bounds.
        unsafe { self.buf.as_ptr().sub(self.header_len()) }
    }

    // ------------------------------------------------------------------------
    // Growing
    // ------------------------------------------------------------------------

    // ANCHOR: make_room_for
    /// Makes sure at least `addlen` more bytes fit without reallocating
    /// (`avail() >= addlen` afterwards). Does not change the length.
    ///
    /// Outcomes:
    /// * enough room already: nothing happens (the common case for a run of
    ///   appends);
    /// * the new capacity needs the same header type: `realloc`, which may
    ///   extend the block in place and otherwise moves header and bytes
    ///   together;
    /// * it needs a wider header (or the string was type 5): a new block,
    ///   a copy of `len + 1` bytes to the new offset, and the old block freed.
    ///
    /// Panics if `len + addlen` overflows (`sdsMakeRoomFor` asserts likewise).
    pub fn make_room_for(&mut self, addlen: usize) {
        let (len, alloc) = self.len_alloc();
        if alloc - len >= addlen {
            return;
        }
        let reqlen = len
            .checked_add(addlen)
            .unwrap_or_else(|| capacity_overflow());
        let new_alloc = greedy_capacity(reqlen);

        let old_type = self.header_type();
        // A growing string never gets type 5: it could not keep the spare room.
        let new_type = match req_type(new_alloc) {
            SdsType::Type5 => SdsType::Type8,
            ty => ty,
        };
        let old_layout = block_layout(old_type, alloc);
        let new_layout = block_layout(new_type, new_alloc);
        let old_start = self.block_start();

        if new_type == old_type {
            // SAFETY: `old_start` was allocated with `old_layout` (invariant
            // 1); `new_layout` was built successfully, so its non-zero size is
            // valid for align 1.
            let start = unsafe { alloc::realloc(old_start, old_layout, new_layout.size()) };
            if start.is_null() {
                alloc::handle_alloc_error(new_layout);
            }
            // SAFETY: the header fits inside the new block; `realloc` kept the
            // old header and bytes at the same offsets. The numbers fit
            // `new_type` because `req_type(new_alloc)` chose it.
            unsafe {
                let s = start.add(new_type.header_len());
                self.buf = NonNull::new_unchecked(s);
                write_header(s, new_type, len, new_alloc);
            }
        } else {
            let s = allocate(new_type, len, new_alloc);
            // SAFETY: the old block has `len + 1` initialised bytes at `buf`
            // (string + terminator); the new block has room for
            // `new_alloc + 1 > len + 1`; two live blocks never overlap. After
            // the copy the old block is freed with the layout it was
            // allocated with, and `buf` moves to the new one.
            unsafe {
                ptr::copy_nonoverlapping(self.buf.as_ptr(), s.as_ptr(), len + 1);
                alloc::dealloc(old_start, old_layout);
            }
            self.buf = s;
        }
    }
    // ANCHOR_END: make_room_for

    /// Sets the length to `new_len` and writes the terminator after it.
    ///
    /// For type 5, which has no capacity field, a shorter length must also
    /// shrink the block, or invariant 1 (block size = header + alloc + 1)
    /// would break; see "What we simplified".
    ///
    /// # Safety
    /// `new_len <= self.alloc()`, and bytes `[0, new_len)` are initialised.
    unsafe fn set_len(&mut self, new_len: usize) {
        let (len, alloc) = self.len_alloc();
        debug_assert!(new_len <= alloc);
        let ty = self.header_type();
        if ty == SdsType::Type5 && new_len != len {
            let old_layout = block_layout(ty, len);
            let new_size = block_layout(ty, new_len).size();
            // SAFETY: the block was allocated with `old_layout`; `new_size` is
            // non-zero and smaller, so valid. `realloc` keeps the first
            // `new_size` bytes: the flags byte and `new_len` string bytes.
            let start = unsafe { alloc::realloc(self.block_start(), old_layout, new_size) };
            if start.is_null() {
                alloc::handle_alloc_error(block_layout(ty, new_len));
            }
            // SAFETY: offset 1 is inside the new block of `new_len + 2`
            // bytes, and `new_len < 32` fits type 5.
            unsafe {
                let s = start.add(1);
                self.buf = NonNull::new_unchecked(s);
                write_header(s, ty, new_len, new_len);
            }
        } else {
            // SAFETY: our own header, of type `ty`; `new_len <= alloc`.
            unsafe { write_header(self.buf.as_ptr(), ty, new_len, alloc) };
        }
        // SAFETY: `new_len <= alloc`, and the block has `alloc + 1` string
        // bytes, so index `new_len` is in bounds.
        unsafe { self.buf.as_ptr().add(new_len).write(0) };
    }

    /// Appends `bytes`, like `sdscatlen`: make room (greedily), copy, set the
    /// new length and terminator.
    ///
    /// In C, appending a string to itself is a trap (if the block moves, the
    /// source pointer dangles). Here `bytes` cannot borrow from `self` while
    /// `self` is borrowed mutably, so the trap cannot be written.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let len = self.len();
        self.make_room_for(bytes.len());
        // SAFETY: after `make_room_for`, `alloc >= len + bytes.len()`, so the
        // destination is inside our block; `bytes` is borrowed separately from
        // `self`, so it is not inside our block. The copied range is then
        // initialised, which `set_len` requires.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf.as_ptr().add(len), bytes.len());
            self.set_len(len + bytes.len());
        }
    }

    /// Appends UTF-8 text; the string stays a byte string.
    pub fn push_str(&mut self, s: &str) {
        self.push_bytes(s.as_bytes());
    }

    /// Extends the string to `new_len` bytes with zeros, like `sdsgrowzero`:
    /// what SETRANGE and SETBIT do when they write past the end. Does nothing
    /// if the string is already at least that long. Growth is greedy, so a
    /// SETBIT walking up through an `n`-byte bitmap reallocates only about
    /// `log2(n)` times.
    pub fn grow_zeroed(&mut self, new_len: usize) {
        let len = self.len();
        if new_len <= len {
            return;
        }
        self.make_room_for(new_len - len);
        // SAFETY: `alloc >= new_len` now, so `[len, new_len)` is inside the
        // block; after zeroing it, `[0, new_len)` is initialised.
        unsafe {
            ptr::write_bytes(self.buf.as_ptr().add(len), 0, new_len - len);
            self.set_len(new_len);
        }
    }

    // ------------------------------------------------------------------------
    // Shrinking
    // ------------------------------------------------------------------------

    /// Shortens the string to `new_len` bytes; does nothing if it is not
    /// longer. Keeps the block (except for type 5), so the bytes freed become
    /// spare capacity.
    pub fn truncate(&mut self, new_len: usize) {
        if new_len < self.len() {
            // SAFETY: `new_len < len <= alloc`; a prefix of initialised bytes
            // is initialised.
            unsafe { self.set_len(new_len) };
        }
    }

    /// Makes the string empty but keeps its capacity, like `sdsclear`, so a
    /// buffer that is filled and emptied over and over allocates once. (A
    /// type-5 string has no capacity to keep; it shrinks to 2 bytes.)
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Keeps only bytes `[start, end)` and moves them to the front, in place,
    /// like `sdsrange`. Out-of-range bounds are clamped: `end` to `len`, then
    /// `start` to `end`, so `range(5, 3)` or `range(100, 200)` on a short
    /// string leaves it empty rather than panicking. The capacity is kept.
    pub fn range(&mut self, start: usize, end_exclusive: usize) {
        let len = self.len();
        let end = end_exclusive.min(len);
        let start = start.min(end);
        let new_len = end - start;
        // SAFETY: `start <= end <= len`, so both ranges lie in the initialised
        // part of the block; `ptr::copy` allows them to overlap. The result
        // `[0, new_len)` is initialised and `new_len <= len <= alloc`.
        unsafe {
            if start > 0 && new_len > 0 {
                ptr::copy(self.buf.as_ptr().add(start), self.buf.as_ptr(), new_len);
            }
            self.set_len(new_len);
        }
    }

    /// Gives the spare capacity back, like `sdsRemoveFreeSpace` (Redis's
    /// `trimStringObjectIfNeeded` calls it when a string value has more than
    /// 10% slack). Afterwards `avail() == 0`.
    ///
    /// Outcomes, following Redis 7.0:
    /// * no spare room: nothing happens;
    /// * the smallest header for `len` is the current one, or is narrower but
    ///   still type 16 or wider: `realloc` down and *keep the current header*.
    ///   A narrower header would save at most 12 bytes (17 -> 5) on a string
    ///   of 256 bytes or more, under 5%, and would cost a copy, while
    ///   `realloc` usually shrinks in place;
    /// * the smallest header is type 8 or type 5 (a short string): a new,
    ///   exact block with that header, a copy, and the old block freed. This
    ///   is where a short string really saves: e.g. a 10-byte string in a
    ///   type-16 block goes from 5 + 10 + 1 to 1 + 10 + 1 bytes.
    pub fn remove_free_space(&mut self) {
        let (len, alloc) = self.len_alloc();
        if alloc == len {
            return;
        }
        let old_type = self.header_type();
        let new_type = req_type(len);
        let old_layout = block_layout(old_type, alloc);
        let old_start = self.block_start();

        if new_type == old_type || (new_type < old_type && new_type > SdsType::Type8) {
            let new_size = block_layout(old_type, len).size();
            // SAFETY: the block was allocated with `old_layout`; `new_size` is
            // smaller and non-zero. `realloc` keeps the header and the first
            // `len` string bytes; the terminator is rewritten below.
            let start = unsafe { alloc::realloc(old_start, old_layout, new_size) };
            if start.is_null() {
                alloc::handle_alloc_error(block_layout(old_type, len));
            }
            // SAFETY: header and `len + 1` string bytes fit the new block;
            // `len` fits the old type because `alloc` did.
            unsafe {
                let s = start.add(old_type.header_len());
                self.buf = NonNull::new_unchecked(s);
                write_header(s, old_type, len, len);
                s.add(len).write(0);
            }
        } else {
            let s = allocate(new_type, len, len);
            // SAFETY: `len + 1` initialised bytes (with terminator) at `buf`,
            // room for exactly `len + 1` at `s`, distinct blocks. The old block
            // is freed with its own layout after the copy.
            unsafe {
                ptr::copy_nonoverlapping(self.buf.as_ptr(), s.as_ptr(), len + 1);
                alloc::dealloc(old_start, old_layout);
            }
            self.buf = s;
        }
    }
}

impl Drop for Sds {
    fn drop(&mut self) {
        let layout = block_layout(self.header_type(), self.alloc());
        // SAFETY: invariant 1: the block starts at `block_start` and was
        // allocated with exactly this layout. `self` is never used again.
        unsafe { alloc::dealloc(self.block_start(), layout) };
    }
}

/// An exact-fit copy, like `sdsdup`: the clone's header is chosen for its
/// length, not copied. So a 10-byte string with 12 spare bytes (type 8,
/// 26-byte block) clones into a type-5, 12-byte block; and an empty string
/// clones to type 8 with no capacity.
impl Clone for Sds {
    fn clone(&self) -> Sds {
        Sds::new(self.as_bytes())
    }
}

impl Default for Sds {
    /// Same as [`Sds::empty`]. Allocates 4 bytes.
    fn default() -> Sds {
        Sds::empty()
    }
}

impl Deref for Sds {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl DerefMut for Sds {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_bytes_mut()
    }
}

impl AsRef<[u8]> for Sds {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Lets a `HashMap<Sds, _>` (or our `Dict`) be searched with a plain `&[u8]`
/// taken straight from a parsed command, without building an `Sds` first.
/// `Borrow` demands that `Hash`, `Eq` and `Ord` agree with `[u8]`'s; the
/// impls below delegate to the byte slice so they cannot disagree.
impl Borrow<[u8]> for Sds {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Sds {
    /// Exactly `<[u8] as Hash>::hash` (length, then bytes), so a key hashes
    /// the same whether held as an `Sds` or as a slice.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Sds {
    fn eq(&self, other: &Sds) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Sds {}

/// Byte-wise order, like Redis's `sdscmp`: compare the common prefix as
/// unsigned bytes (`memcmp`), and if it is equal the shorter string is
/// smaller. This is the order ZRANGEBYLEX sorts members in.
impl Ord for Sds {
    fn cmp(&self, other: &Sds) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for Sds {
    fn partial_cmp(&self, other: &Sds) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<[u8]> for Sds {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Sds {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Sds {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Sds {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<str> for Sds {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Sds {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Shown as a quoted string with non-printable bytes escaped (`\x00`, `\n`,
/// `\"`), close to how `redis-cli` prints a binary value.
impl fmt::Debug for Sds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl From<&[u8]> for Sds {
    fn from(bytes: &[u8]) -> Sds {
        Sds::new(bytes)
    }
}

impl From<&str> for Sds {
    fn from(s: &str) -> Sds {
        Sds::new(s.as_bytes())
    }
}

/// Copies: the `Vec`'s block has no room for a header in front.
impl From<Vec<u8>> for Sds {
    fn from(v: Vec<u8>) -> Sds {
        Sds::new(&v)
    }
}

impl From<Sds> for Vec<u8> {
    fn from(s: Sds) -> Vec<u8> {
        s.into_vec()
    }
}

#[cfg(test)]
impl Sds {
    /// The byte just past the string, read through the raw pointer: must be
    /// the terminator.
    fn byte_after_end(&self) -> u8 {
        // SAFETY: invariant 3: index `len` is inside the block.
        unsafe { self.buf.as_ptr().add(self.len()).read() }
    }

    /// Checks invariants 2 and 3 and the `alloc_size` arithmetic. (Invariant
    /// 1 is checked by Miri: a wrong layout in `dealloc` is reported there.)
    fn assert_invariants(&self) {
        let ty = self.header_type();
        let (len, alloc) = self.len_alloc();
        assert!(len <= alloc, "len {len} > alloc {alloc}");
        assert!(alloc <= ty.max_alloc(), "{ty:?} cannot hold alloc {alloc}");
        if ty == SdsType::Type5 {
            assert_eq!(len, alloc, "type 5 has no spare room");
            assert_eq!(self.flags(), (len as u8) << TYPE_BITS);
        } else {
            assert_eq!(self.flags(), ty as u8, "unused flag bits must be zero");
        }
        assert_eq!(self.byte_after_end(), 0, "missing terminator");
        assert_eq!(self.alloc_size(), ty.header_len() + alloc + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::hash::DefaultHasher;

    const MIB: usize = 1024 * 1024;

    fn filled(n: usize) -> Vec<u8> {
        (0..n).map(|i| b'a' + (i % 26) as u8).collect()
    }

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn handle_is_one_pointer_and_option_costs_nothing() {
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(size_of::<Sds>(), 8);
            assert_eq!(size_of::<Option<Sds>>(), 8);
        }
    }

    #[test]
    fn header_sizes_match_redis() {
        let sizes: Vec<usize> = [
            SdsType::Type5,
            SdsType::Type8,
            SdsType::Type16,
            SdsType::Type32,
            SdsType::Type64,
        ]
        .iter()
        .map(|t| t.header_len())
        .collect();
        assert_eq!(sizes, [1, 3, 5, 9, 17]);
    }

    #[test]
    fn req_type_boundaries_including_the_32_bit_one() {
        assert_eq!(req_type(0), SdsType::Type5);
        assert_eq!(req_type(31), SdsType::Type5);
        assert_eq!(req_type(32), SdsType::Type8);
        assert_eq!(req_type(255), SdsType::Type8);
        assert_eq!(req_type(256), SdsType::Type16);
        assert_eq!(req_type(65_535), SdsType::Type16);
        assert_eq!(req_type(65_536), SdsType::Type32);
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(req_type((1 << 32) - 1), SdsType::Type32);
            assert_eq!(req_type(1 << 32), SdsType::Type64);
            assert_eq!(req_type(usize::MAX), SdsType::Type64);
        }
    }

    #[test]
    fn new_picks_the_smallest_header_at_each_class_boundary() {
        for (n, ty) in [
            (1, SdsType::Type5),
            (31, SdsType::Type5),
            (32, SdsType::Type8),
            (255, SdsType::Type8),
            (256, SdsType::Type16),
            (65_535, SdsType::Type16),
            (65_536, SdsType::Type32),
        ] {
            let bytes = filled(n);
            let s = Sds::new(&bytes);
            s.assert_invariants();
            assert_eq!(s.header_type(), ty, "length {n}");
            assert_eq!(s.len(), n);
            assert_eq!(s.alloc(), n, "new is exact fit");
            assert_eq!(s.alloc_size(), ty.header_len() + n + 1);
            assert_eq!(s, bytes[..]);
        }
    }

    #[test]
    fn empty_string_is_type8_not_type5() {
        for s in [Sds::new(b""), Sds::empty(), Sds::default()] {
            s.assert_invariants();
            assert_eq!(s.header_type(), SdsType::Type8);
            assert_eq!((s.len(), s.alloc()), (0, 0));
            assert_eq!(s.alloc_size(), 4);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn type5_keeps_the_length_in_the_flags_byte() {
        let s = Sds::new(b"hi");
        assert_eq!(s.header_type(), SdsType::Type5);
        assert_eq!(s.flags(), 0x10); // 2 << 3 | SDS_TYPE_5
        assert_eq!(s.alloc_size(), 4);
        let s = Sds::new(&filled(30));
        assert_eq!(s.flags(), 0xf0); // the worked example's flags byte
    }

    #[test]
    fn appending_one_byte_to_a_ten_byte_string_gives_alloc_22() {
        let mut s = Sds::new(b"0123456789");
        assert_eq!(s.header_type(), SdsType::Type5);
        s.push_bytes(b"x");
        s.assert_invariants();
        assert_eq!(s.len(), 11);
        assert_eq!(s.alloc(), 22);
        assert_eq!(s.header_type(), SdsType::Type8, "type 5 upgrades to 8");
        assert_eq!(s.alloc_size(), 3 + 22 + 1);
        assert_eq!(s, b"0123456789x");
    }

    #[test]
    fn worked_example_append_to_thirty_byte_type5_string() {
        let key = b"user:1000:session:abcdefghijkl";
        assert_eq!(key.len(), 30);
        let mut s = Sds::new(key);
        assert_eq!((s.header_type(), s.alloc_size()), (SdsType::Type5, 32));
        s.push_bytes(b"!!");
        s.assert_invariants();
        assert_eq!(s.header_type(), SdsType::Type8);
        assert_eq!((s.len(), s.alloc(), s.alloc_size()), (32, 64, 68));
        assert_eq!(s.flags(), 0x01);
        let before = s.alloc();
        for _ in 0..32 {
            s.push_bytes(b".");
        }
        assert_eq!(s.alloc(), before, "32 more bytes fit without growing");
        s.push_bytes(b".");
        assert_eq!(s.alloc(), 65 * 2);
    }

    #[test]
    fn one_byte_appends_reallocate_at_the_essays_capacities() {
        let mut s = Sds::empty();
        let mut capacities = Vec::new();
        for _ in 0..1000 {
            let before = s.alloc();
            s.push_bytes(b"z");
            if s.alloc() != before {
                capacities.push(s.alloc());
            }
        }
        s.assert_invariants();
        assert_eq!(capacities, [2, 6, 14, 30, 62, 126, 254, 510, 1022]);
        assert_eq!(s.header_type(), SdsType::Type16);
    }

    #[test]
    fn growth_doubles_just_below_one_mib_and_adds_one_mib_from_there() {
        assert_eq!(greedy_capacity(11), 22);
        assert_eq!(greedy_capacity(MIB - 1), 2 * MIB - 2);
        assert_eq!(greedy_capacity(MIB), 2 * MIB);
        assert_eq!(greedy_capacity(5 * MIB), 6 * MIB);

        // The same through the real code path, on a real 1 MiB string.
        let mut s = Sds::empty();
        s.grow_zeroed(MIB);
        s.remove_free_space();
        assert_eq!((s.len(), s.alloc()), (MIB, MIB));
        s.push_bytes(b"!");
        s.assert_invariants();
        assert_eq!(s.alloc(), MIB + 1 + MIB, "past 1 MiB: add 1 MiB");
        assert_eq!(s.header_type(), SdsType::Type32);
    }

    #[test]
    fn make_room_for_does_nothing_when_room_suffices() {
        let mut s = Sds::with_capacity(100);
        s.push_bytes(b"abc");
        let ptr = s.as_ptr();
        s.make_room_for(97);
        assert_eq!(s.alloc(), 100);
        assert_eq!(s.as_ptr(), ptr, "no reallocation");
        s.make_room_for(98);
        assert_eq!(s.alloc(), 2 * 101);
        assert!(s.avail() >= 98);
        assert_eq!(s, b"abc");
        s.assert_invariants();
    }

    #[test]
    fn growing_across_a_header_class_moves_the_bytes_intact() {
        let bytes = filled(200);
        let mut s = Sds::new(&bytes);
        assert_eq!(s.header_type(), SdsType::Type8);
        s.push_bytes(b"+");
        s.assert_invariants();
        assert_eq!(s.header_type(), SdsType::Type16); // alloc 402
        assert_eq!(&s[..200], &bytes[..]);
        assert_eq!(s[200], b'+');

        let mut big = Sds::with_capacity(40_000);
        assert_eq!(big.header_type(), SdsType::Type16);
        big.push_bytes(&filled(40_001)); // 80 002 > 65 535
        big.assert_invariants();
        assert_eq!(big.header_type(), SdsType::Type32);
        assert_eq!(big.as_bytes(), &filled(40_001)[..]);
    }

    #[test]
    fn with_capacity_picks_a_header_for_the_capacity_never_type5() {
        let s = Sds::with_capacity(10);
        assert_eq!(
            (s.header_type(), s.len(), s.alloc()),
            (SdsType::Type8, 0, 10)
        );
        let s = Sds::with_capacity(300);
        assert_eq!(s.header_type(), SdsType::Type16);
        s.assert_invariants();
    }

    #[test]
    fn remove_free_space_downgrades_short_strings_to_type5() {
        let mut s = Sds::with_capacity(1000);
        s.push_bytes(b"0123456789");
        assert_eq!(s.header_type(), SdsType::Type16);
        s.remove_free_space();
        s.assert_invariants();
        assert_eq!(s.header_type(), SdsType::Type5);
        assert_eq!((s.len(), s.alloc(), s.alloc_size()), (10, 10, 12));
        assert_eq!(s, b"0123456789");
    }

    #[test]
    fn remove_free_space_downgrades_type16_to_type8() {
        let mut s = Sds::with_capacity(1000);
        s.push_bytes(&filled(200));
        s.remove_free_space();
        s.assert_invariants();
        assert_eq!((s.header_type(), s.alloc()), (SdsType::Type8, 200));
        assert_eq!(s.as_bytes(), &filled(200)[..]);
    }

    #[test]
    fn remove_free_space_keeps_a_wide_header_when_type16_would_do() {
        let mut s = Sds::with_capacity(100_000);
        assert_eq!(s.header_type(), SdsType::Type32);
        s.push_bytes(&filled(1000));
        s.remove_free_space();
        s.assert_invariants();
        assert_eq!(s.header_type(), SdsType::Type32, "realloc, no re-header");
        assert_eq!(s.alloc(), 1000);
        assert_eq!(s.alloc_size(), 9 + 1000 + 1);
    }

    #[test]
    fn remove_free_space_of_an_empty_string_with_room_gives_type5() {
        let mut s = Sds::with_capacity(50);
        s.remove_free_space();
        s.assert_invariants();
        assert_eq!((s.header_type(), s.alloc_size()), (SdsType::Type5, 2));
        s.push_bytes(b"again");
        s.assert_invariants();
        assert_eq!((s.header_type(), s.alloc()), (SdsType::Type8, 10));
    }

    #[test]
    fn remove_free_space_without_spare_room_changes_nothing() {
        let mut s = Sds::empty();
        s.remove_free_space();
        assert_eq!(s.header_type(), SdsType::Type8, "alloc == len already");
        let mut s = Sds::new(&filled(300));
        let ptr = s.as_ptr();
        s.remove_free_space();
        assert_eq!(s.as_ptr(), ptr);
    }

    #[test]
    fn clear_keeps_the_allocation() {
        let mut s = Sds::new(&filled(100));
        s.push_bytes(b"x");
        let alloc = s.alloc();
        s.clear();
        s.assert_invariants();
        assert!(s.is_empty());
        assert_eq!(s.alloc(), alloc);
        s.push_bytes(&filled(alloc));
        assert_eq!(s.alloc(), alloc, "refilling does not allocate");
    }

    #[test]
    fn shortening_a_type5_string_shrinks_its_block() {
        let mut s = Sds::new(b"hello world");
        s.truncate(5);
        s.assert_invariants();
        assert_eq!((s.header_type(), s.alloc_size()), (SdsType::Type5, 7));
        assert_eq!(s, "hello");
        s.range(1, 4);
        s.assert_invariants();
        assert_eq!(s, "ell");
        s.clear();
        s.assert_invariants();
        assert_eq!(s.alloc_size(), 2);
    }

    #[test]
    fn truncate_past_the_end_does_nothing() {
        let mut s = Sds::from("abc");
        s.truncate(10);
        assert_eq!(s, "abc");
        s.truncate(3);
        assert_eq!(s, "abc");
    }

    #[test]
    fn range_keeps_a_half_open_clamped_slice() {
        let mut s = Sds::with_capacity(40);
        s.push_str("Hello World");
        s.range(6, 11);
        assert_eq!(s, "World");
        assert_eq!(s.alloc(), 40, "in place");
        s.range(1, 100);
        assert_eq!(s, "orld");
        s.range(3, 1);
        assert_eq!(s, "");
        s.assert_invariants();
        let mut s = Sds::from("abc");
        s.range(100, 200);
        assert!(s.is_empty());
        s.assert_invariants();
    }

    #[test]
    fn grow_zeroed_pads_with_zero_bytes() {
        let mut s = Sds::from("ab");
        s.grow_zeroed(6);
        s.assert_invariants();
        assert_eq!(s, b"ab\0\0\0\0");
        assert_eq!(s.alloc(), 12, "greedy");
        s.grow_zeroed(3);
        assert_eq!(s.len(), 6, "never shrinks");
        // Garbage left in the spare room by a truncate must not reappear.
        let mut s = Sds::from("abcdefgh");
        s.push_bytes(b"ijkl");
        s.truncate(2);
        s.grow_zeroed(10);
        assert_eq!(s, b"ab\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn binary_safe_with_interior_zero_bytes() {
        let mut s = Sds::new(b"a\0b");
        assert_eq!(s.len(), 3);
        s.push_bytes(b"\0\0");
        assert_eq!(s, b"a\0b\0\0");
        s.assert_invariants();
    }

    #[test]
    fn from_i64_formats_like_sdsfromlonglong() {
        for (v, text) in [
            (0, "0"),
            (7, "7"),
            (-1, "-1"),
            (12345, "12345"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            let s = Sds::from_i64(v);
            s.assert_invariants();
            assert_eq!(s, text);
            assert_eq!(s.alloc(), s.len());
        }
    }

    #[test]
    fn clone_is_an_exact_fit_copy() {
        let mut s = Sds::new(b"0123456789");
        s.push_bytes(b"");
        s.push_bytes(b"x");
        s.truncate(10);
        assert_eq!((s.header_type(), s.alloc()), (SdsType::Type8, 22));
        let c = s.clone();
        c.assert_invariants();
        assert_eq!(c, s);
        assert_eq!((c.header_type(), c.alloc()), (SdsType::Type5, 10));
        let e = Sds::with_capacity(10).clone();
        assert_eq!((e.header_type(), e.alloc()), (SdsType::Type8, 0));
    }

    #[test]
    fn hash_and_borrow_agree_with_byte_slices() {
        let s = Sds::from("user:1");
        assert_eq!(hash_of(&s), hash_of(&b"user:1"[..]));
        let mut map: HashMap<Sds, i32> = HashMap::new();
        map.insert(Sds::from("user:1"), 1);
        map.insert(Sds::from("user:2"), 2);
        assert_eq!(map.get(&b"user:2"[..]), Some(&2));
        assert_eq!(map.get(&b"user:3"[..]), None);
    }

    #[test]
    fn order_is_bytewise_like_memcmp() {
        let mut v: Vec<Sds> = ["b", "ab", "a", "", "\u{7f}"]
            .iter()
            .map(|t| Sds::from(*t))
            .collect();
        v.push(Sds::new(b"\xff"));
        v.sort();
        let got: Vec<&[u8]> = v.iter().map(|s| s.as_bytes()).collect();
        assert_eq!(got, [&b""[..], b"a", b"ab", b"b", b"\x7f", b"\xff"]);
    }

    #[test]
    fn debug_shows_an_escaped_quoted_string() {
        let s = Sds::new(b"a\"b\n\0\xff");
        assert_eq!(format!("{s:?}"), r#""a\"b\n\x00\xff""#);
    }

    #[test]
    fn conversions_round_trip() {
        let s = Sds::from(vec![1u8, 2, 3]);
        assert_eq!(s, [1u8, 2, 3]);
        let v: Vec<u8> = s.clone().into();
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(s.into_vec(), [1, 2, 3]);
        let mut s = Sds::from(&b"abc"[..]);
        s.as_bytes_mut()[0] = b'A';
        s[1] = b'B';
        assert_eq!(s, "ABc");
        assert_eq!(s.as_ref(), b"ABc");
    }

    #[test]
    fn moving_across_threads_is_allowed() {
        let s = Sds::from("sent");
        let back = std::thread::spawn(move || s).join().unwrap();
        assert_eq!(back, "sent");
    }

    mod model {
        //! Random operation sequences applied to an `Sds` and to a `Vec<u8>`
        //! that models it, compared after every step. The proptest explores
        //! widely; the fixed-seed test below replays a few hundred steps that
        //! are cheap enough to run under Miri, which checks every raw pointer
        //! access the sequence makes.
        use super::super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Push(Vec<u8>),
            Truncate(usize),
            Clear,
            GrowZeroed(usize),
            Range(usize, usize),
            RemoveFreeSpace,
            MakeRoomFor(usize),
            Clone,
            Overwrite(usize, u8),
        }

        /// Applies `op` to both, checks what the op promises, then checks
        /// the invariants and that the bytes agree.
        fn apply(s: &mut Sds, model: &mut Vec<u8>, op: Op) {
            match op {
                Op::Push(b) => {
                    s.push_bytes(&b);
                    model.extend_from_slice(&b);
                }
                Op::Truncate(n) => {
                    s.truncate(n);
                    model.truncate(n);
                }
                Op::Clear => {
                    let (ty, alloc) = (s.header_type(), s.alloc());
                    s.clear();
                    model.clear();
                    if ty != SdsType::Type5 {
                        assert_eq!(s.alloc(), alloc, "clear keeps the capacity");
                    }
                }
                Op::GrowZeroed(n) => {
                    s.grow_zeroed(n);
                    if n > model.len() {
                        model.resize(n, 0);
                    }
                }
                Op::Range(a, b) => {
                    s.range(a, b);
                    let end = b.min(model.len());
                    let start = a.min(end);
                    *model = model[start..end].to_vec();
                }
                Op::RemoveFreeSpace => {
                    let before = s.header_type();
                    let had_room = s.avail() > 0;
                    s.remove_free_space();
                    assert_eq!(s.avail(), 0);
                    // Never widens. When it had room to give back and a type-5
                    // or type-8 header suffices, it re-headers to exactly
                    // that; wider headers may stay (Redis's realloc rule).
                    assert!(s.header_type() <= before);
                    let want = req_type(s.len());
                    if had_room && want <= SdsType::Type8 {
                        assert_eq!(s.header_type(), want);
                    }
                }
                Op::MakeRoomFor(n) => {
                    let len = s.len();
                    s.make_room_for(n);
                    assert!(s.avail() >= n);
                    assert_eq!(s.len(), len, "length unchanged");
                }
                Op::Clone => {
                    let c = s.clone();
                    assert_eq!(c.avail(), 0, "exact fit");
                    assert_eq!(&c, &*s);
                    *s = c;
                }
                Op::Overwrite(i, b) => {
                    if !model.is_empty() {
                        let i = i % model.len();
                        s[i] = b;
                        model[i] = b;
                    }
                }
            }
            s.assert_invariants();
            assert_eq!(s.as_bytes(), &model[..]);
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::Push),
                // Occasionally a large push, to cross the 255 and 65 535
                // header boundaries.
                1 => (0usize..70_000).prop_map(|n| Op::Push(vec![b'#'; n])),
                2 => (0usize..400).prop_map(Op::Truncate),
                1 => Just(Op::Clear),
                2 => (0usize..600).prop_map(Op::GrowZeroed),
                2 => (0usize..300, 0usize..300).prop_map(|(a, b)| Op::Range(a, b)),
                2 => Just(Op::RemoveFreeSpace),
                1 => (0usize..300).prop_map(Op::MakeRoomFor),
                1 => Just(Op::Clone),
                1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Op::Overwrite(i, b)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            #[cfg_attr(miri, ignore)]
            fn sds_behaves_like_a_vec_of_bytes(
                initial in prop::collection::vec(any::<u8>(), 0..300),
                ops in prop::collection::vec(op(), 1..60),
            ) {
                let mut s = Sds::new(&initial);
                let mut model = initial.clone();
                s.assert_invariants();
                for op in ops {
                    apply(&mut s, &mut model, op);
                }
            }
        }

        /// A tiny xorshift generator: deterministic, dependency-free, and
        /// fast enough under Miri.
        struct XorShift(u64);

        impl XorShift {
            fn below(&mut self, n: usize) -> usize {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % n as u64) as usize
            }
        }

        #[test]
        fn fixed_seed_operation_sequence_matches_the_vec_model() {
            let mut rng = XorShift(0x5d5_2024);
            let mut s = Sds::empty();
            let mut model = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..400 {
                let op = match rng.below(10) {
                    0..=2 => {
                        let n = rng.below(40);
                        Op::Push((0..n).map(|_| rng.below(256) as u8).collect())
                    }
                    3 => Op::Truncate(rng.below(300)),
                    4 => Op::Clear,
                    5 => Op::GrowZeroed(rng.below(400)),
                    6 => Op::Range(rng.below(300), rng.below(300)),
                    7 => Op::RemoveFreeSpace,
                    8 => Op::MakeRoomFor(rng.below(300)),
                    _ if rng.below(2) == 0 => Op::Clone,
                    _ => Op::Overwrite(rng.below(1000), rng.below(256) as u8),
                };
                apply(&mut s, &mut model, op);
                seen.insert(s.header_type());
            }
            // The walk must actually cross the header classes it can reach.
            let want = [SdsType::Type5, SdsType::Type8, SdsType::Type16];
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
        }
    }
}
