//! Command lines `cagebox npm|pnpm` refuses because the manager would run
//! code outside its `script-shell` hook, i.e. unsandboxed on the host.
//! Pure: the arguments (and, for pnpm's `pnpm NAME` shorthand, whether the
//! project has a script NAME) in, a refusal out. Checked with npm 11.19 and
//! pnpm 9.15.9 by a logging script-shell and marker files (docs/wrappers.md).

/// Why a command line is refused and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The word of the command line that was refused.
    pub word: String,
    pub why: String,
    pub instead: String,
}

/// A command-line setting of the script shell (`--script-shell=X`,
/// `--config.script-shell X`, ...): it outranks the environment variable
/// cagebox sets, so every script would run with X on the host. npm and
/// pnpm accept `_` for `-` and camelCase in config names; all are caught.
pub fn script_shell_override(args: &[String]) -> Option<Refusal> {
    let flag = args.iter().take_while(|a| *a != "--").find(|a| {
        let Some(name) = a.strip_prefix("--") else {
            return false;
        };
        let name = name.split('=').next().unwrap_or_default();
        let name = name.strip_prefix("config.").unwrap_or(name);
        let norm: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        norm == "scriptshell"
    })?;
    Some(Refusal {
        word: flag.clone(),
        why: "it replaces the script-shell cagebox sets, so every script would run unsandboxed on the host".into(),
        instead: "leave script-shell to cagebox; inside the sandbox scripts run with /bin/sh".into(),
    })
}

/// pnpm commands that run lifecycle scripts without pnpm's `script-shell`
/// setting: `rebuild` runs dependencies' scripts, `pack` and `publish` the
/// project's prepack/prepare/postpack, all with plain `sh`.
/// `approve-builds` (pnpm 10) rebuilds what it approves.
const UNSANDBOXABLE: &[&str] = &["rebuild", "rb", "pack", "publish", "approve-builds"];

/// pnpm commands that run a program directly, not through `script-shell`:
/// `exec` (also what `pnpm NAME` becomes when the project has no script
/// NAME).
const DIRECT: &[&str] = &["exec"];

/// pnpm commands that run scripts only through `script-shell`, or none.
/// `dlx`/`create` run the package's bin through it too, except in shell
/// mode (`-c`), which is checked separately.
const COMMANDS: &[&str] = &[
    "install",
    "i",
    "add",
    "update",
    "up",
    "upgrade",
    "remove",
    "rm",
    "uninstall",
    "un",
    "link",
    "ln",
    "unlink",
    "import",
    "install-test",
    "it",
    "dedupe",
    "fetch",
    "prune",
    "run",
    "run-script",
    "test",
    "t",
    "tst",
    "start",
    "stop",
    "restart",
    "dlx",
    "create",
    "list",
    "ls",
    "ll",
    "la",
    "why",
    "outdated",
    "audit",
    "licenses",
    "store",
    "root",
    "bin",
    "config",
    "c",
    "get",
    "set",
    "env",
    "init",
    "patch",
    "patch-commit",
    "patch-remove",
    "deploy",
    "doctor",
    "cat-file",
    "cat-index",
    "find-hash",
    "help",
    "version",
];

/// Words that prefix the command (`pnpm recursive install`).
const PREFIXES: &[&str] = &["recursive", "multi", "m"];

/// pnpm options that take the next word as their value (when not written
/// `--opt=value`). Any other option is taken as a flag, so a value of an
/// option missing here is read as the command: that can only refuse.
const VALUED: &[&str] = &[
    "-C",
    "--dir",
    "-F",
    "--filter",
    "--filter-prod",
    "--test-pattern",
    "--changed-files-ignore-pattern",
    "--reporter",
    "--loglevel",
    "--workspace-concurrency",
    "--store-dir",
    "--virtual-store-dir",
    "--modules-dir",
    "--lockfile-dir",
    "--global-dir",
    "--registry",
    "--network-concurrency",
    "--child-concurrency",
    "--resume-from",
];

/// The refusal for a pnpm command line, if any. The command is the first
/// word that is neither an option nor an option's value; `is_script(NAME)`
/// says whether the project's package.json has a script NAME (what
/// `pnpm NAME` runs, through script-shell; without one pnpm runs
/// `pnpm exec NAME`). `--ignore-scripts` keeps no command from running
/// scripts, but `exec` and `pnpm NAME` still run their program, so it
/// only lets the script-running commands through.
pub fn pnpm_refusal(args: &[String], is_script: &dyn Fn(&str) -> bool) -> Option<Refusal> {
    let ignore_scripts = args.iter().any(|a| a == "--ignore-scripts");
    let shell_mode = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-c" || a == "--shell-mode");
    let mut words = args.iter().take_while(|a| *a != "--");
    while let Some(w) = words.next() {
        if w.starts_with('-') {
            if VALUED.contains(&w.as_str()) {
                words.next();
            }
            continue;
        }
        let w = w.as_str();
        if PREFIXES.contains(&w) {
            continue;
        }
        if UNSANDBOXABLE.contains(&w) {
            if ignore_scripts {
                return None;
            }
            let instead = match w {
                "pack" | "publish" => format!(
                    "run the scripts first with `cagebox pnpm run SCRIPT`, then `pnpm {w} --ignore-scripts`"
                ),
                _ => "to re-run dependencies' scripts sandboxed: `cagebox pnpm install --force --config.side-effects-cache=false`".into(),
            };
            return Some(Refusal {
                word: w.into(),
                why: format!("pnpm runs the scripts of `{w}` without its script-shell setting"),
                instead,
            });
        }
        if DIRECT.contains(&w) || ((w == "dlx" || w == "create") && shell_mode) {
            return Some(Refusal {
                word: w.into(),
                why: format!(
                    "pnpm runs the program of `{w}`{} directly, without its script-shell setting",
                    if w == "exec" { "" } else { " -c" }
                ),
                instead: "to run it sandboxed with the project's policy: `cagebox exec -- ./node_modules/.bin/PROGRAM ARGS`".into(),
            });
        }
        if COMMANDS.contains(&w) || is_script(w) {
            return None;
        }
        return Some(Refusal {
            word: w.into(),
            why: format!(
                "the project has no script `{w}` (nor is it a pnpm command cagebox knows), so pnpm would run it as `pnpm exec {w}`, directly, without its script-shell setting"
            ),
            instead: format!(
                "`cagebox pnpm run {w}` for a script; `cagebox exec -- ./node_modules/.bin/{w}` for a program"
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn pnpm(line: &str) -> Option<String> {
        let scripts = |s: &str| s == "build" || s == "lint";
        pnpm_refusal(&words(line), &scripts).map(|r| r.word)
    }

    #[test]
    fn pnpm_commands_that_bypass_the_script_shell_are_found() {
        for (line, want) in [
            ("rebuild", Some("rebuild")),
            ("rb esbuild", Some("rb")),
            ("-r rebuild", Some("rebuild")),
            ("recursive rebuild", Some("rebuild")),
            ("--filter app pack", Some("pack")),
            ("-F app pack", Some("pack")),
            ("--filter=app pack", Some("pack")),
            ("-C sub publish --dry-run", Some("publish")),
            ("approve-builds", Some("approve-builds")),
            // An option cagebox does not know to take a value: its value is
            // read as the command, and refused.
            ("--unknown-option value rebuild", Some("value")),
            ("pack --ignore-scripts", None),
            ("install", None),
            ("install --force", None),
            ("--filter app install", None),
            ("add pack", None),
            ("run pack", None),
            ("build -- rebuild", None),
            ("build", None),
            ("--silent lint", None),
            ("", None),
            // Programs run directly.
            ("exec rebuild", Some("exec")),
            ("exec eslint .", Some("exec")),
            ("-r exec true", Some("exec")),
            ("-c exec 'touch x'", Some("exec")),
            ("exec --ignore-scripts eslint", Some("exec")),
            ("eslint .", Some("eslint")),
            ("touch /tmp/x", Some("touch")),
            ("touch --ignore-scripts", Some("touch")),
            ("dlx cowsay hi", None),
            ("create vite", None),
            ("-c dlx 'cowsay hi'", Some("dlx")),
            ("--package=cowsay dlx --shell-mode 'cowsay hi'", Some("dlx")),
        ] {
            assert_eq!(pnpm(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn a_script_shell_setting_on_the_command_line_is_found() {
        for (line, want) in [
            ("install --script-shell=/bin/sh", true),
            ("--script-shell /bin/sh ci", true),
            ("--config.script-shell=/bin/sh install", true),
            ("--script_shell=/bin/sh install", true),
            ("--scriptShell=/bin/sh install", true),
            ("--config.script_shell /bin/sh install", true),
            ("install", false),
            ("run build -- --script-shell=/bin/sh", false),
            ("install --shell=/bin/sh", false),
            ("install --script-shellx=1", false),
        ] {
            assert_eq!(
                script_shell_override(&words(line)).is_some(),
                want,
                "{line}"
            );
        }
    }
}
