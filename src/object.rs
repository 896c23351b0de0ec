//! # Objects: what a key points to
//!
//! Every value in the keyspace is an object with a *type* (what commands
//! see: string, list, hash, set, zset) and an *encoding* (how it is stored:
//! a string may be an `int`, an `embstr` or a `raw` sds). Commands work on
//! types; the encoding is chosen by the server to save memory, and it is
//! what `OBJECT ENCODING` reports.
//!
//! ## The invariant
//!
//! A string's encoding follows Redis 7.0's `tryObjectEncoding` when a value
//! is stored whole from a client's argument (SET, MSET, SETNX, GETSET, an
//! APPEND that creates the key...):
//!
//! - `int` if it is the canonical decimal form of an i64 of at most 20
//!   characters (`"123"`, not `"0123"`, `" 12"` or `"-0"`);
//! - `embstr` if it is at most 44 bytes (the object header and the string
//!   fit one 64-byte jemalloc class);
//! - `raw` otherwise, and whenever a command modifies a string in place
//!   (APPEND, SETRANGE, SETBIT on an existing value), since an embedded
//!   string cannot grow.
//!
//! ## The Redis C counterpart
//!
//! `src/object.c`: `robj` (`server.h`), `createStringObject`,
//! `createEmbeddedStringObject`, `tryObjectEncoding`, `dbUnshareStringValue`
//! (`db.c`), `OBJ_SHARED_INTEGERS` and `objectCommand`.
//!
//! ## What we simplified
//!
//! Redis's `robj` is a separately allocated, reference-counted header
//! (`type:4 encoding:4 lru:24 refcount:32 ptr:64`), shared between the
//! keyspace, client arguments and the replication stream. Here an object
//! is owned by its dict entry; nothing else holds it, so it needs no
//! reference count. `embstr` keeps its meaning as "a short string stored
//! whole and never modified in place": our entry already holds the value
//! inline, and the sds it points to is sized exactly. Redis's shared
//! integers 0..9999 are not objects we share (an `i64` is smaller than a
//! pointer to one), but `OBJECT REFCOUNT` reports them as Redis does,
//! because a student comparing the two servers should see the same answer.
//!
//! One thing we do that Redis does not: SET over a string of the same
//! length copies into the old allocation ([`StrValue::assign`]) instead of
//! freeing it and taking the argument's, because our arguments live in the
//! query buffer and cannot be taken.

use crate::dict::Dict;
use crate::intset::Intset;
use crate::listpack::Listpack;
use crate::quicklist::Quicklist;
use crate::sds::Sds;
use crate::skiplist::Skiplist;

/// Values `OBJECT ENCODING` calls `embstr` are at most this long
/// (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
pub const EMBSTR_SIZE_LIMIT: usize = 44;

/// Integers below this are shared objects in Redis (`OBJ_SHARED_INTEGERS`).
pub const SHARED_INTEGERS: i64 = 10000;

/// The refcount Redis reports for a shared object (`OBJ_SHARED_REFCOUNT`).
pub const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// What commands see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjType {
    String,
    List,
    Set,
    ZSet,
    Hash,
    Stream,
}

impl ObjType {
    /// The name `TYPE` returns and `SCAN ... TYPE` matches.
    pub fn name(self) -> &'static str {
        match self {
            ObjType::String => "string",
            ObjType::List => "list",
            ObjType::Set => "set",
            ObjType::ZSet => "zset",
            ObjType::Hash => "hash",
            ObjType::Stream => "stream",
        }
    }
}

// ANCHOR: string_value
/// A string value in one of its three encodings.
#[derive(Clone, Debug, PartialEq)]
pub enum StrValue {
    /// `int`: the value is an integer stored as a number, not as digits.
    Int(i64),
    /// `embstr`: a short string stored whole, never modified in place.
    Embstr(Sds),
    /// `raw`: a string that may grow (APPEND keeps spare room after it).
    Raw(Sds),
}
// ANCHOR_END: string_value

// ANCHOR: value_types
/// A value in the keyspace: one variant per type, each holding the type's
/// current encoding. It is three words wide: a tag and two words of
/// payload. The collections are boxed so that it stays that size whatever
/// the type, except a set, whose [`SetValue`] is two words already.
///
/// Why three words and not two: the keyspace's dict entry is the key (one
/// word), this value, the 4-byte access clock and the chain link. With a
/// two-word value that is 40 bytes, which jemalloc serves from its 48-byte
/// class anyway; with three it is exactly 48. So the third word is free,
/// and it holds an intset's length, which saves each small set the 32-byte
/// box a `Box<SetValue>` would cost (`bench/results.md`, memory table:
/// 5.8 bytes per member against Redis's 5.2 with the box, 5.4 without).
#[derive(Clone, Debug)]
pub enum Value {
    Str(StrValue),
    /// Lists are always a quicklist in Redis 7.0.
    List(Box<Quicklist>),
    Hash(Box<HashValue>),
    Set(SetValue),
    ZSet(Box<ZSetValue>),
    /// Streams: a sorted map of listpack nodes. Behaviour: `stream.rs`,
    /// `commands/stream.rs`.
    Stream(Box<crate::stream::Stream>),
}

/// A hash: a listpack of field, value, field, value... while small
/// (`hash-max-listpack-entries` 512 fields, `hash-max-listpack-value` 64
/// bytes), then a dict for good. Behaviour: `commands/hash.rs`.
///
/// The dict is boxed for the reason given at [`SetValue`]: inline, every
/// small hash would carry a dict's 88 bytes in its 96-byte box.
#[derive(Clone, Debug)]
pub enum HashValue {
    Listpack(Listpack),
    Table(Box<Dict<Sds, Sds>>),
}

/// A set: an intset while every member is an integer and there are at most
/// `set-max-intset-entries` (512) of them, then a dict whose values are
/// empty. Behaviour: `commands/set.rs`.
///
/// The dict is boxed so that the enum is as small as its small encoding:
/// a `Dict` inline is 88 bytes (two table headers, the rehash index, ...),
/// and an enum is as wide as its widest variant, so every 100-integer
/// intset would carry that much unused space. Boxed, the enum is two words:
/// the intset's pointer and length, or a null where that pointer would be
/// (Rust's niche) and the dict's box. That is small enough to sit in the
/// keyspace entry itself ([`Value`]), as Redis's `robj->ptr` leads straight
/// to the intset's bytes.
#[derive(Clone, Debug)]
pub enum SetValue {
    Intset(Intset),
    Table(Box<Dict<Sds, ()>>),
}

/// A sorted set: a listpack of member, score, member, score... in score
/// order while small (`zset-max-listpack-entries` 128, `zset-max-listpack-value`
/// 64), then a skiplist for order and rank plus a dict from member to score
/// for O(1) ZSCORE. Behaviour: `commands/zset.rs`.
///
/// The big encoding is boxed for the reason given at [`SetValue`]: a small
/// sorted set should not carry the inline size of a dict and a skiplist.
#[derive(Clone, Debug)]
pub enum ZSetValue {
    Listpack(Listpack),
    Skiplist(Box<SortedTable>),
}

/// The big encoding of a sorted set: both structures hold every member.
#[derive(Clone, Debug)]
pub struct SortedTable {
    pub dict: Dict<Sds, f64>,
    pub list: Skiplist,
}
// ANCHOR_END: value_types

/// A keyspace object: a value plus the access clock the eviction chapter
/// uses (24 bits of LRU time, or 16 bits of minutes + 8 bits of LFU
/// counter, as Redis packs them).
#[derive(Clone, Debug)]
pub struct RObj {
    pub value: Value,
    /// Redis's `lru:24` field.
    pub lru: u32,
}

/// Is `bytes` the canonical decimal text of an i64 (what `string2l`
/// accepts and `ll2string` would print back)?
pub fn canonical_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 20 {
        return None;
    }
    crate::resp::parse_i64(bytes)
}

impl StrValue {
    // ANCHOR: try_encoding
    /// Redis's `tryObjectEncoding` for a string stored whole.
    pub fn from_bytes(bytes: &[u8]) -> StrValue {
        if let Some(n) = canonical_i64(bytes) {
            StrValue::Int(n)
        } else if bytes.len() <= EMBSTR_SIZE_LIMIT {
            StrValue::Embstr(Sds::new(bytes))
        } else {
            StrValue::Raw(Sds::new(bytes))
        }
    }
    // ANCHOR_END: try_encoding

    /// Redis's `createStringObject`: `embstr` up to 44 bytes, `raw` above,
    /// and never `int`, even for digits. INCRBYFLOAT stores its result this
    /// way, so `INCRBYFLOAT k 1` leaves an `embstr` "1" behind.
    pub fn from_bytes_unencoded(bytes: &[u8]) -> StrValue {
        if bytes.len() <= EMBSTR_SIZE_LIMIT {
            StrValue::Embstr(Sds::new(bytes))
        } else {
            StrValue::Raw(Sds::new(bytes))
        }
    }

    // ANCHOR: string_assign
    /// Replace the value with `bytes`, encoded as [`StrValue::from_bytes`]
    /// would encode them, reusing the old allocation when that is free.
    ///
    /// SET on an existing key is the most common write there is, and in a
    /// cache (or a benchmark) the new value often has the same length as the
    /// old one. Redis frees the old object and installs the argument's; we
    /// cannot steal the client's argument (it lives in the query buffer), so
    /// a new value costs one allocation, unless the old sds has exactly the
    /// new length and no spare room: then we copy over it and allocate
    /// nothing, and the memory used is the same as with a fresh sds.
    pub fn assign(&mut self, bytes: &[u8]) {
        if let Some(n) = canonical_i64(bytes) {
            *self = StrValue::Int(n);
            return;
        }
        // Move the old value out without allocating (an `Int` is free).
        *self = match std::mem::replace(self, StrValue::Int(0)) {
            StrValue::Embstr(mut s) | StrValue::Raw(mut s)
                if s.len() == bytes.len() && s.avail() == 0 =>
            {
                s.as_bytes_mut().copy_from_slice(bytes);
                if bytes.len() <= EMBSTR_SIZE_LIMIT {
                    StrValue::Embstr(s)
                } else {
                    StrValue::Raw(s)
                }
            }
            _ => StrValue::from_bytes(bytes),
        };
    }
    // ANCHOR_END: string_assign

    /// The encoding name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Embstr(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    /// The value's bytes. An `int` is formatted into `scratch`.
    pub fn bytes<'a>(&'a self, scratch: &'a mut [u8; 20]) -> &'a [u8] {
        match self {
            StrValue::Int(n) => crate::resp::fmt_i64(scratch, *n),
            StrValue::Embstr(s) | StrValue::Raw(s) => s.as_bytes(),
        }
    }

    /// The value's bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = [0u8; 20];
        self.bytes(&mut scratch).to_vec()
    }

    /// STRLEN: the length of the text, computed without formatting an int.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => {
                let mut scratch = [0u8; 20];
                crate::resp::fmt_i64(&mut scratch, *n).len()
            }
            StrValue::Embstr(s) | StrValue::Raw(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, if it is one (INCR, DECR).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Embstr(s) | StrValue::Raw(s) => canonical_i64_loose(s),
        }
    }

    // ANCHOR: unshare
    /// Make the value a `raw` sds that can be modified in place: Redis's
    /// `dbUnshareStringValue`. APPEND, SETRANGE and SETBIT call this.
    pub fn make_raw(&mut self) -> &mut Sds {
        *self = match std::mem::replace(self, StrValue::Int(0)) {
            StrValue::Raw(s) | StrValue::Embstr(s) => StrValue::Raw(s),
            StrValue::Int(n) => StrValue::Raw(Sds::from_i64(n)),
        };
        match self {
            StrValue::Raw(s) => s,
            _ => unreachable!(),
        }
    }
    // ANCHOR_END: unshare
}

/// INCR accepts what `string2ll` accepts: the same as [`canonical_i64`]
/// (Redis's `getLongLongFromObject`).
fn canonical_i64_loose(bytes: &[u8]) -> Option<i64> {
    crate::resp::parse_i64(bytes)
}

impl RObj {
    pub fn new(value: Value, lru: u32) -> RObj {
        RObj { value, lru }
    }

    pub fn string(value: StrValue, lru: u32) -> RObj {
        RObj {
            value: Value::Str(value),
            lru,
        }
    }

    pub fn obj_type(&self) -> ObjType {
        self.value.obj_type()
    }

    pub fn encoding(&self) -> &'static str {
        self.value.encoding()
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match &mut self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Values whose free effort is above this are freed in the background by
/// UNLINK in Redis (`LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

impl Value {
    /// About how many allocations freeing this value takes (Redis's
    /// `lazyfreeGetFreeEffort`): a quicklist's nodes, a table's entries,
    /// a stream's rax nodes plus its groups times the first group's PEL;
    /// one for everything stored in a single block.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::List(ql) => ql.node_count(),
            Value::Set(s) => match s {
                SetValue::Table(d) => d.len(),
                SetValue::Intset(_) => 1,
            },
            Value::ZSet(z) => match &**z {
                ZSetValue::Skiplist(t) => t.list.len(),
                ZSetValue::Listpack(_) => 1,
            },
            Value::Hash(h) => match &**h {
                HashValue::Table(d) => d.len(),
                HashValue::Listpack(_) => 1,
            },
            Value::Stream(s) => {
                let groups = s.groups.len();
                let first_pel = s.groups.values().next().map_or(0, |g| g.pel.len());
                s.radix_tree_nodes() + groups * (1 + first_pel)
            }
            Value::Str(_) => 1,
        }
    }

    pub fn obj_type(&self) -> ObjType {
        match self {
            Value::Str(_) => ObjType::String,
            Value::List(_) => ObjType::List,
            Value::Hash(_) => ObjType::Hash,
            Value::Set(_) => ObjType::Set,
            Value::ZSet(_) => ObjType::ZSet,
            Value::Stream(_) => ObjType::Stream,
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => match **h {
                HashValue::Listpack(_) => "listpack",
                HashValue::Table(_) => "hashtable",
            },
            Value::Set(s) => match *s {
                SetValue::Intset(_) => "intset",
                SetValue::Table(_) => "hashtable",
            },
            Value::ZSet(z) => match **z {
                ZSetValue::Listpack(_) => "listpack",
                ZSetValue::Skiplist(_) => "skiplist",
            },
            Value::Stream(_) => "stream",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::size_class;

    /// The sizes [`Value`]'s comment argues from. The keyspace entry is the
    /// key's pointer, an [`RObj`] and the chain link: 48 bytes, jemalloc's
    /// class for anything from 33 to 48, so widening the value to three
    /// words cost nothing, and one more word would cost 16 bytes per key.
    #[test]
    fn a_keyspace_entry_fills_one_48_byte_class() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<RObj>(), 32);
        let entry = std::mem::size_of::<Sds>() + std::mem::size_of::<RObj>() + 8;
        assert_eq!((entry, size_class(entry)), (48, 48));
    }

    /// A set's value lives in the entry: two words, the intset's pointer
    /// and length or (niche) a null and the dict's box. The other
    /// collections are one box each, whose enum is as small as its small
    /// encoding: a listpack is three words, the big encodings are boxed.
    #[test]
    fn small_encodings_carry_no_unused_big_one() {
        assert_eq!(std::mem::size_of::<SetValue>(), 16);
        assert_eq!(std::mem::size_of::<HashValue>(), 24);
        assert_eq!(std::mem::size_of::<ZSetValue>(), 24);
    }
}
