//! Shared data source definitions and DataSourceReference resolution.

use dataprov::rds::{CredentialRetrieval, parse, resolve_reference};

#[test]
fn designer_rds_file() {
    let rds = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>
<RptDataSource xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" Name=\"Sales\">
  <ConnectionProperties>
    <Extension>POSTGRESQL</Extension>
    <ConnectString>Host=db;Database=sales;Username=rep</ConnectString>
    <Prompt>Sales database password</Prompt>
  </ConnectionProperties>
  <DataSourceID>6f1c2a4e-0000-4000-8000-000000000001</DataSourceID>
</RptDataSource>";
    let d = parse(rds.as_bytes()).unwrap();
    assert_eq!(d.extension, "POSTGRESQL");
    assert_eq!(d.connect_string, "Host=db;Database=sales;Username=rep");
    assert_eq!(d.credential_retrieval, CredentialRetrieval::Prompt);
    assert_eq!(d.prompt.as_deref(), Some("Sales database password"));
    assert!(d.enabled);
    let integrated = rds.replace(
        "<Prompt>Sales database password</Prompt>",
        "<IntegratedSecurity>true</IntegratedSecurity>",
    );
    assert_eq!(
        parse(integrated.as_bytes()).unwrap().credential_retrieval,
        CredentialRetrieval::Integrated
    );
}

#[test]
fn server_rsds_file_keeps_the_password_out_of_debug_and_xml() {
    let rsds = "<DataSourceDefinition xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource\">
  <Extension>SQLITE</Extension>
  <ConnectString>Data Source=/srv/data/a&amp;b.db;Password=filepw</ConnectString>
  <CredentialRetrieval>Store</CredentialRetrieval>
  <UserName>rep</UserName>
  <Password>hunter22</Password>
  <Enabled>False</Enabled>
</DataSourceDefinition>";
    let d = parse(rsds.as_bytes()).unwrap();
    assert_eq!(d.extension, "SQLITE");
    assert_eq!(d.credential_retrieval, CredentialRetrieval::Store);
    assert_eq!(d.user_name.as_deref(), Some("rep"));
    assert_eq!(d.password.as_deref().map(|p| p.as_str()), Some("hunter22"));
    assert!(!d.enabled);
    let dbg = format!("{d:?}");
    assert!(
        !dbg.contains("hunter22") && !dbg.contains("filepw"),
        "{dbg}"
    );
    let xml = d.to_xml();
    assert!(
        !xml.contains("hunter22") && !xml.contains("filepw"),
        "{xml}"
    );
    assert!(xml.contains("<Extension>SQLITE</Extension>"), "{xml}");
    assert!(xml.contains("Data Source=/srv/data/a&amp;b.db"), "{xml}");
    assert!(
        xml.contains("<CredentialRetrieval>Store</CredentialRetrieval>"),
        "{xml}"
    );
    assert!(xml.contains("<Enabled>False</Enabled>"), "{xml}");
    // What it writes, it reads back (minus the password).
    let again = parse(xml.as_bytes()).unwrap();
    assert_eq!(again.extension, "SQLITE");
    assert_eq!(again.user_name.as_deref(), Some("rep"));
    assert!(again.password.is_none());
    assert!(!again.enabled);
}

#[test]
fn bad_definitions_say_what_is_wrong() {
    for (text, needle) in [
        ("not xml", "not XML"),
        ("<Report/>", "root element is <Report>"),
        ("<RptDataSource/>", "no <ConnectionProperties>"),
        ("<DataSourceDefinition/>", "no <Extension>"),
        (
            "<DataSourceDefinition><Extension>SQL</Extension><CredentialRetrieval>Maybe</CredentialRetrieval></DataSourceDefinition>",
            "'Maybe'",
        ),
        (
            "<DataSourceDefinition><Extension>SQLITE</Extension><Enabled>maybe</Enabled></DataSourceDefinition>",
            "<Enabled> is 'maybe', not a boolean; write true or false",
        ),
        (
            "<RptDataSource><ConnectionProperties><Extension>SQLITE</Extension><IntegratedSecurity>yes</IntegratedSecurity></ConnectionProperties></RptDataSource>",
            "<IntegratedSecurity> is 'yes'",
        ),
    ] {
        let e = parse(text.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }
    assert!(parse(&[0xff, 0xfe]).is_err());
}

#[test]
fn references_resolve_against_the_report_folder() {
    let r = "/Sales/Reports/Orders";
    assert_eq!(resolve_reference(r, "Main").unwrap(), "/Sales/Reports/Main");
    assert_eq!(
        resolve_reference(r, "Data Sources/Main").unwrap(),
        "/Sales/Reports/Data Sources/Main"
    );
    assert_eq!(
        resolve_reference(r, "../Shared/Main").unwrap(),
        "/Sales/Shared/Main"
    );
    assert_eq!(
        resolve_reference(r, "./Main").unwrap(),
        "/Sales/Reports/Main"
    );
    assert_eq!(
        resolve_reference(r, "/Data Sources/Main").unwrap(),
        "/Data Sources/Main"
    );
    assert_eq!(resolve_reference("/Top", "Main").unwrap(), "/Main");
    assert!(
        resolve_reference(r, "../../../Main")
            .unwrap_err()
            .to_string()
            .contains("above the catalog root")
    );
    assert!(resolve_reference(r, "  ").is_err());
    assert!(resolve_reference(r, "/").is_err());
}

mod sealed {
    use dataprov::DataError;
    use dataprov::rds::{
        CredentialRetrieval, SEALED_ELEMENT, open_stored, public_definition, seal_for_storage,
    };

    const KEY: [u8; 32] = [42u8; 32];
    const PASSWORD: &str = "Tr0ub4dor&3-horse";
    const CS_PASSWORD: &str = "cs-Secret-77";

    fn definition() -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource">
  <Extension>POSTGRESQL</Extension>
  <ConnectString>host=db port=5432 dbname=sales password={CS_PASSWORD}</ConnectString>
  <CredentialRetrieval>Store</CredentialRetrieval>
  <UserName>reader</UserName>
  <Password>{}</Password>
  <Enabled>True</Enabled>
</DataSourceDefinition>"#,
            PASSWORD.replace('&', "&amp;")
        )
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn stored_bytes_hold_no_secret_and_open_back() {
        let stored = seal_for_storage(definition().as_bytes(), &KEY).unwrap();
        assert!(!contains(&stored, PASSWORD), "password in the stored bytes");
        assert!(
            !contains(&stored, "Tr0ub4dor"),
            "password in the stored bytes"
        );
        assert!(
            !contains(&stored, CS_PASSWORD),
            "connect-string password stored"
        );
        assert!(!contains(&stored, "<Password>"));
        assert!(contains(&stored, SEALED_ELEMENT));
        // what may be shown: no password, no sealed value; the user name and mode are there
        let shown = public_definition(&stored).unwrap();
        assert!(!shown.contains(SEALED_ELEMENT), "{shown}");
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(CS_PASSWORD),
            "{shown}"
        );
        assert!(shown.contains("<UserName>reader</UserName>"), "{shown}");
        assert!(shown.contains("<CredentialRetrieval>Store</CredentialRetrieval>"));
        assert!(shown.contains("dbname=sales"), "{shown}");
        // for a run: everything back
        let ds = open_stored(&stored, &KEY).unwrap();
        assert_eq!(
            ds.connect_string,
            format!("host=db port=5432 dbname=sales password={CS_PASSWORD}")
        );
        assert_eq!(ds.credential_retrieval, CredentialRetrieval::Store);
        let c = ds.credentials().unwrap();
        assert_eq!(c.user, "reader");
        assert_eq!(c.password.as_str(), PASSWORD);
        // and never in Debug
        let dbg = format!("{ds:?} {c:?}");
        assert!(
            !dbg.contains(PASSWORD) && !dbg.contains(CS_PASSWORD),
            "{dbg}"
        );
        // each seal is fresh
        assert_ne!(
            stored,
            seal_for_storage(definition().as_bytes(), &KEY).unwrap()
        );
    }

    #[test]
    fn a_tampered_or_foreign_seal_is_a_clear_error() {
        let stored =
            String::from_utf8(seal_for_storage(definition().as_bytes(), &KEY).unwrap()).unwrap();
        let start = stored.find("<SealedCredentials>").unwrap() + "<SealedCredentials>".len();
        // change one base64 character of the ciphertext
        let mut bytes = stored.clone().into_bytes();
        let i = start + 30;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let e = open_stored(&bytes, &KEY).unwrap_err();
        assert!(matches!(e, DataError::StoredCredentials { .. }), "{e}");
        assert!(e.to_string().contains("changed"), "{e}");
        // another instance's key
        let e = open_stored(stored.as_bytes(), &[1u8; 32]).unwrap_err();
        assert!(e.to_string().contains("instance key"), "{e}");
        // not base64 at all
        let junk = stored.replacen("<SealedCredentials>", "<SealedCredentials>!!", 1);
        let e = open_stored(junk.as_bytes(), &KEY).unwrap_err();
        assert!(e.to_string().contains("base64"), "{e}");
        assert!(!e.to_string().contains(PASSWORD));
    }

    #[test]
    fn an_uploaded_seal_is_never_trusted() {
        // a sealed value copied from another definition into an upload is dropped
        let stored =
            String::from_utf8(seal_for_storage(definition().as_bytes(), &KEY).unwrap()).unwrap();
        let start = stored.find("<SealedCredentials>").unwrap();
        let end = stored.find("</SealedCredentials>").unwrap() + "</SealedCredentials>".len();
        let copied = &stored[start..end];
        let upload = format!(
            "<DataSourceDefinition><Extension>POSTGRESQL</Extension><ConnectString>host=evil dbname=x user=me</ConnectString>{copied}</DataSourceDefinition>"
        );
        let kept = seal_for_storage(upload.as_bytes(), &KEY).unwrap();
        assert!(!contains(&kept, SEALED_ELEMENT));
        let ds = open_stored(&kept, &KEY).unwrap();
        assert_eq!(ds.connect_string, "host=evil dbname=x user=me");
        assert!(ds.credentials().is_none());
    }

    #[test]
    fn definitions_without_secrets_are_stored_as_uploaded() {
        let rds = b"<RptDataSource Name=\"S\"><ConnectionProperties><Extension>SQLITE</Extension><ConnectString>Data Source=/srv/data/x.db</ConnectString></ConnectionProperties></RptDataSource>";
        assert_eq!(seal_for_storage(rds, &KEY).unwrap(), rds.to_vec());
        let e = seal_for_storage(b"<Report/>", &KEY).unwrap_err();
        assert!(matches!(e, DataError::DataSourceDefinition { .. }), "{e}");
        // an empty instance key cannot seal
        let e = seal_for_storage(definition().as_bytes(), &[]).unwrap_err();
        assert!(matches!(e, DataError::StoredCredentials { .. }), "{e}");
    }
}
