//! HyperLogLog through real clients, checked byte for byte against values
//! made by Redis 7.0.15 (tests/fixtures/hll_redis_7_0_15.txt, generated
//! once from the real server; see its header). Every error text below was
//! taken from the same server.

mod common;
use common::*;

use proptest::prelude::*;
use redis::Value;
use redis_anatomy::hyperloglog::{hash_element, HLL_REGISTERS};

const FIXTURE: &str = include_str!("fixtures/hll_redis_7_0_15.txt");

// ============================================================================
// Fixture helpers
// ============================================================================

/// 64-bit FNV-1a, the digest the fixture uses for dense values.
fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The fixture line of kind `kind` for `key`, split into words.
fn fixture(kind: &str, key: &str) -> Vec<&'static str> {
    FIXTURE
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() > 2 && w[0] == kind && w[1] == key)
        .unwrap_or_else(|| panic!("no fixture {kind} {key}"))
}

/// Redis's bytes for a sparse key (resolving `=other`), and its count.
fn sparse_fixture(key: &str) -> (Vec<u8>, i64) {
    let w = fixture("sparse", key);
    let count = w[2].parse().unwrap();
    match w[3].strip_prefix('=') {
        Some(other) => (sparse_fixture(other).0, count),
        None => (unhex(w[3]), count),
    }
}

/// Redis's dense value for `n100`, converted with PFDEBUG TODENSE, from
/// the LZF block of its DUMP payload.
fn dense_fixture() -> (Vec<u8>, i64) {
    let w = fixture("lzf", "n100_todense");
    let len: usize = w[3].parse().unwrap();
    let bytes = redis_anatomy::lzf::decompress(&unhex(w[4]), len).expect("valid LZF");
    (bytes, w[2].parse().unwrap())
}

/// What GET returns once PFCOUNT has cached `count`.
fn with_cached_count(mut bytes: Vec<u8>, count: i64) -> Vec<u8> {
    bytes[8..16].copy_from_slice(&(count as u64).to_le_bytes());
    bytes
}

/// PFADD key with elements `from..to` as decimal strings, 100 per
/// command, pipelined: the commands the fixture was made with.
fn fill(c: &mut redis::Connection, key: &str, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    let mut start = from;
    while start < to {
        let end = (start + 100).min(to);
        let mut cmd = redis::cmd("PFADD");
        cmd.arg(key);
        for i in start..end {
            cmd.arg(i.to_string());
        }
        pipe.add_command(cmd).ignore();
        start = end;
    }
    pipe.query::<()>(c).unwrap();
}

fn get(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn cmd(c: &mut redis::Connection, args: &[&[u8]]) -> Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| Value::SimpleString(format!("ERROR {e}")))
}

/// The full error text of a command that must fail.
fn error_of(c: &mut redis::Connection, args: &[&[u8]]) -> String {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Ok(v) => panic!("{:?} succeeded: {v:?}", String::from_utf8_lossy(args[0])),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("{code} {detail}"),
            (Some(code), None) => code.to_string(),
            _ => e.to_string(),
        },
    }
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    redis::cmd("PFDEBUG")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .unwrap()
}

fn pfcount(c: &mut redis::Connection, keys: &[&str]) -> i64 {
    redis::cmd("PFCOUNT").arg(keys).query(c).unwrap()
}

/// Compare a GET with a fixture line: whole bytes for sparse values, the
/// digests before and after PFCOUNT for dense ones.
fn assert_like_redis(c: &mut redis::Connection, key: &str) {
    let line = FIXTURE
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| (w[0] == "sparse" || w[0] == "dense") && w[1] == key)
        .unwrap();
    let stale = get(c, key);
    assert_eq!(encoding(c, key), line[0], "{key}");
    let count = pfcount(c, &[key]);
    assert_eq!(count, line[2].parse::<i64>().unwrap(), "{key}");
    let counted = get(c, key);
    if line[0] == "sparse" {
        let (expected, _) = sparse_fixture(key);
        assert!(stale == expected, "{key}: sparse bytes differ from Redis's");
        assert!(
            counted == with_cached_count(expected, count),
            "{key}: cached count"
        );
    } else {
        assert_eq!(
            fnv1a(&stale),
            line[3],
            "{key}: dense bytes differ from Redis's"
        );
        assert_eq!(fnv1a(&counted), line[4], "{key}: dense bytes after PFCOUNT");
    }
}

// ============================================================================
// Byte compatibility
// ============================================================================

#[test]
fn pfadd_and_pfmerge_build_redis_bytes_sparse_and_dense() {
    let server = start();
    let mut c = conn(&server);
    for n in [1, 100, 1000, 10000, 100000] {
        fill(&mut c, &format!("n{n}"), 0, n);
    }
    // Unions first: they must not touch the keys' caches.
    for line in FIXTURE.lines().filter(|l| l.starts_with("union ")) {
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            pfcount(&mut c, &w[2..]),
            w[1].parse::<i64>().unwrap(),
            "{line}"
        );
    }
    let _: () = redis::cmd("PFMERGE")
        .arg(&["merge_sparse", "n100", "n1000"])
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("PFMERGE")
        .arg(&["merge_dense", "n100", "n10000"])
        .query(&mut c)
        .unwrap();
    for key in [
        "n1",
        "n100",
        "n1000",
        "n10000",
        "n100000",
        "merge_sparse",
        "merge_dense",
    ] {
        assert_like_redis(&mut c, key);
    }
}

#[test]
fn redis_made_values_loaded_with_set_count_the_same() {
    let server = start();
    let mut c = conn(&server);
    for key in ["n1", "n100", "n1000"] {
        let (bytes, count) = sparse_fixture(key);
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(&bytes)
            .query(&mut c)
            .unwrap();
        assert_eq!(encoding(&mut c, key), "sparse");
        assert_eq!(pfcount(&mut c, &[key]), count, "{key}");
        assert!(get(&mut c, key) == with_cached_count(bytes, count));
    }
    let (dense, count) = dense_fixture();
    assert_eq!(dense.len(), 12304);
    let _: () = redis::cmd("SET")
        .arg("d")
        .arg(&dense)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "d"), "dense");
    assert_eq!(pfcount(&mut c, &["d"]), count);
    assert_eq!(pfcount(&mut c, &["d", "n1000", "n1"]), 1001);
}

#[test]
fn pfadd_continues_a_redis_made_value_byte_for_byte() {
    let server = start();
    let mut c = conn(&server);
    let (n100, _) = sparse_fixture("n100");
    let _: () = redis::cmd("SET").arg("k").arg(&n100).query(&mut c).unwrap();
    fill(&mut c, "k", 100, 1000);
    assert!(get(&mut c, "k") == sparse_fixture("n1000").0);
    fill(&mut c, "k", 1000, 10000);
    assert_eq!(fnv1a(&get(&mut c, "k")), fixture("dense", "n10000")[3]);
}

#[test]
fn todense_gives_redis_dense_bytes() {
    let server = start();
    let mut c = conn(&server);
    let (n100, _) = sparse_fixture("n100");
    let _: () = redis::cmd("SET").arg("k").arg(&n100).query(&mut c).unwrap();
    let converted: i64 = redis::cmd("PFDEBUG")
        .arg("TODENSE")
        .arg("k")
        .query(&mut c)
        .unwrap();
    assert_eq!(converted, 1);
    let (dense, _) = dense_fixture();
    assert!(get(&mut c, "k") == dense, "dense bytes differ from Redis's");
    let again: i64 = redis::cmd("PFDEBUG")
        .arg("TODENSE")
        .arg("k")
        .query(&mut c)
        .unwrap();
    assert_eq!(again, 0);
}

#[test]
fn a_lower_sparse_limit_promotes_when_the_next_write_would_pass_it() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "hll-sparse-max-bytes", "200"])
        .query(&mut c)
        .unwrap();
    fill(&mut c, "limit200_n100", 0, 100);
    assert_like_redis(&mut c, "limit200_n100");

    // One element at a time: sparse while at most 200 bytes, and the
    // promotion comes on the write that would have made it longer.
    let mut last_len = 0;
    for i in 0.. {
        let _: i64 = redis::cmd("PFADD")
            .arg("k")
            .arg(format!("e{i}"))
            .query(&mut c)
            .unwrap();
        let len: usize = redis::cmd("STRLEN").arg("k").query(&mut c).unwrap();
        if encoding(&mut c, "k") == "dense" {
            assert_eq!(len, 12304);
            assert!(
                last_len <= 200 && last_len + 3 > 200,
                "promoted at {last_len} bytes"
            );
            break;
        }
        assert!(len <= 200);
        last_len = len;
    }
}

// ============================================================================
// Commands
// ============================================================================

#[test]
fn pfadd_replies_and_the_cached_cardinality() {
    let server = start();
    let mut c = conn(&server);
    // Creating an empty HyperLogLog is a change; doing it again is not.
    assert_eq!(cmd(&mut c, &[b"PFADD", b"k"]), Value::Int(1));
    assert_eq!(cmd(&mut c, &[b"PFADD", b"k"]), Value::Int(0));
    assert_eq!(
        get(&mut c, "k"),
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
    );
    assert_eq!(
        cmd(&mut c, &[b"PFADD", b"k", b"a", b"b", b"a"]),
        Value::Int(1)
    );
    assert_eq!(cmd(&mut c, &[b"PFADD", b"k", b"a"]), Value::Int(0));
    assert_eq!(get(&mut c, "k")[15] & 0x80, 0x80, "stale after a change");
    assert_eq!(pfcount(&mut c, &["k"]), 2);
    let v = get(&mut c, "k");
    assert_eq!(
        &v[8..16],
        &[2, 0, 0, 0, 0, 0, 0, 0],
        "cached, little-endian"
    );
    // No register grows: the cache stays valid.
    assert_eq!(cmd(&mut c, &[b"PFADD", b"k", b"b"]), Value::Int(0));
    assert_eq!(&get(&mut c, "k")[8..16], &[2, 0, 0, 0, 0, 0, 0, 0]);
    // A union reads the keys without caching anything in them.
    let _: () = redis::cmd("PFADD").arg(&["j", "c"]).query(&mut c).unwrap();
    assert_eq!(pfcount(&mut c, &["k", "j", "missing"]), 3);
    assert_eq!(get(&mut c, "j")[15] & 0x80, 0x80);
    assert_eq!(pfcount(&mut c, &["missing"]), 0);
    assert_eq!(
        cmd(&mut c, &[b"PFDEBUG", b"DECODE", b"j"]),
        Value::BulkString(b"Z:8436 v:1,1 Z:7947".to_vec())
    );
}

#[test]
fn pfmerge_creates_keeps_sparse_or_goes_dense_as_redis() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(cmd(&mut c, &[b"PFMERGE", b"empty"]), Value::Okay);
    assert_eq!(
        get(&mut c, "empty"),
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
    );
    assert_eq!(cmd(&mut c, &[b"PFMERGE", b"e2", b"nosuch"]), Value::Okay);
    assert_eq!(encoding(&mut c, "e2"), "sparse");
    fill(&mut c, "a", 0, 50);
    fill(&mut c, "b", 25, 75);
    assert_eq!(cmd(&mut c, &[b"PFMERGE", b"a", b"b"]), Value::Okay);
    assert_eq!(encoding(&mut c, "a"), "sparse");
    assert_eq!(pfcount(&mut c, &["a"]), pfcount(&mut c, &["a", "b"]));
    // A dense source makes the destination dense, even an empty one.
    let _: () = redis::cmd("PFADD").arg("d").query(&mut c).unwrap();
    let _: i64 = redis::cmd("PFDEBUG")
        .arg(&["TODENSE", "d"])
        .query(&mut c)
        .unwrap();
    assert_eq!(cmd(&mut c, &[b"PFMERGE", b"x", b"d"]), Value::Okay);
    assert_eq!(encoding(&mut c, "x"), "dense");
    assert_eq!(pfcount(&mut c, &["x"]), 0);
}

#[test]
fn pfdebug_subcommands() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("PFADD").arg(&["k", "a"]).query(&mut c).unwrap();
    assert_eq!(
        cmd(&mut c, &[b"pfdebug", b"decode", b"k"]),
        Value::BulkString(b"Z:12711 v:2,1 Z:3672".to_vec())
    );
    assert_eq!(
        cmd(&mut c, &[b"PFDEBUG", b"Encoding", b"k"]),
        Value::SimpleString("sparse".into())
    );
    let regs: Vec<i64> = redis::cmd("PFDEBUG")
        .arg(&["GETREG", "k"])
        .query(&mut c)
        .unwrap();
    assert_eq!(regs.len(), HLL_REGISTERS);
    assert_eq!(regs[12711], 2);
    assert_eq!(regs.iter().sum::<i64>(), 2);
    // GETREG converted it for good.
    assert_eq!(encoding(&mut c, "k"), "dense");
    assert_eq!(
        error_of(&mut c, &[b"PFDEBUG", b"DECODE", b"k"]),
        "ERR HLL encoding is not sparse"
    );
}

#[test]
fn errors_match_redis() {
    let server = start();
    let mut c = conn(&server);
    const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
    let header = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
    let not_hll: Vec<Vec<u8>> = vec![
        b"foo".to_vec(),
        b"123".to_vec(),                                 // an int-encoded string
        header[..15].to_vec(),                           // shorter than a header
        [b"HYLX".as_slice(), &header[4..]].concat(),     // bad magic
        [b"HYLL\x02".as_slice(), &header[5..]].concat(), // unknown encoding
        [b"HYLL\x00".as_slice(), &header[5..], b"\x7f\xff"].concat(), // dense, wrong length
    ];
    for value in &not_hll {
        let _: () = redis::cmd("SET")
            .arg("bad")
            .arg(value)
            .query(&mut c)
            .unwrap();
        for args in [
            &[&b"PFADD"[..], b"bad", b"x"][..],
            &[b"PFCOUNT", b"bad"],
            &[b"PFCOUNT", b"nokey", b"bad"],
            &[b"PFMERGE", b"bad"],
            &[b"PFMERGE", b"dest", b"bad"],
            &[b"PFDEBUG", b"ENCODING", b"bad"],
            &[b"PFDEBUG", b"nosuch", b"bad"],
        ] {
            assert_eq!(error_of(&mut c, args), NOT_HLL, "{value:?} {args:?}");
        }
    }
    assert_eq!(cmd(&mut c, &[b"EXISTS", b"dest"]), Value::Int(0));

    // Corrupt sparse values: opcodes short of 16384 registers, past them,
    // or none at all.
    let corrupt: Vec<Vec<u8>> = vec![
        [header.as_slice(), b"\x7e\x7f"].concat(),
        [header.as_slice(), b"\x7f\xff\x7f\xff"].concat(),
        [header.as_slice(), b"\x7f\xff\x80"].concat(), // a VAL past register 16383
        header.clone(),
    ];
    for value in &corrupt {
        let _: () = redis::cmd("SET")
            .arg("bad")
            .arg(value)
            .query(&mut c)
            .unwrap();
        for args in [
            &[&b"PFCOUNT"[..], b"bad"][..],
            &[b"PFCOUNT", b"bad", b"bad"],
            &[b"PFMERGE", b"dest", b"bad"],
            &[b"PFDEBUG", b"TODENSE", b"bad"],
            &[b"PFDEBUG", b"GETREG", b"bad"],
        ] {
            assert_eq!(error_of(&mut c, args), CORRUPT, "{value:?} {args:?}");
        }
        assert!(get(&mut c, "bad") == *value, "left untouched");
    }
    // PFADD walks only as far as the register it needs.
    let _: () = redis::cmd("SET")
        .arg("bad")
        .arg([header.as_slice(), b"\x7e\x7f"].concat())
        .query(&mut c)
        .unwrap();
    assert_eq!(cmd(&mut c, &[b"PFADD", b"bad", b"a"]), Value::Int(1));
    assert_eq!(
        error_of(&mut c, &[b"PFADD", b"bad", b"x", b"y", b"z"]),
        CORRUPT
    );
    assert_eq!(error_of(&mut c, &[b"PFCOUNT", b"bad"]), CORRUPT);

    assert_eq!(
        error_of(&mut c, &[b"PFDEBUG", b"GETREG", b"nokey"]),
        "ERR The specified key does not exist"
    );
    let _: () = redis::cmd("PFADD").arg("h").query(&mut c).unwrap();
    assert_eq!(
        error_of(&mut c, &[b"PFDEBUG", b"Foo", b"h"]),
        "ERR Unknown PFDEBUG subcommand 'Foo'"
    );
    for (args, name) in [
        (&[&b"PFDEBUG"[..], b"GETREG", b"h", b"x"][..], "pfdebug"),
        (&[b"PFDEBUG", b"GETREG"], "pfdebug"),
        (&[b"PFADD"], "pfadd"),
        (&[b"PFCOUNT"], "pfcount"),
        (&[b"PFMERGE"], "pfmerge"),
        (&[b"PFSELFTEST", b"x"], "pfselftest"),
    ] {
        assert_eq!(
            error_of(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[test]
fn the_estimator_overflows_exactly_as_redis() {
    let server = start();
    let mut c = conn(&server);
    // Dense values Redis can only get from SET: every register 51 (the
    // largest count PFADD makes) or 63; and half of them 51.
    fn dense(regs: impl Fn(usize) -> u8) -> Vec<u8> {
        let mut v = b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
        v.resize(12304, 0);
        for i in 0..HLL_REGISTERS {
            redis_anatomy::hyperloglog::dense_set(&mut v[16..], i, regs(i));
        }
        v
    }
    for (value, expected) in [
        (dense(|_| 51), i64::MIN),
        (dense(|_| 63), i64::MIN),
        (dense(|i| if i < 8192 { 51 } else { 0 }), 13268),
    ] {
        let _: () = redis::cmd("SET").arg("k").arg(value).query(&mut c).unwrap();
        assert_eq!(pfcount(&mut c, &["k"]), expected);
        assert_eq!(pfcount(&mut c, &["k", "nokey"]), expected);
    }
}

/// Ten million adds: half a second in a release build (as in Redis), far
/// longer unoptimised, so debug runs leave it out; the same checks run at
/// a smaller size in the unit tests of `src/hyperloglog.rs`. Run it with
/// `cargo test --release --test hyperloglog`.
#[test]
#[cfg_attr(debug_assertions, ignore)]
fn pfselftest_passes() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(cmd(&mut c, &[b"PFSELFTEST"]), Value::Okay);
}

// ============================================================================
// A model: registers are the maximum count each element hashed to
// ============================================================================

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Registers after PFADD (sparse, and dense from the start) equal the
    /// model's; PFADD says 1 exactly when the model's registers grew; the
    /// sparse and dense values count the same; PFMERGE of the two halves
    /// counts what PFCOUNT of both says.
    #[test]
    fn registers_follow_the_model(
        batches in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..40), 1..8),
        split in 0usize..8,
    ) {
        let server = start();
        let mut c = conn(&server);
        let _: () = redis::cmd("PFADD").arg("dense").query(&mut c).unwrap();
        let _: i64 = redis::cmd("PFDEBUG").arg(&["TODENSE", "dense"]).query(&mut c).unwrap();
        let mut model = vec![0u8; HLL_REGISTERS];
        for (i, batch) in batches.iter().enumerate() {
            let mut grew = i == 0; // the first PFADD creates "sparse"
            for e in batch {
                let (index, count) = hash_element(e);
                if count > model[index] {
                    model[index] = count;
                    grew = true;
                }
            }
            let half = if i < split { "left" } else { "right" };
            for key in ["sparse", half] {
                let reply: i64 = redis::cmd("PFADD").arg(key).arg(batch).query(&mut c).unwrap();
                if key == "sparse" {
                    prop_assert_eq!(reply, i64::from(grew));
                }
            }
            let _: i64 = redis::cmd("PFADD").arg("dense").arg(batch).query(&mut c).unwrap();
        }
        let count = pfcount(&mut c, &["sparse"]);
        prop_assert_eq!(count, pfcount(&mut c, &["dense"]));
        prop_assert_eq!(count, pfcount(&mut c, &["left", "right"]));
        let _: () = redis::cmd("PFMERGE").arg(&["merged", "left", "right"]).query(&mut c).unwrap();
        prop_assert_eq!(count, pfcount(&mut c, &["merged"]));
        for key in ["dense", "sparse", "merged"] {
            let regs: Vec<u8> = redis::cmd("PFDEBUG").arg(&["GETREG", key]).query(&mut c).unwrap();
            prop_assert!(regs == model, "{} registers differ from the model", key);
        }
    }
}
