//! Rendering end to end with the real binaries: `reportd quickstart` on free ports, curl as
//! the client. Every quickstart sample through URL access in HTML5, CSV, XML and JSON with
//! exact strings computed by hand from the samples' data (the embedded sales rows of
//! `samples/Sales Table.rdl`, and the generated orders of `src/sampledb.rs`), the viewer
//! page, the drillthrough link; then data sources over real engines: PostgreSQL (needs
//! `REPORTD_TEST_PG_URL`), a shared data source with stored credentials, and a SQLite file
//! outside `DataSourceDirectories`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const PASSWORD: &str = "render flow pass 1";

/// A running `reportd quickstart`.
struct Quick {
    inst: Instance,
    child: Child,
    https: u16,
    trust: String,
}

impl Drop for Quick {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Quick {
    fn start() -> Quick {
        let inst = Instance::new();
        let sockets = Sockets::new(2);
        let (https, http) = (sockets.port(0), sockets.port(1));
        let pw = inst.file("admin.pw", format!("{PASSWORD}\n").as_bytes());
        let log = std::fs::File::create(inst.tmp.path().join("server.log")).unwrap();
        let mut cmd = Command::new(REPORTD);
        cmd.args(["--data-dir", inst.dir.to_str().unwrap(), "quickstart"])
            .args(["--https-port", &https.to_string()])
            .args(["--http-port", &http.to_string()])
            .args(["--admin-password-file", pw.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        sockets.pass(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        // The server holds the ports now.
        drop(sockets);
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        let log_path = inst.tmp.path().join("server.log");
        let trust = loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(90)) else {
                panic!(
                    "no Trust: line; got {lines:?}; server log:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            };
            if let Some(p) = line.strip_prefix("Trust: ") {
                break p.to_owned();
            }
            lines.push(line);
        };
        Quick {
            inst,
            child,
            https,
            trust,
        }
    }

    /// GET `https://localhost:PORT{path}` as the administrator.
    fn get(&self, path: &str) -> Reply {
        curl(
            &format!("https://localhost:{}{path}", self.https),
            Some(&format!("admin:{PASSWORD}")),
            &["--cacert", &self.trust],
        )
    }

    /// URL access: `/ReportServer?/{item}&{query}`, asserting 200.
    fn render(&self, item: &str, query: &str) -> String {
        let r = self.get(&format!("/ReportServer?{item}&{query}"));
        assert_eq!(r.status, 200, "{item} {query}: {r:?}");
        r.body
    }

    /// Uploads `content` as `file_name` into `folder` with reportctl.
    fn upload(&self, file_name: &str, content: &[u8], folder: &str) {
        let p = self.inst.file(file_name, content);
        self.inst
            .ok(&["catalog", "upload", p.to_str().unwrap(), folder]);
    }

    fn server_log(&self) -> String {
        let mut all =
            std::fs::read_to_string(self.inst.tmp.path().join("server.log")).unwrap_or_default();
        if let Ok(rd) = std::fs::read_dir(self.inst.dir.join("logs")) {
            for e in rd.flatten() {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        all
    }
}

const BOM: &str = "\u{feff}";

#[test]
fn sales_table_renders_in_every_format() {
    let q = Quick::start();
    let item = "/Samples/Sales%20Table";
    // CSV: DataElementName headers, constant labels dropped, one record per detail row with
    // its group's and the table's totals repeated; values formatted (C, d).
    let csv = q.render(item, "rs:Format=CSV");
    let mut lines = csv.strip_prefix(BOM).expect("UTF-8 BOM").split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "Region,Product,OrderDate,Qty,Amount,RegionTotalLabel,RegionOrders,RegionQty,\
         RegionAmount,GrandOrders,GrandQty,GrandAmount"
    );
    assert_eq!(
        lines.next().unwrap(),
        "East,Gadget,1/1/2025,1,$24.50,Total East,9 orders,47,$758.62,36 orders,196,\"$3,186.42\""
    );
    for (region, qty, total) in [
        ("East", 47, "$758.62"),
        ("North", 50, "$806.86"),
        ("South", 43, "$717.60"),
        ("West", 56, "$903.34"),
    ] {
        let tail = format!(",Total {region},9 orders,{qty},{total},36 orders,196,\"$3,186.42\"");
        assert_eq!(csv.matches(&tail).count(), 9, "{region}: {csv}");
    }
    assert_eq!(csv.matches("\r\n").count(), 37, "header + 36 rows");
    // XML: raw typed values, Region_Collection / Details_Collection
    let xml = q.render(item, "rs:Format=XML");
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Report Name=\"Sales Table\" \
             xmlns=\"Sales_x0020_Table\"><SalesTable GrandOrders=\"36 orders\" GrandQty=\"196\" \
             GrandAmount=\"$3,186.42\"><Region_Collection><Region Region=\"East\" \
             RegionTotalLabel=\"Total East\" RegionOrders=\"9 orders\" RegionQty=\"47\" \
             RegionAmount=\"$758.62\"><Details_Collection><Details Product=\"Gadget\" \
             OrderDate=\"2025-01-01T00:00:00\" Qty=\"1\" Amount=\"24.50\" />"
        ),
        "{xml}"
    );
    assert!(xml.contains("<Region Region=\"West\" RegionTotalLabel=\"Total West\" RegionOrders=\"9 orders\" RegionQty=\"56\" RegionAmount=\"$903.34\">"));
    assert_eq!(xml.matches("<Details ").count(), 36);
    // JSON: the same tree; decimals keep their scale
    let text = q.render(item, "rs:Format=JSON");
    assert!(text.contains("\"Amount\":122.50}"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["Name"], "Sales Table");
    let regions = json["SalesTable"]["Region_Collection"].as_array().unwrap();
    assert_eq!(regions.len(), 4);
    assert_eq!(regions[2]["Region"], "South");
    assert_eq!(regions[2]["RegionAmount"], "$717.60");
    assert_eq!(json["SalesTable"]["GrandAmount"], "$3,186.42");
    // HTML5: page header (report name), footer with page numbers, totals
    let html = q.render(item, "rs:Format=HTML5");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for s in [
        ">Sales Table<",
        ">Page 1 of 1<",
        ">Total East<",
        ">$758.62<",
        ">$903.34<",
        ">$3,186.42<",
        ">Grand total<",
        ">1/9/2025<",
        ">$122.50<",
    ] {
        assert!(html.contains(s), "{s} missing: {html}");
    }
    // the portal's viewer
    let v = q.get("/Reports/report/Samples/Sales%20Table");
    assert_eq!(v.status, 200, "{v:?}");
    assert!(v.body.contains("$3,186.42"), "{}", v.body);
}

#[test]
fn sales_matrix_renders_in_every_format() {
    let q = Quick::start();
    let item = "/Samples/Sales%20Matrix";
    let csv = q.render(item, "rs:Format=CSV");
    // East / Gadget: 2025 Q1 $147.00, 2026 Q1 $220.50; region total $758.62; grand $3,186.42
    assert!(
        csv.contains(
            "East,Gadget,2025,Q1,$147.00,Total 2025,$147.00,$367.50,Total East,,,,,,$758.62,,,,,,\"$3,186.42\"\r\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(
        "East,Gadget,2026,Q1,$220.50,Total 2026,$220.50,$367.50,Total East,,,,,,$758.62,,,,,,\"$3,186.42\"\r\n"
    ));
    assert!(csv.contains("East,Widget,2026,Q2,$59.94,Total 2026,$59.94,$129.87,"));
    let xml = q.render(item, "rs:Format=XML");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><Report Name=\"Sales Matrix\" xmlns=\"Sales_x0020_Matrix\"><SalesMatrix SalesGrandGrand=\"3186.42\"><Region_Collection><Region Region=\"East\" RegionTotalHeader=\"Total East\" SalesRegionGrand=\"758.62\"><Product_Collection><Product Product=\"Gadget\" SalesProductGrand=\"367.50\"><Year_Collection><Year Year=\"2025\" YearTotalHeader=\"Total 2025\" SalesProductYear=\"147.00\"><Quarter_Collection><Quarter Quarter=\"Q1\" SalesProductQuarter=\"147.00\" /><Quarter Quarter=\"Q2\" />"),
        "{xml}"
    );
    // the region subtotal row: its own year/quarter cells
    assert!(
        xml.contains("</Product_Collection><Year_Collection><Year Year=\"2025\" YearTotalHeader=\"Total 2025\" SalesRegionYear=\"381.93\"><Quarter_Collection><Quarter Quarter=\"Q1\" SalesRegionQuarter=\"147.00\" /><Quarter Quarter=\"Q2\" SalesRegionQuarter=\"69.93\" />"),
        "{xml}"
    );
    assert_eq!(xml.matches("<Region ").count(), 4);
    let json: serde_json::Value = serde_json::from_str(&q.render(item, "rs:Format=JSON")).unwrap();
    assert_eq!(json["Name"], "Sales Matrix");
    assert_eq!(
        json["SalesMatrix"]["Region_Collection"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let html = q.render(item, "rs:Format=HTML5");
    // quarter totals over all regions, year totals and the grand total
    for s in [
        ">Sales Matrix<",
        ">Page 1 of 1<",
        ">All regions<",
        ">Total 2025<",
        ">$376.99<",
        ">$510.93<",
        ">$520.46<",
        ">$1,694.55<",
        ">$1,491.87<",
        ">$338.40<",
        ">$381.93<",
        ">$376.69<",
        ">$3,186.42<",
    ] {
        assert!(html.contains(s), "{s} missing: {html}");
    }
    assert_eq!(q.get("/Reports/report/Samples/Sales%20Matrix").status, 200);
}

#[test]
fn parameterized_sqlite_report_renders_with_defaults_and_given_values() {
    let q = Quick::start();
    let item = "/Samples/Orders%20by%20Customer";
    // defaults: Contoso Ltd, 2025-01-01 .. 2025-12-31, every status
    let csv = q.render(item, "rs:Format=CSV");
    assert!(
        csv.starts_with(&format!(
            "{BOM}Subtitle\r\n\"Contoso Ltd: 1/1/2025 to 12/31/2025 (Open, Shipped, Closed, Cancelled)\"\r\n\r\n\
             OrderID,OrderDate,Status,Amount,OrderCount,TotalAmount\r\n\
             281,1/4/2025,Shipped,$243.27,14 orders,\"$5,772.98\"\r\n\
             171,2/3/2025,Cancelled,$619.57,14 orders,\"$5,772.98\"\r\n"
        )),
        "{csv}"
    );
    assert!(csv.ends_with("83,12/16/2025,Closed,$200.61,14 orders,\"$5,772.98\"\r\n"));
    // given values: a customer from the drop-down, a range, two statuses (multi-value)
    let query = "rs:Format=CSV&Customer=Fabrikam%20Inc&From=2025-03-01&To=2025-06-30&Status=Open&Status=Closed";
    assert_eq!(
        q.render(item, query),
        format!(
            "{BOM}Subtitle\r\n\"Fabrikam Inc: 3/1/2025 to 6/30/2025 (Open, Closed)\"\r\n\r\n\
             OrderID,OrderDate,Status,Amount,OrderCount,TotalAmount\r\n\
             7,4/2/2025,Open,$329.69,2 orders,\"$1,121.00\"\r\n\
             293,6/9/2025,Closed,$791.31,2 orders,\"$1,121.00\"\r\n"
        )
    );
    let xml = q.render(
        item,
        "rs:Format=XML&Customer=Fabrikam%20Inc&From=2025-03-01&To=2025-06-30&Status=Open&Status=Closed",
    );
    assert!(xml.contains("<Details_Collection><Details OrderID=\"7\" OrderDate=\"2025-04-02T00:00:00\" Status=\"Open\" Amount=\"329.69\" /><Details OrderID=\"293\" OrderDate=\"2025-06-09T00:00:00\" Status=\"Closed\" Amount=\"791.31\" /></Details_Collection>"), "{xml}");
    let json: serde_json::Value = serde_json::from_str(&q.render(
        item,
        "rs:Format=JSON&Customer=Fabrikam%20Inc&From=2025-03-01&To=2025-06-30&Status=Open&Status=Closed",
    ))
    .unwrap();
    assert_eq!(
        json["OrdersTable"]["Details_Collection"][1]["OrderID"],
        serde_json::json!(293)
    );
    let html = q.render(item, "rs:Format=HTML5");
    for s in [
        ">Orders by Customer<",
        ">$5,772.98<",
        ">14 orders<",
        ">Page 1 of 1<",
    ] {
        assert!(html.contains(s), "{s} missing");
    }
    // a value outside the drop-down's valid values
    let r = q.get(&format!("/ReportServer?{item}&Customer=Nobody"));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("rsInvalidReportParameter"), "{}", r.body);
    // the viewer shows the parameter pane with the drop-down
    let v = q.get("/Reports/report/Samples/Orders%20by%20Customer");
    assert_eq!(v.status, 200, "{v:?}");
    assert!(
        v.body.contains("Woodgrove Bank"),
        "drop-down values: {}",
        v.body
    );
}

#[test]
fn drillthrough_pair_renders_and_links() {
    let q = Quick::start();
    let csv = q.render("/Samples/Customers", "rs:Format=CSV");
    assert!(
        csv.starts_with(&format!(
            "{BOM}Name,City,Orders\r\nAdventure Works,Bothell,28\r\nAlpine Ski House,Aspen,28\r\n"
        )),
        "{csv}"
    );
    assert!(
        csv.ends_with("Wide World Importers,San Francisco,13\r\nWoodgrove Bank,New York,14\r\n")
    );
    let html = q.render("/Samples/Customers", "rs:Format=HTML5");
    assert!(
        html.contains(
            "<a href=\"/ReportServer?/Samples/Customer+Orders&amp;Customer=Woodgrove+Bank\">"
        ),
        "{html}"
    );
    let xml = q.render("/Samples/Customers", "rs:Format=XML");
    assert!(
        xml.contains("<Details Name=\"Coho Winery\" City=\"Napa\" Orders=\"27\" />"),
        "{xml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&q.render("/Samples/Customers", "rs:Format=JSON")).unwrap();
    assert_eq!(
        json["CustomersTable"]["Details_Collection"][11]["Name"],
        "Woodgrove Bank"
    );
    // following the link
    let item = "/Samples/Customer%20Orders";
    let csv = q.render(item, "rs:Format=CSV&Customer=Woodgrove+Bank");
    assert!(
        csv.starts_with(&format!(
            "{BOM}Subtitle\r\nOrders of Woodgrove Bank\r\n\r\n\
             OrderID,OrderDate,Status,Amount,OrderCount,TotalAmount\r\n\
             225,1/6/2025,Shipped,$385.75,14 orders,\"$6,568.24\"\r\n\
             115,2/5/2025,Cancelled,$762.05,14 orders,\"$6,568.24\"\r\n"
        )),
        "{csv}"
    );
    let html = q.render(item, "rs:Format=HTML5&Customer=Woodgrove+Bank");
    for s in [">Orders of Woodgrove Bank<", ">$6,568.24<", ">$385.75<"] {
        assert!(html.contains(s), "{s} missing");
    }
    // the default customer: every order of Contoso Ltd
    let xml = q.render(item, "rs:Format=XML");
    assert_eq!(xml.matches("<Details ").count(), 26, "{xml}");
    assert!(xml.contains("TotalAmount=\"10954.13\""), "{xml}");
    let json: serde_json::Value = serde_json::from_str(&q.render(item, "rs:Format=JSON")).unwrap();
    assert_eq!(json["Name"], "Customer Orders");
    assert_eq!(q.get("/Reports/report/Samples/Customers").status, 200);
}

// ---- data sources over real engines ----

/// `REPORTD_TEST_PG_URL`, or `None` after printing `skipped:` (a failure under CI=true).
fn pg_url() -> Option<String> {
    match std::env::var("REPORTD_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "REPORTD_TEST_PG_URL is not set under CI=true"
            );
            println!("skipped: REPORTD_TEST_PG_URL is not set");
            None
        }
    }
}

/// Runs SQL with psql against `url`; panics on failure.
fn psql(url: &str, sql: &str) {
    let o = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-q", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        o.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A fresh database (dropped on drop) with a `products` table of three rows.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin_url: &str, tag: &str) -> PgDb {
        let name = format!(
            "reportd_render_{tag}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        let mut u = url::Url::parse(admin_url).unwrap();
        u.set_path(&format!("/{name}"));
        let url = u.to_string();
        psql(
            &url,
            "CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
             INSERT INTO products VALUES (1, 'Anvil', 1234.50), (2, 'Rocket <skates>', 99.95), (3, 'Magnet', 0.05);",
        );
        PgDb {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-q",
                &self.admin_url,
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table report over `SELECT id, name, price FROM products WHERE price >= @MinPrice`,
/// with the data source element given.
fn products_report(data_source: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources>{data_source}</DataSources>
  <DataSets>
    <DataSet Name="Products">
      <Query>
        <DataSourceName>DB</DataSourceName>
        <QueryParameters><QueryParameter Name="@MinPrice"><Value>=Parameters!MinPrice.Value</Value></QueryParameter></QueryParameters>
        <CommandText>SELECT id, name, price FROM products WHERE price &gt;= @MinPrice ORDER BY id</CommandText>
      </Query>
      <Fields>
        <Field Name="id"><DataField>id</DataField></Field>
        <Field Name="name"><DataField>name</DataField></Field>
        <Field Name="price"><DataField>price</DataField></Field>
      </Fields>
    </DataSet>
  </DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems>
      <Tablix Name="Products">
        <TablixBody>
          <TablixColumns><TablixColumn><Width>1in</Width></TablixColumn><TablixColumn><Width>2in</Width></TablixColumn><TablixColumn><Width>1in</Width></TablixColumn></TablixColumns>
          <TablixRows>
            <TablixRow><Height>0.25in</Height><TablixCells>
              <TablixCell><CellContents><Textbox Name="Id"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Fields!id.Value</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
              <TablixCell><CellContents><Textbox Name="ProductName"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Fields!name.Value</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
              <TablixCell><CellContents><Textbox Name="Price"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Fields!price.Value</Value><Style><Format>C</Format></Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
            </TablixCells></TablixRow>
            <TablixRow><Height>0.25in</Height><TablixCells>
              <TablixCell><CellContents><Textbox Name="TotalLabel"><Paragraphs><Paragraph><TextRuns><TextRun><Value>Total</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
              <TablixCell><CellContents><Textbox Name="Count"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=CountRows() &amp; " products"</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
              <TablixCell><CellContents><Textbox Name="Total"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Sum(Fields!price.Value)</Value><Style><Format>C</Format></Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>
            </TablixCells></TablixRow>
          </TablixRows>
        </TablixBody>
        <TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
        <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Details" /></TablixMember><TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember></TablixMembers></TablixRowHierarchy>
        <DataSetName>Products</DataSetName>
        <Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>4in</Width>
      </Tablix>
    </ReportItems><Height>0.5in</Height></Body>
    <Width>4in</Width>
    <Page><PageHeight>11in</PageHeight><PageWidth>8.5in</PageWidth></Page>
  </ReportSection></ReportSections>
  <ReportParameters>
    <ReportParameter Name="MinPrice"><DataType>Float</DataType><DefaultValue><Values><Value>0</Value></Values></DefaultValue><Prompt>Minimum price</Prompt></ReportParameter>
  </ReportParameters>
</Report>
"#
    )
}

const PRODUCTS_CSV: &str = "\u{feff}Id,ProductName,Price,Count,Total\r\n\
     1,Anvil,\"$1,234.50\",3 products,\"$1,334.50\"\r\n\
     2,Rocket <skates>,$99.95,3 products,\"$1,334.50\"\r\n\
     3,Magnet,$0.05,3 products,\"$1,334.50\"\r\n";

#[test]
fn postgresql_data_source_renders() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin, "pg");
    let q = Quick::start();
    let ds = format!(
        "<DataSource Name=\"DB\"><ConnectionProperties><DataProvider>POSTGRESQL</DataProvider><ConnectString>{}</ConnectString></ConnectionProperties></DataSource>",
        xml_escape(&db.url)
    );
    q.upload(
        "Products PG.rdl",
        products_report(&ds).as_bytes(),
        "/Samples",
    );
    let item = "/Samples/Products%20PG";
    assert_eq!(q.render(item, "rs:Format=CSV"), PRODUCTS_CSV);
    // a bound parameter (never spliced): only the two dearer products
    let csv = q.render(item, "rs:Format=CSV&MinPrice=50");
    assert!(
        csv.ends_with("2,Rocket <skates>,$99.95,2 products,\"$1,334.45\"\r\n"),
        "{csv}"
    );
    let xml = q.render(item, "rs:Format=XML");
    assert!(
        xml.contains("<Details Id=\"2\" ProductName=\"Rocket &lt;skates&gt;\" Price=\"99.95\" />"),
        "{xml}"
    );
    let json: serde_json::Value = serde_json::from_str(&q.render(item, "rs:Format=JSON")).unwrap();
    assert_eq!(
        json["Products"]["Details_Collection"][0]["ProductName"],
        "Anvil"
    );
    let html = q.render(item, "rs:Format=HTML5");
    assert!(html.contains(">Rocket &lt;skates&gt;<"), "escaped: {html}");
    assert!(!html.contains("<skates>"));
    assert!(html.contains(">$1,334.50<"));
    // a wrong parameter type is a 400 naming the parameter
    let r = q.get(&format!("/ReportServer?{item}&MinPrice=cheap"));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("MinPrice"), "{}", r.body);
}

#[test]
fn shared_data_source_with_stored_credentials_never_shows_the_password() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin, "rds");
    let secret = format!("S3cret-{}-pw", std::process::id());
    let role = format!("{}_reader", db.name);
    psql(
        &admin,
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{secret}'"),
    );
    psql(&db.url, &format!("GRANT SELECT ON products TO {role}"));
    // The connect string names no user: only the stored credentials let the report connect.
    let mut u = url::Url::parse(&db.url).unwrap();
    let _ = u.set_username("");
    let rds = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource">
  <Extension>POSTGRESQL</Extension>
  <ConnectString>{}</ConnectString>
  <CredentialRetrieval>Store</CredentialRetrieval>
  <UserName>{role}</UserName>
  <Password>{secret}</Password>
  <WindowsCredentials>False</WindowsCredentials>
  <Enabled>True</Enabled>
</DataSourceDefinition>
"#,
        xml_escape(u.as_str())
    );
    let q = Quick::start();
    q.upload("Warehouse.rds", rds.as_bytes(), "/Samples");
    let ds =
        "<DataSource Name=\"DB\"><DataSourceReference>Warehouse</DataSourceReference></DataSource>";
    q.upload(
        "Products Shared.rdl",
        products_report(ds).as_bytes(),
        "/Samples",
    );
    let item = "/Samples/Products%20Shared";
    let mut seen = Vec::new();
    let csv = q.render(item, "rs:Format=CSV");
    assert_eq!(csv, PRODUCTS_CSV);
    seen.push(csv);
    for f in ["XML", "JSON", "HTML5"] {
        seen.push(q.render(item, &format!("rs:Format={f}")));
    }
    let def = q.get("/ReportServer?/Samples/Warehouse&rs:Command=GetDataSourceContents");
    assert_eq!(def.status, 200, "{def:?}");
    assert!(
        def.body
            .contains("<CredentialRetrieval>Store</CredentialRetrieval>"),
        "{}",
        def.body
    );
    seen.push(def.body);
    seen.push(q.get("/ReportServer?/Samples/Warehouse").body);
    seen.push(q.get("/Reports/browse/Samples").body);
    seen.push(q.inst.ok(&["catalog", "ls", "/Samples"]));
    // the portal's download and the REST API's content: the definition, never the secret
    let dl = q.get("/Reports/download/Samples/Warehouse");
    assert_eq!(dl.status, 200, "{dl:?}");
    assert!(dl.body.contains("<UserName>"), "{}", dl.body);
    assert!(!dl.body.contains("SealedCredentials"), "{}", dl.body);
    seen.push(dl.body);
    let rest = q.get("/Reports/api/v2.0/DataSources(Path='/Samples/Warehouse')/Content/$value");
    assert_eq!(rest.status, 200, "{rest:?}");
    assert!(
        rest.body
            .contains("<CredentialRetrieval>Store</CredentialRetrieval>"),
        "{}",
        rest.body
    );
    assert!(!rest.body.contains("SealedCredentials"), "{}", rest.body);
    seen.push(rest.body);
    // the stored credentials are the ones the query ran with
    let who = products_report(ds).replace(
        "SELECT id, name, price FROM products WHERE price &gt;= @MinPrice ORDER BY id",
        "SELECT 1 AS id, current_user::text AS name, @MinPrice AS price",
    );
    q.upload("Who.rdl", who.as_bytes(), "/Samples");
    let csv = q.render("/Samples/Who", "rs:Format=CSV");
    assert!(csv.contains(&format!("1,{role},")), "{csv}");
    let _ = q.get("/ReportServer?/Samples/Products%20Shared&MinPrice=x");
    seen.push(q.server_log());
    for s in &seen {
        assert!(!s.contains(&secret), "the password leaked: {s}");
    }
    // the catalog holds neither the password nor anything that is not sealed
    for f in ["catalog.db", "catalog.db-wal"] {
        let stored = std::fs::read(q.inst.dir.join(f)).unwrap_or_default();
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the password is in {f}"
        );
    }
    // the role's grant lives in the test database: drop it there, then the role
    psql(&db.url, &format!("DROP OWNED BY {role}"));
    psql(&admin, &format!("DROP ROLE IF EXISTS {role}"));
}

#[test]
fn sqlite_file_outside_data_source_directories_is_refused() {
    let q = Quick::start();
    // a real SQLite database, but next to the data dir rather than under <data dir>/data
    let outside = q.inst.tmp.path().join("outside.db");
    let o = Command::new("sqlite3")
        .arg(&outside)
        .arg("CREATE TABLE products (id int, name text, price real); INSERT INTO products VALUES (1, 'Anvil', 1234.5);")
        .output();
    match o {
        Ok(o) if o.status.success() => {}
        _ => {
            // sqlite3 is not installed: the catalog file is just as good a target.
            std::fs::copy(q.inst.dir.join("data/samples.db"), &outside).unwrap();
        }
    }
    let ds = format!(
        "<DataSource Name=\"DB\"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source={}</ConnectString></ConnectionProperties></DataSource>",
        xml_escape(&outside.display().to_string())
    );
    q.upload("Outside.rdl", products_report(&ds).as_bytes(), "/Samples");
    for f in ["CSV", "HTML5"] {
        let r = q.get(&format!("/ReportServer?/Samples/Outside&rs:Format={f}"));
        assert!((400..500).contains(&r.status), "{r:?}");
        assert!(r.body.contains("DataSourceDirectories"), "{}", r.body);
        assert!(!r.body.contains("Anvil"));
    }
    // the catalog itself is refused the same way
    let catalog = q.inst.dir.join("catalog.db");
    let ds = format!(
        "<DataSource Name=\"DB\"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source={}</ConnectString></ConnectionProperties></DataSource>",
        xml_escape(&catalog.display().to_string())
    );
    q.upload("Catalog.rdl", products_report(&ds).as_bytes(), "/Samples");
    let r = q.get("/ReportServer?/Samples/Catalog&rs:Format=CSV");
    assert!((400..500).contains(&r.status), "{r:?}");
    assert!(r.body.contains("DataSourceDirectories"), "{}", r.body);
    // the server keeps serving
    assert!(
        q.render("/Samples/Customers", "rs:Format=CSV")
            .contains("Woodgrove Bank")
    );
}

#[test]
fn samples_pass_the_upload_check_without_warnings() {
    for (name, bytes) in [
        (
            "Sales Table",
            &include_bytes!("../samples/Sales Table.rdl")[..],
        ),
        (
            "Sales Matrix",
            include_bytes!("../samples/Sales Matrix.rdl"),
        ),
        (
            "Orders by Customer",
            include_bytes!("../samples/Orders by Customer.rdl"),
        ),
        ("Customers", include_bytes!("../samples/Customers.rdl")),
        (
            "Customer Orders",
            include_bytes!("../samples/Customer Orders.rdl"),
        ),
    ] {
        let s = rdl::check_upload(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(s.warnings.is_empty(), "{name}: {:?}", s.warnings);
        assert!(
            format!("{:?}", s.schema).contains("2016"),
            "{name}: {:?}",
            s.schema
        );
    }
}

#[test]
fn shared_data_source_password_in_the_connect_string_is_never_shown() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin, "rdscs");
    let secret = format!("Hunter2-{}-pw", std::process::id());
    let u = url::Url::parse(&db.url).unwrap();
    // libpq key=value pairs with a password (the test server trusts 127.0.0.1, so it is
    // accepted whatever it is; what matters is where it shows up)
    let cs = format!(
        "host={} port={} user={} password={secret} dbname={}",
        u.host_str().unwrap(),
        u.port().unwrap_or(5432),
        if u.username().is_empty() {
            "postgres"
        } else {
            u.username()
        },
        db.name
    );
    let rds = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<RptDataSource xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" Name="Warehouse">
  <ConnectionProperties>
    <Extension>POSTGRESQL</Extension>
    <ConnectString>{}</ConnectString>
  </ConnectionProperties>
  <DataSourceID>3f0c1b2a-1111-4c3d-9e8f-0a1b2c3d4e5f</DataSourceID>
</RptDataSource>
"#,
        xml_escape(&cs)
    );
    let q = Quick::start();
    q.upload("Warehouse.rds", rds.as_bytes(), "/Samples");
    let ds =
        "<DataSource Name=\"DB\"><DataSourceReference>Warehouse</DataSourceReference></DataSource>";
    q.upload(
        "Products Shared.rdl",
        products_report(ds).as_bytes(),
        "/Samples",
    );
    let item = "/Samples/Products%20Shared";
    let mut seen = vec![q.render(item, "rs:Format=CSV")];
    assert_eq!(seen[0], PRODUCTS_CSV);
    for f in ["XML", "JSON", "HTML5"] {
        seen.push(q.render(item, &format!("rs:Format={f}")));
    }
    let def = q.get("/ReportServer?/Samples/Warehouse&rs:Command=GetDataSourceContents");
    assert_eq!(def.status, 200, "{def:?}");
    assert!(
        def.body.contains("<Extension>POSTGRESQL</Extension>"),
        "{}",
        def.body
    );
    assert!(
        def.body.contains(&format!("dbname={}", db.name)),
        "{}",
        def.body
    );
    seen.push(def.body);
    seen.push(q.get("/Reports/browse/Samples").body);
    seen.push(q.get("/Reports/report/Samples/Products%20Shared").body);
    // a failing query against the same source: its error names the dataset, not the secret
    let r = q.get(&format!(
        "{}&MinPrice=x",
        "/ReportServer?/Samples/Products%20Shared"
    ));
    assert_eq!(r.status, 400, "{r:?}");
    seen.push(r.body);
    seen.push(q.server_log());
    for s in &seen {
        assert!(!s.contains(&secret), "the password leaked: {s}");
    }
}
