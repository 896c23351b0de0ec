//! # Reading RDB
//!
//! The loader parses a whole file (or one `RESTORE` payload) held in
//! memory. It trusts nothing: every length is checked against the bytes
//! that remain before anything is allocated, every listpack and intset
//! passes its own validation walk before it becomes a value, and a
//! collection is re-encoded for the *current* thresholds, as Redis does
//! (a listpack hash with more fields than `hash-max-listpack-entries`
//! becomes a hash table on load). Redis: `rdb.c`, `rdbLoadRio`,
//! `rdbLoadObject`, `rdbGenericLoadStringObject`, `ziplistValidateIntegrity`
//! and the ziplist-to-listpack conversions of `rdbLoadObject`.

use std::path::Path;

use super::{
    crc64, len_enc, opcode, rdb_type, QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN, RDB_VERSION,
};
use crate::commands::hash::HashLimits;
use crate::commands::zset::ZsetLimits;
use crate::db::Db;
use crate::dict::Dict;
use crate::intset::Intset;
use crate::listpack::Listpack;
use crate::object::{HashValue, RObj, SetValue, SortedTable, StrValue, Value, ZSetValue};
use crate::quicklist::Quicklist;
use crate::sds::Sds;
use crate::server::config::Config;
use crate::skiplist::Skiplist;

/// What a load did, for INFO (`rdb_last_load_keys_*`) and the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    /// The `repl-stream-db` aux field: the db a primary's stream was in
    /// when the snapshot was taken (a replica's master client starts there).
    pub repl_stream_db: Option<usize>,
    /// The code of each FUNCTION library the file holds (`FUNCTION2`
    /// records), for the caller to load into the server's registry.
    pub functions: Vec<Vec<u8>>,
}

type LoadResult<T> = Result<T, String>;

/// A cursor over bytes that refuses to read past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> LoadResult<&'a [u8]> {
        if n > self.buf.len() - self.pos {
            return Err("Unexpected EOF reading RDB file".into());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn byte(&mut self) -> LoadResult<u8> {
        Ok(self.take(1)?[0])
    }

    /// Every byte has been read.
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn u64_le(&mut self) -> LoadResult<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    // ANCHOR: rdb_load_len
    /// A length, or (second value true) the tag of a special string
    /// (`rdbLoadLenByRef`).
    fn len_or_enc(&mut self) -> LoadResult<(u64, bool)> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => ((first & 0x3f) as u64, false),
            1 => ((((first & 0x3f) as u64) << 8) | self.byte()? as u64, false),
            3 => ((first & 0x3f) as u64, true),
            _ => match first {
                len_enc::BITS32 => (
                    u32::from_be_bytes(self.take(4)?.try_into().expect("4")) as u64,
                    false,
                ),
                len_enc::BITS64 => (
                    u64::from_be_bytes(self.take(8)?.try_into().expect("8")),
                    false,
                ),
                _ => return Err(format!("Unknown length encoding {first} in rdbLoadLen()")),
            },
        })
    }

    fn len(&mut self) -> LoadResult<u64> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err("Unexpected string encoding where a length was expected".into()),
        }
    }

    /// A length that also bounds a count of items still to read: each item
    /// takes at least one byte, so a count above the bytes left is a lie.
    fn count(&mut self) -> LoadResult<usize> {
        let n = self.len()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err("Length larger than the data that follows".into());
        }
        Ok(n as usize)
    }

    /// A string in any of its forms (`rdbGenericLoadStringObject`).
    pub fn string(&mut self) -> LoadResult<Vec<u8>> {
        let (n, encoded) = self.len_or_enc()?;
        if !encoded {
            return Ok(self
                .take(usize::try_from(n).map_err(|_| "length overflow")?)?
                .to_vec());
        }
        match n as u8 {
            len_enc::INT8 => Ok((self.byte()? as i8).to_string().into_bytes()),
            len_enc::INT16 => {
                let v = i16::from_le_bytes(self.take(2)?.try_into().expect("2"));
                Ok(v.to_string().into_bytes())
            }
            len_enc::INT32 => {
                let v = i32::from_le_bytes(self.take(4)?.try_into().expect("4"));
                Ok(v.to_string().into_bytes())
            }
            len_enc::LZF => {
                let clen = self.count()?;
                let len = self.len()? as usize;
                let c = self.take(clen)?;
                crate::lzf::decompress(c, len).ok_or_else(|| "Invalid LZF compressed string".into())
            }
            other => Err(format!("Unknown RDB string encoding type {other}")),
        }
    }
    // ANCHOR_END: rdb_load_len

    /// An old-style text double: 1 length byte, or 253/254/255 for
    /// NaN/+inf/-inf (`rdbLoadDoubleValue`).
    fn text_double(&mut self) -> LoadResult<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let t = self.take(n as usize)?;
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| "Invalid double value".into())
            }
        }
    }

    fn binary_double(&mut self) -> LoadResult<f64> {
        Ok(f64::from_bits(self.u64_le()?))
    }
}

/// The entries of a ziplist (Redis < 7's compact encoding), as bytes
/// (integers as their decimal text), after checking every header against
/// the blob's bounds. Redis 7.0 still loads ziplist-based types by
/// converting them to listpacks; so do we. Redis: `ziplist.c`,
/// `zipEntrySafe`.
fn ziplist_entries(zl: &[u8]) -> LoadResult<Vec<Vec<u8>>> {
    let bad = || "Ziplist integrity check failed".to_string();
    if zl.len() < 11
        || u32::from_le_bytes(zl[0..4].try_into().expect("4")) as usize != zl.len()
        || zl[zl.len() - 1] != 0xff
    {
        return Err(bad());
    }
    let end = zl.len() - 1;
    let mut p = 10;
    let mut out = Vec::new();
    while p < end {
        // prevlen: 1 byte, or 0xFE and 4 more.
        p += if zl[p] < 254 { 1 } else { 5 };
        let enc = *zl.get(p).ok_or_else(bad)?;
        let get = |from: usize, n: usize| zl.get(from..from + n).ok_or_else(bad);
        let (entry, next): (Vec<u8>, usize) = match enc >> 6 {
            0 => {
                let n = (enc & 0x3f) as usize;
                (get(p + 1, n)?.to_vec(), p + 1 + n)
            }
            1 => {
                let n = (((enc & 0x3f) as usize) << 8) | *zl.get(p + 1).ok_or_else(bad)? as usize;
                (get(p + 2, n)?.to_vec(), p + 2 + n)
            }
            2 => {
                let n = u32::from_be_bytes(get(p + 1, 4)?.try_into().expect("4")) as usize;
                (get(p + 5, n)?.to_vec(), p + 5 + n)
            }
            _ => {
                let (v, size): (i64, usize) = match enc {
                    0xc0 => (
                        i16::from_le_bytes(get(p + 1, 2)?.try_into().expect("2")) as i64,
                        2,
                    ),
                    0xd0 => (
                        i32::from_le_bytes(get(p + 1, 4)?.try_into().expect("4")) as i64,
                        4,
                    ),
                    0xe0 => (i64::from_le_bytes(get(p + 1, 8)?.try_into().expect("8")), 8),
                    0xf0 => {
                        let b = get(p + 1, 3)?;
                        ((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64, 3)
                    }
                    0xfe => (get(p + 1, 1)?[0] as i8 as i64, 1),
                    0xf1..=0xfd => ((enc & 0x0f) as i64 - 1, 0),
                    _ => return Err(bad()),
                };
                (v.to_string().into_bytes(), p + 1 + size)
            }
        };
        if next > end {
            return Err(bad());
        }
        out.push(entry);
        p = next;
    }
    Ok(out)
}

fn listpack_of(entries: &[Vec<u8>]) -> Listpack {
    let mut lp = Listpack::new();
    for e in entries {
        lp.push_back(e);
    }
    lp
}

fn listpack_blob(bytes: Vec<u8>) -> LoadResult<Listpack> {
    Listpack::from_bytes(bytes).ok_or_else(|| "Listpack integrity check failed".into())
}

/// A flat blob of field/value (or member/score) pairs: an even, non-zero
/// entry count.
fn check_pairs(lp: &Listpack) -> LoadResult<()> {
    if lp.is_empty() || !lp.len().is_multiple_of(2) {
        return Err("Listpack of pairs has an odd or zero length".into());
    }
    Ok(())
}

fn zset_from_listpack(lp: Listpack, cfg: &Config) -> LoadResult<Value> {
    check_pairs(&lp)?;
    // Every score must parse; a member may not repeat.
    let mut seen = std::collections::HashSet::new();
    let mut it = lp.iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        if crate::commands::zset::parse_score(&s.to_vec()).is_none() || !seen.insert(m.to_vec()) {
            return Err("Corrupt sorted set listpack".into());
        }
    }
    let mut z = ZSetValue::Listpack(lp);
    if z.len() > cfg.zset_max_listpack_entries {
        z.convert_to_skiplist();
    }
    Ok(Value::ZSet(Box::new(z)))
}

fn hash_from_listpack(lp: Listpack, cfg: &Config) -> LoadResult<Value> {
    check_pairs(&lp)?;
    let mut seen = std::collections::HashSet::new();
    let mut it = lp.iter();
    while let (Some(f), Some(_)) = (it.next(), it.next()) {
        if !seen.insert(f.to_vec()) {
            return Err("Duplicate hash fields detected".into());
        }
    }
    let mut h = HashValue::Listpack(lp);
    if h.len() > cfg.hash_max_listpack_entries {
        h.convert_to_table();
    }
    Ok(Value::Hash(Box::new(h)))
}

// ANCHOR: rdb_load_object
/// One value of RDB type `t` (`rdbLoadObject`). `Ok(None)` is an empty
/// collection, which Redis skips rather than refuses.
pub fn load_value(t: u8, r: &mut Reader, cfg: &Config) -> LoadResult<Option<Value>> {
    let fill = cfg.list_max_listpack_size;
    let depth = cfg.list_compress_depth;
    let value = match t {
        rdb_type::STRING => Value::Str(StrValue::from_bytes(&r.string()?)),
        rdb_type::LIST_QUICKLIST_2 | rdb_type::LIST_QUICKLIST => {
            let mut ql = Quicklist::new(fill, depth);
            for _ in 0..r.count()? {
                let container = if t == rdb_type::LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let data = r.string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => ql.append_plain_node(data),
                    QUICKLIST_NODE_PACKED if t == rdb_type::LIST_QUICKLIST => {
                        ql.append_listpack(listpack_of(&ziplist_entries(&data)?))
                    }
                    QUICKLIST_NODE_PACKED => ql.append_listpack(listpack_blob(data)?),
                    other => return Err(format!("Unknown quicklist node container {other}")),
                }
            }
            if ql.is_empty() {
                return Ok(None);
            }
            Value::List(Box::new(ql))
        }
        rdb_type::LIST | rdb_type::LIST_ZIPLIST => {
            let items = if t == rdb_type::LIST {
                let n = r.count()?;
                (0..n).map(|_| r.string()).collect::<LoadResult<Vec<_>>>()?
            } else {
                ziplist_entries(&r.string()?)?
            };
            let mut ql = Quicklist::new(fill, depth);
            for it in &items {
                ql.push_back(it);
            }
            if ql.is_empty() {
                return Ok(None);
            }
            Value::List(Box::new(ql))
        }
        rdb_type::SET => {
            let n = r.count()?;
            let mut set: Option<SetValue> = None;
            for _ in 0..n {
                let m = r.string()?;
                let s = set.get_or_insert_with(|| {
                    if n > cfg.set_max_intset_entries {
                        SetValue::Table(Box::default())
                    } else {
                        SetValue::new_for(&m)
                    }
                });
                if !s.add(&m, cfg.set_max_intset_entries) {
                    return Err("Duplicate set members detected".into());
                }
            }
            match set {
                Some(s) => Value::Set(s),
                None => return Ok(None),
            }
        }
        rdb_type::SET_INTSET => {
            let is = Intset::from_bytes(r.string()?).ok_or("Intset integrity check failed")?;
            let mut s = SetValue::Intset(is);
            if s.len() > cfg.set_max_intset_entries {
                s.convert_to_table();
            }
            Value::Set(s)
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.count()?;
            let mut table = SortedTable {
                dict: Dict::new(),
                list: Skiplist::new(),
            };
            let (mut maxlen, mut total) = (0, 0);
            for _ in 0..n {
                let m = r.string()?;
                let score = if t == rdb_type::ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                if score.is_nan() {
                    return Err("Zset with NAN score detected".into());
                }
                maxlen = maxlen.max(m.len());
                total += m.len();
                if table.dict.insert(Sds::new(&m), score).is_some() {
                    return Err("Duplicate zset fields detected".into());
                }
                table.list.insert(score, Sds::new(&m));
            }
            if n == 0 {
                return Ok(None);
            }
            let mut z = ZSetValue::Skiplist(Box::new(table));
            z.convert_to_listpack_if_fits(maxlen, total, ZsetLimits::from_config(cfg));
            Value::ZSet(Box::new(z))
        }
        rdb_type::ZSET_LISTPACK => zset_from_listpack(listpack_blob(r.string()?)?, cfg)?,
        rdb_type::ZSET_ZIPLIST => {
            zset_from_listpack(listpack_of(&ziplist_entries(&r.string()?)?), cfg)?
        }
        rdb_type::HASH => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let limits = HashLimits::from_config(cfg);
            let mut h = HashValue::new();
            if n > limits.max_entries {
                h.convert_to_table();
            }
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                if h.set(&f, &v, limits) {
                    return Err("Duplicate hash fields detected".into());
                }
            }
            Value::Hash(Box::new(h))
        }
        rdb_type::HASH_LISTPACK => hash_from_listpack(listpack_blob(r.string()?)?, cfg)?,
        rdb_type::HASH_ZIPLIST => {
            hash_from_listpack(listpack_of(&ziplist_entries(&r.string()?)?), cfg)?
        }
        rdb_type::MODULE | rdb_type::MODULE_2 => {
            return Err("This server has no modules: cannot load a module value".into())
        }
        rdb_type::STREAM_LISTPACKS | rdb_type::STREAM_LISTPACKS_2 => {
            Value::Stream(Box::new(load_stream(r, t == rdb_type::STREAM_LISTPACKS_2)?))
        }
        rdb_type::HASH_ZIPMAP => return Err("Zipmap hashes (Redis < 2.6) are not supported".into()),
        other => return Err(format!("Unknown RDB value type {other}")),
    };
    Ok(Some(value))
}
// ANCHOR_END: rdb_load_object

// ANCHOR: rdb_load_stream
/// A stream (`RDB_TYPE_STREAM_LISTPACKS` 15 or `_2` 19), the reverse of
/// `save::RdbWriter::stream`. Each node's listpack is checked entry by
/// entry before it is trusted (`streamValidateListpackIntegrity`), since
/// the commands walk it without bounds checks. Type 15 (Redis 5 and 6)
/// lacks the 7.0 counters: they are derived as Redis derives them.
fn load_stream(r: &mut Reader, v2: bool) -> LoadResult<crate::stream::Stream> {
    use crate::stream::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamId};
    let read_id =
        |r: &mut Reader| -> LoadResult<StreamId> { Ok(StreamId::new(r.len()?, r.len()?)) };
    let raw_id = |r: &mut Reader| -> LoadResult<StreamId> {
        let b: &[u8; 16] = r.take(16)?.try_into().expect("16 bytes");
        Ok(StreamId::from_be_bytes(b))
    };
    let mut s = Stream::new();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key = r.string()?;
        let key: &[u8; 16] = key
            .as_slice()
            .try_into()
            .map_err(|_| "Stream node key entry is not the size of a stream ID".to_string())?;
        let master = StreamId::from_be_bytes(key);
        let lp =
            Listpack::from_bytes(r.string()?).ok_or("Stream listpack integrity check failed.")?;
        if lp.is_empty() {
            return Err("Empty listpack inside stream".into());
        }
        if !crate::stream::validate_node(master, &lp) {
            return Err("Stream listpack integrity check failed.".into());
        }
        if s.nodes.insert(master, lp).is_some() {
            return Err("Duplicated key found in the stream".into());
        }
    }
    s.length = r.len()?;
    s.last_id = read_id(r)?;
    if v2 {
        s.first_id = read_id(r)?;
        s.max_deleted_entry_id = read_id(r)?;
        s.entries_added = r.len()?;
    } else {
        s.entries_added = s.length;
        s.first_id = s.edge_id(true, false).unwrap_or(StreamId::MIN);
    }
    if s.length > 0 && s.nodes.is_empty() {
        return Err("Stream length inconsistent with the empty node tree".into());
    }
    let groups = r.count()?;
    for _ in 0..groups {
        let name = r.string()?;
        let last_id = read_id(r)?;
        let entries_read = if v2 {
            r.len()? as i64
        } else {
            crate::commands::stream::estimate_distance(&s, last_id)
        };
        let mut g = ConsumerGroup {
            last_id,
            entries_read,
            ..Default::default()
        };
        let pel = r.count()?;
        for _ in 0..pel {
            let id = raw_id(r)?;
            let delivery_time = r.u64_le()? as i64;
            let delivery_count = r.len()?;
            let nack = PendingEntry {
                delivery_time,
                delivery_count,
                consumer: Vec::new(),
            };
            if g.pel.insert(id, nack).is_some() {
                return Err("Duplicated global PEL entry loading stream consumer group".into());
            }
        }
        let consumers = r.count()?;
        for _ in 0..consumers {
            let cname = r.string()?;
            let seen_time = r.u64_le()? as i64;
            let mut c = Consumer {
                seen_time,
                ..Default::default()
            };
            let n = r.count()?;
            for _ in 0..n {
                let id = raw_id(r)?;
                let nack = g
                    .pel
                    .get_mut(&id)
                    .ok_or("Consumer entry not found in group global PEL")?;
                nack.consumer = cname.clone();
                if c.pel.insert(id, ()).is_some() {
                    return Err(
                        "Duplicated consumer PEL entry loading a stream consumer group".into(),
                    );
                }
            }
            if g.consumers.insert(cname, c).is_some() {
                return Err("Duplicate stream consumer detected.".into());
            }
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err("Stream CG PEL entry without consumer".into());
        }
        if s.groups.insert(name, g).is_some() {
            return Err("Duplicated consumer group name".into());
        }
    }
    Ok(s)
}
// ANCHOR_END: rdb_load_stream

// ANCHOR: rdb_verify_dump
/// Is this a DUMP payload we can read (`verifyDumpPayload`)? The last 10
/// bytes are the RDB version (2 bytes, at most ours) and a CRC-64 of
/// everything before the CRC.
pub fn verify_dump_payload(p: &[u8]) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return false;
    }
    let crc = crc64(0, &p[..p.len() - 8]);
    crc.to_le_bytes() == footer[2..10]
}
// ANCHOR_END: rdb_verify_dump

/// Parse a DUMP payload's value (already verified).
pub fn load_dump_payload(p: &[u8], cfg: &Config) -> LoadResult<Value> {
    let body = &p[..p.len() - 10];
    let mut r = Reader::new(body);
    let t = r.byte()?;
    let v = load_value(t, &mut r, cfg)?.ok_or("empty value")?;
    if r.pos != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(v)
}

// ANCHOR: rdb_load_file
/// Load `path` into `dbs` (which the caller has emptied). `Ok(None)` when
/// there is no file. Keys already expired at `now_ms` are dropped, as a
/// master does (`rdbLoadRio`).
pub fn load_file(
    path: &Path,
    dbs: &mut [Db],
    cfg: &Config,
    lru_clock: u32,
    now_ms: i64,
    allow_dup: bool,
) -> LoadResult<Option<LoadStats>> {
    let buf = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    load_prefix(&buf, dbs, cfg, lru_clock, now_ms, allow_dup).map(|(stats, _)| Some(stats))
}

/// Parse a whole RDB image into `dbs`.
pub fn load_bytes(
    buf: &[u8],
    dbs: &mut [Db],
    cfg: &Config,
    lru_clock: u32,
    now_ms: i64,
) -> LoadResult<LoadStats> {
    load_prefix(buf, dbs, cfg, lru_clock, now_ms, false).map(|(stats, _)| stats)
}

/// Parse an RDB image at the start of `buf` into `dbs`; returns what it
/// loaded and where the image ends (just past the CRC). Bytes after that
/// are the caller's: an old-style AOF with an RDB preamble continues with
/// commands there. `allow_dup` is DEBUG RELOAD MERGE's
/// `RDBFLAGS_ALLOW_DUP`: a key the keyspace already holds is replaced by
/// the file's; without it a duplicate is a damaged file.
pub fn load_prefix(
    buf: &[u8],
    dbs: &mut [Db],
    cfg: &Config,
    lru_clock: u32,
    now_ms: i64,
    allow_dup: bool,
) -> LoadResult<(LoadStats, usize)> {
    load_prefix_with(buf, dbs, cfg, lru_clock, now_ms, allow_dup, &mut |_, _| {})
}

/// Where a load has got to, for [`load_prefix_with`]'s progress calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadPoint {
    /// Bytes of the image read so far.
    pub bytes: u64,
    /// The `used-mem` AUX field, once read (0 before, or if absent).
    pub rdb_used_mem: u64,
    /// Keys loaded so far (INFO's `rdb_last_load_keys_loaded` grows
    /// during a load in Redis).
    pub keys_loaded: u64,
}

// ANCHOR: rdb_load_progress
/// [`load_prefix`], calling `on_progress` each time the read position
/// crosses a multiple of `loading-process-events-interval-bytes` (0: never),
/// with the keyspace being filled, so that the caller can serve clients
/// meanwhile (`busy.rs`; Redis's `rdbLoadProgressCallback`). After each
/// key it sleeps `key-load-delay` microseconds (negative: 1 µs every
/// |n| keys), the test directive that makes a small file load slowly.
pub fn load_prefix_with(
    buf: &[u8],
    dbs: &mut [Db],
    cfg: &Config,
    lru_clock: u32,
    now_ms: i64,
    allow_dup: bool,
    on_progress: &mut dyn FnMut(LoadPoint, &mut [Db]),
) -> LoadResult<(LoadStats, usize)> {
    let interval = cfg.loading_process_events_interval_bytes as usize;
    let mut next_progress_at = if interval == 0 { usize::MAX } else { interval };
    let mut point = LoadPoint::default();
    let mut r = Reader::new(buf);
    let magic = r
        .take(9)
        .map_err(|_| "Short read or OOM loading DB. Unrecoverable error, aborting now.")?;
    if &magic[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version: u16 = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(format!("Can't handle RDB format version {version}"));
    }
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        if r.pos >= next_progress_at {
            next_progress_at = (r.pos / interval + 1) * interval;
            point.bytes = r.pos as u64;
            point.keys_loaded = stats.keys_loaded;
            on_progress(point, dbs);
        }
        let t = r.byte()?;
        match t {
            opcode::EXPIRETIME_MS => expire = Some(r.u64_le()? as i64),
            opcode::EXPIRETIME => {
                let s = i32::from_le_bytes(r.take(4)?.try_into().expect("4"));
                expire = Some(s as i64 * 1000);
            }
            opcode::IDLE => idle = Some(r.len()?),
            opcode::FREQ => freq = Some(r.byte()?),
            opcode::EOF => break,
            opcode::SELECTDB => {
                let n = r.len()? as usize;
                if n >= dbs.len() {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                        dbs.len()
                    ));
                }
                db = n;
            }
            opcode::RESIZEDB => {
                let keys = r.count()?;
                let expires = r.count()?;
                let _ = dbs[db].dict.expand(keys);
                let _ = dbs[db].expires.expand(expires);
            }
            opcode::AUX => {
                // redis-ver, ctime, used-mem, repl-*: informational here,
                // except the stream's db, which a replica needs, and
                // used-mem, which feeds INFO's loading_rdb_used_mem.
                let name = r.string()?;
                let value = r.string()?;
                if name == b"repl-stream-db" {
                    stats.repl_stream_db =
                        std::str::from_utf8(&value).ok().and_then(|v| v.parse().ok());
                } else if name == b"used-mem" {
                    point.rdb_used_mem = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                }
            }
            opcode::MODULE_AUX => {
                return Err("The RDB file contains module AUX data, but this server has no modules. Refusing to load it.".into())
            }
            opcode::FUNCTION2 => stats.functions.push(r.string()?),
            opcode::FUNCTION => {
                // 7.0's release candidates wrote the name, engine and an
                // optional description beside the code; 7.0 GA puts them
                // in the code's first line, and so does this translation.
                let name = r.string()?;
                let engine = r.string()?;
                if r.len()? != 0 {
                    r.string()?; // the description, dropped
                }
                let body = r.string()?;
                let mut code = b"#!".to_vec();
                code.extend_from_slice(&engine);
                code.extend_from_slice(b" name=");
                code.extend_from_slice(&name);
                code.push(b'\n');
                code.extend_from_slice(&body);
                stats.functions.push(code);
            }
            _ => {
                if cfg.key_load_delay != 0 {
                    super::save::key_save_delay(cfg.key_load_delay, stats.keys_loaded + 1);
                }
                let key = r.string()?;
                let value = load_value(t, &mut r, cfg)?;
                let (when, idle_s, lfu) = (expire.take(), idle.take(), freq.take());
                let Some(value) = value else { continue };
                if when.is_some_and(|w| w < now_ms) {
                    stats.keys_expired += 1;
                    continue;
                }
                let lru = match (idle_s, lfu) {
                    (Some(s), _) => lru_clock.wrapping_sub(s as u32) & ((1 << 24) - 1),
                    (_, Some(f)) => ((((now_ms / 60_000) as u32) & 0xffff) << 8) | f as u32,
                    _ => lru_clock,
                };
                let d = &mut dbs[db];
                if d.dict.contains_key(&key) {
                    if allow_dup {
                        d.delete(&key);
                        d.add_with_expire(&key, RObj::new(value, lru), when);
                        stats.keys_loaded += 1;
                        continue;
                    }
                    return Err(format!("RDB has duplicated key '{}' in DB {db}", String::from_utf8_lossy(&key)));
                }
                d.add_with_expire(&key, RObj::new(value, lru), when);
                stats.keys_loaded += 1;
            }
        }
    }
    if version >= 5 {
        let computed = crc64(0, &buf[..r.pos]);
        let stored = r.u64_le()?;
        if cfg.rdbchecksum && stored != 0 && stored != computed {
            return Err(format!(
                "Wrong RDB checksum expected: ({stored:x}) got ({computed:x}). Aborting now."
            ));
        }
    }
    Ok((stats, r.pos))
}
// ANCHOR_END: rdb_load_progress
// ANCHOR_END: rdb_load_file

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built ziplist: "a", the immediate 5, the int16 300.
    fn tiny_ziplist() -> Vec<u8> {
        let entries = [0x00, 0x01, b'a', 0x03, 0xf6, 0x02, 0xc0, 0x2c, 0x01];
        let total = 10 + entries.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(15u32).to_le_bytes()); // offset of the last entry
        zl.extend_from_slice(&3u16.to_le_bytes());
        zl.extend_from_slice(&entries);
        zl.push(0xff);
        zl
    }

    #[test]
    fn ziplist_entries_decode_strings_and_integers() {
        let got = ziplist_entries(&tiny_ziplist()).unwrap();
        assert_eq!(got, vec![b"a".to_vec(), b"5".to_vec(), b"300".to_vec()]);
        let mut truncated = tiny_ziplist();
        truncated.truncate(15);
        assert!(ziplist_entries(&truncated).is_err());
    }

    #[test]
    fn an_old_ziplist_list_loads_as_a_quicklist() {
        let zl = tiny_ziplist();
        let mut payload = vec![zl.len() as u8];
        payload.extend_from_slice(&zl);
        let cfg = Config::default();
        let v = load_value(rdb_type::LIST_ZIPLIST, &mut Reader::new(&payload), &cfg)
            .unwrap()
            .unwrap();
        let Value::List(ql) = v else {
            panic!("not a list")
        };
        let items: Vec<Vec<u8>> = ql.iter().map(|e| e.to_vec()).collect();
        assert_eq!(items, vec![b"a".to_vec(), b"5".to_vec(), b"300".to_vec()]);
    }
}
