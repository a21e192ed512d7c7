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
