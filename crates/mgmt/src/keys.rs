//! Operations on the instance key (the SSRS symmetric key; `rskeymgmt`): back it up to a
//! password-protected key file, restore it, rotate it re-sealing every stored secret, or
//! start afresh deleting every stored secret.
//!
//! The instance key seals the credentials of shared data sources in the catalog
//! (`<SealedCredentials>`, see `dataprov::rds`) and keys CSRF tokens and the credential
//! cache. Changes happen under the data-dir lock; a rotation is written so that running it
//! again after a crash finishes it (`instance.key.next` holds the new key until every
//! sealed value is re-sealed). The running server keeps the key it loaded until it
//! restarts — as SSRS's tools do, callers restart it after a restore or a rotation.
//!
//! Must not: log, print or return a key or a plaintext secret.

use std::path::PathBuf;

use base64::Engine;
use catalog::{ItemPath, ItemType, NewItem};
use datadir::{DataDir, keyfile, sealed};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// What a key change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// Check value of the key now in use ([`keyfile::check_value`]).
    pub check_value: String,
    /// Shared data sources whose sealed credentials were re-sealed (rotation) or deleted.
    pub data_sources: Vec<String>,
    /// The server must restart to use the new key (it was running).
    pub restart_needed: bool,
}

/// The element of a stored shared data source that holds its sealed credentials
/// (`dataprov::rds::SEALED_ELEMENT`; not imported to keep this crate off the data providers).
const SEALED_ELEMENT: &str = "SealedCredentials";

fn next_key_path(dd: &DataDir) -> PathBuf {
    dd.root().join("instance.key.next")
}

/// The instance key sealed under `password` (the bytes of a key file).
pub fn backup(dd: &DataDir, password: &str) -> Result<(Vec<u8>, String)> {
    dd.require_initialized()?;
    let key = dd.instance_key()?;
    let file = keyfile::seal(&key, password).map_err(|e| Error::Refused(e.to_string()))?;
    Ok((file, keyfile::check_value(&key[..])))
}

/// Replaces the instance key by the one in `file`. Sealed credentials written with another
/// key stay unreadable (as in SSRS): the count of data sources the restored key cannot
/// open is reported so the caller can say so.
pub fn restore(dd: &DataDir, file: &[u8], password: &str) -> Result<(KeyChange, usize)> {
    dd.require_initialized()?;
    let key = keyfile::open(file, password).map_err(|e| Error::Refused(e.to_string()))?;
    {
        let _lock = dd.lock()?;
        dd.replace_instance_key(&key)?;
        let _ = std::fs::remove_file(next_key_path(dd));
    }
    let unreadable = match database_url(dd)? {
        None => Vec::new(),
        Some(url) => block_on(async {
            let cat = catalog::open(&url, false).await.map_err(db_err)?;
            let mut bad = Vec::new();
            for (path, content) in sealed_sources(&*cat).await? {
                if reseal_content(&content, &[&key[..]], None).is_err() {
                    bad.push(path.as_str().to_owned());
                }
            }
            Ok::<_, Error>(bad)
        })??,
    };
    Ok((
        KeyChange {
            check_value: keyfile::check_value(&key[..]),
            data_sources: unreadable.clone(),
            restart_needed: crate::ops::server_running(dd),
        },
        unreadable.len(),
    ))
}

/// ReencryptSecureInformation / `rskeymgmt -s`: a new instance key; every sealed
/// credential in the catalog is opened with the old key and sealed with the new one.
pub fn rotate(dd: &DataDir) -> Result<KeyChange> {
    change_key(dd, false)
}

/// DeleteEncryptedInformation / `rskeymgmt -d`: a new instance key; every sealed
/// credential is deleted (those data sources must be given their credentials again).
pub fn delete_encrypted(dd: &DataDir) -> Result<KeyChange> {
    change_key(dd, true)
}

fn change_key(dd: &DataDir, delete: bool) -> Result<KeyChange> {
    dd.require_initialized()?;
    let _lock = dd.lock()?;
    let old = dd.instance_key()?;
    let next_path = next_key_path(dd);
    // A rotation that was interrupted left its new key: reuse it, so values it already
    // re-sealed stay readable.
    let next: Zeroizing<[u8; 32]> = match std::fs::read(&next_path) {
        Ok(b) if b.len() == 32 => {
            let mut k = Zeroizing::new([0u8; 32]);
            k.copy_from_slice(&b);
            k
        }
        _ => {
            let mut k = Zeroizing::new([0u8; 32]);
            aws_lc_rs::rand::fill(&mut k[..])
                .map_err(|_| Error::Refused("no randomness for a new key".into()))?;
            datadir::atomic_write(&next_path, &k[..], 0o600)?;
            k
        }
    };
    let mut done = Vec::new();
    if let Some(url) = database_url(dd)? {
        done = block_on(async {
            let cat = catalog::open(&url, false).await.map_err(db_err)?;
            let mut done = Vec::new();
            for (path, content) in sealed_sources(&*cat).await? {
                let new_content = if delete {
                    remove_sealed(&content)?
                } else {
                    reseal_content(&content, &[&old[..], &next[..]], Some(&next[..]))?
                };
                if new_content != content {
                    cat.put_item(NewItem {
                        path: &path,
                        item_type: ItemType::DataSource,
                        content: &new_content,
                        mime_type: None,
                        description: &description_of(&*cat, &path).await?,
                        by: "reportctl keys",
                        overwrite: true,
                    })
                    .await
                    .map_err(db_err)?;
                    done.push(path.as_str().to_owned());
                }
            }
            Ok::<_, Error>(done)
        })??;
    }
    dd.replace_instance_key(&next)?;
    let _ = std::fs::remove_file(&next_path);
    Ok(KeyChange {
        check_value: keyfile::check_value(&next[..]),
        data_sources: done,
        restart_needed: crate::ops::server_running(dd),
    })
}

async fn description_of(cat: &dyn catalog::Catalog, path: &ItemPath) -> Result<String> {
    Ok(cat
        .get_item(path)
        .await
        .map_err(db_err)?
        .map(|i| i.description)
        .unwrap_or_default())
}

/// Every shared data source whose definition holds sealed credentials, with its content.
async fn sealed_sources(cat: &dyn catalog::Catalog) -> Result<Vec<(ItemPath, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut folders = vec![ItemPath::root()];
    // Bounded by the catalog's size; folders are visited once each.
    while let Some(f) = folders.pop() {
        for item in cat.list_children(&f).await.map_err(db_err)? {
            match item.item_type {
                ItemType::Folder => folders.push(item.path),
                ItemType::DataSource => {
                    let content = cat.get_content(&item.path).await.map_err(db_err)?;
                    if sealed_range(&content).is_some() {
                        out.push((item.path, content));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Byte ranges of the `<SealedCredentials>` element and of its text, when present.
fn sealed_range(content: &[u8]) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let text = std::str::from_utf8(content).ok()?;
    let doc = roxmltree::Document::parse(text).ok()?;
    let el = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == SEALED_ELEMENT)?;
    let t = el.first_child().filter(|c| c.is_text())?;
    Some((el.range(), t.range()))
}

/// The definition with its sealed value opened with the first of `keys` that opens it and
/// sealed again with `to` (None: only check that one opens it).
fn reseal_content(content: &[u8], keys: &[&[u8]], to: Option<&[u8]>) -> Result<Vec<u8>> {
    let Some((_, text)) = sealed_range(content) else {
        return Ok(content.to_vec());
    };
    let b64 = std::str::from_utf8(&content[text.clone()]).unwrap_or("");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| Error::Refused("a sealed credential is not base64".into()))?;
    let plain = keys
        .iter()
        .find_map(|k| sealed::open(k, &raw).ok())
        .ok_or_else(|| {
            Error::Refused(
                "a data source's sealed credentials open with neither the current nor the new key; restore the key they were sealed with, or use DeleteEncryptedInformation".into(),
            )
        })?;
    let Some(to) = to else {
        return Ok(content.to_vec());
    };
    let resealed = sealed::seal(to, &plain).map_err(|e| Error::Refused(e.to_string()))?;
    let mut out = content[..text.start].to_vec();
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(resealed)
            .as_bytes(),
    );
    out.extend_from_slice(&content[text.end..]);
    Ok(out)
}

/// The definition without its `<SealedCredentials>` element.
fn remove_sealed(content: &[u8]) -> Result<Vec<u8>> {
    let Some((el, _)) = sealed_range(content) else {
        return Ok(content.to_vec());
    };
    let mut end = el.end;
    // The line break after the element goes with it.
    if content.get(end) == Some(&b'\n') {
        end += 1;
    }
    let mut start = el.start;
    while start > 0 && content[start - 1] == b' ' {
        start -= 1;
    }
    let mut out = content[..start].to_vec();
    out.extend_from_slice(&content[end..]);
    Ok(out)
}

/// The catalog URL of the data dir, resolved; None when no database is configured.
pub(crate) fn database_url(dd: &DataDir) -> Result<Option<zeroize::Zeroizing<String>>> {
    let cfg = dd.load_config()?;
    Ok(cfg
        .settings
        .database()?
        .map(|u| u.connect_string(dd.root())))
}

pub(crate) fn db_err(e: catalog::Error) -> Error {
    Error::Refused(format!("report server database: {e}"))
}

/// Runs `f` on a current-thread runtime (the operations are blocking; callers in async code
/// use `spawn_blocking`).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Refused(format!("cannot start a runtime: {e}")))?;
    Ok(rt.block_on(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: [u8; 32] = [1; 32];
    const NEW: [u8; 32] = [2; 32];

    fn definition(key: &[u8]) -> Vec<u8> {
        let sealed = base64::engine::general_purpose::STANDARD
            .encode(sealed::seal(key, b"payload").unwrap());
        format!(
            "<?xml version=\"1.0\"?>\n<DataSourceDefinition>\n  <Extension>SQL</Extension>\n  <SealedCredentials>{sealed}</SealedCredentials>\n</DataSourceDefinition>\n"
        )
        .into_bytes()
    }

    #[test]
    fn reseal_moves_a_value_to_the_new_key_and_is_idempotent() {
        let d = definition(&OLD);
        let r = reseal_content(&d, &[&OLD, &NEW], Some(&NEW)).unwrap();
        assert_ne!(r, d);
        assert!(
            reseal_content(&r, &[&OLD], None).is_err(),
            "old key no longer opens it"
        );
        assert!(reseal_content(&r, &[&NEW], None).is_ok());
        // Run again after a crash: values already moved still open with the new key.
        let again = reseal_content(&r, &[&OLD, &NEW], Some(&NEW)).unwrap();
        assert!(reseal_content(&again, &[&NEW], None).is_ok());
        let s = String::from_utf8(r).unwrap();
        assert!(
            s.contains("<Extension>SQL</Extension>") && s.ends_with("</DataSourceDefinition>\n")
        );
    }

    #[test]
    fn remove_sealed_drops_only_that_element() {
        let d = definition(&OLD);
        let r = String::from_utf8(remove_sealed(&d).unwrap()).unwrap();
        assert!(!r.contains("SealedCredentials"), "{r}");
        assert!(
            r.contains("  <Extension>SQL</Extension>\n</DataSourceDefinition>"),
            "{r}"
        );
        assert!(sealed_range(r.as_bytes()).is_none());
        let plain = b"<DataSourceDefinition/>".to_vec();
        assert_eq!(remove_sealed(&plain).unwrap(), plain);
        assert_eq!(reseal_content(&plain, &[&OLD], Some(&NEW)).unwrap(), plain);
    }
}
