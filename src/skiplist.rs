//! # skiplist: the ordered half of a sorted set
//!
//! A sorted set that has outgrown its listpack (more than 128 members, or
//! a member longer than 64 bytes) is two structures kept in step: a
//! [`Dict`](crate::dict::Dict) from member to score, which answers `ZSCORE` in
//! O(1), and this skiplist, which keeps the members in order and answers
//! everything that needs the order: `ZRANGE`, `ZRANK`, `ZRANGEBYSCORE`,
//! `ZRANGEBYLEX`, `ZREMRANGEBY*`, `ZPOPMIN`. This module is the skiplist
//! half of Redis's `src/t_zset.c` (the functions named `zsl*`).
//!
//! ## The idea
//!
//! A sorted linked list makes "next in order" free but "find x" O(n). A
//! skiplist adds *express lanes*. Every node is on level 0, the full list.
//! Roughly one node in four is also on level 1, which skips over the
//! others; one in sixteen is on level 2, and so on. A search starts on the
//! highest lane at the *header* (a node before all others), runs right
//! while the next node is still before the target, then drops a lane and
//! repeats. On level 0 it ends just before the target.
//!
//! Nobody rebalances anything. A new node's height is drawn at random
//! ([`random_level`]) when it is inserted, and never changes. The lanes
//! thin out by a factor of four *on average*, and that is enough for
//! O(log n) expected time for search, insert and delete.
//!
//! ## Pugh's skiplist, and how Redis's differs
//!
//! The structure is William Pugh's, from "Skip Lists: A Probabilistic
//! Alternative to Balanced Trees" (Communications of the ACM, June 1990).
//! Redis changes it in five ways, and this module keeps all five:
//!
//! 1. **Repeated scores are allowed.** Pugh's list is a map from unique
//!    keys. Here many members may share a score.
//! 2. **The order is (score, member), not score alone.** Ties are broken
//!    by comparing members as bytes, like `memcmp`, with the shorter string
//!    first when one is a prefix of the other (`sdscmp`). So the order is
//!    total and every node has exactly one place. That is also what
//!    makes `ZRANGEBYLEX` work: give every member score 0 and the list is
//!    sorted by member.
//! 3. **Level 0 is doubly linked.** Each node has a `backward` link to its
//!    predecessor, so `ZREVRANGE` walks from the tail in O(1) per step.
//!    The first node's backward link is NULL, not the header.
//! 4. **Every forward link carries a `span`**: how many level-0 steps it
//!    jumps. Adding up the spans along a search path gives a node's rank,
//!    so `ZRANK` and "the node at rank r" (`ZRANGE z 1000 1010`) are
//!    O(log n) instead of O(n).
//! 5. **P = 1/4 and at most 32 levels.** Pugh discusses P = 1/2 and 1/4.
//!    With 1/4 a node has 1/(1 - P) = 4/3 links on average instead of 2, and
//!    a search does about the same number of comparisons (see "Bounds").
//!
//! ## The picture
//!
//! `ZADD z 1 a 2 b 3 c 4 d`, where the random levels came out as a:1, b:3,
//! c:1, d:2. The number on each arrow is its span; rank is the 1-based
//! position on level 0 (the header is rank 0).
//!
//! ```text
//!   rank:     0          1          2          3          4
//!   L2      [hdr] ------ 2 ------> [b] --------------- 2 ---------------> NULL
//!   L1      [hdr] ------ 2 ------> [b] ------- 2 -------> [d] --- 0 ----> NULL
//!   L0      [hdr] -1-> [a 1] -1-> [b 2] -1-> [c 3] -1-> [d 4] --- 0 ----> NULL
//!   backward:    NULL <- a  <----- b  <----- c  <----- d      tail = d
//! ```
//!
//! A link that ends in NULL still has a span: the number of nodes after its
//! source. So **the spans along any level add up to `len()`**, which
//! is the check in [`Skiplist::check_invariants`]. Redis keeps these NULL
//! spans up to date but never reads them; keeping them exact is what lets
//! the insert code below treat "the link to NULL" like any other link.
//!
//! ## Worked example: ZRANK z c
//!
//! Start at the header on L2 with rank 0. The next node on L2 is b, and
//! (2, "b") <= (3, "c"), so take the link: rank 0 + 2 = 2, now at b. b's
//! L2 link is NULL: drop to L1. The next is d, (4, "d") > (3, "c"): drop to
//! L0. The next is c, (3, "c") <= (3, "c"): take it, rank 3, now at c.
//! We stand on c itself, so its rank is 3. `ZRANK` answers 2, because
//! Redis's replies count from 0 while ranks here, as in `zslGetRank`,
//! count from 1. In a list this small the express lane saved one step; in
//! a list of a million, the same L2 link would jump over about sixteen
//! nodes, and the lanes above it over 64, 256, ... at a time.
//!
//! ## Worked example: inserting (3.5, "y") with level 2
//!
//! SEARCH. Going down from L2, remember on each level the last node before
//! the new one (`update[i]`) and its rank (`rank[i]`):
//! L2: b (rank 2). L1: still b (d is after y), rank 2. L0: c, rank 3.
//!
//! SPLICE. On each level `i` below the new node's height, the link out of
//! `update[i]` is cut in two. `rank[0] - rank[i]` is how many nodes of the
//! old link's span lie between `update[i]` and the new node's predecessor,
//! so:
//!
//! ```text
//!   new.span[i]       = update[i].span[i] - (rank[0] - rank[i])
//!   update[i].span[i] = (rank[0] - rank[i]) + 1
//!
//!   L0: update = c, rank[0]-rank[0] = 0: y -> d span 1 - 0 = 1; c -> y span 1
//!   L1: update = b, rank[0]-rank[1] = 1: y -> d span 2 - 1 = 1; b -> y span 2
//! ```
//!
//! ABOVE. Levels the new node does not reach still jump over it: b's L2
//! link grows from 2 to 3.
//!
//! ```text
//!   L2      [hdr] ------ 2 ------> [b] --------------------- 3 -----------------------> NULL
//!   L1      [hdr] ------ 2 ------> [b] ------- 2 -------> [y] -- 1 --> [d] --- 0 ----> NULL
//!   L0      [hdr] -1-> [a 1] -1-> [b 2] -1-> [c 3] -1-> [y 4] -1-> [d 5] --- 0 ----> NULL
//! ```
//!
//! Every level sums to 5 again. Deleting is the same in reverse: a link
//! that pointed at the node absorbs its span minus one, and a link that
//! jumped over it loses one.
//!
//! ## Invariants (checked by [`Skiplist::check_invariants`])
//!
//! 1. Level 0 lists every live node exactly once, strictly increasing in
//!    (score, member); no score is NaN. `len()` counts them. `tail` is the
//!    last, and each node's `backward` is the one before it (NULL for the
//!    first).
//! 2. Level `i` lists, in the same order, exactly the nodes whose height is
//!    more than `i`.
//! 3. Every link's span is (rank of its target) minus (rank of its source),
//!    where a NULL target counts as rank `len()`. So every level's spans
//!    sum to `len()`.
//! 4. `level()` is the greatest node height, or 1 when empty. The header
//!    has all 32 levels; those at `level()` and above point nowhere.
//!
//! ## Bounds
//!
//! A node's height is `k` with probability (3/4)(1/4)^(k-1): 75% have one
//! level, 19% two, 5% three. The expected number of nodes as tall as `k` or
//! taller is `n / 4^(k-1)`, so a list of n nodes is about `log4(n) + 1`
//! levels high: 11 for a million members. 32 levels is enough for 4^32 =
//! 2^64 members. Pugh's analysis gives about `log_{1/P}(n) / P` link steps
//! per search: `log4(10^6) / (1/4)` = about 40 for a million members, the
//! same as with P = 1/2 (`log2(10^6) / (1/2)`), with a third fewer links.
//! These are expectations; a skiplist has no worst-case guarantee, only a
//! vanishingly small chance of being much worse.
//!
//! ## Why an arena of indices, not pointers
//!
//! Redis's node holds raw pointers: forward links, and a backward link that
//! points the other way. In Rust that shape (many owners, cycles) is
//! `Rc<RefCell<..>>` with weak back links, or `unsafe`. We do neither. All
//! nodes live in one `Vec<Node>`, and a link is the node's `u32` index in
//! it. It is the same algorithm, line for line: `x->level[i].forward`
//! becomes `self.nodes[x].levels[i].forward`. The borrow checker is
//! satisfied because only the `Vec` owns nodes. And an index is a pointer a
//! student can print: `#7 -> #3` in a test failure or in the visualizer
//! means something, where `0x55d4c8a01f30` does not.
//!
//! Slot 0 is the header. No link ever points *at* the header (the first
//! node's backward link is NULL, not the header), so index 0 also serves
//! as NULL. That is why the public [`NodeId`] is a `NonZeroU32` and an
//! `Option<NodeId>` costs 4 bytes.
//!
//! A deleted node's slot goes on a free list, and the next insert reuses
//! it. So, exactly like a pointer in C, a [`NodeId`] is valid until the
//! next call that deletes or moves nodes (`delete*`, `update_score`); after
//! that it may name another member. Using a freed id panics.
//!
//! ## The Redis counterpart (src/t_zset.c, src/server.h, Redis 7.0)
//!
//! | here                                   | Redis                           |
//! |----------------------------------------|---------------------------------|
//! | [`Skiplist`], `Node`, `Level`          | `zskiplist`, `zskiplistNode`, `zskiplistLevel` |
//! | [`Skiplist::new`]                      | `zslCreate`                     |
//! | [`random_level`]                       | `zslRandomLevel`                |
//! | [`Skiplist::insert`]                   | `zslInsert`                     |
//! | `Skiplist::unlink`, [`Skiplist::delete`] | `zslDeleteNode`, `zslDelete`  |
//! | [`Skiplist::update_score`]             | `zslUpdateScore`                |
//! | [`Skiplist::rank`], [`Skiplist::by_rank`] | `zslGetRank`, `zslGetElementByRank` |
//! | [`ScoreRange`], [`ScoreRange::parse`]  | `zrangespec`, `zslParseRange`   |
//! | [`LexRange`], [`LexRange::parse`]      | `zlexrangespec`, `zslParseLexRange` |
//! | [`Skiplist::is_in_range`], `first_in_range`, `last_in_range` | `zslIsInRange`, `zslFirstInRange`, `zslLastInRange` |
//! | `*_in_lex_range`                       | `zslIsInLexRange`, `zslFirstInLexRange`, `zslLastInLexRange` |
//! | `delete_range_by_score/lex/rank`       | `zslDeleteRangeByScore/Lex/Rank` |
//! | [`strtod`]                             | libc's `strtod`, as `zslParseRange` calls it |
//!
//! ## What we simplified, and why
//!
//! * **Indices instead of pointers**, argued above. The cost: a node's
//!   levels are a separate `Box<[Level]>` (Redis puts them in the node's own
//!   allocation as a flexible array), and the arena never shrinks: slots of
//!   deleted nodes wait on the free list. A `Level` is 8 bytes (two `u32`s)
//!   where Redis's is 16, which caps a skiplist at 2^32 - 1 nodes.
//! * **No dict inside.** Redis's range deletions take the zset's dict and
//!   remove each member from it too. We take a callback, so this module
//!   knows nothing about the dict; the zset code passes a closure that
//!   removes from its dict.
//! * **The random source is ours.** Redis 7.0 draws `random()` and compares
//!   it with `P * RAND_MAX`; we draw a `u32` from a small PRNG and compare
//!   with `P * 2^32`. Same distribution. The generator can be seeded
//!   ([`seed_random_level`]) so tests and walkthroughs draw the same
//!   levels every run.
//! * **The member's bytes are the whole member.** Redis's range parser
//!   hands C strings to `strtod`, so `"1\0junk"` parses as 1. We look at
//!   every byte and reject it.
//! * **We follow 7.0's range lookups.** Releases after 7.0 fold
//!   `zslFirstInRange`/`zslLastInRange` into `zslNthInRange`, which also
//!   starts at an offset in O(log n) (`ZRANGEBYSCORE ... LIMIT`). The zset
//!   commands can get the same effect from [`Skiplist::rank`] and
//!   [`Skiplist::by_rank`].
//!
//! ## Exercises
//!
//! 1. Insert a million members and histogram [`Skiplist::node_level`]. Compare
//!    with (3/4)(1/4)^(k-1). How many levels does the list have, and does it
//!    match `log4(n) + 1`?
//! 2. [`Skiplist::update_score`] only updates in place when the neighbours'
//!    *scores* are strictly on either side, so a node whose new score ties
//!    a neighbour's is deleted and reinserted even when it would not move.
//!    Change the test to compare (score, member), then count how often each
//!    version relinks under a `ZINCRBY` workload with many equal scores.
//!    Was the simpler test worth it?
//! 3. Make the arena shrink: when more than half the slots are free, move
//!    live nodes down and rewrite every link. What happens to `NodeId`s held
//!    by callers, and how does Redis avoid the question?
//! 4. `ZRANGE z -10 -1` asks for the last ten. Walk from `by_rank(len - 9)`
//!    or from `last()` backwards: which is cheaper, and when?

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::num::NonZeroU32;

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use crate::sds::Sds;

/// The most levels a node (and the list) can have (Redis:
/// `ZSKIPLIST_MAXLEVEL`). Enough for 4^32 = 2^64 members.
pub const ZSKIPLIST_MAXLEVEL: usize = 32;

/// The chance that a node reaching level `k` also reaches level `k + 1`
/// (Redis: `ZSKIPLIST_P`).
pub const ZSKIPLIST_P: f64 = 0.25;

/// Slot 0 of the arena is the header node.
const HEADER: u32 = 0;
/// A link to slot 0 means "no node": nothing links to the header.
const NIL: u32 = 0;

// ---------------------------------------------------------------------------
// Random levels
// ---------------------------------------------------------------------------

thread_local! {
    /// The generator behind [`random_level`], one per thread: all the
    /// server's data lives on one thread.
    static LEVEL_RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_entropy());
}

/// Reseeds this thread's level generator, so the same inserts build the
/// same lists (for tests, walkthroughs and the visualizer's scripted
/// snapshots). Redis seeds `random()` once at startup and never again.
pub fn seed_random_level(seed: u64) {
    LEVEL_RNG.with(|rng| *rng.borrow_mut() = SmallRng::seed_from_u64(seed));
}

// ANCHOR: random_level
/// The height for a new node: 1, then one more level with probability
/// [`ZSKIPLIST_P`] each time, stopping at [`ZSKIPLIST_MAXLEVEL`] (Redis:
/// `zslRandomLevel`).
///
/// So P(level = k) = (3/4)(1/4)^(k-1) and the mean is 1/(1 - 1/4) = 4/3.
/// Each extra level costs one 32-bit draw; reaching level 32 would take 31
/// lucky draws in a row, a chance of 2^-62.
pub fn random_level() -> usize {
    // P * 2^32 = 2^30: a uniform u32 is below it with probability exactly 1/4.
    const THRESHOLD: u32 = (ZSKIPLIST_P * 4_294_967_296.0) as u32;
    LEVEL_RNG.with(|rng| {
        let mut rng = rng.borrow_mut();
        let mut level = 1;
        while level < ZSKIPLIST_MAXLEVEL && rng.next_u32() < THRESHOLD {
            level += 1;
        }
        level
    })
}
// ANCHOR_END: random_level

// ---------------------------------------------------------------------------
// The data structure
// ---------------------------------------------------------------------------

// ANCHOR: skiplist_node
/// A node's name: its slot in the arena. Never 0, which is the header.
/// Valid until the next deletion or score update (module comment, "Why an
/// arena of indices").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(NonZeroU32);

impl NodeId {
    /// The arena slot, for printing and for the visualizer.
    pub fn index(self) -> u32 {
        self.0.get()
    }

    /// `None` for the NULL link (slot 0).
    fn from_raw(raw: u32) -> Option<NodeId> {
        NonZeroU32::new(raw).map(NodeId)
    }
}

/// Prints as `#7`, so a link reads `#7 -> #3`.
impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One forward link of a node (Redis: `zskiplistLevel`).
#[derive(Clone, Copy, Debug)]
struct Level {
    /// The next node on this level, or [`NIL`].
    forward: u32,
    /// How many level-0 steps this link jumps: rank of `forward` minus
    /// rank of this node, where NIL counts as rank `len()`. This is what
    /// makes rank O(log n).
    span: u32,
}

/// A link to nowhere, spanning nothing: what every link starts as.
const NULL_LINK: Level = Level {
    forward: NIL,
    span: 0,
};

/// A node (Redis: `zskiplistNode`). Slot 0 is the header, which has no
/// member, score 0 and all [`ZSKIPLIST_MAXLEVEL`] levels. A free slot has
/// no member and no levels.
#[derive(Clone)]
struct Node {
    /// The member, owned here. `None` only for the header and free slots.
    member: Option<Sds>,
    /// The score. Never NaN: NaN compares false with everything, and the
    /// search loops would lose their way.
    score: f64,
    /// Its links, `levels[0]` being the full list. The height is fixed
    /// when the node is created.
    levels: Box<[Level]>,
    /// The previous node on level 0, or [`NIL`] for the first node.
    backward: u32,
}

/// A link as the visualizer and tests see it: where it goes and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// `None` for the NULL link at the end of a level.
    pub forward: Option<NodeId>,
    /// Level-0 steps this link jumps (see the module's picture).
    pub span: usize,
}

/// Redis's zset skiplist (`zskiplist`): (score, member) pairs in order,
/// with O(log n) insert, delete, rank and range lookups. Members are
/// unique, but the skiplist does not check it: that is the dict's job.
#[derive(Clone)]
pub struct Skiplist {
    /// The arena: slot 0 the header, then live nodes and free slots mixed.
    nodes: Vec<Node>,
    /// Free slots, reused last-in first-out by the next inserts.
    free: Vec<u32>,
    /// The last node on level 0, or [`NIL`] when empty. `ZREVRANGE`
    /// starts here.
    tail: u32,
    /// Number of members (Redis: `length`). `ZCARD` reads this.
    length: usize,
    /// Height of the tallest node, at least 1 (Redis: `level`). Searches
    /// start on level `level - 1` of the header.
    level: usize,
}
// ANCHOR_END: skiplist_node

impl Default for Skiplist {
    fn default() -> Skiplist {
        Skiplist::new()
    }
}

impl Skiplist {
    /// An empty skiplist: just the header, with 32 NULL links of span 0,
    /// and level 1 (Redis: `zslCreate`).
    pub fn new() -> Skiplist {
        let header = Node {
            member: None,
            score: 0.0,
            levels: vec![NULL_LINK; ZSKIPLIST_MAXLEVEL].into_boxed_slice(),
            backward: NIL,
        };
        Skiplist {
            nodes: vec![header],
            free: Vec::new(),
            tail: NIL,
            length: 0,
            level: 1,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.length
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Current height: the tallest node's level, or 1 when empty.
    pub fn level(&self) -> usize {
        self.level
    }

    // -- arena helpers --------------------------------------------------

    fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    fn node_mut(&mut self, id: u32) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    fn forward(&self, id: u32, level: usize) -> u32 {
        self.node(id).levels[level].forward
    }

    fn span(&self, id: u32, level: usize) -> usize {
        self.node(id).levels[level].span as usize
    }

    fn link_mut(&mut self, id: u32, level: usize) -> &mut Level {
        &mut self.node_mut(id).levels[level]
    }

    /// The member of a live node. Panics on the header or a freed slot.
    fn member_of(&self, id: u32) -> &Sds {
        self.node(id)
            .member
            .as_ref()
            .unwrap_or_else(|| panic!("#{id} is not a live node (stale NodeId?)"))
    }

    /// The node's (score, member) is strictly before (score, member) in the
    /// list's order. This is the comparison every search loop makes
    /// (`x->score < score || (x->score == score && sdscmp(x->ele, ele) < 0)`).
    fn is_before(&self, id: u32, score: f64, member: &[u8]) -> bool {
        let node = self.node(id);
        node.score < score || (node.score == score && self.member_of(id).as_bytes() < member)
    }

    /// Puts a node in a free slot, or in a new one at the end.
    fn alloc_node(&mut self, level: usize, score: f64, member: Sds) -> u32 {
        let node = Node {
            member: Some(member),
            score,
            levels: vec![NULL_LINK; level].into_boxed_slice(),
            backward: NIL,
        };
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                let id = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&id| id != u32::MAX)
                    .expect("a skiplist holds at most 2^32 - 2 nodes");
                self.nodes.push(node);
                id
            }
        }
    }

    /// Empties an unlinked node's slot, returning its member (Redis:
    /// `zslFreeNode`, minus the freeing of the member, which is the
    /// caller's choice).
    fn free_node(&mut self, id: u32) -> Sds {
        let node = self.node_mut(id);
        node.levels = Box::new([]);
        let member = node.member.take().expect("freeing a live node");
        self.free.push(id);
        member
    }

    /// Turns a public id into a slot, checking that it is live.
    fn live(&self, id: NodeId) -> u32 {
        let raw = id.index();
        assert!(
            (raw as usize) < self.nodes.len() && self.node(raw).member.is_some(),
            "{id:?} is not a live node (stale NodeId?)"
        );
        raw
    }

    // ANCHOR: skiplist_insert
    /// Adds `member` with `score` and returns its node (Redis: `zslInsert`).
    ///
    /// The caller guarantees that `member` is not in the list yet, as the
    /// zset code does by looking in its dict first. Inserting it twice
    /// would give two nodes for one member. Panics if `score` is NaN.
    ///
    /// The module comment walks through an example. The steps:
    /// 1. **Search** from the top level down, recording on each level the
    ///    last node before the new one (`update[i]`) and that node's rank
    ///    (`rank[i]`).
    /// 2. **Draw a height.** If it is above the list's level, the header is
    ///    `update[i]` on the new levels, and its NULL link there spans the
    ///    whole list (`len()` nodes).
    /// 3. **Splice** on each level below the height, splitting the old span.
    /// 4. **Levels above the height** jump over the new node: span + 1.
    /// 5. **Backward links and tail.**
    pub fn insert(&mut self, score: f64, member: Sds) -> NodeId {
        self.insert_with_level(score, member, random_level())
    }

    /// [`Skiplist::insert`] with the height chosen by the caller, so tests
    /// can build the module comment's pictures exactly.
    fn insert_with_level(&mut self, score: f64, member: Sds, level: usize) -> NodeId {
        assert!(!score.is_nan(), "a skiplist score cannot be NaN");
        assert!((1..=ZSKIPLIST_MAXLEVEL).contains(&level));
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0usize; ZSKIPLIST_MAXLEVEL];

        // 1. Search.
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            // Each level starts from the rank reached on the level above.
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let next = self.forward(x, i);
                if next == NIL || !self.is_before(next, score, &member) {
                    break;
                }
                rank[i] += self.span(x, i);
                x = next;
            }
            update[i] = x;
        }

        // 2. Height.
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEADER;
                self.link_mut(HEADER, i).span = self.length as u32;
            }
            self.level = level;
        }

        // 3. Splice.
        let x = self.alloc_node(level, score, member);
        for i in 0..level {
            let before = self.node(update[i]).levels[i];
            // Nodes between update[i] and the new node's predecessor.
            let skipped = (rank[0] - rank[i]) as u32;
            *self.link_mut(x, i) = Level {
                forward: before.forward,
                span: before.span - skipped,
            };
            *self.link_mut(update[i], i) = Level {
                forward: x,
                span: skipped + 1,
            };
        }

        // 4. Untouched levels.
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.link_mut(u, i).span += 1;
        }

        // 5. Backward link, and the successor's (or the tail).
        self.node_mut(x).backward = if update[0] == HEADER { NIL } else { update[0] };
        let next = self.forward(x, 0);
        if next == NIL {
            self.tail = x;
        } else {
            self.node_mut(next).backward = x;
        }
        self.length += 1;
        NodeId::from_raw(x).expect("slot 0 is the header")
    }
    // ANCHOR_END: skiplist_insert

    /// On each level, the last node strictly before (score, member): the
    /// `update` array of every operation that unlinks a node.
    fn find_update(&self, score: f64, member: &[u8]) -> [u32; ZSKIPLIST_MAXLEVEL] {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let next = self.forward(x, i);
                if next == NIL || !self.is_before(next, score, member) {
                    break;
                }
                x = next;
            }
            update[i] = x;
        }
        update
    }

    // ANCHOR: skiplist_delete
    /// Unlinks node `x`, given the last node before it on each level
    /// (Redis: `zslDeleteNode`). The slot is not freed here.
    ///
    /// On a level where `update[i]` links to `x`, it takes over `x`'s link:
    /// span `a` to `x` plus span `b` onwards, minus `x` itself, is
    /// `a + b - 1`. On a level `x` does not reach, `update[i]`'s link jumps
    /// over `x` and becomes one shorter. Then the list's level drops while
    /// the top level is empty.
    fn unlink(&mut self, x: u32, update: &[u32; ZSKIPLIST_MAXLEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.forward(u, i) == x {
                let gone = self.node(x).levels[i];
                let link = self.link_mut(u, i);
                // Add first: `gone.span` may be 0 (x was last) but link.span >= 1.
                link.span = link.span + gone.span - 1;
                link.forward = gone.forward;
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let (next, prev) = (self.forward(x, 0), self.node(x).backward);
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).backward = prev;
        }
        while self.level > 1 && self.forward(HEADER, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.length -= 1;
    }

    /// Removes the node with exactly this score and member; returns whether
    /// there was one (Redis: `zslDelete`). Both must match: the score is
    /// what finds the node, so the wrong score finds nothing even if the
    /// member is in the list.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let update = self.find_update(score, member);
        let x = self.forward(update[0], 0);
        if x != NIL && self.node(x).score == score && self.member_of(x).as_bytes() == member {
            self.unlink(x, &update);
            self.free_node(x);
            true
        } else {
            false
        }
    }
    // ANCHOR_END: skiplist_delete

    /// Changes a member's score from `cur_score` to `new_score` and returns
    /// its node, which may be a different one (Redis: `zslUpdateScore`,
    /// used by `ZADD` on an existing member and by `ZINCRBY`).
    ///
    /// Two outcomes:
    /// - **In place**, if the previous node's score is below `new_score`
    ///   and the next node's score is above it (or there is no such
    ///   neighbour): the node keeps its position, so only the score
    ///   changes. O(log n) for the search, nothing relinked. Incrementing a
    ///   leaderboard score by a little usually lands here.
    /// - **Moved** otherwise: unlinked, and its member reinserted with the
    ///   new score (with a new random height). The returned id is the new
    ///   node's.
    ///
    /// The test compares scores only, strictly, so a tie with a neighbour
    /// always moves the node even when the member order would have kept it
    /// in place. Simpler, and still correct.
    ///
    /// Panics if there is no node with `cur_score` and `member` (Redis
    /// asserts the same: the dict said it was there), or if `new_score`
    /// is NaN.
    pub fn update_score(&mut self, cur_score: f64, member: &[u8], new_score: f64) -> NodeId {
        assert!(!new_score.is_nan(), "a skiplist score cannot be NaN");
        let update = self.find_update(cur_score, member);
        let x = self.forward(update[0], 0);
        assert!(
            x != NIL && self.node(x).score == cur_score && self.member_of(x).as_bytes() == member,
            "update_score: the member is not in the list with that score"
        );
        let (prev, next) = (self.node(x).backward, self.forward(x, 0));
        let after_prev = prev == NIL || self.node(prev).score < new_score;
        let before_next = next == NIL || self.node(next).score > new_score;
        if after_prev && before_next {
            self.node_mut(x).score = new_score;
            return NodeId::from_raw(x).expect("slot 0 is the header");
        }
        self.unlink(x, &update);
        let member = self.free_node(x);
        self.insert(new_score, member)
    }

    // ANCHOR: skiplist_rank
    /// The 1-based rank of (score, member), or `None` if it is not in the
    /// list (Redis: `zslGetRank`, which returns 0 for "absent"). `ZRANK`
    /// replies `rank - 1`; `ZREVRANK` replies `len() - rank`.
    ///
    /// The same walk as a search, but it also takes links to the node
    /// itself (`<=`, not `<`), adding up spans as it goes. If at any level
    /// it stands on the node, the sum is the rank. At most one step per
    /// link on the search path: O(log n) expected.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut rank = 0;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let next = self.forward(x, i);
                let at_or_before = next != NIL
                    && (self.is_before(next, score, member)
                        || (self.node(next).score == score
                            && self.member_of(next).as_bytes() == member));
                if !at_or_before {
                    break;
                }
                rank += self.span(x, i);
                x = next;
            }
            if x != HEADER && self.node(x).score == score && self.member_of(x).as_bytes() == member
            {
                return Some(rank);
            }
        }
        None
    }

    /// The node at 1-based `rank`, or `None` if `rank` is 0 or past the end
    /// (Redis: `zslGetElementByRank`). `ZRANGE z 10 20` starts here at
    /// rank 11. Walks down taking every link that does not overshoot.
    pub fn by_rank(&self, rank: usize) -> Option<NodeId> {
        let mut traversed = 0;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL && traversed + self.span(x, i) <= rank {
                traversed += self.span(x, i);
                x = self.forward(x, i);
            }
            if traversed == rank {
                return NodeId::from_raw(x);
            }
        }
        None
    }
    // ANCHOR_END: skiplist_rank

    // -- node accessors ---------------------------------------------------

    /// A live node's score. Panics on a stale id.
    pub fn score(&self, id: NodeId) -> f64 {
        self.node(self.live(id)).score
    }

    /// A live node's member. Panics on a stale id.
    pub fn member(&self, id: NodeId) -> &Sds {
        self.member_of(self.live(id))
    }

    /// The node after `id` on level 0, if any.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        NodeId::from_raw(self.forward(self.live(id), 0))
    }

    /// The node before `id` on level 0 (its backward link), if any.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        NodeId::from_raw(self.node(self.live(id)).backward)
    }

    /// The lowest (score, member), if any.
    pub fn first(&self) -> Option<NodeId> {
        NodeId::from_raw(self.forward(HEADER, 0))
    }

    /// The highest (score, member), if any (Redis: `zsl->tail`).
    pub fn last(&self) -> Option<NodeId> {
        NodeId::from_raw(self.tail)
    }

    /// How many levels a node has (1 to 32).
    pub fn node_level(&self, id: NodeId) -> usize {
        self.node(self.live(id)).levels.len()
    }

    /// A node's links from level 0 up, or the header's (`None`) up to
    /// [`Skiplist::level`]. For the visualizer and for tests.
    pub fn links(&self, from: Option<NodeId>) -> Vec<Link> {
        let (raw, count) = match from {
            None => (HEADER, self.level),
            Some(id) => {
                let raw = self.live(id);
                (raw, self.node(raw).levels.len())
            }
        };
        self.node(raw).levels[..count]
            .iter()
            .map(|l| Link {
                forward: NodeId::from_raw(l.forward),
                span: l.span as usize,
            })
            .collect()
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            next: self.forward(HEADER, 0),
            remaining: self.length,
            reverse: false,
        }
    }

    /// Members in descending order, following backward links from the tail.
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter {
            list: self,
            next: self.tail,
            remaining: self.length,
            reverse: true,
        }
    }

    // -- score ranges -----------------------------------------------------

    /// Whether any node could be in `range` (Redis: `zslIsInRange`): the
    /// range is not empty, the last node is not below it and the first
    /// node is not above it. O(1). It can still answer true for a range
    /// that falls in a gap between two nodes; the `first`/`last` lookups
    /// find that out.
    pub fn is_in_range(&self, range: &ScoreRange) -> bool {
        if range.is_empty() || self.tail == NIL {
            return false;
        }
        let first = self.forward(HEADER, 0);
        range.value_gte_min(self.node(self.tail).score)
            && range.value_lte_max(self.node(first).score)
    }

    /// The first node whose score is in `range` (Redis: `zslFirstInRange`).
    /// `ZRANGEBYSCORE` starts here. Walks down to the last node below the
    /// minimum; the next node is the candidate, and it is the answer if
    /// it is not above the maximum.
    pub fn first_in_range(&self, range: &ScoreRange) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && !range.value_gte_min(self.node(self.forward(x, i)).score)
            {
                x = self.forward(x, i);
            }
        }
        // Not NIL: is_in_range saw the tail at or above the minimum.
        let x = self.forward(x, 0);
        (range.value_lte_max(self.node(x).score)).then(|| NodeId::from_raw(x))?
    }

    /// The last node whose score is in `range` (Redis: `zslLastInRange`).
    /// `ZREVRANGEBYSCORE` starts here.
    pub fn last_in_range(&self, range: &ScoreRange) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && range.value_lte_max(self.node(self.forward(x, i)).score)
            {
                x = self.forward(x, i);
            }
        }
        // Not the header: is_in_range saw the first node at or below the maximum.
        (range.value_gte_min(self.node(x).score)).then(|| NodeId::from_raw(x))?
    }

    /// Deletes every node whose score is in `range`, calling `on_delete`
    /// with each member just before it is dropped; returns how many
    /// (Redis: `zslDeleteRangeByScore`, for `ZREMRANGEBYSCORE`). The zset
    /// code removes the member from its dict in the callback.
    ///
    /// One search finds the `update` nodes before the range; then the
    /// nodes are unlinked one by one walking level 0. The `update` array
    /// stays right throughout: each removed node was the one right after
    /// `update[0]`, and every `update[i]` is still the last node before
    /// the next candidate. O(log n + m) for m removed nodes.
    pub fn delete_range_by_score(
        &mut self,
        range: &ScoreRange,
        on_delete: impl FnMut(&Sds),
    ) -> usize {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && !range.value_gte_min(self.node(self.forward(x, i)).score)
            {
                x = self.forward(x, i);
            }
            update[i] = x;
        }
        self.delete_run(update, on_delete, |list, node| {
            range.value_lte_max(list.node(node).score)
        })
    }

    /// Unlinks nodes from just after `update[0]` while `keep_going` says so.
    /// The shared tail of the three range deletions.
    fn delete_run(
        &mut self,
        update: [u32; ZSKIPLIST_MAXLEVEL],
        mut on_delete: impl FnMut(&Sds),
        mut keep_going: impl FnMut(&Skiplist, u32) -> bool,
    ) -> usize {
        let mut removed = 0;
        let mut x = self.forward(update[0], 0);
        while x != NIL && keep_going(self, x) {
            let next = self.forward(x, 0);
            self.unlink(x, &update);
            let member = self.free_node(x);
            on_delete(&member);
            removed += 1;
            x = next;
        }
        removed
    }

    // -- lex ranges -------------------------------------------------------

    /// Whether any node could be in the lex `range` (Redis:
    /// `zslIsInLexRange`). Like [`Skiplist::is_in_range`], by member.
    ///
    /// Lex ranges assume every member has the same score, so that the list
    /// is sorted by member. With mixed scores the answers are whatever the
    /// walk finds (Redis documents the result as unspecified).
    pub fn is_in_lex_range(&self, range: &LexRange) -> bool {
        if range.is_empty() || self.tail == NIL {
            return false;
        }
        let first = self.forward(HEADER, 0);
        range.value_gte_min(self.member_of(self.tail)) && range.value_lte_max(self.member_of(first))
    }

    /// The first node whose member is in `range` (Redis:
    /// `zslFirstInLexRange`, for `ZRANGEBYLEX`).
    pub fn first_in_lex_range(&self, range: &LexRange) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && !range.value_gte_min(self.member_of(self.forward(x, i)))
            {
                x = self.forward(x, i);
            }
        }
        let x = self.forward(x, 0);
        (x != NIL && range.value_lte_max(self.member_of(x))).then(|| NodeId::from_raw(x))?
    }

    /// The last node whose member is in `range` (Redis:
    /// `zslLastInLexRange`, for `ZREVRANGEBYLEX`).
    pub fn last_in_lex_range(&self, range: &LexRange) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && range.value_lte_max(self.member_of(self.forward(x, i)))
            {
                x = self.forward(x, i);
            }
        }
        (x != HEADER && range.value_gte_min(self.member_of(x))).then(|| NodeId::from_raw(x))?
    }

    /// Deletes every node whose member is in `range`, calling `on_delete`
    /// for each; returns how many (Redis: `zslDeleteRangeByLex`, for
    /// `ZREMRANGEBYLEX`). Same shape as [`Skiplist::delete_range_by_score`].
    pub fn delete_range_by_lex(&mut self, range: &LexRange, on_delete: impl FnMut(&Sds)) -> usize {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL
                && !range.value_gte_min(self.member_of(self.forward(x, i)))
            {
                x = self.forward(x, i);
            }
            update[i] = x;
        }
        self.delete_run(update, on_delete, |list, node| {
            range.value_lte_max(list.member_of(node))
        })
    }

    // -- rank ranges ------------------------------------------------------

    /// Deletes the nodes with 1-based ranks `start..=end`, calling
    /// `on_delete` for each; returns how many (Redis:
    /// `zslDeleteRangeByRank`; `ZREMRANGEBYRANK` turns its 0-based,
    /// possibly negative indices into these). A `start` of 0 is treated as
    /// 1; an `end` past the end stops at the last node.
    ///
    /// The search takes every link that ends before `start`, so `update[i]`
    /// is the last node before rank `start` on each level.
    pub fn delete_range_by_rank(
        &mut self,
        start: usize,
        end: usize,
        on_delete: impl FnMut(&Sds),
    ) -> usize {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut traversed = 0;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL && traversed + self.span(x, i) < start {
                traversed += self.span(x, i);
                x = self.forward(x, i);
            }
            update[i] = x;
        }
        // `traversed` is the rank of update[0]; the run starts one later.
        let mut rank = traversed + 1;
        self.delete_run(update, on_delete, |_, _| {
            let inside = rank <= end;
            rank += 1;
            inside
        })
    }

    // -- checking ---------------------------------------------------------

    /// Checks every invariant in the module comment, plus the arena's
    /// bookkeeping, and describes the first violation found. O(n * level).
    /// Tests call it after every step; the server never does.
    pub fn check_invariants(&self) -> Result<(), String> {
        macro_rules! ensure {
            ($cond:expr, $($msg:tt)+) => {
                if !$cond {
                    return Err(format!($($msg)+));
                }
            };
        }
        let header = self.node(HEADER);
        ensure!(
            header.member.is_none() && header.levels.len() == ZSKIPLIST_MAXLEVEL,
            "the header must have no member and {ZSKIPLIST_MAXLEVEL} levels"
        );
        ensure!(
            (1..=ZSKIPLIST_MAXLEVEL).contains(&self.level),
            "level {} out of 1..=32",
            self.level
        );
        for i in self.level..ZSKIPLIST_MAXLEVEL {
            ensure!(
                header.levels[i].forward == NIL,
                "header level {i} is above the list level {} but links somewhere",
                self.level
            );
        }

        // Invariant 1: level 0, with a rank for every node (0 = not listed).
        let mut rank_of = vec![0usize; self.nodes.len()];
        let mut tallest = 1;
        let (mut prev, mut x, mut rank) = (HEADER, self.forward(HEADER, 0), 0);
        while x != NIL {
            ensure!(
                (x as usize) < self.nodes.len(),
                "#{prev} links to #{x}, outside the arena"
            );
            ensure!(
                rank_of[x as usize] == 0,
                "#{x} appears twice on level 0 (a cycle)"
            );
            let node = self.node(x);
            ensure!(
                node.member.is_some(),
                "#{x} is on level 0 but is a free slot"
            );
            ensure!(!node.score.is_nan(), "#{x} has a NaN score");
            let height = node.levels.len();
            ensure!(
                (1..=self.level).contains(&height),
                "#{x} has {height} levels, the list has {}",
                self.level
            );
            tallest = tallest.max(height);
            let expected_back = if prev == HEADER { NIL } else { prev };
            ensure!(
                node.backward == expected_back,
                "#{x}.backward is #{}, expected #{expected_back}",
                node.backward
            );
            if prev != HEADER {
                ensure!(
                    self.is_before(prev, node.score, self.member_of(x)),
                    "#{prev} ({}, {:?}) is not before #{x} ({}, {:?})",
                    self.node(prev).score,
                    self.member_of(prev),
                    node.score,
                    self.member_of(x)
                );
            }
            rank += 1;
            rank_of[x as usize] = rank;
            prev = x;
            x = node.levels[0].forward;
        }
        ensure!(
            rank == self.length,
            "level 0 has {rank} nodes, len() is {}",
            self.length
        );
        let expected_tail = if prev == HEADER { NIL } else { prev };
        ensure!(
            self.tail == expected_tail,
            "tail is #{}, the last node is #{expected_tail}",
            self.tail
        );
        ensure!(
            tallest == self.level,
            "level is {}, the tallest node has {tallest}",
            self.level
        );

        // Invariants 2 and 3: every level, with its spans.
        for i in 0..self.level {
            let tall = (1..self.nodes.len() as u32)
                .filter(|&id| rank_of[id as usize] > 0 && self.node(id).levels.len() > i)
                .count();
            let (mut x, mut linked, mut sum) = (HEADER, 0, 0);
            loop {
                let link = self.node(x).levels[i];
                let from = rank_of[x as usize];
                let to = if link.forward == NIL {
                    self.length
                } else {
                    rank_of[link.forward as usize]
                };
                ensure!(
                    link.forward == NIL || (to > from && self.node(link.forward).levels.len() > i),
                    "#{x} level {i} links to #{}, which is not a later node of that height",
                    link.forward
                );
                ensure!(
                    link.span as usize == to - from,
                    "#{x} level {i}: span {} but the ranks are {from} -> {to}",
                    link.span
                );
                sum += link.span as usize;
                if link.forward == NIL {
                    break;
                }
                linked += 1;
                x = link.forward;
            }
            ensure!(
                linked == tall,
                "level {i} links {linked} nodes, {tall} are that tall"
            );
            ensure!(
                sum == self.length,
                "level {i} spans add up to {sum}, not {}",
                self.length
            );
        }

        // The arena: every slot is the header, listed, or free, exactly once.
        ensure!(
            1 + self.length + self.free.len() == self.nodes.len(),
            "1 header + {} live + {} free != {} slots",
            self.length,
            self.free.len(),
            self.nodes.len()
        );
        let mut seen_free = vec![false; self.nodes.len()];
        for &f in &self.free {
            ensure!(
                f != HEADER && (f as usize) < self.nodes.len() && !seen_free[f as usize],
                "free list holds #{f} badly (header, out of range, or twice)"
            );
            seen_free[f as usize] = true;
            let node = self.node(f);
            ensure!(
                rank_of[f as usize] == 0 && node.member.is_none() && node.levels.is_empty(),
                "#{f} is on the free list but still in use"
            );
        }
        Ok(())
    }
}

/// Shows the length, level and the (score, member) pairs in order.
impl fmt::Debug for Skiplist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Skiplist(len {}, level {})", self.length, self.level)?;
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Walks level 0 forwards or backwards: from [`Skiplist::iter`] and
/// [`Skiplist::iter_rev`]. Yields (score, member).
pub struct Iter<'a> {
    list: &'a Skiplist,
    /// The node to yield next, or NIL.
    next: u32,
    /// Nodes not yet yielded, for `size_hint`.
    remaining: usize,
    /// Follow backward links instead of level-0 forward links.
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (f64, &'a Sds);

    fn next(&mut self) -> Option<(f64, &'a Sds)> {
        if self.next == NIL {
            return None;
        }
        let list = self.list;
        let node = list.node(self.next);
        self.next = if self.reverse {
            node.backward
        } else {
            node.levels[0].forward
        };
        self.remaining -= 1;
        Some((node.score, list.member_of_node(node)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Skiplist {
    fn member_of_node<'a>(&self, node: &'a Node) -> &'a Sds {
        node.member.as_ref().expect("listed nodes have members")
    }
}

// ---------------------------------------------------------------------------
// Range specifications and their parsers
// ---------------------------------------------------------------------------

/// A score interval with open or closed ends (Redis: `zrangespec`), as
/// written in `ZRANGEBYSCORE z (1.5 +inf`: min 1.5 exclusive, max +inf
/// inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    /// Lower bound. May be -inf.
    pub min: f64,
    /// Upper bound. May be +inf.
    pub max: f64,
    /// The lower bound itself is excluded: written `(min`.
    pub minex: bool,
    /// The upper bound itself is excluded: written `(max`.
    pub maxex: bool,
}

impl ScoreRange {
    /// `[min, max]`, both ends included.
    pub fn inclusive(min: f64, max: f64) -> ScoreRange {
        ScoreRange {
            min,
            max,
            minex: false,
            maxex: false,
        }
    }

    /// Parses the two bounds of `ZRANGEBYSCORE`, `ZCOUNT`,
    /// `ZREMRANGEBYSCORE` (Redis: `zslParseRange`). Each bound is an
    /// optional `(` (exclusive) followed by what C's `strtod` accepts,
    /// with nothing after it:
    ///
    /// | input     | bound                 | why                            |
    /// |-----------|-----------------------|--------------------------------|
    /// | `1.5`     | 1.5 inclusive         |                                |
    /// | `(1.5`    | 1.5 exclusive         |                                |
    /// | `-inf`, `+inf`, `inf`, `infinity` | ±infinity | strtod spells them so |
    /// | `1e3`, `.5`, `5.`, `+5`  | 1000, 0.5, 5, 5 |                        |
    /// | `0x10`, `0x1.8p1` | 16, 3         | strtod reads hex floats        |
    /// | ` 1`      | 1                     | strtod skips leading spaces    |
    /// | `""`, `(` | 0                     | strtod converts nothing, and nothing is left over |
    /// | `1 `, `1e`, `abc`, `((1` | error  | bytes left over                |
    /// | `nan`, `(nan` | error             | NaN is refused explicitly      |
    ///
    /// The empty-string row is a real quirk of Redis (try
    /// `ZRANGEBYSCORE z "" +inf` on a 7.0 server): `strtod` reports no
    /// conversion by leaving its end pointer at the start, and the start
    /// is already the terminating NUL.
    ///
    /// Returns `None` for an error; the command replies `ERR min or max is
    /// not a float`. A range like `5 1` parses fine and matches nothing.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = parse_score_bound(min)?;
        let (max, maxex) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    /// `value` is not below the lower bound (Redis: `zslValueGteMin`).
    pub fn value_gte_min(&self, value: f64) -> bool {
        if self.minex {
            value > self.min
        } else {
            value >= self.min
        }
    }

    /// `value` is not above the upper bound (Redis: `zslValueLteMax`).
    pub fn value_lte_max(&self, value: f64) -> bool {
        if self.maxex {
            value < self.max
        } else {
            value <= self.max
        }
    }

    /// `value` is inside the range.
    pub fn contains(&self, value: f64) -> bool {
        self.value_gte_min(value) && self.value_lte_max(value)
    }

    /// No score at all can be inside: `min > max`, or `min == max` with an
    /// end excluded. (`(1 (1` is empty; `[1 1]` holds exactly 1.)
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One bound of a score range: optional `(`, then a whole `strtod` number
/// that is not NaN.
fn parse_score_bound(text: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, number) = match text.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, text),
    };
    let (value, used) = strtod(number);
    (used == number.len() && !value.is_nan()).then_some((value, exclusive))
}

/// What C's `strtod` reads from the start of `text`: the value and how
/// many bytes it used. `(0.0, 0)` means no number was found (C leaves the
/// end pointer at the start).
///
/// Accepted, in the C locale: leading whitespace (space, `\t`, `\n`, `\v`,
/// `\f`, `\r`); a sign; then `inf`, `infinity` or `nan` (any case, `nan`
/// optionally followed by `(chars)`), or a decimal number with optional
/// fraction and exponent, or `0x` and a hexadecimal number with an
/// optional binary exponent `p`. Overflow gives ±infinity and underflow 0,
/// as with C (which also sets `errno`, and Redis does not look).
///
/// Decimal numbers are converted by Rust's correctly rounded parser, like
/// glibc's. Hex numbers are exact up to 15 significant hex digits; beyond
/// that, and in the subnormal range, the last bit may round differently
/// from glibc.
pub fn strtod(text: &[u8]) -> (f64, usize) {
    let mut i = 0;
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let number_start = i;
    let negative = text.get(i) == Some(&b'-');
    if matches!(text.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &text[i..];
    let starts_with =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);

    if starts_with(b"infinity") {
        return (sign * f64::INFINITY, i + 8);
    }
    if starts_with(b"inf") {
        return (sign * f64::INFINITY, i + 3);
    }
    if starts_with(b"nan") {
        let mut used = 3;
        if rest.get(3) == Some(&b'(') {
            let close = rest[4..]
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'));
            if let Some(n) = close {
                if rest[4 + n] == b')' {
                    used = 4 + n + 1;
                }
            }
        }
        return (f64::NAN, i + used);
    }
    if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((value, used)) = parse_hex_float(&rest[2..]) {
            return (sign * value, i + 2 + used);
        }
        // "0x" with no hex digits after it: strtod reads the "0" alone,
        // which the decimal path below does.
    }

    // Decimal: digits [. digits] [e [sign] digits], at least one digit.
    let digits = |from: usize| {
        text[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int_digits = digits(i);
    let mut end = i + int_digits;
    let mut frac_digits = 0;
    if text.get(end) == Some(&b'.') {
        frac_digits = digits(end + 1);
        if int_digits + frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return (0.0, 0);
    }
    if matches!(text.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(text.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = digits(e);
        if exp_digits > 0 {
            end = e + exp_digits;
        }
    }
    // Everything in text[number_start..end] is ASCII sign, digits, '.', 'e'.
    let literal = std::str::from_utf8(&text[number_start..end]).expect("ASCII");
    match literal.parse::<f64>() {
        Ok(value) => (value, end),
        // Not expected: the scan above only accepts shapes Rust's parser
        // accepts. If it ever disagreed, "no number" is the safe answer.
        Err(_) => (0.0, 0),
    }
}

/// The part of a hex float after `0x`: hex digits with an optional point,
/// then an optional `p[sign]digits` binary exponent. `None` if there is no
/// hex digit. Returns the value and the bytes used.
fn parse_hex_float(text: &[u8]) -> Option<(f64, usize)> {
    let hex = |c: u8| (c as char).to_digit(16);
    // 15 hex digits = 60 bits, well above the 53 an f64 keeps, so the
    // conversion below rounds once and correctly. Digits past those only
    // set `sticky` (were any of them non-zero?), which is all rounding needs.
    let (mut mantissa, mut exponent, mut sticky) = (0u64, 0i64, false);
    let (mut significant, mut any_digit, mut seen_point) = (0, false, false);
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = hex(c) {
            any_digit = true;
            if significant < 15 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa << 4 | u64::from(d);
                    significant += usize::from(mantissa != 0);
                }
                if seen_point {
                    exponent -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exponent += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if matches!(text.get(i), Some(b'p' | b'P')) {
        let mut e = i + 1;
        let negative = text.get(e) == Some(&b'-');
        if matches!(text.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = text[e..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            // Saturate: anything past ±100000 is 0 or infinity anyway.
            let p = text[e..e + exp_digits].iter().fold(0i64, |acc, &c| {
                (acc * 10 + i64::from(c - b'0')).min(100_000)
            });
            exponent += if negative { -p } else { p };
            i = e + exp_digits;
        }
    }
    let mut value = (mantissa | u64::from(sticky)) as f64;
    // Scale by 2^exponent in steps that cannot overflow an f64 on the way.
    let mut exponent = exponent.clamp(-5000, 5000);
    while exponent > 0 {
        let step = exponent.min(1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    while exponent < 0 {
        let step = exponent.max(-1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    Some((value, i))
}

/// One end of a lex range (Redis: the `min`/`max` of `zlexrangespec` and
/// the shared `minstring`/`maxstring` sentinels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: before every string, including the empty one.
    NegInf,
    /// `+`: after every string.
    PosInf,
    /// `[abc`: this string, included.
    Inclusive(Sds),
    /// `(abc`: this string, excluded.
    Exclusive(Sds),
}

impl LexBound {
    /// Parses one item (Redis: `zslParseLexRangeItem`): exactly `-` or `+`,
    /// or `[` or `(` followed by any bytes (possibly none). Anything else,
    /// including the empty string, is an error.
    pub fn parse(item: &[u8]) -> Option<LexBound> {
        match item.split_first()? {
            (b'-', []) => Some(LexBound::NegInf),
            (b'+', []) => Some(LexBound::PosInf),
            (b'[', rest) => Some(LexBound::Inclusive(Sds::new(rest))),
            (b'(', rest) => Some(LexBound::Exclusive(Sds::new(rest))),
            _ => None,
        }
    }

    /// Compares two bounds by position, ignoring exclusivity (Redis:
    /// `sdscmplex`): `-` below every string, `+` above.
    fn cmp_position(&self, other: &LexBound) -> Ordering {
        use LexBound::*;
        match (self, other) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => {
                a.as_bytes().cmp(b.as_bytes())
            }
        }
    }

    /// `-` and `+` count as exclusive, as in Redis: `- -` is empty.
    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// A member interval for `ZRANGEBYLEX` and friends (Redis:
/// `zlexrangespec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexBound,
    /// Upper end.
    pub max: LexBound,
}

impl LexRange {
    /// Parses the two bounds (Redis: `zslParseLexRange`). `None` if either
    /// is malformed; the command replies `ERR min or max not valid string
    /// range item`. `+ -` parses and matches nothing.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    /// `value` is not below the lower end (Redis: `zslLexValueGteMin`).
    pub fn value_gte_min(&self, value: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(m) => value >= m.as_bytes(),
            LexBound::Exclusive(m) => value > m.as_bytes(),
        }
    }

    /// `value` is not above the upper end (Redis: `zslLexValueLteMax`).
    pub fn value_lte_max(&self, value: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(m) => value <= m.as_bytes(),
            LexBound::Exclusive(m) => value < m.as_bytes(),
        }
    }

    /// `value` is inside the range.
    pub fn contains(&self, value: &[u8]) -> bool {
        self.value_gte_min(value) && self.value_lte_max(value)
    }

    /// No string can be inside: min after max, or at the same place with
    /// an end excluded (the first check of `zslIsInLexRange`).
    pub fn is_empty(&self) -> bool {
        match self.min.cmp_position(&self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.is_exclusive() || self.max.is_exclusive(),
            Ordering::Less => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sds(bytes: &[u8]) -> Sds {
        Sds::new(bytes)
    }

    /// (score, member) pairs in order, as owned bytes.
    fn contents(list: &Skiplist) -> Vec<(f64, Vec<u8>)> {
        list.iter()
            .map(|(s, m)| (s, m.as_bytes().to_vec()))
            .collect()
    }

    /// Each link of a node (or the header) as (target member, span).
    fn links_of(list: &Skiplist, from: Option<NodeId>) -> Vec<(Option<String>, usize)> {
        list.links(from)
            .into_iter()
            .map(|l| {
                let target = l
                    .forward
                    .map(|id| String::from_utf8(list.member(id).as_bytes().to_vec()).unwrap());
                (target, l.span)
            })
            .collect()
    }

    fn find(list: &Skiplist, member: &[u8]) -> NodeId {
        let mut node = list.first();
        while let Some(id) = node {
            if list.member(id) == member {
                return id;
            }
            node = list.next(id);
        }
        panic!("{member:?} not in the list");
    }

    /// The module comment's picture: a:1, b:3, c:1, d:2.
    fn picture() -> Skiplist {
        let mut list = Skiplist::new();
        for (score, member, level) in [(1.0, "a", 1), (2.0, "b", 3), (3.0, "c", 1), (4.0, "d", 2)] {
            list.insert_with_level(score, sds(member.as_bytes()), level);
            list.check_invariants().unwrap();
        }
        list
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn a_new_skiplist_is_a_header_at_level_one() {
        let list = Skiplist::new();
        assert_eq!(
            (list.len(), list.level(), list.first(), list.last()),
            (0, 1, None, None)
        );
        assert_eq!(
            list.links(None),
            [Link {
                forward: None,
                span: 0
            }]
        );
        assert_eq!(list.by_rank(1), None);
        assert_eq!(list.rank(0.0, b""), None);
        list.check_invariants().unwrap();
    }

    #[test]
    fn the_module_picture_has_the_spans_it_shows() {
        let list = picture();
        assert_eq!(list.level(), 3);
        assert_eq!(
            links_of(&list, None),
            [(some("a"), 1), (some("b"), 2), (some("b"), 2)]
        );
        let b = find(&list, b"b");
        assert_eq!(
            links_of(&list, Some(b)),
            [(some("c"), 1), (some("d"), 2), (None, 2)]
        );
        let d = find(&list, b"d");
        assert_eq!(links_of(&list, Some(d)), [(None, 0), (None, 0)]);
        assert_eq!(
            list.prev(find(&list, b"a")),
            None,
            "the first node's backward is NULL"
        );
        assert_eq!(list.last(), Some(d));
    }

    #[test]
    fn zrank_of_c_is_three_as_in_the_worked_example() {
        let list = picture();
        assert_eq!(list.rank(3.0, b"c"), Some(3));
        assert_eq!(list.rank(2.0, b"b"), Some(2));
        assert_eq!(list.rank(3.0, b"b"), None, "right member, wrong score");
        assert_eq!(
            list.by_rank(3).map(|id| list.member(id).clone()),
            Some(sds(b"c"))
        );
    }

    #[test]
    fn inserting_y_splits_spans_as_in_the_worked_example() {
        let mut list = picture();
        list.insert_with_level(3.5, sds(b"y"), 2);
        list.check_invariants().unwrap();
        let (b, c, y) = (find(&list, b"b"), find(&list, b"c"), find(&list, b"y"));
        assert_eq!(links_of(&list, Some(c)), [(some("y"), 1)]);
        assert_eq!(links_of(&list, Some(y)), [(some("d"), 1), (some("d"), 1)]);
        assert_eq!(
            links_of(&list, Some(b)),
            [(some("c"), 1), (some("y"), 2), (None, 3)]
        );
        assert_eq!(list.rank(3.5, b"y"), Some(4));
        assert_eq!(list.prev(y), Some(c));
    }

    #[test]
    fn a_tall_first_insert_gives_the_header_new_levels_spanning_the_list() {
        let mut list = Skiplist::new();
        list.insert_with_level(1.0, sds(b"a"), 1);
        list.insert_with_level(2.0, sds(b"b"), 1);
        list.insert_with_level(0.0, sds(b"z"), 4);
        list.check_invariants().unwrap();
        assert_eq!(list.level(), 4);
        assert_eq!(
            links_of(&list, None),
            [
                (some("z"), 1),
                (some("z"), 1),
                (some("z"), 1),
                (some("z"), 1)
            ]
        );
        // Deleting it brings the level back down.
        assert!(list.delete(0.0, b"z"));
        list.check_invariants().unwrap();
        assert_eq!(list.level(), 1);
    }

    #[test]
    fn equal_scores_are_ordered_by_member_bytes_shorter_first() {
        let mut list = Skiplist::new();
        for member in [&b"b"[..], b"a", b"ab", b"", b"\xff", b"a\x00"] {
            list.insert(1.0, sds(member));
        }
        list.insert(0.5, sds(b"zzz"));
        let members: Vec<Vec<u8>> = list.iter().map(|(_, m)| m.as_bytes().to_vec()).collect();
        let expected: [&[u8]; 7] = [b"zzz", b"", b"a", b"a\x00", b"ab", b"b", b"\xff"];
        assert_eq!(members, expected);
        list.check_invariants().unwrap();
    }

    #[test]
    fn minus_zero_and_zero_are_the_same_score() {
        let mut list = Skiplist::new();
        list.insert(0.0, sds(b"b"));
        list.insert(-0.0, sds(b"a"));
        assert_eq!(list.rank(0.0, b"a"), Some(1));
        assert!(list.delete(-0.0, b"b"));
        list.check_invariants().unwrap();
    }

    #[test]
    fn iter_rev_follows_backward_links() {
        let list = picture();
        let forward: Vec<_> = contents(&list);
        let mut backward: Vec<_> = list
            .iter_rev()
            .map(|(s, m)| (s, m.as_bytes().to_vec()))
            .collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(list.iter().len(), 4);
        assert_eq!(
            format!("{list:?}"),
            r#"Skiplist(len 4, level 3)[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]"#
        );
    }

    #[test]
    fn delete_needs_the_right_score() {
        let mut list = picture();
        assert!(!list.delete(9.0, b"c"));
        assert!(!list.delete(3.0, b"x"));
        assert!(list.delete(3.0, b"c"));
        assert!(!list.delete(3.0, b"c"));
        assert_eq!(list.len(), 3);
        list.check_invariants().unwrap();
    }

    #[test]
    fn deleted_slots_are_reused_by_the_next_insert() {
        let mut list = picture();
        let c = find(&list, b"c");
        assert!(list.delete(3.0, b"c"));
        let x = list.insert(3.0, sds(b"x"));
        assert_eq!(x, c, "the free list hands back the same slot");
        assert_eq!(list.nodes.len(), 5);
        list.check_invariants().unwrap();
    }

    #[test]
    #[should_panic(expected = "not a live node")]
    fn a_stale_node_id_panics() {
        let mut list = picture();
        let c = find(&list, b"c");
        list.delete(3.0, b"c");
        list.score(c);
    }

    #[test]
    #[should_panic(expected = "NaN")]
    fn a_nan_score_is_refused() {
        Skiplist::new().insert(f64::NAN, sds(b"a"));
    }

    #[test]
    fn update_score_stays_in_place_when_the_neighbours_allow() {
        let mut list = picture();
        let c = find(&list, b"c");
        let id = list.update_score(3.0, b"c", 3.9);
        assert_eq!(id, c);
        assert_eq!(list.score(id), 3.9);
        // A tie with a neighbour's score moves the node even though
        // "c" < "d" would keep its place (exercise 2).
        let moved = list.update_score(3.9, b"c", 4.0);
        assert_eq!(list.rank(4.0, b"c"), Some(3));
        assert_eq!(list.member(moved), &sds(b"c"));
        list.check_invariants().unwrap();
        // Moving to the front.
        list.update_score(4.0, b"d", -1.0);
        let members: Vec<_> = list.iter().map(|(_, m)| m.as_bytes().to_vec()).collect();
        assert_eq!(
            members,
            [b"d".to_vec(), b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        list.check_invariants().unwrap();
    }

    #[test]
    fn by_rank_is_one_based_and_bounded() {
        let list = picture();
        assert_eq!(list.by_rank(0), None);
        assert_eq!(list.by_rank(1), list.first());
        assert_eq!(list.by_rank(4), list.last());
        assert_eq!(list.by_rank(5), None);
    }

    /// min, max, the expected first member, the expected last member.
    type RangeCase = (
        &'static str,
        &'static str,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
    );

    #[test]
    fn score_ranges_find_their_first_and_last_nodes() {
        let list = picture(); // a=1 b=2 c=3 d=4
        let member = |id: Option<NodeId>| id.map(|id| list.member(id).as_bytes().to_vec());
        let cases: [RangeCase; 9] = [
            ("-inf", "+inf", Some(b"a"), Some(b"d")),
            ("2", "3", Some(b"b"), Some(b"c")),
            ("(2", "(3", None, None),
            ("(1", "3", Some(b"b"), Some(b"c")),
            ("1.5", "(4", Some(b"b"), Some(b"c")),
            ("2.5", "2.7", None, None),
            ("5", "+inf", None, None),
            ("-inf", "(1", None, None),
            ("3", "2", None, None),
        ];
        for (min, max, first, last) in cases {
            let range = ScoreRange::parse(min.as_bytes(), max.as_bytes()).unwrap();
            assert_eq!(
                member(list.first_in_range(&range)).as_deref(),
                first,
                "first in {min} {max}"
            );
            assert_eq!(
                member(list.last_in_range(&range)).as_deref(),
                last,
                "last in {min} {max}"
            );
        }
    }

    /// Each row was checked against `ZRANGEBYSCORE z <min> +inf` on Redis
    /// 7.0.15 (a float or `ERR min or max is not a float`).
    #[test]
    fn score_range_parsing_matches_redis() {
        let inf = f64::INFINITY;
        let ok: [(&[u8], f64, bool); 24] = [
            (b"1.5", 1.5, false),
            (b"(1.5", 1.5, true),
            (b"-inf", -inf, false),
            (b"+inf", inf, false),
            (b"inf", inf, false),
            (b"(inf", inf, true),
            (b"(-inf", -inf, true),
            (b"infinity", inf, false),
            (b"-Infinity", -inf, false),
            (b"1e400", inf, false),
            (b"1e-400", 0.0, false),
            (b".5", 0.5, false),
            (b"5.", 5.0, false),
            (b"+5", 5.0, false),
            (b"-0", -0.0, false),
            (b"0x10", 16.0, false),
            (b"0X1P4", 16.0, false),
            (b"0x1.8p1", 3.0, false),
            (b"(0x1.8p1", 3.0, true),
            (b" 1", 1.0, false),
            (b"\t2", 2.0, false),
            (b"\x0b2", 2.0, false),
            (b"", 0.0, false),
            (b"(", 0.0, true),
        ];
        for (text, value, exclusive) in ok {
            let range = ScoreRange::parse(text, b"+inf")
                .unwrap_or_else(|| panic!("{:?} should parse", String::from_utf8_lossy(text)));
            assert_eq!(
                (range.min.to_bits(), range.minex),
                (value.to_bits(), exclusive),
                "{text:?}"
            );
            let range = ScoreRange::parse(b"-inf", text).unwrap();
            assert_eq!(
                (range.max.to_bits(), range.maxex),
                (value.to_bits(), exclusive),
                "{text:?}"
            );
        }
        let errors: [&[u8]; 16] = [
            b"1 ",
            b"nan",
            b"(nan",
            b"+nan",
            b"NaN",
            b"nan(123)",
            b"1e",
            b"1e+",
            b"infin",
            b"1_0",
            b"((1",
            b"  ",
            b"+",
            b"-",
            b"0x",
            b"1\x00",
        ];
        for text in errors {
            assert_eq!(
                ScoreRange::parse(text, b"1"),
                None,
                "{text:?} should be an error"
            );
            assert_eq!(
                ScoreRange::parse(b"1", text),
                None,
                "{text:?} should be an error"
            );
        }
    }

    #[test]
    fn strtod_reports_how_much_it_read() {
        assert_eq!(strtod(b"1.5abc"), (1.5, 3));
        assert_eq!(strtod(b"  -2e2x"), (-200.0, 6));
        assert_eq!(strtod(b"0x"), (0.0, 1), "the 0 alone");
        assert_eq!(strtod(b"0xg"), (0.0, 1));
        assert_eq!(strtod(b"infinite"), (f64::INFINITY, 3));
        assert_eq!(strtod(b"1e5e"), (100000.0, 3));
        assert_eq!(strtod(b"."), (0.0, 0));
        assert_eq!(strtod(b"abc"), (0.0, 0));
        assert_eq!(strtod(b"0x.8"), (0.5, 4));
        assert_eq!(strtod(b"0x0.01"), (1.0 / 256.0, 6));
        assert_eq!(strtod(b"0x1p-1074"), (f64::from_bits(1), 9));
        assert_eq!(strtod(b"0x1p1024").0, f64::INFINITY);
        assert_eq!(
            strtod(b"0x123456789abcdef123").0,
            0x0012_3456_789a_bcde_f123_u128 as f64
        );
        let nan = strtod(b"nan(abc)x");
        assert!(nan.0.is_nan() && nan.1 == 8);
    }

    #[test]
    fn score_range_emptiness() {
        let r = |min, minex, max, maxex| ScoreRange {
            min,
            max,
            minex,
            maxex,
        };
        assert!(!r(1.0, false, 1.0, false).is_empty());
        assert!(r(1.0, true, 1.0, false).is_empty());
        assert!(r(1.0, false, 1.0, true).is_empty());
        assert!(r(2.0, false, 1.0, false).is_empty());
        assert!(!r(f64::NEG_INFINITY, true, f64::INFINITY, true).is_empty());
        assert!(r(f64::INFINITY, false, f64::NEG_INFINITY, false).is_empty());
        assert!(ScoreRange::inclusive(1.0, 2.0).contains(2.0));
        assert!(!r(1.0, false, 2.0, true).contains(2.0));
    }

    /// Checked against `ZRANGEBYLEX z <item> +` on Redis 7.0.15.
    #[test]
    fn lex_range_parsing_matches_redis() {
        use LexBound::*;
        let ok: [(&[u8], LexBound); 7] = [
            (b"-", NegInf),
            (b"+", PosInf),
            (b"[", Inclusive(sds(b""))),
            (b"(", Exclusive(sds(b""))),
            (b"[a", Inclusive(sds(b"a"))),
            (b"(a b", Exclusive(sds(b"a b"))),
            (b"[\x00\xff", Inclusive(sds(b"\x00\xff"))),
        ];
        for (text, bound) in ok {
            assert_eq!(
                LexRange::parse(text, b"+").map(|r| r.min),
                Some(bound.clone()),
                "{text:?}"
            );
            assert_eq!(
                LexRange::parse(b"-", text).map(|r| r.max),
                Some(bound),
                "{text:?}"
            );
        }
        let errors: [&[u8]; 7] = [b"", b"a", b"1", b"-x", b"+x", b"--", b"{a"];
        for text in errors {
            assert_eq!(
                LexRange::parse(text, b"+"),
                None,
                "{text:?} should be an error"
            );
            assert_eq!(
                LexRange::parse(b"-", text),
                None,
                "{text:?} should be an error"
            );
        }
    }

    #[test]
    fn lex_range_emptiness_follows_sdscmplex() {
        let range = |min: &str, max: &str| LexRange::parse(min.as_bytes(), max.as_bytes()).unwrap();
        assert!(!range("-", "+").is_empty());
        assert!(range("-", "-").is_empty());
        assert!(range("+", "+").is_empty());
        assert!(range("+", "-").is_empty());
        assert!(!range("[a", "[a").is_empty());
        assert!(range("(a", "[a").is_empty());
        assert!(range("[b", "[a").is_empty());
        assert!(!range("[", "+").is_empty());
        assert!(range("[a", "-").is_empty());
        assert!(range("[a", "[a").contains(b"a"));
        assert!(!range("(a", "+").contains(b"a"));
        assert!(range("(a", "+").contains(b"a\x00"));
    }

    #[test]
    fn lex_lookups_on_equal_scores() {
        let mut list = Skiplist::new();
        for m in ["a", "b", "c", "d", "e"] {
            list.insert(0.0, sds(m.as_bytes()));
        }
        let member = |id: Option<NodeId>| id.map(|id| list.member(id).as_bytes().to_vec());
        let range = LexRange::parse(b"(a", b"[c").unwrap();
        assert_eq!(member(list.first_in_lex_range(&range)), Some(b"b".to_vec()));
        assert_eq!(member(list.last_in_lex_range(&range)), Some(b"c".to_vec()));
        let range = LexRange::parse(b"(c", b"(d").unwrap();
        assert_eq!(list.first_in_lex_range(&range), None);
        assert_eq!(list.last_in_lex_range(&range), None);
        let mut removed = Vec::new();
        let range = LexRange::parse(b"[b", b"(e").unwrap();
        assert_eq!(
            list.delete_range_by_lex(&range, |m| removed.push(m.as_bytes().to_vec())),
            3
        );
        assert_eq!(removed, [b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]);
        list.check_invariants().unwrap();
    }

    #[test]
    fn delete_range_by_rank_is_one_based_and_inclusive() {
        let mut list = picture();
        let mut removed = Vec::new();
        assert_eq!(
            list.delete_range_by_rank(2, 3, |m| removed.push(m.as_bytes().to_vec())),
            2
        );
        assert_eq!(removed, [b"b".to_vec(), b"c".to_vec()]);
        list.check_invariants().unwrap();
        assert_eq!(list.delete_range_by_rank(2, 100, |_| {}), 1);
        assert_eq!(list.delete_range_by_rank(5, 9, |_| {}), 0);
        assert_eq!(contents(&list), [(1.0, b"a".to_vec())]);
        list.check_invariants().unwrap();
    }

    #[test]
    fn delete_range_by_score_calls_back_in_order() {
        let mut list = picture();
        let mut removed = Vec::new();
        let range = ScoreRange::parse(b"(1", b"3").unwrap();
        assert_eq!(
            list.delete_range_by_score(&range, |m| removed.push(m.as_bytes().to_vec())),
            2
        );
        assert_eq!(removed, [b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(list.level(), 2, "b was the only node of height 3");
        list.check_invariants().unwrap();
    }

    #[test]
    fn random_levels_have_mean_four_thirds_and_stay_low() {
        seed_random_level(0x5eed);
        let draws = 200_000;
        let mut histogram = [0usize; ZSKIPLIST_MAXLEVEL + 1];
        for _ in 0..draws {
            histogram[random_level()] += 1;
        }
        let mean = histogram
            .iter()
            .enumerate()
            .map(|(k, n)| k * n)
            .sum::<usize>() as f64
            / draws as f64;
        assert!((1.32..1.345).contains(&mean), "mean level {mean}");
        let share = |k: usize| histogram[k] as f64 / draws as f64;
        assert!((0.745..0.755).contains(&share(1)), "level 1: {}", share(1));
        assert!((0.182..0.193).contains(&share(2)), "level 2: {}", share(2));
        let tallest = histogram.iter().rposition(|&n| n > 0).unwrap();
        assert!(tallest <= 14, "tallest of {draws} draws: {tallest}");
    }

    #[test]
    fn a_big_list_is_about_log4_n_levels_high() {
        seed_random_level(7);
        let mut list = Skiplist::new();
        for i in 0..100_000u32 {
            list.insert(f64::from(i % 1000), Sds::from_i64(i64::from(i)));
        }
        // log4(100 000) + 1 is about 9.3.
        assert!((7..=13).contains(&list.level()), "level {}", list.level());
        list.check_invariants().unwrap();
        assert_eq!(list.rank(999.0, b"99999"), Some(100_000));
    }

    // -- property tests against a sorted Vec ------------------------------

    type Model = Vec<(f64, Vec<u8>)>;

    fn sort_model(model: &mut Model) {
        model.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => (-3i32..4).prop_map(f64::from),
            2 => (-6i32..7).prop_map(|x| f64::from(x) / 2.0),
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        ]
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xffu8)],
            0..4,
        )
    }

    fn score_range() -> impl Strategy<Value = ScoreRange> {
        (score(), score(), any::<bool>(), any::<bool>()).prop_map(|(min, max, minex, maxex)| {
            ScoreRange {
                min,
                max,
                minex,
                maxex,
            }
        })
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// ZADD: insert, or update the score if the member is there.
        Add(f64, Vec<u8>),
        /// Delete the member at this model index, with its score or a wrong one.
        Delete(usize, bool),
        DeleteAbsent(f64, Vec<u8>),
        Update(usize, f64),
        DeleteRangeByScore(ScoreRange),
        DeleteRangeByRank(usize, usize),
        Query(ScoreRange),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (score(), member()).prop_map(|(s, m)| Op::Add(s, m)),
            3 => (any::<usize>(), any::<bool>()).prop_map(|(i, w)| Op::Delete(i, w)),
            1 => (score(), member()).prop_map(|(s, m)| Op::DeleteAbsent(s, m)),
            3 => (any::<usize>(), score()).prop_map(|(i, s)| Op::Update(i, s)),
            1 => score_range().prop_map(Op::DeleteRangeByScore),
            1 => (0usize..8, 0usize..12).prop_map(|(s, e)| Op::DeleteRangeByRank(s, e)),
            2 => score_range().prop_map(Op::Query),
        ]
    }

    /// Compares everything observable with the model.
    fn check_against(list: &Skiplist, model: &Model) -> Result<(), TestCaseError> {
        list.check_invariants().map_err(TestCaseError::fail)?;
        prop_assert_eq!(list.len(), model.len());
        let bits = |v: &[(f64, Vec<u8>)]| {
            v.iter()
                .map(|(s, m)| (s.to_bits(), m.clone()))
                .collect::<Vec<_>>()
        };
        prop_assert_eq!(bits(&contents(list)), bits(model));
        let mut reversed: Model = list
            .iter_rev()
            .map(|(s, m)| (s, m.as_bytes().to_vec()))
            .collect();
        reversed.reverse();
        prop_assert_eq!(bits(&reversed), bits(model));
        for (i, (score, member)) in model.iter().enumerate() {
            prop_assert_eq!(list.rank(*score, member), Some(i + 1));
            let id = list.by_rank(i + 1).expect("rank in range");
            prop_assert_eq!(list.member(id).as_bytes(), member.as_slice());
        }
        prop_assert_eq!(list.by_rank(0), None);
        prop_assert_eq!(list.by_rank(model.len() + 1), None);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn skiplist_behaves_like_a_sorted_vec(ops in proptest::collection::vec(op(), 0..80)) {
            let mut list = Skiplist::new();
            let mut model: Model = Vec::new();
            for op in ops {
                match op {
                    Op::Add(score, member) => match model.iter().position(|(_, m)| *m == member) {
                        Some(i) => {
                            let id = list.update_score(model[i].0, &member, score);
                            prop_assert_eq!(list.score(id).to_bits(), score.to_bits());
                            model[i].0 = score;
                        }
                        None => {
                            let id = list.insert(score, sds(&member));
                            prop_assert_eq!(list.member(id).as_bytes(), member.as_slice());
                            model.push((score, member));
                        }
                    },
                    Op::Delete(i, wrong_score) if !model.is_empty() => {
                        let (score, member) = model[i % model.len()].clone();
                        let asked = if wrong_score { score + 0.25 } else { score };
                        let present = asked == score; // wrong+inf is still inf
                        prop_assert_eq!(list.delete(asked, &member), present);
                        if present {
                            model.remove(i % model.len());
                        }
                    }
                    Op::Delete(..) => prop_assert!(!list.delete(1.0, b"a")),
                    Op::DeleteAbsent(score, member) => {
                        if !model.iter().any(|(_, m)| *m == member) {
                            prop_assert!(!list.delete(score, &member));
                        }
                    }
                    Op::Update(i, score) if !model.is_empty() => {
                        let i = i % model.len();
                        let id = list.update_score(model[i].0, &model[i].1, score);
                        prop_assert_eq!(list.member(id).as_bytes(), model[i].1.as_slice());
                        model[i].0 = score;
                    }
                    Op::Update(..) => {}
                    Op::DeleteRangeByScore(range) => {
                        let mut removed = Vec::new();
                        let n = list.delete_range_by_score(&range, |m| removed.push(m.as_bytes().to_vec()));
                        let expected: Vec<Vec<u8>> =
                            model.iter().filter(|(s, _)| range.contains(*s)).map(|(_, m)| m.clone()).collect();
                        prop_assert_eq!(n, expected.len());
                        prop_assert_eq!(removed, expected);
                        model.retain(|(s, _)| !range.contains(*s));
                    }
                    Op::DeleteRangeByRank(start, end) => {
                        let n = list.delete_range_by_rank(start, end, |_| {});
                        let in_run = |rank: usize| rank >= start.max(1) && rank <= end;
                        let expected = (1..=model.len()).filter(|&r| in_run(r)).count();
                        prop_assert_eq!(n, expected);
                        let mut rank = 0;
                        model.retain(|_| { rank += 1; !in_run(rank) });
                    }
                    Op::Query(range) => {
                        let first = model.iter().position(|(s, _)| range.contains(*s));
                        let last = model.iter().rposition(|(s, _)| range.contains(*s));
                        let rank_of = |id: Option<NodeId>| id.map(|id| list.rank(list.score(id), list.member(id)).unwrap() - 1);
                        prop_assert_eq!(rank_of(list.first_in_range(&range)), first);
                        prop_assert_eq!(rank_of(list.last_in_range(&range)), last);
                    }
                }
                sort_model(&mut model);
                check_against(&list, &model)?;
            }
        }

        #[test]
        fn lex_operations_match_a_sorted_vec_when_scores_are_equal(
            members in proptest::collection::vec(member(), 0..40),
            queries in proptest::collection::vec((lex_bound(), lex_bound()), 1..6),
        ) {
            let mut list = Skiplist::new();
            let mut model: Model = Vec::new();
            for member in members {
                if !model.iter().any(|(_, m)| *m == member) {
                    list.insert(0.0, sds(&member));
                    model.push((0.0, member));
                }
            }
            sort_model(&mut model);
            check_against(&list, &model)?;
            for (min, max) in queries {
                let range = LexRange { min, max };
                let first = model.iter().position(|(_, m)| range.contains(m));
                let last = model.iter().rposition(|(_, m)| range.contains(m));
                let rank_of = |id: Option<NodeId>| id.map(|id| list.rank(0.0, list.member(id)).unwrap() - 1);
                prop_assert_eq!(rank_of(list.first_in_lex_range(&range)), first);
                prop_assert_eq!(rank_of(list.last_in_lex_range(&range)), last);
                prop_assert_eq!(list.is_in_lex_range(&range) || first.is_none(), true);
                let mut removed = Vec::new();
                let n = list.delete_range_by_lex(&range, |m| removed.push(m.as_bytes().to_vec()));
                let expected: Vec<Vec<u8>> = model.iter().filter(|(_, m)| range.contains(m)).map(|(_, m)| m.clone()).collect();
                prop_assert_eq!(n, expected.len());
                prop_assert_eq!(removed, expected);
                model.retain(|(_, m)| !range.contains(m));
                check_against(&list, &model)?;
            }
        }
    }

    fn lex_bound() -> impl Strategy<Value = LexBound> {
        prop_oneof![
            1 => Just(LexBound::NegInf),
            1 => Just(LexBound::PosInf),
            3 => member().prop_map(|m| LexBound::Inclusive(Sds::new(&m))),
            3 => member().prop_map(|m| LexBound::Exclusive(Sds::new(&m))),
        ]
    }
}
