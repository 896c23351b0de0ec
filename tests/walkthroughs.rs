//! Every walkthrough in `chapters/`, replayed against an in-process server.
//!
//! Each transcript is snapshot-tested with insta, and it must also equal
//! the copy the book includes, `book/src/transcripts/<chapter>.txt`, so the
//! book cannot print something the server no longer does. When a change to
//! the server or to a walkthrough changes a transcript on purpose,
//! regenerate both:
//!
//! ```text
//! INSTA_UPDATE=always UPDATE_TRANSCRIPTS=1 cargo test --test walkthroughs
//! ```

mod common;
use common::*;

use std::path::{Path, PathBuf};

use redis_anatomy::server::{Config, ServerHandle};
use redis_anatomy::walk;

/// While the commands a walkthrough uses are still being written, a reply
/// "unknown command" shows up in the transcript (and so in the book) but
/// does not fail the test. Once every command exists, set this to false:
/// from then on any unexpected error reply fails the walkthrough.
const TOLERATE_UNKNOWN_COMMANDS: bool = false;

/// The settings the walkthroughs assume: DEBUG enabled (they use DEBUG
/// HTSTATS, DEBUG SDSLEN, DEBUG SET-ACTIVE-EXPIRE), everything else default.
fn server() -> ServerHandle {
    start_with(|cfg| {
        let args = ["--enable-debug-command".to_string(), "yes".to_string()];
        let mut parsed = Config::from_args(&args).expect("walkthrough settings parse");
        parsed.port = cfg.port;
        parsed.bind = cfg.bind.clone();
        // A private directory and no save points, as every test server:
        // walkthroughs that SAVE or turn the AOF on write there, not into
        // the crate.
        parsed.dir = cfg.dir.clone();
        parsed.save = cfg.save.clone();
        *cfg = parsed;
    })
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn replay(chapter: &str) {
    let source = root().join("chapters").join(format!("{chapter}.md"));
    let text = std::fs::read_to_string(&source).expect("walkthrough exists");
    let walkthrough = walk::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));

    let server = server();
    let outcome = walk::transcript(&server.addr.to_string(), &walkthrough);
    drop(server);

    insta::assert_snapshot!(chapter, outcome.transcript);
    check_book_copy(chapter, &outcome.transcript);

    let real_failures: Vec<String> = outcome
        .failures
        .iter()
        .filter(|f| {
            let unknown = f.error_reply.as_deref().is_some_and(|e| {
                e.starts_with("ERR unknown command") || e.starts_with("ERR unknown subcommand")
            });
            !(TOLERATE_UNKNOWN_COMMANDS && unknown)
        })
        .map(|f| f.to_string())
        .collect();
    assert!(
        real_failures.is_empty(),
        "chapters/{chapter}.md:\n{}",
        real_failures.join("\n")
    );
}

/// The book's copy must be byte-for-byte what the server printed now.
fn check_book_copy(chapter: &str, transcript: &str) {
    let copy: PathBuf = root()
        .join("book/src/transcripts")
        .join(format!("{chapter}.txt"));
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(&copy, transcript).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&copy).unwrap_or_default();
    assert!(
        committed == transcript,
        "{} differs from a fresh run of chapters/{chapter}.md; \
         regenerate with `INSTA_UPDATE=always UPDATE_TRANSCRIPTS=1 cargo test --test walkthroughs`",
        copy.display()
    );
}

/// One test per walkthrough, named after its chapter file.
macro_rules! walkthroughs {
    ($($chapter:ident),* $(,)?) => {
        $(
            #[test]
            fn $chapter() {
                replay(stringify!($chapter));
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($chapter)),*];
    };
}

walkthroughs!(
    resp,
    sds,
    dict,
    expiry,
    encodings,
    sets,
    skiplist,
    stream,
    bitmaps,
    pubsub,
    transactions,
    rdb,
    memory,
    aof,
    scripting,
    replication,
    acl,
    tracking,
);

/// Every file in chapters/ (but the README) has a test above, so a new
/// walkthrough cannot be forgotten.
#[test]
fn every_walkthrough_is_replayed() {
    let mut tested = TESTED.to_vec();
    tested.sort();
    let mut found: Vec<String> = std::fs::read_dir(root().join("chapters"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .map(|n| n.trim_end_matches(".md").to_string())
        .collect();
    found.sort();
    assert_eq!(found, tested);
}
