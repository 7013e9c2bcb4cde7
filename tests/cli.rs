#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Unprivileged CLI tests: argument handling, error texts, exit codes, and
//! that bad input leaves nothing behind. No container is started here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cagebox-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cagebox(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cagebox"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    }
}

#[test]
fn bad_ids_are_refused_before_anything_is_created() {
    let root = tmpdir("badid");
    let state = root.join("state");
    for id in ["../x", "a/b", "", ".."] {
        let o = cagebox(&state, &["create", "-b", "/nonexistent", id]);
        assert!(!o.status.success(), "{id:?} accepted");
        assert!(
            stderr(&o).contains("invalid container ID format"),
            "{id:?}: {}",
            stderr(&o)
        );
    }
    assert!(
        entries(&state).is_empty(),
        "left behind: {:?}",
        entries(&state)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn missing_bundle_names_the_path() {
    let root = tmpdir("nobundle");
    let o = cagebox(
        &root.join("state"),
        &["create", "-b", "/nonexistent/bundle", "c1"],
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("/nonexistent/bundle") && e.contains("No such file"),
        "{e}"
    );
    assert!(entries(&root.join("state")).is_empty());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn malformed_config_names_the_file_and_leaves_nothing() {
    let root = tmpdir("badjson");
    let bundle = root.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(bundle.join("config.json"), "{ \"ociVersion\": 12 ").unwrap();
    let state = root.join("state");
    let o = cagebox(&state, &["create", "-b", bundle.to_str().unwrap(), "c1"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("config.json"), "{e}");
    assert!(
        entries(&state).is_empty(),
        "left behind: {:?}",
        entries(&state)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn config_without_linux_section_is_refused() {
    let root = tmpdir("nolinux");
    let bundle = root.join("bundle");
    std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
    std::fs::write(
        bundle.join("config.json"),
        r#"{"ociVersion":"1.0.2","process":{"args":["/bin/true"],"cwd":"/","user":{"uid":0,"gid":0}},"root":{"path":"rootfs"}}"#,
    )
    .unwrap();
    let state = root.join("state");
    let o = cagebox(&state, &["create", "-b", bundle.to_str().unwrap(), "c1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing required field linux"),
        "{}",
        stderr(&o)
    );
    assert!(entries(&state).is_empty());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn delete_force_of_missing_container_succeeds_and_plain_delete_fails() {
    let root = tmpdir("delete");
    let state = root.join("state");
    let o = cagebox(&state, &["delete", "--force", "nope"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cagebox(&state, &["delete", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("container \"nope\" does not exist"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn commands_on_missing_container_say_does_not_exist() {
    let root = tmpdir("missing");
    let state = root.join("state");
    for args in [
        vec!["state", "x"],
        vec!["start", "x"],
        vec!["kill", "x", "KILL"],
        vec!["pause", "x"],
        vec!["resume", "x"],
        vec!["ps", "x"],
        vec!["exec", "x", "true"],
    ] {
        let o = cagebox(&state, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains("does not exist"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn json_log_gets_the_error_in_runc_format() {
    let root = tmpdir("log");
    let log = root.join("log.json");
    let o = Command::new(env!("CARGO_BIN_EXE_cagebox"))
        .args(["--root", root.join("state").to_str().unwrap()])
        .args(["--log", log.to_str().unwrap(), "--log-format", "json"])
        .args(["state", "ghost"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["msg"], "container \"ghost\" does not exist");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn systemd_cgroup_is_refused_clearly() {
    let root = tmpdir("systemd");
    let o = cagebox(&root, &["--systemd-cgroup", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("systemd cgroup driver is not supported"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn list_of_empty_root_prints_header_and_json_empty_array() {
    let root = tmpdir("list");
    let o = cagebox(&root, &["list"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ID"));
    let o = cagebox(&root, &["list", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn spec_writes_config_and_rootless_maps_the_caller() {
    let root = tmpdir("spec");
    let o = cagebox(&root, &["spec", "--bundle", root.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("config.json")).unwrap()).unwrap();
    assert!(v["ociVersion"].is_string());
    let o = cagebox(&root, &["spec", "--bundle", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("exists. Remove it first"));
    std::fs::remove_file(root.join("config.json")).unwrap();
    let o = cagebox(
        &root,
        &["spec", "--rootless", "--bundle", root.to_str().unwrap()],
    );
    assert!(o.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("config.json")).unwrap()).unwrap();
    assert!(v["linux"]["uidMappings"].is_array());
    let ns: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(ns.contains(&"user"), "{ns:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn features_is_valid_json() {
    let root = tmpdir("features");
    let o = cagebox(&root, &["features"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["linux"]["cgroup"]["systemd"], false);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn invalid_signal_is_an_error() {
    let root = tmpdir("signal");
    let o = cagebox(&root, &["kill", "x", "SIGNOPE"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown signal"), "{}", stderr(&o));
    std::fs::remove_dir_all(&root).unwrap();
}
