//! # Bitmaps: a string is an array of bits
//!
//! Redis has no bitmap type. It has strings, and a string of `n` bytes is
//! also an array of `8n` bits. Seven commands read and write that array:
//! SETBIT and GETBIT touch one bit, BITCOUNT counts the ones, BITPOS finds
//! the first 0 or 1, BITOP combines whole strings with AND, OR, XOR or NOT,
//! and BITFIELD (with its read-only twin BITFIELD_RO) reads and writes
//! integers of 1 to 64 bits at any bit offset, with a choice of what happens
//! when an increment overflows.
//!
//! This module holds the algorithms only. It works on `&[u8]` and
//! `Vec<u8>`, knows nothing about keys, clients or replies, and never
//! allocates except to grow a string. The command functions parse arguments,
//! look up the key, call in here, and turn the results into replies. Each
//! function below says which outcomes the command layer must still handle
//! itself (a missing key, a result that should delete the key).
//!
//! ## The idea: one bit per user
//!
//! A site with ten million users wants to know who was online today. Give
//! every user a numeric id and run `SETBIT online:2024-05-01 <id> 1` when
//! the user shows up. The whole day fits in 10,000,000 / 8 = 1.25 MB, far
//! less than a set of ten million ids. `BITCOUNT online:2024-05-01` is the
//! number of distinct visitors, `BITOP AND` of seven days gives the users
//! who came every day of the week, and `BITPOS online:2024-05-01 1` finds
//! the smallest id that came at all.
//!
//! The string grows on demand: SETBIT on a bit past the end first pads the
//! string with zero bytes, so the bits nobody set read as 0. That is also
//! the danger: `SETBIT k 4294967295 1` on an empty key allocates 512 MB in
//! one command. Redis caps offsets so that the string never exceeds
//! `proto-max-bulk-len` (512 MB by default), see [`parse_bit_offset`].
//!
//! ## Bit numbering
//!
//! Bit 0 is the *most significant* bit of byte 0, bit 7 the least
//! significant bit of byte 0, bit 8 the most significant bit of byte 1, and
//! so on. Reading the string left to right, byte by byte, and each byte from
//! its high bit to its low bit, gives the bits in order:
//!
//! ```text
//!   SETBIT k 7 1     on a missing key
//!
//!   bit offset:   0 1 2 3 4 5 6 7
//!   byte 0:       0 0 0 0 0 0 0 1   = 0x01
//! ```
//!
//! So `SETBIT k 7 1` makes the one-byte string `"\x01"`, and a following
//! `SETBIT k 8 1` makes it `"\x01\x80"`. To find bit `n`: the byte is
//! `n / 8`, and inside it the bit is `7 - n % 8` counted from the low end,
//! which is the `0x80 >> (n % 8)` mask used throughout this file.
//!
//! This order is the one a human reads, and it makes a byte-aligned
//! BITFIELD of 8, 16, 32 or 64 bits the same as a big-endian integer.
//!
//! ## The Redis counterpart
//!
//! Everything here is in Redis's `src/bitops.c`:
//!
//! * `redisPopcount` counts ones with a byte table for the ragged edges and
//!   a hand-written SWAR (SIMD Within A Register) loop for the middle; our
//!   [`popcount`] explains it and uses `u64::count_ones` instead.
//! * `redisBitpos` skips whole machine words that cannot contain the bit
//!   sought, then scans one word bit by bit; `bitposCommand` wraps it with
//!   the range rules and the famous "looking for 0 past the end" special
//!   case. Ours is [`bitpos`].
//! * `bitcountCommand` resolves the range and masks the partial edge bytes
//!   of a BIT range; ours is [`bitcount_range`].
//! * `bitopCommand` combines sources, with an unrolled word-at-a-time fast
//!   path; ours is [`bitop`].
//! * `bitfieldGeneric` is BITFIELD and BITFIELD_RO. It stores and loads
//!   fields with `setUnsignedBitfield` / `getUnsignedBitfield` (one bit per
//!   loop turn) and decides overflow with `checkSignedBitfieldOverflow` and
//!   `checkUnsignedBitfieldOverflow`. Ours are [`set_field`], [`get_field`],
//!   [`incr_field`] and [`set_with_overflow`].
//! * `getBitOffsetFromArgument` and `getBitfieldTypeFromArgument` parse
//!   arguments; ours are [`parse_bit_offset`] and [`FieldType::parse`].
//!
//! ## What we simplified, and what we kept on purpose
//!
//! * **No alignment games.** Redis walks byte by byte until the pointer is
//!   word-aligned, then reads words through a cast pointer. We take 8-byte
//!   chunks with `chunks_exact(8)` and `u64::from_ne_bytes`, which is safe
//!   Rust and costs nothing measurable on current CPUs.
//! * **A 72-bit window instead of a bit loop** for BITFIELD: a field of up to
//!   64 bits starting anywhere inside a byte touches at most 9 bytes, so we
//!   load those 9 bytes into one `u128` and shift (see [`get_field`]).
//! * **No integer-encoded strings.** Redis may store `"12345"` as a machine
//!   integer and prints it to a buffer before reading its bits. The command
//!   layer hands us the bytes, whatever the encoding.
//! * **No hand-unrolled BITOP.** A plain zipped loop over two byte slices is
//!   something the compiler vectorises on its own.
//! * **Quirks kept.** Redis 7.0 is the reference for every observable
//!   behaviour, so this file reproduces three oddities on purpose, each with
//!   a test: `BITCOUNT k -4 -5` is 0 while `BITPOS` has no such shortcut;
//!   `BITFIELD ... OVERFLOW SAT SET i8 0 <a value within 127 of i64::MIN>`
//!   saturates *up* to 127; and the `#N` offset form multiplies with
//!   wrap-around. They are explained where they happen.
//!
//! ## Exercises
//!
//! 1. `bitop` with many sources makes one pass per source. Rewrite it to
//!    make one pass over the output, reading every source at each index.
//!    Which version touches less memory when there are 16 sources of 512 MB?
//! 2. BITPOS for a 1 on a string of 512 MB of zeros reads every byte. Could
//!    Redis keep a per-string summary that answers it in O(1)? What would
//!    SETBIT have to pay?
//! 3. Write `BITFIELD k INCRBY u8 0 1` as a Lua script using GETRANGE and
//!    SETRANGE, then explain why BITFIELD is a single command.

// ============================================================================
// Error replies
// ============================================================================
//
// These are the exact texts `bitops.c` in Redis 7.0 sends, with the `ERR `
// prefix that `addReplyError` adds. The command layer sends them byte for
// byte. Two other errors a bitmap command can give are not specific to this
// file: "ERR value is not an integer or out of range" (a bad start, end,
// bit, value or increment) and "ERR syntax error" (a bad BIT/BYTE word, an
// unknown BITOP operation or BITFIELD subcommand).

/// SETBIT, GETBIT and BITFIELD: the offset is not a non-negative integer,
/// or it addresses a byte at or past `proto-max-bulk-len`.
pub const ERR_BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
/// SETBIT: the value is neither 0 nor 1 (or not an integer at all).
pub const ERR_BIT_VALUE: &str = "ERR bit is not an integer or out of range";
/// BITPOS: the bit sought is an integer, but neither 0 nor 1. (A bit that
/// is not an integer gets the generic "value is not an integer" error.)
pub const ERR_BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
/// BITFIELD: the type is not `i1`..`i64` or `u1`..`u63`.
pub const ERR_BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// BITFIELD: `OVERFLOW` followed by something other than WRAP, SAT or FAIL.
pub const ERR_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
/// BITOP NOT with zero or several source keys.
pub const ERR_BITOP_NOT: &str = "ERR BITOP NOT must be called with a single source key.";
/// BITFIELD_RO given a SET or INCRBY subcommand.
pub const ERR_BITFIELD_RO: &str = "ERR BITFIELD_RO only supports the GET subcommand";

// ============================================================================
// Offsets and their limit
// ============================================================================

/// Redis's default `proto-max-bulk-len`: 512 MB, the largest string a
/// client may send, and the largest string a bit command may create.
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// The largest bit offset accepted with the default `proto-max-bulk-len`:
/// the last bit of a 512 MB string, `512 * 1024 * 1024 * 8 - 1` =
/// 4,294,967,295 = `u32::MAX`. (Redis refuses an offset when
/// `offset / 8 >= proto-max-bulk-len`, so the limit is one bit short of
/// `8 * proto-max-bulk-len`.)
pub const MAX_BIT_OFFSET: u64 = DEFAULT_PROTO_MAX_BULK_LEN * 8 - 1;

/// Parses a bit offset argument the way SETBIT, GETBIT and BITFIELD do.
///
/// * `hash`: accept the `#N` form, which BITFIELD uses to mean "the N-th
///   field of this width", i.e. offset `N * bits`. `BITFIELD k GET u8 #2`
///   reads bits 16..=23. Only honoured when `bits > 0`; otherwise a leading
///   `#` is just a character that makes the number invalid.
/// * `max_bulk_len`: the server's `proto-max-bulk-len`. An offset whose byte
///   (`offset / 8`) is at or beyond it is refused. Redis lifts this limit
///   for its master link and for AOF loading (`mustObeyClient`), so that a
///   replica never refuses what its master accepted; pass `u64::MAX` there.
///
/// Outcomes:
///
/// * `Ok(offset)`.
/// * `Err(())` when the text is not a Redis integer (no `+`, no spaces, no
///   leading zeros, at most 20 characters, within `i64`), when it is
///   negative (also after multiplying), or when it is past the limit. There
///   is only one error text for all of them: [`ERR_BIT_OFFSET`].
///
/// Quirk kept from Redis 7.0: `N * bits` is computed without an overflow
/// check. In C that is undefined behaviour; the real 7.0 binary wraps
/// around, so `BITFIELD k SET u8 #2305843009213693952 1` (2^61 * 8 = 2^64,
/// which wraps to 0) writes bit 0 instead of failing. We wrap the same way,
/// so a differential test against Redis agrees.
#[allow(clippy::result_unit_err)] // one failure, one fixed message: ERR_BIT_OFFSET
pub fn parse_bit_offset(arg: &[u8], hash: bool, bits: u8, max_bulk_len: u64) -> Result<u64, ()> {
    let use_hash = hash && bits > 0 && arg.first() == Some(&b'#');
    let digits = if use_hash { &arg[1..] } else { arg };
    let mut offset = parse_redis_i64(digits).ok_or(())?;
    if use_hash {
        offset = offset.wrapping_mul(i64::from(bits));
    }
    if offset < 0 || (offset as u64) / 8 >= max_bulk_len {
        return Err(());
    }
    Ok(offset as u64)
}

/// BITFIELD's offset argument (`N` or `#N`) with the default 512 MB limit.
/// A server configured with another `proto-max-bulk-len`, or reading from
/// its master, calls [`parse_bit_offset`] with `hash = true` instead.
/// `None` means: reply [`ERR_BIT_OFFSET`].
pub fn parse_bitfield_offset(arg: &[u8], ty: FieldType) -> Option<u64> {
    parse_bit_offset(arg, true, ty.bits, DEFAULT_PROTO_MAX_BULK_LEN).ok()
}

/// Redis's `string2ll` rules, which every integer argument here obeys:
/// an optional `-`, then either the single digit `0` or a digit 1-9
/// followed by digits; at most 20 bytes; the value must fit in `i64`.
/// So `"007"`, `"+7"`, `" 7"`, `"-0"` and `""` are all refused, which
/// Rust's `str::parse` would partly accept.
fn parse_redis_i64(text: &[u8]) -> Option<i64> {
    crate::resp::parse_i64(text)
}

// ============================================================================
// Single bits: GETBIT and SETBIT
// ============================================================================

/// The byte at `index`, or 0 past the end: a string reads as if it were
/// followed by infinitely many zero bytes.
fn byte_at(bytes: &[u8], index: u64) -> u8 {
    usize::try_from(index)
        .ok()
        .and_then(|i| bytes.get(i))
        .copied()
        .unwrap_or(0)
}

/// GETBIT: the bit at `offset` (0 or 1). Bits past the end are 0, as are
/// all bits of a missing key.
pub fn get_bit(bytes: &[u8], offset: u64) -> u8 {
    let byte = byte_at(bytes, offset / 8);
    (byte >> (7 - offset % 8)) & 1
}

/// Pads `bytes` with zeros so that bit `bit_offset` exists, as Redis's
/// `lookupStringForBitCommand` does before SETBIT and before a writing
/// BITFIELD (there with the highest bit any SET or INCRBY will touch).
///
/// Returns whether the length changed. Redis counts a length change as a
/// modification on its own: SETBIT of a 0 far past the end leaves every old
/// bit alone but still bumps `dirty`, fires the `setbit` event and
/// propagates.
///
/// Bound: the string grows to at most `bit_offset / 8 + 1` bytes, which is
/// `max_bulk_len` when the offset came from [`parse_bit_offset`], plus at
/// most 8 bytes for a BITFIELD of 64 bits placed at the very last offset.
pub fn grow_to_cover_bit(bytes: &mut Vec<u8>, bit_offset: u64) -> bool {
    let needed = usize::try_from(bit_offset / 8 + 1).expect("bit offset beyond addressable memory");
    if bytes.len() < needed {
        bytes.resize(needed, 0);
        true
    } else {
        false
    }
}

/// SETBIT: sets the bit at `offset` to `on`, growing the string with zero
/// bytes if needed, and returns the bit's old value (what SETBIT replies).
///
/// Worked example: on an empty string, `set_bit(&mut s, 7, true)` grows `s`
/// to one byte, sets mask `0x80 >> 7 = 0x01`, leaves `s == [0x01]` and
/// returns 0.
pub fn set_bit(bytes: &mut Vec<u8>, offset: u64, on: bool) -> u8 {
    grow_to_cover_bit(bytes, offset);
    let index = (offset / 8) as usize; // fits: grow_to_cover_bit checked it
    let mask = 0x80u8 >> (offset % 8);
    let old = u8::from(bytes[index] & mask != 0);
    if on {
        bytes[index] |= mask;
    } else {
        bytes[index] &= !mask;
    }
    old
}

// ============================================================================
// Counting: BITCOUNT
// ============================================================================

// ANCHOR: popcount
/// The number of 1 bits in `bytes` (BITCOUNT with no range).
///
/// HOW REDIS DOES IT
///
/// `redisPopcount` has two tools. A 256-entry table `bits_in_byte[b]`
/// handles single bytes: the few before the pointer is 4-byte aligned, and
/// the few left at the end. The middle is counted 28 bytes (seven `u32`
/// words) per turn with the SWAR trick, which sums bits inside one register
/// in three halving steps:
///
/// ```text
///   x - ((x >> 1) & 0x5555..)        each 2-bit pair now holds its count, 0..=2
///   (x & 0x3333..) + ((x >> 2) & 0x3333..)   each nibble holds 0..=4
///   (x + (x >> 4)) & 0x0F0F..        each byte holds 0..=8
/// ```
///
/// The seven byte-count words are added together and multiplied by
/// `0x01010101`, which sums the four byte lanes into the top byte; `>> 24`
/// reads it. Why seven words and not eight? After the third step every byte
/// lane holds at most 8. Seven words add up to at most 56 per lane, and the
/// multiply adds four lanes: 4 * 56 = 224, which still fits in the top
/// byte. Eight words would reach 4 * 64 = 256 and overflow it. The bound
/// decides the unrolling.
///
/// WHY `count_ones` IS THE MODERN ANSWER
///
/// Since 2008 x86 CPUs have POPCNT, one instruction that counts the ones of
/// a 64-bit register (ARM has CNT). `u64::count_ones` is the portable name
/// for it: when the target has the instruction (x86-64-v2 and later, or
/// `-C target-cpu=native`) LLVM emits a single POPCNT; on the baseline
/// x86-64 target, which does not promise POPCNT, LLVM emits the very SWAR
/// sequence above on its own. Either way the intent is written once, and
/// the compiler picks the best code for the machine. Redis itself added a
/// POPCNT path to `redisPopcount` in 2024 (redis/redis#13359, after 7.0).
///
/// We take 8 bytes at a time. Byte order does not matter to a count, so
/// `from_ne_bytes` (no byte swap) is right; the at most 7 leftover bytes are
/// counted one by one.
pub fn popcount(bytes: &[u8]) -> u64 {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let mut ones: u64 = 0;
    for chunk in chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("chunks_exact yields 8 bytes"));
        ones += u64::from(word.count_ones());
    }
    for &byte in tail {
        ones += u64::from(byte.count_ones());
    }
    ones
}
// ANCHOR_END: popcount

/// The unit of a BITCOUNT or BITPOS range: `BYTE` (the default, and the only
/// unit before Redis 7.0) or `BIT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BitUnit {
    /// `start` and `end` count bytes; the range covers whole bytes.
    #[default]
    Byte,
    /// `start` and `end` count bits; the first and last byte may be partial.
    Bit,
}

impl BitUnit {
    /// Parses `BYTE` or `BIT`, in any case. `None` means "ERR syntax error".
    pub fn parse(arg: &[u8]) -> Option<BitUnit> {
        if arg.eq_ignore_ascii_case(b"byte") {
            Some(BitUnit::Byte)
        } else if arg.eq_ignore_ascii_case(b"bit") {
            Some(BitUnit::Bit)
        } else {
            None
        }
    }
}

/// Turns a user's `start..=end` (in `unit`s) into an inclusive range of
/// *bit* offsets inside `bytes`, following the rules BITCOUNT and BITPOS
/// share in Redis 7.0:
///
/// 1. A negative index counts from the end: -1 is the last unit.
/// 2. Whatever is still negative becomes 0.
/// 3. An `end` past the last unit becomes the last unit.
/// 4. If then `start > end` the range is empty: `None`.
///
/// Worked example, a 3-byte string, BYTE unit: `(1, 100)` → bytes 1..=2 →
/// bits 8..=23; `(-2, -1)` → bytes 1..=2; `(-100, 0)` → byte 0; `(2, 1)` →
/// empty; `(5, 10)` → end clamps to 2, start 5 > 2, empty.
/// Same string, BIT unit (24 bits): `(5, 30)` → bits 5..=23.
fn resolve_bit_range(bytes: &[u8], start: i64, end: i64, unit: BitUnit) -> Option<(u64, u64)> {
    // Redis asserts the length times 8 fits in an i64; any real string does.
    let len_bytes = i64::try_from(bytes.len()).expect("string length fits in i64");
    let len = match unit {
        BitUnit::Byte => len_bytes,
        BitUnit::Bit => len_bytes
            .checked_mul(8)
            .expect("string bit length fits in i64"),
    };
    // len >= 0 and start, end >= i64::MIN, so len + negative never overflows.
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end {
        // Also covers the empty string, where end became -1.
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        BitUnit::Byte => (start * 8, end * 8 + 7),
        BitUnit::Bit => (start, end),
    })
}

/// BITCOUNT with a range: the number of 1 bits between `start` and `end`
/// inclusive, in bytes or in bits.
///
/// Outcomes:
///
/// * Both indexes negative and `start > end` (e.g. `-1 -5`): 0. Redis 7.0
///   checks this *before* resolving, and it matters: on a 3-byte string,
///   `-4 -5` would otherwise clamp to `0 0` and count byte 0. (BITPOS has no
///   such check; see [`bitpos`].)
/// * Otherwise the range is resolved (negative from the end, clamped to the
///   string); an empty range counts 0.
/// * BIT unit: only the bits inside the range are counted, so the first and
///   last byte may count only some of their bits. Redis counts whole bytes
///   and then subtracts the ones of the out-of-range bits of the edge
///   bytes; we do the same.
///
/// Worked example: `"foobar"`, bits 5..=30. Bytes 0..=3 are `f o o b` =
/// `01100110 01101111 01101111 01100010`, 4+6+6+3 = 19 ones. Out of range:
/// bits 0..=4 of byte 0 (`01100`, 2 ones) and bit 31 (`0`). 19 - 2 - 0 = 17.
///
/// The command layer answers a missing key with 0 without calling this.
pub fn bitcount_range(bytes: &[u8], start: i64, end: i64, unit: BitUnit) -> u64 {
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let Some((lo, hi)) = resolve_bit_range(bytes, start, end, unit) else {
        return 0;
    };
    let (first, last) = ((lo / 8) as usize, (hi / 8) as usize);
    let whole = popcount(&bytes[first..=last]);
    // Bits of the first byte *before* `lo`: the top `lo % 8` bits.
    // `0xFF >> k` keeps the low 8-k bits; its complement is the top k bits.
    let before_lo = bytes[first] & !(0xFFu8 >> (lo % 8));
    // Bits of the last byte *after* `hi`: the low `7 - hi % 8` bits.
    let after_hi = bytes[last] & ((0xFFu8 >> (hi % 8)) >> 1);
    whole - u64::from(before_lo.count_ones()) - u64::from(after_hi.count_ones())
}

// ============================================================================
// Searching: BITPOS
// ============================================================================

/// Index of the first byte of `bytes` that is not `skip`, looking at 8
/// bytes per step first: a whole `u64` equal to `skip` repeated eight times
/// cannot hold the bit we want, so one comparison dismisses 64 bits. This is
/// the word-skipping idea of `redisBitpos`, without its alignment prologue.
fn first_byte_other_than(bytes: &[u8], skip: u8) -> Option<usize> {
    let skip_word = u64::from_ne_bytes([skip; 8]);
    let chunks = bytes.chunks_exact(8);
    let tail_start = bytes.len() - chunks.remainder().len();
    let mut from = tail_start;
    for (i, chunk) in chunks.enumerate() {
        if u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) != skip_word {
            from = i * 8;
            break;
        }
    }
    bytes[from..]
        .iter()
        .position(|&b| b != skip)
        .map(|i| from + i)
}

/// The first bit offset in `lo..=hi` whose value is `bit`, if any.
///
/// One trick makes both searches the same: to look for a 0 we complement
/// every byte and look for a 1. And one mask per edge byte makes partial
/// bytes the same as whole ones: bits outside the range are cleared (after
/// complementing), so they can never be the 1 we find.
///
/// Worked example: `"\x00\xff\xf0"`, looking for 1 in bits 7..=15. Byte 0
/// keeps only bit 7 (mask `0x01`): `0x00 & 0x01 = 0`, nothing. No middle
/// bytes. Byte 1 keeps bits 8..=15 (mask `0xFF`): `0xff`, whose first 1 is
/// at `leading_zeros() = 0`, so the answer is 8 + 0 = 8.
fn find_bit_in_range(bytes: &[u8], bit: u8, lo: u64, hi: u64) -> Option<u64> {
    let seek = |byte: u8| if bit == 1 { byte } else { !byte };
    let (first, last) = ((lo / 8) as usize, (hi / 8) as usize);
    // In-range bits of the first byte: all bits from `lo % 8` on.
    let first_mask = 0xFFu8 >> (lo % 8);
    // In-range bits of the last byte: all bits up to `hi % 8`.
    let last_mask = 0xFFu8 << (7 - hi % 8);
    let at = |index: usize, found: u8| index as u64 * 8 + u64::from(found.leading_zeros());

    if first == last {
        let found = seek(bytes[first]) & first_mask & last_mask;
        return (found != 0).then(|| at(first, found));
    }
    let found = seek(bytes[first]) & first_mask;
    if found != 0 {
        return Some(at(first, found));
    }
    // A byte that is all 0s (seeking 1) or all 1s (seeking 0) cannot match.
    let skip = if bit == 1 { 0x00 } else { 0xFF };
    let middle = &bytes[first + 1..last];
    if let Some(i) = first_byte_other_than(middle, skip) {
        let index = first + 1 + i;
        return Some(at(index, seek(bytes[index])));
    }
    let found = seek(bytes[last]) & last_mask;
    (found != 0).then(|| at(last, found))
}

// ANCHOR: bitpos
/// BITPOS: the offset of the first bit equal to `bit` (0 or 1), or -1.
///
/// `start` and `end` are the optional arguments; `unit` is BYTE unless the
/// command said BIT (which Redis only allows after an explicit `end`).
/// `start = None` is the same as `start = Some(0)`, and a missing `end`
/// means "the last byte of the string".
///
/// Outcomes, following `bitposCommand` in Redis 7.0:
///
/// * The range is resolved as for BITCOUNT, *without* BITCOUNT's "both
///   negative and start > end" shortcut: on a 3-byte string `-4 -5`
///   resolves to byte 0..=0 and is searched.
/// * Empty resolved range (start past the end, start > end, or the string
///   is empty): -1, whatever the bit, because an empty range holds neither
///   a 0 nor a 1.
/// * Found: its absolute offset from the start of the string, not from
///   `start`.
/// * Looking for 1, none in range: -1.
/// * Looking for 0, none in range, **no `end` given**: the string is seen
///   as padded with zero bits on the right, so the answer is the first bit
///   after the string, `8 * len`. `BITPOS k 0` on `"\xff\xff"` is 16.
/// * Looking for 0, none in range, **`end` given**: the user asked about
///   that exact range, and padding past it would be a lie: -1.
///   `BITPOS k 0 0 -1` on `"\xff\xff"` is -1.
///
/// A **missing key** is not an empty string here: Redis treats it as an
/// endless run of zeros and answers 0 when looking for 0 and -1 when looking
/// for 1, before reading any range. The command layer answers that itself;
/// this function, given `b""`, answers -1 for both, as Redis does for a key
/// that holds the empty string.
pub fn bitpos(bytes: &[u8], bit: u8, start: Option<i64>, end: Option<i64>, unit: BitUnit) -> i64 {
    debug_assert!(bit <= 1, "the command layer checks the bit is 0 or 1");
    let bit = u8::from(bit != 0);
    let end_given = end.is_some();
    let start = start.unwrap_or(0);
    // i64::MAX clamps to the last unit of the string, whatever the unit.
    let end = end.unwrap_or(i64::MAX);
    let Some((lo, hi)) = resolve_bit_range(bytes, start, end, unit) else {
        return -1;
    };
    match find_bit_in_range(bytes, bit, lo, hi) {
        Some(offset) => offset as i64,
        None if bit == 0 && !end_given => bytes.len() as i64 * 8,
        None => -1,
    }
}
// ANCHOR_END: bitpos

// ============================================================================
// Combining: BITOP
// ============================================================================

/// The four BITOP operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    /// Takes exactly one source ([`ERR_BITOP_NOT`] otherwise).
    Not,
}

impl BitOp {
    /// Parses `AND`, `OR`, `XOR` or `NOT` in any case. `None` means
    /// "ERR syntax error".
    pub fn parse(arg: &[u8]) -> Option<BitOp> {
        [
            (&b"and"[..], BitOp::And),
            (b"or", BitOp::Or),
            (b"xor", BitOp::Xor),
            (b"not", BitOp::Not),
        ]
        .into_iter()
        .find(|(name, _)| arg.eq_ignore_ascii_case(name))
        .map(|(_, op)| op)
    }
}

/// BITOP: combines `sources` byte by byte into a new string.
///
/// * The result is as long as the longest source. A shorter source (or a
///   missing key, passed as `b""`) reads as zero bytes past its end, so
///   `AND` of `"\xff\xff"` and `"\xff"` is `"\xff\x00"`, and NOT of a
///   missing key is the empty string.
/// * NOT takes exactly one source; this panics otherwise, because the
///   command layer must have replied [`ERR_BITOP_NOT`].
/// * An empty result is not stored: Redis *deletes* the destination key and
///   replies 0. The reply is always the result's length.
///
/// Cost: O(total length of the sources) for AND/OR/XOR, one pass per source.
pub fn bitop(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    if op == BitOp::Not {
        assert_eq!(sources.len(), 1, "BITOP NOT takes exactly one source");
        return sources[0].iter().map(|&b| !b).collect();
    }
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let longest = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = first.to_vec();
    out.resize(longest, 0);
    for src in rest {
        let pairs = out.iter_mut().zip(src.iter());
        match op {
            BitOp::And => {
                pairs.for_each(|(o, &s)| *o &= s);
                // x AND 0 = 0: the bytes past this source's end are cleared.
                out[src.len()..].fill(0);
            }
            // x OR 0 = x and x XOR 0 = x: bytes past the end stay as they are.
            BitOp::Or => pairs.for_each(|(o, &s)| *o |= s),
            BitOp::Xor => pairs.for_each(|(o, &s)| *o ^= s),
            BitOp::Not => unreachable!("handled above"),
        }
    }
    out
}

// ============================================================================
// Integers at any offset: BITFIELD
// ============================================================================

/// What a BITFIELD SET or INCRBY does when the result does not fit the
/// field. Set by the `OVERFLOW` subcommand; it applies to the SET and INCRBY
/// subcommands that *follow* it in the same call. The default is WRAP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits, as machine arithmetic does: u8 255 + 1 = 0,
    /// i8 127 + 1 = -128.
    #[default]
    Wrap,
    /// Clamp to the nearest representable value: u8 255 + 1 = 255,
    /// i8 -128 - 1 = -128.
    Sat,
    /// Do not write; the subcommand replies nil.
    Fail,
}

impl Overflow {
    /// Parses `WRAP`, `SAT` or `FAIL` in any case. `None` means
    /// [`ERR_OVERFLOW_TYPE`].
    pub fn parse(arg: &[u8]) -> Option<Overflow> {
        [
            (&b"wrap"[..], Overflow::Wrap),
            (b"sat", Overflow::Sat),
            (b"fail", Overflow::Fail),
        ]
        .into_iter()
        .find(|(name, _)| arg.eq_ignore_ascii_case(name))
        .map(|(_, o)| o)
    }
}

/// A BITFIELD type: `i1` to `i64` (two's complement) or `u1` to `u63`.
///
/// Why no `u64`? A BITFIELD reply is a RESP integer, which is a signed
/// 64-bit number. A `u64` field could hold values up to 2^64 - 1 that no
/// reply could carry, so Redis refuses the type, and so the invariant of
/// this struct is that every value of every field fits in an `i64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldType {
    /// `i` (true) or `u` (false): whether the top bit of the field is a
    /// sign bit.
    signed: bool,
    /// The width in bits: 1..=64 when signed, 1..=63 when not.
    bits: u8,
}

impl FieldType {
    /// A field type, or `None` for a width Redis refuses.
    pub const fn new(signed: bool, bits: u8) -> Option<FieldType> {
        let widest = if signed { 64 } else { 63 };
        if bits >= 1 && bits <= widest {
            Some(FieldType { signed, bits })
        } else {
            None
        }
    }

    /// Parses a type argument: a lowercase `i` or `u`, then a width by
    /// Redis's integer rules (so `i08` and `u+8` are refused, and so is
    /// `I8`). `None` means [`ERR_BITFIELD_TYPE`].
    ///
    /// Quirk kept: Redis reads the width with C's `strlen`, so the argument
    /// ends at its first NUL byte: `"i8\0junk"` is accepted as `i8`.
    pub fn parse(arg: &[u8]) -> Option<FieldType> {
        let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
        let (&sign, width) = arg.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = u8::try_from(parse_redis_i64(width)?).ok()?;
        FieldType::new(signed, bits)
    }

    /// Whether the field is signed (`i`).
    pub const fn signed(self) -> bool {
        self.signed
    }

    /// The width in bits.
    pub const fn bits(self) -> u8 {
        self.bits
    }

    /// The largest value the field holds: `2^(bits-1) - 1` signed,
    /// `2^bits - 1` unsigned.
    pub const fn max(self) -> i64 {
        let magnitude_bits = if self.signed {
            self.bits - 1
        } else {
            self.bits
        };
        // `i1` has no magnitude bits at all: its values are -1 and 0, and a
        // shift by 64 would overflow, hence `checked_shr`.
        match u64::MAX.checked_shr(64 - magnitude_bits as u32) {
            Some(max) => max as i64,
            None => 0,
        }
    }

    /// The smallest value the field holds: `-2^(bits-1)` signed, 0 unsigned.
    pub const fn min(self) -> i64 {
        if self.signed {
            -self.max() - 1
        } else {
            0
        }
    }

    /// A mask of the low `bits` bits.
    const fn mask(self) -> u64 {
        u64::MAX >> (64 - self.bits as u32)
    }
}

/// A 64-bit field that starts at bit `k` of its first byte covers bits
/// `k..k+64`, at most 7 + 64 = 71 bits, so it always fits in 9 bytes = 72
/// bits. Nine bytes do not fit a `u64`, so the window is the low 72 bits of
/// a `u128`, filled first byte first: the window's top bit (bit 71 from the
/// bottom) is the string's bit `8 * first_byte`.
const WINDOW_BYTES: u64 = 9;
const WINDOW_BITS: u64 = WINDOW_BYTES * 8;

/// Loads the 9-byte window starting at byte `first`, zero-padded past the
/// end of the string.
fn load_window(bytes: &[u8], first: u64) -> u128 {
    (0..WINDOW_BYTES).fold(0u128, |window, i| {
        window << 8 | u128::from(byte_at(bytes, first + i))
    })
}

// ANCHOR: get_field
/// BITFIELD GET: the `ty` integer stored at bit `offset`, most significant
/// bit first. Bits past the end of the string read as 0, so any offset may
/// be read (BITFIELD_RO on a missing key reads 0s).
///
/// Redis loops over the bits one at a time (`getUnsignedBitfield`). We use
/// a window: load the 9 bytes the field can touch into a `u128`, shift the
/// field down to the low end, and mask it.
///
/// Worked example: `u4` at offset 6 of `[0x02, 0xC0]`:
///
/// ```text
///   bits:    0 1 2 3 4 5 6 7 | 8 9 ...
///   bytes:   0 0 0 0 0 0 1 0 | 1 1 0 0 0 0 0 0
///                        ^^^^^^^^^ bits 6..=9 = 1 0 1 1
///
///   the field ends at window bit 6 + 4 = 10 (counted from the top), so it
///   sits 72 - 10 = 62 bits above the bottom: (window >> 62) & 0xF = 0b1011 = 11
/// ```
///
/// As `i4` the same bits are -5: the top bit of the field is the sign, and
/// shifting it up to bit 63 and arithmetically back down copies it into
/// every higher bit (sign extension): `0b1011` becomes `...11111011` = -5.
pub fn get_field(bytes: &[u8], offset: u64, ty: FieldType) -> i64 {
    let window = load_window(bytes, offset / 8);
    let shift = WINDOW_BITS - offset % 8 - u64::from(ty.bits);
    let raw = (window >> shift) as u64 & ty.mask();
    if ty.signed {
        let spare = 64 - u32::from(ty.bits);
        ((raw << spare) as i64) >> spare
    } else {
        raw as i64 // at most 2^63 - 1: u64 is not a field type
    }
}
// ANCHOR_END: get_field

/// BITFIELD SET (the store half): writes the low `ty.bits()` bits of
/// `value` at bit `offset`, growing the string with zeros if needed. The
/// other bits of the touched bytes are kept.
///
/// `value` should already have passed [`set_with_overflow`] or
/// [`incr_field`]; this function itself just truncates, which for a signed
/// field means two's complement: -1 as `i4` is stored as `1111`.
///
/// Note for the command layer: Redis grows the string *once*, before any
/// subcommand runs, to the highest bit any SET or INCRBY names (see
/// [`grow_to_cover_bit`]). So `BITFIELD k OVERFLOW FAIL INCRBY u8 100 300`
/// replies nil, writes nothing, and still leaves a 14-byte string behind.
pub fn set_field(bytes: &mut Vec<u8>, offset: u64, ty: FieldType, value: i64) {
    let last_bit = offset + u64::from(ty.bits) - 1;
    grow_to_cover_bit(bytes, last_bit);
    store_field(bytes, offset, ty, value);
}

/// The in-place half of [`set_field`], for a string that is already long
/// enough to hold the field (the command layer grows a value stored as an
/// sds itself, once, before any subcommand runs). Panics if the field's
/// last byte is past the end of `bytes`.
pub fn store_field(bytes: &mut [u8], offset: u64, ty: FieldType, value: i64) {
    let last_bit = offset + u64::from(ty.bits) - 1;
    assert!(
        last_bit / 8 < bytes.len() as u64,
        "field past the end of the string"
    );
    let first = offset / 8;
    let shift = WINDOW_BITS - offset % 8 - u64::from(ty.bits);
    let field_mask = u128::from(ty.mask()) << shift;
    let field_value = u128::from(value as u64 & ty.mask()) << shift;
    let window = (load_window(bytes, first) & !field_mask) | field_value;
    // Write back only bytes that exist: the field lies inside the grown
    // string, and window bytes past its end hold only zero padding.
    let window_bytes = window.to_be_bytes(); // 16 bytes; ours are the last 9
    let first = first as usize; // fits: the assert above checked it
    let count = (WINDOW_BYTES as usize).min(bytes.len() - first);
    bytes[first..first + count].copy_from_slice(&window_bytes[16 - 9..16 - 9 + count]);
}

/// Where a proposed value falls against a field's limits, in Redis's own
/// classification (which, for SET, is not always the mathematical one: see
/// [`signed_bound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Fits,
    /// Too large: SAT clamps to the maximum.
    Above,
    /// Too small: SAT clamps to the minimum.
    Below,
}

// ANCHOR: signed_overflow
/// Classifies `value + incr` against a signed field of `bits` bits, as
/// Redis's `checkSignedBitfieldOverflow` does. SET asks with `incr = 0`;
/// INCRBY asks with the field's current value.
///
/// The test is written without computing `value + incr`, which could
/// overflow `i64` itself: "too large" is `incr > max - value`, "too small"
/// is `incr < min - value`.
///
/// FOR FIELDS NARROWER THAN 64 BITS the two differences are computed with
/// wrap-around, like Redis (which casts to unsigned to avoid undefined
/// behaviour). For INCRBY `value` is a stored field value, between `min`
/// and `max`, so `max - value` and `min - value` are small and exact. For
/// SET `value` is anything the client typed, and one case wraps: when
/// `value` is within `max` of `i64::MIN`, `max - value` passes `i64::MAX`
/// and wraps to a negative number, `0 > negative` holds, and the value is
/// classified as too *large*. So in Redis 7.0
///
/// ```text
///   BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808   stores 127, not -128
///   BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775680   stores -128 (128 away: no wrap)
/// ```
///
/// WRAP and FAIL give the right answer either way (WRAP keeps the low bits,
/// FAIL refuses); only SAT picks the wrong end. We reproduce it.
///
/// FOR 64-BIT FIELDS `value` can be any `i64` and the differences could
/// overflow, so each test first checks the sign: `value + incr` can only
/// pass `i64::MAX` if both are positive, and only pass `i64::MIN` if both
/// are negative. Then `max - value` (value >= 0) and `min - value`
/// (value < 0) cannot overflow.
fn signed_bound(value: i64, incr: i64, bits: u8) -> Bound {
    let ty = FieldType { signed: true, bits };
    let (max, min) = (ty.max(), ty.min());
    let max_incr = max.wrapping_sub(value);
    let min_incr = min.wrapping_sub(value);
    let narrow = bits != 64;
    if value > max || (narrow && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Bound::Above
    } else if value < min
        || (narrow && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Bound::Below
    } else {
        Bound::Fits
    }
}

/// Signed wrap-around: add in 64-bit two's complement, then keep the low
/// `bits` bits and copy the field's sign bit into all higher bits.
/// Example, i8: 127 + 1 = 128 = `0x80`; the low 8 bits have the sign bit
/// set, so the result is `0x...FF80` = -128.
fn signed_wrap(value: i64, incr: i64, bits: u8) -> i64 {
    let sum = value.wrapping_add(incr);
    let spare = 64 - u32::from(bits);
    (sum << spare) >> spare // `<<` drops the high bits, `>>` on i64 copies the sign down
}
// ANCHOR_END: signed_overflow

/// Classifies `value + incr` against an unsigned field, as Redis's
/// `checkUnsignedBitfieldOverflow` does. `value` is taken as unsigned, so
/// SET of a negative number is a huge number, classified as too large: in
/// Redis 7.0 `OVERFLOW SAT SET u8 0 -1` stores 255 (and WRAP stores 255 too,
/// the low 8 bits of -1).
///
/// For INCRBY `value` is a stored field, at most `max`, so `max - value` is
/// exact and at most `2^63 - 1` (u63), and `-value` cannot overflow.
fn unsigned_bound(value: u64, incr: i64, ty: FieldType) -> Bound {
    let max = ty.max() as u64;
    if value > max || (incr > 0 && incr as u64 > max - value) {
        Bound::Above
    } else if incr < 0 && incr.unsigned_abs() > value {
        Bound::Below
    } else {
        Bound::Fits
    }
}

/// Applies an overflow policy to `value + incr` for a field of type `ty`:
/// the value to store, or `None` when FAIL refuses.
fn apply_overflow(value: i64, incr: i64, ty: FieldType, overflow: Overflow) -> Option<i64> {
    let bound = if ty.signed {
        signed_bound(value, incr, ty.bits)
    } else {
        unsigned_bound(value as u64, incr, ty)
    };
    match (bound, overflow) {
        (Bound::Fits, _) => Some(value.wrapping_add(incr)),
        (_, Overflow::Fail) => None,
        (Bound::Above, Overflow::Sat) => Some(ty.max()),
        (Bound::Below, Overflow::Sat) => Some(ty.min()),
        (_, Overflow::Wrap) if ty.signed => Some(signed_wrap(value, incr, ty.bits)),
        (_, Overflow::Wrap) => Some((value.wrapping_add(incr) as u64 & ty.mask()) as i64),
    }
}

/// BITFIELD INCRBY: the new value of a field holding `old` after adding
/// `incr` under `overflow`, or `None` when FAIL refuses (reply nil, write
/// nothing). On `Some(v)` the command stores `v` with [`set_field`] and
/// replies `v`.
///
/// `old` must be a value the field can hold, as [`get_field`] returns.
///
/// | type | old | incr | WRAP | SAT | FAIL |
/// |------|-----|------|------|-----|------|
/// | u8   | 250 | 10   | 4    | 255 | nil  |
/// | u8   | 5   | -10  | 251  | 0   | nil  |
/// | i8   | 120 | 10   | -126 | 127 | nil  |
/// | i64  | i64::MAX | 1 | i64::MIN | i64::MAX | nil |
pub fn incr_field(old: i64, incr: i64, ty: FieldType, overflow: Overflow) -> Option<i64> {
    apply_overflow(old, incr, ty, overflow)
}

/// BITFIELD SET: the value actually stored when the client asks to store
/// `value` under `overflow`, or `None` when FAIL refuses (reply nil, write
/// nothing). On `Some(v)` the command replies the *old* field value and
/// stores `v` with [`set_field`].
///
/// | type | value | WRAP | SAT | FAIL |
/// |------|-------|------|-----|------|
/// | u8   | 256   | 0    | 255 | nil  |
/// | u8   | -1    | 255  | 255 (Redis quirk: -1 is huge unsigned) | nil |
/// | i8   | 128   | -128 | 127 | nil  |
/// | i8   | i64::MIN | 0 | 127 (Redis quirk, see `signed_bound`) | nil |
pub fn set_with_overflow(value: i64, ty: FieldType, overflow: Overflow) -> Option<i64> {
    apply_overflow(value, 0, ty, overflow)
}

// ============================================================================
// Tests
// ============================================================================

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ty(text: &str) -> FieldType {
        FieldType::parse(text.as_bytes()).expect("valid type")
    }

    // --- single bits ------------------------------------------------------

    #[test]
    fn setbit_7_on_an_empty_string_makes_the_byte_0x01() {
        let mut s = Vec::new();
        assert_eq!(set_bit(&mut s, 7, true), 0);
        assert_eq!(s, [0x01]);
        assert_eq!(set_bit(&mut s, 8, true), 0);
        assert_eq!(s, [0x01, 0x80]);
        assert_eq!(set_bit(&mut s, 7, false), 1);
        assert_eq!(s, [0x00, 0x80]);
    }

    #[test]
    fn getbit_reads_msb_first_and_zero_past_the_end() {
        let s = [0b1010_0000];
        assert_eq!(get_bit(&s, 0), 1);
        assert_eq!(get_bit(&s, 1), 0);
        assert_eq!(get_bit(&s, 2), 1);
        assert_eq!(get_bit(&s, 8), 0);
        assert_eq!(get_bit(&s, MAX_BIT_OFFSET), 0);
        assert_eq!(get_bit(&[], u64::MAX), 0);
    }

    #[test]
    fn growing_reports_a_length_change_only_once() {
        let mut s = vec![0xff];
        assert!(!grow_to_cover_bit(&mut s, 7));
        assert!(grow_to_cover_bit(&mut s, 8));
        assert_eq!(s, [0xff, 0x00]);
        assert!(!grow_to_cover_bit(&mut s, 15));
    }

    // --- offsets ----------------------------------------------------------

    #[test]
    fn bit_offsets_follow_redis_integer_rules_and_the_bulk_limit() {
        let parse = |s: &str| parse_bit_offset(s.as_bytes(), false, 0, DEFAULT_PROTO_MAX_BULK_LEN);
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("7"), Ok(7));
        assert_eq!(parse("4294967295"), Ok(MAX_BIT_OFFSET));
        assert_eq!(MAX_BIT_OFFSET, u64::from(u32::MAX));
        for bad in [
            "4294967296",
            "-1",
            "",
            "-",
            "-0",
            "+1",
            "01",
            " 1",
            "1 ",
            "1.0",
            "abc",
            "#1",
        ] {
            assert_eq!(parse(bad), Err(()), "{bad:?}");
        }
        assert_eq!(parse("9223372036854775807"), Err(()));
        // The master link lifts the limit.
        assert_eq!(
            parse_bit_offset(b"9223372036854775807", false, 0, u64::MAX),
            Ok(i64::MAX as u64)
        );
    }

    #[test]
    fn bitfield_hash_offsets_multiply_by_the_width() {
        assert_eq!(parse_bitfield_offset(b"#0", ty("u8")), Some(0));
        assert_eq!(parse_bitfield_offset(b"#2", ty("u8")), Some(16));
        assert_eq!(parse_bitfield_offset(b"#3", ty("i5")), Some(15));
        assert_eq!(parse_bitfield_offset(b"13", ty("i5")), Some(13));
        assert_eq!(parse_bitfield_offset(b"#-1", ty("u8")), None);
        assert_eq!(parse_bitfield_offset(b"#", ty("u8")), None);
        assert_eq!(parse_bitfield_offset(b"##1", ty("u8")), None);
        assert_eq!(
            parse_bitfield_offset(b"#536870911", ty("u8")),
            Some(MAX_BIT_OFFSET - 7)
        );
        assert_eq!(parse_bitfield_offset(b"#536870912", ty("u8")), None);
    }

    #[test]
    fn hash_offset_multiplication_wraps_like_redis_7_0() {
        // 2^61 * 8 = 2^64 wraps to 0; 2^62 * 8 = 2^65 wraps to 0 as well.
        assert_eq!(
            parse_bitfield_offset(b"#2305843009213693952", ty("u8")),
            Some(0)
        );
        assert_eq!(
            parse_bitfield_offset(b"#4611686018427387904", ty("u8")),
            Some(0)
        );
        // 2^62 * 2 = 2^63 wraps to i64::MIN: negative, refused.
        assert_eq!(
            parse_bitfield_offset(b"#4611686018427387904", ty("u2")),
            None
        );
    }

    // --- field types ------------------------------------------------------

    #[test]
    fn field_types_accept_i1_to_i64_and_u1_to_u63_only() {
        assert_eq!(FieldType::parse(b"i1"), FieldType::new(true, 1));
        assert_eq!(FieldType::parse(b"i64"), FieldType::new(true, 64));
        assert_eq!(FieldType::parse(b"u63"), FieldType::new(false, 63));
        assert_eq!(ty("u8").bits(), 8);
        assert!(ty("i16").signed());
        for bad in [
            "u64", "i65", "i0", "u0", "i", "u", "", "I8", "U8", "x8", "i08", "i+8", "i-8", "i 8",
            "i8 ", "8",
        ] {
            assert_eq!(FieldType::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(FieldType::new(false, 64), None);
        assert_eq!(FieldType::new(true, 0), None);
    }

    #[test]
    fn field_type_stops_at_a_nul_byte_like_redis_strlen() {
        assert_eq!(FieldType::parse(b"i8\0junk"), Some(ty("i8")));
        assert_eq!(FieldType::parse(b"\0i8"), None);
    }

    #[test]
    fn field_limits() {
        assert_eq!((ty("i8").min(), ty("i8").max()), (-128, 127));
        assert_eq!((ty("u8").min(), ty("u8").max()), (0, 255));
        assert_eq!((ty("i1").min(), ty("i1").max()), (-1, 0));
        assert_eq!((ty("u1").min(), ty("u1").max()), (0, 1));
        assert_eq!((ty("i64").min(), ty("i64").max()), (i64::MIN, i64::MAX));
        assert_eq!((ty("u63").min(), ty("u63").max()), (0, i64::MAX));
    }

    #[test]
    fn option_words_parse_in_any_case() {
        assert_eq!(BitUnit::parse(b"BiT"), Some(BitUnit::Bit));
        assert_eq!(BitUnit::parse(b"byte"), Some(BitUnit::Byte));
        assert_eq!(BitUnit::parse(b"bits"), None);
        assert_eq!(BitOp::parse(b"xOr"), Some(BitOp::Xor));
        assert_eq!(BitOp::parse(b"NOT"), Some(BitOp::Not));
        assert_eq!(BitOp::parse(b"nand"), None);
        assert_eq!(Overflow::parse(b"SAT"), Some(Overflow::Sat));
        assert_eq!(Overflow::parse(b"fail"), Some(Overflow::Fail));
        assert_eq!(Overflow::parse(b"wraps"), None);
        assert_eq!(Overflow::default(), Overflow::Wrap);
    }

    // --- BITCOUNT ---------------------------------------------------------

    #[test]
    fn bitcount_of_foobar_matches_the_redis_docs() {
        let s = b"foobar";
        assert_eq!(popcount(s), 26);
        assert_eq!(bitcount_range(s, 0, 0, BitUnit::Byte), 4);
        assert_eq!(bitcount_range(s, 1, 1, BitUnit::Byte), 6);
        assert_eq!(bitcount_range(s, 5, 30, BitUnit::Bit), 17);
        assert_eq!(bitcount_range(s, -5, -1, BitUnit::Bit), 2);
        assert_eq!(bitcount_range(s, 0, -1, BitUnit::Byte), 26);
        assert_eq!(bitcount_range(s, 0, -1, BitUnit::Bit), 26);
    }

    #[test]
    fn bitcount_negative_indexes_count_from_the_end_and_clamp() {
        let s = [0xff, 0x0f, 0x01]; // 8 + 4 + 1 ones
        assert_eq!(bitcount_range(&s, -1, -1, BitUnit::Byte), 1);
        assert_eq!(bitcount_range(&s, -2, -1, BitUnit::Byte), 5);
        assert_eq!(bitcount_range(&s, -100, 100, BitUnit::Byte), 13);
        assert_eq!(bitcount_range(&s, 1, 100, BitUnit::Byte), 5);
        assert_eq!(bitcount_range(&s, 3, 100, BitUnit::Byte), 0);
        assert_eq!(bitcount_range(&s, 2, 1, BitUnit::Byte), 0);
        assert_eq!(bitcount_range(&s, -100, -50, BitUnit::Byte), 8); // both clamp to byte 0
        assert_eq!(bitcount_range(&[], 0, -1, BitUnit::Byte), 0);
        assert_eq!(bitcount_range(&[], 0, 0, BitUnit::Bit), 0);
        assert_eq!(bitcount_range(&s, i64::MIN, i64::MAX, BitUnit::Bit), 13);
    }

    #[test]
    fn bitcount_both_negative_with_start_after_end_is_zero_before_clamping() {
        let s = b"abc";
        // Resolving -4 -5 would give 0 0 (byte 'a', 3 ones); Redis checks first.
        assert_eq!(bitcount_range(s, -4, -5, BitUnit::Byte), 0);
        assert_eq!(bitcount_range(s, -1, -2, BitUnit::Bit), 0);
        // Only when *both* are negative: -4 0 resolves to 0 0.
        assert_eq!(bitcount_range(s, -4, 0, BitUnit::Byte), 3);
    }

    #[test]
    fn bitcount_bit_ranges_count_partial_first_and_last_bytes() {
        let s = [0xff, 0xff, 0xff];
        assert_eq!(bitcount_range(&s, 3, 3, BitUnit::Bit), 1);
        assert_eq!(bitcount_range(&s, 3, 5, BitUnit::Bit), 3); // inside one byte
        assert_eq!(bitcount_range(&s, 6, 9, BitUnit::Bit), 4); // across a boundary
        assert_eq!(bitcount_range(&s, 1, 22, BitUnit::Bit), 22);
        assert_eq!(bitcount_range(&s, 8, 15, BitUnit::Bit), 8); // aligned
        assert_eq!(bitcount_range(&s, -3, -1, BitUnit::Bit), 3);
        assert_eq!(bitcount_range(&s, 23, 100, BitUnit::Bit), 1);
        assert_eq!(bitcount_range(&s, 24, 100, BitUnit::Bit), 0);
        let s = [0b1000_0001, 0b1000_0001];
        assert_eq!(bitcount_range(&s, 1, 14, BitUnit::Bit), 2);
        assert_eq!(bitcount_range(&s, 0, 15, BitUnit::Bit), 4);
    }

    // --- BITPOS -----------------------------------------------------------

    #[test]
    fn bitpos_examples_from_the_redis_docs() {
        assert_eq!(bitpos(b"\xff\xf0\x00", 0, None, None, BitUnit::Byte), 12);
        let s = b"\x00\xff\xf0";
        assert_eq!(bitpos(s, 1, Some(0), None, BitUnit::Byte), 8);
        assert_eq!(bitpos(s, 1, Some(2), None, BitUnit::Byte), 16);
        assert_eq!(bitpos(s, 1, Some(2), Some(-1), BitUnit::Byte), 16);
        assert_eq!(bitpos(s, 1, Some(7), Some(15), BitUnit::Bit), 8);
        assert_eq!(bitpos(s, 1, Some(7), Some(-3), BitUnit::Bit), 8);
        assert_eq!(bitpos(b"\x00\x00\x00", 1, None, None, BitUnit::Byte), -1);
    }

    #[test]
    fn bitpos_for_zero_in_all_ones_pads_only_without_an_end() {
        let s = [0xff, 0xff];
        assert_eq!(bitpos(&s, 0, None, None, BitUnit::Byte), 16);
        assert_eq!(bitpos(&s, 0, Some(0), None, BitUnit::Byte), 16);
        assert_eq!(bitpos(&s, 0, Some(1), None, BitUnit::Byte), 16);
        assert_eq!(bitpos(&s, 0, Some(-1), None, BitUnit::Byte), 16);
        assert_eq!(bitpos(&s, 0, Some(0), Some(-1), BitUnit::Byte), -1);
        assert_eq!(bitpos(&s, 0, Some(0), Some(100), BitUnit::Byte), -1);
        assert_eq!(bitpos(&s, 0, Some(0), Some(15), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 0, Some(3), Some(5), BitUnit::Bit), -1);
        // A start past the end is an empty range: -1 even without an end.
        assert_eq!(bitpos(&s, 0, Some(5), None, BitUnit::Byte), -1);
        // Long all-ones strings exercise the 8-byte skip.
        let long = vec![0xff; 1000];
        assert_eq!(bitpos(&long, 0, None, None, BitUnit::Byte), 8000);
        let mut long = long;
        long[997] = 0xfe;
        assert_eq!(bitpos(&long, 0, None, None, BitUnit::Byte), 997 * 8 + 7);
        assert_eq!(
            bitpos(&long, 0, Some(8), Some(7990), BitUnit::Bit),
            997 * 8 + 7
        );
        assert_eq!(bitpos(&long, 0, Some(8), Some(7982), BitUnit::Bit), -1);
    }

    #[test]
    fn bitpos_on_an_empty_string_is_minus_one_for_both_bits() {
        // (A *missing* key is the command layer's: 0 for bit 0, -1 for bit 1.)
        for bit in [0, 1] {
            assert_eq!(bitpos(b"", bit, None, None, BitUnit::Byte), -1);
            assert_eq!(bitpos(b"", bit, Some(0), None, BitUnit::Byte), -1);
            assert_eq!(bitpos(b"", bit, Some(0), Some(-1), BitUnit::Bit), -1);
        }
    }

    #[test]
    fn bitpos_with_start_after_end_is_minus_one() {
        let s = [0x00, 0xff];
        assert_eq!(bitpos(&s, 0, Some(1), Some(0), BitUnit::Byte), -1);
        assert_eq!(bitpos(&s, 1, Some(1), Some(0), BitUnit::Byte), -1);
        assert_eq!(bitpos(&s, 1, Some(-1), Some(-2), BitUnit::Byte), -1);
        assert_eq!(bitpos(&s, 1, Some(12), Some(10), BitUnit::Bit), -1);
    }

    #[test]
    fn bitpos_has_no_both_negative_shortcut_unlike_bitcount() {
        // 'a' = 0x61 = 0110_0001. -4 -5 on 3 bytes clamps to byte 0..=0.
        assert_eq!(bitpos(b"abc", 1, Some(-4), Some(-5), BitUnit::Byte), 1);
        assert_eq!(bitcount_range(b"abc", -4, -5, BitUnit::Byte), 0);
    }

    #[test]
    fn bitpos_bit_ranges_ignore_bits_outside_the_range() {
        let s = [0b1000_0001, 0b1000_0000];
        assert_eq!(bitpos(&s, 1, Some(1), Some(6), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 1, Some(1), Some(7), BitUnit::Bit), 7);
        assert_eq!(bitpos(&s, 1, Some(1), Some(15), BitUnit::Bit), 7);
        assert_eq!(bitpos(&s, 1, Some(9), Some(15), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 0, Some(7), Some(8), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 0, Some(7), Some(9), BitUnit::Bit), 9);
        assert_eq!(bitpos(&s, 0, Some(0), Some(0), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 0, Some(1), Some(1), BitUnit::Bit), 1);
        assert_eq!(bitpos(&s, 1, Some(-1), Some(-1), BitUnit::Bit), -1);
        assert_eq!(bitpos(&s, 1, Some(-8), Some(-1), BitUnit::Bit), 8);
    }

    // --- BITOP ------------------------------------------------------------

    #[test]
    fn bitop_pads_shorter_sources_with_zeros() {
        let a: &[u8] = b"\xff\xff";
        let b: &[u8] = b"\x0f";
        assert_eq!(bitop(BitOp::And, &[a, b]), b"\x0f\x00");
        assert_eq!(bitop(BitOp::And, &[b, a]), b"\x0f\x00");
        assert_eq!(bitop(BitOp::Or, &[b, a]), b"\xff\xff");
        assert_eq!(bitop(BitOp::Xor, &[a, b]), b"\xf0\xff");
        assert_eq!(bitop(BitOp::Xor, &[a, b, b]), b"\xff\xff");
        assert_eq!(bitop(BitOp::And, &[a, b"", b]), b"\x00\x00");
        assert_eq!(bitop(BitOp::Not, &[b"\x0f\xf0"]), b"\xf0\x0f");
        assert_eq!(bitop(BitOp::Not, &[b""]), b"");
        assert_eq!(bitop(BitOp::Or, &[b"", b""]), b"");
        assert_eq!(bitop(BitOp::Or, &[]), b"");
    }

    #[test]
    #[should_panic(expected = "exactly one source")]
    fn bitop_not_with_two_sources_is_a_caller_bug() {
        bitop(BitOp::Not, &[b"a", b"b"]);
    }

    // --- BITFIELD get/set -------------------------------------------------

    #[test]
    fn get_field_worked_example_from_the_doc_comment() {
        let s = [0x02, 0xC0];
        assert_eq!(get_field(&s, 6, ty("u4")), 11);
        assert_eq!(get_field(&s, 6, ty("i4")), -5);
    }

    #[test]
    fn set_field_writes_msb_first_across_bytes() {
        // u5 value 23 = 10111 at offset 7: bit 7 of byte 0, bits 8..=11 of byte 1.
        let mut s = Vec::new();
        set_field(&mut s, 7, ty("u5"), 23);
        assert_eq!(s, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_field(&s, 7, ty("u5")), 23);
        // Byte-aligned 16 bits is big-endian.
        let mut s = vec![0xAA; 4];
        set_field(&mut s, 8, ty("u16"), 0x1234);
        assert_eq!(s, [0xAA, 0x12, 0x34, 0xAA]);
        // Negative values are stored in two's complement.
        let mut s = Vec::new();
        set_field(&mut s, 0, ty("i8"), -1);
        assert_eq!(s, [0xff]);
        set_field(&mut s, 0, ty("i4"), -8);
        assert_eq!(s, [0x8f]);
    }

    #[test]
    fn wide_fields_at_unaligned_offsets_use_all_nine_bytes() {
        let mut s = Vec::new();
        set_field(&mut s, 7, ty("i64"), i64::MIN + 5);
        assert_eq!(s.len(), 9);
        assert_eq!(get_field(&s, 7, ty("i64")), i64::MIN + 5);
        // i64::MIN + 5 = 1000...0101 in bits 7..=70. A u63 at 7 reads bits
        // 7..=69, the top 63 of them: 0100...010 = 2^62 + 2.
        assert_eq!(get_field(&s, 7, ty("u63")), (1 << 62) + 2);
        // A u63 at 8 reads bits 8..=70, the low 63: 5.
        assert_eq!(get_field(&s, 8, ty("u63")), 5);
        set_field(&mut s, 7, ty("u63"), i64::MAX);
        assert_eq!(get_field(&s, 7, ty("u63")), i64::MAX);
        // Bits 7..=69 are now all ones and bit 70 was already 1: -1 as i64.
        assert_eq!(get_field(&s, 7, ty("i64")), -1);
    }

    #[test]
    fn get_field_past_the_end_reads_zeros() {
        assert_eq!(get_field(b"", 0, ty("i64")), 0);
        assert_eq!(get_field(b"\xff", 4, ty("u8")), 0xf0);
        assert_eq!(get_field(b"\xff", 4, ty("i8")), -16);
        assert_eq!(get_field(b"\xff", MAX_BIT_OFFSET, ty("i64")), 0);
    }

    // --- BITFIELD overflow tables -----------------------------------------

    /// (old, incr, wrap, sat, fail) rows for INCRBY; `None` = nil reply.
    type IncrRow = (i64, i64, i64, i64, Option<i64>);

    fn check_incr_table(t: &str, rows: &[IncrRow]) {
        for &(old, incr, wrap, sat, fail) in rows {
            let case = format!("{t} {old} incrby {incr}");
            assert_eq!(
                incr_field(old, incr, ty(t), Overflow::Wrap),
                Some(wrap),
                "WRAP {case}"
            );
            assert_eq!(
                incr_field(old, incr, ty(t), Overflow::Sat),
                Some(sat),
                "SAT {case}"
            );
            assert_eq!(
                incr_field(old, incr, ty(t), Overflow::Fail),
                fail,
                "FAIL {case}"
            );
        }
    }

    /// (value, wrap, sat, fail) rows for SET.
    type SetRow = (i64, i64, i64, Option<i64>);

    fn check_set_table(t: &str, rows: &[SetRow]) {
        for &(value, wrap, sat, fail) in rows {
            let case = format!("{t} set {value}");
            assert_eq!(
                set_with_overflow(value, ty(t), Overflow::Wrap),
                Some(wrap),
                "WRAP {case}"
            );
            assert_eq!(
                set_with_overflow(value, ty(t), Overflow::Sat),
                Some(sat),
                "SAT {case}"
            );
            assert_eq!(
                set_with_overflow(value, ty(t), Overflow::Fail),
                fail,
                "FAIL {case}"
            );
        }
    }

    #[test]
    fn i8_overflow_table() {
        check_incr_table(
            "i8",
            &[
                (0, 127, 127, 127, Some(127)),
                (0, -128, -128, -128, Some(-128)),
                (127, 1, -128, 127, None),
                (-128, -1, 127, -128, None),
                (120, 10, -126, 127, None),
                (100, -228, -128, -128, Some(-128)),
                (100, -229, 127, -128, None),
                (0, 256, 0, 127, None),
                (5, i64::MAX, 4, 127, None),
                (-5, i64::MIN, -5, -128, None),
                (127, -255, -128, -128, Some(-128)),
                (127, -256, 127, -128, None),
            ],
        );
        check_set_table(
            "i8",
            &[
                (127, 127, 127, Some(127)),
                (-128, -128, -128, Some(-128)),
                (128, -128, 127, None),
                (-129, 127, -128, None),
                (255, -1, 127, None),
                (i64::MAX, -1, 127, None),
            ],
        );
    }

    #[test]
    fn sat_set_of_values_near_i64_min_saturates_up_like_redis_7_0() {
        // Checked against redis-server 7.0.15: SET i8 of these stores 127.
        check_set_table(
            "i8",
            &[
                (i64::MIN, 0, 127, None),
                (i64::MIN + 127, 127, 127, None),
                // 128 away from i64::MIN the difference no longer wraps.
                (i64::MIN + 128, -128, -128, None),
                (i64::MIN + 129, -127, -128, None),
            ],
        );
    }

    #[test]
    fn u8_overflow_table() {
        check_incr_table(
            "u8",
            &[
                (0, 255, 255, 255, Some(255)),
                (255, 1, 0, 255, None),
                (250, 10, 4, 255, None),
                (5, -5, 0, 0, Some(0)),
                (5, -10, 251, 0, None),
                (0, -1, 255, 0, None),
                (0, i64::MIN, 0, 0, None),
                (1, i64::MAX, 0, 255, None),
            ],
        );
        check_set_table(
            "u8",
            &[
                (0, 0, 0, Some(0)),
                (255, 255, 255, Some(255)),
                (256, 0, 255, None),
                (300, 44, 255, None),
                // Negative values are huge unsigned numbers: "too large".
                (-1, 255, 255, None),
                (-256, 0, 255, None),
                (i64::MIN, 0, 255, None),
            ],
        );
    }

    #[test]
    fn i64_overflow_table() {
        let (max, min) = (i64::MAX, i64::MIN);
        check_incr_table(
            "i64",
            &[
                (max, 0, max, max, Some(max)),
                (max, 1, min, max, None),
                (min, -1, max, min, None),
                (max, min, -1, -1, Some(-1)),
                (min, max, -1, -1, Some(-1)),
                (1, max, min, max, None),
                (-2, min, max - 1, min, None),
                (0, min, min, min, Some(min)),
                (-1, min, max, min, None),
                (max - 10, 10, max, max, Some(max)),
            ],
        );
        // Any i64 fits an i64 field.
        check_set_table(
            "i64",
            &[
                (max, max, max, Some(max)),
                (min, min, min, Some(min)),
                (0, 0, 0, Some(0)),
            ],
        );
    }

    #[test]
    fn u63_overflow_table() {
        let max = i64::MAX; // 2^63 - 1, the largest unsigned field value
        check_incr_table(
            "u63",
            &[
                (max, 0, max, max, Some(max)),
                (max, 1, 0, max, None),
                (max - 1, 1, max, max, Some(max)),
                (0, max, max, max, Some(max)),
                (1, max, 0, max, None),
                (max, max, max - 1, max, None),
                (0, -1, max, 0, None),
                (0, i64::MIN, 0, 0, None),
                (max, i64::MIN, max, 0, None),
                (max, -max, 0, 0, Some(0)),
            ],
        );
        check_set_table(
            "u63",
            &[
                (max, max, max, Some(max)),
                (0, 0, 0, Some(0)),
                (-1, max, max, None),
                (i64::MIN, 0, max, None),
            ],
        );
    }

    #[test]
    fn one_bit_fields() {
        check_incr_table(
            "u1",
            &[
                (1, 1, 0, 1, None),
                (0, 1, 1, 1, Some(1)),
                (0, -1, 1, 0, None),
            ],
        );
        check_incr_table(
            "i1",
            &[
                (0, -1, -1, -1, Some(-1)),
                (-1, 1, 0, 0, Some(0)),
                (0, 1, -1, 0, None),
            ],
        );
        check_set_table("i1", &[(1, -1, 0, None), (-2, 0, -1, None)]);
    }

    // --- properties against naive models ---------------------------------

    /// The string as a list of bits, built without any of the code above.
    fn to_bits(bytes: &[u8]) -> Vec<bool> {
        bytes
            .iter()
            .flat_map(|&b| (0..8).map(move |i| b & (0x80 >> i) != 0))
            .collect()
    }

    fn from_bits(bits: &[bool]) -> Vec<u8> {
        bits.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &on)| b | (u8::from(on) << (7 - i)))
            })
            .collect()
    }

    fn any_type() -> impl Strategy<Value = FieldType> {
        prop_oneof![
            (1u8..=64).prop_map(|b| FieldType::new(true, b).unwrap()),
            (1u8..=63).prop_map(|b| FieldType::new(false, b).unwrap()),
        ]
    }

    /// Redis's index rules, written the slow and obvious way.
    fn naive_range(len: i64, start: i64, end: i64) -> Vec<i64> {
        let fix = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        (fix(start)..=fix(end).min(len - 1)).collect()
    }

    proptest! {
        #[test]
        fn set_then_get_field_matches_a_bit_by_bit_model(
            initial in proptest::collection::vec(any::<u8>(), 0..24),
            offset in 0u64..200,
            t in any_type(),
            value in any::<i64>(),
        ) {
            let mut bytes = initial.clone();
            set_field(&mut bytes, offset, t, value);

            let mut model = to_bits(&initial);
            let n = u64::from(t.bits());
            let needed = ((offset + n - 1) / 8 + 1) as usize * 8;
            if model.len() < needed { model.resize(needed, false); }
            for j in 0..n {
                model[(offset + j) as usize] = (value >> (n - 1 - j)) & 1 == 1;
            }
            prop_assert_eq!(&bytes, &from_bits(&model));

            // The value read back is `value` reduced to the field's range.
            let modulus = 1i128 << n;
            let mut expected = i128::from(value).rem_euclid(modulus);
            if t.signed() && expected >= modulus / 2 { expected -= modulus; }
            prop_assert_eq!(i128::from(get_field(&bytes, offset, t)), expected);
        }

        #[test]
        fn get_field_matches_a_bit_by_bit_model(
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
            offset in 0u64..220,
            t in any_type(),
        ) {
            let bits = to_bits(&bytes);
            let n = u64::from(t.bits());
            let mut raw: i128 = 0;
            for j in 0..n {
                let on = bits.get((offset + j) as usize).copied().unwrap_or(false);
                raw = raw << 1 | i128::from(on);
            }
            if t.signed() && raw >= 1i128 << (n - 1) { raw -= 1i128 << n; }
            prop_assert_eq!(i128::from(get_field(&bytes, offset, t)), raw);
        }

        #[test]
        fn popcount_matches_counting_bit_by_bit(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let naive = to_bits(&bytes).iter().filter(|&&b| b).count() as u64;
            prop_assert_eq!(popcount(&bytes), naive);
        }

        #[test]
        fn bitcount_range_matches_a_naive_model(
            bytes in proptest::collection::vec(any::<u8>(), 0..20),
            start in -200i64..200,
            end in -200i64..200,
            bit_unit in any::<bool>(),
        ) {
            let unit = if bit_unit { BitUnit::Bit } else { BitUnit::Byte };
            let bits = to_bits(&bytes);
            let per = if bit_unit { 1 } else { 8 };
            let expected = if start < 0 && end < 0 && start > end {
                0
            } else {
                naive_range(bits.len() as i64 / per, start, end)
                    .into_iter()
                    .flat_map(|u| (u * per)..(u * per + per))
                    .filter(|&i| bits[i as usize])
                    .count() as u64
            };
            prop_assert_eq!(bitcount_range(&bytes, start, end, unit), expected);
        }

        #[test]
        fn bitpos_matches_a_naive_model(
            bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(0xff), any::<u8>()], 0..40),
            bit in 0u8..=1,
            start in proptest::option::of(-400i64..400),
            end in proptest::option::of(-400i64..400),
            bit_unit in any::<bool>(),
        ) {
            // Redis syntax: BIT needs an explicit end, and an end needs a start.
            let unit = if bit_unit && end.is_some() { BitUnit::Bit } else { BitUnit::Byte };
            let start = if end.is_some() { Some(start.unwrap_or(0)) } else { start };
            let bits = to_bits(&bytes);
            let per = if unit == BitUnit::Bit { 1 } else { 8 };
            let units = naive_range(bits.len() as i64 / per, start.unwrap_or(0), end.unwrap_or(i64::MAX));
            let expected = if units.is_empty() {
                -1
            } else {
                let found = units
                    .iter()
                    .flat_map(|&u| (u * per)..(u * per + per))
                    .find(|&i| u8::from(bits[i as usize]) == bit);
                match found {
                    Some(i) => i,
                    None if bit == 0 && end.is_none() => bits.len() as i64,
                    None => -1,
                }
            };
            prop_assert_eq!(bitpos(&bytes, bit, start, end, unit), expected);
        }

        #[test]
        fn wrap_agrees_with_modular_arithmetic(
            t in any_type(),
            old_bits in any::<u64>(),
            incr in any::<i64>(),
        ) {
            // Start from a value the field can hold, as INCRBY does.
            let mut field = Vec::new();
            set_field(&mut field, 0, t, old_bits as i64);
            let old = get_field(&field, 0, t);
            let got = incr_field(old, incr, t, Overflow::Wrap).unwrap();
            let modulus = 1i128 << t.bits();
            let mut expected = (i128::from(old) + i128::from(incr)).rem_euclid(modulus);
            if t.signed() && expected >= modulus / 2 { expected -= modulus; }
            prop_assert_eq!(i128::from(got), expected);

            // SAT clamps to the true sum; FAIL refuses exactly when it does not fit.
            let sum = i128::from(old) + i128::from(incr);
            let (lo, hi) = (i128::from(t.min()), i128::from(t.max()));
            let sat = incr_field(old, incr, t, Overflow::Sat).unwrap();
            prop_assert_eq!(i128::from(sat), sum.clamp(lo, hi));
            let fits = (lo..=hi).contains(&sum);
            prop_assert_eq!(incr_field(old, incr, t, Overflow::Fail), fits.then_some(sum as i64));
        }
    }
}
