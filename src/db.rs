//! # The keyspace
//!
//! A Redis database is two dicts: `dict`, from key to value, and `expires`,
//! from key to the Unix time in milliseconds at which the key dies. A key
//! with no TTL is absent from `expires`, so the common case costs nothing:
//! most lookups check `expires.is_empty()` and stop there. There are 16
//! databases by default (`databases`); each client picks one with
//! `SELECT`, and `MOVE`/`COPY ... DB` carry keys between them.
//!
//! ```text
//!   dict                          expires
//!   ┌─────────┬───────────┐       ┌─────────┬───────────────┐
//!   │ "user:1"│ "alice"   │       │ "sess:9"│ 1700000000123 │
//!   │ "sess:9"│ "token"   │       └─────────┴───────────────┘
//!   │ "hits"  │ 42 (int)  │       only the keys that have a TTL
//!   └─────────┴───────────┘
//! ```
//!
//! ## The invariants
//!
//! - Every key in `expires` is also in `dict`. Deleting a key deletes it
//!   from both; overwriting a key with SET removes its TTL unless KEEPTTL;
//!   RENAME and MOVE carry the TTL along with the value.
//! - A key is *logically* gone once the clock passes its expiry time, even
//!   before anything removes it: "expired" means `now > when`, strictly,
//!   as Redis's `keyIsExpired` (a key whose time is exactly now still has
//!   a PTTL of 0 and is still readable). Every lookup checks this first
//!   (lazy expiry, see `expire.rs`), so no command ever sees a dead key.
//!
//! ## The Redis C counterpart
//!
//! `src/server.h`: `redisDb`. `src/db.c`: `lookupKey` and its
//! `lookupKeyRead`/`lookupKeyWrite` wrappers, `dbAdd`, `dbOverwrite`,
//! `setKey`, `dbGenericDelete`, `setExpire`, `getExpire`, `removeExpire`,
//! `keyIsExpired`, `emptyDbStructure`. The lookups themselves live on
//! `Server` (they count hits and misses and need the LRU clock) and the
//! expiry decision in `expire.rs`.
//!
//! ## What we simplified
//!
//! In Redis the `expires` dict shares the key's sds with `dict` (one string,
//! two pointers to it). Here each dict owns its key, so a key with a TTL
//! stores its name twice; keys without a TTL, the vast majority in most
//! datasets, pay nothing. Redis's lookup flags (`LOOKUP_NOTOUCH`,
//! `LOOKUP_NONOTIFY`, ...) are separate methods on `Server`. There is no
//! `lazyfree`: a deleted value is dropped on the spot (the memory chapter
//! explains when Redis hands big values to a background thread instead).

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
    /// Where the active expiry cycle resumes its walk of `expires`
    /// (Redis's `expires_cursor`), so that successive cycles cover the
    /// whole table instead of sampling the same buckets again.
    pub expires_cursor: u64,
    /// Record the keys [`Db::add`] creates (only while someone listens to
    /// the `new` keyspace event, so it costs nothing otherwise)...
    pub record_created: bool,
    /// ...and here they wait until the event is delivered.
    pub created: Vec<Vec<u8>>,
}

/// What happened when a lookup checked a key's TTL.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ExpireCheck {
    /// No TTL, or the TTL has not passed.
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
            record_created: false,
            created: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The expiry time of `key` in Unix ms, if it has one (`getExpire`).
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    // ANCHOR: db_key_is_expired
    /// Has `key`'s time passed? (`keyIsExpired`.) Strictly after: a key
    /// set to die at `t` is still alive at `t` itself. Deletes nothing;
    /// KEYS uses this to skip dead keys without changing the dataset.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        matches!(self.get_expire(key), Some(when) if now_ms > when)
    }
    // ANCHOR_END: db_key_is_expired

    /// Delete `key` if its time has passed. The low-level half of lazy
    /// expiry: `Server::expire_if_needed` (expire.rs) decides whether
    /// deleting is allowed now and does the bookkeeping.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> ExpireCheck {
        if self.is_expired(key, now_ms) {
            self.delete(key);
            ExpireCheck::Deleted
        } else {
            ExpireCheck::Alive
        }
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
            self.add(key, value);
        }
    }

    /// Add `key`, which the caller knows is absent (`dbAdd`). Every key
    /// created goes through here, which is where the `new` keyspace event
    /// is noticed (delivered by `notify.rs` before the command's own event).
    pub fn add(&mut self, key: &[u8], value: RObj) {
        if self.record_created {
            self.created.push(key.to_vec());
        }
        self.dict.insert(Sds::new(key), value);
    }

    /// Add `key` (known to be absent) with an optional expiry time: where
    /// RENAME, MOVE and COPY put a value together with its TTL.
    pub fn add_with_expire(&mut self, key: &[u8], value: RObj, expire: Option<i64>) {
        self.add(key, value);
        if let Some(when) = expire {
            self.set_expire(key, when);
        }
    }

    /// Remove `key` and its TTL; returns the value if it existed.
    pub fn delete(&mut self, key: &[u8]) -> Option<RObj> {
        let (_, value) = self.dict.remove(key)?;
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        Some(value)
    }

    /// Remove `key` and hand back its value and its expiry time: the
    /// first half of a RENAME or a MOVE.
    pub fn take(&mut self, key: &[u8]) -> Option<(RObj, Option<i64>)> {
        let expire = self.get_expire(key);
        self.delete(key).map(|value| (value, expire))
    }

    /// Set the absolute expiry time of an existing key (`setExpire`).
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
        if self.expires.is_empty() {
            return false;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::StrValue;

    fn value(s: &str) -> RObj {
        RObj::string(StrValue::from_bytes(s.as_bytes()), 0)
    }

    #[test]
    fn a_key_is_alive_at_its_expiry_instant_and_dead_one_ms_later() {
        let mut db = Db::new(0);
        db.add(b"k", value("v"));
        db.set_expire(b"k", 1000);
        assert!(!db.is_expired(b"k", 1000));
        assert_eq!(db.expire_if_needed(b"k", 1000), ExpireCheck::Alive);
        assert!(db.is_expired(b"k", 1001));
        assert_eq!(db.expire_if_needed(b"k", 1001), ExpireCheck::Deleted);
        assert!(db.get(b"k").is_none());
        assert!(db.get_expire(b"k").is_none());
    }

    #[test]
    fn overwriting_drops_the_ttl_unless_kept() {
        let mut db = Db::new(0);
        db.add(b"k", value("v"));
        db.set_expire(b"k", 5000);
        db.set(b"k", value("w"), true);
        assert_eq!(db.get_expire(b"k"), Some(5000));
        db.set(b"k", value("x"), false);
        assert_eq!(db.get_expire(b"k"), None);
    }

    #[test]
    fn take_and_add_with_expire_carry_the_ttl() {
        let mut db = Db::new(0);
        db.add(b"a", value("v"));
        db.set_expire(b"a", 7000);
        let (v, ttl) = db.take(b"a").unwrap();
        assert_eq!(ttl, Some(7000));
        assert!(db.expires.is_empty(), "the TTL left with the key");
        db.add_with_expire(b"b", v, ttl);
        assert_eq!(db.get_expire(b"b"), Some(7000));
        assert_eq!(db.len(), 1);
    }
}
