//! Locks on an output directory: `flock(2)` on `DIR/.lock`, so that a lock
//! dies with the process that holds it (also on SIGKILL) and needs no cleanup.
//!
//! A whole sweep (unsharded) and a merge hold it exclusively; each shard of a
//! sharded sweep holds it shared, and its own `DIR/shards/I-of-N.lock`
//! exclusively, so that shards share a directory but a shard does not run
//! twice at once. The lock is advisory: it keeps harness processes apart. On a
//! cluster file system it spans nodes where the file system supports `flock`
//! (NFSv4, Lustre mounted with `flock`, GPFS).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Busy(PathBuf),
    /// The lock file could not be opened or locked.
    Io(PathBuf, io::Error),
}

/// Takes the lock on `path` (created if missing) without waiting: exclusive, or shared.
pub fn try_lock(path: &Path, exclusive: bool) -> Result<Lock, LockError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| LockError::Io(path.to_path_buf(), e))?;
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH } | libc::LOCK_NB;
    // SAFETY: flock on a file descriptor this function owns; it touches no memory.
    if unsafe { libc::flock(file.as_raw_fd(), op) } != 0 {
        let e = io::Error::last_os_error();
        return Err(if e.kind() == io::ErrorKind::WouldBlock {
            LockError::Busy(path.to_path_buf())
        } else {
            LockError::Io(path.to_path_buf(), e)
        });
    }
    Ok(Lock { _file: file, path: path.to_path_buf() })
}

/// `DIR/.lock`.
pub fn dir_lock_path(dir: &Path) -> PathBuf {
    dir.join(".lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let dir = std::env::temp_dir().join(format!("harness-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir_lock_path(&dir);
        {
            let _a = try_lock(&path, true).unwrap();
            assert!(matches!(try_lock(&path, true), Err(LockError::Busy(_))));
            assert!(matches!(try_lock(&path, false), Err(LockError::Busy(_))));
        }
        let a = try_lock(&path, false).unwrap();
        let _b = try_lock(&path, false).unwrap();
        assert!(matches!(try_lock(&path, true), Err(LockError::Busy(_))));
        drop(a);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
