//! cgroup v2: "memory+swap equal to memory" means no swap. libcgroups 0.7
//! computes `memory.swap.max = swap - limit` and, for 0, writes nothing
//! (its `Memory::set` skips zero), leaving swap unlimited. runc writes 0.
//! cagebox writes it itself after libcontainer applied the resources (at
//! create, before the user process runs; at update), and fails if it
//! cannot: a limit is never dropped silently.

use std::path::Path;

use libcgroups::common::{CgroupSetup, DEFAULT_CGROUP_ROOT, get_cgroup_setup};
use libcontainer::oci_spec::runtime::LinuxMemory;

use super::RuntimeError;

/// True when `memory` asks for a limit with no swap on top.
fn wants_no_swap(memory: &LinuxMemory) -> bool {
    matches!((memory.limit(), memory.swap()), (Some(l), Some(s)) if l > 0 && s == l)
}

/// Writes `memory.swap.max = 0` for the cgroup at `cgroup_path` (relative
/// to the v2 root) when `memory` asks for no swap on a pure v2 host.
pub fn enforce_no_swap(
    cgroup_path: &Path,
    memory: Option<&LinuxMemory>,
) -> Result<(), RuntimeError> {
    let Some(memory) = memory.filter(|m| wants_no_swap(m)) else {
        return Ok(());
    };
    if !matches!(get_cgroup_setup(), Ok(CgroupSetup::Unified)) {
        return Ok(());
    }
    let rel = cgroup_path.strip_prefix("/").unwrap_or(cgroup_path);
    let file = Path::new(DEFAULT_CGROUP_ROOT)
        .join(rel)
        .join("memory.swap.max");
    // Without swap accounting there is no file, and no swap to limit.
    if !file.exists() {
        return Ok(());
    }
    std::fs::write(&file, "0").map_err(|e| {
        RuntimeError::Invalid(format!(
            "memory.swap = memory.limit ({:?}) means no swap, but {} cannot be written: {e}",
            memory.limit(),
            file.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::LinuxMemoryBuilder;

    #[test]
    fn only_swap_equal_to_limit() {
        let m = |l: i64, s: i64| {
            LinuxMemoryBuilder::default()
                .limit(l)
                .swap(s)
                .build()
                .unwrap()
        };
        assert!(wants_no_swap(&m(64 << 20, 64 << 20)));
        assert!(!wants_no_swap(&m(64 << 20, 128 << 20)));
        assert!(!wants_no_swap(&m(64 << 20, -1)));
        assert!(!wants_no_swap(&m(-1, -1)));
    }
}
