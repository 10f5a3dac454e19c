//! One writer per run folder: an OS advisory lock (`flock` through the standard library's
//! `File::try_lock`) on a lock file beside the folder, `.NAME.lock` in its parent (beside, not
//! inside: a finished run replaces the folder by a rename, which must not take the lock with it).
//! The OS releases the lock when the holder exits, however it exits (`kill -9` included), so a
//! folder whose writer died is free again: "interrupted" as before, and resumable. The holder
//! writes its pid, command line and start time into the file for the message a second writer
//! gets, and removes the file when it is done. Taking the lock also tidies what a killed writer
//! left beside the folder ([`super::folder::recover`]).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The lock of one run folder, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// The lock file of run folder `dir`: `.NAME.lock` beside it.
pub fn lock_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.join(format!(".{name}.lock"))
}

impl RunLock {
    /// Takes the lock of run folder `dir` (its parent is created if missing).
    ///
    /// # Errors
    /// [`Error::RunLocked`] naming the holder when another process holds it; an I/O error
    /// when the lock file cannot be created.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = lock_path(dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        loop {
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {
                    // The previous holder may have removed the file between our open and our
                    // lock: then we hold a lock on a file nobody else can find; start over.
                    if !same_file(&file, &path) {
                        continue;
                    }
                    file.set_len(0).map_err(|e| Error::io(&path, e))?;
                    file.write_all(holder_text().as_bytes())
                        .map_err(|e| Error::io(&path, e))?;
                    // No other writer of `dir` runs now: tidy what a killed one left.
                    super::folder::recover(dir)?;
                    return Ok(RunLock { file, path });
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    return Err(Error::RunLocked {
                        dir: dir.to_path_buf(),
                        holder: if holder.is_empty() {
                            "a process that has not recorded itself yet".into()
                        } else {
                            holder.to_string()
                        },
                    });
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked; a process that opened it just before finds, after taking
        // the lock, that the path no longer names its file, and starts over.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        path.exists()
    }
}

/// "pid N, `COMMAND`, started TIME": who holds a lock, for the refusal another writer prints.
fn holder_text() -> String {
    let cmd: Vec<String> = std::env::args().collect();
    format!(
        "pid {}, `{}`, started {}",
        std::process::id(),
        cmd.join(" "),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let first = RunLock::acquire(&dir).unwrap();
        assert!(lock_path(&dir).is_file());
        // flock locks belong to an open file: a second open, even in this process, is refused.
        let e = RunLock::acquire(&dir).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::RunLocked { .. }), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("started"),
            "{msg}"
        );
        drop(first);
        assert!(
            !lock_path(&dir).exists(),
            "the holder removes its lock file"
        );
        let again = RunLock::acquire(&dir).unwrap();
        drop(again);
        assert_eq!(
            lock_path(Path::new("runs/x")),
            PathBuf::from("runs/.x.lock")
        );
        assert_eq!(lock_path(Path::new("x")), PathBuf::from("./.x.lock"));
    }

    #[test]
    fn taking_the_lock_tidies_what_a_killed_writer_left() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        // Killed between moving the old folder aside and renaming the new one in: the old one
        // is put back, the half-written new one is removed; another folder's are left alone.
        let old = tmp.path().join(".lstmcast-old-3-run-abc");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("model.json"), "{}").unwrap();
        let half = tmp.path().join(".lstmcast-tmp-3-run-def");
        std::fs::create_dir(&half).unwrap();
        // The folder "run-x"'s (its prefix starts like ours would without the length).
        let other = tmp.path().join(".lstmcast-tmp-5-run-x-ghi");
        std::fs::create_dir(&other).unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        assert!(dir.join("model.json").is_file());
        assert!(!old.exists() && !half.exists());
        assert!(
            other.exists(),
            "the temporary folder of another output is not ours"
        );
        drop(lock);
        // With the folder in place, a leftover moved-aside copy is stale: removed.
        std::fs::create_dir(&old).unwrap();
        drop(RunLock::acquire(&dir).unwrap());
        assert!(!old.exists() && dir.join("model.json").is_file());
    }
}
