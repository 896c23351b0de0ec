//! # DEBUG subcommands that compare and reload whole datasets
//!
//! Redis's test suite checks that an operation kept the data intact by
//! taking a fingerprint before and after: `DEBUG DIGEST` for the whole
//! keyspace, `DEBUG DIGEST-VALUE key...` for single values (COPY's tests
//! compare the source and the copy this way). The fingerprint must not
//! depend on how a value happens to be stored: a hash that converted from
//! listpack to a table, or a set read back from an RDB file, has the same
//! digest as before. It also must not depend on the order a dict happens
//! to iterate in.
//!
//! ## The idea: XOR for unordered parts, chaining for ordered ones
//!
//! A digest is 20 bytes (the size of a SHA-1). Two ways to fold bytes in:
//!
//! - **xor**: `digest ^= sha1(bytes)`. XOR is commutative, so the members
//!   of a set, the fields of a hash, or the keys of a database can be
//!   folded in any order and give the same result.
//! - **mix**: `digest = sha1(digest ^ sha1(bytes))`. The second hash makes
//!   the result depend on what came before, so the elements of a list are
//!   folded in order: `[a, b]` and `[b, a]` differ.
//!
//! A pair (a hash's field and value, a sorted set's member and score) is
//! mixed into a fresh zeroed digest of its own, and that pair digest is
//! then xored into the value's: the pairs stay unordered, but a field
//! stays tied to its value. One key is `mix(name)`, then `mix(type as 4
//! big-endian bytes)`, then the value, then `xor("!!expire!!")` if it has a
//! TTL (only whether it has one, not when, so a digest taken a moment
//! later agrees). A database mixes its index in first, so the same keys in
//! another database give a different digest. An empty keyspace is 40
//! zeros.
//!
//! The input bytes are always the value's *text*: an intset member or a
//! listpack integer is printed in decimal first, and a score is printed
//! with `%.17g`, so the encoding never shows through. Because we fold the
//! same bytes in the same way as Redis, our digests equal real Redis's for
//! the same dataset (tests/debug.rs checks one against a recorded value).
//!
//! ## Redis counterpart
//!
//! `src/debug.c`: `xorDigest`, `mixDigest`, `xorObjectDigest`,
//! `computeDatasetDigest`, and the `digest`, `digest-value`, `loadaof`,
//! `change-repl-id` and `stringmatch-test` branches of `debugCommand`.
//! SHA-1 itself is `src/sha1.c`; ours is the short version below.
//!
//! ## What we simplified
//!
//! - No stream or module values exist here, so those branches are absent.
//! - `CHANGE-REPL-ID` answers OK without changing anything: replication
//!   IDs belong to the replication chapter.
//! - `STRINGMATCH-TEST` runs no fuzzer (Redis's checks its C glob matcher
//!   for crashes); it answers Redis's reply.

use crate::object::{HashValue, RObj, SetValue, Value, ZSetValue};
use crate::resp::{fmt_g17, Args};
use crate::server::Ctx;

/// The subcommands of this file. Returns false when `args` is none of
/// them, so the caller can answer "unknown subcommand".
pub fn dispatch(ctx: &mut Ctx, args: &Args) -> bool {
    let sub = &args[1];
    let eq = |s: &str| sub.eq_ignore_ascii_case(s.as_bytes());
    if eq("digest") && args.len() == 2 {
        let digest = dataset_digest(ctx);
        ctx.reply().simple(&hex(&digest));
    } else if eq("digest-value") {
        let keys: Vec<Vec<u8>> = args.iter().skip(2).map(|k| k.to_vec()).collect();
        ctx.reply().array(keys.len());
        for key in keys {
            let db = &ctx.server.dbs[ctx.client.db];
            // Like Redis, no lookupKey: a logically expired key that is
            // still in the dict has a digest.
            let mut digest = [0u8; 20];
            if let Some(o) = db.dict.get(&key[..]) {
                value_digest(&mut digest, o, db.expires.get(&key[..]).is_some());
            }
            ctx.reply().simple(&hex(&digest));
        }
    } else if eq("loadaof") {
        match crate::aof::debug_loadaof(ctx.server) {
            Ok(()) => {
                eprintln!(
                    "{} # Append Only File loaded by DEBUG LOADAOF",
                    std::process::id()
                );
                ctx.reply().ok();
            }
            // Redis exits here (the AOF it wrote cannot be read back);
            // we answer the error and keep serving.
            Err(e) => ctx.reply().error(&format!("ERR {e}")),
        }
    } else if eq("change-repl-id") && args.len() == 2 {
        ctx.reply().ok();
    } else if eq("stringmatch-test") && args.len() == 2 {
        ctx.reply()
            .simple("Apparently Redis did not crash: test passed");
    } else {
        return false;
    }
    true
}

/// `%02x` of each byte.
fn hex(digest: &[u8; 20]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(40);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ANCHOR: debug_digest
/// `digest ^= sha1(bytes)`: order-free folding (Redis: `xorDigest`).
fn xor_digest(digest: &mut [u8; 20], bytes: &[u8]) {
    let h = sha1(bytes);
    for (d, h) in digest.iter_mut().zip(h) {
        *d ^= h;
    }
}

/// `digest = sha1(digest ^ sha1(bytes))`: order-dependent folding
/// (Redis: `mixDigest`).
fn mix_digest(digest: &mut [u8; 20], bytes: &[u8]) {
    xor_digest(digest, bytes);
    *digest = sha1(&digest[..]);
}

/// The whole keyspace (Redis: `computeDatasetDigest`).
fn dataset_digest(ctx: &Ctx) -> [u8; 20] {
    let mut total = [0u8; 20];
    for db in &ctx.server.dbs {
        if db.dict.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(db.id as u32).to_be_bytes());
        for (key, o) in db.dict.iter() {
            let mut one = [0u8; 20];
            mix_digest(&mut one, key);
            value_digest(&mut one, o, db.expires.get(&key[..]).is_some());
            xor_digest(&mut total, &one);
        }
    }
    total
}

/// One value folded into `digest` (Redis: `xorObjectDigest`). The type
/// codes are the RDB's object types: string 0, list 1, set 2, zset 3,
/// hash 4.
fn value_digest(digest: &mut [u8; 20], o: &RObj, has_ttl: bool) {
    let type_code: u32 = match o.value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    };
    mix_digest(digest, &type_code.to_be_bytes());
    match &o.value {
        Value::Str(s) => {
            let mut scratch = [0u8; 20];
            mix_digest(digest, s.bytes(&mut scratch));
        }
        Value::List(ql) => {
            for element in ql.iter() {
                mix_digest(digest, &element);
            }
        }
        Value::Set(s) => match s {
            SetValue::Intset(is) => {
                for n in is.iter() {
                    xor_digest(digest, n.to_string().as_bytes());
                }
            }
            SetValue::Table(d) => {
                for (member, _) in d.iter() {
                    xor_digest(digest, member);
                }
            }
        },
        Value::ZSet(z) => {
            let mut pair = |member: &[u8], score: f64| {
                let mut one = [0u8; 20];
                mix_digest(&mut one, member);
                mix_digest(&mut one, fmt_g17(score).as_bytes());
                xor_digest(digest, &one);
            };
            match &**z {
                ZSetValue::Listpack(lp) => {
                    let mut it = lp.iter();
                    while let (Some(member), Some(score)) = (it.next(), it.next()) {
                        let score = match score.as_i64() {
                            Some(n) => n as f64,
                            None => crate::commands::parse_f64(&score.to_vec()).unwrap_or(0.0),
                        };
                        pair(&member.to_vec(), score);
                    }
                }
                ZSetValue::Skiplist(t) => {
                    for (member, score) in t.dict.iter() {
                        pair(member, *score);
                    }
                }
            }
        }
        Value::Hash(h) => {
            let mut pair = |field: &[u8], value: &[u8]| {
                let mut one = [0u8; 20];
                mix_digest(&mut one, field);
                mix_digest(&mut one, value);
                xor_digest(digest, &one);
            };
            match &**h {
                HashValue::Listpack(lp) => {
                    let mut it = lp.iter();
                    while let (Some(f), Some(v)) = (it.next(), it.next()) {
                        pair(&f.to_vec(), &v.to_vec());
                    }
                }
                HashValue::Table(d) => {
                    for (f, v) in d.iter() {
                        pair(f, v);
                    }
                }
            }
        }
        Value::Stream(s) => crate::stream::digest_parts(s, |part| mix_digest(digest, part)),
    }
    if has_ttl {
        xor_digest(digest, b"!!expire!!");
    }
}
// ANCHOR_END: debug_digest

// ANCHOR: debug_sha1
/// SHA-1 (FIPS 180-4), enough of it for digests: the message is padded
/// with a 1 bit, zeros, and its length in bits as a 64-bit big-endian
/// number, to a multiple of 64 bytes; each 64-byte block is expanded to 80
/// words and stirred into five 32-bit state words by 80 rounds. Not for
/// security (SHA-1 has known collisions); Redis uses it the same way.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    // Whole blocks straight from the input, then one or two padded ones.
    let whole = data.len() / 64 * 64;
    for block in data[..whole].chunks_exact(64) {
        sha1_block(&mut h, block);
    }
    let mut tail = [0u8; 128];
    let rest = &data[whole..];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    // 8 bytes of length must fit after the 0x80: 55 bytes of rest fit in
    // one block, 56..63 need a second.
    let tail_len = if rest.len() < 56 { 64 } else { 128 };
    tail[tail_len - 8..tail_len].copy_from_slice(&bit_len.to_be_bytes());
    for block in tail[..tail_len].chunks_exact(64) {
        sha1_block(&mut h, block);
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha1_block(h: &mut [u32; 5], block: &[u8]) {
    let mut w = [0u32; 80];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *h;
    for (i, &wi) in w.iter().enumerate() {
        // Four groups of 20 rounds, each with its own mixing function and
        // constant.
        let (f, k) = match i / 20 {
            0 => ((b & c) | (!b & d), 0x5A827999),
            1 => (b ^ c ^ d, 0x6ED9EBA1),
            2 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
            _ => (b ^ c ^ d, 0xCA62C1D6),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(wi);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
        *x = x.wrapping_add(y);
    }
}
// ANCHOR_END: debug_sha1

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(data: &[u8]) -> String {
        hex(&sha1(data))
    }

    #[test]
    fn sha1_matches_the_standard_test_vectors() {
        assert_eq!(hex_of(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex_of(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        // 56 bytes: the length no longer fits in the first padded block.
        assert_eq!(
            hex_of(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex_of(&[b'a'; 1000]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }
}
