//! ENTERDATA against the shared sample reports' embedded data, and typed columns.

use std::path::PathBuf;

use dataprov::enterdata::{EnterDataProvider, parse_table};
use dataprov::{
    Connection, DataError, DataProvider, DataTable, FieldHint, Limits, Query, Registry,
};
use rdl::Value;
use rust_decimal::Decimal;
use time::macros::datetime;

fn samples_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
    if dir.join("Invoice.rdl").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the shared samples are missing at {}",
        dir.display()
    );
    println!("skipped: shared samples not found at {}", dir.display());
    None
}

/// The command text and field hints of data set `name` in a sample, found by a plain
/// roxmltree walk (local names, any namespace).
fn data_set(file: &str, name: &str) -> Option<(String, Vec<FieldHint>)> {
    let dir = samples_dir()?;
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).unwrap();
    let ds = doc
        .descendants()
        .find(|n| n.tag_name().name() == "DataSet" && n.attribute("Name") == Some(name))
        .unwrap_or_else(|| panic!("{file} has no data set {name}"));
    let command = ds
        .descendants()
        .find(|n| n.tag_name().name() == "CommandText")
        .and_then(|n| n.text())
        .unwrap()
        .to_string();
    let hints = ds
        .descendants()
        .filter(|n| n.tag_name().name() == "Field")
        .map(|f| {
            let child = |local: &str| {
                f.children()
                    .find(|c| c.tag_name().name() == local)
                    .and_then(|c| c.text())
                    .map(str::to_string)
            };
            FieldHint {
                name: f.attribute("Name").unwrap().to_string(),
                data_field: child("DataField").unwrap_or_default(),
                type_name: child("TypeName"),
            }
        })
        .collect();
    Some((command, hints))
}

fn col(t: &DataTable, name: &str) -> usize {
    t.column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", t.fields))
}

fn s(v: &str) -> Value {
    Value::from(v)
}

#[test]
fn invoice_sales_lines_are_typed_from_rd_type_name() {
    let Some((text, hints)) = data_set("Invoice.rdl", "SalesInvoiceDS") else {
        return;
    };
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.len(), 10);
    assert_eq!(t.fields.len(), 15);
    assert_eq!(t.fields[0].name, "Company");
    let amount = col(&t, "Amount");
    assert_eq!(t.fields[amount].type_name, "System.Double");
    let item = col(&t, "Item");
    let qty = col(&t, "Quantity");
    let notes = col(&t, "HeaderNotes");
    assert_eq!(t.value(0, item), s("D011"));
    // A string column keeps its text exactly, trailing space included.
    assert_eq!(t.value(0, qty), s("2 "));
    assert_eq!(t.value(0, amount), Value::Float(4.0));
    assert_eq!(t.value(9, item), s("T0003"));
    // An empty element in a string column is "", not Nothing.
    assert_eq!(t.value(0, notes), s(""));
    let total: f64 = t
        .rows()
        .map(|r| match r[amount] {
            Value::Float(x) => x,
            ref other => panic!("Amount not a Double: {other:?}"),
        })
        .sum();
    assert_eq!(total, 308763.0);
    for r in t.rows() {
        assert_eq!(r.len(), 15);
        assert_eq!(r[0], s("Microsoft"));
    }
}

#[test]
fn invoice_small_data_sets() {
    let Some((text, hints)) = data_set("Invoice.rdl", "Company") else {
        return;
    };
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.value(0, col(&t, "Name")), s("Contoso Pharmaceuticals"));
    assert_eq!(t.value(1, col(&t, "City")), s("Buffalo"));
    let (text, hints) = data_set("Invoice.rdl", "SalesInvoiceHeaderFooterDS").unwrap();
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        t.value(0, col(&t, "InvoicingAddress")),
        s("123 Violet Road , Phoenix, CO 85003 USA")
    );
    assert_eq!(t.value(0, col(&t, "InvoiceDate")), s("30 November 2019"));
}

#[test]
fn labels_has_ninety_addresses() {
    let Some((text, hints)) = data_set("Labels.rdl", "DataSet") else {
        return;
    };
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.len(), 90);
    assert_eq!(t.fields.len(), 11);
    let first = col(&t, "FirstName");
    let middle = col(&t, "MiddleName");
    let full = col(&t, "FullName");
    assert_eq!(t.value(0, first), s("Ebony"));
    assert_eq!(t.value(0, middle), s("E."));
    assert_eq!(t.value(89, full), s("Vera Kopecka"));
    assert_eq!(t.value(89, middle), s(""));
    assert!(t.fields.iter().all(|f| f.type_name == "System.String"));
}

#[test]
fn transcript_dates_parse_as_datetime_when_the_field_says_so() {
    let Some((text, mut hints)) = data_set("Transcript.rdl", "Certification") else {
        return;
    };
    // As declared (System.String) the dates stay text.
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.len(), 5);
    let date = col(&t, "Date");
    assert_eq!(t.value(0, date), s("03/07/2020"));
    // Declared System.DateTime: invariant MM/dd/yyyy.
    for h in &mut hints {
        if h.data_field == "Date" {
            h.type_name = Some("System.DateTime".into());
        }
        if h.data_field == "UserId" {
            h.type_name = Some("System.Int32".into());
        }
    }
    let t = parse_table(&text, &hints).unwrap();
    assert_eq!(t.fields[date].type_name, "System.DateTime");
    assert_eq!(
        t.value(0, date),
        Value::DateTime(datetime!(2020-03-07 0:00))
    );
    assert_eq!(t.value(0, col(&t, "UserId")), Value::Int(7660910));
}

#[test]
fn every_type_converts_with_invariant_rules() {
    let text = "<Query><XmlData><Data>\
        <Row><I>-42</I><F>1234.5</F><D>12.50</D><B>true</B><T>2021-02-03T04:05:06.25</T><S> x </S></Row>\
        <Row><I></I><F>1e3</F><D>-0.001</D><B>False</B><T>12/31/1999 11:59:00 PM</T></Row>\
        </Data></XmlData>\
        <ElementPath>Data{}/Row{I(Integer),F(Float),D(Decimal),B(Boolean),T(Date),S(String)}</ElementPath></Query>";
    let t = parse_table(text, &[]).unwrap();
    let names: Vec<_> = t.fields.iter().map(|f| f.type_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "System.Int64",
            "System.Double",
            "System.Decimal",
            "System.Boolean",
            "System.DateTime",
            "System.String"
        ]
    );
    assert_eq!(
        &t.row(0)[..],
        &[
            Value::Int(-42),
            Value::Float(1234.5),
            Value::Decimal(Decimal::new(1250, 2)),
            Value::Bool(true),
            Value::DateTime(datetime!(2021-02-03 4:05:06.25)),
            s(" x "),
        ]
    );
    assert_eq!(
        &t.row(1)[..],
        &[
            Value::Null,
            Value::Float(1000.0),
            Value::Decimal(Decimal::new(-1, 3)),
            Value::Bool(false),
            Value::DateTime(datetime!(1999-12-31 23:59:00)),
            // A missing element is Nothing.
            Value::Null,
        ]
    );
    // Decimal keeps its scale.
    assert_eq!(t.value(0, 2), Value::Decimal("12.50".parse().unwrap()));
    if let Value::Decimal(d) = &t.value(0, 2) {
        assert_eq!(d.to_string(), "12.50");
    }
}

#[test]
fn hints_win_over_element_path_and_columns_without_a_path_are_found() {
    let text = "<Query><XmlData><Data><Row><A>1</A></Row><Row><B>2</B><A>3</A></Row></Data></XmlData></Query>";
    let hints = [FieldHint {
        name: "Alpha".into(),
        data_field: "A".into(),
        type_name: Some("System.Int32".into()),
    }];
    let t = parse_table(text, &hints).unwrap();
    assert_eq!(t.fields.len(), 2);
    assert_eq!(t.fields[0].name, "A");
    assert_eq!(t.fields[1].name, "B");
    assert_eq!(&t.row(0)[..], &[Value::Int(1), Value::Null]);
    assert_eq!(&t.row(1)[..], &[Value::Int(3), s("2")]);
}

#[test]
fn bad_input_is_a_clear_error() {
    let e = parse_table("<Query><XmlData>", &[]).unwrap_err();
    assert!(matches!(e, DataError::EnterData { .. }), "{e}");
    assert!(e.to_string().contains("not XML"), "{e}");
    let text = "<Query><XmlData><Data><Row><N>abc</N></Row></Data></XmlData>\
                <ElementPath>Data{}/Row{N(Integer)}</ElementPath></Query>";
    let e = parse_table(text, &[]).unwrap_err().to_string();
    assert!(
        e.contains("row 1, column N: 'abc' is not a valid System.Int64"),
        "{e}"
    );
    assert_eq!(parse_table("  ", &[]).unwrap(), DataTable::default());
}

#[tokio::test]
async fn the_provider_applies_the_row_limit_and_is_registered() {
    let text =
        "<Query><XmlData><Data><Row><A>1</A></Row><Row><A>2</A></Row></Data></XmlData></Query>";
    let query = Query {
        command_text: text.into(),
        ..Query::default()
    };
    let conn = Connection {
        extension: "enterdata".into(),
        ..Connection::default()
    };
    let ok = Registry::with_defaults()
        .execute(&conn, &query, &[], &Limits::default())
        .await
        .unwrap();
    assert_eq!(ok.len(), 2);
    let limits = Limits {
        max_rows: 1,
        ..Limits::default()
    };
    let e = EnterDataProvider
        .execute(&conn, &query, &[], &limits)
        .await
        .unwrap_err();
    assert!(matches!(e, DataError::RowLimit { limit: 1 }), "{e}");
    assert!(e.to_string().contains("more than 1 rows"), "{e}");
}

#[test]
fn unknown_extensions_name_themselves_and_the_supported_ones() {
    let r = Registry::with_defaults();
    for ok in [
        "ENTERDATA",
        "sqlite",
        "Microsoft.Data.Sqlite",
        "System.Data.SQLite",
        "sqlite3",
        "PostgreSQL",
        "npgsql",
        "PGSQL",
        "postgres",
    ] {
        assert!(r.get(ok).is_ok(), "{ok}");
    }
    for bad in ["SQL", "OLEDB", "ORACLE"] {
        let e = r.get(bad).err().unwrap().to_string();
        assert!(e.contains(&format!("'{bad}'")), "{e}");
        assert!(e.contains("ENTERDATA, SQLITE, POSTGRESQL"), "{e}");
    }
    assert_eq!(r.supported(), ["ENTERDATA", "SQLITE", "POSTGRESQL"]);
}
