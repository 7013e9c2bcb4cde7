//! Which package a lifecycle script belongs to, decided from what the user
//! controls (the lockfile and the install path) before what the package
//! says about itself: a package.json can claim any name, and the name
//! chooses the per-package policy, so a self-declared name must never buy a
//! wider policy.

use std::path::{Component, Path};

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub version: Option<String>,
    pub integrity: Option<String>,
    /// lockfile, install path, package.json
    pub source: &'static str,
    /// The package.json's own name when it differs from `name`.
    pub claimed_name: Option<String>,
    pub root_project: bool,
}

/// The package name a directory is installed under: the path after the
/// last `node_modules` (`@scope/name` or `name`).
pub fn install_name(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let i = parts.iter().rposition(|p| p == "node_modules")?;
    match parts.get(i + 1..)? {
        [scope, name] if scope.starts_with('@') => Some(format!("{scope}/{name}")),
        [name] => Some(name.clone()),
        _ => None,
    }
}

/// pnpm's store path `node_modules/.pnpm/NAME@VERSION/node_modules/NAME`
/// carries the version the lockfile chose.
fn pnpm_version(rel: &Path, name: &str) -> Option<String> {
    let s = rel.to_string_lossy();
    let store = s.split("node_modules/.pnpm/").nth(1)?;
    let entry = store.split("/node_modules/").next()?;
    let flat = name.replace('/', "+");
    let v = entry.strip_prefix(&format!("{flat}@"))?;
    // Peer-dependency suffixes: NAME@1.2.3_peer@4.
    let v = v.split('_').next().unwrap_or(v);
    // Non-registry sources (`NAME@file+..+x.tgz`) carry no version there.
    (v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains("file+")).then(|| v.to_string())
}

/// Decides the identity of the script running in `dir` for `project`.
/// `lock` is package-lock.json's parsed text, `env_name`/`env_version` what
/// the package manager exported from the package's package.json.
pub fn identify(
    project: &Path,
    dir: &Path,
    lock: Option<&Value>,
    env_name: Option<&str>,
    env_version: Option<&str>,
) -> Identity {
    let claimed = env_name.map(str::to_string);
    if dir == project {
        return Identity {
            name: claimed.unwrap_or_else(|| "(project)".into()),
            version: env_version.map(str::to_string),
            integrity: None,
            source: "package.json",
            claimed_name: None,
            root_project: true,
        };
    }
    let rel = dir.strip_prefix(project).unwrap_or(dir);
    let Some(name) = install_name(rel) else {
        return Identity {
            name: claimed.unwrap_or_else(|| dir.display().to_string()),
            version: env_version.map(str::to_string),
            integrity: None,
            source: "package.json",
            claimed_name: None,
            root_project: false,
        };
    };
    let claimed_name = claimed.filter(|c| *c != name);
    let entry = lock
        .and_then(|l| l.get("packages"))
        .and_then(|p| p.get(rel.to_string_lossy().as_ref()));
    if let Some(e) = entry {
        let field = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        return Identity {
            // An aliased install (`"x": "npm:real@1"`) records the real name.
            name: field("name").unwrap_or_else(|| name.clone()),
            version: field("version").or_else(|| env_version.map(str::to_string)),
            integrity: field("integrity"),
            source: "lockfile",
            claimed_name,
            root_project: false,
        };
    }
    let pnpm = pnpm_version(rel, &name);
    Identity {
        version: pnpm.clone().or_else(|| env_version.map(str::to_string)),
        name,
        integrity: None,
        source: if pnpm.is_some() {
            "install path"
        } else {
            "install path, package.json version"
        },
        claimed_name,
        root_project: false,
    }
}

/// npm's `allowScripts` (package.json) verdict for a package, as far as a
/// name and version can tell (npm's own gate also matches tarball, git and
/// registry URLs; it decides whether a script runs, cagebox only shows it).
/// `resolved` is where the package came from (npm's `npm_package_resolved`):
/// `file:`, tarball and git entries are matched against it, as npm does.
pub fn approval(
    package_json: Option<&Value>,
    name: &str,
    version: Option<&str>,
    resolved: Option<&str>,
) -> Option<String> {
    let policy = package_json?.get("allowScripts")?.as_object()?;
    let mut allow = false;
    let mut deny = false;
    for (key, value) in policy {
        let by_source = ["file:", "git", "http:", "https:"]
            .iter()
            .any(|p| key.starts_with(p));
        let matched = if by_source {
            resolved.is_some_and(|r| r == key)
        } else {
            let (k_name, k_versions) = split_spec(key);
            k_name == name
                && match (k_versions, version) {
                    (None, _) | (Some("*"), _) => true,
                    (Some(vs), Some(v)) => vs.split("||").any(|x| x.trim() == v),
                    (Some(_), None) => false,
                }
        };
        if !matched {
            continue;
        }
        match value.as_bool() {
            Some(true) => allow = true,
            Some(false) => deny = true,
            None => {}
        }
    }
    Some(
        if deny {
            "denied"
        } else if allow {
            "approved"
        } else {
            "unreviewed"
        }
        .to_string(),
    )
}

/// `name`, `name@1.2.3||1.2.4`, `@scope/name@1.0.0`.
fn split_spec(key: &str) -> (&str, Option<&str>) {
    let start = usize::from(key.starts_with('@'));
    match key[start..].find('@') {
        Some(i) => (&key[..start + i], Some(&key[start + i + 1..])),
        None => (key, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn install_names() {
        assert_eq!(
            install_name(Path::new("node_modules/foo")).as_deref(),
            Some("foo")
        );
        assert_eq!(
            install_name(Path::new("node_modules/a/node_modules/@s/b")).as_deref(),
            Some("@s/b")
        );
        assert_eq!(install_name(Path::new("lib/x")), None);
    }

    #[test]
    fn the_lockfile_decides_not_the_package() {
        let lock = json!({"packages": {"node_modules/foo": {"version": "1.2.3", "integrity": "sha512-x"}}});
        let id = identify(
            Path::new("/p"),
            Path::new("/p/node_modules/foo"),
            Some(&lock),
            Some("trusted-package"),
            Some("9.9.9"),
        );
        assert_eq!(id.name, "foo");
        assert_eq!(id.version.as_deref(), Some("1.2.3"));
        assert_eq!(id.integrity.as_deref(), Some("sha512-x"));
        assert_eq!(id.claimed_name.as_deref(), Some("trusted-package"));
        assert_eq!(id.source, "lockfile");
    }

    #[test]
    fn pnpm_store_paths() {
        let id = identify(
            Path::new("/p"),
            Path::new("/p/node_modules/.pnpm/@s+b@2.0.1_peer@1/node_modules/@s/b"),
            None,
            Some("@s/b"),
            Some("0.0.0"),
        );
        assert_eq!(id.name, "@s/b");
        assert_eq!(id.version.as_deref(), Some("2.0.1"));
        assert!(!id.root_project);
    }

    #[test]
    fn root_project() {
        let id = identify(
            Path::new("/p"),
            Path::new("/p"),
            None,
            Some("app"),
            Some("1.0.0"),
        );
        assert!(id.root_project);
        assert_eq!(id.name, "app");
    }

    #[test]
    fn approvals() {
        let pj = json!({"allowScripts": {"a": true, "b@1.0.0||1.0.1": true, "c": false, "@s/d@2.0.0": true}});
        assert_eq!(
            approval(Some(&pj), "a", Some("3.0.0"), None).as_deref(),
            Some("approved")
        );
        assert_eq!(
            approval(Some(&pj), "b", Some("1.0.1"), None).as_deref(),
            Some("approved")
        );
        assert_eq!(
            approval(Some(&pj), "b", Some("2.0.0"), None).as_deref(),
            Some("unreviewed")
        );
        assert_eq!(
            approval(Some(&pj), "c", Some("1.0.0"), None).as_deref(),
            Some("denied")
        );
        assert_eq!(
            approval(Some(&pj), "@s/d", Some("2.0.0"), None).as_deref(),
            Some("approved")
        );
        assert_eq!(approval(Some(&json!({})), "a", None, None), None);
        let pj = json!({"allowScripts": {"file:/p/x-1.0.0.tgz": true}});
        assert_eq!(
            approval(Some(&pj), "x", Some("1.0.0"), Some("file:/p/x-1.0.0.tgz")).as_deref(),
            Some("approved")
        );
        assert_eq!(
            approval(Some(&pj), "x", Some("1.0.0"), Some("file:/p/y.tgz")).as_deref(),
            Some("unreviewed")
        );
    }
}
