//! # The keyspace
//!
//! A Redis database is two dicts: `dict`, from key to value, and `expires`,
//! from key to its expiry time in Unix milliseconds. A key with no TTL is
//! absent from `expires`, so the common case costs nothing. There are 16
//! databases by default (`databases`), selected per client with `SELECT`.
//!
//! ## The invariants
//!
//! - Every key in `expires` is also in `dict`. Deleting a key deletes it
//!   from both; overwriting a key with SET removes its TTL unless KEEPTTL.
//! - A key whose time has passed is *logically* gone even before it is
//!   removed: every lookup first calls [`Db::expire_if_needed`], so no
//!   command ever sees an expired key ("lazy expiry"). The active cycle
//!   (`expire.rs`) removes the ones nobody asks for.
//!
//! ## The Redis C counterpart
//!
//! `src/db.c`: `redisDb` (in `server.h`), `lookupKey`, `lookupKeyRead`,
//! `lookupKeyWrite`, `dbAdd`, `setKey`, `dbDelete`, `setExpire`,
//! `getExpire`, `expireIfNeeded`, `keyIsExpired`, `selectDb`, `emptyData`.
//!
//! ## What we simplified
//!
//! In Redis the `expires` dict shares the key's sds with `dict` (one string,
//! two pointers). Here each dict owns its key, so a key with a TTL stores
//! its name twice; keys without a TTL, the vast majority in most datasets,
//! pay nothing. The lookup flags (`LOOKUP_NOTOUCH`, `LOOKUP_NONOTIFY`, ...)
//! are separate methods.

use crate::dict::Dict;
use crate::object::RObj;
use crate::sds::Sds;

/// One database: the keyspace and the expiry table.
pub struct Db {
    /// The index `SELECT` uses (0..databases).
    pub id: usize,
    // ANCHOR: db_struct
    /// Every key and its value.
    pub dict: Dict<Sds, RObj>,
    /// Keys with a TTL, mapped to the Unix time in ms when they expire.
    pub expires: Dict<Sds, i64>,
    // ANCHOR_END: db_struct
    /// The running estimate of the average TTL of the keys the active
    /// expiry cycle sampled (INFO keyspace's `avg_ttl`), in ms.
    pub avg_ttl: i64,
    /// Where the active expiry cycle resumes its SCAN of `expires`.
    pub expires_cursor: u64,
}

/// What happened when a lookup checked a key's TTL.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ExpireCheck {
    /// No TTL, or the TTL is in the future.
    Alive,
    /// The key had expired and was deleted now.
    Deleted,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db {
            id,
            dict: Dict::new(),
            expires: Dict::new(),
            avg_ttl: 0,
            expires_cursor: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The expiry time of `key` in Unix ms, if it has one.
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    // ANCHOR: expire_if_needed
    /// Lazy expiry: if `key` has a TTL in the past, delete it now.
    ///
    /// Called before every lookup, so a command never sees an expired key.
    /// The cost when nothing has a TTL is one `is_empty` check.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> ExpireCheck {
        match self.get_expire(key) {
            Some(when) if when <= now_ms => {
                self.delete(key);
                ExpireCheck::Deleted
            }
            _ => ExpireCheck::Alive,
        }
    }
    // ANCHOR_END: expire_if_needed

    /// Is `key` present and not expired (without deleting anything)?
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        matches!(self.get_expire(key), Some(when) if when <= now_ms)
    }

    /// The value of `key`, without an expiry check (the caller did it).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut RObj> {
        self.dict.get_mut(key)
    }

    pub fn get(&self, key: &[u8]) -> Option<&RObj> {
        self.dict.get(key)
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.dict.contains_key(key)
    }

    /// Add or overwrite `key`. Overwriting drops the TTL unless `keep_ttl`
    /// (SET ... KEEPTTL), as Redis's `setKey`.
    pub fn set(&mut self, key: &[u8], value: RObj, keep_ttl: bool) {
        if let Some(slot) = self.dict.get_mut(key) {
            *slot = value;
            if !keep_ttl && !self.expires.is_empty() {
                self.expires.remove(key);
            }
        } else {
            self.dict.insert(Sds::new(key), value);
        }
    }

    /// Add `key`, which the caller knows is absent (`dbAdd`).
    pub fn add(&mut self, key: &[u8], value: RObj) {
        self.dict.insert(Sds::new(key), value);
    }

    /// Remove `key` and its TTL; returns the value if it existed.
    pub fn delete(&mut self, key: &[u8]) -> Option<RObj> {
        let (_, value) = self.dict.remove(key)?;
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        Some(value)
    }

    /// Set the absolute expiry time of an existing key.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        debug_assert!(self.dict.get(key).is_some(), "a TTL for a missing key");
        if let Some(slot) = self.expires.get_mut(key) {
            *slot = when_ms;
        } else {
            self.expires.insert(Sds::new(key), when_ms);
        }
    }

    /// Remove the TTL of `key`; true if it had one (PERSIST).
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Drop every key (FLUSHDB). Returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict.clear();
        self.expires.clear();
        self.avg_ttl = 0;
        self.expires_cursor = 0;
        n
    }
}
