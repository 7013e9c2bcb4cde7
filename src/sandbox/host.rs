//! The real host behind `spec::build::HostView`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::spec::build::{HostView, PathKind};

pub struct RealHost;

impl HostView for RealHost {
    fn kind(&self, path: &Path) -> Option<PathKind> {
        // Follow symlinks: a bind mount of a symlink binds its target.
        let m = fs::metadata(path).ok()?;
        Some(if m.is_dir() {
            PathKind::Dir
        } else {
            PathKind::File
        })
    }

    fn top_level(&self) -> Vec<(String, PathKind)> {
        let Ok(rd) = fs::read_dir("/") else {
            return vec![];
        };
        rd.flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let ft = e.file_type().ok()?;
                let kind = if ft.is_symlink() {
                    PathKind::Symlink
                } else if ft.is_dir() {
                    PathKind::Dir
                } else {
                    PathKind::File
                };
                Some((name, kind))
            })
            .collect()
    }

    fn link(&self, path: &Path) -> Option<PathBuf> {
        fs::read_link(path).ok()
    }
}
