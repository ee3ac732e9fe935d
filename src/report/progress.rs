//! The progress bar on stderr (files and bytes done, the file being scanned). It is shown only
//! to a person watching: stderr is a terminal, `CI` is not set, neither `-q` nor
//! `--no-progress` was given; and only when the scan is worth it: more than `FEW_FILES` files,
//! or still running after `DELAY`. It is cleared before the report is printed, so stdout and
//! redirected output never contain it. The engine drives it through `engine::Progress` events.

use super::sanitize::for_terminal;
use crate::engine::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Scans of up to this many files show the bar only once they take longer than `DELAY`.
pub const FEW_FILES: usize = 3;
pub const DELAY: Duration = Duration::from_secs(1);

/// Whether a bar may be shown at all (`quiet` covers `-q` and `--no-progress`).
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

pub struct ProgressDisplay {
    bar: Option<ProgressBar>,
    files_total: AtomicUsize,
    files_done: AtomicUsize,
    timer: std::sync::Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

fn show(bar: &ProgressBar) {
    if bar.is_hidden() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.tick();
    }
}

impl ProgressDisplay {
    /// A display that draws only if `enabled` (see `wanted`).
    pub fn new(enabled: bool) -> ProgressDisplay {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {prefix} {bar:30} {binary_bytes}/{binary_total_bytes} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        ProgressDisplay {
            bar,
            files_total: AtomicUsize::new(0),
            files_done: AtomicUsize::new(0),
            timer: std::sync::Mutex::new(None),
        }
    }

    fn prefix(&self) -> String {
        format!(
            "{}/{} files",
            self.files_done.load(Ordering::Relaxed),
            self.files_total.load(Ordering::Relaxed)
        )
    }

    /// Handle one engine event (called from the scanning threads).
    pub fn on(&self, event: Progress<'_>) {
        let Some(bar) = &self.bar else { return };
        match event {
            Progress::Start { files, bytes } => {
                self.files_total.store(files, Ordering::Relaxed);
                bar.set_length(bytes);
                bar.set_prefix(self.prefix());
                if files > FEW_FILES {
                    show(bar);
                } else {
                    let (tx, rx) = mpsc::channel::<()>();
                    let b = bar.clone();
                    let handle = std::thread::spawn(move || {
                        if rx.recv_timeout(DELAY) == Err(mpsc::RecvTimeoutError::Timeout) {
                            show(&b);
                        }
                    });
                    if let Ok(mut t) = self.timer.lock() {
                        *t = Some((tx, handle));
                    }
                }
            }
            Progress::FileStarted(source) => {
                bar.set_message(for_terminal(&source.display_relative()));
            }
            Progress::FileDone(_, bytes) => {
                self.files_done.fetch_add(1, Ordering::Relaxed);
                bar.set_prefix(self.prefix());
                bar.inc(bytes);
            }
        }
    }

    /// Remove the bar (before the report is printed).
    pub fn finish(&self) {
        if let Ok(mut t) = self.timer.lock() {
            if let Some((tx, handle)) = t.take() {
                let _ = tx.send(());
                let _ = handle.join();
            }
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Source;

    #[test]
    fn a_disabled_display_ignores_events() {
        let d = ProgressDisplay::new(false);
        d.on(Progress::Start {
            files: 10,
            bytes: 100,
        });
        let s = Source::file("a.pkl".into(), "/x/a.pkl".into());
        d.on(Progress::FileStarted(&s));
        d.on(Progress::FileDone(&s, 10));
        d.finish();
        assert_eq!(d.files_done.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn files_and_bytes_are_counted() {
        let d = ProgressDisplay::new(true);
        d.on(Progress::Start {
            files: 2,
            bytes: 30,
        });
        let s = Source::file("a.pkl".into(), "/x/a.pkl".into());
        d.on(Progress::FileDone(&s, 10));
        d.on(Progress::FileDone(&s, 20));
        assert_eq!(d.prefix(), "2/2 files");
        assert_eq!(d.bar.as_ref().unwrap().position(), 30);
        d.finish();
    }
}
