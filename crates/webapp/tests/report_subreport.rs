//! Against a real server (axum on 127.0.0.1:0, driven by curl): subreports uploaded through
//! the portal and run inside their parent (relative paths, the user's permission, per-row
//! parameters bound into a SQLite query), in HTML5 and CSV; the URL-access page's parameter
//! pane (`rc:Parameters`); data sources whose `CredentialRetrieval` is `Prompt` (`.rsds`
//! uploads, `dsu:`/`dsp:`, the viewer's and URL access's credential fields, the error that
//! names the data source); the viewer's find and zoom.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The server, its data dir and the SQLite directory reports may read.
struct Server {
    e: Env,
    port: u16,
    task: tokio::task::JoinHandle<()>,
    data: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn server() -> Server {
    let e = env(true).await;
    let data = e.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // an empty file is an empty SQLite database: the queries use VALUES
    std::fs::write(data.join("empty.db"), b"").unwrap();
    let mut cfg = e.dd.load_config().unwrap();
    cfg.settings
        .set("DataSourceDirectories", &data.display().to_string())
        .unwrap();
    datadir::Config::write(
        &e.dd.config_path(),
        &cfg.settings,
        &cfg.url_reservations.clone().unwrap_or_default(),
    )
    .unwrap();
    e.state.reload().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = webapp::standalone(e.state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        e,
        port,
        task,
        data,
    }
}

/// A response read by curl: status and body.
struct Got {
    status: u16,
    body: String,
}

impl Server {
    /// `curl` as `who` (blocking the test's thread is fine: the server runs on the others).
    fn curl(&self, who: (&str, &str), path_and_query: &str, extra: &[&str]) -> Got {
        let url = format!("http://127.0.0.1:{}{path_and_query}", self.port);
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}", "-u"])
            .arg(format!("{}:{}", who.0, who.1))
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        Got {
            status: code.trim().parse().unwrap(),
            body: body.to_owned(),
        }
    }

    fn get(&self, who: (&str, &str), path_and_query: &str) -> Got {
        self.curl(who, path_and_query, &[])
    }

    /// Uploads `data` as `file_name` into `folder` through the portal's upload form.
    fn upload(&self, folder: &str, file_name: &str, data: &[u8]) {
        let page = self.get(ADMIN, "/Reports/");
        assert_eq!(page.status, 200, "{}", page.body);
        let token = csrf_in(&page.body);
        let file = self.e.dir.path().join(file_name);
        std::fs::write(&file, data).unwrap();
        let got = self.curl(
            ADMIN,
            "/Reports/upload",
            &[
                "-F",
                &format!("csrf={token}"),
                "-F",
                &format!("folder={folder}"),
                "-F",
                "overwrite=1",
                "-F",
                &format!("file=@{};filename={file_name}", file.display()),
            ],
        );
        assert!(
            got.status == 303 || got.status == 302,
            "upload of {file_name}: {} {}",
            got.status,
            got.body
        );
    }

    fn db(&self) -> String {
        self.data.join("empty.db").display().to_string()
    }
}

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

fn textbox(name: &str, value: &str) -> String {
    format!(
        r#"<Textbox Name="{name}"><CanGrow>true</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.25in</Height><Width>3in</Width></Textbox>"#
    )
}

/// A report: `data_sources` and `data_sets` XML, `body` items, `params` XML.
fn report(data_sources: &str, data_sets: &str, body: &str, params: &str, page: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources>{data_sources}</DataSources>
  <DataSets>{data_sets}</DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems>{body}</ReportItems><Height>2in</Height></Body>
    <Width>6in</Width><Page>{page}</Page>
  </ReportSection></ReportSections>
  {params}
</Report>"#
    )
}

const ENTERDATA: &str = r#"<DataSource Name="Local"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource>"#;

/// The parent: a list over regions A, B, C whose cell is the subreport `sub` given the
/// row's region.
fn regions_report(sub: &str) -> String {
    let rows = ["A", "B", "C"]
        .iter()
        .map(|r| format!("&lt;Row&gt;&lt;Region&gt;{r}&lt;/Region&gt;&lt;/Row&gt;"))
        .collect::<String>();
    let data_set = format!(
        r#"<DataSet Name="Regions"><Query><DataSourceName>Local</DataSourceName><CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;{rows}&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query>
    <Fields><Field Name="Region"><DataField>Region</DataField><rd:TypeName>System.String</rd:TypeName></Field></Fields></DataSet>"#
    );
    let cell = format!(
        r#"<Subreport Name="Sales"><ReportName>{sub}</ReportName><Parameters><Parameter Name="Region"><Value>=Fields!Region.Value</Value></Parameter></Parameters><NoRowsMessage>="No sales in " &amp; Fields!Region.Value</NoRowsMessage><Top>0in</Top><Left>0in</Left><Height>0.3in</Height><Width>4in</Width></Subreport>"#
    );
    let list = format!(
        r#"<Tablix Name="List"><TablixBody><TablixColumns><TablixColumn><Width>4in</Width></TablixColumn></TablixColumns>
  <TablixRows><TablixRow><Height>0.3in</Height><TablixCells><TablixCell><CellContents>{cell}</CellContents></TablixCell></TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>Regions</DataSetName><Top>0.3in</Top><Left>0in</Left><Height>0.3in</Height><Width>4in</Width></Tablix>"#
    );
    report(
        ENTERDATA,
        &data_set,
        &format!("{}{list}", textbox("Title", "Sales by region")),
        "",
        "",
    )
}

/// The subreport: the sales of `Region` from a SQLite query with the region bound.
fn sales_report(db: &str) -> String {
    let ds = format!(
        r#"<DataSource Name="Db"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source={db}</ConnectString></ConnectionProperties></DataSource>"#
    );
    let set = r#"<DataSet Name="S"><Query><DataSourceName>Db</DataSourceName><QueryParameters><QueryParameter Name="@Region"><Value>=Parameters!Region.Value</Value></QueryParameter></QueryParameters><CommandText>WITH t(region, qty) AS (VALUES ('A', 1.5), ('A', 2), ('B', 5)) SELECT region, qty FROM t WHERE region = @Region</CommandText></Query>
    <Fields><Field Name="region"><DataField>region</DataField></Field><Field Name="qty"><DataField>qty</DataField></Field></Fields></DataSet>"#;
    let params = r#"<ReportParameters><ReportParameter Name="Region"><DataType>String</DataType><Prompt>Region</Prompt></ReportParameter></ReportParameters>"#;
    report(
        &ds,
        set,
        &textbox(
            "Line",
            r#"="Region " &amp; Parameters!Region.Value &amp; ": " &amp; CountRows("S") &amp; " sales, " &amp; Format(Sum(Fields!qty.Value, "S"), "0.00")"#,
        ),
        params,
        "<PageHeader><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><ReportItems><Textbox Name=\"SubHeader\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>SUB HEADER</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.25in</Height><Width>2in</Width></Textbox></ReportItems></PageHeader>",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subreports_run_inside_their_parent_in_html5_and_csv() {
    let s = server().await;
    s.upload(
        "/Sales",
        "Regions.rdl",
        regions_report("RegionSales").as_bytes(),
    );
    s.upload(
        "/Sales",
        "RegionSales.rdl",
        sales_report(&s.db()).as_bytes(),
    );
    s.upload("/Secret", "Hidden.rdl", sales_report(&s.db()).as_bytes());
    s.upload(
        "/Sales",
        "ToSecret.rdl",
        regions_report("/Secret/Hidden").as_bytes(),
    );
    s.upload(
        "/Sales",
        "ToNothing.rdl",
        regions_report("Missing").as_bytes(),
    );

    // HTML5: each row's subreport with the row's region bound into its query; C has no
    // rows, so the NoRowsMessage evaluated in the parent's row; no subreport page header.
    let r = s.get(BROWSER, "/ReportServer?/Sales/Regions&rc:Toolbar=false");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(">Sales by region<"), "{}", r.body);
    assert!(r.body.contains(">Region A: 2 sales, 3.50<"), "{}", r.body);
    assert!(r.body.contains(">Region B: 1 sales, 5.00<"), "{}", r.body);
    assert!(r.body.contains(">No sales in C<"), "{}", r.body);
    assert!(!r.body.contains("Region C:"), "{}", r.body);
    assert!(!r.body.contains("SUB HEADER"), "{}", r.body);

    // CSV: the same values, exactly (the subreport's textbox a column, its NoRowsMessage
    // under the subreport's name).
    let r = s.get(BROWSER, "/ReportServer?/Sales/Regions&rs:Format=CSV");
    assert_eq!(r.status, 200, "{}", r.body);
    let csv = r.body.trim_start_matches('\u{feff}');
    assert_eq!(
        csv,
        "Line,Sales\r\n\"Region A: 2 sales, 3.50\",\r\n\"Region B: 1 sales, 5.00\",\r\n,No sales in C\r\n",
        "{csv:?}"
    );

    // A page turn or an export of the same execution reuses the subreports' rows too:
    // the same output again.
    let again = s.get(BROWSER, "/ReportServer?/Sales/Regions&rs:Format=CSV");
    assert_eq!(again.body, r.body);

    // The viewer embeds the same.
    let v = s.get(BROWSER, "/Reports/report/Sales/Regions");
    assert_eq!(v.status, 200, "{}", v.body);
    assert!(v.body.contains(">Region A: 2 sales, 3.50<"), "{}", v.body);

    // A subreport the user may not read is refused in place, naming it; the parent renders.
    let r = s.get(BROWSER, "/ReportServer?/Sales/ToSecret&rc:Toolbar=false");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(">Sales by region<"), "{}", r.body);
    assert!(
        r.body.contains(
            "the subreport /Secret/Hidden cannot be loaded: the permissions granted to user &#39;bob&#39; are insufficient to view &#39;/Secret/Hidden&#39;"
        ) || r.body.contains(
            "the subreport /Secret/Hidden cannot be loaded: the permissions granted to user &#x27;bob&#x27; are insufficient to view &#x27;/Secret/Hidden&#x27;"
        ),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Region A:"), "{}", r.body);
    // ... and shown to whoever may read it.
    let r = s.get(ADMIN, "/ReportServer?/Sales/ToSecret&rc:Toolbar=false");
    assert!(r.body.contains(">Region A: 2 sales, 3.50<"), "{}", r.body);

    // A missing subreport says so.
    let r = s.get(ADMIN, "/ReportServer?/Sales/ToNothing&rs:Format=CSV");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.get(ADMIN, "/ReportServer?/Sales/ToNothing&rc:Toolbar=false");
    assert!(
        r.body
            .contains("the subreport /Sales/Missing cannot be loaded"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("/Sales/Missing") && r.body.contains("does not exist"),
        "{}",
        r.body
    );
}

/// A report with a required String parameter `Who` shown in a textbox.
fn hello_report() -> String {
    report(
        ENTERDATA,
        "",
        &textbox("Greeting", r#"="Hello, " &amp; Parameters!Who.Value"#),
        r#"<ReportParameters><ReportParameter Name="Who"><DataType>String</DataType><Prompt>Who is it?</Prompt></ReportParameter></ReportParameters>"#,
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_access_html5_shows_the_parameter_pane() {
    let s = server().await;
    s.upload("/Sales", "Hello.rdl", hello_report().as_bytes());
    s.upload(
        "/Sales",
        "Plain.rdl",
        regions_report("RegionSales").as_bytes(),
    );

    // Without its value: the pane, with SSRS's error above it.
    let r = s.get(ADMIN, "/ReportServer?/Sales/Hello");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("rsReportParameterValueNotSet"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Who"), "{}", r.body);
    assert!(
        r.body.contains("<details class=\"viewer-pane\" open>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<form class=\"viewer-params\" method=\"get\" action=\"/ReportServer\">"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<input type=\"hidden\" name=\"/Sales/Hello\" value=\"\">"),
        "{}",
        r.body
    );
    assert!(r.body.contains(">Who is it?</label>"), "{}", r.body);
    assert!(r.body.contains("name=\"Who\""), "{}", r.body);

    // What the form submits (the path as `/Path=`): the report, with the pane above it.
    let r = s.get(
        ADMIN,
        "/ReportServer?%2FSales%2FHello=&rs:Command=Render&rs:View=1&Who=Ann",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(">Hello, Ann<"), "{}", r.body);
    assert!(r.body.contains("class=\"rs-toolbar\""), "{}", r.body);
    assert!(r.body.contains("value=\"Ann\""), "{}", r.body);
    let pane_at = r.body.find("class=\"viewer-pane\"").unwrap();
    let report_at = r.body.find(">Hello, Ann<").unwrap();
    assert!(pane_at < report_at);

    // rc:Parameters=Collapsed: the pane closed; false: none (and the plain error page).
    let r = s.get(
        ADMIN,
        "/ReportServer?/Sales/Hello&Who=Ann&rc:Parameters=Collapsed",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<details class=\"viewer-pane\">"),
        "{}",
        r.body
    );
    // the pane keeps the device settings it was asked with
    assert!(
        r.body
            .contains("<input type=\"hidden\" name=\"rc:Parameters\" value=\"Collapsed\">"),
        "{}",
        r.body
    );
    let r = s.get(
        ADMIN,
        "/ReportServer?/Sales/Hello&Who=Ann&rc:Parameters=false",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("<details class=\"viewer-pane\""),
        "{}",
        r.body
    );
    assert!(r.body.contains(">Hello, Ann<"), "{}", r.body);
    let r = s.get(ADMIN, "/ReportServer?/Sales/Hello&rc:Parameters=false");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("rsReportParameterValueNotSet"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("<details class=\"viewer-pane\""),
        "{}",
        r.body
    );
    let r = s.get(
        ADMIN,
        "/ReportServer?/Sales/Hello&Who=Ann&rc:Parameters=maybe",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("rc:Parameters=maybe"), "{}", r.body);
    // no toolbar, no pane; a report without parameters has none either
    let r = s.get(ADMIN, "/ReportServer?/Sales/Hello&Who=Ann&rc:Toolbar=false");
    assert!(
        !r.body.contains("<details class=\"viewer-pane\""),
        "{}",
        r.body
    );
    let r = s.get(ADMIN, "/ReportServer?/Sales/Plain");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("<details class=\"viewer-pane\""),
        "{}",
        r.body
    );
}

/// A shared data source (`.rsds`) of `extension` whose credentials are prompted for.
fn prompt_rsds(extension: &str, connect: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource">
  <Extension>{extension}</Extension>
  <ConnectString>{connect}</ConnectString>
  <CredentialRetrieval>Prompt</CredentialRetrieval>
  <Prompt>Warehouse database login</Prompt>
  <Enabled>True</Enabled>
</DataSourceDefinition>"#
    )
}

/// A report over the shared data source `reference` (named `Wh` in the report) showing the
/// first `n` of `query`.
fn shared_report(reference: &str, query: &str) -> String {
    report(
        &format!(
            r#"<DataSource Name="Wh"><DataSourceReference>{reference}</DataSourceReference></DataSource>"#
        ),
        &format!(
            r#"<DataSet Name="Q"><Query><DataSourceName>Wh</DataSourceName><CommandText>{query}</CommandText></Query><Fields><Field Name="n"><DataField>n</DataField></Field></Fields></DataSet>"#
        ),
        &textbox("Value", r#"="Value: " &amp; First(Fields!n.Value, "Q")"#),
        "",
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompted_credentials_are_asked_for_and_used() {
    let s = server().await;
    // An .rsds upload becomes a data source item.
    let db = s.db();
    s.upload(
        "/Sales",
        "Warehouse.rsds",
        prompt_rsds("SQLITE", &format!("Data Source={db}")).as_bytes(),
    );
    let r = s.get(
        ADMIN,
        "/ReportServer?/Sales/Warehouse&rs:Command=GetDataSourceContents",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<CredentialRetrieval>Prompt</CredentialRetrieval>"),
        "{}",
        r.body
    );
    s.upload(
        "/Sales",
        "Stock.rdl",
        shared_report("Warehouse", "SELECT 42 AS n").as_bytes(),
    );

    // Without credentials: a 400 naming the data source, in every format...
    let r = s.get(ADMIN, "/ReportServer?/Sales/Stock&rs:Format=CSV");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("rsCredentialsNotSpecified"), "{}", r.body);
    assert!(
        r.body
            .contains("the data source &#39;Wh&#39; prompts for credentials")
            || r.body
                .contains("the data source &#x27;Wh&#x27; prompts for credentials")
            || r.body
                .contains("the data source 'Wh' prompts for credentials"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("dsu:Wh=USER&amp;dsp:Wh=PASSWORD"),
        "{}",
        r.body
    );
    // ... and the HTML5 page asks for them, with the data source's prompt.
    let r = s.get(ADMIN, "/ReportServer?/Sales/Stock");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("rsCredentialsNotSpecified"), "{}", r.body);
    assert!(
        r.body
            .contains("<legend>Warehouse database login (Wh)</legend>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"dsu:Wh\""), "{}", r.body);
    assert!(
        r.body.contains("type=\"password\" name=\"dsp:Wh\""),
        "{}",
        r.body
    );
    // The viewer too.
    let v = s.get(ADMIN, "/Reports/report/Sales/Stock");
    assert_eq!(v.status, 200, "{}", v.body);
    assert!(v.body.contains("rsCredentialsNotSpecified"), "{}", v.body);
    assert!(v.body.contains("name=\"dsp:Wh\""), "{}", v.body);

    // With them (the form's submission): the report. The password never comes back.
    let r = s.get(
        ADMIN,
        "/ReportServer?%2FSales%2FStock=&rs:Command=Render&rs:View=1&dsu:Wh=rep&dsp:Wh=s3cret-pw",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(">Value: 42<"), "{}", r.body);
    assert!(!r.body.contains("s3cret-pw"), "{}", r.body);
    let v = s.get(
        ADMIN,
        "/Reports/report/Sales/Stock?dsu:Wh=rep&dsp:Wh=s3cret-pw",
    );
    assert!(v.body.contains(">Value: 42<"), "{}", v.body);
    assert!(!v.body.contains("s3cret-pw"), "{}", v.body);

    // PostgreSQL: the user name given is the one the query runs as.
    let pg = "host=127.0.0.1 port=5432 dbname=postgres";
    if !postgres_up() {
        return;
    }
    s.upload(
        "/Sales",
        "Pg.rsds",
        prompt_rsds("POSTGRESQL", pg).as_bytes(),
    );
    s.upload(
        "/Sales",
        "Who.rdl",
        shared_report("Pg", "SELECT current_user AS n").as_bytes(),
    );
    let r = s.get(ADMIN, "/ReportServer?/Sales/Who&rs:Format=CSV");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("rsCredentialsNotSpecified"), "{}", r.body);
    let r = s.get(
        ADMIN,
        "/ReportServer?/Sales/Who&rs:Format=CSV&dsu:Wh=postgres&dsp:Wh=unused",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body.trim_start_matches('\u{feff}'),
        "Value\r\nValue: postgres\r\n"
    );
}

fn postgres_up() -> bool {
    let ok = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        std::time::Duration::from_secs(2),
    )
    .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL is required under CI at 127.0.0.1:5432"
        );
        println!("skipped: PostgreSQL not reachable at 127.0.0.1:5432");
    }
    ok
}

/// A report of `n` rows `Item 1`..`Item n`, soft pages of 2 inches.
fn items_report(n: usize) -> String {
    let rows = (1..=n)
        .map(|i| format!("&lt;Row&gt;&lt;Name&gt;Item {i}&lt;/Name&gt;&lt;/Row&gt;"))
        .collect::<String>();
    let set = format!(
        r#"<DataSet Name="Items"><Query><DataSourceName>Local</DataSourceName><CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;{rows}&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query>
    <Fields><Field Name="Name"><DataField>Name</DataField><rd:TypeName>System.String</rd:TypeName></Field></Fields></DataSet>"#
    );
    let cell = textbox("ItemName", "=Fields!Name.Value");
    let list = format!(
        r#"<Tablix Name="List"><TablixBody><TablixColumns><TablixColumn><Width>4in</Width></TablixColumn></TablixColumns>
  <TablixRows><TablixRow><Height>0.25in</Height><TablixCells><TablixCell><CellContents>{cell}</CellContents></TablixCell></TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>Items</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.25in</Height><Width>4in</Width></Tablix>"#
    );
    report(
        ENTERDATA,
        &set,
        &list,
        "",
        "<InteractiveHeight>2in</InteractiveHeight>",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_finds_text_and_zooms() {
    let s = server().await;
    s.upload("/Sales", "Items.rdl", items_report(60).as_bytes());
    let r = s.get(ADMIN, "/Reports/report/Sales/Items");
    assert_eq!(r.status, 200, "{}", r.body);
    let pages = page_count(&r.body);
    assert!(pages >= 3, "several pages: {pages}");
    assert!(r.body.contains("name=\"rc:FindString\""), "{}", r.body);
    // no parameters, no prompted data source: no pane
    assert!(
        !r.body.contains("<details class=\"viewer-pane\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<option value=\"Page Width\">"),
        "{}",
        r.body
    );

    // Find: the first page from the current one that holds the text.
    let r = s.get(ADMIN, "/Reports/report/Sales/Items?rc:FindString=item+59");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(">Item 59<"), "{}", r.body);
    assert!(
        r.body.contains(&format!(
            "Page <span class=\"n\">{pages}</span> of <span class=\"of\">{pages}</span>"
        )),
        "{}",
        r.body
    );
    assert!(r.body.contains("data-find=\"item 59\""), "{}", r.body);
    // Next: from the page after, wrapping round to the first.
    let r = s.get(
        ADMIN,
        &format!(
            "/Reports/report/Sales/Items?rc:FindString=Item+1&rc:Section={pages}&rc:FindNext=1"
        ),
    );
    assert!(
        r.body.contains("Page <span class=\"n\">1</span> of"),
        "{}",
        r.body
    );
    // Not found: the current page, and a note.
    let r = s.get(
        ADMIN,
        "/Reports/report/Sales/Items?rc:FindString=Nowhere&rc:Section=2",
    );
    assert!(
        r.body.contains("Page <span class=\"n\">2</span> of"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("“Nowhere” was not found in the report."),
        "{}",
        r.body
    );

    // Zoom: a percentage applied by the page's own (nonce) style; page links keep it.
    let r = s.get(ADMIN, "/Reports/report/Sales/Items?rc:Zoom=150");
    assert!(r.body.contains("#rv-zoom{zoom:150%}"), "{}", r.body);
    assert!(
        r.body
            .contains("<option value=\"150\" selected>150%</option>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("rc:Section=2&amp;rc:Zoom=150"),
        "{}",
        r.body
    );
    let r = s.get(ADMIN, "/Reports/report/Sales/Items?rc:Zoom=9000");
    assert!(r.body.contains("rc:Zoom=9000 is not valid"), "{}", r.body);

    // In Chromium: the script marks the hits and fits Page Width.
    if !chromium_installed() {
        return;
    }
    let profile = tempfile::tempdir().unwrap();
    let (user, pw) = ADMIN;
    let base = format!("http://{user}:{pw}@127.0.0.1:{}", s.port);
    let dom = chromium(
        profile.path(),
        &["--dump-dom", "--window-size=1280,900"],
        &format!("{base}/Reports/report/Sales/Items?rc:FindString=item+5&rc:Zoom=Page+Width"),
    )
    .await;
    assert!(
        dom.contains("<mark class=\"find-hit current\">Item 5</mark>"),
        "{dom}"
    );
    let zoom_at = dom.find("id=\"rv-zoom\"").expect("zoom container");
    let tag_start = dom[..zoom_at].rfind('<').unwrap();
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>').unwrap()];
    assert!(tag.contains("style=\"zoom:"), "{tag}");
    assert!(!tag.contains("zoom: 1;"), "page width is not 100%: {tag}");
    let shot = profile.path().join("find.png");
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--hide-scrollbars",
        ],
        &format!("{base}/Reports/report/Sales/Items?rc:FindString=item+5"),
    )
    .await;
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    if let Ok(dir) = std::env::var("REPORTD_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, Path::new(&dir).join("viewer-find.png")).unwrap();
    }
}

/// N of the viewer's "Page n of N".
fn page_count(body: &str) -> u32 {
    let at = body.find("<span class=\"of\">").expect("page count") + "<span class=\"of\">".len();
    body[at..at + body[at..].find('<').unwrap()]
        .parse()
        .unwrap()
}
