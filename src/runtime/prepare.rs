//! Pure adjustments to a bundle's spec before libcontainer sees it.
//!
//! libcontainer reads config.json from the bundle itself, so when cagebox
//! must change the spec it writes the changed copy to a private bundle under
//! the state root and records the user's bundle in an annotation (reported by
//! `state` and `list`). Each change is here, with the reason.

use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::Spec;

/// Annotation holding the bundle the user gave, when cagebox runs a copy.
pub const BUNDLE_ANNOTATION: &str = "io.cagebox.bundle";

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{file}: missing required field {field}")]
    Missing { file: String, field: &'static str },
    #[error("{file}: {msg}")]
    Invalid { file: String, msg: String },
}

/// What `prepare` decided.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The spec to run, or None when the bundle's own config.json can be used
    /// as is (the fast path: nothing is written).
    pub spec: Option<Spec>,
    /// tmpfs destinations whose option `tmpcopyup` was removed (copyup.rs).
    pub copyup: Vec<PathBuf>,
}

/// `strip_seccomp` removes `linux.seccomp` because cagebox installs it
/// precompiled (seccomp.rs). `changed` says the caller already changed the
/// spec (a policy annotation narrowed it), so a private copy is needed.
pub fn prepare(
    spec: &Spec,
    id: &str,
    bundle: &Path,
    strip_seccomp: bool,
    changed: bool,
) -> Result<Prepared, PrepareError> {
    let file = bundle.join("config.json").display().to_string();
    let Some(linux) = spec.linux() else {
        return Err(PrepareError::Missing {
            file,
            field: "linux",
        });
    };
    if spec.process().is_none() {
        return Err(PrepareError::Missing {
            file,
            field: "process",
        });
    }
    let Some(root) = spec.root() else {
        return Err(PrepareError::Missing {
            file,
            field: "root",
        });
    };
    if let Some(label) = spec
        .process()
        .as_ref()
        .and_then(|p| p.selinux_label().clone())
        && !label.is_empty()
        && selinux_enabled()
    {
        return Err(PrepareError::Invalid {
            file,
            msg: format!(
                "process.selinuxLabel {label:?}: SELinux labels are not supported by cagebox"
            ),
        });
    }

    let needs_cgroup_path = linux.cgroups_path().is_none();
    // With `noNewPrivileges: false` written out, libcontainer installs the
    // seccomp filter after dropping capabilities, where the kernel refuses it
    // (no CAP_SYS_ADMIN, no no_new_privs). Absent and false mean the same to
    // the kernel; absent makes libcontainer install the filter while it still
    // holds CAP_SYS_ADMIN, as runc does.
    let nnp_false = spec.process().as_ref().and_then(|p| p.no_new_privileges()) == Some(false);
    let mut seccomp = linux.seccomp().clone();
    let seccomp_changed = match seccomp.as_mut() {
        Some(_) if strip_seccomp => {
            seccomp = None;
            true
        }
        Some(s) => super::seccomp::swap_masked_eq(s),
        None => false,
    };
    let has_copyup = spec
        .mounts()
        .iter()
        .flatten()
        .any(super::copyup::wants_copyup);
    if !changed && !needs_cgroup_path && !nnp_false && !seccomp_changed && !has_copyup {
        return Ok(Prepared::default());
    }

    let mut out = spec.clone();
    let mut copyup = Vec::new();
    if let Some(mounts) = out.mounts_mut() {
        copyup = super::copyup::strip(mounts);
    }
    if seccomp_changed && let Some(linux) = out.linux_mut() {
        linux.set_seccomp(seccomp);
    }
    if needs_cgroup_path && let Some(linux) = out.linux_mut() {
        // runc's default: a cgroup named after the container at the top of
        // each hierarchy. libcontainer's default (":youki:ID") is a systemd
        // slice name that makes a stray directory on cgroupfs.
        linux.set_cgroups_path(Some(PathBuf::from(default_cgroups_path(id))));
    }
    if nnp_false && let Some(p) = out.process_mut() {
        p.set_no_new_privileges(None);
    }
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    if let Some(r) = out.root_mut() {
        r.set_path(rootfs);
    }
    let mut annotations = out.annotations().clone().unwrap_or_default();
    annotations.insert(BUNDLE_ANNOTATION.to_string(), bundle.display().to_string());
    out.set_annotations(Some(annotations));
    Ok(Prepared {
        spec: Some(out),
        copyup,
    })
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// The cgroups path of a container whose spec names none (runc's).
pub fn default_cgroups_path(id: &str) -> String {
    format!("/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::{LinuxBuilder, ProcessBuilder, RootBuilder, SpecBuilder};

    fn spec(cgroups: Option<&str>, nnp: Option<bool>) -> Spec {
        let mut linux = LinuxBuilder::default();
        if let Some(c) = cgroups {
            linux = linux.cgroups_path(PathBuf::from(c));
        }
        let mut process = ProcessBuilder::default().args(vec!["/bin/true".to_string()]);
        if let Some(n) = nnp {
            process = process.no_new_privileges(n);
        }
        SpecBuilder::default()
            .linux(linux.build().unwrap())
            .process(process.build().unwrap())
            .root(RootBuilder::default().path("rootfs").build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn untouched_spec_needs_no_copy() {
        let s = spec(Some("/x/y"), Some(true));
        assert!(
            prepare(&s, "id", Path::new("/b"), false, false)
                .unwrap()
                .spec
                .is_none()
        );
    }

    #[test]
    fn default_cgroup_path_is_runc_like() {
        let s = spec(None, None);
        let out = prepare(&s, "abc", Path::new("/b"), false, false)
            .unwrap()
            .spec
            .unwrap();
        let linux = out.linux().as_ref().unwrap();
        assert_eq!(linux.cgroups_path().as_deref(), Some(Path::new("/abc")));
        assert_eq!(out.root().as_ref().unwrap().path(), Path::new("/b/rootfs"));
        assert_eq!(out.annotations().as_ref().unwrap()[BUNDLE_ANNOTATION], "/b");
    }

    #[test]
    fn explicit_nnp_false_becomes_absent() {
        let s = spec(Some("/x"), Some(false));
        let out = prepare(&s, "abc", Path::new("/b"), false, false)
            .unwrap()
            .spec
            .unwrap();
        assert_eq!(out.process().as_ref().unwrap().no_new_privileges(), None);
    }

    #[test]
    fn missing_linux_is_an_error_naming_the_file() {
        let mut s = spec(None, None);
        s.set_linux(None);
        let e = prepare(&s, "abc", Path::new("/b"), false, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/b/config.json") && e.contains("linux"), "{e}");
    }
}
