//! Shared data source secrets over HTTP, in process: a portal upload of an `.rds` with a
//! password stores it sealed (the catalog's bytes hold neither the password nor the
//! connect string's), nothing served shows it, and a stored sealed value that was changed
//! (or sealed under another instance key) renders as a clear error page, not a 500.

mod common;

use catalog::{ItemPath, ItemType, NewItem};
use common::*;

const PASSWORD: &str = "Sealed-Pw-9f3a";
const CS_PASSWORD: &str = "Conn-Pw-41c2";

fn rds() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource">
  <Extension>POSTGRESQL</Extension>
  <ConnectString>host=127.0.0.1 port=1 dbname=x password={CS_PASSWORD}</ConnectString>
  <CredentialRetrieval>Store</CredentialRetrieval>
  <UserName>reader</UserName>
  <Password>{PASSWORD}</Password>
</DataSourceDefinition>"#
    )
}

/// A report whose one data set runs on the shared data source `reference`.
fn report(reference: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <DataSources><DataSource Name="DS"><DataSourceReference>{reference}</DataSourceReference></DataSource></DataSources>
  <DataSets><DataSet Name="Q"><Query><DataSourceName>DS</DataSourceName><CommandText>SELECT 1 AS n</CommandText></Query>
    <Fields><Field Name="n"><DataField>n</DataField></Field></Fields></DataSet></DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems><Textbox Name="Value"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=First(Fields!n.Value, "Q")</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.25in</Height><Width>2in</Width></Textbox></ReportItems><Height>1in</Height></Body>
    <Width>6in</Width><Page></Page>
  </ReportSection></ReportSections>
</Report>"#
    )
}

fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_data_source_secrets_are_sealed_and_never_served() {
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap().clone();
    let app = webapp::standalone(e.state.clone());
    let token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    let r = upload(
        &app,
        ADMIN,
        &token,
        "/Sales",
        "Warehouse.rds",
        rds().as_bytes(),
        false,
    )
    .await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let path = ItemPath::parse("/Sales/Warehouse").unwrap();
    let stored = c.get_content(&path).await.unwrap();
    assert!(!has(&stored, PASSWORD), "the password is stored in clear");
    assert!(
        !has(&stored, CS_PASSWORD),
        "the connect-string password is stored"
    );
    assert!(has(&stored, "<SealedCredentials>"));
    // what is served: the definition, without the password or the sealed value
    for uri in [
        "/ReportServer?/Sales/Warehouse&rs:Command=GetDataSourceContents",
        "/ReportServer?/Sales/Warehouse",
        "/Reports/download/Sales/Warehouse",
        "/Reports/api/v2.0/DataSources(Path='/Sales/Warehouse')/Content/$value",
    ] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
        assert!(
            r.body.contains("<UserName>reader</UserName>"),
            "{uri}: {}",
            r.body
        );
        assert!(r.body.contains("dbname=x"), "{uri}: {}", r.body);
        for secret in [PASSWORD, CS_PASSWORD, "SealedCredentials"] {
            assert!(!r.body.contains(secret), "{uri} shows {secret}: {}", r.body);
        }
    }
    // a file that is not a data source is refused on upload, with the reason
    let r = upload(
        &app,
        ADMIN,
        &token,
        "/Sales",
        "Bad.rds",
        b"<Report/>",
        false,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("not a valid shared data source"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_sealed_credential_is_a_clear_error_page() {
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap().clone();
    let key = e.dd.instance_key().unwrap();
    let sealed = dataprov::rds::seal_for_storage(rds().as_bytes(), &key[..]).unwrap();
    let text = String::from_utf8(sealed).unwrap();
    let at = text.find("<SealedCredentials>").unwrap() + "<SealedCredentials>".len() + 24;
    let mut tampered = text.clone().into_bytes();
    tampered[at] = if tampered[at] == b'Q' { b'R' } else { b'Q' };
    // stored as another node (or someone with the catalog database) would: no upload check
    put(&c, "/Tampered", ItemType::DataSource, &tampered).await;
    // sealed under another instance's key (a catalog restored without its instance key)
    let foreign = dataprov::rds::seal_for_storage(rds().as_bytes(), &[9u8; 32]).unwrap();
    put(&c, "/Foreign", ItemType::DataSource, &foreign).await;
    for (name, reference) in [("UsesTampered", "/Tampered"), ("UsesForeign", "/Foreign")] {
        let p = ItemPath::parse(&format!("/{name}")).unwrap();
        c.put_item(NewItem {
            path: &p,
            item_type: ItemType::Report,
            content: report(reference).as_bytes(),
            mime_type: None,
            description: "",
            by: "admin",
            overwrite: false,
        })
        .await
        .unwrap();
    }
    let app = webapp::standalone(e.state.clone());
    for name in ["UsesTampered", "UsesForeign"] {
        for f in ["HTML5", "CSV"] {
            let r = get(
                &app,
                &format!("/ReportServer?/{name}&rs:Format={f}"),
                Some(ADMIN),
            )
            .await;
            assert_eq!(r.status, 422, "{name} {f}: {}", r.body);
            assert!(
                r.body.contains("rsInvalidDataSourceCredentialSetting"),
                "{name} {f}: {}",
                r.body
            );
            assert!(r.body.contains("instance key"), "{name} {f}: {}", r.body);
            assert!(!r.body.contains(PASSWORD), "{}", r.body);
        }
    }
    // the definition itself is still shown (it needs no secret), and the server serves on
    let r = get(
        &app,
        "/ReportServer?/Tampered&rs:Command=GetDataSourceContents",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("SealedCredentials"), "{}", r.body);
}
