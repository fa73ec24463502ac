//! Output files: written under a temporary name and renamed into place, the input's
//! metadata copied over; the checks on paths and descriptors.

use crate::common::{Context, Error, Result};
use std::ffi::OsString;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// True when writes to `f` go to its end whatever its offset (`O_APPEND`).
pub(super) fn appending(f: &File) -> bool {
    // SAFETY: F_GETFL reads the flags of an open descriptor.
    let fl = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    fl < 0 || fl & libc::O_APPEND != 0
}

/// An output being written under a temporary name; removed unless committed.
pub(super) struct TempFile {
    path: PathBuf,
    dest: PathBuf,
    pub(super) file: File,
    committed: bool,
}

impl TempFile {
    pub(super) fn create(dest: &Path) -> Result<TempFile> {
        let name = dest
            .file_name()
            .ok_or_else(|| Error::msg(format!("{} is not a file name", dest.display())))?;
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".uadk-tmp{}", std::process::id()));
        let path = dest.with_file_name(tmp);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .context(format!("creating {}", path.display()))?;
        Ok(TempFile {
            path,
            dest: dest.to_path_buf(),
            file,
            committed: false,
        })
    }

    /// Where the output is being written.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Move the finished output to its name.
    pub(super) fn commit(mut self, force: bool) -> Result<()> {
        // Checked again: the destination may have appeared while we were working.
        if !force && self.dest.exists() {
            return Err(Error::msg(format!(
                "{} already exists; use -f to overwrite",
                self.dest.display()
            )));
        }
        fs::rename(&self.path, &self.dest)
            .context(format!("renaming to {}", self.dest.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Give the output the input's permissions and modification time, as gzip does.
/// Best effort: failing to do so does not fail the command.
pub(super) fn copy_metadata(input: &Path, out: &File) {
    if let Ok(meta) = fs::metadata(input) {
        if meta.is_file() {
            let _ = out.set_permissions(meta.permissions());
            if let Ok(t) = meta.modified() {
                let _ = out.set_modified(t);
            }
        }
    }
}

/// True when both paths name the same existing file.
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
