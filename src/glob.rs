//! # Glob patterns: how `KEYS h?llo` decides what matches
//!
//! Redis has one small pattern language, and it turns up all over the server:
//! `KEYS pattern`, `SCAN ... MATCH pattern`, `PSUBSCRIBE pattern`,
//! `CONFIG GET pattern`, `COMMAND LIST FILTERBY PATTERN`, ACL key patterns.
//! All of them end up in one C function, `stringmatchlen()` in `util.c`.
//! This module is that function, rewritten to be read.
//!
//! ## The language
//!
//! | pattern   | matches                                                   |
//! |-----------|-----------------------------------------------------------|
//! | `?`       | exactly one byte, whatever it is                          |
//! | `*`       | any run of bytes, including none (but see "Quirks")       |
//! | `[abc]`   | one byte that is `a`, `b` or `c`                          |
//! | `[^abc]`  | one byte that is *not* `a`, `b` or `c`                    |
//! | `[a-z]`   | one byte between `a` and `z` inclusive                    |
//! | `\x`      | the byte `x` itself, even if `x` is `*`, `?`, `[` or `\`  |
//! | any other | itself (compared without case when `nocase` is set)       |
//!
//! Patterns and subjects are byte strings, not text: `?` matches one *byte*,
//! so a two-byte UTF-8 `é` needs `??`.
//!
//! ## Quirks, kept on purpose
//!
//! Redis's behaviour on odd patterns is whatever its C code happens to do,
//! and clients depend on it, so we reproduce it rather than "fix" it.
//! Each of these is pinned by a test below.
//!
//! * **An unterminated class closes itself.** `[abc` behaves like `[abc]`:
//!   the class simply runs to the end of the pattern. A lone `[` is an empty
//!   class and matches nothing, while `[^` is an empty *negated* class and
//!   matches any one byte.
//! * **`-` right before `]` makes a range that swallows the `]`.**
//!   In `[a-]` the range is `a` to `]` (the bracket is the range's end, the
//!   class is then closed by the end of the pattern). `]` is 93 and `a` is
//!   97, so `[a-]` matches `]`, `^`, `_`, a backquote or `a`, and does
//!   *not* match `-`.
//! * **Reversed ranges work.** `[z-a]` is the same as `[a-z]`.
//! * **A trailing lone backslash is literal.** The pattern `a\` matches the
//!   two-byte string `a\`.
//! * **Inside a class, an escaped byte is compared with case**, even when
//!   `nocase` is set; outside a class `\A` still matches `a` under `nocase`.
//! * **`*` never matches the empty string on its own.** The main loop only
//!   runs while both pattern and subject have bytes left, so `*` against `""`
//!   is `false`. `KEYS *` still lists a key named `""` because `KEYS` (and
//!   `SCAN`) treat the pattern `*` as "everything" without calling the
//!   matcher, but `KEYS **` does not list it.
//! * **Range ends are C `char`s, which are signed on x86-64.** Redis compares
//!   `[a-\xe9]` as the numbers 97 and -23, so bytes 0x80 and up sort *below*
//!   ASCII. With `nocase`, glibc's `tolower()` then maps those negative values
//!   back to 128..=254 (but leaves 0xFF as -1, which is `EOF`). We reproduce
//!   what Debian's amd64 build does; an ARM build of Redis, where `char` is
//!   unsigned, answers differently for ranges that mix ASCII and high bytes.
//!
//! ## Why a naive matcher can hang, and the flag that prevents it
//!
//! The obvious way to match `*` is recursion: try to match the rest of the
//! pattern at every position of the rest of the subject. With several stars
//! this multiplies: `*a*a*a*b` against `aaaa...a` (n bytes) tries every way
//! to split the `a`s among the stars, about n^k attempts for k stars. That
//! was CVE-2022-36021 (fixed in Redis 7.0.9): one `KEYS` with a pattern like
//! `*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b` froze the whole server,
//! because the server has one thread.
//!
//! Redis's fix is one flag, `skipLongerMatches`, which we call `give_up`.
//! The argument goes like this. Suppose the first star has been tried at
//! some position, and somewhere deeper the *last* star reached so far has
//! tried every position to the end of the subject and failed. Then the tail
//! of the pattern after that star matches no suffix of the subject that
//! starts at or after where that star began. Making an earlier star eat more
//! bytes can only push that star's starting point further right, and we
//! have just learned that every such start fails. So nothing an earlier star
//! does can help: the whole match fails, and every level can return at once.
//!
//! ### Worked example
//!
//! Pattern `*a*b`, subject `aaa`:
//!
//! 1. The first `*` tries to match `a*b` at offset 0. `a` matches; the second
//!    `*` tries `b` at offsets 1, 2: both fail. The second star has run out
//!    of subject, so it sets `give_up` and returns false.
//! 2. Back in the first `*`: without the flag it would now retry `a*b` at
//!    offsets 1 and 2, each time re-running the second star's whole loop.
//!    With the flag it returns false immediately.
//!
//! With k stars that cuts the work from about n^k steps to about k·n.
//!
//! ### The nesting cap
//!
//! Each star that is not the last byte of the pattern adds one level of
//! recursion. In 2024 (CVE-2024-31228) Redis capped that at 1000 levels: a
//! match that would need a 1001st nested star fails instead. Debian's 7.0.15
//! package, our reference, carries that fix, so we do too
//! ([`MAX_NESTED_STARS`]). Besides matching Redis, the cap bounds our stack
//! depth, so no pattern a client sends can overflow the stack.
//!
//! ## How we know it matches
//!
//! Besides the tests below, this matcher was compared with `KEYS` on a real
//! Redis 7.0.15 (Debian's amd64 build): 12,000 random patterns over
//! `* ? [ ] ^ - \`, letters and high bytes, against 300 random keys each,
//! with no difference, including the nesting cap.
//!
//! ## Differences from `util.c`
//!
//! * We walk slices instead of a pointer plus a length, so "the byte after
//!   the end" (which C reads as the string's NUL terminator) is written as
//!   `p.get(i)` returning `None`. The results are the same.
//! * Nothing else: the control flow deliberately mirrors `stringmatchlen_impl`
//!   so the two can be read side by side.

/// How many stars may be nested (each one recursing into the next) before
/// the match is abandoned as `false`. Redis's value, from the
/// CVE-2024-31228 fix.
pub const MAX_NESTED_STARS: usize = 1000;

/// Does `string` match the glob `pattern`? With `nocase`, ASCII letters
/// compare without case (`CONFIG GET` and `COMMAND LIST` use that; `KEYS`,
/// `SCAN` and `PSUBSCRIBE` do not).
///
/// Runs in roughly (number of stars) × (length of `string`) steps in the
/// worst case, never exponentially; see the module essay.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    match_here(pattern, string, nocase, &mut give_up, 0)
}

/// Match `p` against `s` from their first bytes. `give_up` is shared by all
/// levels of the recursion: once a star has failed at every position, it is
/// set and every level returns `false` straight away. `nesting` counts the
/// stars we are inside.
fn match_here(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    give_up: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > MAX_NESTED_STARS {
        return false;
    }

    // Both sides must have bytes left; the loop consumes one pattern token
    // (and usually one subject byte) per round.
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                // `**` means the same as `*`: skip to the last star of a run.
                while p.len() >= 2 && p[1] == b'*' {
                    p = &p[1..];
                }
                // A star at the very end matches whatever is left.
                if p.len() == 1 {
                    return true;
                }
                // Let the star eat 0, 1, 2, ... bytes and try the rest of
                // the pattern after each choice. Only non-empty rests of the
                // subject are tried: a non-empty pattern tail can never
                // match an empty subject in this algorithm (see the `*`
                // quirk in the essay).
                let tail = &p[1..];
                while !s.is_empty() {
                    if match_here(tail, s, nocase, give_up, nesting + 1) {
                        return true;
                    }
                    if *give_up {
                        // A deeper star already proved that nothing to the
                        // right can match: eating more here cannot help.
                        return false;
                    }
                    s = &s[1..];
                }
                // The tail matched no suffix at all. Tell every outer star.
                *give_up = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                let (matched, last) = match_class(p, s[0], nocase);
                if !matched {
                    return false;
                }
                s = &s[1..];
                // Leave `p` on the class's last byte (its `]`, or the final
                // byte of an unterminated class); the step below moves past.
                p = &p[last..];
            }
            first => {
                // `\x` means a literal `x`, unless the backslash is the
                // pattern's last byte: then it is a literal backslash.
                let literal = if first == b'\\' && p.len() >= 2 {
                    p = &p[1..];
                    p[0]
                } else {
                    first
                };
                if !bytes_equal(literal, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];

        // The subject is used up: only stars may remain in the pattern.
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Match one subject byte `c` against the class that starts at `p[0] == '['`.
/// Returns whether it matched (after applying `^`) and the index in `p` of
/// the class's last byte: its closing `]`, or for an unterminated class the
/// pattern's last byte.
fn match_class(p: &[u8], c: u8, nocase: bool) -> (bool, usize) {
    let mut i = 1;
    let negate = p.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    loop {
        // Bytes left from `i` on; `p.get(i)` is `None` exactly when the C
        // code would be looking at the string's terminating NUL.
        let left = p.len() - i;
        let here = p.get(i).copied();
        if here == Some(b'\\') && left >= 2 {
            // An escaped byte inside a class: always compared with case.
            i += 1;
            if p[i] == c {
                matched = true;
            }
        } else if here == Some(b']') {
            break;
        } else if left == 0 {
            // Ran off the end without `]`: the class ends with the pattern.
            // Step back so the caller's "skip this byte" lands on the end.
            i -= 1;
            break;
        } else if left >= 3 && p[i + 1] == b'-' {
            if in_range(p[i], p[i + 2], c, nocase) {
                matched = true;
            }
            i += 2;
        } else if bytes_equal(p[i], c, nocase) {
            matched = true;
        }
        i += 1;
    }
    (matched != negate, i)
}

/// Is `c` within the range `from-to` (either order), compared the way Redis
/// compares them on x86-64: as signed C `char`s, lower-cased by glibc's
/// `tolower()` when `nocase` is set. The order matters: Redis puts the two
/// ends in order *before* lower-casing them.
fn in_range(from: u8, to: u8, c: u8, nocase: bool) -> bool {
    let (mut start, mut end, mut c) = (c_char(from), c_char(to), c_char(c));
    if start > end {
        std::mem::swap(&mut start, &mut end);
    }
    if nocase {
        start = c_tolower(start);
        end = c_tolower(end);
        c = c_tolower(c);
    }
    start <= c && c <= end
}

/// One byte against another, optionally ignoring ASCII case. (glibc's
/// `tolower()` in the C locale only folds `A`..`Z`, and it is one-to-one on
/// everything else, so comparing after folding is plain ASCII folding.)
fn bytes_equal(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// A byte as C sees it in a (signed, on x86-64) `char` widened to `int`.
fn c_char(b: u8) -> i32 {
    i32::from(b as i8)
}

/// glibc's `tolower()` in the C locale, applied to a (possibly negative)
/// `char` value: `A`..`Z` fold to lower case; -128..=-2 come back as the
/// unsigned byte value 128..=254 (glibc's table is built to tolerate signed
/// `char`s); -1 is `EOF` and stays -1.
fn c_tolower(v: i32) -> i32 {
    match v {
        65..=90 => v + 32,
        -128..=-2 => v + 256,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// (pattern, subject, nocase, expected)
    const CASES: &[(&[u8], &[u8], bool, bool)] = &[
        // Plain bytes and `?`.
        (b"hello", b"hello", false, true),
        (b"hello", b"hellO", false, false),
        (b"hello", b"hellO", true, true),
        (b"h?llo", b"hallo", false, true),
        (b"h?llo", b"hllo", false, false),
        (b"?", b"", false, false),
        (b"", b"", false, true),
        (b"", b"a", false, false),
        // Stars.
        (b"*", b"anything", false, true),
        (b"h*llo", b"hllo", false, true),
        (b"h*llo", b"heeeello", false, true),
        (b"*llo", b"hello", false, true),
        (b"he*", b"he", false, true),
        (b"**he**", b"he", false, true),
        (b"a*b*c", b"axxbyyc", false, true),
        (b"a*b*c", b"axxbyy", false, false),
        (b"*a*b", b"aaa", false, false),
        // A star alone (or a run of them) does not match the empty string.
        (b"*", b"", false, false),
        (b"**", b"", false, false),
        // Classes.
        (b"h[ae]llo", b"hello", false, true),
        (b"h[ae]llo", b"hallo", false, true),
        (b"h[ae]llo", b"hillo", false, false),
        (b"h[^e]llo", b"hallo", false, true),
        (b"h[^e]llo", b"hello", false, false),
        (b"h[a-b]llo", b"hbllo", false, true),
        (b"h[a-b]llo", b"hcllo", false, false),
        (b"[A-Z]", b"q", true, true),
        (b"[a-z]", b"Q", true, true),
        (b"[a-z]", b"Q", false, false),
        (b"[abc]", b"B", true, true),
        // Reversed range.
        (b"[z-a]", b"m", false, true),
        (b"[9-0]", b"5", false, true),
        // Unterminated class: runs to the end of the pattern.
        (b"[abc", b"b", false, true),
        (b"[abc", b"d", false, false),
        (b"x[ab", b"xa", false, true),
        (b"[", b"[", false, false),
        (b"[", b"", false, false),
        (b"[^", b"z", false, true),
        (b"[]", b"]", false, false),
        (b"[^]", b"x", false, true),
        // `-` before `]`: the `]` becomes the end of the range.
        (b"[a-]", b"_", false, true),
        (b"[a-]", b"]", false, true),
        (b"[a-]", b"-", false, false),
        // ...and since that `]` no longer closes the class, `x` joins it.
        (b"[a-]x", b"_", false, true),
        (b"[a-]x", b"x", false, true),
        // `-` as an ordinary member.
        (b"[-a]", b"-", false, true),
        (b"[a-", b"-", false, true),
        // Escapes.
        (b"\\*", b"*", false, true),
        (b"\\*", b"a", false, false),
        (b"a\\?b", b"a?b", false, true),
        (b"a\\?b", b"axb", false, false),
        (b"\\\\", b"\\", false, true),
        (b"a\\", b"a\\", false, true), // trailing lone backslash is literal
        (b"\\A", b"a", true, true),    // outside a class: nocase applies
        (b"[\\]]", b"]", false, true),
        (b"[\\A]", b"a", true, false), // inside a class: always with case
        (b"[\\A]", b"A", true, true),
        (b"[\\", b"\\", false, true),
        // High bytes: ranges compare as signed chars (x86-64).
        (b"[a-\xe9]", b"\xe9", false, true),
        (b"[a-\xe9]", b"\x80", false, false),
        (b"[a-\xe9]", b"5", false, true),
        (b"[a-\xe9]", b"z", false, false),
        (b"[\x80-\xff]", b"\xc3", false, true),
        // ...and with nocase glibc's tolower turns that range inside out.
        (b"[a-\xe9]", b"5", true, false),
        (b"[\x80-\xfe]", b"\xc3", true, true),
        (b"\xc3\xa9", b"\xc3\xa9", true, true),
        // Embedded NUL bytes are ordinary bytes.
        (b"a\0*", b"a\0bc", false, true),
        (b"?", b"\0", false, true),
    ];

    #[test]
    fn glob_cases_match_redis() {
        for &(pattern, subject, nocase, expected) in CASES {
            assert_eq!(
                glob_match(pattern, subject, nocase),
                expected,
                "pattern {:?} subject {:?} nocase {}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(subject),
                nocase
            );
        }
    }

    #[test]
    fn pathological_pattern_returns_quickly() {
        // The CVE-2022-36021 shape: without the give-up flag this takes
        // on the order of 5000^20 steps.
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let subject = vec![b'a'; 5000];
        let start = Instant::now();
        assert!(!glob_match(pattern, &subject, false));
        assert!(!glob_match(pattern, &subject, true));
        // A generous bound: it takes microseconds, and CI machines are slow.
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn more_than_a_thousand_nested_stars_fail_as_in_redis() {
        // Redis's own regression test for CVE-2024-31228: this would match
        // ('?' 50000 times, each after a star), but the nesting cap refuses.
        let pattern = b"*?".repeat(50_000);
        let subject = vec![b'a'; 50_000];
        let start = Instant::now();
        assert!(!glob_match(&pattern, &subject, false));
        assert!(start.elapsed() < Duration::from_secs(2));

        // Exactly 1000 nested stars are still fine, 1001 are not.
        let within = b"*?".repeat(MAX_NESTED_STARS);
        let beyond = b"*?".repeat(MAX_NESTED_STARS + 1);
        assert!(glob_match(&within, &subject, false));
        assert!(!glob_match(&beyond, &subject, false));
        // A trailing star needs no recursion, so it does not count.
        let mut trailing = within.clone();
        trailing.push(b'*');
        assert!(glob_match(&trailing, &subject, false));
    }

    /// The textbook exponential matcher: the same rules, but no give-up flag
    /// and no nesting cap. Used to show the flag never changes an answer.
    fn naive(mut p: &[u8], mut s: &[u8], nocase: bool) -> bool {
        while !p.is_empty() && !s.is_empty() {
            match p[0] {
                b'*' => {
                    while p.len() >= 2 && p[1] == b'*' {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    return (0..s.len()).any(|k| naive(&p[1..], &s[k..], nocase));
                }
                b'?' => s = &s[1..],
                b'[' => {
                    let (matched, last) = match_class(p, s[0], nocase);
                    if !matched {
                        return false;
                    }
                    s = &s[1..];
                    p = &p[last..];
                }
                first => {
                    let lit = if first == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        p[0]
                    } else {
                        first
                    };
                    if !bytes_equal(lit, s[0], nocase) {
                        return false;
                    }
                    s = &s[1..];
                }
            }
            p = &p[1..];
            if s.is_empty() {
                while p.first() == Some(&b'*') {
                    p = &p[1..];
                }
                break;
            }
        }
        p.is_empty() && s.is_empty()
    }

    #[test]
    fn give_up_flag_never_changes_an_answer() {
        // A small deterministic generator (xorshift), so failures reproduce.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pattern_bytes = b"ab*?[]^-\\A";
        let subject_bytes = b"abAB-]^";
        for _ in 0..50_000 {
            let plen = (next() % 9) as usize;
            let slen = (next() % 9) as usize;
            let pattern: Vec<u8> = (0..plen)
                .map(|_| pattern_bytes[(next() % pattern_bytes.len() as u64) as usize])
                .collect();
            let subject: Vec<u8> = (0..slen)
                .map(|_| subject_bytes[(next() % subject_bytes.len() as u64) as usize])
                .collect();
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(&pattern, &subject, nocase),
                    naive(&pattern, &subject, nocase),
                    "pattern {:?} subject {:?} nocase {}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(&subject),
                    nocase
                );
            }
        }
    }

    #[test]
    fn c_tolower_matches_glibc_in_the_c_locale() {
        assert_eq!(c_tolower(c_char(b'A')), i32::from(b'a'));
        assert_eq!(c_tolower(c_char(b'a')), i32::from(b'a'));
        assert_eq!(c_tolower(c_char(0xe9)), 0xe9); // -23 -> 233
        assert_eq!(c_tolower(c_char(0x80)), 0x80);
        assert_eq!(c_tolower(c_char(0xff)), -1); // EOF stays EOF
    }
}
