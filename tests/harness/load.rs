//! A bounded load generator: one thread sends a GET through nginx every `interval` with a
//! site's Host header and records every answer, until it is stopped or its time bound passes
//! (it always stops by itself). What the zero-downtime tests and `bench/zero-downtime.sh` count.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::web::Nginx;

/// One request's outcome.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// When it was sent, from the start of the load.
    pub(crate) at: Duration,
    pub(crate) latency: Duration,
    /// The status and body, or `None` when nothing answered.
    pub(crate) answer: Option<(u16, String)>,
}

/// A running load; `finish` stops it and returns every sample.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts sending `GET path` with `Host: host` to nginx on `port` every `interval`, for at
    /// most `bound`.
    pub(crate) fn start(
        port: u16,
        host: &str,
        path: &str,
        interval: Duration,
        bound: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, host, path) = (Arc::clone(&stop), host.to_owned(), path.to_owned());
        let thread = std::thread::spawn(move || {
            let begin = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) && begin.elapsed() < bound {
                let sent = Instant::now();
                let answer = Nginx::get(port, &host, &path);
                samples.push(Sample {
                    at: sent - begin,
                    latency: sent.elapsed(),
                    answer,
                });
                if let Some(rest) = interval.checked_sub(sent.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            samples
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the load and returns its samples.
    pub(crate) fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().expect("load thread"))
            .unwrap_or_default()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The figures of one load: how many requests, how many failed (`good` says which answers
/// count), the longest time between two good answers, and the 99th percentile latency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) requests: usize,
    pub(crate) failed: usize,
    pub(crate) longest_gap: Duration,
    pub(crate) p99: Duration,
}

impl Figures {
    pub(crate) fn of(samples: &[Sample], good: impl Fn(&(u16, String)) -> bool) -> Self {
        let ok: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.answer.as_ref().is_some_and(&good))
            .collect();
        let longest_gap = ok
            .windows(2)
            .map(|w| (w[1].at + w[1].latency).saturating_sub(w[0].at + w[0].latency))
            .max()
            .unwrap_or_default();
        let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
        latencies.sort();
        let p99 = latencies
            .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default();
        Self {
            requests: samples.len(),
            failed: samples.len() - ok.len(),
            longest_gap,
            p99,
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} failed, longest gap {} ms, p99 {} ms",
            self.requests,
            self.failed,
            self.longest_gap.as_millis(),
            self.p99.as_millis()
        )
    }
}
