//! Work that must not freeze the window: loading and saving files (decryption, large files)
//! and everything that talks to the database.
//!
//! A job is a closure run on its own thread; its result comes back through a channel and the
//! window is asked to repaint. One job runs at a time (the UI shows what it is and offers
//! Cancel). Tests run jobs inline, so each step is deterministic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

/// A running job, as the UI shows it.
#[derive(Debug, Clone)]
pub struct Running {
    /// What it does ("Saving K2HostServer.exe.config").
    pub label: String,
    /// When it started.
    pub started: Instant,
    cancel: Arc<AtomicBool>,
}

/// Where jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On a thread (the app).
    Threaded,
    /// Right away, on the caller's thread (tests).
    Inline,
}

/// The job queue of one window.
pub struct Jobs<T> {
    mode: Mode,
    tx: Sender<T>,
    rx: Receiver<T>,
    running: Option<Running>,
    repaint: Option<egui::Context>,
}

impl<T> std::fmt::Debug for Jobs<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("mode", &self.mode)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

/// Handed to a job: whether the user asked to cancel.
#[derive(Debug, Clone)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Whether Cancel was pressed.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<T: Send + 'static> Jobs<T> {
    /// An idle queue.
    pub fn new(mode: Mode) -> Self {
        let (tx, rx) = channel();
        Self {
            mode,
            tx,
            rx,
            running: None,
            repaint: None,
        }
    }

    /// Repaint this context when a job finishes.
    pub fn set_context(&mut self, ctx: &egui::Context) {
        if self.repaint.is_none() {
            self.repaint = Some(ctx.clone());
        }
    }

    /// The running job, if any.
    pub fn running(&self) -> Option<&Running> {
        self.running.as_ref()
    }

    /// Starts `job` unless one is running; returns whether it started.
    pub fn start(
        &mut self,
        label: impl Into<String>,
        job: impl FnOnce(&CancelFlag) -> T + Send + 'static,
    ) -> bool {
        if self.running.is_some() {
            return false;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.running = Some(Running {
            label: label.into(),
            started: Instant::now(),
            cancel: Arc::clone(&cancel),
        });
        let flag = CancelFlag(cancel);
        let tx = self.tx.clone();
        match self.mode {
            Mode::Inline => {
                let _ = tx.send(job(&flag));
            }
            Mode::Threaded => {
                let repaint = self.repaint.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(job(&flag));
                    if let Some(ctx) = repaint {
                        ctx.request_repaint();
                    }
                });
            }
        }
        true
    }

    /// Asks the running job to stop.
    pub fn cancel(&self) {
        if let Some(r) = &self.running {
            r.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// A finished job's result, if one is ready.
    pub fn poll(&mut self) -> Option<T> {
        let result = self.rx.try_recv().ok()?;
        self.running = None;
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_at_a_time_and_results_come_back() {
        let mut jobs = Jobs::new(Mode::Threaded);
        assert!(jobs.start("slow", |cancel| {
            while !cancel.is_cancelled() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            "cancelled"
        }));
        assert!(!jobs.start("second", |_| "no"), "a second job waits");
        assert_eq!(jobs.running().map(|r| r.label.as_str()), Some("slow"));
        jobs.cancel();
        let result = loop {
            if let Some(r) = jobs.poll() {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(result, "cancelled");
        assert!(jobs.running().is_none());
    }
}
