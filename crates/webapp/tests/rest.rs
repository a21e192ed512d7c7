//! The REST API (`/Reports/api/v2.0`) driven in-process over the real app, a real SQLite
//! catalog and real argon2id users: the requests ReportingServicesTools' REST cmdlets build
//! (URL formats, headers, bodies as in microsoft/ReportingServicesTools), Session sign-in
//! with its cookie, shared data sets, parameter and data source changes, connection checks
//! against real SQLite files and an unreachable PostgreSQL port, role checks on every write
//! with the catalog unchanged after refusals, bad input, OData options, XSRF and the
//! OpenAPI document.

mod common;

use axum::body::Body;
use base64::Engine;
use catalog::{ItemPath, SharedCatalog};
use common::*;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use webapp::standalone;

const API: &str = "/Reports/api/v2.0";

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A request as `who`, with a JSON body when given and extra headers.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    who: (&str, &str),
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "reports.test:8080")
        .header("authorization", basic(who));
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = body.map_or_else(Body::empty, |s| Body::from(s.to_owned()));
    send(app, b.body(body).unwrap()).await
}

/// `method uri` as `who`, without a body.
async fn call_as(app: &axum::Router, method: &str, uri: &str, who: (&str, &str)) -> Resp {
    call(app, method, uri, who, None, &[]).await
}

/// Asserts a 400 `rsInvalidParameter` OData error whose message contains `needle`.
fn bad_request(r: &Resp, needle: &str) {
    odata_error(r, StatusCode::BAD_REQUEST, "rsInvalidParameter", needle);
}

/// `GET uri` as `who`.
async fn get_as(app: &axum::Router, uri: &str, who: (&str, &str)) -> Resp {
    call(app, "GET", uri, who, None, &[]).await
}

/// A request as `who` with `body` (JSON) as its body.
async fn call_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    who: (&str, &str),
    body: &impl std::fmt::Display,
) -> Resp {
    call(app, method, uri, who, Some(&body.to_string()), &[]).await
}

fn json_of(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// Asserts an OData error with `status` whose message contains `needle`.
fn odata_error(r: &Resp, status: StatusCode, code: &str, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.header("content-type").starts_with("application/json"),
        "{}",
        r.body
    );
    let v = json_of(r);
    assert_eq!(v["error"]["code"], code, "{}", r.body);
    let msg = v["error"]["message"].as_str().unwrap();
    // Messages are sentences: their first letter is capitalized.
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {msg:?}"
    );
}

/// Everything in the catalog, for "unchanged" checks.
async fn snapshot(c: &SharedCatalog) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![ItemPath::root()];
    while let Some(p) = stack.pop() {
        for k in c.list_children(&p).await.unwrap() {
            if k.item_type == catalog::ItemType::Folder {
                stack.push(k.path.clone());
            }
            out.push(format!(
                "{} {} {} {:?} {} {}",
                k.path, k.item_type, k.size, k.description, k.hidden, k.modified_at
            ));
        }
    }
    out.sort();
    out
}

fn names(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Name"].as_str().unwrap().to_owned())
        .collect()
}

/// The XSRF-TOKEN cookie a response sets.
fn xsrf_cookie(r: &Resp) -> String {
    let c = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("XSRF-TOKEN="))
        .unwrap_or_else(|| panic!("no XSRF-TOKEN cookie: {:?}", r.headers));
    assert!(
        c.contains("SameSite=Strict") && c.contains("Path=/Reports"),
        "{c}"
    );
    c["XSRF-TOKEN=".len()..c.find(';').unwrap()].to_owned()
}

const RDL_V2: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"><Body><Height>2in</Height></Body><Width>6in</Width></Report>"#;

/// A request with exactly `headers` (no credentials added) and `body`.
async fn raw(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, String)],
    body: Option<String>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "reports.test:8080");
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    let body = body.map_or_else(Body::empty, Body::from);
    send(app, b.body(body).unwrap()).await
}

/// A PowerShell session of ReportingServicesTools: what `New-RsRestSession` returns (the
/// XSRF-TOKEN cookie in its cookie jar, `X-XSRF-TOKEN` and `X-RSTOOLS-PORTALURI` headers)
/// and the `-Credential` every cmdlet passes.
struct RsTools<'a> {
    app: &'a axum::Router,
    credential: (&'a str, &'a str),
    cookie: String,
    xsrf: String,
}

/// `ReportPortalUri` (New-RsRestSession appends the slash); the module's URLs are
/// `$ReportPortalUri + "api/$RestApiVersion/..."`.
const PORTAL: &str = "/Reports/";
const PS_AGENT: &str =
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.316";

impl RsTools<'_> {
    /// `Invoke-WebRequest -WebSession $WebSession -Credential $Credential [-Body
    /// ([Text.Encoding]::UTF8.GetBytes($payloadJson)) -ContentType "application/json"]`.
    async fn ws(&self, method: &str, url: &str, json: Option<&Value>) -> Resp {
        let mut h = vec![
            ("authorization", basic(self.credential)),
            ("user-agent", PS_AGENT.to_owned()),
            ("cookie", self.cookie.clone()),
            ("x-xsrf-token", self.xsrf.clone()),
            (
                "x-rstools-portaluri",
                format!("http://reports.test:8080{PORTAL}"),
            ),
        ];
        if json.is_some() {
            h.push(("content-type", "application/json".to_owned()));
        }
        // ConvertTo-Json indents; the bytes are UTF-8.
        let body = json.map(|v| serde_json::to_string_pretty(v).unwrap());
        raw(self.app, method, url, &h, body).await
    }

    /// `Invoke-WebRequest -Credential $Credential` without the session (Out-RsRestCatalogItem,
    /// Test-RsRestItemDataSource's POST).
    async fn cred(&self, method: &str, url: &str, json: Option<&Value>) -> Resp {
        let mut h = vec![
            ("authorization", basic(self.credential)),
            ("user-agent", PS_AGENT.to_owned()),
        ];
        if json.is_some() {
            h.push(("content-type", "application/json".to_owned()));
        }
        let body = json.map(|v| serde_json::to_string_pretty(v).unwrap());
        raw(self.app, method, url, &h, body).await
    }
}

/// The test instance (with a catalog), the app over it and its catalog.
async fn rest_env() -> (Env, axum::Router, SharedCatalog) {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let c = e.catalog.clone().unwrap();
    (e, app, c)
}

/// The catalog's item at `path`, if any.
async fn stored_item(c: &SharedCatalog, path: &str) -> Option<catalog::CatalogItem> {
    c.get_item(&ItemPath::parse(path).unwrap()).await.unwrap()
}

/// Stores the report definition `rdl` at `path`.
async fn put_rdl(c: &SharedCatalog, path: &str, rdl: &str) {
    put(c, path, catalog::ItemType::Report, rdl.as_bytes()).await;
}

fn api(rest: &str) -> String {
    format!("{PORTAL}api/v2.0/{rest}")
}

/// The report the flow deploys: a shared data source reference and an embedded one.
fn deploy_rdl(local_db: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<DataSources>
<DataSource Name="Main"><DataSourceReference>/Deploy/MainDS</DataSourceReference></DataSource>
<DataSource Name="Local"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source={local_db}</ConnectString></ConnectionProperties></DataSource>
</DataSources>
<Body><Height>1in</Height></Body><Width>6in</Width></Report>"#
    )
}

const RSD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<SharedDataSet xmlns="http://schemas.microsoft.com/sqlserver/reporting/2010/01/shareddatasetdefinition"><DataSet Name=""><Query><DataSourceReference>MainDS</DataSourceReference><CommandText>select 1 as n</CommandText></Query><Fields><Field Name="n"><DataField>n</DataField></Field></Fields></DataSet></SharedDataSet>"#;

/// Rewrites reportd.toml with `DataSourceDirectories` and reloads the app.
async fn allow_data_dir(e: &Env, dir: &std::path::Path) {
    let mut settings = datadir::Settings::new("test-instance".into());
    settings.database_url = Some("sqlite:catalog.db".into());
    settings.max_upload_size_mb = 64;
    settings.data_source_directories = dir.display().to_string();
    datadir::Config::write(
        &e.dd.config_path(),
        &settings,
        &datadir::UrlReservationsRepr::default(),
    )
    .unwrap();
    e.state.reload().await.unwrap();
}

/// The ReportingServicesTools REST cmdlets, replayed in order with the URLs, headers and
/// bodies the module (microsoft/ReportingServicesTools, Functions/*/Rest/*.ps1) builds;
/// every step's status and body checked.
#[tokio::test]
async fn reporting_services_tools_flow_step_by_step() {
    let e = env(true).await;
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("sales.db");
    // A zero-length file is an empty SQLite database.
    std::fs::write(&db, b"").unwrap();
    allow_data_dir(&e, data.path()).await;
    let app = standalone(e.state.clone());
    let c = e.catalog.clone().unwrap();

    // New-RsRestSession -ReportPortalUri http://reports.test:8080/Reports -Credential pat
    let rs = new_rs_rest_session(&app, PUBLISHER).await;

    // New-RsRestFolder -RsFolder / -FolderName Deploy
    let r = rs
        .ws(
            "POST",
            &api("Folders"),
            Some(&json!({"@odata.type": "#Model.Folder", "Path": "/", "Name": "Deploy"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let folder = json_of(&r);
    assert_eq!(
        (folder["Path"].as_str(), folder["Type"].as_str()),
        (Some("/Deploy"), Some("Folder"))
    );
    assert!(
        r.header("location")
            .ends_with(&format!("Folders({})", folder["Id"].as_str().unwrap()))
    );

    // Write-RsRestCatalogItem -Path MainDS.rds -RsFolder /Deploy: a data source is sent as
    // fields read from the file (the item is named after RptDataSource's Name).
    let conn = format!("Data Source={}", db.display());
    let ds_body = json!({
        "@odata.type": "#Model.DataSource",
        "Path": "/Deploy/MainDS",
        "Name": "MainDS",
        "Description": "",
        "DataSourceType": "SQLITE",
        "ConnectionString": conn,
        "CredentialRetrieval": "none",
        "CredentialsByUser": null,
        "CredentialsInServer": null,
        "Hidden": false,
        "IsConnectionStringOverridden": true,
        "IsEnabled": true,
    });
    let r = rs.ws("POST", &api("CatalogItems"), Some(&ds_body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(json_of(&r)["Type"], "DataSource");
    let stored = String::from_utf8(
        c.get_content(&ItemPath::parse("/Deploy/MainDS").unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(stored.contains("<Extension>SQLITE</Extension>"), "{stored}");

    // Write-RsRestCatalogItem -Path Monthly.rdl -RsFolder /Deploy (the item is the file's
    // BaseName; Content base64, ContentType "").
    let upload = |rdl: &str| {
        json!({
            "@odata.type": "#Model.Report",
            "Content": b64(rdl.as_bytes()),
            "ContentType": "",
            "Name": "Monthly",
            "Description": "",
            "Path": "/Deploy/Monthly",
            "Hidden": false,
        })
    };
    let missing = data.path().join("missing").join("x.db");
    let v1 = deploy_rdl(&missing.display().to_string());
    let r = rs
        .ws("POST", &api("CatalogItems"), Some(&upload(&v1)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = json_of(&r);
    assert_eq!(created["ParentFolderId"], folder["Id"]);
    assert_eq!(created["Size"], v1.len());

    // Write-RsRestCatalogItem -Overwrite: the POST is a 409; then GET CatalogItems(Path=
    // '...') for the Id and PUT the same body to CatalogItems({Id}).
    let v2 = v1.replace("<Width>6in</Width>", "<Width>7in</Width>");
    let r = rs
        .ws("POST", &api("CatalogItems"), Some(&upload(&v2)))
        .await;
    odata_error(
        &r,
        StatusCode::CONFLICT,
        "rsItemAlreadyExists",
        "already exists",
    );
    let r = rs
        .ws("GET", &api("CatalogItems(Path='/Deploy/Monthly')"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = json_of(&r)["Id"].as_str().unwrap().to_owned();
    assert_eq!(id, created["Id"].as_str().unwrap());
    let r = rs
        .ws(
            "PUT",
            &api(&format!("CatalogItems({id})")),
            Some(&upload(&v2)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["Size"], v2.len());
    assert_eq!(json_of(&r)["Id"], id.as_str(), "overwrite keeps the id");

    // Write-RsRestCatalogItem -Path Sales.rsd: a shared data set (#Model.DataSet, BaseName).
    let r = rs
        .ws(
            "POST",
            &api("CatalogItems"),
            Some(&json!({"@odata.type": "#Model.DataSet", "Content": b64(RSD.as_bytes()), "ContentType": "", "Name": "Sales", "Description": "", "Path": "/Deploy/Sales", "Hidden": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dataset = json_of(&r);
    assert_eq!(
        (dataset["Type"].as_str(), dataset["@odata.type"].as_str()),
        (Some("DataSet"), Some("#Model.DataSet"))
    );
    assert!(
        r.header("location").contains("/DataSets("),
        "{}",
        r.header("location")
    );

    // Get-RsRestItem -RsItem /Deploy/Monthly
    let r = rs
        .ws("GET", &api("CatalogItems(Path='/Deploy/Monthly')"), None)
        .await;
    let item = json_of(&r);
    for k in [
        "Type",
        "Name",
        "Size",
        "CreatedBy",
        "CreatedDate",
        "ModifiedBy",
        "ModifiedDate",
        "Hidden",
        "Path",
        "Id",
        "ParentFolderId",
        "Description",
        "ContentType",
        "Content",
        "IsFavorite",
    ] {
        assert!(item.get(k).is_some(), "{k} missing: {item}");
    }
    assert_eq!(
        (item["Type"].as_str(), item["CreatedBy"].as_str()),
        (Some("Report"), Some("pat"))
    );

    // Get-RsRestFolderContent -RsFolder /Deploy
    let r = rs
        .ws(
            "GET",
            &api("Folders(Path='/Deploy')/CatalogItems?$expand=Properties"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    let mut kinds: Vec<(String, String)> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["Name"].as_str().unwrap().to_owned(),
                i["Type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("MainDS", "DataSource"),
            ("Monthly", "Report"),
            ("Sales", "DataSet")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(v["value"][0]["Properties"].is_array());

    // Out-RsRestCatalogItem -RsItem /Deploy/Monthly: GET by path with $expand=properties
    // (credential only, no session), then CatalogItems({Id})/Content/$value.
    let r = rs
        .cred(
            "GET",
            &api("CatalogItems(Path='/Deploy/Monthly')?$expand=properties"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let info = json_of(&r);
    assert!(info["Properties"].is_array() && info["Id"].is_string() && info["Name"] == "Monthly");
    let r = rs
        .cred(
            "GET",
            &api(&format!(
                "CatalogItems({})/Content/$value",
                info["Id"].as_str().unwrap()
            )),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, v2);
    assert_eq!(r.header("content-type"), "application/xml");
    // ... and the data set (Get-FileExtension: .rsd).
    let r = rs
        .cred(
            "GET",
            &api(&format!(
                "CatalogItems({})/Content/$value",
                dataset["Id"].as_str().unwrap()
            )),
            None,
        )
        .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, RSD));

    // Get-RsRestItemDataSource -RsItem /Deploy/Monthly: the item's Type + "s", by path,
    // $expand=DataSources; the cmdlet returns .DataSources.
    let r = rs
        .ws(
            "GET",
            &api("Reports(Path='/Deploy/Monthly')?$expand=DataSources"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut sources = json_of(&r)["DataSources"].as_array().unwrap().clone();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert_eq!(
        (
            sources[0]["Name"].as_str(),
            sources[0]["IsReference"].as_bool()
        ),
        (Some("Main"), Some(true))
    );
    assert_eq!(sources[0]["Path"], "/Deploy/MainDS");
    assert_eq!(sources[1]["DataSourceType"], "SQLITE");
    assert_eq!(sources[1]["CredentialRetrieval"], "None");

    // Set-RsRestItemDataSource -RsItem /Deploy/Monthly -RsItemType Report -DataSources
    // $ds: the embedded one's ConnectionString changed, the array PUT (ConvertTo-Json
    // -Depth 3) to Reports(Path='...')/DataSources.
    sources[1]["ConnectionString"] = json!(conn);
    let r = rs
        .ws(
            "PUT",
            &api("Reports(Path='/Deploy/Monthly')/DataSources"),
            Some(&Value::Array(sources)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = String::from_utf8(
        c.get_content(&ItemPath::parse("/Deploy/Monthly").unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        stored.contains(&format!("<ConnectString>{conn}</ConnectString>")),
        "{stored}"
    );

    // Test-RsRestItemDataSource -RsReport /Deploy/Monthly: per data source, POST
    // Reports({Id})/Model.CheckDataSourceConnection {"DataSourceName": ...} (credential
    // only). Both now reach the SQLite file in DataSourceDirectories.
    for name in ["Main", "Local"] {
        let r = rs
            .cred(
                "POST",
                &api(&format!("Reports({id})/Model.CheckDataSourceConnection")),
                Some(&json!({"DataSourceName": name})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(json_of(&r)["IsSuccessful"], true, "{name}: {}", r.body);
    }

    // Get-RsRestItemAccessPolicy -RsItem /Deploy: Get-RsRestItem, then
    // CatalogItems({Id})/Policies (Invoke-RestMethod with the session).
    let folder_id = folder["Id"].as_str().unwrap();
    let r = rs
        .ws(
            "GET",
            &api(&format!("CatalogItems({folder_id})/Policies")),
            None,
        )
        .await;
    // A Publisher does not manage security: the module reports the failure.
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "pat");
    let admin = new_rs_rest_session(&app, ADMIN).await;
    let r = admin
        .ws(
            "GET",
            &api(&format!("CatalogItems({folder_id})/Policies")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let policy = json_of(&r);
    assert_eq!(policy["InheritParentPolicy"], true);
    assert!(policy_users(&policy).iter().any(|(u, _)| u == "pat"));

    // Grant-RsRestItemAccessPolicy -RsItem /Deploy -Identity nobody -Role Browser: the
    // GET response (a folder: Folders({Id})/Policies) with a policy appended and
    // InheritParentPolicy false, PUT whole.
    let url = api(&format!("Folders({folder_id})/Policies"));
    let mut policy = json_of(&admin.ws("GET", &url, None).await);
    policy["Policies"].as_array_mut().unwrap().push(
        json!({"GroupUserName": "nobody", "Roles": [{"Name": "Browser", "Description": ""}]}),
    );
    policy["InheritParentPolicy"] = json!(false);
    let r = admin.ws("PUT", &url, Some(&policy)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        policy_users(&json_of(&r)).contains(&("nobody".to_owned(), vec!["Browser".to_owned()]))
    );
    let r = get_as(&app, &api("Folders(Path='/Deploy')/CatalogItems"), NOBODY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["value"].as_array().unwrap().len(), 3);

    // Revoke-RsRestItemAccessPolicy -RsItem /Deploy -Identity nobody.
    let mut policy = json_of(&admin.ws("GET", &url, None).await);
    let kept: Vec<Value> = policy["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["GroupUserName"] != "nobody")
        .cloned()
        .collect();
    policy["Policies"] = Value::Array(kept);
    policy["InheritParentPolicy"] = json!(false);
    let r = admin.ws("PUT", &url, Some(&policy)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        !policy_users(&json_of(&r))
            .iter()
            .any(|(u, _)| u == "nobody")
    );
    let r = get_as(&app, &api("Folders(Path='/Deploy')/CatalogItems"), NOBODY).await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "Deploy");

    // Remove-RsRestCatalogItem -RsItem /Deploy/Monthly, then the folder (with the rest).
    let r = rs
        .ws("DELETE", &api("CatalogItems(Path='/Deploy/Monthly')"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = rs
        .ws("GET", &api(&format!("CatalogItems({id})")), None)
        .await;
    odata_error(&r, StatusCode::NOT_FOUND, "rsItemNotFound", &id);
    let r = rs
        .ws("DELETE", &api("CatalogItems(Path='/Deploy')"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(stored_item(&c, "/Deploy/Sales").await.is_none());
}

/// New-RsRestSession: GET {portal}api/v2.0/me (lower case) with -SessionVariable; the
/// body must name the user; the XSRF-TOKEN cookie, URL-decoded, becomes the session's
/// X-XSRF-TOKEN header, and the cookie stays in its jar.
async fn new_rs_rest_session<'a>(app: &'a axum::Router, who: (&'a str, &'a str)) -> RsTools<'a> {
    let me = raw(
        app,
        "GET",
        &api("me"),
        &[
            ("authorization", basic(who)),
            ("user-agent", PS_AGENT.to_owned()),
        ],
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(json_of(&me)["Username"], who.0);
    let token = xsrf_cookie(&me);
    let decoded = percent_encoding::percent_decode_str(&token)
        .decode_utf8()
        .unwrap()
        .into_owned();
    RsTools {
        app,
        credential: who,
        cookie: format!("XSRF-TOKEN={token}"),
        xsrf: decoded,
    }
}

/// The session cookie a response sets (`reportd-session=...`), whole.
fn session_cookie(r: &Resp) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("reportd-session="))
}

/// Session POST/DELETE: a sign-in without Basic that sets the session cookie; the cookie
/// authenticates the portal and the API, its writes need the XSRF token, DELETE ends it.
#[tokio::test]
async fn session_sign_in_sets_a_cookie_that_authenticates_and_ends() {
    let (e, app, c) = rest_env().await;
    let json_ct = ("content-type", "application/json".to_owned());
    // Wrong password: 401, no cookie.
    let r = raw(
        &app,
        "POST",
        &api("Session"),
        std::slice::from_ref(&json_ct),
        Some(json!({"UserName": "pat", "Password": "wrong", "Domain": ""}).to_string()),
    )
    .await;
    odata_error(&r, StatusCode::UNAUTHORIZED, "rsLogonFailed", "");
    assert!(session_cookie(&r).is_none());
    // Malformed bodies name the problem.
    for (ct, body, needle) in [
        ("application/json", "{\"UserName\": ", "not valid JSON"),
        ("application/json", "{\"UserName\": \"pat\"}", "Password"),
        ("text/plain", "pat:pw", "application/json"),
    ] {
        let r = raw(
            &app,
            "POST",
            &api("session"),
            &[("content-type", ct.to_owned())],
            Some(body.to_owned()),
        )
        .await;
        bad_request(&r, needle);
    }
    // From a foreign page: refused.
    let r = raw(
        &app,
        "POST",
        &api("Session"),
        &[json_ct.clone(), ("origin", "https://evil.test".to_owned())],
        Some(json!({"UserName": "pat", "Password": PUBLISHER.1}).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Only the sign-in passes without credentials.
    let r = raw(&app, "GET", &api("Session"), &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A form sign-in works as JSON does.
    let r = raw(
        &app,
        "POST",
        &api("Session"),
        &[(
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        )],
        Some(format!("UserName=pat&Password={}", PUBLISHER.1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let form_cookie = session_cookie(&r).unwrap();

    let r = raw(
        &app,
        "POST",
        &api("Session"),
        std::slice::from_ref(&json_ct),
        Some(json!({"UserName": "pat", "Password": PUBLISHER.1, "Domain": ""}).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let set = session_cookie(&r).unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/Reports"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set[..set.find(';').unwrap()].to_owned();
    assert_ne!(cookie, form_cookie[..form_cookie.find(';').unwrap()]);
    // The cookie authenticates the API and the portal's pages.
    let r = raw(&app, "GET", &api("Me"), &[("cookie", cookie.clone())], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["Username"], "pat");
    let token = xsrf_cookie(&r);
    let r = raw(
        &app,
        "GET",
        "/Reports/browse/Sales",
        &[("cookie", cookie.clone())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Not the Web Service (the cookie is the portal's).
    let r = raw(
        &app,
        "GET",
        "/ReportServer?/Sales",
        &[("cookie", cookie.clone())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A cookie-authenticated write without the XSRF token is refused, the catalog unchanged.
    let before = snapshot(&c).await;
    let folder =
        json!({"@odata.type": "#Model.Folder", "Path": "/", "Name": "ByCookie"}).to_string();
    let r = raw(
        &app,
        "POST",
        &api("Folders"),
        &[("cookie", cookie.clone()), json_ct.clone()],
        Some(folder.clone()),
    )
    .await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "X-XSRF-TOKEN");
    assert_eq!(snapshot(&c).await, before);
    let r = raw(
        &app,
        "POST",
        &api("Folders"),
        &[
            ("cookie", format!("{cookie}; XSRF-TOKEN={token}")),
            ("x-xsrf-token", token.clone()),
            json_ct.clone(),
        ],
        Some(folder),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(json_of(&r)["CreatedBy"], "pat");
    // The user's roles are the catalog's: a Publisher still may not manage security.
    let r = raw(
        &app,
        "GET",
        &api("CatalogItems(Path='/Sales')/Policies"),
        &[("cookie", cookie.clone())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // DELETE Session: 200, the cookie cleared, the session over.
    let r = raw(
        &app,
        "DELETE",
        &api("Session"),
        &[("cookie", cookie.clone()), ("x-xsrf-token", token.clone())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cleared = session_cookie(&r).unwrap();
    assert!(
        cleared.starts_with("reportd-session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let r = raw(&app, "GET", &api("Me"), &[("cookie", cookie.clone())], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The other session lives until its user's password changes.
    let other = form_cookie[..form_cookie.find(';').unwrap()].to_owned();
    let r = raw(&app, "GET", &api("Me"), &[("cookie", other.clone())], None).await;
    assert_eq!(r.status, StatusCode::OK);
    c.set_password_hash("pat", &catalog::password::hash("new-password-1").unwrap())
        .await
        .unwrap();
    e.state.catalog_changed();
    let r = raw(&app, "GET", &api("Me"), &[("cookie", other)], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

const PARAMS_RDL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<ReportParameters>
<ReportParameter Name="Year"><DataType>Integer</DataType><DefaultValue><Values><Value>2024</Value></Values></DefaultValue><Prompt>Year</Prompt></ReportParameter>
<ReportParameter Name="Region"><DataType>String</DataType><MultiValue>true</MultiValue><Nullable>true</Nullable></ReportParameter>
</ReportParameters>
<Body><Height>1in</Height></Body><Width>6in</Width></Report>"#;

/// PATCH Reports(...)/ParameterDefinitions changes the stored definition; bad patches
/// are 400s naming the problem with the catalog unchanged; the Browser is refused.
#[tokio::test]
async fn parameter_definitions_patch() {
    let (_e, app, c) = rest_env().await;
    put_rdl(&c, "/Sales/Params", PARAMS_RDL).await;
    let url = api("Reports(Path='/Sales/Params')/ParameterDefinitions");
    let get = || async {
        let r = get_as(&app, &url, BROWSER).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        json_of(&r)["value"].as_array().unwrap().clone()
    };
    let before_defs = get().await;
    assert_eq!(before_defs[1]["ParameterVisibility"], "Internal");
    let before = snapshot(&c).await;
    let patch = json!([
        {"Name": "Year", "DefaultValues": ["2023"], "Prompt": "Fiscal year", "ParameterVisibility": "Hidden"},
        {"Name": "region", "DefaultValues": ["North", "South & East"], "ParameterVisibility": "Visible"},
    ])
    .to_string();
    let r = call_json(&app, "PATCH", &url, BROWSER, &patch).await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "bob");
    assert_eq!(snapshot(&c).await, before);
    for (body, needle) in [
        ("[{\"Name\": \"Nope\"}]", "no parameter named 'Nope'"),
        (
            "[{\"Name\": \"Year\", \"DefaultValues\": [\"soon\"]}]",
            "not a valid default",
        ),
        (
            "[{\"Name\": \"Year\", \"DefaultValues\": [\"1\", \"2\"]}]",
            "not multi-valued",
        ),
        (
            "[{\"Name\": \"Year\", \"ParameterVisibility\": \"Secret\"}]",
            "ParameterVisibility 'Secret'",
        ),
        (
            "[{\"Name\": \"Year\", \"Prompt\": \"x\", \"ParameterVisibility\": \"Internal\"}]",
            "Internal",
        ),
        (
            "[{\"Name\": \"Year\", \"DataType\": \"String\"}]",
            "'DataType'",
        ),
        (
            "[{\"Name\": \"Year\"}, {\"Name\": \"Year\"}]",
            "named twice",
        ),
        ("{\"Name\": ", "not valid JSON"),
        ("7", "array of parameters"),
    ] {
        let r = call_json(&app, "PATCH", &url, PUBLISHER, &body).await;
        bad_request(&r, needle);
        assert_eq!(snapshot(&c).await, before, "{body}");
    }
    let r = call_json(&app, "PATCH", &url, PUBLISHER, &patch).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let defs = get().await;
    assert_eq!(defs[0]["DefaultValues"], json!(["2023"]));
    assert_eq!(defs[0]["Prompt"], "Fiscal year");
    assert_eq!(defs[0]["ParameterVisibility"], "Hidden");
    assert_eq!(defs[1]["DefaultValues"], json!(["North", "South & East"]));
    assert_eq!(defs[1]["ParameterVisibility"], "Visible");
    assert_eq!(defs[1]["Prompt"], "Region");
    // Only the patched elements changed: the rest of the file is as uploaded.
    let stored = String::from_utf8(
        c.get_content(&ItemPath::parse("/Sales/Params").unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(stored.contains("<Body><Height>1in</Height></Body><Width>6in</Width></Report>"));
    assert!(
        stored.contains("<Value>South &amp; East</Value>"),
        "{stored}"
    );
    // Internal again, the default removed.
    let r = call(
        &app,
        "PATCH",
        &url,
        PUBLISHER,
        Some(
            &json!([{"Name": "Region", "ParameterVisibility": "Internal", "DefaultValues": []}])
                .to_string(),
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let defs = get().await;
    assert_eq!(defs[1]["ParameterVisibility"], "Internal");
    assert_eq!(defs[1]["DefaultValuesIsNull"], true);
}

/// Shared data sets: stored, listed in DataSets (not in Resources), got by key, Content,
/// replaced, patched, deleted; what is not a data set definition is refused.
#[tokio::test]
async fn data_sets_are_stored_and_served() {
    let (_e, app, c) = rest_env().await;
    let body = json!({"@odata.type": "#Model.DataSet", "Name": "Rows", "Path": "/Sales", "Content": b64(RSD.as_bytes())}).to_string();
    let before = snapshot(&c).await;
    let r = call_json(&app, "POST", &api("DataSets"), BROWSER, &body).await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "bob");
    for (bad, needle) in [
        (
            json!({"@odata.type": "#Model.DataSet", "Name": "X", "Path": "/", "Content": b64(MINIMAL_RDL.as_bytes())}),
            "not <SharedDataSet>",
        ),
        (
            json!({"@odata.type": "#Model.DataSet", "Name": "X", "Path": "/", "Content": b64(b"not xml <")}),
            "shared data set",
        ),
        (
            json!({"@odata.type": "#Model.DataSet", "Name": "X", "Path": "/"}),
            "Content is missing",
        ),
        (
            json!({"@odata.type": "#Model.Resource", "Name": "X", "Path": "/", "Content": b64(b"x"), "ContentType": "application/x-rsd+xml"}),
            "#Model.DataSet",
        ),
    ] {
        let r = call_json(&app, "POST", &api("CatalogItems"), PUBLISHER, &bad).await;
        bad_request(&r, needle);
    }
    let r = call_json(&app, "POST", &api("Resources"), PUBLISHER, &body).await;
    bad_request(&r, "Resources holds Resource items");
    assert_eq!(snapshot(&c).await, before);
    // Listings are kept per catalog generation: a change shows at once.
    let r = get_as(&app, &api("DataSets"), BROWSER).await;
    assert!(names(&json_of(&r)).is_empty(), "{}", r.body);
    let r = call_json(&app, "POST", &api("DataSets"), PUBLISHER, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let ds = json_of(&r);
    let id = ds["Id"].as_str().unwrap().to_owned();
    assert_eq!(ds["Path"], "/Sales/Rows");
    let r = get_as(&app, &api("DataSets"), BROWSER).await;
    assert_eq!(names(&json_of(&r)), ["Rows"]);
    let r = get_as(&app, &api("Resources"), BROWSER).await;
    assert!(names(&json_of(&r)).is_empty(), "{}", r.body);
    let r = get_as(
        &app,
        &api("CatalogItems?$filter=Type%20eq%20%27DataSet%27"),
        BROWSER,
    )
    .await;
    assert_eq!(names(&json_of(&r)), ["Rows"]);
    let r = get_as(&app, &api(&format!("DataSets({id})")), BROWSER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        json_of(&r)["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#DataSets/$entity")
    );
    let r = get_as(
        &app,
        &api(&format!("DataSets({id})/Content/$value")),
        BROWSER,
    )
    .await;
    assert_eq!(
        (r.body.as_str(), r.header("content-type")),
        (RSD, "application/xml")
    );
    let r = get_as(&app, &api("Reports(Path='/Sales/Rows')"), BROWSER).await;
    bad_request(&r, "is a DataSet");
    let r = get_as(&app, &api(&format!("DataSets({id})/DataSources")), BROWSER).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{}", r.body);
    // PATCH (Description, Content) and PUT keep it a data set.
    let v2 = RSD.replace("select 1", "select 2");
    let r = call_json(
        &app,
        "PATCH",
        &api(&format!("DataSets({id})")),
        PUBLISHER,
        &json!({"Description": "rows", "Content": b64(v2.as_bytes())}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = call_json(
        &app,
        "PATCH",
        &api(&format!("DataSets({id})")),
        PUBLISHER,
        &json!({"Content": b64(b"<Report/>")}),
    )
    .await;
    bad_request(&r, "not <SharedDataSet>");
    let r = call_json(
        &app,
        "PUT",
        &api(&format!("CatalogItems({id})")),
        PUBLISHER,
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!(
        (v["Type"].as_str(), v["Description"].as_str()),
        (Some("DataSet"), Some("rows"))
    );
    let r = call_as(&app, "DELETE", &api(&format!("DataSets({id})")), BROWSER).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call_as(&app, "DELETE", &api(&format!("DataSets({id})")), PUBLISHER).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(stored_item(&c, "/Sales/Rows").await.is_none());
    let r = get_as(
        &app,
        &api("CatalogItems?$filter=Type%20eq%20%27DataSet%27"),
        BROWSER,
    )
    .await;
    assert!(names(&json_of(&r)).is_empty(), "{}", r.body);
}

/// Model.CheckConnection: a clear result for a data source that cannot be reached, and
/// for one that can; data sources created from fields (their passwords sealed, never
/// shown); $expand of Policies and DataSources.
#[tokio::test]
async fn connection_checks_and_expand() {
    let e = env(true).await;
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("ok.db");
    std::fs::write(&db, b"").unwrap();
    allow_data_dir(&e, data.path()).await;
    let app = standalone(e.state.clone());
    let c = e.catalog.clone().unwrap();
    let before = snapshot(&c).await;
    let pg_down = json!({"@odata.type": "#Model.DataSource", "Name": "Down", "Path": "/Sales",
        "DataSourceType": "POSTGRESQL", "ConnectionString": "Host=127.0.0.1;Port=1;Database=x",
        "CredentialRetrieval": "Store", "CredentialsInServer": {"UserName": "u", "Password": "s3cret-pw"}});
    let r = call_json(&app, "POST", &api("DataSources"), BROWSER, &pg_down).await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "bob");
    for (bad, needle) in [
        (
            json!({"@odata.type": "#Model.DataSource", "Name": "X", "Path": "/"}),
            "DataSourceType",
        ),
        (
            json!({"@odata.type": "#Model.DataSource", "Name": "X", "Path": "/", "DataSourceType": "SQLITE"}),
            "ConnectionString",
        ),
        (
            json!({"@odata.type": "#Model.DataSource", "Name": "X", "Path": "/", "DataSourceType": "SQLITE", "ConnectionString": "a", "CredentialRetrieval": "Magic"}),
            "CredentialRetrieval 'Magic'",
        ),
        (
            json!({"@odata.type": "#Model.DataSource", "Name": "X", "Path": "/", "DataSourceType": "SQLITE", "ConnectionString": "a", "CredentialRetrieval": "Store"}),
            "CredentialsInServer",
        ),
        (
            json!({"@odata.type": "#Model.DataSource", "Name": "X", "Path": "/", "DataSourceType": "SQLITE", "ConnectionString": "a", "IsEnabled": "yes"}),
            "IsEnabled",
        ),
    ] {
        let r = call_json(&app, "POST", &api("DataSources"), PUBLISHER, &bad).await;
        bad_request(&r, needle);
    }
    assert_eq!(snapshot(&c).await, before);
    let r = call_json(&app, "POST", &api("DataSources"), PUBLISHER, &pg_down).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let down = json_of(&r)["Id"].as_str().unwrap().to_owned();
    let stored = String::from_utf8(
        c.get_content(&ItemPath::parse("/Sales/Down").unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        !stored.contains("s3cret-pw") && stored.contains("SealedCredentials"),
        "{stored}"
    );
    let r = get_as(
        &app,
        &api(&format!("DataSources({down})/Content/$value")),
        PUBLISHER,
    )
    .await;
    assert!(
        !r.body.contains("s3cret-pw") && !r.body.contains("Sealed"),
        "{}",
        r.body
    );
    let ok = json!({"@odata.type": "#Model.DataSource", "Name": "Up", "Path": "/Sales",
        "DataSourceType": "SQLITE", "ConnectionString": format!("Data Source={}", db.display())});
    let r = call_json(&app, "POST", &api("DataSources"), PUBLISHER, &ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let up = json_of(&r)["Id"].as_str().unwrap().to_owned();
    // Checks: the Browser may check what it may read; the result is a clear sentence.
    let r = call_as(
        &app,
        "POST",
        &api(&format!("DataSources({down})/Model.CheckConnection")),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!(v["IsSuccessful"], false);
    let msg = v["ErrorMessage"].as_str().unwrap();
    assert!(
        msg.contains("127.0.0.1") && !msg.contains("s3cret-pw"),
        "{msg}"
    );
    let r = call_as(
        &app,
        "POST",
        &api(&format!("DataSources({up})/Model.CheckConnection")),
        BROWSER,
    )
    .await;
    assert_eq!(json_of(&r)["IsSuccessful"], true, "{}", r.body);
    let r = call_as(
        &app,
        "POST",
        &api("DataSources(Path='/Sales/Quarterly')/Model.CheckConnection"),
        BROWSER,
    )
    .await;
    bad_request(&r, "not a DataSource");
    // A data source that is not stored: Publisher at the root; outside DataSourceDirectories
    // it is refused by name.
    let new = json!({"DataSourceType": "SQLITE", "ConnectionString": "Data Source=/etc/x.db"})
        .to_string();
    let r = call_json(
        &app,
        "POST",
        &api("DataSources/Model.CheckConnection"),
        BROWSER,
        &new,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call_json(
        &app,
        "POST",
        &api("DataSources/Model.CheckConnection"),
        PUBLISHER,
        &new,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!(v["IsSuccessful"], false);
    assert!(
        v["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("DataSourceDirectories"),
        "{v}"
    );
    let r = call(
        &app,
        "POST",
        &api("DataSources/Model.CheckConnection"),
        PUBLISHER,
        Some("{}"),
        &[],
    )
    .await;
    bad_request(&r, "DataSourceType");

    // $expand=Policies (own or inherited; null where the user may not manage security),
    // DataSources (a report's).
    let r = get_as(
        &app,
        &api("CatalogItems(Path='/Sales')?$expand=Policies,Properties"),
        ADMIN,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert!(
        v["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["GroupUserName"] == "bob"),
        "{v}"
    );
    assert!(v["Properties"].is_array());
    let r = get_as(
        &app,
        &api("CatalogItems(Path='/Sales')?$expand=Policies"),
        BROWSER,
    )
    .await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "security");
    let r = get_as(
        &app,
        &api("Folders(Path='/Sales')/CatalogItems?$expand=Policies,DataSources&$orderby=Name"),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!(names(&v), ["Down", "Quarterly", "Up"]);
    assert!(
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["Policies"].is_null() && i["DataSources"].is_array())
    );
    let r = get_as(&app, &api("CatalogItems?$expand=Subscriptions"), BROWSER).await;
    bad_request(&r, "$expand=Subscriptions");
}

/// Every write: the Browser is refused (403 rsAccessDenied, catalog unchanged), the
/// Publisher succeeds.
#[tokio::test]
async fn every_write_needs_a_writer_role() {
    let (_e, app, c) = rest_env().await;
    let overview = stored_item(&c, "/Overview").await.unwrap();
    let report = json!({"@odata.type": "#Model.Report", "Name": "New", "Path": "/Sales", "Content": b64(MINIMAL_RDL.as_bytes())}).to_string();
    let folder = json!({"@odata.type": "#Model.Folder", "Name": "F", "Path": "/"}).to_string();
    let put =
        json!({"@odata.type": "#Model.Report", "Content": b64(RDL_V2.as_bytes())}).to_string();
    let patch = json!({"Description": "changed", "Hidden": true}).to_string();
    let del_items = json!({"CatalogItemPaths": ["/Renamed"]}).to_string();
    let move_items =
        json!({"CatalogItemPaths": ["/Sales/Quarterly"], "TargetPath": "/"}).to_string();
    let rename = json!({"Name": "Renamed"}).to_string();
    let id = overview.id.to_string();
    let cases: Vec<(&str, String, Option<&str>, StatusCode)> = vec![
        (
            "POST",
            format!("{API}/Reports"),
            Some(&report),
            StatusCode::CREATED,
        ),
        (
            "POST",
            format!("{API}/Folders"),
            Some(&folder),
            StatusCode::CREATED,
        ),
        (
            "PUT",
            format!("{API}/Reports({id})"),
            Some(&put),
            StatusCode::OK,
        ),
        (
            "PATCH",
            format!("{API}/CatalogItems({id})"),
            Some(&patch),
            StatusCode::NO_CONTENT,
        ),
        (
            "POST",
            format!("{API}/CatalogItems/Model.MoveItems"),
            Some(&move_items),
            StatusCode::OK,
        ),
        (
            "PATCH",
            format!("{API}/CatalogItems(Path='/Quarterly')"),
            Some(&rename),
            StatusCode::NO_CONTENT,
        ),
        (
            "POST",
            format!("{API}/CatalogItems/Model.DeleteItems"),
            Some(&del_items),
            StatusCode::OK,
        ),
        (
            "DELETE",
            format!("{API}/CatalogItems(Path='/Overview')"),
            None,
            StatusCode::NO_CONTENT,
        ),
    ];
    for (method, uri, body, ok) in &cases {
        let before = snapshot(&c).await;
        let r = call(&app, method, uri, BROWSER, *body, &[]).await;
        odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "bob");
        assert_eq!(
            snapshot(&c).await,
            before,
            "{method} {uri} changed the catalog"
        );
        let r = call(&app, method, uri, NOBODY, *body, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {uri}");
        let r = call(&app, method, uri, PUBLISHER, *body, &[]).await;
        assert_eq!(r.status, *ok, "{method} {uri}: {}", r.body);
        assert_ne!(snapshot(&c).await, before, "{method} {uri} changed nothing");
    }
    let o = stored_item(&c, "/Sales/New").await.unwrap();
    assert_eq!(o.created_by, "pat");
    assert!(stored_item(&c, "/Sales/Quarterly").await.is_none());
    assert!(stored_item(&c, "/Overview").await.is_none());
    // Reads: the Browser may, the user without a role may not.
    assert_eq!(
        get_as(&app, &format!("{API}/CatalogItems"), BROWSER)
            .await
            .status,
        StatusCode::OK
    );
    let r = get_as(&app, &format!("{API}/Folders(Path='/Secret')"), BROWSER).await;
    odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "Secret");
}

/// Method, URI, body, expected status, OData code, text the message must contain.
type BadCase<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    StatusCode,
    &'a str,
    &'a str,
);

#[tokio::test]
async fn bad_input_is_a_4xx_odata_error_naming_the_problem() {
    let e = env_with(true, 1, 0).await;
    let app = standalone(e.state.clone());
    let c = e.catalog.clone().unwrap();
    let before = snapshot(&c).await;
    let post = format!("{API}/CatalogItems");
    let wrong_type = json!({"@odata.type": "#Model.Kpi", "Name": "K", "Path": "/"}).to_string();
    let folder_into_reports =
        json!({"@odata.type": "#Model.Folder", "Name": "K", "Path": "/"}).to_string();
    let bad_b64 = json!({"@odata.type": "#Model.Report", "Name": "R", "Path": "/", "Content": "not base64!!"}).to_string();
    let dotdot =
        json!({"@odata.type": "#Model.Folder", "Name": "x", "Path": "/Sales/../.."}).to_string();
    let nul = json!({"@odata.type": "#Model.Folder", "Name": "a\u{0}b", "Path": "/"}).to_string();
    let bad_rdl = json!({"@odata.type": "#Model.Report", "Name": "R", "Path": "/", "Content": b64(b"<NotAReport/>")}).to_string();
    let big = json!({"@odata.type": "#Model.Resource", "Name": "big.bin", "Path": "/", "Content": b64(&vec![7u8; 1024 * 1024 + 1])}).to_string();
    let no_content = json!({"@odata.type": "#Model.Report", "Name": "R", "Path": "/"}).to_string();
    // 10,000 terms do not fit in a URI (the http crate and the listener stop at 64 KiB; the
    // parser's own test takes 10,000): as many as fit.
    let terms = vec!["Hidden"; 3_000].join(" or ");
    let terms_q = format!("{API}/CatalogItems?$filter={}", terms.replace(' ', "%20"));
    let cases: Vec<BadCase> = vec![
        (
            "POST",
            post.clone(),
            Some("{\"Name\": "),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "not valid JSON",
        ),
        (
            "POST",
            post.clone(),
            Some("[1]"),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "JSON object",
        ),
        (
            "POST",
            post.clone(),
            Some(&wrong_type),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "@odata.type '#Model.Kpi'",
        ),
        (
            "POST",
            format!("{API}/Reports"),
            Some(&folder_into_reports),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "Reports holds Report items",
        ),
        (
            "POST",
            post.clone(),
            Some(&bad_b64),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "not valid base64",
        ),
        (
            "POST",
            post.clone(),
            Some(&dotdot),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "invalid Path",
        ),
        (
            "POST",
            post.clone(),
            Some(&nul),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "invalid Name",
        ),
        (
            "POST",
            post.clone(),
            Some(&bad_rdl),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "not a valid report definition",
        ),
        (
            "POST",
            post.clone(),
            Some(&big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "rsRequestTooLarge",
            "1 MB",
        ),
        (
            "POST",
            post.clone(),
            Some(&no_content),
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "Content is missing",
        ),
        (
            "GET",
            format!("{API}/CatalogItems(Path='/Sales/../x')"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "invalid item path",
        ),
        (
            "GET",
            format!("{API}/CatalogItems(Path='/Sales%00')"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "NUL",
        ),
        (
            "GET",
            format!("{API}/CatalogItems(42)"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "neither a GUID nor a path",
        ),
        (
            "DELETE",
            format!("{API}/CatalogItems(Sales)"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "neither a GUID nor a path",
        ),
        (
            "GET",
            format!("{API}/CatalogItems?$filter=substringof(%27a%27,Name)"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "unknown function 'substringof'",
        ),
        (
            "GET",
            terms_q,
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "$filter",
        ),
        (
            "GET",
            format!("{API}/CatalogItems?$frobnicate=1"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "$frobnicate",
        ),
        (
            "GET",
            format!("{API}/CatalogItems?top=x"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "$top",
        ),
        (
            "GET",
            format!("{API}/CatalogItems(Path='/Overview')?$top=1"),
            None,
            StatusCode::BAD_REQUEST,
            "rsInvalidParameter",
            "collections",
        ),
        (
            "GET",
            format!("{API}/Kpis"),
            None,
            StatusCode::NOT_IMPLEMENTED,
            "rsNotImplemented",
            "Kpis",
        ),
        (
            "GET",
            format!("{API}/Reports(Path='/Overview')/Subscriptions"),
            None,
            StatusCode::NOT_IMPLEMENTED,
            "rsNotImplemented",
            "Subscriptions",
        ),
        (
            "POST",
            format!("{API}/DataSets(Path='/Overview')/CacheOptions"),
            Some("{}"),
            StatusCode::NOT_IMPLEMENTED,
            "rsNotImplemented",
            "CacheOptions",
        ),
        (
            "GET",
            format!("{API}/Nope"),
            None,
            StatusCode::NOT_FOUND,
            "rsItemNotFound",
            "Nope",
        ),
        (
            "GET",
            format!("{API}/CatalogItems(Path='/Nope')"),
            None,
            StatusCode::NOT_FOUND,
            "rsItemNotFound",
            "/Nope",
        ),
        (
            "DELETE",
            format!("{API}/CatalogItems"),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "rsMethodNotAllowed",
            "DELETE",
        ),
    ];
    for (method, uri, body, status, code, needle) in &cases {
        let r = call(&app, method, uri, ADMIN, *body, &[]).await;
        odata_error(&r, *status, code, needle);
        assert_eq!(
            snapshot(&c).await,
            before,
            "{method} {uri} changed the catalog"
        );
    }
    // 10,000 $filter terms: too long for a URL, so sent as OData's POST .../$query.
    let ten_k = vec!["Name eq 'x'"; 10_000].join(" or ");
    let plain = [("content-type", "text/plain")];
    let r = call(
        &app,
        "POST",
        &format!("{API}/CatalogItems/$query"),
        ADMIN,
        None,
        &plain,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (body, needle) in [
        (format!("$filter={ten_k}"), "longer than"),
        (
            format!("$filter={}", vec!["Hidden"; 1_000].join(" or ")),
            "more than 200 terms",
        ),
        ("$filter=frob(Name)".to_owned(), "unknown function 'frob'"),
    ] {
        let r = send(
            &app,
            Request::post(format!("{API}/CatalogItems/$query"))
                .header("host", "reports.test:8080")
                .header("authorization", basic(ADMIN))
                .header("content-type", "text/plain")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        bad_request(&r, needle);
    }
    let r = send(
        &app,
        Request::post(format!("{API}/catalogitems/$query"))
            .header("host", "reports.test:8080")
            .header("authorization", basic(BROWSER))
            .header("content-type", "text/plain")
            .body(Body::from("$filter=Name eq 'Overview'&$select=Name"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(names(&json_of(&r)), ["Overview"]);
    let r = call(
        &app,
        "POST",
        &format!("{API}/CatalogItems/$query"),
        ADMIN,
        Some("$top=1"),
        &[],
    )
    .await;
    bad_request(&r, "text/plain");
    assert_eq!(snapshot(&c).await, before);
    // A body that is not JSON at all (a form) is refused before it is read.
    let r = call(
        &app,
        "POST",
        &post,
        ADMIN,
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    bad_request(&r, "application/json");
}

#[tokio::test]
async fn odata_options_give_exact_results() {
    let (_e, app, c) = rest_env().await;
    put_rdl(&c, "/Sales/Annual", RDL_V2).await;
    put(&c, "/Sales/notes.txt", catalog::ItemType::Resource, b"abc").await;
    let q = |query: &str| {
        let app = app.clone();
        let uri = format!("{API}/CatalogItems?{query}");
        async move {
            let r = get_as(&app, &uri, ADMIN).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
            json_of(&r)
        }
    };
    // The whole catalog, by path.
    assert_eq!(
        names(&q("").await),
        [
            "Overview",
            "Sales",
            "Annual",
            "notes.txt",
            "Quarterly",
            "Secret"
        ]
    );
    assert_eq!(
        names(&q("$filter=Type%20eq%20%27Report%27&$orderby=Name%20desc").await),
        ["Quarterly", "Overview", "Annual"]
    );
    assert_eq!(names(&q("$filter=startswith(Path,%27/Sales/%27)%20and%20Size%20gt%203&$orderby=Size%20desc,Name").await), ["Annual", "Quarterly"]);
    assert_eq!(
        names(&q("$filter=contains(tolower(Name),%27NOTE%27)").await),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &q("$filter=contains(tolower(Name),%27note%27)%20or%20endswith(Name,%27ly%27)").await
        ),
        ["notes.txt", "Quarterly"]
    );
    assert_eq!(names(&q("$filter=not%20(Type%20eq%20%27Folder%27)%20and%20Hidden%20eq%20false&$orderby=Type,Name&$top=2&$skip=1").await), ["Overview", "Quarterly"]);
    let v = q("$filter=Type%20ne%20%27Folder%27&$count=true&$top=1&$select=Name,Path").await;
    assert_eq!(v["@odata.count"], 4);
    assert_eq!(
        v["value"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ["@odata.type", "Name", "Path"]
    );
    assert!(q("").await.get("@odata.count").is_none());
    assert_eq!(
        names(&q("$filter=Size%20ge%203%20and%20Size%20le%203").await),
        ["notes.txt"]
    );
    assert_eq!(names(&q("$filter=ModifiedDate%20gt%202000-01-01T00:00:00Z%20and%20Description%20eq%20null&$top=1").await), ["Overview"]);
    // Typed sets and search.
    let r = get_as(&app, &format!("{API}/Reports?$orderby=Path"), ADMIN).await;
    assert_eq!(names(&json_of(&r)), ["Overview", "Annual", "Quarterly"]);
    let r = get_as(
        &app,
        &format!("{API}/Folders(Path='/Sales')/Model.SearchItems(searchText='UAR')"),
        ADMIN,
    )
    .await;
    assert_eq!(names(&json_of(&r)), ["Quarterly"]);
    // The Browser does not see /Secret in any listing.
    let r = get_as(&app, &format!("{API}/Folders"), BROWSER).await;
    assert_eq!(names(&json_of(&r)), ["Sales"]);
}

#[tokio::test]
async fn names_are_case_insensitive_and_keys_are_guids_or_paths() {
    let (_e, app, c) = rest_env().await;
    let sales = stored_item(&c, "/Sales").await.unwrap();
    for uri in [
        format!("{API}/folders({})", sales.id),
        format!("{API}/FOLDERS(path='/sales')"),
        format!("{API}/CatalogItems(Path='/Sales')"),
        format!("{API}/catalogitems({})", sales.id.simple()),
    ] {
        let r = get_as(&app, &uri, BROWSER).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(json_of(&r)["Id"], sales.id.to_string());
        xsrf_cookie(&r);
    }
    let r = get_as(
        &app,
        &format!("{API}/Folders({})/catalogitems", sales.id),
        BROWSER,
    )
    .await;
    assert_eq!(names(&json_of(&r)), ["Quarterly"]);
    // Quotes doubled inside a path key.
    put(&c, "/O'Brien", catalog::ItemType::Resource, b"x").await;
    let r = get_as(
        &app,
        &format!("{API}/Resources(Path='/O''Brien')/content/$VALUE"),
        BROWSER,
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "x"));
    // An unknown GUID is a 404, a report through Folders a 400.
    let r = get_as(
        &app,
        &format!("{API}/CatalogItems({})", uuid::Uuid::nil()),
        BROWSER,
    )
    .await;
    odata_error(&r, StatusCode::NOT_FOUND, "rsItemNotFound", "00000000");
    let r = get_as(&app, &format!("{API}/Folders(Path='/Overview')"), BROWSER).await;
    bad_request(&r, "not a Folder");
    // System and Me.
    let r = get_as(&app, &format!("{API}/system"), BROWSER).await;
    assert_eq!(
        json_of(&r)["ReportServerAbsoluteUrl"],
        "http://reports.test:8080/ReportServer"
    );
    let r = get_as(&app, &format!("{API}/ME"), BROWSER).await;
    assert!(json_of(&r).get("MyReportsPath").is_some());
    // The Users endpoint of the portal still answers.
    let r = get_as(&app, &format!("{API}/Users"), ADMIN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn writes_from_browsers_or_with_a_token_need_the_right_xsrf_token() {
    let (_e, app, c) = rest_env().await;
    let uri = format!("{API}/Folders");
    let body =
        |n: &str| json!({"@odata.type": "#Model.Folder", "Name": n, "Path": "/"}).to_string();
    let pat_token = xsrf_cookie(&get_as(&app, &format!("{API}/Me"), PUBLISHER).await);
    let bob_token = xsrf_cookie(&get_as(&app, &format!("{API}/Me"), BROWSER).await);
    assert_ne!(pat_token, bob_token, "bound to the user");
    let cookie = format!("XSRF-TOKEN={pat_token}");
    let before = snapshot(&c).await;
    for headers in [
        vec![("cookie", cookie.as_str()), ("x-xsrf-token", "00ff")],
        vec![("x-xsrf-token", bob_token.as_str())],
        vec![("origin", "http://reports.test:8080")],
        vec![
            ("origin", "http://evil.test"),
            ("x-xsrf-token", pat_token.as_str()),
        ],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("x-xsrf-token", pat_token.as_str()),
        ],
    ] {
        let r = call(&app, "POST", &uri, PUBLISHER, Some(&body("X")), &headers).await;
        odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", "X-XSRF-TOKEN");
        assert_eq!(snapshot(&c).await, before, "{headers:?}");
    }
    // A script with Basic and no cookies; a script whose HTTP session sends the cookie
    // back without the header (Python requests); a session with the token; a same-origin
    // page.
    for (name, headers) in [
        ("A", vec![]),
        ("A2", vec![("cookie", cookie.as_str())]),
        (
            "B",
            vec![
                ("cookie", cookie.as_str()),
                ("x-xsrf-token", pat_token.as_str()),
            ],
        ),
        (
            "C",
            vec![
                ("origin", "http://reports.test:8080"),
                ("sec-fetch-site", "same-origin"),
                ("x-xsrf-token", pat_token.as_str()),
            ],
        ),
    ] {
        let r = call(&app, "POST", &uri, PUBLISHER, Some(&body(name)), &headers).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{name} {headers:?}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_what_is_served() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get_as(&app, &format!("{API}/openapi.json"), BROWSER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = json_of(&r);
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["servers"][0]["url"], API);
    let paths = doc["paths"].as_object().unwrap();
    // Every documented GET without path parameters answers 200 (the others need keys).
    for (p, ops) in paths {
        assert!(!p.contains("Kpis") && !p.contains("Subscriptions"), "{p}");
        if !p.contains('{') && ops.get("get").is_some() {
            let r = get_as(&app, &format!("{API}{p}"), ADMIN).await;
            assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.body);
        }
    }
    // And keyed ones with a real key.
    let c = e.catalog.clone().unwrap();
    let sales = stored_item(&c, "/Sales").await.unwrap();
    let overview = stored_item(&c, "/Overview").await.unwrap();
    put(&c, "/logo.png", catalog::ItemType::Resource, b"png").await;
    put(
        &c,
        "/DS",
        catalog::ItemType::DataSource,
        br#"<RptDataSource Name="DS"><ConnectionProperties><Extension>SQLITE</Extension><ConnectString>Data Source=x.db</ConnectString></ConnectionProperties></RptDataSource>"#,
    )
    .await;
    let logo = stored_item(&c, "/logo.png").await.unwrap();
    let ds = stored_item(&c, "/DS").await.unwrap();
    let body = json!({"@odata.type": "#Model.DataSet", "Name": "Rows", "Path": "/", "Content": b64(RSD.as_bytes())}).to_string();
    let r = call_json(&app, "POST", &format!("{API}/DataSets"), ADMIN, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dataset: uuid::Uuid = json_of(&r)["Id"].as_str().unwrap().parse().unwrap();
    for (p, ops) in paths {
        if p.contains("{Id}") && !p.contains("searchText") && ops.get("get").is_some() {
            let id = match p.split('(').next().unwrap() {
                "/Folders" => sales.id,
                "/Resources" => logo.id,
                "/DataSources" => ds.id,
                "/DataSets" => dataset,
                _ => overview.id,
            };
            let uri = format!("{API}{}", p.replace("{Id}", &id.to_string()));
            let r = get_as(&app, &uri, ADMIN).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        }
    }
    assert!(paths["/CatalogItems"]["post"]["requestBody"].is_object());
    assert!(paths["/CatalogItems({Id})"]["delete"]["responses"]["204"].is_object());
}

/// The policies of `path` as the catalog holds them, for "unchanged" checks.
async fn policies_of(c: &SharedCatalog, path: &str) -> Option<Vec<catalog::Policy>> {
    c.get_policies(&ItemPath::parse(path).unwrap())
        .await
        .unwrap()
}

/// Users and their system roles, for "unchanged" checks.
async fn system_roles(c: &SharedCatalog) -> Vec<(String, Vec<catalog::Role>)> {
    c.list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.system_roles))
        .collect()
}

fn policy_users(v: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = v["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["GroupUserName"].as_str().unwrap().to_owned(),
                p["Roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["Name"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Grant-RsRestItemAccessPolicy as the module builds it (GET the policies, append one,
/// InheritParentPolicy false, PUT the whole object back), inheritance, refusals and bad
/// bodies with the policies unchanged; System/Policies the same way.
#[tokio::test]
async fn item_and_system_policies() {
    let (_e, app, c) = rest_env().await;
    let sales = format!("{API}/Folders(Path='/Sales')/Policies");
    let r = get_as(&app, &sales, ADMIN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = json_of(&r);
    assert_eq!(got["InheritParentPolicy"], true, "{got}");
    assert_eq!(
        policy_users(&got),
        [
            ("admin".to_owned(), vec!["Content Manager".to_owned()]),
            ("bob".to_owned(), vec!["Browser".to_owned()]),
            ("pat".to_owned(), vec!["Publisher".to_owned()]),
        ]
    );
    // Only a Content Manager may read or change policies.
    for who in [BROWSER, PUBLISHER] {
        let r = get_as(&app, &sales, who).await;
        odata_error(
            &r,
            StatusCode::FORBIDDEN,
            "rsAccessDenied",
            "manage security",
        );
    }
    // nobody cannot see /Sales yet.
    let r = get_as(&app, &format!("{API}/Folders(Path='/Sales')"), NOBODY).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut grant = got.clone();
    grant["Policies"].as_array_mut().unwrap().push(
        json!({"GroupUserName": "nobody", "Roles": [{"Name": "Browser", "Description": ""}]}),
    );
    grant["InheritParentPolicy"] = json!(false);
    let grant = grant.to_string();
    let before = policies_of(&c, "/Sales").await;
    assert_eq!(before, None);
    for who in [BROWSER, PUBLISHER, NOBODY] {
        let r = call_json(&app, "PUT", &sales, who, &grant).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(policies_of(&c, "/Sales").await, before);
    }
    // Malformed or impossible bodies: 400 naming the problem, nothing changed.
    let bad: Vec<(String, &str)> = vec![
        (json!({"InheritParentPolicy": false, "Policies": [{"GroupUserName": "ghost", "Roles": [{"Name": "Browser"}]}]}).to_string(), "'ghost' is not a user"),
        (json!({"InheritParentPolicy": false, "Policies": [{"GroupUserName": "bob", "Roles": [{"Name": "System Administrator"}]}]}).to_string(), "system role"),
        (json!({"InheritParentPolicy": false, "Policies": [{"GroupUserName": "bob", "Roles": [{"Name": "Report Builder"}]}]}).to_string(), "'Report Builder'"),
        (json!({"InheritParentPolicy": false, "Policies": [{"GroupUserName": "bob", "Roles": []}]}).to_string(), "no roles"),
        (
            json!({"InheritParentPolicy": true, "Policies": [{"GroupUserName": "nobody", "Roles": [{"Name": "Browser"}]}]}).to_string(),
            "differ from the parent",
        ),
        (json!({"InheritParentPolicy": "no"}).to_string(), "InheritParentPolicy must be true or false"),
        (json!({"Policies": {"GroupUserName": "bob"}}).to_string(), "Policies must be an array"),
        ("[1, 2]".to_owned(), "ItemPolicy object"),
        ("{\"Policies\": [".to_owned(), "not valid JSON"),
    ];
    for (body, needle) in &bad {
        let r = call_json(&app, "PUT", &sales, ADMIN, &body).await;
        bad_request(&r, needle);
        assert_eq!(policies_of(&c, "/Sales").await, before, "{body}");
    }
    let r = call_json(
        &app,
        "PUT",
        &format!("{API}/Folders(Path='/')/Policies"),
        ADMIN,
        &json!({"InheritParentPolicy": true}),
    )
    .await;
    bad_request(&r, "no parent");
    // The grant as ReportingServicesTools sends it.
    let r = call_json(&app, "PUT", &sales, ADMIN, &grant).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json_of(&r)["InheritParentPolicy"], false);
    assert_eq!(policy_users(&json_of(&r)).len(), 4);
    let r = get_as(&app, &format!("{API}/Folders(Path='/Sales')"), NOBODY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A report below inherits them.
    let r = get_as(
        &app,
        &format!("{API}/Reports(Path='/Sales/Quarterly')/Policies"),
        ADMIN,
    )
    .await;
    assert_eq!(json_of(&r)["InheritParentPolicy"], true);
    assert_eq!(policy_users(&json_of(&r)).len(), 4);
    // Back to inheriting: nobody loses access again.
    let r = call_json(
        &app,
        "PUT",
        &sales,
        ADMIN,
        &json!({"InheritParentPolicy": true, "Policies": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(policies_of(&c, "/Sales").await, None);
    let r = get_as(&app, &format!("{API}/Folders(Path='/Sales')"), NOBODY).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // System/Policies: System Administrators only.
    let sys = format!("{API}/System/Policies");
    let r = get_as(&app, &sys, ADMIN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        policy_users(&json_of(&r)),
        [("admin".to_owned(), vec!["System Administrator".to_owned()])]
    );
    let roles_before = system_roles(&c).await;
    let add_pat = json!({"Policies": [
        {"GroupUserName": "admin", "Roles": [{"Name": "System Administrator"}]},
        {"GroupUserName": "pat", "Roles": [{"Name": "System User"}]},
    ]})
    .to_string();
    for who in [BROWSER, PUBLISHER] {
        let r = get_as(&app, &sys, who).await;
        odata_error(
            &r,
            StatusCode::FORBIDDEN,
            "rsAccessDenied",
            "System Administrator",
        );
        let r = call_json(&app, "PUT", &sys, who, &add_pat).await;
        odata_error(
            &r,
            StatusCode::FORBIDDEN,
            "rsAccessDenied",
            "System Administrator",
        );
        assert_eq!(system_roles(&c).await, roles_before);
    }
    for (body, needle) in [
        (json!({"Policies": [{"GroupUserName": "pat", "Roles": [{"Name": "System User"}]}]}).to_string(), "no System Administrator"),
        (json!({"Policies": [{"GroupUserName": "admin", "Roles": [{"Name": "System Administrator"}]}, {"GroupUserName": "pat", "Roles": [{"Name": "Publisher"}]}]}).to_string(), "item role"),
        (json!({"Policies": [{"GroupUserName": "admin", "Roles": [{"Name": "System Administrator"}]}, {"GroupUserName": "ghost", "Roles": [{"Name": "System User"}]}]}).to_string(), "'ghost'"),
    ] {
        let r = call_json(&app, "PUT", &sys, ADMIN, &body).await;
        bad_request(&r, needle);
        assert_eq!(system_roles(&c).await, roles_before);
    }
    let r = call_json(&app, "PUT", &sys, ADMIN, &add_pat).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(policy_users(&json_of(&r)).len(), 2);
    let pat = c.get_user("pat").await.unwrap().unwrap();
    assert_eq!(pat.system_roles, [catalog::Role::SystemUser]);
}

/// Properties (GET with ?properties=, PATCH Description/Hidden) and AllowedActions.
#[tokio::test]
async fn properties_and_allowed_actions() {
    let (_e, app, c) = rest_env().await;
    let props = format!("{API}/CatalogItems(Path='/Overview')/Properties");
    let r = get_as(
        &app,
        &format!("{props}?properties=Description,hidden"),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        json_of(&r)["value"],
        json!([{"Name": "Description", "Value": ""}, {"Name": "Hidden", "Value": "false"}])
    );
    let r = get_as(&app, &props, BROWSER).await;
    let all = json_of(&r);
    assert!(
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "CreatedBy" && p["Value"] == "admin"),
        "{all}"
    );
    let r = get_as(&app, &format!("{props}?properties=Colour"), BROWSER).await;
    bad_request(&r, "'Colour'");

    let set = json!([{"Name": "Description", "Value": "Monthly figures"}, {"Name": "Hidden", "Value": "true"}]).to_string();
    let before = snapshot(&c).await;
    for who in [BROWSER, NOBODY] {
        let r = call_json(&app, "PATCH", &props, who, &set).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(snapshot(&c).await, before);
    }
    for (body, needle) in [
        (
            json!([{"Name": "Hidden", "Value": "maybe"}]).to_string(),
            "\"true\" or \"false\"",
        ),
        (
            json!([{"Name": "Size", "Value": "1"}]).to_string(),
            "read only",
        ),
        (
            json!([{"Name": "Colour", "Value": "red"}]).to_string(),
            "custom properties",
        ),
        (json!([{"Value": "x"}]).to_string(), "needs a Name"),
        (
            json!([{"Name": "Description", "Value": 7}]).to_string(),
            "must be a string",
        ),
        // One good, one bad: nothing changes.
        (
            json!([{"Name": "Description", "Value": "x"}, {"Name": "Path", "Value": "/x"}])
                .to_string(),
            "read only",
        ),
        ("\"text\"".to_owned(), "array"),
    ] {
        let r = call_json(&app, "PATCH", &props, PUBLISHER, &body).await;
        bad_request(&r, needle);
        assert_eq!(snapshot(&c).await, before, "{body}");
    }
    let r = call_json(&app, "PATCH", &props, PUBLISHER, &set).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let o = stored_item(&c, "/Overview").await.unwrap();
    assert_eq!(
        (o.description.as_str(), o.hidden),
        ("Monthly figures", true)
    );
    // PUT, the swagger's method on typed sets, does the same.
    let r = call_json(
        &app,
        "PUT",
        &format!("{API}/Reports(Path='/Overview')/Properties"),
        PUBLISHER,
        &json!([{"Name": "Hidden", "Value": "false"}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(!stored_item(&c, "/Overview").await.unwrap().hidden);

    let actions = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["Action"].as_str().unwrap().to_owned())
            .collect()
    };
    let aa = format!("{API}/Reports(Path='/Overview')/AllowedActions");
    let bob = actions(&json_of(&get_as(&app, &aa, BROWSER).await));
    assert!(
        bob.contains(&"ReadContent".to_owned()) && !bob.iter().any(|a| a.starts_with("Update")),
        "{bob:?}"
    );
    let pat = actions(&json_of(&get_as(&app, &aa, PUBLISHER).await));
    assert!(
        pat.contains(&"UpdateContent".to_owned()) && !pat.contains(&"UpdatePolicy".to_owned()),
        "{pat:?}"
    );
    let admin = actions(&json_of(&get_as(&app, &aa, ADMIN).await));
    assert!(admin.contains(&"UpdatePolicy".to_owned()), "{admin:?}");
    let r = get_as(
        &app,
        &format!("{API}/Folders(Path='/Secret')/AllowedActions"),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let sys = actions(&json_of(
        &get_as(&app, &format!("{API}/System/AllowedActions"), ADMIN).await,
    ));
    assert!(
        sys.contains(&"UpdateSystemSecurityPolicy".to_owned()),
        "{sys:?}"
    );
    let sys = actions(&json_of(
        &get_as(&app, &format!("{API}/System/AllowedActions"), BROWSER).await,
    ));
    assert!(sys.is_empty(), "{sys:?}");
    let r = get_as(&app, &format!("{API}/System/Properties"), BROWSER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        json_of(&r)["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "ProductVersion" && p["Value"] == VERSION)
    );
}

const PARAM_RDL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<DataSources>
<DataSource Name="Shared"><DataSourceReference>/Data/Sales</DataSourceReference></DataSource>
<DataSource Name="Local"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source=/tmp/x.db</ConnectString></ConnectionProperties></DataSource>
</DataSources>
<DataSets><DataSet Name="Rows"><Query><DataSourceName>Local</DataSourceName><CommandText>select 1 as n where 1 = @year</CommandText><QueryParameters><QueryParameter Name="@year"><Value>=Parameters!Year.Value</Value></QueryParameter></QueryParameters></Query><Fields><Field Name="n"><DataField>n</DataField></Field></Fields></DataSet></DataSets>
<ReportParameters>
<ReportParameter Name="Year"><DataType>Integer</DataType><DefaultValue><Values><Value>2024</Value></Values></DefaultValue><Prompt>Year</Prompt><ValidValues><ParameterValues><ParameterValue><Value>2024</Value><Label>This year</Label></ParameterValue><ParameterValue><Value>2023</Value></ParameterValue></ParameterValues></ValidValues></ReportParameter>
<ReportParameter Name="Region"><DataType>String</DataType><Nullable>true</Nullable><DefaultValue><Values><Value>="R" &amp; Parameters!Year.Value</Value></Values></DefaultValue><Prompt>Region</Prompt><Hidden>true</Hidden></ReportParameter>
</ReportParameters>
<Body><Height>1in</Height></Body><Width>6in</Width></Report>"#;

const RDS: &[u8] = br#"<RptDataSource Name="DS"><ConnectionProperties><Extension>SQLITE</Extension><ConnectString>Data Source=x.db</ConnectString></ConnectionProperties></RptDataSource>"#;

/// Reports(...)/ParameterDefinitions and Get/Set-RsRestItemDataSource (GET the list, change
/// it, PUT the array to Reports(Path='...')/DataSources).
#[tokio::test]
async fn report_parameters_and_data_sources() {
    let (_e, app, c) = rest_env().await;
    c.create_folder(&ItemPath::parse("/Data").unwrap(), "admin")
        .await
        .unwrap();
    put(&c, "/Data/Sales", catalog::ItemType::DataSource, RDS).await;
    put(&c, "/Data/Other", catalog::ItemType::DataSource, RDS).await;
    put_rdl(&c, "/Sales/Param", PARAM_RDL).await;
    let r = get_as(
        &app,
        &format!("{API}/Reports(Path='/Sales/Param')/ParameterDefinitions"),
        BROWSER,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    let year = &v["value"][0];
    assert_eq!(year["Name"], "Year");
    assert_eq!(year["ParameterType"], "Integer");
    assert_eq!(year["ParameterVisibility"], "Visible");
    assert_eq!(year["ParameterState"], "HasValidValue");
    assert_eq!(year["DefaultValues"], json!(["2024"]));
    assert_eq!(
        year["ValidValues"],
        json!([{"Label": "This year", "Value": "2024"}, {"Label": "2023", "Value": "2023"}])
    );
    assert_eq!(year["QueryParameter"], true);
    assert_eq!(year["Prompt"], "Year");
    let region = &v["value"][1];
    assert_eq!(region["ParameterVisibility"], "Hidden");
    assert_eq!(region["Nullable"], true);
    assert_eq!(region["Dependencies"], json!(["Year"]));
    assert_eq!(region["ParameterState"], "HasOutstandingDependencies");
    assert_eq!(region["QueryParameter"], false);
    // Only reports have parameter definitions.
    let r = get_as(
        &app,
        &format!("{API}/Reports(Path='/Sales')/ParameterDefinitions"),
        BROWSER,
    )
    .await;
    bad_request(&r, "not a Report");

    // Get-RsRestItemDataSource
    let uri = format!("{API}/Reports(Path='/Sales/Param')/DataSources");
    let r = get_as(&app, &uri, BROWSER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut list = json_of(&r)["value"].clone();
    let shared_id = stored_item(&c, "/Data/Sales").await.unwrap().id;
    assert_eq!(list[0]["Name"], "Shared");
    assert_eq!(list[0]["IsReference"], true);
    assert_eq!(list[0]["Path"], "/Data/Sales");
    assert_eq!(list[0]["Id"], shared_id.to_string());
    assert_eq!(list[1]["Name"], "Local");
    assert_eq!(list[1]["IsReference"], false);
    assert_eq!(list[1]["DataSourceType"], "SQLITE");
    assert_eq!(list[1]["ConnectionString"], "Data Source=/tmp/x.db");
    assert_eq!(list[1]["CredentialRetrieval"], "None");

    // Set-RsRestItemDataSource: the same array, changed, PUT back.
    list[0]["Path"] = json!("/Data/Other");
    list[1]["ConnectionString"] = json!("Data Source=/tmp/y & z.db");
    let body = list.to_string();
    let before = snapshot(&c).await;
    for who in [BROWSER, NOBODY] {
        let r = call_json(&app, "PUT", &uri, who, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(snapshot(&c).await, before);
    }
    for (bad, needle) in [
        (json!([{"Name": "Nope", "Path": "/Data/Other"}]).to_string(), "no data source named 'Nope'"),
        (json!([{"Name": "Shared", "Path": "/Data/Missing"}]).to_string(), "does not exist"),
        (json!([{"Name": "Shared", "Path": "/Sales"}]).to_string(), "not a shared data source"),
        (json!([{"Name": "Shared", "Path": "/Data/../x"}]).to_string(), "invalid Path"),
        (json!([{"Name": "Local", "IsReference": true, "Path": "/Data/Other"}]).to_string(), "embedded"),
        (json!([{"Name": "Local", "CredentialRetrieval": "Store"}]).to_string(), "CredentialRetrieval"),
        (json!([{"Name": "Local", "ConnectionString": "x"}, {"Name": "Shared", "IsReference": false}]).to_string(), "embedded one is not offered"),
        (json!([{"Path": "/Data/Other"}]).to_string(), "needs the Name"),
        ("7".to_owned(), "array of data sources"),
    ] {
        let r = call_json(&app, "PUT", &uri, PUBLISHER, &bad).await;
        bad_request(&r, needle);
        assert_eq!(snapshot(&c).await, before, "{bad}");
    }
    let r = call_json(&app, "PUT", &uri, PUBLISHER, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = json_of(&r)["value"].clone();
    assert_eq!(now[0]["Path"], "/Data/Other");
    assert_eq!(now[1]["ConnectionString"], "Data Source=/tmp/y & z.db");
    let stored = String::from_utf8(
        c.get_content(&ItemPath::parse("/Sales/Param").unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        stored.contains("<DataSourceReference>/Data/Other</DataSourceReference>"),
        "{stored}"
    );
    assert!(
        stored.contains("<ConnectString>Data Source=/tmp/y &amp; z.db</ConnectString>"),
        "{stored}"
    );
    // Everything else of the definition is as it was.
    assert_eq!(
        stored
            .replace("/Data/Other", "/Data/Sales")
            .replace("/tmp/y &amp; z.db", "/tmp/x.db"),
        PARAM_RDL
    );
}

#[tokio::test]
async fn metadata_is_a_csdl_document_of_what_is_served() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get_as(&app, &format!("{API}/$metadata"), BROWSER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/xml");
    assert!(r.body.contains("<edmx:Edmx Version=\"4.0\""), "{}", r.body);
    assert!(
        r.body
            .contains("<EntitySet Name=\"CatalogItems\" EntityType=\"Model.CatalogItem\"/>")
    );
    assert!(
        r.body
            .contains("<EntityType Name=\"Report\" BaseType=\"Model.CatalogItem\"/>")
    );
    let r = get_as(&app, "/Reports/api/v2.0/$METADATA", BROWSER).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Everything a write can change: items, the policies of the test's items, system roles.
async fn state_of(
    c: &SharedCatalog,
) -> (
    Vec<String>,
    Vec<Option<Vec<catalog::Policy>>>,
    Vec<(String, Vec<catalog::Role>)>,
) {
    let mut pols = Vec::new();
    for p in [
        "/A",
        "/A/F",
        "/A/R",
        "/A/C",
        "/A/DS",
        "/A/Set",
        "/A/Res.txt",
    ] {
        pols.push(
            c.get_policies(&ItemPath::parse(p).unwrap())
                .await
                .unwrap_or(None),
        );
    }
    (snapshot(c).await, pols, system_roles(c).await)
}

const AUDIT_RDL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<DataSources><DataSource Name="Local"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source=/tmp/x.db</ConnectString></ConnectionProperties></DataSource></DataSources>
<ReportParameters><ReportParameter Name="Year"><DataType>Integer</DataType><Prompt>Year</Prompt></ReportParameter></ReportParameters>
<Body><Height>1in</Height></Body><Width>6in</Width></Report>"#;

/// Method, swagger-style path, URI, body, writer, expected status, whether it changes state.
type WriteCase<'a> = (
    &'a str,
    String,
    String,
    Option<String>,
    (&'a str, &'a str),
    StatusCode,
    bool,
);

/// The audit of Done-when 2, driven by the OpenAPI document so that it cannot miss a
/// write: every operation that is not a GET has a case here (the test fails on one that
/// has none). Each case: the Browser and the user without a role are refused (403) with
/// nothing changed; a malformed body from the writer is a 400 with nothing changed; the
/// writer (Publisher; Content Manager or System Administrator where SSRS needs them)
/// succeeds and the change is there.
#[tokio::test]
async fn every_write_operation_is_role_checked_and_refusals_change_nothing() {
    let (_e, app, c) = rest_env().await;
    c.create_folder(&ItemPath::parse("/A").unwrap(), "admin")
        .await
        .unwrap();
    c.create_folder(&ItemPath::parse("/A/F").unwrap(), "admin")
        .await
        .unwrap();
    put_rdl(&c, "/A/R", AUDIT_RDL).await;
    put_rdl(&c, "/A/C", MINIMAL_RDL).await;
    put(&c, "/A/DS", catalog::ItemType::DataSource, RDS).await;
    put(&c, "/A/Res.txt", catalog::ItemType::Resource, b"text").await;
    let r = call_json(
        &app,
        "POST",
        &api("DataSets"),
        ADMIN,
        &json!({"Name": "Set", "Path": "/A", "Content": b64(RSD.as_bytes())}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = |p: &str| {
        let c = c.clone();
        let p = p.to_owned();
        async move {
            c.get_item(&ItemPath::parse(&p).unwrap())
                .await
                .unwrap()
                .unwrap()
                .id
                .to_string()
        }
    };
    let keyed: Vec<(&str, String)> = vec![
        ("CatalogItems", id("/A/C").await),
        ("Folders", id("/A/F").await),
        ("Reports", id("/A/R").await),
        ("DataSources", id("/A/DS").await),
        ("DataSets", id("/A/Set").await),
        ("Resources", id("/A/Res.txt").await),
    ];
    let system_policies = json_of(&get_as(&app, &api("System/Policies"), ADMIN).await).to_string();
    // (method, swagger-style path, URI, body, writer, expected status, whether it changes state)
    let mut cases: Vec<WriteCase> = Vec::new();
    let posts = [
        (
            "CatalogItems",
            json!({"@odata.type": "#Model.Resource", "Name": "new.txt", "Path": "/A", "Content": b64(b"x")}),
        ),
        (
            "Folders",
            json!({"@odata.type": "#Model.Folder", "Name": "NewF", "Path": "/A"}),
        ),
        (
            "Reports",
            json!({"Name": "NewR", "Path": "/A", "Content": b64(MINIMAL_RDL.as_bytes())}),
        ),
        (
            "DataSources",
            json!({"Name": "NewDS", "Path": "/A", "DataSourceType": "SQLITE", "ConnectionString": "Data Source=x.db"}),
        ),
        (
            "DataSets",
            json!({"Name": "NewSet", "Path": "/A", "Content": b64(RSD.as_bytes())}),
        ),
        (
            "Resources",
            json!({"Name": "new.bin", "Path": "/A", "Content": b64(b"y")}),
        ),
    ];
    for (set, body) in &posts {
        cases.push((
            "POST",
            format!("/{set}"),
            api(set),
            Some(body.to_string()),
            PUBLISHER,
            StatusCode::CREATED,
            true,
        ));
    }
    for (n, (set, key)) in keyed.iter().enumerate() {
        let content = match *set {
            "CatalogItems" => json!({"Content": b64(RDL_V2.as_bytes())}),
            "Folders" => json!({"Description": "put"}),
            "Reports" => json!({"Content": b64(AUDIT_RDL.replace("6in", "7in").as_bytes())}),
            "DataSources" => json!({"Content": b64(&[RDS, b" "].concat())}),
            "DataSets" => json!({"Content": b64(RSD.replace("select 1", "select 3").as_bytes())}),
            _ => json!({"Content": b64(b"new text")}),
        };
        let item = |nav: &str| api(&format!("{set}({key}){nav}"));
        let tpl = |nav: &str| format!("/{set}({{Id}}){nav}");
        cases.push((
            "PUT",
            tpl(""),
            item(""),
            Some(content.to_string()),
            PUBLISHER,
            StatusCode::OK,
            true,
        ));
        cases.push((
            "PATCH",
            tpl(""),
            item(""),
            Some(json!({"Description": format!("patched {n}")}).to_string()),
            PUBLISHER,
            StatusCode::NO_CONTENT,
            true,
        ));
        cases.push((
            "PATCH",
            tpl("/Properties"),
            item("/Properties"),
            Some(json!([{"Name": "Description", "Value": format!("props {n}")}]).to_string()),
            PUBLISHER,
            StatusCode::NO_CONTENT,
            true,
        ));
        cases.push((
            "PUT",
            tpl("/Properties"),
            item("/Properties"),
            Some(json!([{"Name": "Hidden", "Value": "true"}]).to_string()),
            PUBLISHER,
            StatusCode::NO_CONTENT,
            true,
        ));
        cases.push(("PUT", tpl("/Policies"), item("/Policies"), Some(json!({"InheritParentPolicy": false, "Policies": [{"GroupUserName": "bob", "Roles": [{"Name": "Browser", "Description": ""}]}, {"GroupUserName": "pat", "Roles": [{"Name": "Publisher"}]}]}).to_string()), ADMIN, StatusCode::OK, true));
    }
    let report = &keyed[2].1;
    cases.push((
        "PATCH",
        "/Reports({Id})/ParameterDefinitions".into(),
        api(&format!("Reports({report})/ParameterDefinitions")),
        Some(json!([{"Name": "Year", "DefaultValues": ["2020"]}]).to_string()),
        PUBLISHER,
        StatusCode::NO_CONTENT,
        true,
    ));
    cases.push((
        "PUT",
        "/Reports({Id})/DataSources".into(),
        api(&format!("Reports({report})/DataSources")),
        Some(json!([{"Name": "Local", "ConnectionString": "Data Source=/tmp/y.db"}]).to_string()),
        PUBLISHER,
        StatusCode::OK,
        true,
    ));
    cases.push((
        "POST",
        "/CatalogItems/Model.MoveItems".into(),
        api("CatalogItems/Model.MoveItems"),
        Some(json!({"CatalogItemPaths": ["/A/NewF"], "TargetPath": "/A/F"}).to_string()),
        PUBLISHER,
        StatusCode::OK,
        true,
    ));
    cases.push((
        "POST",
        "/CatalogItems/Model.DeleteItems".into(),
        api("CatalogItems/Model.DeleteItems"),
        Some(json!({"CatalogItemPaths": ["/A/new.txt"]}).to_string()),
        PUBLISHER,
        StatusCode::OK,
        true,
    ));
    cases.push((
        "PUT",
        "/System/Policies".into(),
        api("System/Policies"),
        Some(system_policies),
        ADMIN,
        StatusCode::OK,
        false,
    ));
    cases.push((
        "POST",
        "/DataSources/Model.CheckConnection".into(),
        api("DataSources/Model.CheckConnection"),
        Some(json!({"DataSourceType": "ENTERDATA", "ConnectionString": ""}).to_string()),
        PUBLISHER,
        StatusCode::OK,
        false,
    ));
    for (set, key) in keyed.iter().rev() {
        cases.push((
            "DELETE",
            format!("/{set}({{Id}})"),
            api(&format!("{set}({key})")),
            None,
            PUBLISHER,
            StatusCode::NO_CONTENT,
            true,
        ));
    }

    // Every write of the document has a case; these POSTs change nothing and need only Read
    // (or no sign-in at all), and are tested where they are described.
    let doc = json_of(&get_as(&app, &api("openapi.json"), ADMIN).await);
    let reads = [
        "POST /Folders({Id})/Model.SearchItems(searchText='{searchText}')",
        "POST /DataSources({Id})/Model.CheckConnection",
        "POST /Reports({Id})/Model.CheckDataSourceConnection",
        "POST /Session",
        "DELETE /Session",
    ];
    let mut writes = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys().filter(|m| *m != "get") {
            let m = method.to_ascii_uppercase();
            let name = format!("{m} {path}");
            if reads.contains(&name.as_str()) {
                continue;
            }
            writes += 1;
            assert!(
                cases.iter().any(|(cm, p, ..)| *cm == m && p == path),
                "no role case for {name}"
            );
        }
    }
    assert_eq!(writes, cases.len(), "one case per write operation");

    for (method, tpl, uri, body, writer, ok, changes) in &cases {
        let before = state_of(&c).await;
        for who in [BROWSER, NOBODY] {
            let r = call(&app, method, uri, who, body.as_deref(), &[]).await;
            odata_error(&r, StatusCode::FORBIDDEN, "rsAccessDenied", who.0);
            assert_eq!(
                state_of(&c).await,
                before,
                "{method} {tpl} refused to {} changed state",
                who.0
            );
        }
        if body.is_some() {
            let r = call(&app, method, uri, *writer, Some("{\"Name\": "), &[]).await;
            bad_request(&r, "not valid JSON");
            assert_eq!(
                state_of(&c).await,
                before,
                "{method} {tpl}: a malformed body changed state"
            );
        }
        let r = call(&app, method, uri, *writer, body.as_deref(), &[]).await;
        assert_eq!(r.status, *ok, "{method} {tpl} as {}: {}", writer.0, r.body);
        if *changes {
            assert_ne!(state_of(&c).await, before, "{method} {tpl} changed nothing");
        } else {
            assert_eq!(state_of(&c).await, before, "{method} {tpl}");
        }
    }
    println!("{} write operations audited", cases.len());
}
