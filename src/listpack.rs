//! # listpack: many small values in one allocation
//!
//! A hash with three fields, a list of ten short strings, a small sorted set:
//! Redis keeps all of these as a **listpack**, one contiguous block of bytes
//! holding the values back to back. This module is Redis 7.0's
//! `src/listpack.c` (Salvatore Sanfilippo's design, which replaced the older
//! ziplist in 7.0), rewritten in Rust to be read.
//!
//! ## The idea
//!
//! A `Vec<Vec<u8>>` of ten 5-byte strings costs ten heap allocations, each
//! with a 24-byte `Vec` header and allocator overhead: roughly 400 bytes to
//! store 50. A listpack stores the same ten strings in 77 bytes: each value
//! carries a 1-byte header saying what it is and a 1-byte trailer saying how
//! long it was, and integers are stored as integers (`"1024"` takes 3 bytes,
//! not 4 plus a header). The price is that the block is *one* allocation:
//! inserting in the middle moves every byte after it. That is why Redis uses
//! listpacks only while they are small (`hash-max-listpack-entries 128`,
//! `list-max-listpack-size -2` = 8 KiB, ...) and converts to a real hash
//! table or splits the list when they grow.
//!
//! ## The layout
//!
//! ```text
//!   +-------------+--------------+---------+---------+-----+---------+------+
//!   | total_bytes | num_elements | entry 0 | entry 1 | ... | entry N | 0xFF |
//!   |   u32 LE    |    u16 LE    |         |         |     |         | EOF  |
//!   +-------------+--------------+---------+---------+-----+---------+------+
//!    \______ 6-byte header _____/
//!
//!   each entry:  [ encoding byte(s) + data ][ backlen ]
//! ```
//!
//! * `total_bytes` counts everything, header and EOF included, so an empty
//!   listpack is 7 bytes: `07 00 00 00 00 00 ff`.
//! * `num_elements` saturates: at 65535 or more elements it holds 65535
//!   (`LP_HDR_NUMELE_UNKNOWN`) and the true count must be found by walking.
//! * The **backlen** at the end of each entry is the length of that entry's
//!   `encoding + data` part. It is what makes the listpack walkable
//!   backwards: from the start of entry *k*, the byte before it is the last
//!   byte of entry *k-1*'s backlen.
//!
//! ## The encodings
//!
//! The first byte of an entry says what follows. A string that is a
//! *canonical* decimal integer (see [`string_to_int64`]) is always stored as
//! an integer, in the smallest form that holds it:
//!
//! | first byte  | meaning                    | entry size without backlen |
//! |-------------|----------------------------|----------------------------|
//! | `0xxxxxxx`  | uint 0..=127 in the 7 bits | 1                          |
//! | `10LLLLLL`  | string, len 0..=63         | 1 + len                    |
//! | `110xxxxx`  | int -4096..=4095 (13 bits) | 2                          |
//! | `1110LLLL`  | string, len 0..=4095       | 2 + len                    |
//! | `11110000`  | string, u32 LE length      | 5 + len                    |
//! | `11110001`  | i16 LE                     | 3                          |
//! | `11110010`  | i24 LE                     | 4                          |
//! | `11110011`  | i32 LE                     | 5                          |
//! | `11110100`  | i64 LE                     | 9                          |
//! | `11111111`  | EOF (not an entry)         | 1                          |
//!
//! Bytes `0xF5..=0xFE` are unused, and a listpack containing one is corrupt.
//! Negative integers are stored in two's complement of their width: -1 in 13
//! bits is `0x1FFF`, written `df ff` (`0xC0 | 0x1F`, then `0xFF`).
//!
//! ## The backlen
//!
//! The backlen is read **backwards**, from the entry's last byte towards its
//! first, 7 bits at a time. The last byte holds the lowest 7 bits; a set top
//! bit (128) means "there is another byte to the left". Its size is:
//!
//! | entry length `l` (encoding + data) | backlen bytes |
//! |------------------------------------|---------------|
//! | 0 ..= 127                          | 1             |
//! | 128 ..= 16382                      | 2             |
//! | 16383 ..= 2097150                  | 3             |
//! | 2097151 ..= 268435454              | 4             |
//! | larger                             | 5             |
//!
//! The boundaries are Redis's exactly, including a quirk: 16383 fits in 14
//! bits but gets 3 bytes, because `lpEncodeBacklen` tests `l < 16383`, not
//! `l <= 16383` (and likewise for the 3- and 4-byte limits). The quirk is part
//! of the format now: every entry's size is computed from its length, so we
//! must agree with Redis on it or we would walk to the wrong byte.
//!
//! ## Worked example
//!
//! `RPUSH l a 1 1024` on a real Redis 7.0 gives this node (from `DUMP l`):
//!
//! ```text
//!   0f 00 00 00   total_bytes = 15
//!   03 00         num_elements = 3
//!   81 61 | 02    "a": 6-bit string (0x80 | len 1), 'a'; backlen 2
//!   01    | 01    1: 7-bit uint; backlen 1
//!   c4 00 | 02    1024: 13-bit int, 0xC0 | (1024 >> 8), 1024 & 0xff; backlen 2
//!   ff            EOF
//! ```
//!
//! Walking backwards from EOF (offset 14): the byte before it, `02`, has its
//! top bit clear, so it is the whole backlen: the last entry is 2 bytes plus
//! 1 of backlen, and starts at 14 - 3 = 11.
//!
//! ## Positions
//!
//! Like Redis's `unsigned char *p`, a position ([`LpPos`]) is the byte offset
//! of an entry's first byte inside [`Listpack::as_bytes`]. Positions are
//! invalidated by any change to the listpack (the bytes after the change
//! move). Methods that change the listpack return the position the caller
//! needs next, as Redis's `newp` out-parameters do. Passing a position that
//! did not come from this listpack's current state panics (Redis: an
//! `assert`) or returns a wrong entry; it can never read outside the buffer.
//!
//! ## What we simplified
//!
//! * The buffer is a `Vec<u8>`; inserts grow it with `reserve_exact`, the
//!   counterpart of Redis's `lp_realloc` to the exact size, and deletes
//!   leave the spare capacity in place (Redis shrinks on delete). The bytes
//!   (what RDB stores) are identical; only the spare capacity differs.
//!   [`Listpack::shrink_to_fit`] is `lpShrinkToFit`.
//! * `lpLength` writes the walked count back into the header once it drops
//!   below 65535. Our [`Listpack::len`] takes `&self` and only walks;
//!   both headers are valid listpacks, since 65535 means "count by walking".
//! * Redis passes integers and strings through one `lpInsert` with flags; we
//!   build an [`EncodedEntry`] first (on the stack) and then splice it in.
//! * Not ported: `lpRandomPair(s)` (for HRANDFIELD: the command module can
//!   pick positions with `seek`), the string-form `intbuf` of `lpGet`
//!   (use [`LpValue::to_vec`]), and `lpRepr`.

/// Bytes before the first entry: `total_bytes` (4) and `num_elements` (2).
pub const HEADER_SIZE: usize = 6;

/// The byte that ends every listpack.
pub const EOF: u8 = 0xFF;

/// `num_elements` value meaning "65535 or more: walk to count".
pub const NUM_ELEMENTS_UNKNOWN: u16 = u16::MAX;

/// No listpack may grow past 1 GiB (`LISTPACK_MAX_SAFETY_SIZE`), well below
/// the 4 GiB that `total_bytes` could describe, so no size arithmetic can
/// overflow. Callers ask [`safe_to_add`] before inserting.
pub const MAX_SAFETY_SIZE: usize = 1 << 30;

/// The byte offset of an entry's first byte. See "Positions" above.
pub type LpPos = usize;

// Encoding bytes and masks (listpack.c's LP_ENCODING_* macros).
const ENC_7BIT_UINT_MASK: u8 = 0x80; // 0xxxxxxx
const ENC_6BIT_STR: u8 = 0x80; // 10xxxxxx
const ENC_6BIT_STR_MASK: u8 = 0xC0;
const ENC_13BIT_INT: u8 = 0xC0; // 110xxxxx
const ENC_13BIT_INT_MASK: u8 = 0xE0;
const ENC_12BIT_STR: u8 = 0xE0; // 1110xxxx
const ENC_12BIT_STR_MASK: u8 = 0xF0;
const ENC_32BIT_STR: u8 = 0xF0;
const ENC_16BIT_INT: u8 = 0xF1;
const ENC_24BIT_INT: u8 = 0xF2;
const ENC_32BIT_INT: u8 = 0xF3;
const ENC_64BIT_INT: u8 = 0xF4;

/// The longest decimal form of an i64 is `-9223372036854775808`, 20 bytes.
/// Anything of 21 bytes or more cannot be a canonical integer
/// (Redis: `LONG_STR_SIZE` = 21).
const MAX_INT_STRING_LEN: usize = 20;

/// Can the listpack `lp` (or a new one, if `None`) grow by `add` bytes and
/// stay within [`MAX_SAFETY_SIZE`]? Redis: `lpSafeToAdd`. The hash and list
/// commands ask this before inserting a big value and convert the key to a
/// hash table or a new node instead when the answer is no.
pub fn safe_to_add(lp: Option<&Listpack>, add: usize) -> bool {
    let len = lp.map_or(0, |lp| lp.bytes_len());
    len.saturating_add(add) <= MAX_SAFETY_SIZE
}

/// Parses `s` as an i64 only if it is the number's one canonical decimal
/// spelling, so that printing the number gives back exactly `s`. Redis:
/// `lpStringToInt64` (a copy of `string2ll` from `util.c`).
///
/// Accepted: `"0"`, `"-1"`, `"1024"`, `"9223372036854775807"`,
/// `"-9223372036854775808"`.
/// Refused (stored as strings): `""`, `"-"`, `"-0"`, `"007"`, `"+1"`, `" 1"`,
/// `"1 "`, `"1.0"`, `"9223372036854775808"` (overflow), anything over 20 bytes.
///
/// This strictness is what lets a listpack store `"1024"` as a 3-byte integer
/// and still return the client's exact bytes: only strings that survive the
/// round trip string -> integer -> string are converted.
pub fn string_to_int64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > MAX_INT_STRING_LEN {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    // The first digit must be 1-9: this refuses "", "-", "-0" and "007".
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// One decoded entry, borrowed from the listpack.
///
/// Redis's `lpGet` returns either a pointer to string bytes or an integer in
/// an out-parameter; this enum is the Rust spelling of that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpValue<'a> {
    /// The entry was stored with an integer encoding. The client sent the
    /// canonical decimal form of this number.
    Int(i64),
    /// The entry was stored as string bytes, borrowed from the listpack.
    Str(&'a [u8]),
}

impl LpValue<'_> {
    /// The bytes the client originally sent: an integer is printed back in
    /// decimal, which is exact because only canonical integers are stored as
    /// integers.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            LpValue::Int(v) => v.to_string().into_bytes(),
            LpValue::Str(s) => s.to_vec(),
        }
    }

    /// The value as an integer, if it is one: an `Int` entry, or a `Str`
    /// entry that is a canonical integer (which Redis itself never writes,
    /// but a listpack from elsewhere may contain).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            LpValue::Int(v) => Some(v),
            LpValue::Str(s) => string_to_int64(s),
        }
    }

    /// Does this entry hold exactly the bytes `s`? Redis: `lpCompare`. For an
    /// integer entry we parse `s` instead of printing the integer, which is
    /// cheaper and gives the same answer (canonical forms are unique).
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match *self {
            LpValue::Str(v) => v == s,
            LpValue::Int(v) => string_to_int64(s) == Some(v),
        }
    }

    /// The length in bytes of [`to_vec`](Self::to_vec), without allocating.
    pub fn byte_len(&self) -> usize {
        match *self {
            LpValue::Str(s) => s.len(),
            LpValue::Int(v) => {
                let mut n = if v < 0 { 2 } else { 1 };
                let mut m = v.unsigned_abs();
                while m >= 10 {
                    m /= 10;
                    n += 1;
                }
                n
            }
        }
    }
}

// ANCHOR: backlen
/// How many bytes the backlen of an entry of `l` bytes (encoding + data)
/// takes. Redis: `lpEncodeBacklen(NULL, l)`. Note the strict `<` from 2
/// bytes on (see "The backlen" above): 16382 takes 2 bytes, 16383 takes 3.
pub fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// The backlen of an entry of `l` bytes, in a small array with its length
/// (1 to 5 bytes used). The most significant 7-bit group comes first in
/// memory and is the only byte with the top bit clear, because the reader
/// starts from the last byte:
///
/// ```text
///   l = 200 = 0b1_1001000     2 bytes:  [0000001] [1|1001000]  = 01 c8
///   reading backwards: c8 -> low 7 bits 0x48, top bit set, go on;
///                      01 -> 0x01 << 7, top bit clear, stop: 0x48 + 128 = 200
/// ```
fn encode_backlen(l: usize) -> ([u8; 5], usize) {
    let n = backlen_size(l);
    let mut out = [0u8; 5];
    for (slot, i) in out.iter_mut().zip((0..n).rev()) {
        let group = ((l >> (7 * i)) & 127) as u8;
        // Every byte but the first in memory (the last one read) has the
        // continuation bit.
        *slot = if i == n - 1 { group } else { group | 128 };
    }
    (out, n)
}

/// Reads a backlen that ends at `buf[last]`, walking left. Returns the value
/// and how many bytes it used, or `None` if it would need more than 5 bytes
/// or run off the start of `buf`. Redis: `lpDecodeBacklen`.
fn decode_backlen(buf: &[u8], last: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for used in 0..5 {
        let byte = buf[last.checked_sub(used)?];
        value |= usize::from(byte & 127) << (7 * used);
        if byte & 128 == 0 {
            return Some((value, used + 1));
        }
    }
    None
}
// ANCHOR_END: backlen

// ANCHOR: encode_entry
/// One entry, encoded but not yet placed: the encoding header (for an
/// integer entry, header and data together), the string bytes borrowed from
/// the caller, and the backlen. The two small arrays live on the stack, so
/// encoding allocates nothing and copies no string bytes; [`Listpack`]'s
/// insert writes the three pieces straight into the gap it opened.
#[derive(Debug, Clone, Copy)]
pub struct EncodedEntry<'a> {
    /// Encoding byte(s): 1, 2 or 5 for strings; for integers the encoding
    /// byte followed by the value's little-endian bytes (1 to 9 in all).
    head: [u8; 9],
    head_len: usize,
    /// The string's bytes (empty for an integer entry).
    data: &'a [u8],
    /// The backlen of `head + data`, 1 to 5 bytes.
    backlen: [u8; 5],
    backlen_len: usize,
}

impl<'a> EncodedEntry<'a> {
    /// The entry for `ele`. Canonical integers become integer entries;
    /// anything else a string entry of the smallest string encoding.
    /// Redis: `lpEncodeGetType` + `lpEncodeString` + `lpEncodeBacklen`.
    ///
    /// Panics if `ele` is 4 GiB or more: the 32-bit string length could not
    /// describe it. Callers keep far below that with [`safe_to_add`].
    pub fn of_str(ele: &'a [u8]) -> EncodedEntry<'a> {
        if let Some(v) = string_to_int64(ele) {
            return EncodedEntry::of_int(v);
        }
        let len = ele.len();
        let mut head = [0u8; 9];
        let head_len = if len < 64 {
            head[0] = ENC_6BIT_STR | len as u8;
            1
        } else if len < 4096 {
            head[0] = ENC_12BIT_STR | (len >> 8) as u8;
            head[1] = len as u8;
            2
        } else {
            let len32 = u32::try_from(len).expect("listpack string longer than u32::MAX");
            head[0] = ENC_32BIT_STR;
            head[1..5].copy_from_slice(&len32.to_le_bytes());
            5
        };
        let (backlen, backlen_len) = encode_backlen(head_len + len);
        EncodedEntry {
            head,
            head_len,
            data: ele,
            backlen,
            backlen_len,
        }
    }

    /// The entry for the integer `v`, in the narrowest integer encoding
    /// that holds it. Redis: `lpEncodeIntegerGetType`.
    ///
    /// ```text
    ///   0..=127                  1 byte  : v
    ///   -4096..=4095             2 bytes : 0xC0 | hi5, lo8     (13-bit two's complement)
    ///   -32768..=32767           3 bytes : 0xF1, i16 LE
    ///   -8388608..=8388607       4 bytes : 0xF2, i24 LE
    ///   i32                      5 bytes : 0xF3, i32 LE
    ///   i64                      9 bytes : 0xF4, i64 LE
    /// ```
    pub fn of_int(v: i64) -> EncodedEntry<'static> {
        let mut head = [0u8; 9];
        let head_len = if (0..=127).contains(&v) {
            head[0] = v as u8;
            1
        } else if (-4096..=4095).contains(&v) {
            // Two's complement in 13 bits: adding 2^13 to a negative value
            // gives the same bit pattern (-1 -> 8191 = 0x1FFF).
            let u = if v < 0 { (1 << 13) + v } else { v } as u16;
            head[0] = ENC_13BIT_INT | (u >> 8) as u8;
            head[1] = u as u8;
            2
        } else if (-32768..=32767).contains(&v) {
            head[0] = ENC_16BIT_INT;
            head[1..3].copy_from_slice(&(v as i16).to_le_bytes());
            3
        } else if (-8_388_608..=8_388_607).contains(&v) {
            head[0] = ENC_24BIT_INT;
            head[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
            4
        } else if let Ok(v32) = i32::try_from(v) {
            head[0] = ENC_32BIT_INT;
            head[1..5].copy_from_slice(&v32.to_le_bytes());
            5
        } else {
            head[0] = ENC_64BIT_INT;
            head[1..9].copy_from_slice(&v.to_le_bytes());
            9
        };
        let (backlen, backlen_len) = encode_backlen(head_len);
        EncodedEntry {
            head,
            head_len,
            data: &[],
            backlen,
            backlen_len,
        }
    }

    /// Total bytes of the entry: header, data and backlen.
    pub fn len(&self) -> usize {
        self.head_len + self.data.len() + self.backlen_len
    }

    /// Never true: every entry has at least a header byte and a backlen.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the entry into `dst`, which is exactly [`len`](Self::len)
    /// bytes long (the gap the insert opened).
    fn write_to(&self, dst: &mut [u8]) {
        let (head, rest) = dst.split_at_mut(self.head_len);
        let (data, backlen) = rest.split_at_mut(self.data.len());
        head.copy_from_slice(&self.head[..self.head_len]);
        data.copy_from_slice(self.data);
        backlen.copy_from_slice(&self.backlen[..self.backlen_len]);
    }
}
// ANCHOR_END: encode_entry

/// Appends the complete entry for `ele` (encoding, data, backlen) to `out`.
pub fn encode_entry(ele: &[u8], out: &mut Vec<u8>) {
    append_encoded(&EncodedEntry::of_str(ele), out);
}

/// Appends the complete entry for the integer `v` to `out`.
pub fn encode_int_entry(v: i64, out: &mut Vec<u8>) {
    append_encoded(&EncodedEntry::of_int(v), out);
}

fn append_encoded(entry: &EncodedEntry<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + entry.len(), 0);
    entry.write_to(&mut out[start..]);
}

// ANCHOR: decode_entry
/// What an entry's first byte(s) say about it, read with bounds checks so it
/// can be used on untrusted bytes.
#[derive(Debug, Clone, Copy)]
struct EntryShape {
    /// Bytes of encoding header before the data: 1, 2 or 5 for strings,
    /// 1 for integers (whose data is counted in `data_len`).
    header_len: usize,
    /// Bytes of data after the header: the string length, or the integer
    /// width (0 for the 7-bit uint, whose value is inside the header byte).
    data_len: usize,
    /// True for the string encodings.
    is_str: bool,
}

impl EntryShape {
    /// `encoding + data`: the number the backlen stores.
    fn encoded_len(&self) -> usize {
        self.header_len + self.data_len
    }

    /// The whole entry, backlen included: the distance to the next entry.
    fn total_len(&self) -> usize {
        let l = self.encoded_len();
        l + backlen_size(l)
    }
}

/// Reads the shape of the entry at `pos`, or `None` if the first byte is EOF,
/// an unused encoding, or the length bytes run past the end of `buf`. Reads
/// at most 5 bytes. Redis: `lpCurrentEncodedSizeBytes` +
/// `lpCurrentEncodedSizeUnsafe`.
fn entry_shape(buf: &[u8], pos: usize) -> Option<EntryShape> {
    let b0 = *buf.get(pos)?;
    let int = |width| {
        Some(EntryShape {
            header_len: 1,
            data_len: width,
            is_str: false,
        })
    };
    let string = |header_len, data_len| {
        Some(EntryShape {
            header_len,
            data_len,
            is_str: true,
        })
    };
    if b0 & ENC_7BIT_UINT_MASK == 0 {
        int(0)
    } else if b0 & ENC_6BIT_STR_MASK == ENC_6BIT_STR {
        string(1, usize::from(b0 & 0x3F))
    } else if b0 & ENC_13BIT_INT_MASK == ENC_13BIT_INT {
        int(1)
    } else if b0 & ENC_12BIT_STR_MASK == ENC_12BIT_STR {
        let b1 = *buf.get(pos + 1)?;
        string(2, usize::from(b0 & 0x0F) << 8 | usize::from(b1))
    } else {
        match b0 {
            ENC_32BIT_STR => {
                let len = buf.get(pos + 1..pos + 5)?;
                string(5, u32::from_le_bytes(len.try_into().ok()?) as usize)
            }
            ENC_16BIT_INT => int(2),
            ENC_24BIT_INT => int(3),
            ENC_32BIT_INT => int(4),
            ENC_64BIT_INT => int(8),
            _ => None, // EOF, or 0xF5..=0xFE: not an entry
        }
    }
}

/// Decodes the entry at `pos` of a *valid* listpack. Redis: `lpGet`.
///
/// ```text
///   c4 00     13-bit: u = (0xc4 & 0x1f) << 8 | 0x00 = 1024; 1024 < 4096 so positive
///   df ff     13-bit: u = 0x1fff = 8191 >= 4096, so negative: 8191 - 8192 = -1
///   f2 00 00 80   24-bit: u = 0x800000; sign bit set: 0x800000 - 2^24 = -8388608
/// ```
fn decode_entry(buf: &[u8], pos: usize) -> LpValue<'_> {
    let shape = entry_shape(buf, pos).expect("position is not an entry");
    let data = &buf[pos + shape.header_len..pos + shape.encoded_len()];
    if shape.is_str {
        return LpValue::Str(data);
    }
    let b0 = buf[pos];
    let v = if b0 & ENC_7BIT_UINT_MASK == 0 {
        i64::from(b0)
    } else if b0 & ENC_13BIT_INT_MASK == ENC_13BIT_INT {
        let u = i64::from(b0 & 0x1F) << 8 | i64::from(data[0]);
        // The sign bit is bit 12; values at or above it are negative.
        if u >= 1 << 12 {
            u - (1 << 13)
        } else {
            u
        }
    } else {
        // i16/i24/i32/i64 little endian: sign-extend from the top byte by
        // loading into the high bytes of an i64 and shifting back down.
        let mut le = [0u8; 8];
        le[8 - data.len()..].copy_from_slice(data);
        i64::from_le_bytes(le) >> (8 * (8 - data.len()))
    };
    LpValue::Int(v)
}
// ANCHOR_END: decode_entry

// ANCHOR: listpack_layout
/// A listpack: the bytes, exactly as Redis lays them out (and as RDB stores
/// them).
///
/// Invariant, between any two public calls: `buf` is a valid listpack in the
/// sense of [`Listpack::from_bytes`]: `total_bytes` equals `buf.len()`, every
/// entry's encoding and backlen agree, EOF is the last byte and only there,
/// and `num_elements` is the exact entry count or 65535. Once the count has
/// reached 65535 it stays "unknown" (even if entries are later deleted) until
/// the listpack is rebuilt, as in Redis between `lpLength` calls. Every
/// method keeps this, so `get`/`next`/`prev` can decode without re-checking.
#[derive(Clone, PartialEq, Eq)]
pub struct Listpack {
    /// The whole listpack: header, entries, EOF. `buf.len()` always equals
    /// the `total_bytes` field.
    buf: Vec<u8>,
}
// ANCHOR_END: listpack_layout

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|v| match v {
                LpValue::Int(i) => format!("{i}"),
                LpValue::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
            }))
            .finish()
    }
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

/// Where to put a new entry relative to a position (Redis: `LP_BEFORE`,
/// `LP_AFTER`, `LP_REPLACE`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Where {
    Before,
    Replace,
}

impl Listpack {
    /// An empty listpack: `07 00 00 00 00 00 ff`. Redis: `lpNew`.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(HEADER_SIZE + 1);
        buf.extend_from_slice(&((HEADER_SIZE + 1) as u32).to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(EOF);
        Listpack { buf }
    }

    /// Adopts `bytes` if they are a valid listpack, checking everything
    /// Redis's `lpValidateIntegrity(lp, size, deep = 1)` checks:
    ///
    /// 1. at least 7 bytes (header and EOF);
    /// 2. `total_bytes` equals the length;
    /// 3. the last byte is EOF;
    /// 4. walking from the first entry, every entry has a known encoding,
    ///    its length bytes and its whole body (with backlen) end before the
    ///    EOF byte, and its backlen decodes to its `encoding + data` length;
    /// 5. the walk ends exactly on the final EOF byte;
    /// 6. `num_elements` equals the number of entries, unless it is 65535.
    ///
    /// Cost: O(total bytes). Used for RDB loading and `RESTORE`, where the
    /// bytes come from outside; with this passed, no later call can read out
    /// of bounds.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Listpack> {
        let size = bytes.len();
        if size < HEADER_SIZE + 1 {
            return None;
        }
        let total = u32::from_le_bytes(bytes[0..4].try_into().ok()?) as usize;
        if total != size || bytes[size - 1] != EOF {
            return None;
        }
        let eof = size - 1;
        let mut count: usize = 0;
        let mut p = HEADER_SIZE;
        while p != eof {
            // `entry_shape` refuses EOF bytes, so an early 0xFF is caught here.
            let shape = entry_shape(&bytes[..eof], p)?;
            let end = p.checked_add(shape.total_len())?;
            if end > eof {
                return None;
            }
            let (back, _) = decode_backlen(&bytes, end - 1)?;
            if back != shape.encoded_len() {
                return None;
            }
            count += 1;
            p = end;
        }
        let numele = u16::from_le_bytes([bytes[4], bytes[5]]);
        if numele != NUM_ELEMENTS_UNKNOWN && usize::from(numele) != count {
            return None;
        }
        Some(Listpack { buf: bytes })
    }

    /// The bytes, exactly as Redis would hold them (and RDB saves them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Gives up the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Total size in bytes, header and EOF included. Redis: `lpBytes`.
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Releases spare capacity. Redis: `lpShrinkToFit`.
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Number of entries. O(1) below 65535 entries; beyond that the header
    /// cannot say, and this walks the whole listpack. Redis: `lpLength`.
    pub fn len(&self) -> usize {
        match self.header_count() {
            NUM_ELEMENTS_UNKNOWN => self.iter().count(),
            n => usize::from(n),
        }
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.buf[HEADER_SIZE] == EOF
    }

    /// The raw `num_elements` header field (65535 = unknown).
    pub fn header_count(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    fn eof_pos(&self) -> usize {
        self.buf.len() - 1
    }

    fn set_header(&mut self) {
        let total = u32::try_from(self.buf.len()).expect("listpack larger than 4 GiB");
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
    }

    /// Adjusts `num_elements` by `delta`, unless it is already "unknown".
    /// Reaching 65535 by counting up makes it unknown, which is correct: the
    /// field then means "65535 or more".
    fn adjust_count(&mut self, delta: isize) {
        let n = self.header_count();
        if n != NUM_ELEMENTS_UNKNOWN {
            let new = (n as isize + delta) as u16;
            self.buf[4..6].copy_from_slice(&new.to_le_bytes());
        }
    }

    // ---------------------------------------------------------------------
    // Walking
    // ---------------------------------------------------------------------

    fn shape_at(&self, pos: LpPos) -> EntryShape {
        assert!(
            pos >= HEADER_SIZE && pos < self.eof_pos(),
            "listpack position {pos} out of range"
        );
        entry_shape(&self.buf, pos).expect("listpack position is not an entry")
    }

    /// The first entry, or `None` if empty. Redis: `lpFirst`.
    pub fn first(&self) -> Option<LpPos> {
        (!self.is_empty()).then_some(HEADER_SIZE)
    }

    /// The last entry, or `None` if empty. Redis: `lpLast`.
    pub fn last(&self) -> Option<LpPos> {
        self.entry_before(self.eof_pos())
    }

    /// The entry after `pos`, or `None` if `pos` is the last. Redis: `lpNext`.
    pub fn next(&self, pos: LpPos) -> Option<LpPos> {
        let next = pos + self.shape_at(pos).total_len();
        (next < self.eof_pos()).then_some(next)
    }

    /// The entry before `pos`, or `None` if `pos` is the first. Redis:
    /// `lpPrev`.
    pub fn prev(&self, pos: LpPos) -> Option<LpPos> {
        assert!(pos >= HEADER_SIZE && pos < self.buf.len());
        self.entry_before(pos)
    }

    /// The entry that ends right before byte `pos` (an entry start or EOF),
    /// found through its backlen.
    fn entry_before(&self, pos: usize) -> Option<LpPos> {
        if pos == HEADER_SIZE {
            return None;
        }
        let (encoded_len, _) =
            decode_backlen(&self.buf, pos - 1).expect("valid listpack has valid backlens");
        Some(pos - encoded_len - backlen_size(encoded_len))
    }

    /// The entry at `pos`. Redis: `lpGet`.
    pub fn get(&self, pos: LpPos) -> LpValue<'_> {
        self.shape_at(pos);
        decode_entry(&self.buf, pos)
    }

    /// The position of entry `index`: 0 is the first, -1 the last, -2 the
    /// one before. `None` if out of range. Redis: `lpSeek`, which walks from
    /// whichever end is nearer when the count is known.
    pub fn seek(&self, index: i64) -> Option<LpPos> {
        let n = self.header_count();
        if n == NUM_ELEMENTS_UNKNOWN {
            // Length unknown: walk from the end the index counts from.
            return if index >= 0 {
                self.positions().nth(usize::try_from(index).ok()?)
            } else {
                self.positions_rev()
                    .nth(usize::try_from(-(index + 1)).ok()?)
            };
        }
        let n = i64::from(n);
        let index = if index < 0 { index + n } else { index };
        if index < 0 || index >= n {
            return None;
        }
        if index > n / 2 {
            self.positions_rev().nth((n - 1 - index) as usize)
        } else {
            self.positions().nth(index as usize)
        }
    }

    /// Front to back.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            lp: self,
            next: self.first(),
        }
    }

    /// Back to front.
    pub fn iter_rev(&self) -> IterRev<'_> {
        IterRev {
            lp: self,
            next: self.last(),
        }
    }

    /// Positions of all entries, front to back.
    pub fn positions(&self) -> impl Iterator<Item = LpPos> + '_ {
        std::iter::successors(self.first(), move |&p| self.next(p))
    }

    /// Positions of all entries, back to front.
    pub fn positions_rev(&self) -> impl Iterator<Item = LpPos> + '_ {
        std::iter::successors(self.last(), move |&p| self.prev(p))
    }

    // ---------------------------------------------------------------------
    // Changing
    // ---------------------------------------------------------------------

    // ANCHOR: listpack_splice
    /// The one place bytes move. The `entry` (or nothing, to delete) goes
    /// before the entry (or EOF) at `pos`, or in place of the entry at
    /// `pos`. Redis: `lpInsert`. Returns `pos`.
    ///
    /// Why this shape: the entry arrives already encoded in two small stack
    /// arrays plus a borrowed slice of the caller's bytes
    /// ([`EncodedEntry`]). The buffer grows once, the bytes after `pos`
    /// shift once (one `copy_within`, a `memmove`) to open a gap of exactly
    /// the entry's size, and the entry is written into the gap. So every
    /// byte of the tail moves once and every byte of the value is copied
    /// once, as in Redis's `lpInsert` (realloc, memmove, memcpy), and
    /// nothing is allocated besides the buffer's own growth.
    ///
    /// Everything after `pos` still shifts by the size difference, which is
    /// why inserting near the front of a big listpack costs O(bytes): the
    /// reason listpacks are kept small. At the tail (RPUSH, HSET of a new
    /// field, ZADD of a new highest score) only the EOF byte moves.
    ///
    /// (An earlier version appended the entry past EOF and then rotated the
    /// tail into place: a rotate moves every tail byte about twice, and at
    /// the head of an 8 KB quicklist node with 1 KB values, LPUSH, that was
    /// 1.7x Redis's CPU per request.)
    ///
    /// The buffer grows to the exact size it needs (`reserve_exact`), as
    /// Redis's `lpInsert` calls `lpRealloc` to the exact new size: a
    /// doubling `Vec` would leave up to half of every small hash, set or
    /// sorted set unused, and those are the encodings chosen to save
    /// memory. The allocator (jemalloc) rounds each request up to its size
    /// class, so most of these reallocations stay in place and cost a
    /// size-class lookup.
    fn splice(&mut self, pos: LpPos, at: Where, entry: Option<&EncodedEntry<'_>>) -> LpPos {
        let replaced = match at {
            Where::Before => {
                assert!(pos >= HEADER_SIZE && pos <= self.eof_pos());
                0
            }
            Where::Replace => self.shape_at(pos).total_len(),
        };
        let added = entry.map_or(0, EncodedEntry::len);
        let old_len = self.buf.len();
        // [.. pos][old entry: replaced][tail .. old_len]
        //   -> [.. pos][gap: added][tail]
        let tail = pos + replaced..old_len;
        if added > replaced {
            let new_len = old_len + added - replaced;
            if new_len > self.buf.capacity() {
                // Grow to the allocator's size class at once. jemalloc
                // serves a 5,000-byte request from its 5,120-byte class
                // anyway, so the slack costs no memory (used_memory counts
                // classes), and the next inserts that fit in it need no
                // `realloc` call at all. Redis's `lpInsert` calls
                // `zrealloc` on every insert, which jemalloc then satisfies
                // in place; at LPUSH -P 1 those calls were about 1% of
                // this server's CPU (perf).
                self.buf
                    .reserve_exact(crate::memory::size_class(new_len) - old_len);
            }
            self.buf.resize(new_len, 0);
            self.buf.copy_within(tail, pos + added);
        } else if added < replaced {
            self.buf.copy_within(tail, pos + added);
            self.buf.truncate(old_len - (replaced - added));
        }
        if let Some(entry) = entry {
            entry.write_to(&mut self.buf[pos..pos + added]);
        }
        self.set_header();
        match (at, added == 0) {
            (Where::Before, false) => self.adjust_count(1),
            (Where::Replace, true) => self.adjust_count(-1),
            _ => {}
        }
        pos
    }
    // ANCHOR_END: listpack_splice

    /// Adds `ele` at the end. Redis: `lpAppend`.
    pub fn push_back(&mut self, ele: &[u8]) -> LpPos {
        self.splice(
            self.eof_pos(),
            Where::Before,
            Some(&EncodedEntry::of_str(ele)),
        )
    }

    /// Adds `ele` at the front. Redis: `lpPrepend`.
    pub fn push_front(&mut self, ele: &[u8]) -> LpPos {
        self.splice(HEADER_SIZE, Where::Before, Some(&EncodedEntry::of_str(ele)))
    }

    /// Adds the integer `v` at the end. Redis: `lpAppendInteger`.
    pub fn push_back_int(&mut self, v: i64) -> LpPos {
        self.splice(
            self.eof_pos(),
            Where::Before,
            Some(&EncodedEntry::of_int(v)),
        )
    }

    /// Adds the integer `v` at the front. Redis: `lpPrependInteger`.
    pub fn push_front_int(&mut self, v: i64) -> LpPos {
        self.splice(HEADER_SIZE, Where::Before, Some(&EncodedEntry::of_int(v)))
    }

    /// Inserts `ele` before the entry at `pos`; returns the new entry's
    /// position (which is `pos`: the old entry moved right).
    pub fn insert_before(&mut self, pos: LpPos, ele: &[u8]) -> LpPos {
        self.shape_at(pos);
        self.splice(pos, Where::Before, Some(&EncodedEntry::of_str(ele)))
    }

    /// Inserts `ele` after the entry at `pos`; returns the new entry's
    /// position. Like Redis, this is "insert before the next entry (or EOF)".
    pub fn insert_after(&mut self, pos: LpPos, ele: &[u8]) -> LpPos {
        let next = pos + self.shape_at(pos).total_len();
        self.splice(next, Where::Before, Some(&EncodedEntry::of_str(ele)))
    }

    /// Replaces the entry at `pos` with `ele`; returns its position (the
    /// same). Redis: `lpReplace`.
    pub fn replace(&mut self, pos: LpPos, ele: &[u8]) -> LpPos {
        self.splice(pos, Where::Replace, Some(&EncodedEntry::of_str(ele)))
    }

    /// Replaces the entry at `pos` with the integer `v`. Redis:
    /// `lpReplaceInteger` (HINCRBY uses it).
    pub fn replace_int(&mut self, pos: LpPos, v: i64) -> LpPos {
        self.splice(pos, Where::Replace, Some(&EncodedEntry::of_int(v)))
    }

    /// Deletes the entry at `pos`; returns the position of the entry that
    /// followed it, or `None` if it was the last. Redis: `lpDelete`.
    pub fn delete(&mut self, pos: LpPos) -> Option<LpPos> {
        self.splice(pos, Where::Replace, None);
        (pos < self.eof_pos()).then_some(pos)
    }

    /// Deletes up to `count` entries starting at entry `index` (negative
    /// counts from the end); deleting past the end stops at the end, and an
    /// out-of-range `index` deletes nothing. Returns how many were deleted.
    /// Redis: `lpDeleteRange`. One `memmove` for the whole range, so deleting
    /// k entries is O(bytes), not O(k * bytes).
    pub fn delete_range(&mut self, index: i64, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        let Some(first) = self.seek(index) else {
            return 0;
        };
        let mut end = first;
        let mut deleted = 0;
        while deleted < count && end < self.eof_pos() {
            end += self.shape_at(end).total_len();
            deleted += 1;
        }
        self.buf.drain(first..end);
        self.set_header();
        self.adjust_count(-(deleted as isize));
        deleted
    }

    /// Appends every entry of `other` after our own. Redis: `lpMerge` (which
    /// also may reuse the bigger allocation; we always grow `self`). Used by
    /// the quicklist to merge neighbouring nodes. The count saturates at
    /// 65535 like any other insert.
    pub fn append_listpack(&mut self, other: &Listpack) {
        let entries = &other.buf[HEADER_SIZE..other.eof_pos()];
        let eof = self.eof_pos();
        self.buf.reserve_exact(entries.len());
        self.buf.truncate(eof);
        self.buf.extend_from_slice(entries);
        self.buf.push(EOF);
        self.set_header();
        let (a, b) = (self.header_count(), other.header_count());
        let sum = if a == NUM_ELEMENTS_UNKNOWN || b == NUM_ELEMENTS_UNKNOWN {
            NUM_ELEMENTS_UNKNOWN
        } else {
            (u32::from(a) + u32::from(b)).min(u32::from(NUM_ELEMENTS_UNKNOWN)) as u16
        };
        self.buf[4..6].copy_from_slice(&sum.to_le_bytes());
    }

    /// Finds the first entry equal to `ele`, starting at `start` and
    /// comparing only every `skip + 1`-th entry. Redis: `lpFind`.
    ///
    /// `skip` is for listpacks of pairs: a hash stores `field, value, field,
    /// value, ...`, so `HGET` calls `find(first, field, 1)` to compare only
    /// fields and never mistake a value for a field. A sorted set does the
    /// same with `member, score` pairs.
    ///
    /// Integer entries are compared as integers: `ele` is parsed once with
    /// [`string_to_int64`], and never if it is not a canonical integer (then
    /// no integer entry can equal it).
    pub fn find(&self, start: LpPos, ele: &[u8], skip: usize) -> Option<LpPos> {
        let as_int = string_to_int64(ele);
        let mut pos = Some(start);
        let mut to_skip = 0;
        while let Some(p) = pos {
            if to_skip == 0 {
                let hit = match self.get(p) {
                    LpValue::Str(s) => s == ele,
                    LpValue::Int(v) => as_int == Some(v),
                };
                if hit {
                    return Some(p);
                }
                to_skip = skip;
            } else {
                to_skip -= 1;
            }
            pos = self.next(p);
        }
        None
    }
}

/// Front-to-back iterator over a listpack's values.
pub struct Iter<'a> {
    lp: &'a Listpack,
    next: Option<LpPos>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpValue<'a>;
    fn next(&mut self) -> Option<LpValue<'a>> {
        let p = self.next?;
        self.next = self.lp.next(p);
        Some(decode_entry(&self.lp.buf, p))
    }
}

/// Back-to-front iterator over a listpack's values, walking the backlens.
pub struct IterRev<'a> {
    lp: &'a Listpack,
    next: Option<LpPos>,
}

impl<'a> Iterator for IterRev<'a> {
    type Item = LpValue<'a>;
    fn next(&mut self) -> Option<LpValue<'a>> {
        let p = self.next?;
        self.next = self.lp.prev(p);
        Some(decode_entry(&self.lp.buf, p))
    }
}

impl<'a> IntoIterator for &'a Listpack {
    type Item = LpValue<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn lp_of(items: &[&[u8]]) -> Listpack {
        let mut lp = Listpack::new();
        for i in items {
            lp.push_back(i);
        }
        lp
    }

    /// The encoded entry (without header) for one element.
    fn entry(ele: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_entry(ele, &mut v);
        v
    }

    fn contents(lp: &Listpack) -> Vec<Vec<u8>> {
        lp.iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn empty_listpack_is_seven_bytes() {
        let lp = Listpack::new();
        assert_eq!(lp.as_bytes(), [7, 0, 0, 0, 0, 0, 0xff]);
        assert!(lp.is_empty());
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.first(), None);
        assert_eq!(lp.last(), None);
        assert_eq!(lp.seek(0), None);
        assert_eq!(lp.seek(-1), None);
    }

    /// Bytes observed from a real Redis 7.0.15: `RPUSH l1 a 1 1024`, then
    /// the listpack inside `DUMP l1`.
    #[test]
    fn matches_redis_bytes_for_a_1_1024() {
        let lp = lp_of(&[b"a", b"1", b"1024"]);
        assert_eq!(lp.as_bytes(), hex("0f00000003008161020101c40002ff"));
    }

    /// `RPUSH l2` of every integer-encoding edge plus strings that look like
    /// integers but are not canonical, from a real Redis 7.0.15 `DUMP`.
    #[test]
    fn matches_redis_bytes_for_every_integer_edge() {
        let items: &[&[u8]] = &[
            b"",
            b"0",
            b"-1",
            b"127",
            b"128",
            b"4095",
            b"4096",
            b"-4096",
            b"-4097",
            b"32767",
            b"32768",
            b"-32768",
            b"-32769",
            b"8388607",
            b"8388608",
            b"-8388608",
            b"-8388609",
            b"2147483647",
            b"2147483648",
            b"-2147483648",
            b"-2147483649",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            b"007",
            b"-0",
            b"+1",
            b" 1",
        ];
        let redis = hex(
            "a30000001c0080010001dfff027f01c08002cfff02f1001003d00002f1ffef03f1ff7f03f200800004\
             f1008003f2ff7fff04f2ffff7f04f30000800005f200008004f3ffff7fff05f3ffffff7f05f400000080\
             0000000009f30000008005f4ffffff7fffffffff09f4ffffffffffffff7f09f400000000000000800993\
             39323233333732303336383534373735383038148330303704822d3003822b310382203103ff",
        );
        let lp = lp_of(items);
        assert_eq!(lp.as_bytes(), redis);
        // And reading Redis's bytes gives back exactly what was pushed.
        let theirs = Listpack::from_bytes(redis).unwrap();
        let back = contents(&theirs);
        assert_eq!(back, items.iter().map(|i| i.to_vec()).collect::<Vec<_>>());
    }

    /// String-length edges from real Redis 7.0.15 (`RPUSH sN <'x' * N>`):
    /// header bytes and the backlen before EOF.
    #[test]
    fn matches_redis_bytes_for_string_length_edges() {
        // (length, first entry bytes, backlen bytes)
        let cases: &[(usize, &[u8], &[u8])] = &[
            (63, &[0xbf], &[0x40]),                                  // 6-bit str, l = 64
            (64, &[0xe0, 0x40], &[0x42]),                            // 12-bit str, l = 66
            (125, &[0xe0, 0x7d], &[0x7f]),                           // l = 127: 1 byte
            (126, &[0xe0, 0x7e], &[0x01, 0x80]),                     // l = 128: 2 bytes
            (4095, &[0xef, 0xff], &[0x20, 0x81]),                    // 12-bit max
            (4096, &[0xf0, 0x00, 0x10, 0x00, 0x00], &[0x20, 0x85]),  // 32-bit str
            (16377, &[0xf0, 0xf9, 0x3f, 0, 0], &[0x7f, 0xfe]),       // l = 16382
            (16378, &[0xf0, 0xfa, 0x3f, 0, 0], &[0x00, 0xff, 0xff]), // l = 16383: 3!
            (16379, &[0xf0, 0xfb, 0x3f, 0, 0], &[0x01, 0x80, 0x80]), // l = 16384
        ];
        for &(n, head, back) in cases {
            let s = vec![b'x'; n];
            let lp = lp_of(&[&s]);
            let b = lp.as_bytes();
            let total = HEADER_SIZE + head.len() + n + back.len() + 1;
            assert_eq!(b.len(), total, "len {n}");
            assert_eq!(&b[0..4], &(total as u32).to_le_bytes());
            assert_eq!(&b[6..6 + head.len()], head, "len {n}");
            assert_eq!(&b[b.len() - 1 - back.len()..b.len() - 1], back, "len {n}");
            assert_eq!(lp.get(lp.last().unwrap()), LpValue::Str(&s));
        }
    }

    #[test]
    fn integer_encoding_widths() {
        let cases: &[(i64, usize)] = &[
            (0, 1),
            (127, 1),
            (128, 2),
            (-1, 2),
            (4095, 2),
            (-4096, 2),
            (4096, 3),
            (-4097, 3),
            (32767, 3),
            (-32768, 3),
            (32768, 4),
            (-32769, 4),
            (8_388_607, 4),
            (-8_388_608, 4),
            (8_388_608, 5),
            (-8_388_609, 5),
            (i32::MAX as i64, 5),
            (i32::MIN as i64, 5),
            (i32::MAX as i64 + 1, 9),
            (i32::MIN as i64 - 1, 9),
            (i64::MAX, 9),
            (i64::MIN, 9),
        ];
        for &(v, width) in cases {
            let e = entry(v.to_string().as_bytes());
            assert_eq!(e.len(), width + 1, "{v}");
            let mut lp = Listpack::new();
            lp.push_back_int(v);
            lp.push_front(v.to_string().as_bytes());
            assert_eq!(lp.get(lp.first().unwrap()), LpValue::Int(v));
            assert_eq!(lp.get(lp.last().unwrap()), LpValue::Int(v));
            assert_eq!(lp.as_bytes()[6..6 + e.len()], e[..]);
        }
        assert_eq!(entry(b"-1"), [0xdf, 0xff, 0x02]);
        assert_eq!(entry(b"-4096"), [0xd0, 0x00, 0x02]);
    }

    #[test]
    fn string_length_encodings() {
        for (n, header) in [(0, 1), (63, 1), (64, 2), (4095, 2), (4096, 5)] {
            let s = vec![b'z'; n];
            let e = entry(&s);
            assert_eq!(e.len(), header + n + backlen_size(header + n), "{n}");
        }
    }

    #[test]
    fn backlen_boundaries() {
        let cases = [
            (0, 1),
            (127, 1),
            (128, 2),
            (16382, 2),
            (16383, 3),
            (16384, 3),
            (2_097_150, 3),
            (2_097_151, 4),
            (268_435_454, 4),
            (268_435_455, 5),
            (u32::MAX as usize, 5),
        ];
        for (l, n) in cases {
            assert_eq!(backlen_size(l), n, "{l}");
            let mut v = vec![0xAA]; // a byte before, to prove the reader stops
            let (bytes, used) = encode_backlen(l);
            v.extend_from_slice(&bytes[..used]);
            assert_eq!(v.len(), n + 1);
            assert_eq!(decode_backlen(&v, v.len() - 1), Some((l, n)), "{l}");
        }
        let (bytes, used) = encode_backlen(200);
        assert_eq!(bytes[..used], [0x01, 0xc8]);
        // Six continuation bytes is not a backlen.
        assert_eq!(decode_backlen(&[0x80; 6], 5), None);
        // Running off the front is not a backlen either.
        assert_eq!(decode_backlen(&[0x81], 0), None);
    }

    #[test]
    fn canonical_integer_rules() {
        for ok in [
            "0",
            "1",
            "-1",
            "10",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(
                string_to_int64(ok.as_bytes()).map(|v| v.to_string()),
                Some(ok.to_string())
            );
        }
        for bad in [
            "",
            "-",
            "-0",
            "00",
            "01",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "0x10",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "123456789012345678901",
        ] {
            assert_eq!(string_to_int64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn values_compare_and_print() {
        assert!(LpValue::Int(-12).eq_bytes(b"-12"));
        assert!(!LpValue::Int(12).eq_bytes(b"012"));
        assert!(LpValue::Str(b"x").eq_bytes(b"x"));
        assert_eq!(LpValue::Int(i64::MIN).to_vec(), b"-9223372036854775808");
        for v in [0, 9, 10, -1, -10, i64::MAX, i64::MIN] {
            assert_eq!(LpValue::Int(v).byte_len(), v.to_string().len());
        }
        assert_eq!(LpValue::Str(b"42").as_i64(), Some(42));
        assert_eq!(LpValue::Str(b"x").as_i64(), None);
    }

    #[test]
    fn walk_seek_and_positions() {
        let lp = lp_of(&[b"a", b"1", b"hello", b"-5000", b"zz"]);
        let fwd: Vec<_> = lp.positions().collect();
        let mut back: Vec<_> = lp.positions_rev().collect();
        back.reverse();
        assert_eq!(fwd, back);
        for (i, &p) in fwd.iter().enumerate() {
            assert_eq!(lp.seek(i as i64), Some(p));
            assert_eq!(lp.seek(i as i64 - 5), Some(p));
        }
        assert_eq!(lp.seek(5), None);
        assert_eq!(lp.seek(-6), None);
        assert_eq!(lp.get(lp.seek(3).unwrap()), LpValue::Int(-5000));
        assert_eq!(lp.prev(lp.first().unwrap()), None);
        assert_eq!(lp.next(lp.last().unwrap()), None);
    }

    #[test]
    fn insert_replace_delete_return_positions() {
        let mut lp = lp_of(&[b"a", b"c"]);
        let c = lp.seek(1).unwrap();
        let b = lp.insert_before(c, b"b");
        assert_eq!(lp.get(b), LpValue::Str(b"b"));
        let d = lp.insert_after(lp.last().unwrap(), b"d");
        assert_eq!(lp.get(d), LpValue::Str(b"d"));
        assert_eq!(contents(&lp), [b"a", b"b", b"c", b"d"]);
        let p = lp.replace(b, b"a-much-longer-value-than-before");
        assert_eq!(lp.get(lp.next(p).unwrap()), LpValue::Str(b"c"));
        let p = lp.replace_int(p, 77);
        assert_eq!(lp.get(p), LpValue::Int(77));
        let after = lp.delete(p).unwrap();
        assert_eq!(lp.get(after), LpValue::Str(b"c"));
        assert_eq!(lp.delete(lp.last().unwrap()), None);
        assert_eq!(contents(&lp), [b"a", b"c"]);
        assert_eq!(lp.len(), 2);
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
    }

    #[test]
    fn delete_range_clamps_at_the_end() {
        let mut lp = lp_of(&[b"0", b"1", b"2", b"3", b"4"]);
        assert_eq!(lp.delete_range(1, 2), 2);
        assert_eq!(contents(&lp), [b"0", b"3", b"4"]);
        assert_eq!(lp.delete_range(-2, 100), 2);
        assert_eq!(contents(&lp), [b"0"]);
        assert_eq!(lp.delete_range(5, 1), 0);
        assert_eq!(lp.delete_range(0, 0), 0);
        assert_eq!(lp.delete_range(0, 1), 1);
        assert_eq!(lp.as_bytes(), Listpack::new().as_bytes());
    }

    #[test]
    fn find_with_skip_compares_only_fields() {
        // A hash as Redis stores it: field, value, field, value.
        let lp = lp_of(&[b"name", b"age", b"age", b"42", b"42", b"x"]);
        let first = lp.first().unwrap();
        // Without skip, "age" first matches the *value* at index 1.
        assert_eq!(lp.find(first, b"age", 0), lp.seek(1));
        // With skip 1 only fields (even indexes) are compared.
        assert_eq!(lp.find(first, b"age", 1), lp.seek(2));
        assert_eq!(lp.find(first, b"42", 1), lp.seek(4));
        assert_eq!(lp.find(first, b"042", 0), None);
        assert_eq!(lp.find(first, b"nope", 1), None);
    }

    #[test]
    fn num_elements_saturates_at_65535_and_len_walks() {
        let mut lp = Listpack::new();
        for i in 0..65534 {
            lp.push_back_int(i % 100);
        }
        assert_eq!(lp.header_count(), 65534);
        lp.push_back(b"x");
        assert_eq!(lp.header_count(), NUM_ELEMENTS_UNKNOWN);
        assert_eq!(lp.len(), 65535);
        lp.push_back(b"y");
        assert_eq!(lp.header_count(), NUM_ELEMENTS_UNKNOWN);
        assert_eq!(lp.len(), 65536);
        assert_eq!(lp.seek(-1).map(|p| lp.get(p)), Some(LpValue::Str(b"y")));
        assert_eq!(lp.seek(65535).map(|p| lp.get(p)), Some(LpValue::Str(b"y")));
        assert_eq!(lp.seek(65536), None);
        assert_eq!(lp.seek(-65537), None);
        // Deleting keeps "unknown", as in Redis; the listpack stays valid.
        lp.delete_range(0, 10);
        assert_eq!(lp.header_count(), NUM_ELEMENTS_UNKNOWN);
        assert_eq!(lp.len(), 65526);
        assert!(Listpack::from_bytes(lp.into_bytes()).is_some());
    }

    #[test]
    fn safe_to_add_checks_one_gib() {
        assert!(safe_to_add(None, MAX_SAFETY_SIZE));
        assert!(!safe_to_add(None, MAX_SAFETY_SIZE + 1));
        let lp = Listpack::new();
        assert!(safe_to_add(Some(&lp), MAX_SAFETY_SIZE - 7));
        assert!(!safe_to_add(Some(&lp), MAX_SAFETY_SIZE - 6));
        assert!(!safe_to_add(Some(&lp), usize::MAX));
    }

    #[test]
    fn append_listpack_merges_counts() {
        let mut a = lp_of(&[b"1", b"two"]);
        let b = lp_of(&[b"three", b"4"]);
        a.append_listpack(&b);
        assert_eq!(contents(&a), [&b"1"[..], b"two", b"three", b"4"]);
        assert_eq!(a.header_count(), 4);
        assert_eq!(Listpack::from_bytes(a.as_bytes().to_vec()), Some(a));
    }

    #[test]
    fn validation_rejects_corruption() {
        let good = lp_of(&[b"a", b"1", b"1024"]).into_bytes();
        assert!(Listpack::from_bytes(good.clone()).is_some());
        let corrupt = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            Listpack::from_bytes(b)
        };
        assert_eq!(corrupt(&|b| b.truncate(6)), None); // too short
        assert_eq!(corrupt(&|b| b[0] = 16), None); // total_bytes wrong
        assert_eq!(corrupt(&|b| *b.last_mut().unwrap() = 0), None); // no EOF
        assert_eq!(corrupt(&|b| b[4] = 2), None); // count wrong
        assert_eq!(corrupt(&|b| b[8] = 3), None); // backlen of "a" wrong
        assert_eq!(corrupt(&|b| b[6] = 0xF5), None); // unused encoding
        assert_eq!(corrupt(&|b| b[6] = 0xFF), None); // EOF too early
        assert_eq!(corrupt(&|b| b[6] = 0x8F), None); // string runs past EOF
                                                     // Count 65535 means "unknown" and is accepted with any entry count.
        assert!(corrupt(&|b| {
            b[4] = 0xff;
            b[5] = 0xff
        })
        .is_some());
        // A 32-bit string length of 4 GiB does not overflow anything.
        let mut b = Listpack::new().into_bytes();
        b.splice(6..6, [0xF0, 0xff, 0xff, 0xff, 0xff]);
        let n = b.len() as u32;
        b[0..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(Listpack::from_bytes(b), None);
    }

    // --- property tests against a Vec<Vec<u8>> model ----------------------

    /// Values that hit every encoding: small and large integers (canonical
    /// and not), short and 12-bit strings, and the occasional 32-bit string.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => (-200i64..200).prop_map(|v| v.to_string().into_bytes()),
            2 => any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            1 => prop::sample::select(vec!["007", "-0", "+5", "", " ", "1.5"])
                .prop_map(|s| s.as_bytes().to_vec()),
            4 => prop::collection::vec(any::<u8>(), 0..70),
            1 => prop::collection::vec(any::<u8>(), 120..140),
            1 => (4090usize..4100).prop_map(|n| vec![b'q'; n]),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushBack(Vec<u8>),
        PushFront(Vec<u8>),
        PushBackInt(i64),
        InsertBefore(usize, Vec<u8>),
        InsertAfter(usize, Vec<u8>),
        Replace(usize, Vec<u8>),
        Delete(usize),
        DeleteRange(i64, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            value().prop_map(Op::PushBack),
            value().prop_map(Op::PushFront),
            any::<i64>().prop_map(Op::PushBackInt),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::InsertBefore(i, v)),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::InsertAfter(i, v)),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::Replace(i, v)),
            any::<usize>().prop_map(Op::Delete),
            (-12i64..12, 0usize..5).prop_map(|(i, n)| Op::DeleteRange(i, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn behaves_like_a_vec_of_byte_strings(ops in prop::collection::vec(op(), 1..60)) {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for op in ops {
                let n = model.len();
                match op {
                    Op::PushBack(v) => { lp.push_back(&v); model.push(v); }
                    Op::PushFront(v) => { lp.push_front(&v); model.insert(0, v); }
                    Op::PushBackInt(i) => {
                        lp.push_back_int(i);
                        model.push(i.to_string().into_bytes());
                    }
                    Op::InsertBefore(i, v) if n > 0 => {
                        let p = lp.seek((i % n) as i64).unwrap();
                        let q = lp.insert_before(p, &v);
                        prop_assert!(lp.get(q).eq_bytes(&v));
                        model.insert(i % n, v);
                    }
                    Op::InsertAfter(i, v) if n > 0 => {
                        let p = lp.seek((i % n) as i64).unwrap();
                        let q = lp.insert_after(p, &v);
                        prop_assert!(lp.get(q).eq_bytes(&v));
                        model.insert(i % n + 1, v);
                    }
                    Op::Replace(i, v) if n > 0 => {
                        let p = lp.seek((i % n) as i64).unwrap();
                        lp.replace(p, &v);
                        model[i % n] = v;
                    }
                    Op::Delete(i) if n > 0 => {
                        let p = lp.seek((i % n) as i64).unwrap();
                        let next = lp.delete(p);
                        model.remove(i % n);
                        prop_assert_eq!(next.is_some(), i % n < model.len());
                    }
                    Op::DeleteRange(i, c) => {
                        let start = if i < 0 { i + n as i64 } else { i };
                        let want = if start < 0 || start >= n as i64 {
                            0
                        } else {
                            c.min(n - start as usize)
                        };
                        prop_assert_eq!(lp.delete_range(i, c), want);
                        if want > 0 {
                            model.drain(start as usize..start as usize + want);
                        }
                    }
                    _ => {}
                }
                prop_assert_eq!(lp.len(), model.len());
                prop_assert_eq!(contents(&lp), model.clone());
                let mut rev: Vec<Vec<u8>> = lp.iter_rev().map(|v| v.to_vec()).collect();
                rev.reverse();
                prop_assert_eq!(&rev, &model);
                for (i, m) in model.iter().enumerate() {
                    prop_assert!(lp.get(lp.seek(-(model.len() as i64) + i as i64).unwrap()).eq_bytes(m));
                    let found = lp.find(lp.first().unwrap(), m, 0).unwrap();
                    prop_assert!(lp.get(found).eq_bytes(m));
                }
                let reparsed = Listpack::from_bytes(lp.as_bytes().to_vec());
                prop_assert_eq!(reparsed.as_ref(), Some(&lp));
            }
        }

        #[test]
        fn random_bytes_never_panic_validation(mut bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            // Give random bytes a correct header and EOF so validation has to
            // look at the entries, then walk whatever it accepts.
            if bytes.len() >= 7 {
                let n = bytes.len() as u32;
                bytes[0..4].copy_from_slice(&n.to_le_bytes());
                *bytes.last_mut().unwrap() = EOF;
            }
            if let Some(lp) = Listpack::from_bytes(bytes) {
                let n = lp.iter().count();
                prop_assert_eq!(lp.iter_rev().count(), n);
                prop_assert_eq!(lp.len(), n);
            }
        }
    }
}
