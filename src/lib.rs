//! # Redis Anatomy
//!
//! A see-through reimplementation of Redis 7.0, written to be read. The
//! modules below are the chapters, in reading order (rustfmt is told not to
//! sort them); each opens with an essay (the idea, the invariant, the Redis
//! C counterpart, what we simplified) and is the real code the server runs
//! on.

// Part I: the wire and the loop
pub mod resp;
pub mod server;

// Part II: strings and the hash table
pub mod sds;
pub mod dict;
pub mod glob;

// Part III: the keyspace
pub mod object;
pub mod db;
pub mod expire;
pub mod commands;
pub mod bitops;
pub mod hyperloglog;

// Part IV: the compact encodings (the collection types are built on them)
pub mod listpack;
pub mod lzf;
pub mod quicklist;
pub mod intset;
pub mod skiplist;
pub mod geo;
pub mod stream;

// Part V: memory
pub mod memory;
pub mod evict;

// Part VI: messaging and transactions
pub mod pubsub;
pub mod notify;
pub mod tracking;
pub mod multi;
pub mod propagate;
pub mod aof;

// Part VII: persistence
pub mod rdb;

// Part VIII: replication
pub mod replication;

// Part IX: scripting
pub mod scripting;

// Part X: security
pub mod acl;

// Tools around the server
pub mod introspect;
pub mod walk;
