//! # Writing RDB
//!
//! [`RdbWriter`] turns values into RDB bytes, keeping the running CRC-64 as
//! it goes, over any `std::io::Write`: a `Vec<u8>` for `DUMP`, a buffered
//! file for `SAVE` and the `BGSAVE` child. Every choice of encoding below is
//! Redis's, so our files are byte-identical to Redis 7.0's for the same
//! keyspace (apart from `ctime` and `used-mem`). Redis: `rdb.c`,
//! `rdbSaveRio` and the `rdbSave*` helpers it calls.

use std::io::{self, Write};
use std::path::Path;

use super::{
    crc64, len_enc, opcode, rdb_type, QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN, RDB_VERSION,
};
use crate::db::Db;
use crate::object::{HashValue, RObj, SetValue, StrValue, Value, ZSetValue};
use crate::quicklist::{Container, NodeData};

/// The settings a save needs, copied out of the config so that the
/// `BGSAVE` child needs nothing but plain data.
#[derive(Clone, Copy, Debug)]
pub struct RdbOptions {
    /// `rdbcompression`.
    pub compression: bool,
    /// `rdbchecksum`.
    pub checksum: bool,
    /// 0 none, 1 save LRU idle seconds, 2 save LFU counters (by
    /// `maxmemory-policy`).
    pub lru_lfu: u8,
    /// The LRU clock now, to turn a key's clock into idle seconds.
    pub lru_clock: u32,
    /// `rdb-key-save-delay`: microseconds to sleep after each key (a test
    /// hook that makes a save slow enough to watch; negative -n sleeps
    /// 1 us every n keys). 0 in production.
    pub key_save_delay: i32,
    /// The replication position this snapshot is at, written as the
    /// `repl-stream-db`, `repl-id`, `repl-offset` aux fields so that a
    /// replica restarted from the file can ask for a partial resync.
    /// `None` (no fields) unless a SAVE/BGSAVE runs while there is a
    /// backlog, as Redis's `rdbPopulateSaveInfo` decides.
    pub repl: Option<ReplAux>,
}

/// The replication position of a snapshot (Redis's `rdbSaveInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplAux {
    /// The db the stream last selected (0 when none yet: the next write
    /// sends a SELECT anyway).
    pub stream_db: usize,
    /// `master_replid`, 40 hex digits.
    pub replid: [u8; 40],
    /// `master_repl_offset`.
    pub offset: i64,
}

/// Redis's `debugDelay`, once per key saved (`keys` counts them).
pub fn key_save_delay(delay: i32, keys: u64) {
    let micros = match delay {
        0 => return,
        d if d > 0 => d as u64,
        d => u64::from(keys.is_multiple_of(d.unsigned_abs() as u64)),
    };
    if micros > 0 {
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}

/// An RDB byte stream being written.
pub struct RdbWriter<W: Write> {
    out: W,
    crc: u64,
    opts: RdbOptions,
    /// Bytes written so far.
    pub written: u64,
}

impl<W: Write> RdbWriter<W> {
    pub fn new(out: W, opts: RdbOptions) -> Self {
        RdbWriter {
            out,
            crc: 0,
            opts,
            written: 0,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.opts.checksum {
            self.crc = crc64(self.crc, bytes);
        }
        self.written += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    pub fn byte(&mut self, b: u8) -> io::Result<()> {
        self.put(&[b])
    }

    // ANCHOR: rdb_save_len
    /// A length in 1, 2, 5 or 9 bytes (`rdbSaveLen`).
    pub fn len(&mut self, len: u64) -> io::Result<()> {
        if len < 1 << 6 {
            self.byte((len as u8) | (len_enc::BITS6 << 6))
        } else if len < 1 << 14 {
            self.put(&[((len >> 8) as u8) | (len_enc::BITS14 << 6), len as u8])
        } else if len <= u32::MAX as u64 {
            self.byte(len_enc::BITS32)?;
            self.put(&(len as u32).to_be_bytes())
        } else {
            self.byte(len_enc::BITS64)?;
            self.put(&len.to_be_bytes())
        }
    }

    /// An integer as an "encoded string" if it fits 8, 16 or 32 bits
    /// (`rdbEncodeInteger`); false if it does not.
    fn encoded_int(&mut self, v: i64) -> io::Result<bool> {
        let tag = len_enc::ENCVAL << 6;
        if let Ok(b) = i8::try_from(v) {
            self.put(&[tag | len_enc::INT8, b as u8])?;
        } else if let Ok(h) = i16::try_from(v) {
            let [a, b] = h.to_le_bytes();
            self.put(&[tag | len_enc::INT16, a, b])?;
        } else if let Ok(w) = i32::try_from(v) {
            self.byte(tag | len_enc::INT32)?;
            self.put(&w.to_le_bytes())?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// A string, in the smallest form Redis would pick (`rdbSaveRawString`):
    /// short canonical integers as integers, long compressible strings as
    /// LZF (when `rdbcompression` is on), everything else length + bytes.
    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(v) = crate::object::canonical_i64(s) {
                if self.encoded_int(v)? {
                    return Ok(());
                }
            }
        }
        if self.opts.compression && s.len() > 20 {
            // The output must save at least 4 bytes, or it is not worth
            // the two extra lengths (`rdbSaveLzfStringObject`).
            if let Some(c) = crate::lzf::compress(s, s.len() - 4) {
                return self.lzf_blob(&c, s.len());
            }
        }
        self.len(s.len() as u64)?;
        self.put(s)
    }
    // ANCHOR_END: rdb_save_len

    /// An LZF block: marker, compressed length, original length, bytes
    /// (`rdbSaveLzfBlob`).
    fn lzf_blob(&mut self, compressed: &[u8], original_len: usize) -> io::Result<()> {
        self.byte((len_enc::ENCVAL << 6) | len_enc::LZF)?;
        self.len(compressed.len() as u64)?;
        self.len(original_len as u64)?;
        self.put(compressed)
    }

    /// An integer-encoded string object (`rdbSaveLongLongAsStringObject`):
    /// as an encoded integer if it fits 32 bits, else as its digits.
    fn int_string(&mut self, v: i64) -> io::Result<()> {
        if self.encoded_int(v)? {
            return Ok(());
        }
        let digits = v.to_string();
        self.len(digits.len() as u64)?;
        self.put(digits.as_bytes())
    }

    fn str_value(&mut self, s: &StrValue) -> io::Result<()> {
        match s {
            StrValue::Int(v) => self.int_string(*v),
            StrValue::Embstr(b) | StrValue::Raw(b) => self.string(b),
        }
    }

    /// A double as 8 little-endian bytes (`rdbSaveBinaryDoubleValue`).
    fn binary_double(&mut self, v: f64) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    /// The type byte for a value (`rdbSaveObjectType`).
    pub fn value_type(&mut self, v: &Value) -> io::Result<()> {
        self.byte(match v {
            Value::Str(_) => rdb_type::STRING,
            Value::List(_) => rdb_type::LIST_QUICKLIST_2,
            Value::Hash(h) => match **h {
                HashValue::Listpack(_) => rdb_type::HASH_LISTPACK,
                HashValue::Table(_) => rdb_type::HASH,
            },
            Value::Set(s) => match *s {
                SetValue::Intset(_) => rdb_type::SET_INTSET,
                SetValue::Table(_) => rdb_type::SET,
            },
            Value::ZSet(z) => match **z {
                ZSetValue::Listpack(_) => rdb_type::ZSET_LISTPACK,
                ZSetValue::Skiplist(_) => rdb_type::ZSET_2,
            },
            Value::Stream(_) => rdb_type::STREAM_LISTPACKS_2,
        })
    }

    // ANCHOR: rdb_save_object
    /// A value's body, after its type byte (`rdbSaveObject`).
    pub fn value(&mut self, v: &Value) -> io::Result<()> {
        match v {
            Value::Str(s) => self.str_value(s),
            Value::List(ql) => {
                // One entry per node: its container, then its bytes as
                // they sit in memory (an LZF node stays compressed).
                self.len(ql.node_count() as u64)?;
                for node in ql.nodes() {
                    self.len(match node.container {
                        Container::Plain => QUICKLIST_NODE_PLAIN,
                        Container::Packed => QUICKLIST_NODE_PACKED,
                    })?;
                    match node.data {
                        NodeData::Lzf(c) => self.lzf_blob(c, node.sz)?,
                        NodeData::Raw(b) => self.string(b)?,
                    }
                }
                Ok(())
            }
            Value::Hash(h) => match &**h {
                HashValue::Listpack(lp) => self.string(lp.as_bytes()),
                HashValue::Table(d) => {
                    self.len(d.len() as u64)?;
                    for (f, v) in d.iter() {
                        self.string(f)?;
                        self.string(v)?;
                    }
                    Ok(())
                }
            },
            Value::Set(s) => match s {
                SetValue::Intset(is) => self.string(is.as_bytes()),
                SetValue::Table(d) => {
                    self.len(d.len() as u64)?;
                    for (m, _) in d.iter() {
                        self.string(m)?;
                    }
                    Ok(())
                }
            },
            Value::ZSet(z) => match &**z {
                ZSetValue::Listpack(lp) => self.string(lp.as_bytes()),
                ZSetValue::Skiplist(t) => {
                    // Highest score first, so that loading inserts every
                    // member at the head of the skiplist.
                    self.len(t.list.len() as u64)?;
                    for (score, member) in t.list.iter_rev() {
                        self.string(member)?;
                        self.binary_double(score)?;
                    }
                    Ok(())
                }
            },
            Value::Stream(s) => self.stream(s),
        }
    }
    // ANCHOR_END: rdb_save_object

    // ANCHOR: rdb_save_stream
    /// A stream (`RDB_TYPE_STREAM_LISTPACKS_2`, Redis's `rdbSaveObject`):
    /// the nodes as (16-byte big-endian master ID, listpack bytes) pairs,
    /// the length, last ID, first ID, max deleted ID and entries added,
    /// then each group: name, last ID, entries read, its PEL (raw 16-byte
    /// IDs, delivery time as 8 little-endian bytes, delivery count), and
    /// its consumers (name, seen time, their PEL as raw IDs only).
    fn stream(&mut self, s: &crate::stream::Stream) -> io::Result<()> {
        self.len(s.nodes.len() as u64)?;
        for (master, lp) in &s.nodes {
            self.string(&master.to_be_bytes())?;
            self.string(lp.as_bytes())?;
        }
        self.len(s.length)?;
        for id in [s.last_id, s.first_id, s.max_deleted_entry_id] {
            self.len(id.ms)?;
            self.len(id.seq)?;
        }
        self.len(s.entries_added)?;
        self.len(s.groups.len() as u64)?;
        for (name, group) in &s.groups {
            self.string(name)?;
            self.len(group.last_id.ms)?;
            self.len(group.last_id.seq)?;
            self.len(group.entries_read as u64)?;
            self.len(group.pel.len() as u64)?;
            for (id, nack) in &group.pel {
                self.put(&id.to_be_bytes())?;
                self.put(&nack.delivery_time.to_le_bytes())?;
                self.len(nack.delivery_count)?;
            }
            self.len(group.consumers.len() as u64)?;
            for (cname, consumer) in &group.consumers {
                self.string(cname)?;
                self.put(&consumer.seen_time.to_le_bytes())?;
                self.len(consumer.pel.len() as u64)?;
                for id in consumer.pel.keys() {
                    self.put(&id.to_be_bytes())?;
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: rdb_save_stream

    fn aux(&mut self, key: &str, value: &[u8]) -> io::Result<()> {
        self.byte(opcode::AUX)?;
        self.string(key.as_bytes())?;
        self.string(value)
    }

    /// One key with its expiry and access clock (`rdbSaveKeyValuePair`).
    fn key_value(&mut self, key: &[u8], o: &RObj, expire: Option<i64>) -> io::Result<()> {
        if let Some(when) = expire {
            self.byte(opcode::EXPIRETIME_MS)?;
            self.put(&when.to_le_bytes())?;
        }
        match self.opts.lru_lfu {
            1 => {
                self.byte(opcode::IDLE)?;
                self.len(idle_seconds(self.opts.lru_clock, o.lru))?;
            }
            2 => {
                self.byte(opcode::FREQ)?;
                self.byte((o.lru & 0xff) as u8)?;
            }
            _ => {}
        }
        self.value_type(&o.value)?;
        self.string(key)?;
        self.value(&o.value)
    }

    /// The whole file (`rdbSaveRio`). Returns the keys written.
    pub fn snapshot(&mut self, dbs: &[Db], ctime: i64, used_mem: u64) -> io::Result<u64> {
        self.snapshot_with(dbs, &[], SnapshotMeta::plain(ctime, used_mem), &mut |_| {})
    }

    // ANCHOR: rdb_snapshot_with
    /// The whole file, with the two things only some callers need: the
    /// `aof-base` aux field (1 when this RDB is the base of a multi-part
    /// AOF, `rdbSaveRio` with `RDBFLAGS_AOF_PREAMBLE`), and a progress
    /// callback told the number of keys written so far every 1024 keys
    /// (a `BGSAVE` child uses it to report copy-on-write to its parent).
    /// `functions` are the code of each FUNCTION library, written after
    /// the aux fields as one `FUNCTION2` record each (`rdbSaveFunctions`):
    /// a snapshot holds the libraries as well as the keys.
    pub fn snapshot_with(
        &mut self,
        dbs: &[Db],
        functions: &[&[u8]],
        meta: SnapshotMeta,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<u64> {
        self.put(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        self.aux("redis-ver", crate::server::config::REDIS_VERSION.as_bytes())?;
        self.aux("redis-bits", b"64")?;
        self.aux("ctime", meta.ctime.to_string().as_bytes())?;
        self.aux("used-mem", meta.used_mem.to_string().as_bytes())?;
        if let Some(r) = self.opts.repl {
            self.aux("repl-stream-db", r.stream_db.to_string().as_bytes())?;
            self.aux("repl-id", &r.replid)?;
            self.aux("repl-offset", r.offset.to_string().as_bytes())?;
        }
        self.aux("aof-base", if meta.aof_base { b"1" } else { b"0" })?;
        for code in functions {
            self.byte(opcode::FUNCTION2)?;
            self.string(code)?;
        }
        let mut keys = 0;
        for db in dbs {
            if db.dict.is_empty() {
                continue;
            }
            self.byte(opcode::SELECTDB)?;
            self.len(db.id as u64)?;
            self.byte(opcode::RESIZEDB)?;
            self.len(db.dict.len() as u64)?;
            self.len(db.expires.len() as u64)?;
            for (k, o) in db.dict.iter() {
                let expire = db.expires.get(k).copied();
                self.key_value(k, o, expire)?;
                keys += 1;
                key_save_delay(self.opts.key_save_delay, keys);
                if keys.is_multiple_of(1024) {
                    progress(keys);
                }
            }
        }
        self.byte(opcode::EOF)?;
        let crc = if self.opts.checksum { self.crc } else { 0 };
        self.out.write_all(&crc.to_le_bytes())?;
        self.written += 8;
        Ok(keys)
    }
    // ANCHOR_END: rdb_snapshot_with
}

/// The header facts of one snapshot.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotMeta {
    /// Unix seconds (`ctime` aux field).
    pub ctime: i64,
    /// `used-mem` aux field.
    pub used_mem: u64,
    /// Written as the base of a multi-part AOF (`aof-base` = 1).
    pub aof_base: bool,
}

impl SnapshotMeta {
    pub fn plain(ctime: i64, used_mem: u64) -> SnapshotMeta {
        SnapshotMeta {
            ctime,
            used_mem,
            aof_base: false,
        }
    }
}

/// Seconds since `lru` on a 24-bit clock that wraps
/// (`estimateObjectIdleTime`, in seconds).
fn idle_seconds(now: u32, lru: u32) -> u64 {
    const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
    let lru = lru & LRU_CLOCK_MAX;
    if now >= lru {
        (now - lru) as u64
    } else {
        (now + (LRU_CLOCK_MAX - lru)) as u64
    }
}

// ANCHOR: rdb_dump_payload
/// `DUMP`'s payload (`createDumpPayload`): type byte, value, the RDB
/// version as 2 little-endian bytes, and a CRC-64 of all that.
pub fn dump_payload(v: &Value, opts: RdbOptions) -> Vec<u8> {
    let mut w = RdbWriter::new(
        Vec::new(),
        RdbOptions {
            checksum: false,
            ..opts
        },
    );
    w.value_type(v)
        .and_then(|_| w.value(v))
        .expect("writing to a Vec cannot fail");
    let mut buf = w.into_inner();
    buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}
// ANCHOR_END: rdb_dump_payload

// ANCHOR: rdb_save_file
/// Write a snapshot of `dbs` to `dir/filename` the crash-safe way: a temp
/// file `temp-<pid>.rdb` in the same directory, fsync, then rename over
/// the target (`rdbSave`). A crash at any point leaves either the old file
/// or the new one, never a torn one. Returns the keys saved.
pub fn save_to_file(
    dbs: &[Db],
    functions: &[&[u8]],
    dir: &Path,
    filename: &str,
    opts: RdbOptions,
    used_mem: u64,
) -> io::Result<u64> {
    save_to_file_with(dbs, functions, dir, filename, opts, used_mem, &mut |_| {})
}

/// [`save_to_file`] with a progress callback (see
/// [`RdbWriter::snapshot_with`]).
pub fn save_to_file_with(
    dbs: &[Db],
    functions: &[&[u8]],
    dir: &Path,
    filename: &str,
    opts: RdbOptions,
    used_mem: u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = (|| {
        let meta = SnapshotMeta::plain(crate::server::unix_ms() / 1000, used_mem);
        let keys = write_snapshot_file(&tmp, dbs, functions, opts, meta, progress)?;
        std::fs::rename(&tmp, dir.join(filename))?;
        Ok(keys)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
// ANCHOR_END: rdb_save_file

/// Create `path`, write a snapshot into it and fsync it; no rename (the
/// AOF rewrite names its base itself). Returns the keys written.
pub fn write_snapshot_file(
    path: &Path,
    dbs: &[Db],
    functions: &[&[u8]],
    opts: RdbOptions,
    meta: SnapshotMeta,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut w = RdbWriter::new(io::BufWriter::with_capacity(1 << 16, file), opts);
    let keys = w.snapshot_with(dbs, functions, meta, progress)?;
    let file = w.into_inner().into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(keys)
}
