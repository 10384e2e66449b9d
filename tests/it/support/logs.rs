//! Everything the process logs, captured once installed: every test's lines
//! land here, so a leak from any test running alongside counts too. Each
//! line is kept with the name of the thread that wrote it: libtest runs a
//! test on a thread named after it, and a `#[tokio::test]` runs everything
//! it spawns (the app, its workers, the simulator) on that same thread.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use gtf_bff::telemetry;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<Line>>>);

struct Line {
    thread: Option<String>,
    text: String,
}

impl Captured {
    pub fn text(&self) -> String {
        let lines = self.0.lock().unwrap();
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    /// How many lines have been written so far: where a later look starts.
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The lines this thread wrote since `mark`, parsed.
    pub fn this_threads_lines_since(&self, mark: usize) -> Vec<Value> {
        let thread = std::thread::current().name().map(str::to_owned);
        let lines = self.0.lock().unwrap();
        lines[mark..]
            .iter()
            .filter(|l| l.thread.is_some() && l.thread == thread)
            .map(|l| serde_json::from_str(&l.text).expect("a JSON log line"))
            .collect()
    }
}

/// Collects one event's output and files it as lines when dropped (the
/// formatter asks for a writer per event).
struct LineWriter {
    sink: Captured,
    thread: Option<String>,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let mut lines = self.sink.0.lock().unwrap();
        for line in text.split_inclusive('\n') {
            lines.push(Line {
                thread: self.thread.clone(),
                text: line.to_owned(),
            });
        }
    }
}

/// Installs a JSON subscriber at `debug` for every target (dependencies
/// included), as an operator turning up the log level would, and returns
/// the capture. The lines are formatted as `telemetry::init` formats them
/// in production: what the tests read is what operators see.
pub fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let sink = captured.clone();
            let writer = move || LineWriter {
                sink: sink.clone(),
                thread: std::thread::current().name().map(str::to_owned),
                buf: Vec::new(),
            };
            telemetry::json(EnvFilter::new("debug"), writer)
                .try_init()
                .expect("no other global subscriber in the test binary");
            captured
        })
        .clone()
}
