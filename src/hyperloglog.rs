//! # HyperLogLog: counting distinct things in 12 KB
//!
//! How many different users visited today? An exact answer needs every id
//! seen so far (a set), and so memory proportional to the answer. A
//! HyperLogLog answers within about 0.81% using at most 12 KB, whether the
//! answer is ten or ten billion.
//!
//! ## The idea
//!
//! Hash every element to 64 random-looking bits. Among random numbers, one
//! whose bits start with a run of `k` zeros turns up about once every `2^k`
//! numbers; so if the longest run of zeros seen is `k`, about `2^k`
//! distinct numbers went by. One such observation is noisy, so the hash is
//! split in two: the low 14 bits pick one of 16384 *registers*, and the
//! other 50 bits give the run length (counted from bit 14 upwards, plus one
//! for the 1 that ends it, so the smallest count is 1 and the largest 51).
//! Each register keeps the largest count its elements produced, and the
//! estimate combines all 16384 of them. Adding the same element twice
//! changes nothing: that is what makes it count *distinct* elements.
//!
//! ## The invariant: a Redis string, byte for byte
//!
//! A HyperLogLog is not a type of its own. It is a string value (GET returns
//! it, SET stores one, `OBJECT ENCODING` says `raw`), laid out exactly as
//! Redis 7.0 lays it out, so a value copied from a real Redis with GET and
//! SET counts the same here:
//!
//! ```text
//! offset  0    4    5         8                16
//!         HYLL enc  0 0 0     cached card (LE)  registers ...
//! ```
//!
//! - `enc` is 0 for *dense*, 1 for *sparse*.
//! - The cached cardinality is the last PFCOUNT's answer, a little-endian
//!   u64. The top bit of its last byte (offset 15) set means "stale": every
//!   change to a register sets it, and PFCOUNT recomputes and clears it.
//! - Dense: 16384 registers of 6 bits, 12288 bytes, total 12304. Register
//!   `i` starts at bit `6i`, counting bits from the least significant bit of
//!   each byte upwards (see [`dense_get`]).
//! - Sparse: run-length opcodes (see [`SparseOp`]) covering exactly 16384
//!   registers. A new HyperLogLog is sparse: 16 + 2 bytes.
//!
//! A sparse value turns dense, for good, when an update would make it longer
//! than `hll-sparse-max-bytes` (3000 by default, header included) or needs a
//! register value above 32, which the sparse opcodes cannot hold.
//!
//! ## The Redis C counterpart
//!
//! `src/hyperloglog.c`: `struct hllhdr`, `MurmurHash64A`, `hllPatLen`, the
//! `HLL_DENSE_GET_REGISTER` / `HLL_DENSE_SET_REGISTER` macros,
//! `hllDenseSet`, `hllSparseSet`, `hllSparseToDense`, `hllDenseRegHisto`,
//! `hllSparseRegHisto`, `hllRawRegHisto`, `hllTau`, `hllSigma`, `hllCount`,
//! `hllMerge`, `createHLLObject`, `isHLLObjectOrReply`, `pfselftestCommand`.
//! The commands are in `src/commands/hyperloglog.rs`.
//!
//! ## What we simplified
//!
//! Nothing in the format or the arithmetic: the estimator is Redis 7.0's
//! (Otmar Ertl's, from "New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), including what it does with impossible
//! register values that a hand-made SET can smuggle in. Redis unrolls its
//! dense loops 16 registers at a time; we take 4 registers per 3 bytes,
//! which is the same idea in a loop a reader can check by eye.

use crate::sds::Sds;

/// Bits of the hash that choose a register (`HLL_P`).
pub const HLL_P: u32 = 14;
/// Bits of the hash left to count zeros in (`HLL_Q`).
pub const HLL_Q: u32 = 64 - HLL_P;
/// Number of registers (`HLL_REGISTERS`).
pub const HLL_REGISTERS: usize = 1 << HLL_P;
/// Bits per dense register: enough for counts up to 63 (`HLL_BITS`).
pub const HLL_BITS: usize = 6;
/// Largest value a dense register can hold.
pub const HLL_REGISTER_MAX: u8 = (1 << HLL_BITS) - 1;
/// "HYLL", encoding, 3 unused bytes, 8 bytes of cached cardinality.
pub const HDR_SIZE: usize = 16;
/// Length of a dense HyperLogLog: header plus 16384 × 6 bits.
pub const DENSE_SIZE: usize = HDR_SIZE + (HLL_REGISTERS * HLL_BITS).div_ceil(8);
/// The encoding byte (offset 4) of a dense value.
pub const ENCODING_DENSE: u8 = 0;
/// The encoding byte of a sparse value.
pub const ENCODING_SPARSE: u8 = 1;
/// Where the encoding byte is.
const ENCODING_OFFSET: usize = 4;
/// Where the cached cardinality starts.
const CARD_OFFSET: usize = 8;
/// The byte whose top bit says "the cached cardinality is stale".
const CARD_STALE_BYTE: usize = 15;

/// The seed Redis gives MurmurHash64A for HyperLogLog elements.
pub const HASH_SEED: u32 = 0xadc8_3b19;

/// A VAL opcode stores values 1..=32 only; a larger count means dense.
pub const SPARSE_VAL_MAX_VALUE: u8 = 32;
/// A VAL opcode covers at most 4 registers.
pub const SPARSE_VAL_MAX_LEN: usize = 4;
/// A ZERO opcode covers at most 64 registers.
pub const SPARSE_ZERO_MAX_LEN: usize = 64;
/// An XZERO opcode covers at most 16384 registers.
pub const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// `0.5 / ln 2`, the estimator's constant for infinitely many registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The error for a value that looks like a HyperLogLog but whose registers
/// do not add up (a sparse value not covering exactly 16384 registers).
pub const ERR_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
/// The error for a string that is not a HyperLogLog at all.
pub const ERR_NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// A sparse HyperLogLog whose opcodes do not cover exactly 16384
/// registers: the commands answer [`ERR_CORRUPT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

// ============================================================================
// Hashing an element
// ============================================================================

// ANCHOR: hll_murmur
/// MurmurHash2, 64-bit version (Austin Appleby's MurmurHash64A), as Redis
/// uses it: the input is read as little-endian 8-byte words on every
/// machine, so a HyperLogLog built on one architecture counts the same on
/// another.
pub fn murmurhash64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);

    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let mut k = u64::from_le_bytes(word.try_into().unwrap());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    // The last 1..7 bytes are folded in as one little-endian word.
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }

    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}
// ANCHOR_END: hll_murmur

// ANCHOR: hll_pattern
/// Which register `element` updates, and with what count (`hllPatLen`).
///
/// The low 14 bits of the hash are the register index. The count is the
/// position of the first 1 in the remaining 50 bits, counting from 1: a
/// hash whose bits 14.. read `...1` gives 1, `...100` gives 3. Bit 50 of
/// the shifted hash is forced to 1 so that the count stops at 51 even for
/// 50 zero bits.
///
/// Worked example: "a" hashes to `0x53d2470a9b43b1a7`. Its low 14 bits are
/// `0x31a7` = 12711; shifted right by 14 it ends in binary `...10`, one
/// zero and then a 1, so register 12711 gets count 2 (`PFDEBUG DECODE`
/// shows `Z:12711 v:2,1 Z:3672`).
pub fn hash_element(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, HASH_SEED);
    let index = (hash as usize) & (HLL_REGISTERS - 1);
    let rest = (hash >> HLL_P) | (1 << HLL_Q);
    let count = rest.trailing_zeros() as u8 + 1;
    (index, count)
}
// ANCHOR_END: hll_pattern

// ============================================================================
// The header
// ============================================================================

/// Is `value` a HyperLogLog as far as the commands are concerned
/// (`isHLLObjectOrReply`)? At least a header, the magic "HYLL", a known
/// encoding, and for dense the exact length. A sparse value's opcodes are
/// only checked when they are walked, so a broken one passes here and
/// fails later with [`ERR_CORRUPT`].
pub fn is_hll(value: &[u8]) -> bool {
    value.len() >= HDR_SIZE
        && &value[..4] == b"HYLL"
        && value[ENCODING_OFFSET] <= ENCODING_SPARSE
        && (value[ENCODING_OFFSET] != ENCODING_DENSE || value.len() == DENSE_SIZE)
}

/// The encoding byte: [`ENCODING_DENSE`] or [`ENCODING_SPARSE`].
pub fn encoding(hll: &[u8]) -> u8 {
    hll[ENCODING_OFFSET]
}

/// The cached cardinality, unless it is marked stale.
pub fn cached_cardinality(hll: &[u8]) -> Option<u64> {
    if hll[CARD_STALE_BYTE] & 0x80 != 0 {
        return None;
    }
    let card: [u8; 8] = hll[CARD_OFFSET..CARD_OFFSET + 8].try_into().unwrap();
    Some(u64::from_le_bytes(card))
}

/// Store a freshly computed cardinality. (Redis stores it as is; a value
/// with the top bit set, which only the estimator's overflow produces,
/// therefore reads back as stale.)
pub fn set_cached_cardinality(hll: &mut [u8], card: u64) {
    hll[CARD_OFFSET..CARD_OFFSET + 8].copy_from_slice(&card.to_le_bytes());
}

/// Mark the cached cardinality stale (`HLL_INVALIDATE_CACHE`). The other
/// seven bytes keep the old count: they are garbage now, but they are the
/// same garbage as in Redis.
pub fn invalidate_cache(hll: &mut [u8]) {
    hll[CARD_STALE_BYTE] |= 0x80;
}

/// A new, empty HyperLogLog (`createHLLObject`): sparse, its 16384 zero
/// registers one XZERO opcode, cached cardinality 0 and valid.
pub fn new_sparse() -> Sds {
    let mut bytes = [0u8; HDR_SIZE + 2];
    bytes[..4].copy_from_slice(b"HYLL");
    bytes[ENCODING_OFFSET] = ENCODING_SPARSE;
    SparseOp::XZero(HLL_REGISTERS).encode(&mut bytes[HDR_SIZE..]);
    Sds::new(&bytes)
}

// ============================================================================
// Dense registers
// ============================================================================

// ANCHOR: hll_dense_registers
/// Register `index` of a dense register array (the 12288 bytes after the
/// header).
///
/// Registers are packed from the least significant bit of each byte up, and
/// continue in the next byte:
///
/// ```text
///   byte 0    byte 1    byte 2
/// +--------+--------+--------+
/// |11000000|22221111|33333322|     digit = the register a bit belongs to
/// +--------+--------+--------+     (MSB on the left)
/// ```
///
/// Register `i` starts at bit `6i`: in byte `6i / 8`, at shift `6i % 8`,
/// which is always 0, 6, 4 or 2. At shift 0 or 2 the register fits in its
/// byte; at 6 or 4 its top bits are the low bits of the next byte. Reading
/// the two bytes as one little-endian 16-bit window and shifting handles
/// all four cases; the next byte is only touched when the register spills
/// into it, so the last register (shift 2) never reads past the array.
pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * HLL_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mut window = u16::from(registers[byte]);
    if shift > 8 - HLL_BITS {
        window |= u16::from(registers[byte + 1]) << 8;
    }
    ((window >> shift) as u8) & HLL_REGISTER_MAX
}

/// Set register `index` to `value` (at most 63), leaving its neighbours'
/// bits as they were.
pub fn dense_set(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * HLL_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let spills = shift > 8 - HLL_BITS;
    let mut window = u16::from(registers[byte]);
    if spills {
        window |= u16::from(registers[byte + 1]) << 8;
    }
    window &= !(u16::from(HLL_REGISTER_MAX) << shift);
    window |= u16::from(value & HLL_REGISTER_MAX) << shift;
    registers[byte] = window as u8;
    if spills {
        registers[byte + 1] = (window >> 8) as u8;
    }
}
// ANCHOR_END: hll_dense_registers

/// Raise register `index` to `count` if it is lower (`hllDenseSet`); true
/// if it changed.
pub fn dense_update(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_set(registers, index, count);
        true
    } else {
        false
    }
}

/// How many registers hold each value 0..=63 (`hllDenseRegHisto`): the
/// estimator needs only this histogram. Three bytes hold exactly four
/// registers, so the loop unpacks them four at a time with fixed shifts.
fn dense_histogram(registers: &[u8], histogram: &mut [u64; 64]) {
    for group in registers.chunks_exact(3) {
        let (b0, b1, b2) = (group[0] as usize, group[1] as usize, group[2] as usize);
        histogram[b0 & 63] += 1;
        histogram[(b0 >> 6 | b1 << 2) & 63] += 1;
        histogram[(b1 >> 4 | b2 << 4) & 63] += 1;
        histogram[b2 >> 2] += 1;
    }
}

// ============================================================================
// Sparse opcodes
// ============================================================================

// ANCHOR: hll_sparse_ops
/// One opcode of the sparse encoding. Most registers of a small HyperLogLog
/// are 0, so the sparse form stores runs:
///
/// ```text
/// ZERO   00xxxxxx           1..=64 zero registers       (len - 1 in x)
/// XZERO  01xxxxxx yyyyyyyy  1..=16384 zero registers    (len - 1 in x:y, big-endian)
/// VAL    1vvvvvxx           1..=4 registers of value 1..=32 (value - 1 in v, len - 1 in x)
/// ```
///
/// The opcodes of a valid value cover exactly 16384 registers, in order.
/// An empty HyperLogLog is a single `XZERO:16384` (two bytes); after adding
/// "a" it is `XZERO:12711 VAL:2,1 XZERO:3672`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseOp {
    Zero(usize),
    XZero(usize),
    Val { value: u8, run: usize },
}

impl SparseOp {
    /// The opcode at `at`, and its length in bytes. An XZERO cut off by the
    /// end of the value reads its second byte as 0, as Redis does (it reads
    /// the sds terminator).
    pub fn decode(bytes: &[u8], at: usize) -> (SparseOp, usize) {
        let b = bytes[at];
        match b & 0xc0 {
            0x00 => (SparseOp::Zero(usize::from(b & 0x3f) + 1), 1),
            0x40 => {
                let low = bytes.get(at + 1).copied().unwrap_or(0);
                let run = (usize::from(b & 0x3f) << 8 | usize::from(low)) + 1;
                (SparseOp::XZero(run), 2)
            }
            _ => (
                SparseOp::Val {
                    value: ((b >> 2) & 0x1f) + 1,
                    run: usize::from(b & 0x03) + 1,
                },
                1,
            ),
        }
    }

    /// Write the opcode at the start of `out`; returns its length in bytes.
    pub fn encode(self, out: &mut [u8]) -> usize {
        match self {
            SparseOp::Zero(run) => {
                out[0] = (run - 1) as u8;
                1
            }
            SparseOp::XZero(run) => {
                let n = run - 1;
                out[0] = 0x40 | (n >> 8) as u8;
                out[1] = n as u8;
                2
            }
            SparseOp::Val { value, run } => {
                out[0] = 0x80 | (value - 1) << 2 | (run - 1) as u8;
                1
            }
        }
    }

    /// How many registers the opcode covers.
    pub fn run(self) -> usize {
        match self {
            SparseOp::Zero(run) | SparseOp::XZero(run) | SparseOp::Val { run, .. } => run,
        }
    }

    /// The shortest opcode for `run` zero registers (at most 16384).
    fn zeros(run: usize) -> SparseOp {
        if run > SPARSE_ZERO_MAX_LEN {
            SparseOp::XZero(run)
        } else {
            SparseOp::Zero(run)
        }
    }
}
// ANCHOR_END: hll_sparse_ops

/// Walk the opcodes of a sparse value, calling `f(first_register, op)`.
/// Returns how many registers they covered.
fn for_each_op(hll: &[u8], mut f: impl FnMut(usize, SparseOp)) -> usize {
    let mut at = HDR_SIZE;
    let mut index = 0;
    while at < hll.len() {
        let (op, len) = SparseOp::decode(hll, at);
        f(index, op);
        index += op.run();
        at += len;
    }
    index
}

/// The sparse histogram (`hllSparseRegHisto`): runs are added whole. The
/// value is corrupt unless the runs add up to 16384 registers.
fn sparse_histogram(hll: &[u8], histogram: &mut [u64; 64]) -> Result<(), Corrupt> {
    let covered = for_each_op(hll, |_, op| match op {
        SparseOp::Zero(run) | SparseOp::XZero(run) => histogram[0] += run as u64,
        SparseOp::Val { value, run } => histogram[usize::from(value)] += run as u64,
    });
    if covered == HLL_REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Call `f(index, value)` for every register a sparse VAL opcode sets, as
/// `hllSparseToDense` and `hllMerge` do. A VAL run that would pass register
/// 16383 is corrupt at once (it must not be written out of bounds), and so
/// is a value whose opcodes do not cover exactly 16384 registers.
///
/// (Redis 7.0.15 as released stopped at such a VAL and then accepted the
/// value if it had covered 16384 registers so far; the fix for
/// CVE-2025-32023, which Debian's 7.0.15 carries, rejects it. We follow the
/// fixed behaviour, which is also the one that cannot be abused.)
fn for_each_sparse_register(hll: &[u8], mut f: impl FnMut(usize, u8)) -> Result<(), Corrupt> {
    let mut at = HDR_SIZE;
    let mut index = 0;
    while at < hll.len() {
        let (op, len) = SparseOp::decode(hll, at);
        if let SparseOp::Val { value, run } = op {
            if index + run > HLL_REGISTERS {
                return Err(Corrupt);
            }
            for i in index..index + run {
                f(i, value);
            }
        }
        index += op.run();
        at += len;
    }
    if index == HLL_REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Turn a sparse value dense, in place (`hllSparseToDense`). The header is
/// copied whole (magic, the unused bytes and the cached cardinality, stale
/// or not), then the encoding byte is changed. A dense value is left alone.
/// A corrupt sparse value is left as it was.
pub fn sparse_to_dense(hll: &mut Sds) -> Result<(), Corrupt> {
    if encoding(hll) == ENCODING_DENSE {
        return Ok(());
    }
    let mut dense = Sds::with_capacity(DENSE_SIZE);
    dense.grow_zeroed(DENSE_SIZE);
    let out = dense.as_bytes_mut();
    out[..HDR_SIZE].copy_from_slice(&hll[..HDR_SIZE]);
    out[ENCODING_OFFSET] = ENCODING_DENSE;
    let registers = &mut out[HDR_SIZE..];
    for_each_sparse_register(hll, |index, value| dense_set(registers, index, value))?;
    *hll = dense;
    Ok(())
}

// ANCHOR: hll_sparse_set
/// Raise register `index` of a sparse value to `count` if it is lower
/// (`hllSparseSet`); true if it changed. The value may turn dense on the
/// way. Every step below is Redis's, so that the bytes come out the same:
///
/// 1. A count above 32 cannot be a VAL: promote to dense and set it there.
/// 2. Find the opcode covering `index`, and the one before it (`prev`).
/// 3. Cheap cases, rewritten in place:
///    - a VAL already at least `count`: nothing to do, false;
///    - a VAL covering only this register, or a ZERO of length 1: becomes
///      `VAL:count,1`.
/// 4. Otherwise split the opcode around `index` into up to three: the part
///    before (same kind), `VAL:count,1`, the part after. The worst case is
///    an XZERO split in the middle, 2 bytes becoming 2 + 1 + 2. If that
///    makes the value longer than `sparse_max_bytes`, promote instead.
/// 5. Scan at most 5 opcodes from `prev` and merge neighbouring VALs of
///    equal value whose runs fit one opcode (at most 4), so
///    `VAL:3,1 VAL:3,1` becomes `VAL:3,2`.
/// 6. Mark the cached cardinality stale.
///
/// A value whose opcodes do not reach `index` is corrupt.
pub fn sparse_update(
    hll: &mut Sds,
    index: usize,
    count: u8,
    sparse_max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote_and_update(hll, index, count);
    }
    // Redis reserves the worst case's 3 extra bytes up front.
    hll.make_room_for(3);

    // Step 2: the opcode at `at` covers registers `first..first + run`.
    let (at, first, prev, op) = {
        let bytes = hll.as_bytes();
        let (mut at, mut first, mut prev) = (HDR_SIZE, 0, None);
        let mut found = None;
        while at < bytes.len() {
            let (op, len) = SparseOp::decode(bytes, at);
            if index < first + op.run() {
                found = Some(op);
                break;
            }
            prev = Some(at);
            at += len;
            first += op.run();
        }
        let Some(op) = found else {
            return Err(Corrupt);
        };
        (at, first, prev, op)
    };

    // Step 3: the cases that rewrite one byte.
    match op {
        SparseOp::Val { value, .. } if value >= count => return Ok(false),
        SparseOp::Val { run: 1, .. } | SparseOp::Zero(1) => {
            SparseOp::Val {
                value: count,
                run: 1,
            }
            .encode(&mut hll.as_bytes_mut()[at..]);
        }
        _ => {
            // Step 4: split.
            let last = first + op.run() - 1;
            let mut seq = [0u8; 5];
            let mut n = 0;
            let (before, after) = match op {
                SparseOp::Val { value, .. } => (
                    SparseOp::Val {
                        value,
                        run: index.wrapping_sub(first),
                    },
                    SparseOp::Val {
                        value,
                        run: last.wrapping_sub(index),
                    },
                ),
                _ => (
                    SparseOp::zeros(index.wrapping_sub(first)),
                    SparseOp::zeros(last.wrapping_sub(index)),
                ),
            };
            if index != first {
                n += before.encode(&mut seq[n..]);
            }
            n += SparseOp::Val {
                value: count,
                run: 1,
            }
            .encode(&mut seq[n..]);
            if index != last {
                n += after.encode(&mut seq[n..]);
            }
            let old_len = if matches!(op, SparseOp::XZero(_)) {
                2
            } else {
                1
            };
            if n > old_len && hll.len() + n - old_len > sparse_max_bytes {
                return promote_and_update(hll, index, count);
            }
            replace_bytes(hll, at, old_len, &seq[..n]);
        }
    }

    // Step 5: merge equal neighbouring VALs near the change.
    merge_adjacent_vals(hll, prev.unwrap_or(HDR_SIZE));

    // Step 6.
    invalidate_cache(hll.as_bytes_mut());
    Ok(true)
}
// ANCHOR_END: hll_sparse_set

/// Promotion: make the value dense, then set the register there. The
/// register is necessarily lower than `count` (a VAL holds at most 32, and
/// a split only happens for a register that must grow), so this always
/// changes something.
fn promote_and_update(hll: &mut Sds, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(hll)?;
    dense_update(&mut hll.as_bytes_mut()[HDR_SIZE..], index, count);
    Ok(true)
}

/// Replace the `old_len` bytes at `at` with `new`, moving the rest of the
/// value. The new length is always `len + new.len() - old_len`; for an XZERO
/// cut off by the end of the value that drops the last byte of `new`, which
/// is what Redis's arithmetic does too.
fn replace_bytes(hll: &mut Sds, at: usize, old_len: usize, new: &[u8]) {
    let len = hll.len();
    let new_len = len + new.len() - old_len;
    let tail = (at + old_len).min(len)..len;
    hll.grow_zeroed(new_len);
    let buf = hll.as_bytes_mut();
    if !tail.is_empty() {
        buf.copy_within(tail, at + new.len());
    }
    let fits = new.len().min(new_len - at);
    buf[at..at + fits].copy_from_slice(&new[..fits]);
    hll.truncate(new_len);
}

/// Step 5 of [`sparse_update`]: starting at `at`, look at up to 5 opcodes
/// and fold each pair of adjacent VALs with the same value into one when
/// their runs add up to at most 4. After a fold the same position is looked
/// at again (it may fold with the next one too), and that counts as one of
/// the 5.
fn merge_adjacent_vals(hll: &mut Sds, mut at: usize) {
    let mut end = hll.len();
    let buf = hll.as_bytes_mut();
    let mut budget = 5;
    while at < end && budget > 0 {
        budget -= 1;
        let (op, len) = SparseOp::decode(buf, at);
        let SparseOp::Val { value, run } = op else {
            at += len;
            continue;
        };
        if at + 1 < end {
            if let (SparseOp::Val { value: v2, run: r2 }, _) = SparseOp::decode(buf, at + 1) {
                if v2 == value && run + r2 <= SPARSE_VAL_MAX_LEN {
                    SparseOp::Val {
                        value,
                        run: run + r2,
                    }
                    .encode(&mut buf[at + 1..]);
                    buf.copy_within(at + 1..end, at);
                    end -= 1;
                    continue;
                }
            }
        }
        at += 1;
    }
    hll.truncate(end);
}

/// PFDEBUG DECODE's text for a sparse value: `Z:n` for XZERO, `z:n` for
/// ZERO, `v:value,run` for VAL, separated by spaces.
pub fn describe_sparse(hll: &[u8]) -> String {
    let mut out = String::new();
    for_each_op(hll, |_, op| {
        use std::fmt::Write;
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = match op {
            SparseOp::Zero(run) => write!(out, "z:{run}"),
            SparseOp::XZero(run) => write!(out, "Z:{run}"),
            SparseOp::Val { value, run } => write!(out, "v:{value},{run}"),
        };
    });
    out
}

// ============================================================================
// Adding, counting, merging
// ============================================================================

/// Add one element (`hllAdd`): true if a register grew. `hll` must have
/// passed [`is_hll`].
pub fn add(hll: &mut Sds, element: &[u8], sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = hash_element(element);
    match encoding(hll) {
        ENCODING_DENSE => Ok(dense_update(
            &mut hll.as_bytes_mut()[HDR_SIZE..],
            index,
            count,
        )),
        ENCODING_SPARSE => sparse_update(hll, index, count, sparse_max_bytes),
        _ => Err(Corrupt),
    }
}

/// The register histogram of a dense or sparse value.
pub fn histogram(hll: &[u8]) -> Result<[u64; 64], Corrupt> {
    let mut histogram = [0u64; 64];
    if encoding(hll) == ENCODING_DENSE {
        dense_histogram(&hll[HDR_SIZE..], &mut histogram);
    } else {
        sparse_histogram(hll, &mut histogram)?;
    }
    Ok(histogram)
}

/// The histogram of one byte per register, as PFCOUNT of several keys and
/// PFMERGE build them (`hllRawRegHisto`).
pub fn raw_histogram(registers: &[u8; HLL_REGISTERS]) -> [u64; 64] {
    let mut histogram = [0u64; 64];
    for &r in registers {
        histogram[usize::from(r & 63)] += 1;
    }
    histogram
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) · 2^(k-1), summed until adding a term
/// no longer changes the total. Infinite at x = 1 (every register zero).
fn sigma(x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut x, mut y, mut z) = (x, 1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² · 2^-k) / 3, summed until
/// it stops changing; 0 at x = 0 and x = 1.
fn tau(x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut x, mut y, mut z) = (x, 1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

// ANCHOR: hll_estimate
/// The cardinality estimate from the register histogram (`hllCount`),
/// Ertl's improved estimator, which Redis uses since 5.0 in place of the
/// original HyperLogLog formula and its bias-correction tables.
///
/// With `m` = 16384 registers and `C[k]` the number of registers equal to
/// `k`, the estimate is `α∞ · m² / z` where
///
/// ```text
/// z = m·τ(1 - C[51]/m) + Σ_{k=1..50} C[k]·2^-k  (nested as Horner's rule)
///   + m·σ(C[0]/m)
/// ```
///
/// σ corrects for registers still at 0 (it takes over from linear counting
/// at small cardinalities) and τ for registers at the maximum count 51
/// (hash exhausted; irrelevant below ~2^60 elements). Values above 51 never
/// come from PFADD and are ignored, as in Redis.
///
/// The last line copies C's arithmetic, including its undefined corner:
/// `llroundl` of a quotient too big for an i64 (z near 0, which only
/// hand-made registers produce) gives `i64::MIN`, and converting that back
/// through a double to u64 gives 2^63. Redis then replies
/// -9223372036854775808, and so do we.
pub fn estimate(histogram: &[u64; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let q = HLL_Q as usize;
    let mut z = m * tau((m - histogram[q + 1] as f64) / m);
    for k in (1..=q).rev() {
        z += histogram[k] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    // 2^63, the first value outside i64.
    if (0.0..9_223_372_036_854_775_808.0).contains(&e) {
        e as u64
    } else {
        1 << 63
    }
}
// ANCHOR_END: hll_estimate

/// Count a dense or sparse value from its registers (ignoring the cache).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(hll)?))
}

/// Fold `hll` into `max`, one byte per register: `max[i] = max(max[i],
/// register i)` (`hllMerge`). `hll` must have passed [`is_hll`].
pub fn merge_into(max: &mut [u8; HLL_REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    if encoding(hll) == ENCODING_DENSE {
        let registers = &hll[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(registers, i));
        }
        Ok(())
    } else {
        for_each_sparse_register(hll, |i, value| max[i] = max[i].max(value))
    }
}

// ============================================================================
// PFSELFTEST
// ============================================================================

/// How many times the register test rewrites all 16384 registers.
const SELF_TEST_REGISTER_ROUNDS: usize = 1000;
/// How many elements the accuracy test adds.
const SELF_TEST_ELEMENTS: u64 = 10_000_000;

/// PFSELFTEST's checks (`pfselftestCommand`), with Redis's failure texts:
///
/// 1. Register packing: 1000 times, set all 16384 dense registers to random
///    values and read each back; a wrong value means a neighbour's bits
///    leaked in.
/// 2. Accuracy: add 10 million distinct 8-byte elements to a dense and a
///    sparse HyperLogLog at once. At 1, 10, 100, ... elements, the sparse
///    one must still be sparse while the count is below half of
///    `sparse_max_bytes`, both must give the same count, and the error must
///    be within 6 standard errors (1.04/√m), except at 10 where it must be
///    at most 1.
pub fn self_test(rng: &mut impl rand::Rng, sparse_max_bytes: usize) -> Result<(), String> {
    self_test_with(
        rng,
        sparse_max_bytes,
        SELF_TEST_REGISTER_ROUNDS,
        SELF_TEST_ELEMENTS,
    )
}

fn self_test_with(
    rng: &mut impl rand::Rng,
    sparse_max_bytes: usize,
    register_rounds: usize,
    elements: u64,
) -> Result<(), String> {
    let mut dense = Sds::with_capacity(DENSE_SIZE);
    dense.grow_zeroed(DENSE_SIZE);
    let mut expected = [0u8; HLL_REGISTERS];
    for _ in 0..register_rounds {
        let registers = &mut dense.as_bytes_mut()[HDR_SIZE..];
        for (i, e) in expected.iter_mut().enumerate() {
            *e = rng.gen::<u8>() & HLL_REGISTER_MAX;
            dense_set(registers, i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = dense_get(registers, i);
            if got != e {
                return Err(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                ));
            }
        }
    }

    dense.as_bytes_mut()[HDR_SIZE..].fill(0);
    let mut sparse = new_sparse();
    let relative_error = 1.04 / (HLL_REGISTERS as f64).sqrt();
    let seed: u64 = rng.gen();
    let mut checkpoint = 1;
    for j in 1..=elements {
        let element = (j ^ seed).to_le_bytes();
        let (index, run) = hash_element(&element);
        dense_update(&mut dense.as_bytes_mut()[HDR_SIZE..], index, run);
        add(&mut sparse, &element, sparse_max_bytes).map_err(|_| ERR_CORRUPT.to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max_bytes / 2) as u64 && encoding(&sparse) != ENCODING_SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let dense_count = count(&dense).map_err(|_| ERR_CORRUPT.to_string())?;
        if count(&sparse) != Ok(dense_count) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abs_error = checkpoint.abs_diff(dense_count);
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abs_error > max_error {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abs_error}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

// ============================================================================
// Tests
// ============================================================================

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed with Redis 7.0's own C function (seed 0xadc83b19).
    #[test]
    fn murmurhash64a_matches_redis_vectors() {
        let vectors: [(&[u8], u64); 7] = [
            (b"", 0xd8df_ea65_85bc_9732),
            (b"a", 0x53d2_470a_9b43_b1a7),
            (b"hello", 0x0f65_6f01_eecf_e400),
            (b"01234567", 0x4f52_9b65_1cb0_8252),
            (b"0123456789abcdef0", 0xca18_02fd_45a1_ff6c),
            (
                b"The quick brown fox jumps over the lazy dog",
                0x5160_6c5c_5b56_1ace,
            ),
            (
                &[0xff, 0x80, 0x00, 0x7f, 0xfe, 0x01, 0x02, 0x03, 0x9c],
                0x0185_69a4_7266_ec44,
            ),
        ];
        for (input, expected) in vectors {
            assert_eq!(murmurhash64a(input, HASH_SEED), expected, "{input:?}");
        }
        assert_eq!(murmurhash64a(b"hello", 0), 0x1e68_d17c_457b_f117);
    }

    #[test]
    fn hash_element_picks_register_and_count_as_redis() {
        // Redis: PFADD x a; PFDEBUG DECODE x -> "Z:12711 v:2,1 Z:3672".
        assert_eq!(hash_element(b"a"), (12711, 2));
    }

    #[test]
    fn count_is_capped_at_q_plus_one() {
        // Whatever the hash, the count is between 1 and 51.
        for i in 0..100_000u32 {
            let (index, count) = hash_element(&i.to_le_bytes());
            assert!(index < HLL_REGISTERS);
            assert!((1..=51).contains(&count));
        }
    }

    #[test]
    fn dense_layout_is_lsb_first_across_bytes() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        dense_set(&mut regs, 0, 0b111111);
        assert_eq!(&regs[..3], &[0b0011_1111, 0, 0]);
        dense_set(&mut regs, 1, 0b101101);
        // Register 1: its low 2 bits in byte 0's top, its high 4 in byte 1.
        assert_eq!(&regs[..3], &[0b0111_1111, 0b0000_1011, 0]);
        dense_set(&mut regs, 2, 0b110011);
        assert_eq!(&regs[..3], &[0b0111_1111, 0b0011_1011, 0b0000_0011]);
        dense_set(&mut regs, 3, 0b100001);
        assert_eq!(&regs[..3], &[0b0111_1111, 0b0011_1011, 0b1000_0111]);
        assert_eq!(
            (0..4).map(|i| dense_get(&regs, i)).collect::<Vec<_>>(),
            vec![0b111111, 0b101101, 0b110011, 0b100001]
        );
        // The last register lives in the top 6 bits of the last byte.
        dense_set(&mut regs, HLL_REGISTERS - 1, 63);
        assert_eq!(regs[regs.len() - 1], 0b1111_1100);
        assert_eq!(dense_get(&regs, HLL_REGISTERS - 1), 63);
        assert_eq!(dense_get(&regs, HLL_REGISTERS - 2), 0);
    }

    #[test]
    fn dense_registers_round_trip_without_touching_neighbours() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        let mut model = vec![0u8; HLL_REGISTERS];
        for _ in 0..50_000 {
            let i = rng.gen_range(0..HLL_REGISTERS);
            let v = rng.gen_range(0..64);
            dense_set(&mut regs, i, v);
            model[i] = v;
        }
        for (i, &v) in model.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), v, "register {i}");
        }
        let mut histogram = [0u64; 64];
        dense_histogram(&regs, &mut histogram);
        let mut expected = [0u64; 64];
        for &v in &model {
            expected[usize::from(v)] += 1;
        }
        assert_eq!(histogram, expected);
    }

    #[test]
    fn sparse_opcodes_encode_and_decode() {
        let cases = [
            (SparseOp::Zero(1), vec![0x00]),
            (SparseOp::Zero(64), vec![0x3f]),
            (SparseOp::XZero(65), vec![0x40, 0x40]),
            (SparseOp::XZero(16384), vec![0x7f, 0xff]),
            (SparseOp::Val { value: 1, run: 1 }, vec![0x80]),
            (SparseOp::Val { value: 32, run: 4 }, vec![0xff]),
            (SparseOp::Val { value: 2, run: 3 }, vec![0b1000_0110]),
        ];
        for (op, bytes) in cases {
            let mut out = [0u8; 2];
            let n = op.encode(&mut out);
            assert_eq!(&out[..n], &bytes[..], "{op:?}");
            assert_eq!(SparseOp::decode(&bytes, 0), (op, bytes.len()));
        }
        // A cut-off XZERO reads its missing byte as 0.
        assert_eq!(SparseOp::decode(&[0x41], 0), (SparseOp::XZero(257), 2));
    }

    #[test]
    fn new_hll_is_one_xzero_with_a_valid_zero_cache() {
        let hll = new_sparse();
        assert_eq!(
            hll.as_bytes(),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        );
        assert!(is_hll(&hll));
        assert_eq!(cached_cardinality(&hll), Some(0));
        assert_eq!(count(&hll), Ok(0));
        assert_eq!(describe_sparse(&hll), "Z:16384");
    }

    #[test]
    fn sparse_update_splits_and_merges_like_redis() {
        let mut hll = new_sparse();
        assert_eq!(sparse_update(&mut hll, 100, 3, 3000), Ok(true));
        assert_eq!(describe_sparse(&hll), "Z:100 v:3,1 Z:16283");
        assert_eq!(cached_cardinality(&hll), None);
        // Lower or equal: no change.
        assert_eq!(sparse_update(&mut hll, 100, 3, 3000), Ok(false));
        assert_eq!(sparse_update(&mut hll, 100, 2, 3000), Ok(false));
        // A neighbour with the same value merges into one VAL.
        assert_eq!(sparse_update(&mut hll, 101, 3, 3000), Ok(true));
        assert_eq!(describe_sparse(&hll), "Z:100 v:3,2 Z:16282");
        // Short zero runs use one-byte ZERO opcodes.
        assert_eq!(sparse_update(&mut hll, 105, 1, 3000), Ok(true));
        assert_eq!(describe_sparse(&hll), "Z:100 v:3,2 z:3 v:1,1 Z:16278");
        // Raising the middle of a VAL run splits it in three.
        assert_eq!(sparse_update(&mut hll, 101, 5, 3000), Ok(true));
        assert_eq!(sparse_update(&mut hll, 102, 3, 3000), Ok(true));
        assert_eq!(
            describe_sparse(&hll),
            "Z:100 v:3,1 v:5,1 v:3,1 z:2 v:1,1 Z:16278"
        );
        assert_eq!(hll.len(), HDR_SIZE + 9);
        let mut max = [0u8; HLL_REGISTERS];
        merge_into(&mut max, &hll).unwrap();
        assert_eq!(&max[99..107], &[0, 3, 5, 3, 0, 0, 1, 0]);
    }

    #[test]
    fn sparse_promotes_on_big_counts_and_on_size() {
        let mut hll = new_sparse();
        assert_eq!(sparse_update(&mut hll, 7, 33, 3000), Ok(true));
        assert_eq!(encoding(&hll), ENCODING_DENSE);
        assert_eq!(hll.len(), DENSE_SIZE);
        assert_eq!(dense_get(&hll[HDR_SIZE..], 7), 33);

        // With a 30-byte limit the third isolated register does not fit.
        let mut hll = new_sparse();
        assert_eq!(sparse_update(&mut hll, 1000, 1, 30), Ok(true)); // 18 -> 21
        assert_eq!(sparse_update(&mut hll, 2000, 1, 30), Ok(true)); // 21 -> 24
        assert_eq!(encoding(&hll), ENCODING_SPARSE);
        assert_eq!(sparse_update(&mut hll, 3000, 1, 26), Ok(true)); // 27 > 26
        assert_eq!(encoding(&hll), ENCODING_DENSE);
        let regs = &hll[HDR_SIZE..];
        assert_eq!(
            (
                dense_get(regs, 1000),
                dense_get(regs, 2000),
                dense_get(regs, 3000)
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn sparse_and_dense_agree_on_every_count() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        sparse_to_dense(&mut dense).unwrap();
        for i in 0..3000u32 {
            let e = i.to_string();
            let a = add(&mut sparse, e.as_bytes(), 1_000_000).unwrap();
            let b = add(&mut dense, e.as_bytes(), 1_000_000).unwrap();
            assert_eq!(a, b, "element {i}");
        }
        assert_eq!(encoding(&sparse), ENCODING_SPARSE);
        assert_eq!(count(&sparse), count(&dense));
        let mut converted = sparse.clone();
        sparse_to_dense(&mut converted).unwrap();
        // Same registers (the headers differ: only the sparse update marks
        // the cache stale; PFADD does it for the dense one).
        assert!(converted[HDR_SIZE..] == dense[HDR_SIZE..]);
    }

    #[test]
    fn corrupt_sparse_values_are_detected() {
        let mut short = new_sparse();
        short.truncate(HDR_SIZE);
        assert_eq!(count(&short), Err(Corrupt));
        assert_eq!(sparse_update(&mut short, 3, 1, 3000), Err(Corrupt));
        let mut long = new_sparse();
        long.push_bytes(&[0x00]);
        assert_eq!(count(&long), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut long), Err(Corrupt));
        assert_eq!(encoding(&long), ENCODING_SPARSE);
        // 16384 zeros then one VAL too many: corrupt when merged or
        // converted (as the CVE-2025-32023 fix decides), though PFCOUNT's
        // histogram also rejects it by its total.
        let mut past_end = new_sparse();
        past_end.push_bytes(&[0x80]);
        let mut max = [0u8; HLL_REGISTERS];
        assert_eq!(merge_into(&mut max, &past_end), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut past_end), Err(Corrupt));
        assert_eq!(count(&past_end), Err(Corrupt));
    }

    #[test]
    fn estimator_edges() {
        let mut h = [0u64; 64];
        h[0] = HLL_REGISTERS as u64;
        assert_eq!(estimate(&h), 0);
        // Every register at 51 (or at an impossible 63): Redis's overflow.
        let mut h = [0u64; 64];
        h[51] = HLL_REGISTERS as u64;
        assert_eq!(estimate(&h), 1 << 63);
        // Half the registers at 51, the rest 0: Redis 7.0.15 says 13268.
        let mut h = [0u64; 64];
        h[51] = 8192;
        h[0] = 8192;
        assert_eq!(estimate(&h), 13268);
    }

    #[test]
    fn small_self_test_passes() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        assert_eq!(self_test_with(&mut rng, 3000, 3, 100_000), Ok(()));
    }
}
