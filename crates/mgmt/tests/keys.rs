//! The instance-key operations against a real data dir and a real SQLite catalog: a rotation
//! re-seals a stored data source's credentials with the new key, deleting encrypted content
//! removes them, and a backup restores the key it was made of.

use base64::Engine;
use catalog::{ItemPath, ItemType, NewItem};
use datadir::{Config, DataDir, Settings, sealed};
use httpsys::Repository;

fn instance() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("data"));
    dd.create_dirs().unwrap();
    dd.create_instance_key().unwrap();
    let mut s = Settings::new("11111111-2222-3333-4444-555555555555".into());
    s.database_url = Some("sqlite:catalog.db".into());
    Config::write(&dd.config_path(), &s, &Repository::default().repr()).unwrap();
    (tmp, dd)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn catalog_url(dd: &DataDir) -> String {
    format!("sqlite:{}", dd.root().join("catalog.db").display())
}

fn sealed_of(content: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(content).unwrap();
    let start = s.find("<SealedCredentials>")? + "<SealedCredentials>".len();
    let end = s.find("</SealedCredentials>")?;
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(&s[start..end])
            .unwrap(),
    )
}

#[test]
fn rotate_reseals_and_delete_encrypted_removes_stored_credentials() {
    let (_tmp, dd) = instance();
    let old = dd.instance_key().unwrap();
    let path = ItemPath::parse("/Sales DB").unwrap();
    let definition = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DataSourceDefinition xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource\">\n  <Extension>POSTGRESQL</Extension>\n  <ConnectString>Host=db</ConnectString>\n  <CredentialRetrieval>Store</CredentialRetrieval>\n  <UserName>u</UserName>\n  <SealedCredentials>{}</SealedCredentials>\n</DataSourceDefinition>\n",
        base64::engine::general_purpose::STANDARD
            .encode(sealed::seal(&old[..], b"the stored secret").unwrap())
    );
    let url = catalog_url(&dd);
    rt().block_on(async {
        let cat = catalog::open(&url, true).await.unwrap();
        cat.put_item(NewItem {
            path: &path,
            item_type: ItemType::DataSource,
            content: definition.as_bytes(),
            mime_type: None,
            description: "sales",
            by: "test",
            overwrite: false,
        })
        .await
        .unwrap();
    });

    let change = mgmt::keys::rotate(&dd).unwrap();
    assert_eq!(change.data_sources, vec!["/Sales DB".to_string()]);
    assert!(!change.restart_needed, "no server runs");
    let new = dd.instance_key().unwrap();
    assert_ne!(&old[..], &new[..]);
    assert_eq!(change.check_value, datadir::keyfile::check_value(&new[..]));
    assert!(!dd.root().join("instance.key.next").exists());
    let (content, desc) = rt().block_on(async {
        let cat = catalog::open(&url, false).await.unwrap();
        (
            cat.get_content(&path).await.unwrap(),
            cat.get_item(&path).await.unwrap().unwrap().description,
        )
    });
    assert_eq!(desc, "sales", "properties kept");
    let raw = sealed_of(&content).expect("still sealed");
    assert_eq!(
        &sealed::open(&new[..], &raw).unwrap()[..],
        b"the stored secret"
    );
    assert!(
        sealed::open(&old[..], &raw).is_err(),
        "the old key no longer opens it"
    );

    // A backup of the new key restores it after another rotation.
    let (file, check) = mgmt::keys::backup(&dd, "backup password").unwrap();
    mgmt::keys::rotate(&dd).unwrap();
    let (restored, unreadable) = mgmt::keys::restore(&dd, &file, "backup password").unwrap();
    assert_eq!(restored.check_value, check);
    assert_eq!(&dd.instance_key().unwrap()[..], &new[..]);
    assert_eq!(
        unreadable, 1,
        "the data source was re-sealed with the newer key: reported as unreadable"
    );
    assert!(mgmt::keys::restore(&dd, &file, "wrong password").is_err());

    // DeleteEncryptedInformation: a new key and no sealed credentials left.
    let change = mgmt::keys::delete_encrypted(&dd).unwrap();
    assert_eq!(change.data_sources, vec!["/Sales DB".to_string()]);
    let content = rt().block_on(async {
        let cat = catalog::open(&url, false).await.unwrap();
        cat.get_content(&path).await.unwrap()
    });
    let text = String::from_utf8(content).unwrap();
    assert!(sealed_of(text.as_bytes()).is_none(), "{text}");
    assert!(text.contains("<UserName>u</UserName>"), "{text}");
}
