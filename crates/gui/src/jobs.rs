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

/// A job was not started because another one runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a refused job did not run: tell the user"]
pub struct Busy {
    /// What runs.
    pub running: String,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wait until \"{}\" has finished", self.running)
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

    /// Starts `job` unless one is running.
    pub fn start(
        &mut self,
        label: impl Into<String>,
        job: impl FnOnce(&CancelFlag) -> T + Send + 'static,
    ) -> Result<(), Busy> {
        self.start_with(label, (), move |(), cancel| job(cancel))
            .map_err(|(busy, ())| busy)
    }

    /// Starts `job` with `state` moved into it unless one is running; a refused job gives
    /// `state` back, so that nothing (a workspace with unsaved edits) is lost on the way.
    pub fn start_with<S: Send + 'static>(
        &mut self,
        label: impl Into<String>,
        state: S,
        job: impl FnOnce(S, &CancelFlag) -> T + Send + 'static,
    ) -> Result<(), (Busy, S)> {
        if let Some(running) = &self.running {
            return Err((
                Busy {
                    running: running.label.clone(),
                },
                state,
            ));
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
                let _ = tx.send(job(state, &flag));
            }
            Mode::Threaded => {
                let repaint = self.repaint.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(job(state, &flag));
                    if let Some(ctx) = repaint {
                        ctx.request_repaint();
                    }
                });
            }
        }
        Ok(())
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
        assert!(
            jobs.start("slow", |cancel| {
                while !cancel.is_cancelled() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                "cancelled"
            })
            .is_ok()
        );
        assert_eq!(
            jobs.start("second", |_| "no"),
            Err(Busy {
                running: "slow".into()
            }),
            "a second job waits"
        );
        let kept = jobs.start_with("third", String::from("edits"), |s, _| {
            drop(s);
            "no"
        });
        assert_eq!(
            kept.map_err(|(_, s)| s),
            Err("edits".to_owned()),
            "a refused job gives its state back"
        );
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
