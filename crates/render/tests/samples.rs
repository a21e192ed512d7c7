//! The three shared samples (Invoice, Labels, Transcript) parsed, bound with their
//! ENTERDATA data and rendered to CSV, XML, JSON and HTML5, with exact expected strings
//! derived by hand from each sample's embedded data and expressions.

mod common;

use common::*;

use std::collections::HashMap;

use engine::Instance;
use engine::page::AverageCharMeasurer;
use render::{DeviceInfo, csv, html, json, xml};

fn out<F: FnOnce(&mut Vec<u8>)>(f: F) -> String {
    let mut v = Vec::new();
    f(&mut v);
    String::from_utf8(v).unwrap()
}

fn all(inst: &Instance) -> (String, String, String, String) {
    let d = DeviceInfo::default();
    let c = out(|w| csv::render(inst, &csv::CsvOptions::from_device_info(&d).unwrap(), w).unwrap());
    let x = out(|w| {
        xml::render(
            inst,
            &xml::XmlOptions::from_device_info(&d, None).unwrap(),
            w,
        )
        .unwrap()
    });
    let j =
        out(|w| json::render(inst, &json::JsonOptions::from_device_info(&d).unwrap(), w).unwrap());
    let mut ho = html::HtmlOptions::from_device_info(&d).unwrap();
    ho.section = 0;
    let h = out(|w| html::render(inst, &ho, &AverageCharMeasurer, w).unwrap());
    (c, x, j, h)
}

fn html_page(inst: &Instance, height: Option<i64>, section: u32) -> String {
    let mut o = html::HtmlOptions::from_device_info(&DeviceInfo::default()).unwrap();
    o.page_height = height;
    o.section = section;
    out(|w| html::render(inst, &o, &AverageCharMeasurer, w).unwrap())
}

#[test]
fn invoice_in_every_format() {
    let Some(r) = run("Invoice.rdl", &[("Company", &["Contoso Suites"][..])]) else {
        return;
    };
    let inst = r.unwrap();
    assert!(inst.warnings().is_empty(), "{:?}", inst.warnings());
    let (c, x, j, h) = all(&inst);
    // CSV: one block (the body has no top-level textboxes), DataElementName headers, constant
    // labels (=UCase("item"), "Payment reference"...) dropped, values formatted.
    let mut lines = c.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "Textbox5,Textbox7,Textbox9,Textbox8,Textbox22,Textbox23,Item,Description,Quantity,\
         SalesUnitTxt,SalesPrice,Discount,Amount,Textbox46,Textbox62,LineAmount2,Textbox19,\
         Textbox35,Textbox39,Textbox40,Textbox27,Textbox41"
    );
    let head = "\"Owl Wholesales\r\n123 Violet Road , Phoenix, CO 85003 USA\",Invoice CIV-000676 000007-1,\
                \"$321,113.52\",30 November 2019,Payment terms: Net 45 days,Payment due 1/14/2020,";
    let tail = ",Sales invoice notes,US-009,34567,\"Make check payable to Contoso Suites.\r\n\
                Write reference US-009 on the check.\",1234123400,Karl Bystrom\r\n";
    // 10 detail lines (sum 308,763), then the totals region: tax 4% and the total
    assert!(
        c.contains(&format!("{head}D011,Lens,2,Each,2.00,0,4.00,,,{tail}")),
        "{c}"
    );
    assert!(c.contains(&format!(
        "{head}T0005,\"Television HDTV X590 52\"\" White\",33,Each,\"2,890.00\",0,\"95,370.00\",,,{tail}"
    )));
    assert!(c.contains(&format!(
        "{head},,,,,,,4.00,\"12,350.52\",\"321,113.52\"{tail}"
    )));
    assert_eq!(c.matches("Owl Wholesales").count(), 11);
    // XML: raw typed values, collections, attributes
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><Report Name=\"Invoice\" xmlns=\"Invoice\"><Tablix1>"));
    assert!(x.contains("<Rectangle3 Textbox7=\"Invoice CIV-000676 000007-1\" Textbox9=\"321113.52\" Textbox8=\"30 November 2019\""));
    assert!(x.contains("<Invoice_Group_Collection><Invoice_Group><Rectangle9><Tablix2><Details_Collection><Details Item=\"D011\" Description=\"Lens\""));
    assert!(x.contains("Description=\"Television HDTV X590 52&quot; White\""));
    assert!(
        x.contains("<Tablix3 Textbox46=\"4\" Textbox62=\"12350.52\" LineAmount2=\"321113.52\" />")
    );
    assert_eq!(x.matches("<Details ").count(), 10);
    // JSON: the same tree, numbers as numbers
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["Name"], "Invoice");
    let group = &v["Tablix1"]["Invoice_Group_Collection"][0];
    assert_eq!(
        group["Rectangle19"]["Tablix3"]["LineAmount2"],
        serde_json::json!(321113.52)
    );
    let details = group["Rectangle9"]["Tablix2"]["Details_Collection"]
        .as_array()
        .unwrap();
    assert_eq!(details.len(), 10);
    assert_eq!(details[1]["Amount"], serde_json::json!(17500));
    assert_eq!(details[1]["Description"], "Mid-Range Speaker");
    // HTML5: page header (the filtered Company data set) and footer with page numbers
    for s in [
        ">Contoso Suites<",
        ">123 Coffee Street\nBuffalo,NY 98052\nUSA\n<",
        ">Telephone 012345678<",
        ">http://www.contososuites.com<",
        ">$321,113.52<",
        ">12,350.52<",
        ">321,113.52<",
        ">Television HDTV X590 52&quot; White<",
        ">Page 1 of 1<",
    ] {
        assert!(h.contains(s), "{s} missing");
    }
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(!h.contains(" style="), "no inline style attributes (CSP)");
    // soft pages of 5cm: every page has the footer with "Page n of N"
    let n = html::page_count(
        &inst,
        &html::HtmlOptions {
            page_height: Some(50_000),
            ..Default::default()
        },
        &AverageCharMeasurer,
    );
    assert!(n > 2, "{n}");
    for p in 1..=n {
        let page = html_page(&inst, Some(50_000), p);
        assert!(page.contains(&format!(">Page {p} of {n}<")), "page {p}");
        assert_eq!(page.matches(" id=\"page").count(), 1);
    }
}

#[test]
fn labels_needs_names_and_renders_every_label() {
    let Some(r) = run("Labels.rdl", &[]) else {
        return;
    };
    let e = r.unwrap_err();
    assert_eq!(e.code(), "rsReportParameterValueNotSet");
    assert!(e.to_string().contains("'Names'"), "{e}");
    let Some(r) = run("Labels.rdl", &[("Names", &["Nobody Here"][..])]) else {
        return;
    };
    assert_eq!(r.unwrap_err().code(), "rsInvalidReportParameter");

    let inst = run(
        "Labels.rdl",
        &[("Names", &["Ebony E. Gill", "Vera Kopecka"][..])],
    )
    .unwrap()
    .unwrap();
    let (c, x, j, h) = all(&inst);
    // CSV: one block, header LabelCell, 90 records each qualified (paragraphs → CR LF)
    assert!(c.starts_with(
        "\u{feff}LabelCell\r\n\"Ebony E. Gill\r\n3235 Mi Casa Court\r\nBirmingham AL  35203\r\nUnited States\"\r\n\
         \"Michal  Formanek\r\n4567 Main St \r\nBuffalo NY  98052\r\nUnited States\"\r\n"
    ));
    assert!(c.ends_with(
        "\"Vera  Kopecka\r\n7843 Joyce Street\r\nBaton Rouge NJ  47854\r\nUnited States\"\r\n"
    ));
    assert_eq!(
        c.matches("\r\nUnited States\"").count() + c.matches("\r\nCanada\"").count(),
        90
    );
    assert!(x.contains("<Tablix4><Details_Collection><Details LabelCell=\"Ebony E. Gill&#xD;&#xA;3235 Mi Casa Court&#xD;&#xA;Birmingham AL  35203&#xD;&#xA;United States\" />"));
    assert_eq!(x.matches("<Details ").count(), 90);
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(
        v["Tablix4"]["Details_Collection"].as_array().unwrap().len(),
        90
    );
    assert!(h.contains(">Ebony<") && h.contains(">Gill<") && h.contains(">Mi Casa Court<"));
    // 1in labels on 11in soft pages: 11 per page
    assert_eq!(
        html::page_count(&inst, &html::HtmlOptions::default(), &AverageCharMeasurer),
        9
    );
    let one = html_page(&inst, Some(0), 0);
    assert_eq!(one.matches(" id=\"page").count(), 1);
    // compliant mode, tab separated: unformatted, no qualifier needed for commas
    let mut m = HashMap::new();
    m.insert("rc:ExcelMode".to_owned(), "false".to_owned());
    m.insert("rc:FieldDelimiter".to_owned(), "\t".to_owned());
    let o = csv::CsvOptions::from_device_info(&DeviceInfo::new(&m)).unwrap();
    let t = out(|w| csv::render(&inst, &o, w).unwrap());
    assert!(t.starts_with("\u{feff}LabelCell\r\n\"Ebony E. Gill\r\n"));
    let mut m = HashMap::new();
    m.insert("rc:Qualifier".to_owned(), ",".to_owned());
    assert!(csv::CsvOptions::from_device_info(&DeviceInfo::new(&m)).is_err());
}

#[test]
fn transcript_in_every_format() {
    let Some(r) = run("Transcript.rdl", &[]) else {
        return;
    };
    let inst = r.unwrap();
    assert!(inst.warnings().is_empty(), "{:?}", inst.warnings());
    let (c, x, j, h) = all(&inst);
    assert_eq!(
        c,
        "\u{feff}Name1,Number1,Date1,Version,Number,Description,Date\r\n\
         Contoso Certified IT Professional (CCITP),E193-6265,03/07/2020,Server Administrator on Contoso Server 2008,,,\r\n\
         Contoso Certified Solutions Professional,E193-6267,03/07/2020,Contoso Server 2008,,,\r\n\
         Contoso Certified Technology Specialist,646,03/07/2020,Contoso Server 2016 Configuration,,,\r\n\
         ,,,,E193-6265,Contoso Server 2008 Network Infrastructure Configuration,\"Saturday, March 7, 2020\"\r\n\
         ,,,,E193-6267,Contoso Server 2008 Active Directory Configuration,\"Saturday, March 7, 2020\"\r\n\
         ,,,,646,Pro : Contoso Server 2008,\"Saturday, March 7, 2020\"\r\n\
         ,,,,640,Contoso Server 2008 Active Directory Configuration,\"Sunday, February 16, 2020\"\r\n\
         ,,,,642,Contoso Server 2008 Network Infrastructure Configuration,\"Friday, January 31, 2020\"\r\n"
    );
    assert!(x.contains("<Tablix2><Name_Collection><Name Name1=\"Contoso Certified IT Professional (CCITP)\"><Details_Collection><Details Number1=\"E193-6265\" Date1=\"03/07/2020\" Version=\"Server Administrator on Contoso Server 2008\" /></Details_Collection></Name>"));
    assert!(x.contains("<Details1 Number=\"642\" Description=\"Contoso Server 2008 Network Infrastructure Configuration\" Date=\"Friday, January 31, 2020\" />"));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(
        v["Tablix1"]["Rectangle19"]["Tablix6"]["Details1_Collection"][3]["Number"],
        "640"
    );
    // header: First/Max over the data set; one page, so the footer (PrintOnLastPage false)
    // is not shown (§2.2-3)
    for s in [
        ">Contoso Professional Certified Transcript<",
        ">7660910<",
        ">GERALDO MAGELLA JUNIOR<",
        ">Saturday, March 7, 2020<",
    ] {
        assert!(h.contains(s), "{s} missing");
    }
    assert!(!h.contains("Page 1 of"));
    // two pages of 6cm: the footer shows on page 1 (PrintOnFirstPage) but not on the last
    let p1 = html_page(&inst, Some(60_000), 1);
    let n = html::page_count(
        &inst,
        &html::HtmlOptions {
            page_height: Some(60_000),
            ..Default::default()
        },
        &AverageCharMeasurer,
    );
    assert!(n >= 2);
    assert!(p1.contains(&format!(">Page 1 of  {n}<")));
    assert!(!html_page(&inst, Some(60_000), n).contains(&format!(">Page {n} of")));
}
