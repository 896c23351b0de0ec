//! # Serving while blocked: what the server does while one job holds it
//!
//! (This file is the agreed interface between the scripting chapter and
//! the busy-mode chapter; its body is being written. The scripting engine
//! calls [`serve_while_blocked`] from its instruction hook once a script
//! has run past `busy-reply-threshold`; the loader calls it every
//! `loading-process-events-interval-bytes`.)

use super::Server;

/// Why the server cannot run ordinary commands right now. It picks the
/// error other clients are sent (`-BUSY ...` for a script or function,
/// `-LOADING ...` for a load) and which commands still run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusyReason {
    /// An EVAL/EVALSHA script has run past `busy-reply-threshold`.
    Eval,
    /// A function (FCALL) has run past `busy-reply-threshold`.
    Function,
    /// The dataset is being loaded (RDB or AOF).
    Loading,
}

/// Serve the other clients once, without blocking: accept what is
/// waiting, read what has arrived, answer it under `reason`'s rules,
/// write what can be written. `blocked_client` is the client whose
/// command holds the server (its entry is skipped); 0 when none.
pub fn serve_while_blocked(server: &mut Server, blocked_client: u64, reason: BusyReason) {
    let _ = (server, blocked_client, reason);
}
