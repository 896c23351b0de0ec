//! # Redis Anatomy
//!
//! A see-through reimplementation of Redis 7.0, written to be read. The
//! modules below are the chapters, in reading order; each opens with an
//! essay (the idea, the invariant, the Redis C counterpart, what we
//! simplified) and is the real code the server runs on.

// Part I: the wire and the loop
pub mod resp;
pub mod server;

// Part II: the data structures
pub mod dict;
pub mod glob;
pub mod sds;

// Part III: the keyspace
pub mod bitops;
pub mod commands;
pub mod db;
pub mod expire;
pub mod object;

// Part IV: memory
pub mod memory;

// Tools around the server
pub mod walk;
