//! One record per script run (the audit log's lines), the wrapper's report,
//! and the lines a person reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{WrapError, io};

/// What one denial looked like and how to allow it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Denial {
    /// The stderr line that showed it.
    pub evidence: String,
    pub path: Option<String>,
    /// read, write, exec, connect, fork, ptrace, ...
    pub access: String,
    /// The policy rule that decided, as the policy spells it.
    pub rule: String,
    /// How to allow it (a cagebox.toml snippet).
    pub allow: String,
}

/// One script run (one line of the JSONL audit log).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub time: String,
    pub session: String,
    pub manager: String,
    pub package: String,
    pub version: Option<String>,
    pub integrity: Option<String>,
    /// Where the identity came from: lockfile, install path, package.json.
    pub identity: String,
    /// A package.json that claims another name than its install path.
    pub claimed_name: Option<String>,
    pub phase: String,
    pub script: String,
    pub dir: String,
    pub root_project: bool,
    /// npm's allowScripts verdict for this package: approved, denied,
    /// unreviewed, or null when the project has no allowScripts.
    pub approval: Option<String>,
    /// ok, failed, killed, denied
    pub verdict: String,
    pub exit_code: i32,
    pub reason: String,
    pub wall_ms: u64,
    pub policy_layers: Vec<String>,
    pub policy_digest: String,
    pub widened: BTreeMap<String, String>,
    pub denials: Vec<Denial>,
    pub peak_memory_bytes: Option<u64>,
    pub oom_kills: u64,
    pub cpu_user_ms: Option<u64>,
    pub cpu_system_ms: Option<u64>,
    pub peak_pids: Option<u64>,
    pub pids_limit_hits: u64,
}

impl Record {
    /// `NAME@VERSION`
    pub fn who(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.package),
            None => self.package.clone(),
        }
    }

    /// `cagebox: NAME@VERSION PHASE: VERDICT (1.2s)` and, for denials,
    /// indented lines with what was attempted, the rule and how to allow it.
    pub fn lines(&self) -> Vec<String> {
        let verdict = match self.verdict.as_str() {
            "failed" => format!("failed (exit {})", self.exit_code),
            "killed" => format!("killed ({})", self.reason),
            "denied" => format!("denied ({})", self.denied_what()),
            // A script that succeeded although the sandbox refused it
            // something, or a limit stopped one of its processes (a build
            // that shrugged off a killed compiler may be incomplete).
            "ok" => {
                let mut v = "ok".to_string();
                if !self.denials.is_empty() {
                    v.push_str(&format!(", {} denied attempt(s)", self.denials.len()));
                }
                if self.oom_kills > 0 {
                    v.push_str(&format!(
                        ", {} process(es) killed by limits.memory",
                        self.oom_kills
                    ));
                }
                if self.pids_limit_hits > 0 {
                    v.push_str(&format!(
                        ", {} fork(s) refused by limits.pids",
                        self.pids_limit_hits
                    ));
                }
                v
            }
            v => v.to_string(),
        };
        let mut out = vec![format!(
            "cagebox: {} {}: {verdict} ({:.1}s)",
            self.who(),
            self.phase,
            self.wall_ms as f64 / 1000.0
        )];
        if self.verdict == "killed" {
            let key = match self.reason.as_str() {
                "timeout" => Some("limits.timeout"),
                "oom" => Some("limits.memory"),
                "output" => Some("limits.output"),
                "cpu_time" => Some("limits.cpu_time"),
                "file_size" => Some("limits.file_size"),
                _ => None,
            };
            if let Some(key) = key {
                out.push(format!("    stopped by {key}"));
                out.push(format!(
                    "      to allow: in cagebox.toml, [packages.{:?}] {key} = <more> plus [packages.{:?}.widen] {key:?} = \"<why>\"",
                    self.package, self.package
                ));
            }
        }
        for d in &self.denials {
            let what = match &d.path {
                Some(p) => format!("{} {p}", d.access),
                None => d.access.clone(),
            };
            out.push(format!("    {what}: denied by {}", d.rule));
            out.push(format!("      saw: {}", d.evidence));
            out.push(format!("      to allow: {}", d.allow));
        }
        out
    }

    fn denied_what(&self) -> String {
        let mut what: Vec<&str> = self.denials.iter().map(|d| d.access.as_str()).collect();
        what.dedup();
        if what.is_empty() {
            self.reason.clone()
        } else {
            what.join(", ")
        }
    }

    /// Appends this record as one line with one write(2) on an O_APPEND
    /// file, so concurrent scripts never interleave their lines.
    pub fn append_to(&self, path: &Path) -> Result<(), WrapError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(format!("{}", dir.display()), e))?;
        }
        self.append_existing_dir(path)
    }

    /// `append_to` into a directory that must already exist (the session
    /// directory: a script that outlives its wrapper must not recreate it).
    pub fn append_existing_dir(&self, path: &Path) -> Result<(), WrapError> {
        let mut line =
            serde_json::to_vec(self).map_err(|e| WrapError::Invalid(format!("record: {e}")))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io(format!("audit log {}", path.display()), e))?;
        f.write_all(&line)
            .map_err(|e| io(format!("audit log {}", path.display()), e))
    }
}

/// The records of a JSONL file; lines that do not parse are skipped (a
/// script killed mid-write cannot happen with one write, but be lenient).
pub fn read_records(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scripts: usize,
    pub ok: usize,
    pub denied: usize,
    pub killed: usize,
    pub failed: usize,
    pub slowest: Option<Record>,
}

impl Summary {
    pub fn of(records: &[Record]) -> Self {
        let count = |v: &str| records.iter().filter(|r| r.verdict == v).count();
        Summary {
            scripts: records.len(),
            ok: count("ok"),
            denied: count("denied"),
            killed: count("killed"),
            failed: count("failed"),
            slowest: records.iter().max_by_key(|r| r.wall_ms).cloned(),
        }
    }

    /// `cagebox: N scripts: A ok, D denied, K killed, F failed; slowest NAME@VERSION PHASE 1.2s`
    pub fn line(&self) -> String {
        let mut s = format!(
            "cagebox: {} script{}: {} ok, {} denied, {} killed, {} failed",
            self.scripts,
            if self.scripts == 1 { "" } else { "s" },
            self.ok,
            self.denied,
            self.killed,
            self.failed
        );
        if let Some(r) = &self.slowest {
            s.push_str(&format!(
                "; slowest {} {} {:.1}s",
                r.who(),
                r.phase,
                r.wall_ms as f64 / 1000.0
            ));
        }
        s
    }
}

/// `--report FILE` of a wrapped package-manager run.
#[derive(Debug, Serialize)]
pub struct WrapReport<'a> {
    pub manager: &'a str,
    pub args: &'a [String],
    pub exit_code: i32,
    pub summary: Summary,
    pub scripts: &'a [Record],
}

impl WrapReport<'_> {
    pub fn write(&self, path: &Path) -> Result<(), WrapError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| WrapError::Invalid(format!("report: {e}")))?;
        std::fs::write(path, text + "\n").map_err(|e| io(format!("report {}", path.display()), e))
    }
}

/// Now as RFC 3339 UTC (no time crate needed for one format).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ok_line_says_what_the_sandbox_stopped() {
        let mut r = Record {
            package: "p".into(),
            version: Some("1.0.0".into()),
            phase: "postinstall".into(),
            verdict: "ok".into(),
            wall_ms: 1200,
            ..Default::default()
        };
        assert_eq!(r.lines(), vec!["cagebox: p@1.0.0 postinstall: ok (1.2s)"]);
        r.oom_kills = 1;
        r.pids_limit_hits = 3;
        assert_eq!(
            r.lines()[0],
            "cagebox: p@1.0.0 postinstall: ok, 1 process(es) killed by limits.memory, 3 fork(s) refused by limits.pids (1.2s)"
        );
    }

    #[test]
    fn one_script_or_more() {
        let r = Record {
            verdict: "ok".into(),
            ..Default::default()
        };
        assert!(
            Summary::of(std::slice::from_ref(&r))
                .line()
                .starts_with("cagebox: 1 script: 1 ok,")
        );
        assert!(
            Summary::of(&[r.clone(), r])
                .line()
                .starts_with("cagebox: 2 scripts: 2 ok,")
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
