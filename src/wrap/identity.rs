//! Which package a lifecycle script belongs to, decided from what the user
//! controls (the lockfile and the install path) before what the package
//! says about itself: a package.json can claim any name, and the name
//! chooses the per-package policy, so a self-declared name must never buy a
//! wider policy.

use std::fmt;
use std::path::{Component, Path};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub version: Option<String>,
    pub integrity: Option<String>,
    /// Where the name comes from: registry, pnpm store path, direct
    /// dependency, workspace, package.json (the root project), unverified.
    pub source: &'static str,
    /// The package.json's own name when it differs from `name`.
    pub claimed_name: Option<String>,
    pub root_project: bool,
    /// Whether the name may choose a per-package table's widenings.
    pub trusted: bool,
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

/// `packages[key]` of package-lock.json's text, or None (no such entry,
/// or the text is not valid JSON).
///
/// Every script of an install asks for one entry, and a large project's
/// lockfile is megabytes: building a `Value` of all of it cost ~25 ms per
/// script for 4,000 packages (docs/benchmarks.md). This walks the text
/// once and materialises only the wanted entry; the rest is skipped with
/// `IgnoredAny`, which still checks it, so the answer is the same as
/// `serde_json::from_str::<Value>(text)?["packages"][key]` (invalid JSON
/// anywhere: None; a duplicate key: the last one wins).
pub fn lock_entry(text: &str, key: &str) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = Entries {
        outer: Some("packages"),
        key,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    found
}

/// Where `identify` gets a lockfile entry: the text itself, or the
/// session's index of it (lockindex.rs), which answers the same.
pub trait LockSource {
    /// `packages[key]`, as [`lock_entry`] of the lockfile's text.
    fn entry(&self, key: &str) -> Option<Value>;
}

impl LockSource for str {
    fn entry(&self, key: &str) -> Option<Value> {
        lock_entry(self, key)
    }
}

impl LockSource for String {
    fn entry(&self, key: &str) -> Option<Value> {
        lock_entry(self, key)
    }
}

/// A map walked for one key: with `outer`, for `outer` whose value is then
/// walked for `key`; without, for `key` itself, whose value is kept.
#[derive(Clone, Copy)]
struct Entries<'a> {
    outer: Option<&'a str>,
    key: &'a str,
}

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let wanted = self.outer.unwrap_or(self.key);
        while let Some(hit) = map.next_key_seed(KeyIs(wanted))? {
            if !hit {
                map.next_value::<IgnoredAny>()?;
            } else if self.outer.is_some() {
                found = map.next_value_seed(Entries {
                    outer: None,
                    key: self.key,
                })?;
            } else {
                found = Some(map.next_value::<Value>()?);
            }
        }
        Ok(found)
    }
    // Anything else where a map was hoped for: checked, nothing found.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A map key, compared with `.0` without allocating it.
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// npm's default registry, when `npm_config_registry` does not name another.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// Name and version of a registry tarball URL under `registry`
/// (`REGISTRY/NAME/-/NAME-VERSION.tgz`, `REGISTRY/@SCOPE/NAME/-/NAME-VERSION.tgz`,
/// the scope's slash possibly written `%2f`). The registry names that path
/// and serves only that package there, so unlike a manifest's `name` (or
/// the lockfile's, which copies it) nobody publishing a package chooses it.
pub fn registry_name(resolved: &str, registry: &str) -> Option<(String, String)> {
    let registry = registry.trim_end_matches('/');
    let rest = resolved.strip_prefix(registry)?.strip_prefix('/')?;
    let (name, file) = rest.split_once("/-/")?;
    let name = name.replace("%2f", "/").replace("%2F", "/");
    let parts: Vec<&str> = name.split('/').collect();
    let unscoped = match parts.as_slice() {
        [n] if !n.starts_with('@') => *n,
        [scope, n] if scope.len() > 1 && scope.starts_with('@') && !n.starts_with('@') => *n,
        _ => return None,
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if unscoped.is_empty()
        || !name
            .trim_start_matches('@')
            .chars()
            .all(|c| ok(c) || c == '/')
    {
        return None;
    }
    let version = file
        .strip_prefix(unscoped)?
        .strip_prefix('-')?
        .strip_suffix(".tgz")?;
    (version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| ok(c) || c == '+'))
    .then(|| (name.clone(), version.to_string()))
}

/// What the package manager and the project say, for [`identify`].
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// package-lock.json.
    pub lock: Option<&'a dyn LockSource>,
    /// Where npm itself resolved the package (`npm_package_resolved`),
    /// for packages the lockfile has no `resolved` for (a first install
    /// runs scripts before npm writes the lockfile). Only npm 7 and later
    /// fill it from their own tree rather than from the package's
    /// package.json (script.rs checks), so only those pass it.
    pub resolved: Option<&'a str>,
    /// npm's registry URL.
    pub registry: &'a str,
}

/// Decides the identity of the script running in `dir` for `project`.
///
/// The name chooses `[packages."NAME"]`, so it must come from someone
/// other than the package. It is trusted when it comes from
/// 1. the lockfile entry's `resolved` URL (else npm's own) on the
///    registry: the registry's name, even for an alias (`"x": "npm:real@1"`);
/// 2. pnpm's store path `node_modules/.pnpm/NAME@VERSION/...`, which pnpm
///    derives from the registry's resolution;
/// 3. the project's own package.json: `direct(NAME)` says the project
///    declares NAME and `node_modules/NAME` is this directory;
/// 4. a directory of the project under no `node_modules` (a workspace
///    package: the user's own code) is named by its package.json.
///
/// Anything else (a `file:`, git or URL dependency declared by another
/// dependency) is named by its install path but not trusted: that path,
/// and the lockfile's `name` there (copied from the package's own
/// package.json), are chosen by a dependency. `env_name`/`env_version` are
/// what the package manager exported from the package's package.json
/// (shown, never trusted).
pub fn identify(
    project: &Path,
    dir: &Path,
    src: &Sources,
    direct: &dyn Fn(&str) -> bool,
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
            trusted: true,
        };
    }
    let rel = dir.strip_prefix(project).unwrap_or(dir);
    let Some(name) = install_name(rel) else {
        // Inside the project and under no node_modules: one of the
        // project's own packages (an npm workspace), named by its own
        // package.json, which is the user's. Elsewhere (a linked `file:`
        // directory outside the project): only the package's claim.
        let own =
            dir.starts_with(project) && !rel.components().any(|c| c.as_os_str() == "node_modules");
        return Identity {
            name: claimed.unwrap_or_else(|| dir.display().to_string()),
            version: env_version.map(str::to_string),
            integrity: None,
            source: if own { "workspace" } else { "unverified" },
            claimed_name: None,
            root_project: false,
            trusted: own,
        };
    };
    let entry = src
        .lock
        .and_then(|l| l.entry(rel.to_string_lossy().as_ref()));
    let field = |k: &str| {
        entry
            .as_ref()
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let claimed_for = |n: &str| claimed.clone().filter(|c| c != n);
    let resolved = field("resolved").or_else(|| src.resolved.map(str::to_string));
    if let Some((reg_name, reg_version)) = resolved.and_then(|r| registry_name(&r, src.registry)) {
        return Identity {
            claimed_name: claimed_for(&reg_name),
            name: reg_name,
            version: Some(reg_version),
            integrity: field("integrity"),
            source: "registry",
            root_project: false,
            trusted: true,
        };
    }
    if let Some(v) = pnpm_version(rel, &name) {
        return Identity {
            claimed_name: claimed_for(&name),
            name,
            version: Some(v),
            integrity: None,
            source: "pnpm store path",
            root_project: false,
            trusted: true,
        };
    }
    let trusted = direct(&name);
    Identity {
        claimed_name: claimed_for(&name),
        version: field("version").or_else(|| env_version.map(str::to_string)),
        integrity: field("integrity"),
        name,
        source: if trusted {
            "direct dependency"
        } else {
            "unverified"
        },
        root_project: false,
        trusted,
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

    fn never(_: &str) -> bool {
        false
    }

    const NO_SOURCES: Sources = Sources {
        lock: None,
        resolved: None,
        registry: DEFAULT_REGISTRY,
    };

    /// A first install: no lockfile yet, npm's own resolution names it; a
    /// URL dependency elsewhere does not.
    #[test]
    fn npm_s_own_resolution_when_the_lockfile_has_none() {
        let ask = |resolved: &str| {
            identify(
                Path::new("/p"),
                Path::new("/p/node_modules/esbuild"),
                &Sources {
                    resolved: Some(resolved),
                    ..NO_SOURCES
                },
                &never,
                Some("esbuild"),
                Some("0.0.1"),
            )
        };
        let id = ask("https://registry.npmjs.org/esbuild/-/esbuild-0.25.12.tgz");
        assert_eq!(
            (
                id.name.as_str(),
                id.version.as_deref(),
                id.source,
                id.trusted
            ),
            ("esbuild", Some("0.25.12"), "registry", true)
        );
        let id = ask("https://evil.example/esbuild/-/esbuild-0.25.12.tgz");
        assert_eq!((id.source, id.trusted), ("unverified", false));
    }

    #[test]
    fn the_registry_url_decides_not_the_package() {
        // An alias: installed as foo, the registry's package is real-pkg;
        // the manifest claims yet another name.
        let lock = json!({"packages": {"node_modules/foo": {
            "name": "trusted-package", "version": "9.9.9", "integrity": "sha512-x",
            "resolved": "https://registry.npmjs.org/real-pkg/-/real-pkg-1.2.3.tgz"}}})
        .to_string();
        let id = identify(
            Path::new("/p"),
            Path::new("/p/node_modules/foo"),
            &Sources {
                lock: Some(&lock),
                resolved: None,
                registry: DEFAULT_REGISTRY,
            },
            &never,
            Some("trusted-package"),
            Some("9.9.9"),
        );
        assert_eq!(id.name, "real-pkg");
        assert_eq!(id.version.as_deref(), Some("1.2.3"));
        assert_eq!(id.integrity.as_deref(), Some("sha512-x"));
        assert_eq!(id.claimed_name.as_deref(), Some("trusted-package"));
        assert_eq!(id.source, "registry");
        assert!(id.trusted);
    }

    /// What npm writes for `"impostor": "file:imp.tgz"` whose package.json
    /// says `"name": "trusted"`: the lockfile's name is the package's claim.
    #[test]
    fn a_file_dependency_is_named_by_its_install_path_and_trusted_only_if_direct() {
        let lock = json!({"packages": {"node_modules/impostor": {
            "name": "trusted", "version": "1.0.0", "resolved": "file:../imp.tgz",
            "integrity": "sha512-y"}}})
        .to_string();
        let ask = |direct: &dyn Fn(&str) -> bool| {
            identify(
                Path::new("/p"),
                Path::new("/p/node_modules/impostor"),
                &Sources {
                    lock: Some(&lock),
                    resolved: None,
                    registry: DEFAULT_REGISTRY,
                },
                direct,
                Some("trusted"),
                Some("1.0.0"),
            )
        };
        let id = ask(&never);
        assert_eq!(id.name, "impostor");
        assert_eq!(id.claimed_name.as_deref(), Some("trusted"));
        assert_eq!(id.integrity.as_deref(), Some("sha512-y"));
        assert_eq!(id.source, "unverified");
        assert!(!id.trusted);
        let id = ask(&|n: &str| n == "impostor");
        assert_eq!(id.name, "impostor");
        assert_eq!(id.source, "direct dependency");
        assert!(id.trusted);
    }

    #[test]
    fn registry_urls() {
        let r = DEFAULT_REGISTRY;
        let ok = |u: &str, reg: &str| registry_name(u, reg);
        assert_eq!(
            ok(
                "https://registry.npmjs.org/esbuild/-/esbuild-0.25.12.tgz",
                r
            ),
            Some(("esbuild".into(), "0.25.12".into()))
        );
        assert_eq!(
            ok(
                "https://registry.npmjs.org/@esbuild/linux-x64/-/linux-x64-0.25.12.tgz",
                r
            ),
            Some(("@esbuild/linux-x64".into(), "0.25.12".into()))
        );
        assert_eq!(
            ok(
                "https://r.example/npm/@s%2fb/-/b-1.0.0-rc.1.tgz",
                "https://r.example/npm"
            ),
            Some(("@s/b".into(), "1.0.0-rc.1".into()))
        );
        for bad in [
            // the same path on another host: a URL dependency, not the registry
            "https://evil.example/esbuild/-/esbuild-0.25.12.tgz",
            "https://registry.npmjs.org.evil.example/esbuild/-/esbuild-1.0.0.tgz",
            "file:../esbuild-1.0.0.tgz",
            "git+ssh://git@github.com/evil/esbuild.git#abc",
            // the file must be the package's own tarball
            "https://registry.npmjs.org/esbuild/-/other-1.0.0.tgz",
            "https://registry.npmjs.org/esbuild/-/esbuild-latest.tgz",
            "https://registry.npmjs.org/a/b/c/-/c-1.0.0.tgz",
            "https://registry.npmjs.org/../x/-/x-1.0.0.tgz",
            "https://registry.npmjs.org/-/x-1.0.0.tgz",
        ] {
            assert_eq!(ok(bad, r), None, "{bad}");
        }
    }

    /// The walk gives what a full parse gives, on every shape it may meet.
    #[test]
    fn lock_entry_agrees_with_a_full_parse() {
        let texts = [
            r#"{"name":"x","lockfileVersion":3,"packages":{"":{"name":"x"},"node_modules/a":{"version":"1.0.0","integrity":"sha512-a","dependencies":{"b":"^1"}},"node_modules/@s/b":{"version":"2.0.0"}},"dependencies":{"node_modules/a":{"version":"9"}}}"#,
            // an escaped key, a duplicate (the last wins), nesting before it
            r#"{"x":[{"packages":{"node_modules/a":1}}],"packages":{"node_modules/\u0061":{"version":"1"},"node_modules/a":{"version":"2"}}}"#,
            // `packages` twice: the last one wins
            r#"{"packages":{"node_modules/a":{"version":"1"}},"packages":{}}"#,
            // the wanted key under another name only
            r#"{"packages2":{"node_modules/a":{}}}"#,
            // not a map where one is expected
            r#"{"packages":["node_modules/a"]}"#,
            r#"{"packages":"node_modules/a"}"#,
            r#"["packages"]"#,
            r#"7"#,
            // invalid: after the entry, before it, trailing text
            r#"{"packages":{"node_modules/a":{"version":"1"}},"#,
            r#"{"packages":{"node_modules/b":{"version":"1"x},"node_modules/a":{}}}"#,
            r#"{"packages":{"node_modules/a":{"version":"1"}}} {}"#,
            "",
        ];
        for text in texts {
            let full = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("packages")?.get("node_modules/a").cloned());
            for key in ["node_modules/a", "node_modules/@s/b", "", "node_modules/zz"] {
                let full = if key == "node_modules/a" {
                    full.clone()
                } else {
                    serde_json::from_str::<Value>(text)
                        .ok()
                        .and_then(|v| v.get("packages")?.get(key).cloned())
                };
                assert_eq!(lock_entry(text, key), full, "{key} in {text}");
            }
        }
    }

    #[test]
    fn pnpm_store_paths() {
        let id = identify(
            Path::new("/p"),
            Path::new("/p/node_modules/.pnpm/@s+b@2.0.1_peer@1/node_modules/@s/b"),
            &NO_SOURCES,
            &never,
            Some("@s/b"),
            Some("0.0.0"),
        );
        assert_eq!(id.name, "@s/b");
        assert_eq!(id.version.as_deref(), Some("2.0.1"));
        assert!(!id.root_project && id.trusted);
        // pnpm's non-registry entries carry no version: not trusted by path.
        let id = identify(
            Path::new("/p"),
            Path::new("/p/node_modules/.pnpm/file+..+x.tgz/node_modules/esbuild"),
            &NO_SOURCES,
            &never,
            Some("esbuild"),
            Some("0.0.0"),
        );
        assert_eq!((id.name.as_str(), id.trusted), ("esbuild", false));
    }

    #[test]
    fn workspace_packages_are_the_project_s_own_linked_directories_are_not() {
        let ask = |dir: &str| {
            let id = identify(
                Path::new("/p"),
                Path::new(dir),
                &NO_SOURCES,
                &never,
                Some("ws-a"),
                Some("1.0.0"),
            );
            (id.name, id.source, id.trusted)
        };
        assert_eq!(ask("/p/packages/a"), ("ws-a".into(), "workspace", true));
        assert_eq!(ask("/elsewhere/a"), ("ws-a".into(), "unverified", false));
        assert_eq!(
            ask("/p/node_modules/x/lib"),
            ("ws-a".into(), "unverified", false)
        );
    }

    #[test]
    fn root_project() {
        let id = identify(
            Path::new("/p"),
            Path::new("/p"),
            &NO_SOURCES,
            &never,
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
