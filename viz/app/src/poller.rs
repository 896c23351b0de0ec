//! The polling thread: the only code that talks to the server.
//!
//! It owns the connection. Ten times a second it asks `ANATOMY DICT` and
//! `ANATOMY EVENTS <last seen>`, and hands what it decoded to the UI thread
//! through a channel; in between it runs the actions the student asked for.
//! The UI never waits on the network, so a slow or dead server cannot
//! freeze the window: the poller reports `Lost` and keeps reconnecting.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anatomy_viz_proto::{DictSnapshot, Event, EventBatch, PROTO_VERSION};
use anatomy_viz_ui::{Action, ConnectionStatus};

use crate::resp::{Connection, Reply};

/// What the poller tells the UI.
pub enum Update {
    Status(ConnectionStatus),
    Snapshot(Box<DictSnapshot>),
    Events(Vec<Event>),
    ActionResult(String),
}

const POLL_INTERVAL: Duration = Duration::from_millis(100);
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Keys per MSET / DEL when adding or deleting many.
const BATCH: usize = 1000;

pub struct Poller {
    addr: String,
    actions: Receiver<Action>,
    updates: Sender<Update>,
    /// Wakes the UI after each update.
    wake: Box<dyn Fn() + Send>,
    /// Keys added by this viz are named `viz:<run>:<n>`.
    run_id: u64,
    next_key: u64,
}

impl Poller {
    pub fn new(
        addr: String,
        actions: Receiver<Action>,
        updates: Sender<Update>,
        wake: Box<dyn Fn() + Send>,
    ) -> Poller {
        let run_id = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
            % 1_000_000_007;
        Poller {
            addr,
            actions,
            updates,
            wake,
            run_id,
            next_key: 0,
        }
    }

    fn send(&self, update: Update) -> bool {
        let alive = self.updates.send(update).is_ok();
        (self.wake)();
        alive
    }

    /// Runs until the UI goes away.
    pub fn run(mut self) {
        loop {
            self.send(Update::Status(ConnectionStatus::Connecting {
                addr: self.addr.clone(),
            }));
            let outcome = match Connection::connect(&self.addr, Duration::from_secs(2)) {
                Ok(conn) => self.serve(conn),
                Err(e) => Outcome::Failed(e.to_string()),
            };
            let status = match outcome {
                Outcome::UiGone => return,
                Outcome::Reconnect => continue,
                Outcome::Failed(error) => ConnectionStatus::Lost {
                    addr: self.addr.clone(),
                    error,
                },
                Outcome::NoAnatomy(reply) => ConnectionStatus::NoAnatomy {
                    addr: self.addr.clone(),
                    reply,
                },
            };
            if !self.send(Update::Status(status)) {
                return;
            }
            // Wait before retrying, but obey a new address at once.
            match self.actions.recv_timeout(RETRY_INTERVAL) {
                Ok(Action::Connect(addr)) => self.addr = addr,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Polls one connection until it fails or the UI asks for another.
    fn serve(&mut self, mut conn: Connection) -> Outcome {
        let mut since: Option<u64> = None;
        let mut announced = false;
        loop {
            let started = Instant::now();
            let replies = match conn.pipeline(&[
                args(&["ANATOMY", "DICT"]),
                args(&["ANATOMY", "EVENTS", &since.unwrap_or(0).to_string()]),
            ]) {
                Ok(r) => r,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            let snapshot = match &replies[0] {
                Reply::Bulk(json) => match serde_json::from_slice::<DictSnapshot>(json) {
                    Ok(s) if s.version == PROTO_VERSION => s,
                    Ok(s) => {
                        return Outcome::NoAnatomy(format!(
                            "protocol version {} (this viz reads {PROTO_VERSION})",
                            s.version
                        ))
                    }
                    Err(e) => return Outcome::NoAnatomy(format!("undecodable snapshot: {e}")),
                },
                Reply::Error(e) => return Outcome::NoAnatomy(e.clone()),
                other => return Outcome::NoAnatomy(other.describe()),
            };
            if !announced {
                announced = true;
                self.send(Update::Status(ConnectionStatus::Connected {
                    addr: self.addr.clone(),
                }));
            }
            if let Reply::Bulk(json) = &replies[1] {
                if let Ok(batch) = serde_json::from_slice::<EventBatch>(json) {
                    // The first poll only learns where the log is: older
                    // events happened before this viewer looked.
                    if since.is_some() && !batch.events.is_empty() {
                        self.send(Update::Events(batch.events));
                    }
                    since = Some(batch.last_seq);
                }
            }
            if !self.send(Update::Snapshot(Box::new(snapshot))) {
                return Outcome::UiGone;
            }
            // Run actions until the next poll is due.
            loop {
                let left = POLL_INTERVAL.saturating_sub(started.elapsed());
                match self.actions.recv_timeout(left) {
                    Ok(Action::Connect(addr)) => {
                        self.addr = addr;
                        return Outcome::Reconnect;
                    }
                    Ok(action) => {
                        let result = match self.act(&mut conn, action) {
                            Ok(text) => text,
                            Err(e) => return Outcome::Failed(e.to_string()),
                        };
                        self.send(Update::ActionResult(result));
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return Outcome::UiGone,
                }
            }
        }
    }

    /// Runs one action; returns what to tell the student.
    fn act(&mut self, conn: &mut Connection, action: Action) -> std::io::Result<String> {
        Ok(match action {
            Action::AddKeys(n) => {
                let mut commands = Vec::new();
                let mut left = n as usize;
                while left > 0 {
                    let batch = left.min(BATCH);
                    let mut mset = vec![b"MSET".to_vec()];
                    for _ in 0..batch {
                        mset.push(format!("viz:{}:{}", self.run_id, self.next_key).into_bytes());
                        mset.push(b"1".to_vec());
                        self.next_key += 1;
                    }
                    commands.push(mset);
                    left -= batch;
                }
                let replies = conn.pipeline(&commands)?;
                match replies.iter().find(|r| matches!(r, Reply::Error(_))) {
                    Some(e) => e.describe(),
                    None => format!("added {n} keys"),
                }
            }
            Action::DeleteKeys(n) => self.delete_keys(conn, n as usize)?,
            Action::RehashStep(n) => {
                match conn.command(&[b"DEBUG", b"REHASH-STEP", n.to_string().as_bytes()])? {
                    Reply::Int(-1) => "rehash step: not rehashing (rehashidx -1)".into(),
                    Reply::Int(i) => format!("rehash step: rehashidx is now {i}"),
                    Reply::Error(e) if e.contains("DEBUG command not allowed") => {
                        "DEBUG is disabled on this server: start it with \
                         --enable-debug-command local"
                            .into()
                    }
                    other => other.describe(),
                }
            }
            Action::SetActiveRehashing(on) => {
                let value: &[u8] = if on { b"yes" } else { b"no" };
                let reply = conn.command(&[b"CONFIG", b"SET", b"activerehashing", value])?;
                format!(
                    "activerehashing {}: {}",
                    if on { "yes" } else { "no" },
                    reply.describe()
                )
            }
            Action::Connect(_) => unreachable!("handled by the poll loop"),
        })
    }

    /// Deletes up to `n` keys this or an earlier viz added (`viz:*`),
    /// found with SCAN, so a student's own keys are never touched.
    fn delete_keys(&mut self, conn: &mut Connection, n: usize) -> std::io::Result<String> {
        let mut cursor = b"0".to_vec();
        let mut deleted = 0i64;
        loop {
            let reply = conn.command(&[b"SCAN", &cursor, b"MATCH", b"viz:*", b"COUNT", b"1000"])?;
            let Reply::Array(parts) = reply else {
                return Ok(reply.describe());
            };
            let (Some(Reply::Bulk(next)), Some(Reply::Array(keys))) = (parts.first(), parts.get(1))
            else {
                return Ok("unexpected SCAN reply".into());
            };
            let mut del = vec![b"DEL".to_vec()];
            for key in keys.iter().take(n - deleted as usize) {
                if let Reply::Bulk(k) = key {
                    del.push(k.clone());
                }
            }
            if del.len() > 1 {
                if let Reply::Int(d) = conn.pipeline(&[del])?.remove(0) {
                    deleted += d;
                }
            }
            cursor = next.clone();
            if cursor == b"0" || deleted as usize >= n {
                break;
            }
        }
        Ok(format!("deleted {deleted} keys (viz:*)"))
    }
}

enum Outcome {
    UiGone,
    Reconnect,
    Failed(String),
    NoAnatomy(String),
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use redis_anatomy::server::config::ProtectedAction;
    use redis_anatomy::server::{spawn, Config};

    thread_local! {
        static EVENTS_SEEN: std::cell::RefCell<Vec<Event>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Starts a poller on `addr`; returns its action sender and update
    /// receiver.
    fn poll(addr: String) -> (Sender<Action>, Receiver<Update>) {
        let (action_tx, action_rx) = mpsc::channel();
        let (update_tx, update_rx) = mpsc::channel();
        let poller = Poller::new(addr, action_rx, update_tx, Box::new(|| {}));
        std::thread::spawn(move || poller.run());
        (action_tx, update_rx)
    }

    /// The next update that `pick` accepts, within 10 s. Events passed
    /// over on the way are kept in `EVENTS_SEEN`.
    fn wait_for<T>(updates: &Receiver<Update>, mut pick: impl FnMut(Update) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let update = updates.recv_timeout(left).expect("update in time");
            if let Update::Events(events) = &update {
                EVENTS_SEEN.with(|seen| seen.borrow_mut().extend(events.iter().cloned()));
            }
            if let Some(found) = pick(update) {
                return found;
            }
        }
    }

    #[test]
    fn against_the_real_server_it_polls_and_runs_actions() {
        let server = spawn(Config {
            port: 0,
            bind: vec!["127.0.0.1".into()],
            enable_debug_command: ProtectedAction::Yes,
            ..Config::default()
        })
        .unwrap();
        let (actions, updates) = poll(server.addr.to_string());
        wait_for(&updates, |u| match u {
            Update::Status(ConnectionStatus::Connected { .. }) => Some(()),
            _ => None,
        });
        actions.send(Action::SetActiveRehashing(false)).unwrap();
        let said = wait_for(&updates, |u| match u {
            Update::ActionResult(r) => Some(r),
            _ => None,
        });
        assert_eq!(said, "activerehashing no: OK");

        // 5 keys: the fifth starts growing 4 buckets to 8, and nothing
        // else runs a step, so the snapshot shows the rehash.
        actions.send(Action::AddKeys(5)).unwrap();
        wait_for(&updates, |u| match u {
            Update::Snapshot(s) if s.rehash_index.is_some() => Some(()),
            _ => None,
        });
        actions.send(Action::RehashStep(100)).unwrap();
        let said = wait_for(&updates, |u| match u {
            Update::ActionResult(r) if r.starts_with("rehash step") => Some(r),
            _ => None,
        });
        assert_eq!(said, "rehash step: not rehashing (rehashidx -1)");
        let snap = wait_for(&updates, |u| match u {
            Update::Snapshot(s) if s.rehash_index.is_none() => Some(s),
            _ => None,
        });
        assert_eq!((snap.tables[0].size, snap.tables[0].used), (8, 5));
        use anatomy_viz_proto::EventKind::{RehashFinished, RehashStarted};
        let kinds: Vec<_> =
            EVENTS_SEEN.with(|seen| seen.borrow().iter().map(|e| e.kind.clone()).collect());
        assert!(
            kinds.contains(&RehashStarted {
                db: 0,
                from: 4,
                to: 8
            }) && kinds.contains(&RehashFinished { db: 0, size: 8 }),
            "{kinds:?}"
        );

        actions.send(Action::DeleteKeys(3)).unwrap();
        let said = wait_for(&updates, |u| match u {
            Update::ActionResult(r) => Some(r),
            _ => None,
        });
        assert_eq!(said, "deleted 3 keys (viz:*)");
        drop(server);
        wait_for(&updates, |u| match u {
            Update::Status(ConnectionStatus::Lost { .. }) => Some(()),
            _ => None,
        });
    }

    #[test]
    fn a_server_without_anatomy_is_reported_as_such() {
        // A stand-in for a real Redis: it knows no ANATOMY.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    if line.starts_with("ANATOMY") {
                        let _ = writer.write_all(
                            b"-ERR unknown command 'ANATOMY', with args beginning with: \r\n",
                        );
                    }
                    line.clear();
                }
            }
        });
        let (_actions, updates) = poll(addr);
        let reply = wait_for(&updates, |u| match u {
            Update::Status(ConnectionStatus::NoAnatomy { reply, .. }) => Some(reply),
            _ => None,
        });
        assert!(
            reply.starts_with("ERR unknown command 'ANATOMY'"),
            "{reply}"
        );
    }
}
