//! # RDB: the keyspace as one file
//!
//! An RDB file is a snapshot: every key of every database, written one
//! after the other in a compact binary form, followed by a checksum. It is
//! what `SAVE` and `BGSAVE` write, what the server reads back at startup,
//! and (one value at a time, with a two-byte version and the same checksum)
//! what `DUMP` returns and `RESTORE` accepts. We write RDB version 10
//! byte for byte as Redis 7.0 does, so a file or a DUMP payload moves
//! between this server and real Redis in both directions.
//!
//! ## The layout
//!
//! ```text
//! "REDIS0010"                          magic + 4-digit version
//! AUX redis-ver 7.0.15, redis-bits 64, ctime, used-mem, aof-base
//! SELECTDB n  RESIZEDB keys expires    once per non-empty database
//!   [EXPIRETIME_MS t] [IDLE s | FREQ f] TYPE key value
//!   ...
//! EOF  CRC64 (8 bytes little-endian; 0 when rdbchecksum is off)
//! ```
//!
//! Two small codes carry everything else:
//! - a *length* is 1, 2, 5 or 9 bytes: the top two bits of the first byte
//!   say 6-bit, 14-bit, 32-bit or 64-bit (the last two big-endian);
//! - a *string* is a length and its bytes, unless the top two bits are
//!   `11`: then it is an integer (8, 16 or 32 bits, little-endian) that
//!   stands for its decimal text, or an LZF block (compressed length,
//!   original length, compressed bytes).
//!
//! The compact encodings are saved as their own bytes: a listpack hash or
//! sorted set, an intset, each quicklist node. Loading them is a copy plus
//! a validation walk, not a rebuild; that is why Redis keeps small values in
//! flat blobs. The big encodings (hash table, skiplist) are saved element
//! by element and rebuilt.
//!
//! ## The invariant
//!
//! A file is either whole and checksummed or absent: writers go to
//! `temp-<pid>.rdb`, fsync, and rename over `dbfilename`. A reader never
//! trusts a byte: every length is bounded by the bytes that remain, every
//! blob is validated before it becomes a value, and a file that fails any
//! check is refused whole (and, at startup, never overwritten).
//!
//! ## Redis counterparts
//!
//! `rdb.c` (`rdbSaveRio`, `rdbSaveKeyValuePair`, `rdbSaveObject`,
//! `rdbSaveRawString`, `rdbSaveLzfStringObject`, `rdbSaveLen`,
//! `rdbLoadRio`, `rdbLoadObject`, `rdbGenericLoadStringObject`,
//! `rdbSaveBackground`), `cluster.c` (`createDumpPayload`,
//! `verifyDumpPayload`, `dumpCommand`, `restoreCommand`), `crc64.c`,
//! `rdb.h` (the constants below).
//!
//! ## What we simplified
//!
//! - The whole file is read into memory before parsing (Redis streams it
//!   through `rio`), so loading needs the file's size in spare memory.
//! - No module values, streams or functions: files that hold them are
//!   refused with a clear error rather than half-loaded.
//! - `LFU` counters are saved as stored, without applying decay first.
//! - Loading serves clients in between, as Redis does, but from the
//!   in-memory image: every `loading-process-events-interval-bytes` of it
//!   the loader hands over to `server::busy`, which answers `-LOADING`
//!   (the listener is bound before the load starts).

pub mod child_info;
pub mod load;
pub mod save;

pub use load::{
    load_file, load_prefix, load_prefix_with, load_value, verify_dump_payload, LoadPoint, LoadStats,
};
pub use save::{
    dump_payload, save_to_file, save_to_file_with, write_snapshot_file, RdbOptions, ReplAux,
    SnapshotMeta,
};

/// The version we write; we read 1 through this one.
pub const RDB_VERSION: u16 = 10;

// ANCHOR: rdb_constants
/// Value types (`RDB_TYPE_*`).
pub mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Opcodes that may appear where a value type would (`RDB_OPCODE_*`).
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// The length and string prefixes (`RDB_6BITLEN` ... `RDB_ENC_LZF`).
pub mod len_enc {
    pub const BITS6: u8 = 0;
    pub const BITS14: u8 = 1;
    pub const BITS32: u8 = 0x80;
    pub const BITS64: u8 = 0x81;
    /// Top bits `11`: the low six bits say which special string follows.
    pub const ENCVAL: u8 = 3;
    pub const INT8: u8 = 0;
    pub const INT16: u8 = 1;
    pub const INT32: u8 = 2;
    pub const LZF: u8 = 3;
}

/// Quicklist node containers as RDB stores them (`QUICKLIST_NODE_CONTAINER_*`).
pub const QUICKLIST_NODE_PLAIN: u64 = 1;
pub const QUICKLIST_NODE_PACKED: u64 = 2;
// ANCHOR_END: rdb_constants

// ANCHOR: rdb_crc64
/// CRC-64 with the Jones polynomial, reflected, initial value 0, no final
/// xor: Redis's `crc64` (crc64.c). The table is built at compile time; the
/// reflected polynomial is 0xad93d23594c935a9 with its bits reversed.
const CRC64_POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const CRC64_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC64_POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Continue a CRC-64 over `bytes` (start with 0).
pub fn crc64(mut crc: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        crc = CRC64_TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}
// ANCHOR_END: rdb_crc64

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_test_vector() {
        // crc64.c's own self-test: "123456789" -> e9c6d914c4b8d9ca.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        // Incremental use gives the same answer.
        assert_eq!(crc64(crc64(0, b"1234"), b"56789"), 0xe9c6_d914_c4b8_d9ca);
    }
}

/// The server's persistence bookkeeping (Redis keeps these as loose
/// `server.*` fields: `lastsave`, `child_pid`, `dirty_before_bgsave`,
/// `lastbgsave_status`, `rdb_save_time_last`, ...).
#[derive(Debug)]
pub struct PersistState {
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave: i64,
    /// The BGSAVE child, while it runs.
    pub child_pid: Option<i32>,
    /// When that child was forked.
    pub child_started: Option<std::time::Instant>,
    /// `server.dirty` at fork time: what a successful BGSAVE made durable.
    pub dirty_before_bgsave: u64,
    /// Did the last BGSAVE succeed? (`rdb_last_bgsave_status`)
    pub last_bgsave_ok: bool,
    /// Seconds the last BGSAVE took; -1 before the first.
    pub last_bgsave_time_sec: i64,
    /// Unix seconds of the last BGSAVE attempt (failed ones are retried
    /// only after 5 seconds, as Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
    pub last_bgsave_try: i64,
    /// Successful saves, foreground or background (`rdb_saves`).
    pub saves: u64,
    /// BGSAVE SCHEDULE is pending.
    pub bgsave_scheduled: bool,
    /// What the last load did.
    pub last_load: LoadStats,
    /// The read end of the running child's info pipe (either kind of
    /// child: there is at most one).
    pub child_info: Option<child_info::ChildInfoPipe>,
    /// Copy-on-write as the children report it (INFO's `current_cow_*`,
    /// `rdb_last_cow_size`, `aof_last_cow_size`).
    pub cow: CowStats,
}

/// What the children said about copy-on-write (Redis's
/// `stat_current_cow_*`, `stat_rdb_cow_bytes`, `stat_aof_cow_bytes`).
#[derive(Debug, Default, Clone)]
pub struct CowStats {
    /// Highest private-dirty reading of the running child.
    pub current_peak: u64,
    /// Its latest reading.
    pub current_size: u64,
    /// When that reading reached us (for `current_cow_size_age`).
    pub current_updated: Option<std::time::Instant>,
    /// Keys the running child has written, and the keyspace size at fork.
    pub keys_processed: u64,
    pub keys_total: u64,
    /// The peak of the last successful BGSAVE / AOF rewrite child.
    pub rdb_last: u64,
    pub aof_last: u64,
}

impl Default for PersistState {
    fn default() -> Self {
        PersistState {
            lastsave: crate::server::unix_ms() / 1000,
            child_pid: None,
            child_started: None,
            dirty_before_bgsave: 0,
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            last_bgsave_try: 0,
            saves: 0,
            bgsave_scheduled: false,
            last_load: LoadStats::default(),
            child_info: None,
            cow: CowStats::default(),
        }
    }
}
