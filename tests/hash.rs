//! Hash commands through real clients: every reply and error text byte for
//! byte against scripts recorded on Redis 7.0.15, the listpack → hashtable
//! conversion at its exact thresholds (and after CONFIG SET), the four
//! HRANDFIELD strategies, HSCAN on both encodings, and a property test
//! against a model that predicts the encoding too.

mod common;
use common::*;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use redis_anatomy::server::config::ProtectedAction;
use redis_anatomy::server::ServerHandle;

/// A raw RESP connection that reads exactly one reply per command (RESP2
/// or RESP3) and returns it as text, so replies compare byte for byte.
struct Wire {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Wire {
    fn connect(server: &ServerHandle) -> Wire {
        let writer = Raw::connect(server).stream;
        let reader = BufReader::new(writer.try_clone().unwrap());
        Wire { writer, reader }
    }

    fn call(&mut self, words: &[&[u8]]) -> String {
        self.writer.write_all(&resp(words)).unwrap();
        let mut out = Vec::new();
        self.read_reply(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        out.extend_from_slice(&line);
        let len: i64 = std::str::from_utf8(&line[1..])
            .unwrap()
            .trim_end()
            .parse()
            .unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if len >= 0 => {
                let mut body = vec![0u8; len as usize + 2];
                self.reader.read_exact(&mut body).unwrap();
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => (0..len.max(0)).for_each(|_| self.read_reply(out)),
            b'%' | b'|' => (0..2 * len.max(0)).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }
}

/// Run a recorded script and compare every reply.
fn replay(wire: &mut Wire, script: &str) {
    let mut lines = script.lines().filter(|l| !l.is_empty());
    while let Some(command) = lines.next() {
        let expected = lines
            .next()
            .and_then(|l| l.strip_prefix("=> "))
            .expect("a reply line follows every command")
            .replace("\\r\\n", "\r\n");
        let words: Vec<Vec<u8>> = command
            .split(' ')
            .map(|w| match w {
                "<empty>" => Vec::new(),
                w => w.replace("<sp>", " ").into_bytes(),
            })
            .collect();
        let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        assert_eq!(wire.call(&words), expected, "reply to `{command}`");
    }
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .unwrap()
}

fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(c)
        .unwrap();
}

/// `HSET key f0 v0 f1 v1 ...` with fields `f{i}` = `v{i}` for `range`.
fn fill(c: &mut redis::Connection, key: &str, range: std::ops::Range<usize>) {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for i in range {
        cmd.arg(format!("f{i}")).arg(format!("v{i}"));
    }
    let _: i64 = cmd.query(c).unwrap();
}

/// RESP2 script: each command, then `=> ` and the raw reply Redis 7.0.15
/// gave (`\r\n` written out; `<sp>` is a space and `<empty>` an empty
/// argument in commands).
const SCRIPT_RESP2: &str = r#"
set s x
=> +OK\r\n
hset s a 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hsetnx s a 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hget s a
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hmget s a
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hmset s a 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hdel s a
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hlen s
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hstrlen s a
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hexists s a
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hkeys s
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hvals s
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hgetall s
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hincrby s a 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hincrby s a x
=> -ERR value is not an integer or out of range\r\n
hincrbyfloat s a 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hincrbyfloat s a x
=> -ERR value is not a valid float\r\n
hincrbyfloat s a inf
=> -ERR value is NaN or Infinity\r\n
hrandfield s
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hrandfield s 1
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hrandfield s x
=> -ERR value is not an integer or out of range\r\n
hscan s 0
=> -WRONGTYPE Operation against a key holding the wrong kind of value\r\n
hscan s x
=> -ERR invalid cursor\r\n
hset h
=> -ERR wrong number of arguments for 'hset' command\r\n
hset h a
=> -ERR wrong number of arguments for 'hset' command\r\n
hset h a 1 b
=> -ERR wrong number of arguments for 'hset' command\r\n
hmset h a 1 b
=> -ERR wrong number of arguments for 'hmset' command\r\n
hsetnx h a
=> -ERR wrong number of arguments for 'hsetnx' command\r\n
hset h a 1 b 2
=> :2\r\n
hmset h c 3
=> +OK\r\n
HsEt h d 4
=> :1\r\n
hMset h e 5
=> +OK\r\n
hsetnx h a 9
=> :0\r\n
hsetnx h f 6
=> :1\r\n
hget h a
=> $1\r\n1\r\n
hget h zz
=> $-1\r\n
hget nokey a
=> $-1\r\n
hmget h a zz b
=> *3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n
hmget nokey a b
=> *2\r\n$-1\r\n$-1\r\n
hexists h a
=> :1\r\n
hexists h zz
=> :0\r\n
hexists nokey a
=> :0\r\n
hlen h
=> :6\r\n
hlen nokey
=> :0\r\n
hstrlen h a
=> :1\r\n
hstrlen h zz
=> :0\r\n
hstrlen nokey zz
=> :0\r\n
hset h neg -12345 str hello empty <empty>
=> :3\r\n
hstrlen h neg
=> :6\r\n
hstrlen h str
=> :5\r\n
hstrlen h empty
=> :0\r\n
hget h empty
=> $0\r\n\r\n
hkeys h
=> *9\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$3\r\nneg\r\n$3\r\nstr\r\n$5\r\nempty\r\n
hvals h
=> *9\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$6\r\n-12345\r\n$5\r\nhello\r\n$0\r\n\r\n
hgetall h
=> *18\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n6\r\n$3\r\nneg\r\n$6\r\n-12345\r\n$3\r\nstr\r\n$5\r\nhello\r\n$5\r\nempty\r\n$0\r\n\r\n
hkeys nokey
=> *0\r\n
hvals nokey
=> *0\r\n
hgetall nokey
=> *0\r\n
hincrby h a x
=> -ERR value is not an integer or out of range\r\n
hincrby h a 1.5
=> -ERR value is not an integer or out of range\r\n
hincrby h a 9223372036854775808
=> -ERR value is not an integer or out of range\r\n
hincrby h a 10
=> :11\r\n
hincrby h str 1
=> -ERR hash value is not an integer\r\n
hincrby h empty 1
=> -ERR hash value is not an integer\r\n
hincrby h a 9223372036854775807
=> -ERR increment or decrement would overflow\r\n
hincrby h neg -9223372036854775807
=> -ERR increment or decrement would overflow\r\n
hset h max 9223372036854775807 min -9223372036854775808 lead 010 sp <sp>1 plus +1
=> :5\r\n
hincrby h max 1
=> -ERR increment or decrement would overflow\r\n
hincrby h max 0
=> :9223372036854775807\r\n
hincrby h min -1
=> -ERR increment or decrement would overflow\r\n
hincrby h lead 1
=> -ERR hash value is not an integer\r\n
hincrby h sp 1
=> -ERR hash value is not an integer\r\n
hincrby h plus 1
=> -ERR hash value is not an integer\r\n
hincrby h new -5
=> :-5\r\n
hincrby h new 0
=> :-5\r\n
hincrbyfloat h f x
=> -ERR value is not a valid float\r\n
hincrbyfloat h f inf
=> -ERR value is NaN or Infinity\r\n
hincrbyfloat h f -inf
=> -ERR value is NaN or Infinity\r\n
hincrbyfloat h f +inf
=> -ERR value is NaN or Infinity\r\n
hincrbyfloat h f nan
=> -ERR value is not a valid float\r\n
hincrbyfloat h f <sp>1
=> -ERR value is not a valid float\r\n
hincrbyfloat h f 1<sp>
=> -ERR value is not a valid float\r\n
hincrbyfloat h f <empty>
=> -ERR value is not a valid float\r\n
hincrbyfloat h str 1
=> -ERR hash value is not a float\r\n
hincrbyfloat h empty 1
=> -ERR hash value is not a float\r\n
hincrbyfloat h f 0.5
=> $3\r\n6.5\r\n
hincrbyfloat h f 1e3
=> $6\r\n1006.5\r\n
hincrbyfloat h f -1006.5
=> $1\r\n0\r\n
hincrbyfloat h f 0x10
=> $2\r\n16\r\n
hincrbyfloat h f 3.0e1
=> $2\r\n46\r\n
hincrbyfloat h f -46
=> $1\r\n0\r\n
hincrbyfloat h nf 10.50
=> $4\r\n10.5\r\n
hincrbyfloat h nf 1.0e-20
=> $4\r\n10.5\r\n
hincrbyfloat h nf 5.0e3
=> $6\r\n5010.5\r\n
hincrbyfloat h lead 1
=> $2\r\n11\r\n
hset h inf inf ninf -inf nan nan sp2 <sp>2
=> :4\r\n
hincrbyfloat h inf 1
=> -ERR increment would produce NaN or Infinity\r\n
hincrbyfloat h ninf 1
=> -ERR increment would produce NaN or Infinity\r\n
hincrbyfloat h nan 1
=> -ERR hash value is not a float\r\n
hincrbyfloat h sp2 1
=> -ERR hash value is not a float\r\n
hincrby h inf 1
=> -ERR hash value is not an integer\r\n
hgetall h
=> *40\r\n$1\r\na\r\n$2\r\n11\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n$1\r\n0\r\n$3\r\nneg\r\n$6\r\n-12345\r\n$3\r\nstr\r\n$5\r\nhello\r\n$5\r\nempty\r\n$0\r\n\r\n$3\r\nmax\r\n$19\r\n9223372036854775807\r\n$3\r\nmin\r\n$20\r\n-9223372036854775808\r\n$4\r\nlead\r\n$2\r\n11\r\n$2\r\nsp\r\n$2\r\n 1\r\n$4\r\nplus\r\n$2\r\n+1\r\n$3\r\nnew\r\n$2\r\n-5\r\n$2\r\nnf\r\n$6\r\n5010.5\r\n$3\r\ninf\r\n$3\r\ninf\r\n$4\r\nninf\r\n$4\r\n-inf\r\n$3\r\nnan\r\n$3\r\nnan\r\n$3\r\nsp2\r\n$2\r\n 2\r\n
hrandfield h x
=> -ERR value is not an integer or out of range\r\n
hrandfield h 1.0
=> -ERR value is not an integer or out of range\r\n
hrandfield h -9223372036854775808
=> -ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n
hrandfield h 9223372036854775807
=> *20\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$3\r\nneg\r\n$3\r\nstr\r\n$5\r\nempty\r\n$3\r\nmax\r\n$3\r\nmin\r\n$4\r\nlead\r\n$2\r\nsp\r\n$4\r\nplus\r\n$3\r\nnew\r\n$2\r\nnf\r\n$3\r\ninf\r\n$4\r\nninf\r\n$3\r\nnan\r\n$3\r\nsp2\r\n
hrandfield h 1 withvalue
=> -ERR syntax error\r\n
hrandfield h 1 withvalues x
=> -ERR syntax error\r\n
hrandfield h 1 WITHVALUES x
=> -ERR syntax error\r\n
hrandfield h 4611686018427387904 withvalues
=> -ERR value is out of range\r\n
hrandfield h -4611686018427387904 withvalues
=> -ERR value is out of range\r\n
hrandfield h 0
=> *0\r\n
hrandfield h 0 withvalues
=> *0\r\n
hrandfield nokey
=> $-1\r\n
hrandfield nokey 5
=> *0\r\n
hrandfield nokey -5 withvalues
=> *0\r\n
hrandfield nokey x
=> -ERR value is not an integer or out of range\r\n
hrandfield nokey 1 foo
=> -ERR syntax error\r\n
hscan h x
=> -ERR invalid cursor\r\n
hscan h <sp>1
=> -ERR invalid cursor\r\n
hscan h 1 count
=> -ERR syntax error\r\n
hscan h 0 count 0
=> -ERR syntax error\r\n
hscan h 0 count -1
=> -ERR syntax error\r\n
hscan h 0 count x
=> -ERR value is not an integer or out of range\r\n
hscan h 0 type hash
=> -ERR syntax error\r\n
hscan h 0 match
=> -ERR syntax error\r\n
hscan h 0 foo bar
=> -ERR syntax error\r\n
hscan nokey 0
=> *2\r\n$1\r\n0\r\n*0\r\n
hscan nokey 0 count 0
=> *2\r\n$1\r\n0\r\n*0\r\n
hscan nokey x
=> -ERR invalid cursor\r\n
hscan h 0 match ne?
=> *2\r\n$1\r\n0\r\n*4\r\n$3\r\nneg\r\n$6\r\n-12345\r\n$3\r\nnew\r\n$2\r\n-5\r\n
hscan h 99 match *a* count 1
=> *2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$2\r\n11\r\n$3\r\nmax\r\n$19\r\n9223372036854775807\r\n$4\r\nlead\r\n$2\r\n11\r\n$3\r\nnan\r\n$3\r\nnan\r\n
hscan h 0 match m[ai][xn] MATCH *i*
=> *2\r\n$1\r\n0\r\n*6\r\n$3\r\nmin\r\n$20\r\n-9223372036854775808\r\n$3\r\ninf\r\n$3\r\ninf\r\n$4\r\nninf\r\n$4\r\n-inf\r\n
hscan h 0 COUNT 1 match n*
=> *2\r\n$1\r\n0\r\n*10\r\n$3\r\nneg\r\n$6\r\n-12345\r\n$3\r\nnew\r\n$2\r\n-5\r\n$2\r\nnf\r\n$6\r\n5010.5\r\n$4\r\nninf\r\n$4\r\n-inf\r\n$3\r\nnan\r\n$3\r\nnan\r\n
hscan h -1 match *p*
=> *2\r\n$1\r\n0\r\n*8\r\n$5\r\nempty\r\n$0\r\n\r\n$2\r\nsp\r\n$2\r\n 1\r\n$4\r\nplus\r\n$2\r\n+1\r\n$3\r\nsp2\r\n$2\r\n 2\r\n
hdel h zz
=> :0\r\n
hdel nokey a
=> :0\r\n
hdel h a a b zz
=> :2\r\n
exists h
=> :1\r\n
hdel h c d e f neg str empty max min lead sp plus new nf inf ninf nan sp2 zz
=> :18\r\n
exists h
=> :0\r\n
hdel h f
=> :0\r\n
hset h a 1
=> :1\r\n
hdel h a b
=> :1\r\n
exists h
=> :0\r\n
"#;

/// The same for a client that said `HELLO 3`.
const SCRIPT_RESP3: &str = r#"
hget nokey a
=> _\r\n
hmget nokey a b
=> *2\r\n_\r\n_\r\n
hgetall nokey
=> %0\r\n
hkeys nokey
=> *0\r\n
hrandfield nokey
=> _\r\n
hrandfield nokey 2 withvalues
=> *0\r\n
hset h a 1 b 2 c x
=> :3\r\n
hgetall h
=> %3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\nx\r\n
hget h zz
=> _\r\n
hmget h a zz
=> *2\r\n$1\r\n1\r\n_\r\n
hrandfield h 3 withvalues
=> *3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\nx\r\n
hrandfield h 10 withvalues
=> *3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\nx\r\n
hrandfield h 10
=> *3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n
hrandfield h 0 withvalues
=> *0\r\n
hscan h 0
=> *2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\nx\r\n
hscan nokey 0
=> *2\r\n$1\r\n0\r\n*0\r\n
hincrbyfloat h f 1.5
=> $3\r\n1.5\r\n
hset one only 1
=> :1\r\n
hrandfield one -3 withvalues
=> *3\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n
hrandfield one -2
=> *2\r\n$4\r\nonly\r\n$4\r\nonly\r\n
hrandfield one 1 withvalues
=> *1\r\n*2\r\n$4\r\nonly\r\n$1\r\n1\r\n
hrandfield one
=> $4\r\nonly\r\n
"#;

// ============================================================================
// Replies and errors, byte for byte
// ============================================================================

#[test]
fn replies_and_errors_match_redis_7_0_byte_for_byte() {
    let server = start();
    let mut wire = Wire::connect(&server);
    replay(&mut wire, SCRIPT_RESP2);
}

#[test]
fn resp3_replies_match_redis_7_0_byte_for_byte() {
    let server = start();
    let mut wire = Wire::connect(&server);
    assert!(wire.call(&[b"HELLO", b"3"]).starts_with('%'));
    replay(&mut wire, SCRIPT_RESP3);
}

// ============================================================================
// Encodings: listpack while small, hashtable for good
// ============================================================================

#[test]
fn a_hash_becomes_a_hashtable_at_its_513th_field_and_stays_one() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "h", 0..512);
    assert_eq!(encoding(&mut c, "h"), "listpack");
    let added: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("f0")
        .arg("again")
        .query(&mut c)
        .unwrap();
    assert_eq!(added, 0);
    assert_eq!(encoding(&mut c, "h"), "listpack", "an update adds no field");
    fill(&mut c, "h", 512..513);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    let len: i64 = redis::cmd("HLEN").arg("h").query(&mut c).unwrap();
    assert_eq!(len, 513);
    let v: String = redis::cmd("HGET").arg("h").arg("f0").query(&mut c).unwrap();
    assert_eq!(v, "again");
    // Deleting back down to one field converts nothing back.
    for i in 1..513 {
        let _: i64 = redis::cmd("HDEL")
            .arg("h")
            .arg(format!("f{i}"))
            .query(&mut c)
            .unwrap();
    }
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    // One HSET that crosses the limit converts in the middle of its pairs.
    fill(&mut c, "big", 0..600);
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("big").query(&mut c).unwrap();
    assert_eq!(all.len(), 600);
    assert!((0..600).all(|i| all[&format!("f{i}")] == format!("v{i}")));
}

#[test]
fn a_field_or_value_over_64_bytes_converts_before_it_is_inserted() {
    let server = start();
    let mut c = conn(&server);
    let (b64, b65) = ("x".repeat(64), "x".repeat(65));
    let _: i64 = redis::cmd("HSET")
        .arg("v")
        .arg("a")
        .arg(&b64)
        .query(&mut c)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("v")
        .arg(&b64)
        .arg("1")
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "v"), "listpack");
    let _: i64 = redis::cmd("HSET")
        .arg("v")
        .arg("b")
        .arg(&b65)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "v"), "hashtable");

    let _: i64 = redis::cmd("HSET")
        .arg("f")
        .arg(&b65)
        .arg("1")
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "f"), "hashtable");

    // The arguments are checked before anything is set: an update of an
    // existing field with a long value converts too.
    let _: i64 = redis::cmd("HSET")
        .arg("u")
        .arg("a")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("u")
        .arg("a")
        .arg(&b65)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "u"), "hashtable");

    // HSETNX looks for the field first: if it exists, nothing is checked.
    let _: i64 = redis::cmd("HSET")
        .arg("n")
        .arg("a")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let set: i64 = redis::cmd("HSETNX")
        .arg("n")
        .arg("a")
        .arg(&b65)
        .query(&mut c)
        .unwrap();
    assert_eq!(set, 0);
    assert_eq!(encoding(&mut c, "n"), "listpack");
    let set: i64 = redis::cmd("HSETNX")
        .arg("n")
        .arg("b")
        .arg(&b65)
        .query(&mut c)
        .unwrap();
    assert_eq!(set, 1);
    assert_eq!(encoding(&mut c, "n"), "hashtable");

    // HINCRBY and HINCRBYFLOAT convert on a long field name as well.
    let _: i64 = redis::cmd("HINCRBY")
        .arg("i")
        .arg(&b64)
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "i"), "listpack");
    let _: i64 = redis::cmd("HINCRBY")
        .arg("i")
        .arg(&b65)
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "i"), "hashtable");
    let _: String = redis::cmd("HINCRBYFLOAT")
        .arg("g")
        .arg(&b65)
        .arg(1.5)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "g"), "hashtable");
}

#[test]
fn config_set_thresholds_apply_from_the_next_write() {
    let server = start();
    let mut c = conn(&server);
    config_set(&mut c, "hash-max-listpack-entries", "2");
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg(1)
        .arg("b")
        .arg(2)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "h"), "listpack");
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("c")
        .arg(3)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "h"), "hashtable");

    // Lowering the limit converts nothing by itself, nor does HDEL; the
    // next write does, even one that only updates a field.
    config_set(&mut c, "hash-max-listpack-entries", "512");
    fill(&mut c, "k", 0..3);
    config_set(&mut c, "hash-max-ziplist-entries", "1");
    let _: i64 = redis::cmd("HDEL").arg("k").arg("f2").query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "k"), "listpack");
    let _: i64 = redis::cmd("HSET")
        .arg("k")
        .arg("f0")
        .arg("new")
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "k"), "hashtable");

    // With no listpack entries allowed, the first field converts.
    config_set(&mut c, "hash-max-listpack-entries", "0");
    let _: i64 = redis::cmd("HSET")
        .arg("z")
        .arg("a")
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "z"), "hashtable");
    config_set(&mut c, "hash-max-listpack-entries", "512");

    // The value limit, through its old name too: a sum that grows past it
    // converts the hash.
    config_set(&mut c, "hash-max-ziplist-value", "1");
    let _: i64 = redis::cmd("HSET")
        .arg("n")
        .arg("a")
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(encoding(&mut c, "n"), "listpack");
    let n: i64 = redis::cmd("HINCRBY")
        .arg("n")
        .arg("a")
        .arg(10)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 11);
    assert_eq!(encoding(&mut c, "n"), "hashtable");
    let _: i64 = redis::cmd("HSET")
        .arg("fl")
        .arg("a")
        .arg(1)
        .query(&mut c)
        .unwrap();
    let f: String = redis::cmd("HINCRBYFLOAT")
        .arg("fl")
        .arg("a")
        .arg("0.5")
        .query(&mut c)
        .unwrap();
    assert_eq!(f, "1.5");
    assert_eq!(encoding(&mut c, "fl"), "hashtable");
}

#[test]
fn debug_htstats_key_sees_the_table_only_after_conversion() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    fill(&mut c, "h", 0..10);
    let err = redis::cmd("DEBUG")
        .arg("HTSTATS-KEY")
        .arg("h")
        .query::<String>(&mut c)
        .unwrap_err();
    assert_eq!(
        err.detail(),
        Some("The value stored at the specified key is not represented using an hash table")
    );
    fill(&mut c, "h", 10..600);
    let stats: String = redis::cmd("DEBUG")
        .arg("HTSTATS-KEY")
        .arg("h")
        .query(&mut c)
        .unwrap();
    assert!(stats.contains("number of elements: 600"), "{stats}");
}

// ============================================================================
// Keys come and go with their fields
// ============================================================================

#[test]
fn hdel_of_the_last_field_deletes_the_key_and_its_ttl() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "h", 0..3);
    let _: i64 = redis::cmd("EXPIRE")
        .arg("h")
        .arg(100)
        .query(&mut c)
        .unwrap();
    // Writes keep the TTL.
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("f9")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let _: i64 = redis::cmd("HINCRBY")
        .arg("h")
        .arg("n")
        .arg(1)
        .query(&mut c)
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg("h").query(&mut c).unwrap();
    assert!(ttl > 0);
    let n: i64 = redis::cmd("HDEL")
        .arg("h")
        .arg(&["f0", "f1", "f2", "f9", "n", "f0"])
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 5);
    let t: String = redis::cmd("TYPE").arg("h").query(&mut c).unwrap();
    assert_eq!(t, "none");
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg("h").query(&mut c).unwrap();
    assert_eq!(ttl, -1, "a new hash under the old name has no TTL");
    assert_eq!(encoding(&mut c, "h"), "listpack");

    // The same on a hashtable hash.
    fill(&mut c, "t", 0..600);
    let fields: Vec<String> = (0..600).map(|i| format!("f{i}")).collect();
    let n: i64 = redis::cmd("HDEL")
        .arg("t")
        .arg(&fields)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 600);
    let exists: i64 = redis::cmd("EXISTS").arg("t").query(&mut c).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn commands_that_fail_create_no_key() {
    let server = start();
    let mut wire = Wire::connect(&server);
    for cmd in [
        &[&b"HINCRBY"[..], b"k", b"f", b"x"][..],
        &[b"HINCRBYFLOAT", b"k", b"f", b"inf"],
        &[b"HSET", b"k", b"f"],
        &[b"HDEL", b"k", b"f"],
    ] {
        wire.call(cmd);
        assert_eq!(wire.call(&[b"EXISTS", b"k"]), ":0\r\n");
    }
}

// ============================================================================
// HRANDFIELD
// ============================================================================

/// Fields (and values) from a flat RESP2 HRANDFIELD reply.
fn randfield(
    c: &mut redis::Connection,
    key: &str,
    count: i64,
    with_values: bool,
) -> Vec<(String, Option<String>)> {
    let mut cmd = redis::cmd("HRANDFIELD");
    cmd.arg(key).arg(count);
    if with_values {
        cmd.arg("WITHVALUES");
    }
    let flat: Vec<String> = cmd.query(c).unwrap();
    if with_values {
        flat.chunks(2)
            .map(|p| (p[0].clone(), Some(p[1].clone())))
            .collect()
    } else {
        flat.into_iter().map(|f| (f, None)).collect()
    }
}

/// Positive counts give distinct fields, `min(count, size)` of them, with
/// their own values, whichever of Redis's strategies serves the count.
fn check_distinct_picks(c: &mut redis::Connection, key: &str, size: usize) {
    // 1: case 1; size / 10: case 4 (draws); size / 2: case 3 (removals);
    // size and beyond: case 2 (everything).
    for count in [1, size / 10, size / 2, size - 1, size, size + 7] {
        for with_values in [false, true] {
            let picks = randfield(c, key, count as i64, with_values);
            assert_eq!(picks.len(), count.min(size), "count {count}");
            let distinct: HashSet<&String> = picks.iter().map(|(f, _)| f).collect();
            assert_eq!(distinct.len(), picks.len(), "repeats for count {count}");
            for (field, value) in &picks {
                let i: usize = field[1..].parse().unwrap();
                assert!(i < size);
                if let Some(v) = value {
                    assert_eq!(v, &format!("v{i}"));
                }
            }
        }
    }
}

#[test]
fn hrandfield_positive_counts_return_distinct_fields_on_both_encodings() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "small", 0..100);
    assert_eq!(encoding(&mut c, "small"), "listpack");
    check_distinct_picks(&mut c, "small", 100);
    fill(&mut c, "big", 0..1000);
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    check_distinct_picks(&mut c, "big", 1000);
}

#[test]
fn hrandfield_negative_counts_repeat_and_reach_every_field() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "small", 0..5);
    fill(&mut c, "big", 0..600);
    for (key, size, draws) in [("small", 5, 500), ("big", 600, 20000)] {
        let picks = randfield(&mut c, key, -draws, true);
        assert_eq!(picks.len(), draws as usize);
        let seen: HashSet<&String> = picks.iter().map(|(f, _)| f).collect();
        // Missing a field has probability below size * (1 - 1/size)^draws,
        // under 1e-12 for both.
        assert_eq!(seen.len(), size, "{key}");
        for (field, value) in &picks {
            assert_eq!(value.as_deref(), Some(format!("v{}", &field[1..]).as_str()));
        }
    }
}

#[test]
fn hrandfield_small_counts_of_a_listpack_come_in_listpack_order_and_cover_it() {
    // Redis's lpRandomPairsUnique walks the listpack once, so the picks
    // keep listpack order; over many calls every field is picked.
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "h", 0..100);
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let picks = randfield(&mut c, "h", 10, false);
        let order: Vec<usize> = picks.iter().map(|(f, _)| f[1..].parse().unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        seen.extend(order);
    }
    assert_eq!(seen.len(), 100);
}

#[test]
fn hrandfield_without_count_picks_every_field_eventually() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "small", 0..4);
    fill(&mut c, "big", 0..520);
    for (key, size, tries) in [("small", 4, 200), ("big", 520, 20000)] {
        let mut seen = HashSet::new();
        for _ in 0..tries {
            let f: String = redis::cmd("HRANDFIELD").arg(key).query(&mut c).unwrap();
            seen.insert(f);
        }
        assert_eq!(seen.len(), size, "{key}");
    }
}

#[test]
fn hrandfield_resp3_nests_pairs_on_both_encodings() {
    let server = start();
    let mut wire = Wire::connect(&server);
    wire.call(&[b"HELLO", b"3"]);
    let mut c = conn(&server);
    fill(&mut c, "small", 0..10);
    fill(&mut c, "big", 0..600);
    for key in [&b"small"[..], b"big"] {
        for count in [&b"3"[..], b"-3", b"1", b"-1"] {
            let reply = wire.call(&[b"HRANDFIELD", key, count, b"WITHVALUES"]);
            let lines: Vec<&str> = reply.split("\r\n").collect();
            let n: usize = count
                .iter()
                .filter(|b| b.is_ascii_digit())
                .fold(0, |n, d| n * 10 + (d - b'0') as usize);
            assert_eq!(lines[0], format!("*{n}"), "{reply}");
            // Each pick: *2, $len, field, $len, value.
            for pick in 0..n {
                assert_eq!(lines[1 + pick * 5], "*2", "{reply}");
                let field = lines[3 + pick * 5];
                let value = lines[5 + pick * 5];
                assert_eq!(value, format!("v{}", &field[1..]));
            }
        }
    }
}

// ============================================================================
// HSCAN
// ============================================================================

fn hscan(c: &mut redis::Connection, key: &str, cursor: u64, extra: &[&str]) -> (u64, Vec<String>) {
    let (cursor, items): (String, Vec<String>) = redis::cmd("HSCAN")
        .arg(key)
        .arg(cursor)
        .arg(extra)
        .query(c)
        .unwrap();
    (cursor.parse().unwrap(), items)
}

#[test]
fn hscan_of_a_listpack_returns_everything_at_once_with_cursor_0() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "h", 0..100);
    for cursor in [0, 7, 12345] {
        let (next, items) = hscan(&mut c, "h", cursor, &["COUNT", "1"]);
        assert_eq!(next, 0);
        assert_eq!(items.len(), 200);
        assert_eq!(items[..4], ["f0", "v0", "f1", "v1"]);
    }
    let (_, items) = hscan(&mut c, "h", 0, &["MATCH", "f1?"]);
    let fields: Vec<&String> = items.iter().step_by(2).collect();
    assert_eq!(
        fields,
        (10..20)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
}

#[test]
fn hscan_of_a_hashtable_returns_every_pair_once_count_pairs_at_a_time() {
    let server = start();
    let mut c = conn(&server);
    fill(&mut c, "h", 0..2000);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    for count in [1usize, 10, 100] {
        let mut all: BTreeMap<String, String> = BTreeMap::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let (next, items) = hscan(&mut c, "h", cursor, &["COUNT", &count.to_string()]);
            calls += 1;
            // COUNT counts pairs: a call stops once it has that many,
            // unless the walk is over (whole buckets make it overshoot).
            if next != 0 {
                assert!(
                    items.len() / 2 >= count,
                    "{} pairs for COUNT {count}",
                    items.len() / 2
                );
            }
            for pair in items.chunks(2) {
                let fresh = all.insert(pair[0].clone(), pair[1].clone()).is_none();
                assert!(fresh, "{} returned twice", pair[0]);
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(all.len(), 2000);
        assert!(all.iter().all(|(f, v)| v[1..] == f[1..]));
        assert!(calls <= 2000 / count + 1, "{calls} calls for COUNT {count}");
    }
    // MATCH filters after counting: the walk still ends, and finds exactly
    // the matching fields.
    let mut found = Vec::new();
    let mut cursor = 0;
    loop {
        let (next, items) = hscan(&mut c, "h", cursor, &["MATCH", "f1??", "COUNT", "50"]);
        found.extend(items.into_iter().step_by(2));
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    found.sort();
    let mut expected: Vec<String> = (100..200).map(|i| format!("f{i}")).collect();
    expected.sort();
    assert_eq!(found, expected);
}

// ============================================================================
// Against a model
// ============================================================================

/// Limits small enough that the property test crosses them often.
const MAX_ENTRIES: usize = 4;
const MAX_VALUE: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Set(Vec<(String, String)>),
    SetNx(String, String),
    Del(Vec<String>),
    IncrBy(String, i64),
    Get(String),
    Exists(String),
    StrLen(String),
    Len,
    GetAll,
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-d]",
        "[0-9]{1,2}",
        "-[1-9]",
        "[a-z]{5,8}", // sometimes over MAX_VALUE
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,3}", "-?[0-9]{1,3}", "[a-z]{6,9}"]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec((field(), value()), 1..4).prop_map(Op::Set),
        1 => (field(), value()).prop_map(|(f, v)| Op::SetNx(f, v)),
        2 => prop::collection::vec(field(), 1..4).prop_map(Op::Del),
        1 => (field(), -1000i64..1000).prop_map(|(f, n)| Op::IncrBy(f, n)),
        1 => field().prop_map(Op::Get),
        1 => field().prop_map(Op::Exists),
        1 => field().prop_map(Op::StrLen),
        1 => Just(Op::Len),
        1 => Just(Op::GetAll),
    ]
}

/// The model: the pairs, and whether the hash must have become a table.
#[derive(Default)]
struct Model {
    pairs: HashMap<String, String>,
    table: bool,
}

impl Model {
    /// The sticky conversion rule: any write argument too long, or too
    /// many fields after a write.
    fn wrote(&mut self, lengths: &[usize]) {
        if lengths.iter().any(|&l| l > MAX_VALUE) || self.pairs.len() > MAX_ENTRIES {
            self.table = true;
        }
    }

    fn forget_if_empty(&mut self) {
        if self.pairs.is_empty() {
            self.table = false;
        }
    }
}

fn run_op(c: &mut redis::Connection, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Set(pairs) => {
            let mut cmd = redis::cmd("HSET");
            cmd.arg("h");
            let mut lengths = Vec::new();
            let mut added = 0;
            for (f, v) in pairs {
                cmd.arg(f).arg(v);
                lengths.extend([f.len(), v.len()]);
                added += i64::from(m.pairs.insert(f.clone(), v.clone()).is_none());
            }
            let n: i64 = cmd.query(c).unwrap();
            prop_assert_eq!(n, added);
            m.wrote(&lengths);
        }
        Op::SetNx(f, v) => {
            let n: i64 = redis::cmd("HSETNX")
                .arg("h")
                .arg(f)
                .arg(v)
                .query(c)
                .unwrap();
            if m.pairs.contains_key(f) {
                prop_assert_eq!(n, 0);
            } else {
                prop_assert_eq!(n, 1);
                m.pairs.insert(f.clone(), v.clone());
                m.wrote(&[f.len(), v.len()]);
            }
        }
        Op::Del(fields) => {
            let n: i64 = redis::cmd("HDEL").arg("h").arg(fields).query(c).unwrap();
            // Redis stops at the field that empties the hash.
            let mut removed = 0;
            for f in fields {
                if m.pairs.is_empty() {
                    break;
                }
                removed += i64::from(m.pairs.remove(f).is_some());
            }
            prop_assert_eq!(n, removed);
            m.forget_if_empty();
        }
        Op::IncrBy(f, by) => {
            let reply: redis::RedisResult<i64> =
                redis::cmd("HINCRBY").arg("h").arg(f).arg(*by).query(c);
            let old = m.pairs.get(f).map_or(Some(0), |v| {
                v.parse::<i64>().ok().filter(|n| n.to_string() == *v)
            });
            match old {
                Some(old) => {
                    let sum = old + by;
                    prop_assert_eq!(reply.unwrap(), sum);
                    m.pairs.insert(f.clone(), sum.to_string());
                    m.wrote(&[f.len(), sum.to_string().len()]);
                }
                None => {
                    let err = reply.unwrap_err();
                    prop_assert_eq!(err.detail(), Some("hash value is not an integer"));
                }
            }
        }
        Op::Get(f) => {
            let v: Option<String> = redis::cmd("HGET").arg("h").arg(f).query(c).unwrap();
            prop_assert_eq!(v.as_ref(), m.pairs.get(f));
        }
        Op::Exists(f) => {
            let v: bool = redis::cmd("HEXISTS").arg("h").arg(f).query(c).unwrap();
            prop_assert_eq!(v, m.pairs.contains_key(f));
        }
        Op::StrLen(f) => {
            let v: usize = redis::cmd("HSTRLEN").arg("h").arg(f).query(c).unwrap();
            prop_assert_eq!(v, m.pairs.get(f).map_or(0, String::len));
        }
        Op::Len => {
            let v: usize = redis::cmd("HLEN").arg("h").query(c).unwrap();
            prop_assert_eq!(v, m.pairs.len());
        }
        Op::GetAll => {
            let v: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(c).unwrap();
            prop_assert_eq!(&v, &m.pairs);
            let mut keys: Vec<String> = redis::cmd("HKEYS").arg("h").query(c).unwrap();
            let mut vals: Vec<String> = redis::cmd("HVALS").arg("h").query(c).unwrap();
            keys.sort();
            vals.sort();
            let mut want_keys: Vec<String> = m.pairs.keys().cloned().collect();
            let mut want_vals: Vec<String> = m.pairs.values().cloned().collect();
            want_keys.sort();
            want_vals.sort();
            prop_assert_eq!(keys, want_keys);
            prop_assert_eq!(vals, want_vals);
        }
    }
    // After every step: the key exists exactly when the model has fields,
    // with the encoding the conversion rules predict.
    let exists: bool = redis::cmd("EXISTS").arg("h").query(c).unwrap();
    prop_assert_eq!(exists, !m.pairs.is_empty());
    if exists {
        let want = if m.table { "hashtable" } else { "listpack" };
        prop_assert_eq!(encoding(c, "h"), want, "after {:?}", op);
    }
    Ok(())
}

#[test]
fn hash_commands_behave_like_a_map_and_convert_by_the_rules() {
    let server = start_with(|cfg| {
        cfg.hash_max_listpack_entries = MAX_ENTRIES;
        cfg.hash_max_listpack_value = MAX_VALUE;
    });
    // The runner takes an `Fn`, so the connection sits in a RefCell.
    let c = std::cell::RefCell::new(conn(&server));
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            let c = &mut *c.borrow_mut();
            let _: () = redis::cmd("FLUSHALL").query(c).unwrap();
            let mut model = Model::default();
            for op in &ops {
                run_op(c, &mut model, op)?;
            }
            Ok(())
        })
        .unwrap();
}
