//! # anatomy-viz-ui: the rehash view, drawn with egui
//!
//! This crate draws what the server's snapshots say, and nothing else: it
//! has no network code and no clock of its own beyond egui's. The app
//! (`viz/app`) feeds it snapshots, events and the connection's state, and
//! collects the [`Action`]s a student asked for (add keys, take a rehash
//! step...) to send to the server. That split is what lets the tests drive
//! the view headless with `egui_kittest` on scripted snapshots.
//!
//! ## What the view shows
//!
//! The keyspace dict as Redis builds it: table 0 and table 1, each a row of
//! buckets coloured by chain length, with `rehashidx` marked on table 0 and
//! every bucket below it drawn as "moved". When a new snapshot shows that
//! `rehashidx` advanced, the buckets it crossed flash in table 0 and the
//! buckets of table 1 that gained keys flash too, while the marker slides:
//! that is incremental rehashing, one step at a time.
//!
//! ## The invariant
//!
//! The history is a ring of *distinct* snapshots, oldest first: a snapshot
//! that differs from the newest only in its sequence number and time is
//! not stored again, so stepping back always shows a change. `cursor`
//! always indexes a stored snapshot (or the history is empty). In
//! [`Playback::Live`] the cursor follows the newest snapshot.
//!
//! ## Accessibility and tests
//!
//! Every bucket is a widget with an accessible label ("table 0 bucket 5: 2
//! keys") and a tooltip that explains it. Screen readers can read it, and
//! the tests find buckets, buttons and tooltips by those labels.
//!
//! ## The Redis C counterpart
//!
//! None: Redis has no viewer. What is drawn is `dict.c`'s `dict` struct:
//! `ht_table[0..2]`, `ht_used`, `ht_size_exp` and `rehashidx`.

use std::collections::VecDeque;

use anatomy_viz_proto::{
    BucketSampling, DictSnapshot, DictSource, Event, TableSnapshot, CHAIN_LEN_SATURATED,
};
use egui::{Color32, CornerRadius, Rect, Sense, Stroke, StrokeKind, Vec2};

/// Snapshots kept for stepping back and scrubbing: a minute at 10 polls a
/// second, if every poll saw a change.
pub const HISTORY_CAP: usize = 600;

/// Events kept for the event list.
pub const EVENTS_KEPT: usize = 200;

/// The rate snapshots are polled at, and replayed at speed 1.
pub const POLL_HZ: f32 = 10.0;

/// Where the book explains what this view shows.
pub const BOOK_CHAPTER: &str = "Read along: the book's dict chapter, \"dict and incremental \
     rehashing\" (book/src/dict.md), explains every cell of this view.";

/// The state of the link to the server, as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting {
        addr: String,
    },
    Connected {
        addr: String,
    },
    /// The connection failed or dropped; the app keeps retrying.
    Lost {
        addr: String,
        error: String,
    },
    /// The server answered, but not to `ANATOMY`: it is not
    /// redis-anatomy, or an older one. `reply` is what it said.
    NoAnatomy {
        addr: String,
        reply: String,
    },
}

/// What the student asked the server to do; the app sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Connect to this address instead.
    Connect(String),
    /// Add this many new keys (to make the table grow).
    AddKeys(u32),
    /// Delete this many keys (to make the table shrink).
    DeleteKeys(u32),
    /// `DEBUG REHASH-STEP n`.
    RehashStep(u32),
    /// `CONFIG SET activerehashing yes|no`.
    SetActiveRehashing(bool),
}

/// How the shown snapshot is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playback {
    /// Always the newest snapshot.
    Live,
    /// A fixed snapshot, moved only by step and scrub.
    Paused,
    /// Moving forward through the history at `speed`, then live again.
    Replay,
}

/// A migration being animated: `rehashidx` went from `from` to `to`
/// between the previous and the current shown snapshot.
#[derive(Debug, Clone)]
struct Migration {
    from: u64,
    to: u64,
    /// Entries of table 1's list whose chain grew.
    grown: Vec<usize>,
    started: f64,
}

/// The whole view and its state.
pub struct RehashView {
    address: String,
    status: ConnectionStatus,
    history: VecDeque<DictSnapshot>,
    cursor: usize,
    playback: Playback,
    /// Replay speed and animation pace: 1.0 is real time.
    speed: f32,
    /// When the replay last advanced (egui time, seconds).
    replay_clock: f64,
    events: VecDeque<Event>,
    add_count: u32,
    delete_count: u32,
    step_count: u32,
    actions: Vec<Action>,
    last_result: Option<String>,
    migration: Option<Migration>,
    /// Seq of the snapshot drawn last frame, to notice a change.
    drawn_seq: Option<u64>,
}

impl RehashView {
    pub fn new(address: impl Into<String>) -> Self {
        let address = address.into();
        RehashView {
            status: ConnectionStatus::Connecting {
                addr: address.clone(),
            },
            address,
            history: VecDeque::new(),
            cursor: 0,
            playback: Playback::Live,
            speed: 1.0,
            replay_clock: 0.0,
            events: VecDeque::new(),
            add_count: 1000,
            delete_count: 1000,
            step_count: 1,
            actions: Vec::new(),
            last_result: None,
            migration: None,
            drawn_seq: None,
        }
    }

    // ---------------------------------------------------------------
    // Fed by the app
    // ---------------------------------------------------------------

    /// Records a snapshot, unless it shows nothing new.
    pub fn push_snapshot(&mut self, snap: DictSnapshot) {
        if let Some(last) = self.history.back() {
            if same_state(last, &snap) {
                return;
            }
        }
        self.history.push_back(snap);
        if self.history.len() > HISTORY_CAP {
            self.history.pop_front();
            // The shown snapshot moved one place towards the front.
            self.cursor = self.cursor.saturating_sub(1);
        }
        if self.playback == Playback::Live {
            self.cursor = self.history.len() - 1;
        }
    }

    pub fn push_events(&mut self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            if self.events.len() == EVENTS_KEPT {
                self.events.pop_front();
            }
            self.events.push_back(e);
        }
    }

    pub fn set_status(&mut self, status: ConnectionStatus) {
        self.status = status;
    }

    /// What the server answered to the last action.
    pub fn set_action_result(&mut self, text: impl Into<String>) {
        self.last_result = Some(text.into());
    }

    /// The actions asked for since the last call, oldest first.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    // ---------------------------------------------------------------
    // Read by the app and the tests
    // ---------------------------------------------------------------

    pub fn shown(&self) -> Option<&DictSnapshot> {
        self.history.get(self.cursor)
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    pub fn playback(&self) -> Playback {
        self.playback
    }

    pub fn status(&self) -> &ConnectionStatus {
        &self.status
    }

    // ---------------------------------------------------------------
    // The controls
    // ---------------------------------------------------------------

    pub fn follow_live(&mut self) {
        self.playback = Playback::Live;
        self.cursor = self.history.len().saturating_sub(1);
    }

    pub fn pause(&mut self) {
        self.playback = Playback::Paused;
    }

    pub fn step_back(&mut self) {
        self.playback = Playback::Paused;
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn step_forward(&mut self) {
        self.playback = Playback::Paused;
        self.cursor = (self.cursor + 1).min(self.history.len().saturating_sub(1));
    }

    /// Shows snapshot `index` of the history (clamped), paused.
    pub fn scrub_to(&mut self, index: usize) {
        self.playback = Playback::Paused;
        self.cursor = index.min(self.history.len().saturating_sub(1));
    }

    fn replay(&mut self, now: f64) {
        self.playback = Playback::Replay;
        self.replay_clock = now;
    }

    /// Advances a replay by as many snapshots as the time since the last
    /// advance allows at `speed`.
    fn advance_replay(&mut self, now: f64) {
        let interval = 1.0 / (POLL_HZ * self.speed) as f64;
        while now - self.replay_clock >= interval {
            self.replay_clock += interval;
            if self.cursor + 1 >= self.history.len() {
                self.follow_live();
                return;
            }
            self.cursor += 1;
        }
    }

    // ---------------------------------------------------------------
    // Drawing
    // ---------------------------------------------------------------

    /// Draws the whole view into `ui` (the app's window, or a test harness).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let now = ui.input(|i| i.time);
        if self.playback == Playback::Replay {
            self.advance_replay(now);
            ui.ctx().request_repaint();
        }
        self.update_migration(now);

        egui::Panel::top("connection").show(ui, |ui| self.connection_bar(ui));
        egui::Panel::top("controls").show(ui, |ui| self.controls(ui, now));
        egui::Panel::right("side")
            .default_size(300.0)
            .show(ui, |ui| self.side_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| self.tables(ui, now));
    }

    fn connection_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("anatomy-viz: the keyspace dict");
            ui.separator();
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.address)
                    .hint_text("server address, host:port")
                    .desired_width(160.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Connect").clicked() || enter {
                self.actions
                    .push(Action::Connect(self.address.trim().to_string()));
            }
            let (colour, text) = match &self.status {
                ConnectionStatus::Connecting { addr } => {
                    (Color32::LIGHT_BLUE, format!("connecting to {addr}..."))
                }
                ConnectionStatus::Connected { addr } => {
                    (Color32::LIGHT_GREEN, format!("connected to {addr}"))
                }
                ConnectionStatus::Lost { addr, error } => (
                    Color32::from_rgb(255, 120, 100),
                    format!("connection to {addr} lost ({error}); reconnecting..."),
                ),
                ConnectionStatus::NoAnatomy { addr, reply } => (
                    Color32::from_rgb(255, 190, 80),
                    format!(
                        "{addr} has no ANATOMY command (it replied: {reply}). \
                         anatomy-viz needs a redis-anatomy server: a real Redis, or an older \
                         redis-anatomy, cannot show its tables."
                    ),
                ),
            };
            ui.colored_label(colour, text);
        });
    }

    fn controls(&mut self, ui: &mut egui::Ui, now: f64) {
        ui.horizontal(|ui| {
            if ui
                .selectable_label(self.playback == Playback::Live, "Follow live")
                .clicked()
            {
                self.follow_live();
            }
            if ui
                .selectable_label(self.playback == Playback::Paused, "Pause")
                .clicked()
            {
                self.pause();
            }
            if ui.button("Step back").clicked() {
                self.step_back();
            }
            if ui.button("Step forward").clicked() {
                self.step_forward();
            }
            if ui
                .selectable_label(self.playback == Playback::Replay, "Replay")
                .on_hover_text("Play the recorded snapshots from here at the chosen speed")
                .clicked()
            {
                self.replay(now);
            }
            ui.separator();
            ui.add(
                egui::Slider::new(&mut self.speed, 0.25..=4.0)
                    .logarithmic(true)
                    .text("speed"),
            )
            .on_hover_text("Replay speed and animation pace (1 = real time)");
            ui.separator();
            let last = self.history.len().saturating_sub(1);
            let mut cursor = self.cursor;
            let timeline = ui.add_enabled(
                !self.history.is_empty(),
                egui::Slider::new(&mut cursor, 0..=last).text("timeline"),
            );
            if timeline.changed() {
                self.scrub_to(cursor);
            }
            let position = match self.shown() {
                Some(s) => format!(
                    "snapshot {} of {} (seq {})",
                    self.cursor + 1,
                    self.history.len(),
                    s.seq
                ),
                None => "no snapshot yet".to_string(),
            };
            ui.label(position);
        });
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Legend");
        legend(ui);
        ui.separator();

        ui.heading("Act on the server");
        ui.horizontal(|ui| {
            let label = ui.label("keys to add");
            ui.add(egui::DragValue::new(&mut self.add_count).range(1..=1_000_000))
                .labelled_by(label.id);
            if ui.button(format!("Add {} keys", self.add_count)).clicked() {
                self.actions.push(Action::AddKeys(self.add_count));
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("keys to delete");
            ui.add(egui::DragValue::new(&mut self.delete_count).range(1..=1_000_000))
                .labelled_by(label.id);
            if ui
                .button(format!("Delete {} keys", self.delete_count))
                .clicked()
            {
                self.actions.push(Action::DeleteKeys(self.delete_count));
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("buckets per step");
            ui.add(egui::DragValue::new(&mut self.step_count).range(1..=100_000))
                .labelled_by(label.id);
            if ui
                .button("Rehash step")
                .on_hover_text("DEBUG REHASH-STEP: move this many buckets now")
                .clicked()
            {
                self.actions.push(Action::RehashStep(self.step_count));
            }
        });
        let mut active = self.shown().is_none_or(|s| s.active_rehashing);
        if ui
            .checkbox(&mut active, "Active rehashing")
            .on_hover_text(
                "CONFIG SET activerehashing: when off, only commands and \
                 Rehash step move the rehash",
            )
            .changed()
        {
            self.actions.push(Action::SetActiveRehashing(active));
        }
        if let Some(result) = &self.last_result {
            ui.label(format!("server: {result}"));
        }
        ui.separator();

        ui.label(BOOK_CHAPTER);
        ui.separator();

        ui.heading("Events");
        egui::ScrollArea::vertical()
            .id_salt("events")
            .show(ui, |ui| {
                for e in self.events.iter().rev().take(50) {
                    ui.label(format!("#{} {}", e.seq, e.kind.describe()));
                }
                if self.events.is_empty() {
                    ui.label("no events yet");
                }
            });
    }

    /// Starts an animation when the shown snapshot changed and `rehashidx`
    /// moved forward within the same rehash; ends it when it has run.
    fn update_migration(&mut self, now: f64) {
        let Some(shown) = self.history.get(self.cursor) else {
            return;
        };
        if self.drawn_seq != Some(shown.seq) {
            let previous = self
                .drawn_seq
                .and_then(|seq| self.history.iter().find(|s| s.seq == seq));
            self.migration = previous.and_then(|prev| migration_between(prev, shown, now));
            self.drawn_seq = Some(shown.seq);
        }
        if let Some(m) = &self.migration {
            if now - m.started > self.animation_secs() {
                self.migration = None;
            }
        }
    }

    fn animation_secs(&self) -> f64 {
        0.8 / self.speed as f64
    }

    fn tables(&mut self, ui: &mut egui::Ui, now: f64) {
        let Some(snap) = self.history.get(self.cursor) else {
            ui.label("Waiting for the first snapshot from the server...");
            return;
        };
        // 0 at the start of an animation, 1 when done.
        let progress = self.migration.as_ref().map(|m| {
            let p = ((now - m.started) / self.animation_secs()).clamp(0.0, 1.0) as f32;
            ui.ctx().request_repaint();
            (m, p)
        });
        let what = match &snap.source {
            DictSource::Keyspace { db } => format!("keyspace of db {db}"),
            DictSource::Key { db, key, kind } => format!("{kind} '{key}' in db {db}"),
        };
        ui.horizontal(|ui| {
            ui.strong(what);
            ui.separator();
            match snap.rehash_index {
                Some(idx) => ui.label(format!("rehashing: rehashidx {idx}")),
                None => ui.label("not rehashing (rehashidx -1)"),
            };
            if snap.rehash_paused {
                ui.label("(rehashing paused by a safe iterator)");
            }
            ui.label(if snap.active_rehashing {
                "active rehashing on"
            } else {
                "active rehashing off"
            });
        });
        egui::ScrollArea::vertical()
            .id_salt("tables")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for t in 0..2 {
                    table_view(ui, t, &snap.tables[t], snap.rehash_index, progress);
                    ui.add_space(12.0);
                }
            });
    }
}

/// Whether two snapshots show the same state (sequence and time aside).
fn same_state(a: &DictSnapshot, b: &DictSnapshot) -> bool {
    a.source == b.source
        && a.rehash_index == b.rehash_index
        && a.active_rehashing == b.active_rehashing
        && a.rehash_paused == b.rehash_paused
        && a.tables == b.tables
}

fn migration_between(prev: &DictSnapshot, next: &DictSnapshot, now: f64) -> Option<Migration> {
    let (from, to) = (prev.rehash_index?, next.rehash_index?);
    let same_rehash = prev.tables[0].size == next.tables[0].size
        && prev.tables[1].size == next.tables[1].size
        && prev.source == next.source;
    if !same_rehash || to <= from {
        return None;
    }
    let (before, after) = (&prev.tables[1].buckets, &next.tables[1].buckets);
    let grown = if before.sampling == after.sampling {
        after
            .lengths
            .iter()
            .zip(&before.lengths)
            .enumerate()
            .filter(|(_, (a, b))| a > b)
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    Some(Migration {
        from,
        to,
        grown,
        started: now,
    })
}

/// Colour of a bucket whose chain holds `len` entries.
pub fn chain_colour(len: u8) -> Color32 {
    match len {
        0 => Color32::from_gray(60),
        1 => Color32::from_rgb(80, 170, 90),
        2 => Color32::from_rgb(220, 200, 60),
        3 => Color32::from_rgb(235, 140, 40),
        _ => Color32::from_rgb(215, 60, 50),
    }
}

/// Colour of a table 0 bucket below `rehashidx`: emptied by the rehash.
const MOVED_COLOUR: Color32 = Color32::from_rgb(40, 60, 100);
const MARKER_COLOUR: Color32 = Color32::from_rgb(120, 200, 255);
const FLASH_COLOUR: Color32 = Color32::WHITE;

fn legend(ui: &mut egui::Ui) {
    let swatch = |ui: &mut egui::Ui, colour: Color32, text: &str| {
        ui.horizontal(|ui| {
            let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
            ui.painter()
                .rect_filled(rect, CornerRadius::same(2), colour);
            ui.label(text);
        });
    };
    swatch(ui, chain_colour(0), "empty bucket");
    swatch(ui, chain_colour(1), "1 key");
    swatch(ui, chain_colour(2), "2 keys in a chain");
    swatch(ui, chain_colour(3), "3 keys in a chain");
    swatch(ui, chain_colour(4), "4 or more keys");
    swatch(ui, MOVED_COLOUR, "moved to table 1 (below rehashidx)");
    swatch(ui, MARKER_COLOUR, "rehashidx: next bucket to move");
    swatch(ui, FLASH_COLOUR, "flash: moved by the latest step");
}

/// Words for a chain length, for labels.
fn keys_text(len: u8) -> String {
    match len {
        CHAIN_LEN_SATURATED => format!("{CHAIN_LEN_SATURATED} or more keys"),
        1 => "1 key".to_string(),
        n => format!("{n} keys"),
    }
}

// ANCHOR: viz_table_view
/// One table: a header with its numbers, then its buckets in rows.
fn table_view(
    ui: &mut egui::Ui,
    t: usize,
    table: &TableSnapshot,
    rehash_index: Option<u64>,
    migration: Option<(&Migration, f32)>,
) {
    let role = match (t, rehash_index) {
        (0, Some(_)) => "being emptied into table 1",
        (0, None) => "in use",
        (_, Some(_)) => "the new table, receiving every moved and every new key",
        (_, None) => "unallocated until the next resize",
    };
    ui.strong(format!("Table {t}: {role}"));
    ui.label(format!(
        "table {t}: used {} / size {} buckets, load factor {:.2}",
        table.used,
        table.size,
        table.load_factor()
    ));
    let list = &table.buckets;
    if let BucketSampling::Sampled { stride } = list.sampling {
        ui.label(format!(
            "sampled: every {stride}th bucket is shown ({} of {})",
            list.lengths.len(),
            table.size
        ));
    }
    if list.lengths.is_empty() {
        return;
    }
    let n = list.lengths.len();
    let cols = if n <= 64 {
        n
    } else if n <= 1024 {
        64
    } else {
        128
    };
    let gap = 1.0;
    let cell = ((ui.available_width() - 8.0) / cols as f32 - gap).clamp(3.0, 28.0);
    let rows = n.div_ceil(cols);
    let marker_space = if t == 0 && rehash_index.is_some() {
        6.0
    } else {
        0.0
    };
    let (area, _) = ui.allocate_exact_size(
        Vec2::new(
            cols as f32 * (cell + gap),
            rows as f32 * (cell + gap) + marker_space,
        ),
        Sense::hover(),
    );
    let origin = area.min + Vec2::new(0.0, marker_space);
    let cell_rect = |i: usize| {
        let (row, col) = (i / cols, i % cols);
        Rect::from_min_size(
            origin + Vec2::new(col as f32 * (cell + gap), row as f32 * (cell + gap)),
            Vec2::splat(cell),
        )
    };
    let stride = list.stride();
    let id = ui.scope_id().with(("table", t));
    // The entry of the list where rehashidx falls.
    let marker_entry = rehash_index.map(|idx| (idx / stride) as usize);
    for (i, &len) in list.lengths.iter().enumerate() {
        let bucket = list.bucket_index(i);
        let moved = t == 0 && rehash_index.is_some_and(|idx| bucket < idx);
        let rect = cell_rect(i);
        let mut fill = if moved {
            MOVED_COLOUR
        } else {
            chain_colour(len)
        };
        if let Some((m, p)) = migration {
            let flashed = if t == 0 {
                bucket >= m.from && bucket < m.to
            } else {
                m.grown.binary_search(&i).is_ok()
            };
            if flashed {
                fill = fill.lerp_to_gamma(FLASH_COLOUR, 1.0 - p);
            }
        }
        ui.painter().rect_filled(rect, CornerRadius::ZERO, fill);
        let response = ui.interact(rect, id.with(i), Sense::hover());
        let label = format!("table {t} bucket {bucket}: {}", keys_text(len));
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Cell, true, &label));
        response.on_hover_ui(|ui| {
            ui.label(bucket_explanation(
                t,
                bucket,
                len,
                moved,
                stride,
                rehash_index,
            ));
        });
    }
    // The rehashidx marker: a bar above the bucket, sliding during an
    // animation from where the last step started.
    if let (Some(entry), 0) = (marker_entry, t) {
        let target = cell_rect(entry.min(n - 1));
        let pos = match migration {
            Some((m, p)) => {
                let start = cell_rect(((m.from / stride) as usize).min(n - 1));
                start.min.lerp(target.min, p)
            }
            None => target.min,
        };
        let bar = Rect::from_min_size(
            pos - Vec2::new(0.0, marker_space),
            Vec2::new(cell.max(4.0), marker_space - 1.0),
        );
        ui.painter()
            .rect_filled(bar, CornerRadius::ZERO, MARKER_COLOUR);
        ui.painter().rect_stroke(
            target.expand(1.0),
            CornerRadius::ZERO,
            Stroke::new(1.5, MARKER_COLOUR),
            StrokeKind::Outside,
        );
    }
}
// ANCHOR_END: viz_table_view

/// The tooltip of one bucket: what it holds and why.
fn bucket_explanation(
    t: usize,
    bucket: u64,
    len: u8,
    moved: bool,
    stride: u64,
    rehash_index: Option<u64>,
) -> String {
    let mut text = format!("Table {t}, bucket {bucket}: ");
    text.push_str(&match len {
        0 => "empty.".to_string(),
        1 => "one key.".to_string(),
        n => format!(
            "a chain of {}: these keys' hashes all end in the same bits, so they share a bucket.",
            keys_text(n)
        ),
    });
    if moved {
        text.push_str(
            " Already moved: every bucket below rehashidx has been emptied into table 1.",
        );
    } else if t == 0 && rehash_index == Some(bucket) {
        text.push_str(" This is rehashidx: the next bucket a rehash step will move.");
    } else if t == 0 && rehash_index.is_some() {
        text.push_str(" Waiting to be moved to table 1.");
    } else if t == 1 {
        text.push_str(
            " Keys arrive here as table 0's buckets are moved, and new keys are added here.",
        );
    }
    if stride > 1 {
        text.push_str(&format!(
            " (Sampled view: only every {stride}th bucket is shown.)"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anatomy_viz_proto::{BucketList, PROTO_VERSION};

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

    #[test]
    fn identical_snapshots_are_stored_once_and_the_ring_is_bounded() {
        let mut v = RehashView::new("x");
        v.push_snapshot(snap(1, None, &[1, 0, 0, 1], &[]));
        v.push_snapshot(snap(2, None, &[1, 0, 0, 1], &[]));
        assert_eq!(v.history_len(), 1);
        for i in 0..HISTORY_CAP as u64 + 10 {
            let l = (i % 3) as u8;
            v.push_snapshot(snap(i + 3, None, &[l, 1, 0, 0], &[]));
        }
        assert_eq!(v.history_len(), HISTORY_CAP);
        assert_eq!(v.cursor(), HISTORY_CAP - 1, "live follows the newest");
    }

    #[test]
    fn a_paused_cursor_keeps_its_snapshot_while_the_ring_rotates() {
        let mut v = RehashView::new("x");
        for i in 0..HISTORY_CAP as u64 {
            v.push_snapshot(snap(i + 1, Some(i % 4), &[0, 0, 0, 1], &[1; 8]));
        }
        v.scrub_to(10);
        let seq = v.shown().unwrap().seq;
        v.push_snapshot(snap(10_000, None, &[1; 8], &[]));
        assert_eq!(v.shown().unwrap().seq, seq);
    }
}
