//! Operations on the encryption key (the SSRS symmetric key; `rskeymgmt`): back it up to a
//! password-protected key file, restore it, rotate it re-sealing every stored secret, or
//! start afresh deleting every stored secret; in a cluster also join and remove nodes
//! (`InitializeReportServer`, `DeleteEncryptionKey`), which hand out and take back the key.
//!
//! **One node (SQLite catalog):** the instance key is the encryption key. It seals the
//! credentials of shared data sources in the catalog (`<SealedCredentials>`, see
//! `dataprov::rds`) and keys CSRF tokens and the credential cache. Changes happen under the
//! data-dir lock; a rotation is written so that running it again after a crash finishes it
//! (`instance.key.next` holds the new key until every sealed value is re-sealed). The
//! running server keeps the key it loaded until it restarts.
//!
//! **A cluster (PostgreSQL catalog):** one cluster key ([`ClusterKey`], AES-256-GCM) for
//! every node, stored only sealed to each joined node's X25519 public key (its private
//! half derived from the node's instance key: `datadir::sealed`). The first joined node
//! creates it ([`ensure_cluster_key`]); [`join`] on a joined node seals it for a waiting
//! node, which opens it with its own instance key on its next heartbeat (no restart);
//! [`join_with_backup`] lets a waiting node join itself with a backup of the current key.
//! Backup, restore and rotation act on the cluster: a rotation or a restore re-seals every
//! data-source credential, every Cluster-store key and every joined node's copy in one
//! transaction (`catalog::clusterkey::Registry::rekey`); running nodes pick the new version
//! up on their next heartbeat. The instance key is never changed in a cluster (it is the
//! node's identity). Data-source credentials, CSRF tokens and session cookies of a cluster
//! derive from the cluster key, so any node accepts what another served.
//!
//! Must not: log, print or return a key or a plaintext secret.

use std::path::PathBuf;

use base64::Engine;
use catalog::clusterkey::{Rekey, SealedColumn};
use catalog::nodes::Registry;
use catalog::{ItemPath, ItemType, NewItem};
use datadir::sealed::ClusterKey;
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
    audited(
        dd,
        "the encryption key backed up",
        backup_unaudited(dd, password),
        |(_, c)| format!("check value {c}"),
    )
}

fn backup_unaudited(dd: &DataDir, password: &str) -> Result<(Vec<u8>, String)> {
    dd.require_initialized()?;
    if has_cluster_key(dd)? {
        let ck = block_on(async { cluster_key_of(dd, &require_cluster(dd)?).await })??;
        let file =
            keyfile::seal(ck.bytes(), password).map_err(|e| Error::Refused(e.to_string()))?;
        return Ok((file, ck.check_value()));
    }
    let key = dd.instance_key()?;
    let file = keyfile::seal(&key, password).map_err(|e| Error::Refused(e.to_string()))?;
    Ok((file, keyfile::check_value(&key[..])))
}

/// Replaces the instance key by the one in `file`. Sealed credentials written with another
/// key stay unreadable (as in SSRS): the count of data sources the restored key cannot
/// open is reported so the caller can say so.
pub fn restore(dd: &DataDir, file: &[u8], password: &str) -> Result<(KeyChange, usize)> {
    audited(
        dd,
        "the encryption key restored",
        restore_unaudited(dd, file, password),
        |(c, _)| format!("check value {}", c.check_value),
    )
}

fn restore_unaudited(dd: &DataDir, file: &[u8], password: &str) -> Result<(KeyChange, usize)> {
    dd.require_initialized()?;
    let key = keyfile::open(file, password).map_err(|e| Error::Refused(e.to_string()))?;
    if has_cluster_key(dd)? {
        return block_on(async { restore_cluster(dd, &require_cluster(dd)?, key).await })?;
    }
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
    audited(
        dd,
        "the encryption key rotated",
        rotate_unaudited(dd),
        |c| {
            format!(
                "check value {}, {} data source(s) re-sealed",
                c.check_value,
                c.data_sources.len()
            )
        },
    )
}

fn rotate_unaudited(dd: &DataDir) -> Result<KeyChange> {
    if has_cluster_key(dd)? {
        return block_on(async {
            rekey_cluster(dd, &require_cluster(dd)?, None, None, false).await
        })?
        .map(|(c, _)| c);
    }
    change_key(dd, false)
}

/// DeleteEncryptedInformation / `rskeymgmt -d`: a new instance key; every sealed
/// credential is deleted (those data sources must be given their credentials again).
pub fn delete_encrypted(dd: &DataDir) -> Result<KeyChange> {
    audited(
        dd,
        "the encrypted content deleted",
        delete_encrypted_unaudited(dd),
        |c| format!("check value {}", c.check_value),
    )
}

fn delete_encrypted_unaudited(dd: &DataDir) -> Result<KeyChange> {
    if has_cluster_key(dd)? {
        return block_on(async {
            rekey_cluster(dd, &require_cluster(dd)?, None, None, true).await
        })?
        .map(|(c, _)| c);
    }
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

// ------------------------------------------------------------------------- the cluster

/// Who made a change, in the key table.
const BY: &str = "reportd keys";

/// Whether the data dir's catalog is PostgreSQL (a cluster, maybe of one node); with an
/// embedded (SQLite) catalog or none at all the instance key is the encryption key.
pub fn is_clustered(dd: &DataDir) -> Result<bool> {
    let cfg = dd.load_config()?;
    Ok(cfg
        .settings
        .database()?
        .is_some_and(|u| u.backend() == datadir::Backend::Postgres))
}

/// Whether the data dir's PostgreSQL catalog has a cluster key: until its first node has
/// started (and created it from the instance key, [`ensure_cluster_key`]) the instance key
/// is the encryption key, as on one node.
pub fn has_cluster_key(dd: &DataDir) -> Result<bool> {
    if !is_clustered(dd)? {
        return Ok(false);
    }
    block_on(async {
        Ok::<_, Error>(
            require_cluster(dd)?
                .current_key()
                .await
                .map_err(db_err)?
                .is_some(),
        )
    })?
}

/// The node table of the data dir's PostgreSQL catalog; None when [`is_clustered`] is
/// false. Must be called within a Tokio runtime (the pool connects lazily on it).
pub fn cluster(dd: &DataDir) -> Result<Option<Registry>> {
    let cfg = dd.load_config()?;
    let Some(url) = cfg.settings.database()? else {
        return Ok(None);
    };
    if url.backend() != datadir::Backend::Postgres {
        return Ok(None);
    }
    let url = url.connect_string(dd.root());
    Registry::open(&url).map(Some).map_err(db_err)
}

/// The installation id of a data dir: a UUID-shaped digest of its instance key (a copy of
/// the data dir has the same one, as a copied SSRS configuration keeps its InstallationID).
pub fn installation_id(dd: &DataDir) -> Result<String> {
    let key = dd.instance_key()?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"reportd installation id\0");
    ctx.update(&key[..]);
    let d = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    // Shaped as a version 4 UUID.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// The node's X25519 public key, published in its row.
pub fn node_public_key(dd: &DataDir) -> Result<Vec<u8>> {
    let key = dd.instance_key()?;
    sealed::node_public_key(&key[..]).map_err(|e| Error::Refused(e.to_string()))
}

/// Associated data of a node's copy: its row and the key version.
fn copy_aad(installation_id: &str, version: i64) -> Vec<u8> {
    format!("reportd cluster key/{installation_id}/{version}").into_bytes()
}

/// Associated data of a value of a [`SealedColumn`] row.
pub fn row_aad(col: &SealedColumn, id: &str) -> Vec<u8> {
    format!("{}/{id}", col.table).into_bytes()
}

/// The encryption key this node uses now: the cluster key of a PostgreSQL catalog (this
/// node's copy, opened with its instance key) once the database has one, else the
/// instance key (version 0).
pub fn cluster_key(dd: &DataDir) -> Result<ClusterKey> {
    block_on(cluster_key_async(dd))?
}

/// [`cluster_key`] for async callers.
pub async fn cluster_key_async(dd: &DataDir) -> Result<ClusterKey> {
    match cluster(dd)? {
        // Before its first node started, a PostgreSQL database has no cluster key yet:
        // the instance key seals, and the first start moves what it sealed.
        Some(reg) if reg.current_key().await.map_err(db_err)?.is_some() => {
            cluster_key_of(dd, &reg).await
        }
        _ => Ok(ClusterKey::new(dd.instance_key()?, 0)),
    }
}

/// This node's copy of the cluster key, opened. Refused while the node is not joined, and
/// with a clear error when its copy does not open with this data dir's instance key.
pub async fn cluster_key_of(dd: &DataDir, reg: &Registry) -> Result<ClusterKey> {
    let me = installation_id(dd)?;
    let row = reg.node_key(&me).await.map_err(db_err)?.ok_or_else(|| {
        Error::Refused(format!(
            "this node ({me}) has not registered with the report server database yet; start its server first"
        ))
    })?;
    if row.state != "joined" {
        return Err(Error::Refused(format!(
            "this node ({me}) is {} and holds no cluster key; join it from a joined node, or join it with a backup of the cluster key",
            row.state
        )));
    }
    let Some(sealed_copy) = row.sealed_key else {
        return Err(Error::Refused(format!(
            "this node ({me}) holds no copy of the cluster key; join it again from a joined node"
        )));
    };
    open_copy(dd, &me, row.key_version, &sealed_copy)
}

/// Opens a node's sealed copy with this data dir's instance key.
pub fn open_copy(dd: &DataDir, me: &str, version: i64, sealed_copy: &[u8]) -> Result<ClusterKey> {
    let key = dd.instance_key()?;
    let k = sealed::open_as_node(&key[..], &copy_aad(me, version), sealed_copy).map_err(|_| {
        Error::Refused(format!(
            "this node's copy of the cluster key (version {version}) does not open with this data dir's instance key: the copy was sealed for another key (a data dir copied or restored with another instance.key, or a database of another cluster); join this node again from a joined node, or restore the cluster key from its backup"
        ))
    })?;
    Ok(ClusterKey::new(k, version))
}

/// At server start on a joined node: creates the cluster key (version 1, sealed for this
/// node) when the database has none yet. Returns this node's key when it is joined.
pub async fn ensure_cluster_key(dd: &DataDir, reg: &Registry) -> Result<Option<ClusterKey>> {
    let me = installation_id(dd)?;
    let Some(row) = reg.node_key(&me).await.map_err(db_err)? else {
        return Ok(None);
    };
    if row.state != "joined" {
        return Ok(None);
    }
    if reg.current_key().await.map_err(db_err)?.is_none() {
        // What the instance key sealed while this was a one-node database moves to the new
        // cluster key in the same transaction. Another node racing this one wins or loses
        // on the expected version; the loser reads its copy.
        let from = ClusterKey::new(dd.instance_key()?, 0);
        match rekey_cluster(dd, reg, Some(from), None, false).await {
            Ok((c, _)) => {
                tracing::info!(installation_id = %me, check_value = %c.check_value, "created the cluster key from this node's instance key");
            }
            Err(e) => tracing::info!("the cluster key was created meanwhile: {e}"),
        }
    }
    cluster_key_of(dd, reg).await.map(Some)
}

/// Every node of the cluster (`cluster status`), and this node's installation id; None
/// for a one-node instance (SQLite catalog).
pub fn nodes(dd: &DataDir) -> Result<Option<(String, Vec<catalog::nodes::Node>)>> {
    if !is_clustered(dd)? {
        return Ok(None);
    }
    let me = installation_id(dd)?;
    let list = block_on(async { require_cluster(dd)?.list().await.map_err(db_err) })??;
    Ok(Some((me, list)))
}

/// What a join or a removal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChange {
    pub installation_id: String,
    /// The node's state now.
    pub state: String,
    /// The key version it holds now (0: none).
    pub key_version: i64,
    /// Nothing to do: it was already in that state.
    pub unchanged: bool,
}

/// `InitializeReportServer(InstallationID)` / `rskeymgmt -j`: on a joined node, seals the
/// cluster key for the node `target` (its published public key) and marks it joined. The
/// node picks its copy up on its next heartbeat. A node already joined with the current
/// key is left as it is.
pub fn join(dd: &DataDir, target: &str) -> Result<NodeChange> {
    audited(dd, "cluster join", join_unaudited(dd, target), |c| {
        format!("{} {}", c.installation_id, c.state)
    })
}

fn join_unaudited(dd: &DataDir, target: &str) -> Result<NodeChange> {
    block_on(async { join_async(dd, &require_cluster(dd)?, target).await })?
}

/// [`join`] for async callers that have the registry.
pub async fn join_async(dd: &DataDir, reg: &Registry, target: &str) -> Result<NodeChange> {
    let target = target.trim();
    let ck = require_joined(dd, reg, "join").await?;
    let row = reg
        .node_key(target)
        .await
        .map_err(db_err)?
        .ok_or_else(|| unknown_node(target))?;
    if row.state == "joined" && row.key_version == ck.version() && row.sealed_key.is_some() {
        return Ok(NodeChange {
            installation_id: target.to_owned(),
            state: row.state,
            key_version: row.key_version,
            unchanged: true,
        });
    }
    let pk = row.public_key.ok_or_else(|| {
        Error::Refused(format!(
            "the node {target} has published no public key (it runs an older reportd); upgrade and start it, then join it"
        ))
    })?;
    let copy = sealed::seal_for_node(&pk, &copy_aad(target, ck.version()), ck.bytes())
        .map_err(|e| Error::Refused(format!("the node {target}'s public key: {e}")))?;
    reg.grant(target, ck.version(), &copy)
        .await
        .map_err(db_err)?;
    tracing::info!(installation_id = %target, key_version = ck.version(), "node joined: cluster key sealed for it");
    Ok(NodeChange {
        installation_id: target.to_owned(),
        state: "joined".into(),
        key_version: ck.version(),
        unchanged: false,
    })
}

/// A waiting (or removed) node joins itself with a backup of the cluster's current key
/// (`RestoreEncryptionKey` on a new node): the backup must hold the current key (its check
/// value is compared); a wrong password or another key changes nothing.
pub fn join_with_backup(dd: &DataDir, file: &[u8], password: &str) -> Result<NodeChange> {
    audited(
        dd,
        "cluster join with a key backup",
        join_with_backup_unaudited(dd, file, password),
        |c| format!("{} {}", c.installation_id, c.state),
    )
}

fn join_with_backup_unaudited(dd: &DataDir, file: &[u8], password: &str) -> Result<NodeChange> {
    is_clustered(dd)?.then_some(()).ok_or_else(not_clustered)?;
    let key = keyfile::open(file, password).map_err(|e| Error::Refused(e.to_string()))?;
    block_on(async {
        let reg = require_cluster(dd)?;
        let me = installation_id(dd)?;
        let current = reg.current_key().await.map_err(db_err)?.ok_or_else(|| {
            Error::Refused(
                "the cluster has no key yet: its first node creates it when it starts".into(),
            )
        })?;
        let check = keyfile::check_value(&key[..]);
        if check != current.check_value {
            return Err(Error::Refused(format!(
                "the backup holds the key with check value {check}, but the cluster's current key (version {}) has check value {}; use a backup of the current key, or join this node from a joined node",
                current.version, current.check_value
            )));
        }
        reg.node_key(&me).await.map_err(db_err)?.ok_or_else(|| {
            Error::Refused(format!(
                "this node ({me}) has not registered with the report server database yet; start its server first"
            ))
        })?;
        let pk = node_public_key(dd)?;
        let copy = sealed::seal_for_node(&pk, &copy_aad(&me, current.version), &key)
            .map_err(|e| Error::Refused(e.to_string()))?;
        reg.grant(&me, current.version, &copy)
            .await
            .map_err(db_err)?;
        tracing::info!(installation_id = %me, key_version = current.version, "node joined with a backup of the cluster key");
        Ok(NodeChange {
            installation_id: me,
            state: "joined".into(),
            key_version: current.version,
            unchanged: false,
        })
    })?
}

/// `DeleteEncryptionKey(InstallationID)` / `rskeymgmt -r`: on a joined node, removes the
/// node `target` from the cluster and deletes its copy of the key (it answers 503 from its
/// next heartbeat). The last joined node is never removed.
pub fn remove(dd: &DataDir, target: &str) -> Result<NodeChange> {
    audited(dd, "cluster remove", remove_unaudited(dd, target), |c| {
        format!("{} {}", c.installation_id, c.state)
    })
}

fn remove_unaudited(dd: &DataDir, target: &str) -> Result<NodeChange> {
    block_on(async { remove_async(dd, &require_cluster(dd)?, target).await })?
}

/// [`remove`] for async callers that have the registry.
pub async fn remove_async(dd: &DataDir, reg: &Registry, target: &str) -> Result<NodeChange> {
    let target = target.trim();
    require_joined(dd, reg, "remove").await?;
    let row = reg
        .node_key(target)
        .await
        .map_err(db_err)?
        .ok_or_else(|| unknown_node(target))?;
    if row.state == "removed" {
        return Ok(NodeChange {
            installation_id: target.to_owned(),
            state: row.state,
            key_version: 0,
            unchanged: true,
        });
    }
    reg.revoke(target).await.map_err(db_err)?;
    tracing::info!(installation_id = %target, "node removed: its copy of the cluster key deleted");
    Ok(NodeChange {
        installation_id: target.to_owned(),
        state: "removed".into(),
        key_version: 0,
        unchanged: false,
    })
}

/// Logs the outcome of a key operation: this process's log, and the running server's
/// (its audit line over the management socket, which also has it forget cached pages), so
/// that a refused restore or join shows in the server's log too. Never a key or password.
fn audited<T>(dd: &DataDir, what: &str, r: Result<T>, ok: impl FnOnce(&T) -> String) -> Result<T> {
    let line = match &r {
        Ok(v) => {
            let l = format!("{what}: {}", ok(v));
            tracing::info!("{l}");
            l
        }
        Err(e) => {
            let l = format!("{what} refused: {e}");
            tracing::error!("{l}");
            l
        }
    };
    crate::ops::catalog_changed_by(dd, &line);
    r
}

/// [`cluster`], refused for a one-node instance. Within a Tokio runtime.
fn require_cluster(dd: &DataDir) -> Result<Registry> {
    cluster(dd)?.ok_or_else(not_clustered)
}

fn not_clustered() -> Error {
    Error::Refused(
        "this instance uses an embedded SQLite catalog, which one node only uses; a cluster shares a PostgreSQL report server database".into(),
    )
}

/// This node's key, refused unless it is joined (`what` names the operation).
async fn require_joined(dd: &DataDir, reg: &Registry, what: &str) -> Result<ClusterKey> {
    cluster_key_of(dd, reg).await.map_err(|e| match e {
        Error::Refused(m) => Error::Refused(format!("cannot {what} a node: {m}")),
        other => other,
    })
}

fn unknown_node(id: &str) -> Error {
    Error::Refused(format!(
        "no node with the installation id {id} uses this database (the cluster status lists them)"
    ))
}

/// Restore in a cluster: the backed-up key becomes the cluster's current key (a new
/// version), everything sealed with the current key is moved to it, and this node is
/// joined with it.
async fn restore_cluster(
    dd: &DataDir,
    reg: &Registry,
    key: Zeroizing<[u8; 32]>,
) -> Result<(KeyChange, usize)> {
    let me = installation_id(dd)?;
    reg.node_key(&me).await.map_err(db_err)?.ok_or_else(|| {
        Error::Refused(format!(
            "this node ({me}) has not registered with the report server database yet; start its server first"
        ))
    })?;
    rekey_cluster(dd, reg, None, Some(key), false).await
}

/// A rotation (`to` None: a new random key) or a restore (`to`: the backed-up key) of the
/// cluster key; `delete` drops the data sources' sealed credentials instead of moving them.
async fn rekey_cluster(
    dd: &DataDir,
    reg: &Registry,
    from: Option<ClusterKey>,
    to: Option<Zeroizing<[u8; 32]>>,
    delete: bool,
) -> Result<(KeyChange, usize)> {
    let restoring = to.is_some();
    // A restore may run on a node that cannot open the current key (lost, or never had
    // it): what the old key sealed then stays as it is and is reported unreadable.
    let current = match from {
        Some(k) => Ok(k),
        None => cluster_key_of(dd, reg).await,
    };
    let old = match current {
        Ok(k) => Some(k),
        Err(e) if restoring => {
            tracing::warn!("restoring the cluster key on a node without the current key: {e}");
            None
        }
        Err(e) => {
            return Err(match e {
                Error::Refused(m) => Error::Refused(format!("cannot change the cluster key: {m}")),
                other => other,
            });
        }
    };
    let expected = reg
        .current_key()
        .await
        .map_err(db_err)?
        .map_or(0, |k| k.version);
    let version = reg.next_key_version().await.map_err(db_err)?;
    let new = match to {
        Some(k) => ClusterKey::new(k, version),
        None => ClusterKey::generate(version).map_err(|e| Error::Refused(e.to_string()))?,
    };
    let me = installation_id(dd)?;
    let unreadable = std::sync::Mutex::new(Vec::<String>::new());
    let note = |what: String| {
        unreadable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what)
    };
    let mut keys: Vec<&[u8]> = Vec::new();
    if let Some(o) = &old {
        keys.push(&o.bytes()[..]);
    }
    keys.push(&new.bytes()[..]);
    let seal_copy = |id: &str, pk: &[u8]| {
        sealed::seal_for_node(pk, &copy_aad(id, version), new.bytes()).map_err(|e| e.to_string())
    };
    let reseal_source =
        |path: &str, content: &[u8]| -> std::result::Result<Option<Vec<u8>>, String> {
            if sealed_range(content).is_none() {
                return Ok(None);
            }
            let out = if delete {
                remove_sealed(content)
            } else {
                match reseal_content(content, &keys, Some(&new.bytes()[..])) {
                    Err(_) if restoring => {
                        note(path.to_owned());
                        return Ok(None);
                    }
                    other => other,
                }
            };
            out.map(Some).map_err(|e| e.to_string())
        };
    let reseal_row =
        |col: &SealedColumn, id: &str, blob: &[u8]| -> std::result::Result<Vec<u8>, String> {
            let aad = row_aad(col, id);
            let plain = old
                .as_ref()
                .and_then(|o| o.open(&aad, blob).ok())
                .or_else(|| new.open(&aad, blob).ok());
            match plain {
                Some(p) => new.seal(&aad, &p).map_err(|e| e.to_string()),
                None if restoring => {
                    note(format!("{}/{id}", col.table));
                    Ok(blob.to_vec())
                }
                None => Err("it opens with neither the current nor the new cluster key".into()),
            }
        };
    let check = new.check_value();
    let plan = Rekey {
        expected_version: expected,
        new_version: version,
        check_value: &check,
        by: BY,
        join: restoring.then_some(me.as_str()),
        seal_copy: &seal_copy,
        reseal_source: &reseal_source,
        reseal_row: &reseal_row,
    };
    let done = reg.rekey(&plan).await.map_err(db_err)?;
    let unreadable = unreadable.into_inner().unwrap_or_else(|p| p.into_inner());
    tracing::info!(
        key_version = version,
        check_value = %check,
        data_sources = done.data_sources.len(),
        sealed_rows = done.rows,
        nodes = done.nodes.len(),
        "cluster key {}", if restoring { "restored" } else { "rotated" }
    );
    let n = unreadable.len();
    Ok((
        KeyChange {
            check_value: check,
            data_sources: if restoring {
                unreadable
            } else {
                done.data_sources
            },
            restart_needed: false,
        },
        n,
    ))
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
