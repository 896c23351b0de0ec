//! The rehash view, headless: scripted snapshots in, egui's accessibility
//! tree out. Every query goes by the labels a screen reader would read,
//! and the harness's own check fails if any widget has none.

use anatomy_viz_proto::{
    BucketList, BucketSampling, DictSnapshot, DictSource, Event, EventKind, TableSnapshot,
    PROTO_VERSION,
};
use anatomy_viz_ui::{Action, ConnectionStatus, Playback, RehashView};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

fn table(lengths: &[u8]) -> TableSnapshot {
    TableSnapshot {
        size: lengths.len() as u64,
        used: lengths.iter().map(|&l| l as u64).sum(),
        buckets: BucketList {
            sampling: BucketSampling::All,
            lengths: lengths.to_vec(),
        },
    }
}

fn snap(seq: u64, rehash_index: Option<u64>, t0: &[u8], t1: &[u8]) -> DictSnapshot {
    DictSnapshot {
        version: PROTO_VERSION,
        seq,
        event_seq: 0,
        time_ms: 0,
        source: DictSource::Keyspace { db: 0 },
        rehash_index,
        active_rehashing: false,
        rehash_paused: false,
        tables: [table(t0), table(t1)],
    }
}

/// A 4 -> 8 rehash, scripted: before it, three steps, and the end.
fn scripted_rehash() -> Vec<DictSnapshot> {
    vec![
        snap(1, None, &[1, 2, 1, 0], &[]),
        snap(2, Some(0), &[1, 2, 1, 0], &[0, 0, 0, 0, 0, 1, 0, 0]),
        snap(3, Some(1), &[0, 2, 1, 0], &[1, 0, 0, 0, 0, 1, 0, 0]),
        snap(4, Some(2), &[0, 0, 1, 0], &[1, 1, 0, 0, 0, 2, 0, 0]),
        snap(5, None, &[1, 1, 0, 1, 0, 2, 0, 0], &[]),
    ]
}

fn harness(view: RehashView) -> Harness<'static, RehashView> {
    Harness::builder()
        .with_size(egui::Vec2::new(1200.0, 800.0))
        // Migration animations and replays repaint until they finish.
        .with_max_steps(100)
        .build_ui_state(|ui, view: &mut RehashView| view.ui(ui), view)
}

fn fed(snaps: &[DictSnapshot]) -> RehashView {
    let mut view = RehashView::new("127.0.0.1:6379");
    view.set_status(ConnectionStatus::Connected {
        addr: "127.0.0.1:6379".into(),
    });
    for s in snaps {
        view.push_snapshot(s.clone());
    }
    view
}

#[test]
fn the_view_shows_rehashidx_and_both_tables_counts() {
    let snaps = scripted_rehash();
    let mut h = harness(fed(&snaps[..4]));
    h.run();
    h.get_by_label("rehashing: rehashidx 2");
    h.get_by_label("table 0: used 1 / size 4 buckets, load factor 0.25");
    h.get_by_label("table 1: used 4 / size 8 buckets, load factor 0.50");
    // Each bucket is there by its label, with its chain length.
    h.get_by_label("table 1 bucket 5: 2 keys");
    h.get_by_label("table 0 bucket 2: 1 key");
    h.get_by_label("table 0 bucket 0: 0 keys");
    // The legend is always there.
    h.get_by_label("moved to table 1 (below rehashidx)");
    h.get_by_label_contains("the book's dict chapter");
}

#[test]
fn step_back_and_forward_move_through_the_history() {
    let snaps = scripted_rehash();
    let mut h = harness(fed(&snaps));
    h.run();
    h.get_by_label("not rehashing (rehashidx -1)");
    assert_eq!(h.state().cursor(), 4);

    h.get_by_label("Step back").click();
    h.run();
    assert_eq!(h.state().playback(), Playback::Paused);
    h.get_by_label("rehashing: rehashidx 2");
    h.get_by_label("Step back").click();
    h.run();
    h.get_by_label("rehashing: rehashidx 1");
    h.get_by_label("table 0 bucket 1: 2 keys");

    // Paused: a new snapshot arrives but the view stays put.
    h.state_mut()
        .push_snapshot(snap(6, None, &[1, 1, 1, 0, 0, 2, 0, 0], &[]));
    h.run();
    h.get_by_label("rehashing: rehashidx 1");

    h.get_by_label("Step forward").click();
    h.run();
    h.get_by_label("rehashing: rehashidx 2");

    h.get_by_label("Follow live").click();
    h.run();
    assert_eq!(h.state().playback(), Playback::Live);
    assert_eq!(h.state().shown().unwrap().seq, 6);
}

#[test]
fn scrubbing_the_timeline_shows_that_snapshot() {
    let snaps = scripted_rehash();
    let mut h = harness(fed(&snaps));
    h.run();
    h.state_mut().scrub_to(1);
    h.run();
    h.get_by_label("rehashing: rehashidx 0");
    h.get_by_label("snapshot 2 of 5 (seq 2)");
    h.state_mut().scrub_to(99);
    h.run();
    h.get_by_label("snapshot 5 of 5 (seq 5)");
    assert_eq!(h.state().playback(), Playback::Paused);
}

#[test]
fn replay_walks_the_history_and_returns_to_live() {
    let snaps = scripted_rehash();
    let mut h = harness(fed(&snaps));
    h.run();
    h.state_mut().scrub_to(0);
    h.run();
    h.get_by_label("Replay").click();
    h.run();
    assert_eq!(
        h.state().playback(),
        Playback::Live,
        "replay ran to the end"
    );
    assert_eq!(h.state().cursor(), 4);
}

#[test]
fn hovering_a_bucket_shows_a_tooltip_explaining_it() {
    let snaps = scripted_rehash();
    let mut h = harness(fed(&snaps[..4]));
    h.run();
    h.get_by_label("table 0 bucket 0: 0 keys").hover();
    h.run();
    h.get_by_label_contains("Already moved: every bucket below rehashidx");

    h.get_by_label("table 0 bucket 2: 1 key").hover();
    h.run();
    h.get_by_label_contains("This is rehashidx");

    h.get_by_label("table 1 bucket 5: 2 keys").hover();
    h.run();
    h.get_by_label_contains("a chain of 2 keys");
}

#[test]
fn buttons_queue_actions_for_the_server() {
    let mut h = harness(fed(&scripted_rehash()[..2]));
    h.run();
    h.get_by_label("Add 1000 keys").click();
    h.get_by_label("Rehash step").click();
    h.get_by_label("Active rehashing").click();
    h.run();
    h.get_by_label("Delete 1000 keys").click();
    h.get_by_label("Connect").click();
    h.run();
    assert_eq!(
        h.state_mut().take_actions(),
        [
            Action::AddKeys(1000),
            Action::RehashStep(1),
            Action::SetActiveRehashing(true),
            Action::DeleteKeys(1000),
            Action::Connect("127.0.0.1:6379".into()),
        ]
    );
}

#[test]
fn a_server_without_anatomy_and_a_lost_connection_are_explained() {
    let mut view = RehashView::new("127.0.0.1:6379");
    view.set_status(ConnectionStatus::NoAnatomy {
        addr: "127.0.0.1:6379".into(),
        reply: "ERR unknown command 'ANATOMY'".into(),
    });
    let mut h = harness(view);
    h.run();
    h.get_by_label_contains("has no ANATOMY command");
    h.get_by_label("Waiting for the first snapshot from the server...");
    h.state_mut().set_status(ConnectionStatus::Lost {
        addr: "127.0.0.1:6379".into(),
        error: "connection refused".into(),
    });
    h.run();
    h.get_by_label_contains("lost (connection refused); reconnecting");
}

#[test]
fn a_sampled_table_says_so_and_events_are_listed() {
    let mut big = snap(1, Some(512), &[], &[]);
    big.tables[0] = TableSnapshot {
        size: 16384,
        used: 9000,
        buckets: BucketList {
            sampling: BucketSampling::Sampled { stride: 4 },
            lengths: vec![1; 4096],
        },
    };
    let mut view = fed(&[big]);
    view.push_events([Event {
        seq: 7,
        time_ms: 0,
        kind: EventKind::RehashStarted {
            db: 0,
            from: 16384,
            to: 32768,
        },
    }]);
    let mut h = harness(view);
    h.run();
    h.get_by_label("sampled: every 4th bucket is shown (4096 of 16384)");
    h.get_by_label("table 0 bucket 1020: 1 key");
    h.get_by_label("#7 db0: rehash started, 16384 -> 32768 buckets");
}
