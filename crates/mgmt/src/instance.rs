//! A new instance made as one operation that commits once ([`Staged`]): everything is built
//! in a staging directory beside the data dir, and the instance appears with the last
//! step — the staging directory renamed to the data dir (or, when the data dir exists with
//! other files in it, its entries moved in, `reportd.toml` last: the data dir counts as
//! initialized once that file exists). A failure before that leaves nothing behind: the
//! staging directory is removed, the data dir is as it was.
//!
//! Used by `reportd quickstart` (instance, catalog, samples, certificate and https binding
//! in one go). Must not know what is built: the caller fills [`Staged::data_dir`].

use std::path::{Path, PathBuf};

use datadir::DataDir;

use crate::{Error, Result};

/// An instance being built; removed when dropped uncommitted.
#[derive(Debug)]
pub struct Staged {
    target: DataDir,
    stage: PathBuf,
    committed: bool,
}

impl Staged {
    /// Starts a new instance for `target`, which must not be initialized. The staging
    /// directory is a sibling (same file system, so the commit is a rename), mode 0700.
    pub fn new(target: &DataDir) -> Result<Staged> {
        if target.is_initialized() {
            return Err(datadir::Error::AlreadyInitialized(target.root().to_owned()).into());
        }
        let root = std::path::absolute(target.root()).map_err(|e| io(target.root(), e))?;
        let parent = root.parent().unwrap_or(Path::new("/")).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
        // Short: the staging dir's socket path must fit like the data dir's.
        let stage = parent.join(format!(".rs-new-{}", std::process::id()));
        if stage.exists() {
            // Left over from a process of the same pid that was killed mid-build.
            std::fs::remove_dir_all(&stage).map_err(|e| io(&stage, e))?;
        }
        DataDir::new(&stage).create_dirs()?;
        Ok(Staged {
            target: target.clone(),
            stage,
            committed: false,
        })
    }

    /// The data dir to build the instance in. Paths that end up in files (a data source's
    /// directory, say) must be those of [`Staged::target`], where the instance will live.
    pub fn data_dir(&self) -> DataDir {
        DataDir::new(&self.stage)
    }

    /// Where the instance will live.
    pub fn target(&self) -> &DataDir {
        &self.target
    }

    /// Makes the instance appear at the target, as the one commit. Refused (and nothing
    /// moved) if the target was initialized meanwhile or holds a file of the same name.
    pub fn commit(mut self) -> Result<()> {
        let target = self.target.root().to_path_buf();
        if self.target.is_initialized() {
            return Err(datadir::Error::AlreadyInitialized(target).into());
        }
        let empty_or_missing = match std::fs::read_dir(&target) {
            Ok(mut rd) => rd.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io(&target, e)),
        };
        if empty_or_missing {
            // rename(2) replaces an empty directory.
            std::fs::rename(&self.stage, &target).map_err(|e| io(&target, e))?;
        } else {
            self.move_entries(&target)?;
            let _ = std::fs::remove_dir(&self.stage);
        }
        self.committed = true;
        Ok(())
    }

    /// Moves the staged entries into an existing directory, `reportd.toml` last; on a
    /// failure the entries moved so far go back.
    fn move_entries(&self, target: &Path) -> Result<()> {
        let config = self.data_dir().config_path();
        let config_name = config.file_name().map(ToOwned::to_owned);
        let mut names: Vec<_> = std::fs::read_dir(&self.stage)
            .map_err(|e| io(&self.stage, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        // Sorted with reportd.toml last: it is the commit.
        names.sort_by_key(|n| (Some(n) == config_name.as_ref(), n.clone()));
        if let Some(n) = names.iter().find(|n| target.join(n).exists()) {
            return Err(Error::Refused(format!(
                "{} already holds {}, which a new instance needs: use an empty or new data dir",
                target.display(),
                n.to_string_lossy()
            )));
        }
        let mut moved = Vec::new();
        for n in &names {
            let (from, to) = (self.stage.join(n), target.join(n));
            if let Err(e) = std::fs::rename(&from, &to) {
                for n in moved.iter().rev() {
                    let _ = std::fs::rename(target.join(n), self.stage.join(n));
                }
                return Err(io(&to, e));
            }
            moved.push(n.clone());
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed
            && self.stage.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.stage)
        {
            tracing::warn!(
                "could not remove the staging directory {}: {e}",
                self.stage.display()
            );
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Refused(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(s: &Staged) {
        let dd = s.data_dir();
        std::fs::write(dd.root().join("catalog.db"), b"x").unwrap();
        datadir::Config::write(
            &dd.config_path(),
            &datadir::Settings::new("id".into()),
            &httpsys::Repository::default().repr(),
        )
        .unwrap();
    }

    #[test]
    fn nothing_appears_until_the_commit_and_nothing_stays_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let target = DataDir::new(tmp.path().join("dd"));
        let s = Staged::new(&target).unwrap();
        build(&s);
        assert!(!target.root().exists(), "built beside, not in place");
        drop(s);
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "an uncommitted instance leaves nothing");

        let s = Staged::new(&target).unwrap();
        build(&s);
        s.commit().unwrap();
        assert!(target.is_initialized());
        assert!(target.root().join("catalog.db").exists());
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("dd")],
            "no staging dir left"
        );
        assert!(matches!(
            Staged::new(&target),
            Err(Error::DataDir(datadir::Error::AlreadyInitialized(_)))
        ));
    }

    #[test]
    fn an_existing_directory_keeps_its_files_and_gets_the_config_last() {
        let tmp = tempfile::tempdir().unwrap();
        let target = DataDir::new(tmp.path().join("dd"));
        std::fs::create_dir(target.root()).unwrap();
        std::fs::write(target.root().join("notes.txt"), b"mine").unwrap();
        let s = Staged::new(&target).unwrap();
        build(&s);
        s.commit().unwrap();
        assert!(target.is_initialized());
        assert_eq!(
            std::fs::read(target.root().join("notes.txt")).unwrap(),
            b"mine"
        );

        // A name the instance needs that is already there: refused, nothing moved.
        let other = DataDir::new(tmp.path().join("other"));
        std::fs::create_dir(other.root()).unwrap();
        std::fs::write(other.root().join("catalog.db"), b"someone else's").unwrap();
        let s = Staged::new(&other).unwrap();
        build(&s);
        let e = s.commit().unwrap_err().to_string();
        assert!(e.contains("already holds catalog.db"), "{e}");
        assert!(!other.is_initialized());
        assert_eq!(
            std::fs::read(other.root().join("catalog.db")).unwrap(),
            b"someone else's"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".rs-new"))
            .collect();
        assert!(left.is_empty(), "staging removed: {left:?}");
    }
}
