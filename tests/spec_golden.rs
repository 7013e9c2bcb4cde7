#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Golden files for `spec::build::build`, a pure function of a policy and a
//! context: every preset, and two custom policies, built against a fake host
//! and a fixed invocation, must print exactly `bundles/golden/<name>.json`.
//!
//! `UPDATE_GOLDEN=1 cargo test --test spec_golden` rewrites the files; review
//! the diff (`git diff bundles/golden`) before committing it.
//!
//! The spec is printed through `serde_json::Value`, whose maps are sorted:
//! `Spec.annotations` is a `HashMap`, so printing the `Spec` directly would
//! order the annotations differently from run to run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cagebox::policy::{self, Resolved, Source};
use cagebox::spec::build::{self, Context, HostView, PathKind};

/// The host every golden spec is built for.
struct FakeHost {
    kinds: BTreeMap<PathBuf, PathKind>,
}

impl FakeHost {
    fn new() -> Self {
        use PathKind::{Dir, File};
        let kinds = [
            ("/", Dir),
            ("/bin", Dir),
            ("/dev", Dir),
            ("/dev/null", File),
            ("/etc", Dir),
            ("/etc/gshadow", File),
            ("/etc/passwd", File),
            ("/etc/shadow", File),
            ("/etc/ssh", Dir),
            ("/home", Dir),
            ("/home/u", Dir),
            ("/home/u/.cargo", Dir),
            ("/home/u/.cargo/bin", Dir),
            ("/home/u/.cargo/registry", Dir),
            // No ~/.cargo/git: read_only rules on missing paths are skipped.
            ("/home/u/.npmrc", File),
            ("/home/u/.rustup", Dir),
            ("/home/u/.ssh", Dir),
            ("/lib", Dir),
            ("/lib64", Dir),
            ("/proc", Dir),
            ("/run", Dir),
            ("/sys", Dir),
            ("/tmp", Dir),
            ("/usr", Dir),
            ("/usr/bin", Dir),
            ("/usr/lib", Dir),
            ("/usr/lib64", Dir),
            ("/var", Dir),
            ("/var/tmp", Dir),
            ("/work", Dir),
            ("/work/proj", Dir),
            ("/work/proj/.env", File),
            ("/work/proj/.git", Dir),
            ("/work/proj/node_modules", Dir),
            ("/work/proj/node_modules/esbuild", Dir),
            ("/work/proj/secrets", Dir),
        ]
        .into_iter()
        .map(|(p, k)| (PathBuf::from(p), k))
        .collect();
        FakeHost { kinds }
    }
}

impl HostView for FakeHost {
    fn kind(&self, path: &Path) -> Option<PathKind> {
        self.kinds.get(path).copied()
    }

    fn top_level(&self) -> Vec<(String, PathKind)> {
        use PathKind::{Dir, Symlink};
        [
            ("bin", Symlink),
            ("etc", Dir),
            ("home", Dir),
            ("usr", Dir),
            ("var", Dir),
            ("work", Dir),
            ("proc", Dir),
            ("sys", Dir),
            ("dev", Dir),
            ("tmp", Dir),
            ("run", Dir),
            ("lib", Symlink),
            ("lib64", Symlink),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_string(), k))
        .collect()
    }

    fn link(&self, path: &Path) -> Option<PathBuf> {
        match path.to_str()? {
            "/bin" => Some("usr/bin".into()),
            "/lib" => Some("usr/lib".into()),
            "/lib64" => Some("usr/lib64".into()),
            _ => None,
        }
    }
}

/// Variables that must never reach the container, whatever the preset passes.
const SECRETS: &[&str] = &[
    "NPM_TOKEN",
    "npm_config__authToken",
    "NODE_AUTH_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "GITHUB_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "SSH_AUTH_SOCK",
    "DB_PASSWORD",
    "MY_API_KEY",
];

fn caller_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/home/u"),
        ("USER", "u"),
        ("LOGNAME", "u"),
        ("SHELL", "/bin/bash"),
        ("TERM", "xterm-256color"),
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
        ("TZ", "UTC"),
        ("EDITOR", "vi"),
        ("CARGO_HOME", "/home/u/.cargo"),
        ("RUSTFLAGS", "-Cdebuginfo=0"),
        ("npm_lifecycle_event", "install"),
        ("INIT_CWD", "/work/proj"),
        ("NODE_ENV", "production"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(
        SECRETS
            .iter()
            .map(|k| (k.to_string(), format!("secret-value-of-{k}"))),
    );
    env
}

fn context(host: &FakeHost) -> Context<'_> {
    Context {
        project: "/work/proj".into(),
        package: "/work/proj/node_modules/esbuild".into(),
        home: "/home/u".into(),
        uid: 1000,
        gid: 1000,
        env: caller_env(),
        args: vec!["sh".into(), "-c".into(), "true".into()],
        terminal: false,
        rootfs: "rootfs".into(),
        nofile_hard: 20000,
        seccomp_profile: None,
        host,
    }
}

/// landlock + seccomp rules + every limit, over the default preset.
const CONFINED: &str = r#"
version = 1
extends = "default"

[landlock]
read = ["/usr", "/etc", "/proc", "/dev", "{project}", "{tmp}"]
write = ["{project}", "/dev/null", "{tmp}"]
exec = ["/usr/bin", "/usr/lib"]
create = ["{project}", "{tmp}"]
remove = [{ path = "{project}", why = "build outputs are replaced" }]

[seccomp]
preset = "strict"
action = "kill"

[[seccomp.rules]]
syscalls = ["chmod", "fchmod", "fchmodat"]
action = "errno"
errno = "EACCES"
why = "no mode changes"

[[seccomp.rules]]
syscalls = ["kill"]
action = "errno"
args = [{ index = 1, op = "eq", value = 9 }]
why = "no SIGKILL"

[[seccomp.rules]]
syscalls = ["memfd_create"]
action = "kill"

[limits]
memory = "1G"
memory_swap = "1536M"
cpus = 1.5
cpu_shares = 512
pids = 100
io_weight = 100
io = [{ device = "8:0", read_bps = "10M", write_bps = "5M" }]
open_files = 1024
file_size = "100M"
cpu_time = "30s"
core_dumps = false
timeout = "5m"
output = "10M"

[degrade]
landlock = "fail"
"#;

/// loopback network and hidden files, over the default preset.
const LOOPBACK_HIDDEN: &str = r#"
version = 1

[widen]
"network.mode" = "the tests talk to a server on 127.0.0.1"

[network]
mode = "loopback"

[filesystem]
hidden = [
  { path = "{home}/.npmrc", why = "registry token" },
  "{project}/.env",
  "{project}/secrets",
  "/etc/passwd",
  "/does/not/exist",
]
read_only = ["{project}/.git"]
no_exec = ["{project}/node_modules", "/var/tmp"]

[process.env]
set = { NODE_ENV = "test", CACHE_DIR = "{project}/.cache", PKG = "{package}/out" }
scrub = ["LC_*"]
"#;

fn custom(name: &str, text: &str) -> Resolved {
    let layer = policy::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    policy::resolve(
        None,
        vec![Source {
            name: name.into(),
            layer,
        }],
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every golden case: file name and resolved policy.
fn cases() -> Vec<(String, Resolved)> {
    let mut out: Vec<(String, Resolved)> = policy::PRESETS
        .iter()
        .map(|(name, _, _)| {
            let r = policy::resolve(Some(name), vec![])
                .unwrap_or_else(|e| panic!("preset {name}: {e}"));
            (name.to_string(), r)
        })
        .collect();
    out.push(("custom-confined".into(), custom("confined.toml", CONFINED)));
    out.push((
        "custom-loopback-hidden".into(),
        custom("loopback-hidden.toml", LOOPBACK_HIDDEN),
    ));
    out
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/golden")
}

/// The spec as the golden files hold it (sorted keys, trailing newline).
fn render(r: &Resolved, host: &FakeHost) -> (String, serde_json::Value) {
    let built = build::build(&r.policy, &context(host)).unwrap_or_else(|e| panic!("build: {e}"));
    let value = serde_json::to_value(&built.spec).unwrap();
    (serde_json::to_string_pretty(&value).unwrap() + "\n", value)
}

/// Where `want` and `got` first differ, with a little context.
fn diff_hint(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let from = i.saturating_sub(3);
    let mut out = format!(
        "first difference at line {} (golden has {} lines, build {}):\n",
        i + 1,
        w.len(),
        g.len()
    );
    for (n, line) in g.iter().enumerate().take(i).skip(from) {
        out.push_str(&format!("  {:>5}   {line}\n", n + 1));
    }
    out.push_str(&format!(
        "  {:>5} - {}\n",
        i + 1,
        w.get(i).unwrap_or(&"<end of file>")
    ));
    out.push_str(&format!(
        "  {:>5} + {}\n",
        i + 1,
        g.get(i).unwrap_or(&"<end of file>")
    ));
    out
}

/// Properties every golden spec must have, checked here too so a wrong
/// `UPDATE_GOLDEN=1` run cannot bless them away.
fn check_invariants(name: &str, spec: &serde_json::Value) {
    assert_eq!(spec["root"]["readonly"], true, "{name}: root not read-only");
    let env: Vec<&str> = spec["process"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for secret in SECRETS {
        assert!(
            !env.iter().any(|e| e.starts_with(&format!("{secret}="))),
            "{name}: {secret} reached the container env: {env:?}"
        );
    }
    assert!(
        !env.iter().any(|e| e.contains("secret-value-of")),
        "{name}: a secret value reached the container env: {env:?}"
    );
    assert_eq!(spec["process"]["noNewPrivileges"], true, "{name}");
    assert!(spec["linux"]["seccomp"].is_object(), "{name}: no seccomp");
    let masked = spec["linux"]["maskedPaths"].as_array().unwrap();
    assert!(
        masked.iter().any(|p| p == "/etc/shadow"),
        "{name}: /etc/shadow not masked"
    );
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    for want in ["mount", "pid", "network", "ipc", "uts", "cgroup"] {
        assert!(ns.contains(&want), "{name}: no {want} namespace: {ns:?}");
    }
    let mounts = spec["mounts"].as_array().unwrap();
    let home = mounts
        .iter()
        .find(|m| m["destination"] == "/home/u")
        .unwrap_or_else(|| panic!("{name}: no mount on /home/u"));
    assert_eq!(home["type"], "tmpfs", "{name}: home is not hidden");
}

#[test]
fn specs_match_golden_files() {
    if !cfg!(target_arch = "x86_64") {
        // The seccomp profiles list the build's architectures.
        eprintln!("skip: the golden files are for x86_64 builds");
        return;
    }
    let host = FakeHost::new();
    let dir = golden_dir();
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = vec![];
    for (name, resolved) in cases() {
        assert!(resolved.notes.is_empty(), "{name}: {:?}", resolved.notes);
        let (text, value) = render(&resolved, &host);
        check_invariants(&name, &value);
        // Building twice must give the same text (no HashMap order leaks).
        assert_eq!(text, render(&resolved, &host).0, "{name}: not stable");
        let path = dir.join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            eprintln!("wrote {}", path.display());
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == text => {}
            Ok(want) => failures.push(format!(
                "{}: differs from the built spec; {}",
                path.display(),
                diff_hint(&want, &text)
            )),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(if the change is intended: UPDATE_GOLDEN=1 cargo test --test spec_golden, \
         then review git diff bundles/golden)",
        failures.join("\n")
    );
}

#[test]
fn no_stale_golden_files() {
    let Ok(rd) = std::fs::read_dir(golden_dir()) else {
        return;
    };
    let known: Vec<String> = cases().into_iter().map(|(n, _)| n + ".json").collect();
    for e in rd {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            known.contains(&name),
            "bundles/golden/{name} belongs to no case in tests/spec_golden.rs"
        );
    }
}
