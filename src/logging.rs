//! Log output in runc's formats.
//!
//! containerd's shim and conmon pass `--log FILE --log-format json` and show
//! their user the `msg` of the last `"level":"error"` line in FILE, so the
//! final error of a failed command is always written there last, in the same
//! shape logrus gives runc: `{"level":"error","msg":"...","time":"..."}`.
//! Without `--log`, libcontainer's own tracing stays silent unless `--debug`:
//! a person running cagebox sees one clear error line, as with runc.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open log file {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
}

/// Where the final error of a command goes besides stderr.
#[derive(Clone)]
pub struct Logger {
    file: Option<Arc<Mutex<File>>>,
    format: LogFormat,
}

impl Logger {
    /// Opens the log file (if any) and installs a tracing subscriber when
    /// there is somewhere useful to send libcontainer's messages.
    pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> Result<Self, LogError> {
        let file = match log {
            Some(path) => Some(Arc::new(Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LogError::Open {
                        path: path.display().to_string(),
                        source,
                    })?,
            ))),
            None => None,
        };
        let logger = Logger { file, format };
        let level = if debug { Level::DEBUG } else { Level::WARN };
        if debug || logger.file.is_some() {
            let sink = logger.clone();
            let _ = tracing_subscriber::fmt()
                .with_max_level(level)
                .event_format(RuncFormat { format })
                .with_writer(move || sink.writer())
                .try_init();
        }
        Ok(logger)
    }

    fn writer(&self) -> Box<dyn Write> {
        match &self.file {
            Some(file) => Box::new(LockedFile(file.clone())),
            None => Box::new(std::io::stderr()),
        }
    }

    /// Reports the error that ends the command: plain text on stderr (go-runc
    /// and people read that) and one line in the log file.
    pub fn fatal(&self, msg: &str) {
        eprintln!("cagebox: {msg}");
        if self.file.is_some() {
            let line = format_line(self.format, "error", msg);
            let _ = self.writer().write_all(line.as_bytes());
        }
    }
}

struct LockedFile(Arc<Mutex<File>>);

impl Write for LockedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut f) => f.write(buf),
            Err(_) => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn format_line(format: LogFormat, level: &str, msg: &str) -> String {
    let time = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    match format {
        LogFormat::Json => {
            let v = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{v}\n")
        }
        LogFormat::Text => {
            let quoted = serde_json::Value::String(msg.to_string());
            format!("time=\"{time}\" level={level} msg={quoted}\n")
        }
    }
}

struct RuncFormat {
    format: LogFormat,
}

/// Collects an event's fields into one message string.
struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        } else {
            self.0.push_str(&format!("{}={value:?}", field.name()));
        }
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        writer.write_str(&format_line(self.format, level, &visitor.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_runc_fields() {
        let line = format_line(LogFormat::Json, "error", "container \"x\" does not exist");
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn text_line_quotes_message() {
        let line = format_line(LogFormat::Text, "error", "a \"b\"");
        assert!(line.contains("level=error msg=\"a \\\"b\\\"\""), "{line}");
    }
}
