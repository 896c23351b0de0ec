//! # anatomy-viz: watch a running redis-anatomy server
//!
//! `anatomy-viz --connect 127.0.0.1:6379` opens a window on the server's
//! keyspace dict: its two tables, `rehashidx`, and each rehash step as it
//! happens. The window is `anatomy-viz-ui`'s view; this binary adds what a
//! view must not have: a native window (eframe with glow on X11), a
//! polling thread that talks to the server (`poller.rs`, over a tiny RESP
//! client in `resp.rs`), and a screenshot mode for CI and the book.
//!
//! The threads meet only through two channels: actions go from the window
//! to the poller, updates (snapshots, events, connection state, action
//! results) come back. The window drains its channel at each frame and the
//! poller wakes it with `request_repaint` after every update.

mod poller;
mod resp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anatomy_viz_ui::{Action, RehashView};
use clap::Parser;

use poller::{Poller, Update};

/// Watch a redis-anatomy server's keyspace dict rehash, live.
#[derive(Parser, Debug)]
#[command(name = "anatomy-viz", version)]
struct Args {
    /// The server to watch, host:port.
    #[arg(long, default_value = "127.0.0.1:6379")]
    connect: String,
    /// Save a PNG of the window to this path once the first snapshot has
    /// been shown for a moment, then exit (for CI and the book).
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// With --screenshot: give up, exiting 1, if no snapshot arrives within
    /// this many seconds.
    #[arg(long, default_value_t = 30)]
    screenshot_timeout: u64,
}

struct App {
    view: RehashView,
    updates: Receiver<Update>,
    actions: Sender<Action>,
    screenshot: Option<Screenshot>,
}

/// Screenshot mode's progress.
struct Screenshot {
    path: PathBuf,
    started: Instant,
    timeout: Duration,
    /// When the first snapshot was shown.
    first_shown: Option<Instant>,
    requested: bool,
    saved: Arc<AtomicBool>,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        while let Ok(update) = self.updates.try_recv() {
            match update {
                Update::Status(s) => self.view.set_status(s),
                Update::Snapshot(s) => self.view.push_snapshot(*s),
                Update::Events(e) => self.view.push_events(e),
                Update::ActionResult(r) => self.view.set_action_result(r),
            }
        }
        self.view.ui(ui);
        for action in self.view.take_actions() {
            let _ = self.actions.send(action);
        }
        if let Some(shot) = &mut self.screenshot {
            shot.advance(ui.ctx(), self.view.shown().is_some());
        }
    }
}

impl Screenshot {
    /// Waits for a snapshot, lets the view settle, takes the picture, and
    /// closes the window once it is saved.
    fn advance(&mut self, ctx: &egui::Context, have_snapshot: bool) {
        ctx.request_repaint_after(Duration::from_millis(100));
        if self.saved.load(Ordering::SeqCst) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if !have_snapshot {
            if self.started.elapsed() > self.timeout {
                eprintln!(
                    "anatomy-viz: no snapshot from the server within {:?}",
                    self.timeout
                );
                std::process::exit(1);
            }
            return;
        }
        let first = *self.first_shown.get_or_insert_with(Instant::now);
        if !self.requested && first.elapsed() > Duration::from_millis(1500) {
            self.requested = true;
            let path = self.path.clone();
            let saved = self.saved.clone();
            let ctx2 = ctx.clone();
            ctx.request_screenshot(move |image| {
                match save_png(&path, &image) {
                    Ok(()) => eprintln!("anatomy-viz: saved {}", path.display()),
                    Err(e) => {
                        eprintln!("anatomy-viz: cannot save {}: {e}", path.display());
                        std::process::exit(1);
                    }
                }
                saved.store(true, Ordering::SeqCst);
                ctx2.request_repaint();
            });
        }
    }
}

fn save_png(
    path: &std::path::Path,
    image: &egui::ColorImage,
) -> Result<(), Box<dyn std::error::Error>> {
    let [w, h] = image.size;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    writer.write_image_data(&bytes)?;
    writer.finish()?;
    Ok(())
}

fn main() -> eframe::Result {
    let args = Args::parse();
    let (action_tx, action_rx) = mpsc::channel();
    let (update_tx, update_rx) = mpsc::channel();
    let view = RehashView::new(args.connect.clone());
    let screenshot = args.screenshot.map(|path| Screenshot {
        path,
        started: Instant::now(),
        timeout: Duration::from_secs(args.screenshot_timeout),
        first_shown: None,
        requested: false,
        saved: Arc::new(AtomicBool::new(false)),
    });
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("anatomy-viz")
            .with_inner_size([1400.0, 900.0]),
        ..Default::default()
    };
    let addr = args.connect;
    eframe::run_native(
        "anatomy-viz",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let wake = Box::new(move || ctx.request_repaint());
            let poller = Poller::new(addr, action_rx, update_tx, wake);
            std::thread::Builder::new()
                .name("poller".into())
                .spawn(move || poller.run())
                .expect("spawn the polling thread");
            Ok(Box::new(App {
                view,
                updates: update_rx,
                actions: action_tx,
                screenshot,
            }))
        }),
    )
}
