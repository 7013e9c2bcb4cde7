//! `features` and `spec`: what this build supports, and a default config.

use libcontainer::oci_spec::runtime::{
    ApparmorBuilder, Arch, CgroupBuilder, FeaturesBuilder, IntelRdtBuilder, LinuxFeatureBuilder,
    LinuxNamespaceType, LinuxSeccompAction, SeccompBuilder, SelinuxBuilder, Spec, VERSION,
};
use libcontainer::syscall::linux::MountOption;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("{0}")]
    Build(String),
    /// runc's text, which names the file as it is in the bundle dir.
    #[error("File config.json exists. Remove it first")]
    Exists,
    #[error("{path}: {msg}")]
    Write { path: String, msg: String },
}

fn b<E: std::fmt::Display>(e: E) -> OciError {
    OciError::Build(e.to_string())
}

/// The OCI features document. Every `enabled`/`true` here is something this
/// binary really does: cgroup v1 and v2 managers are compiled in, systemd is
/// not; seccomp goes through libseccomp; SELinux labels are not applied.
pub fn features_json() -> Result<String, OciError> {
    let namespaces = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Time,
    ];
    let capabilities: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    let seccomp = SeccompBuilder::default()
        // libcontainer is built with its libseccomp feature (Cargo.toml).
        .enabled(true)
        .actions(vec![
            LinuxSeccompAction::ScmpActAllow,
            LinuxSeccompAction::ScmpActErrno,
            LinuxSeccompAction::ScmpActKill,
            LinuxSeccompAction::ScmpActKillProcess,
            LinuxSeccompAction::ScmpActKillThread,
            LinuxSeccompAction::ScmpActLog,
            LinuxSeccompAction::ScmpActNotify,
            LinuxSeccompAction::ScmpActTrace,
            LinuxSeccompAction::ScmpActTrap,
        ])
        .operators(
            [
                "SCMP_CMP_NE",
                "SCMP_CMP_LT",
                "SCMP_CMP_LE",
                "SCMP_CMP_EQ",
                "SCMP_CMP_GE",
                "SCMP_CMP_GT",
                "SCMP_CMP_MASKED_EQ",
            ]
            .map(String::from)
            .to_vec(),
        )
        .archs(vec![
            Arch::ScmpArchX86,
            Arch::ScmpArchX86_64,
            Arch::ScmpArchX32,
            Arch::ScmpArchArm,
            Arch::ScmpArchAarch64,
        ])
        .build()
        .map_err(b)?;
    let apparmor = libcontainer::apparmor::is_enabled().unwrap_or(false);
    let linux = LinuxFeatureBuilder::default()
        .namespaces(namespaces)
        .capabilities(capabilities)
        .cgroup(
            CgroupBuilder::default()
                .v1(true)
                .v2(true)
                .systemd(false)
                .systemd_user(false)
                .rdma(false)
                .build()
                .map_err(b)?,
        )
        .seccomp(seccomp)
        .apparmor(
            ApparmorBuilder::default()
                .enabled(apparmor)
                .build()
                .map_err(b)?,
        )
        .selinux(
            SelinuxBuilder::default()
                .enabled(false)
                .build()
                .map_err(b)?,
        )
        .intel_rdt(
            IntelRdtBuilder::default()
                .enabled(true)
                .build()
                .map_err(b)?,
        )
        .build()
        .map_err(b)?;
    let features = FeaturesBuilder::default()
        .oci_version_min("1.0.0")
        .oci_version_max(VERSION)
        .hooks(
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop",
            ]
            .map(String::from)
            .to_vec(),
        )
        .mount_options(known_mount_options())
        .annotations(annotations())
        .linux(linux)
        .build()
        .map_err(b)?;
    serde_json::to_string_pretty(&features).map_err(b)
}

/// libcontainer's mount options plus `tmpcopyup`, which cagebox implements
/// itself (runtime/copyup.rs).
fn known_mount_options() -> Vec<String> {
    let mut opts = MountOption::known_options();
    opts.push("tmpcopyup".to_string());
    opts
}

/// Like runc: the libseccomp version the seccomp support comes from.
fn annotations() -> std::collections::HashMap<String, String> {
    let mut a = std::collections::HashMap::new();
    if let Ok(v) = libseccomp::ScmpVersion::current() {
        a.insert(
            "io.github.seccomp.libseccomp.version".to_string(),
            format!("{}.{}.{}", v.major, v.minor, v.micro),
        );
    }
    a
}

/// `spec`: runc's default config.json (oci-spec's default mirrors it), or
/// the rootless variant with the caller's uid/gid mapped to root.
pub fn write_default_spec(bundle: &std::path::Path, rootless: bool) -> Result<(), OciError> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(OciError::Exists);
    }
    let spec = if rootless {
        Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.save(&path).map_err(|e| OciError::Write {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_tell_the_truth() {
        let v: serde_json::Value = serde_json::from_str(&features_json().unwrap()).unwrap();
        assert_eq!(v["linux"]["cgroup"]["systemd"], false);
        assert_eq!(v["linux"]["cgroup"]["v1"], true);
        assert_eq!(v["linux"]["seccomp"]["enabled"], true);
        assert_eq!(v["linux"]["selinux"]["enabled"], false);
        assert!(v["hooks"].as_array().unwrap().len() == 6);
        assert!(
            v["mountOptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o == "tmpcopyup")
        );
        assert!(v["annotations"]["io.github.seccomp.libseccomp.version"].is_string());
    }

    #[test]
    fn spec_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!("cagebox-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_default_spec(&dir, false).unwrap();
        let e = write_default_spec(&dir, false).unwrap_err().to_string();
        assert!(e.contains("exists. Remove it first"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
