//! Parameter-value parsing in a culture and the VB runtime helpers (`FormatNumber`,
//! `FormatCurrency`, `FormatPercent`, `FormatDateTime`).

use std::str::FromStr;

use netfmt::{
    Culture, NamedFormat, Num, PrimitiveDateTime, Tristate, format_currency_vb, format_datetime_vb,
    format_number_vb, format_percent_vb, format_vb, format_vb_datetime, parse_bool, parse_datetime,
    parse_number,
};
use rust_decimal::Decimal;
use time::{Date, Month, Time};

fn dec(s: &str) -> Num {
    Num::Decimal(Decimal::from_str(s).expect("test decimal"))
}

fn dt(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> PrimitiveDateTime {
    PrimitiveDateTime::new(
        Date::from_calendar_date(y, Month::try_from(mo).expect("month"), d).expect("date"),
        Time::from_hms(h, mi, s).expect("time"),
    )
}

fn c(name: &str) -> &'static Culture {
    Culture::get(name).expect("culture in table")
}

#[test]
fn numbers_parse_in_their_culture() {
    let us = Culture::en_us();
    assert_eq!(parse_number("42", us), Some(Num::Int(42)));
    assert_eq!(parse_number("  -42 ", us), Some(Num::Int(-42)));
    assert_eq!(parse_number("1,234,567", us), Some(Num::Int(1_234_567)));
    assert_eq!(parse_number("1,234.50", us), Some(dec("1234.50")));
    assert_eq!(parse_number("(1,234.50)", us), Some(dec("-1234.50")));
    assert_eq!(parse_number("$1,234.50", us), Some(dec("1234.50")));
    assert_eq!(parse_number("($5.00)", us), Some(dec("-5.00")));
    assert_eq!(parse_number("-$5", us), Some(Num::Int(-5)));
    assert_eq!(parse_number("5-", us), Some(Num::Int(-5)));
    assert_eq!(parse_number("+7", us), Some(Num::Int(7)));
    assert_eq!(parse_number(".5", us), Some(dec("0.5")));
    assert_eq!(parse_number("1e3", us), Some(Num::Float(1000.0)));
    assert_eq!(parse_number("1.5E-2", us), Some(Num::Float(0.015)));
    assert_eq!(
        parse_number("99999999999999999999", us),
        Some(dec("99999999999999999999"))
    );
    assert_eq!(parse_number("1234,5", c("de-DE")), Some(dec("1234.5")));
    assert_eq!(parse_number("1.234,5", c("de-DE")), Some(dec("1234.5")));
    assert_eq!(parse_number("1 234,5", c("fr-FR")), Some(dec("1234.5")));
    assert_eq!(
        parse_number("1\u{a0}234,5 \u{20ac}", c("fr-FR")),
        Some(dec("1234.5"))
    );
    for bad in [
        "",
        "abc",
        "1.2.3",
        "--5",
        "+-5",
        "1e",
        "1e+",
        ",5",
        "5 5",
        "$",
        "()",
        "1,2,3.4.5",
    ] {
        assert_eq!(parse_number(bad, us), None, "{bad:?} must not parse");
    }
}

#[test]
fn dates_parse_in_their_culture() {
    let us = Culture::en_us();
    let de = c("de-DE");
    assert_eq!(
        parse_datetime("1/5/2009", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("01/05/2009", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("1/5/2009 2:03:07 PM", us),
        Some(dt(2009, 1, 5, 14, 3, 7))
    );
    assert_eq!(
        parse_datetime("1/5/2009 12:00:00 AM", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("1/5/2009 12:30 pm", us),
        Some(dt(2009, 1, 5, 12, 30, 0))
    );
    assert_eq!(
        parse_datetime("1/5/2009 14:30", us),
        Some(dt(2009, 1, 5, 14, 30, 0))
    );
    assert_eq!(parse_datetime("1/5/09", us), Some(dt(2009, 1, 5, 0, 0, 0)));
    assert_eq!(parse_datetime("1/5/30", us), Some(dt(1930, 1, 5, 0, 0, 0)));
    assert_eq!(
        parse_datetime("2009-01-05", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("2009-01-05T14:03:07", us),
        Some(dt(2009, 1, 5, 14, 3, 7))
    );
    assert_eq!(
        parse_datetime("2009-01-05 14:03", de),
        Some(dt(2009, 1, 5, 14, 3, 0))
    );
    assert_eq!(
        parse_datetime("2009/01/05", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("5.1.2009", de),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("05.01.2009 18:00:00", de),
        Some(dt(2009, 1, 5, 18, 0, 0))
    );
    assert_eq!(
        parse_datetime("05/01/2009", c("en-GB")),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("January 5, 2009", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("Monday, January 5, 2009", us),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    assert_eq!(
        parse_datetime("5 Jan 2009 10:00 AM", us),
        Some(dt(2009, 1, 5, 10, 0, 0))
    );
    assert_eq!(
        parse_datetime("5. Januar 2009", de),
        Some(dt(2009, 1, 5, 0, 0, 0))
    );
    for bad in [
        "",
        "2/30/2009",
        "13/1/2009",
        "1/5",
        "12:00",
        "1/5/2009 25:00",
        "1/5/2009 13:00 PM",
        "yesterday",
        "2009-13-01",
        "1/5/2009 10:00 XM",
        "1/5/2009/7",
    ] {
        assert_eq!(parse_datetime(bad, us), None, "{bad:?} must not parse");
    }
}

#[test]
fn booleans_parse_like_boolean_parse() {
    assert_eq!(parse_bool("True"), Some(true));
    assert_eq!(parse_bool(" false "), Some(false));
    assert_eq!(parse_bool("TRUE"), Some(true));
    assert_eq!(parse_bool("1"), None);
    assert_eq!(parse_bool("yes"), None);
}

#[test]
fn vb_number_currency_percent() {
    let us = Culture::en_us();
    let d = Tristate::UseDefault;
    assert_eq!(
        format_number_vb(Num::Float(-1234.5), -1, d, d, d, us),
        "-1,234.50"
    );
    assert_eq!(
        format_number_vb(Num::Float(-1234.5), 2, d, Tristate::True, d, us),
        "(1,234.50)"
    );
    assert_eq!(
        format_number_vb(Num::Float(1234.5), 0, d, d, Tristate::False, us),
        "1235"
    );
    assert_eq!(
        format_number_vb(Num::Float(0.5), 2, Tristate::False, d, d, us),
        ".50"
    );
    assert_eq!(
        format_number_vb(Num::Float(0.5), 2, Tristate::True, d, d, us),
        "0.50"
    );
    assert_eq!(format_number_vb(Num::Float(-0.001), 2, d, d, d, us), "0.00");
    assert_eq!(
        format_number_vb(dec("1234.5"), 3, d, d, d, c("de-DE")),
        "1.234,500"
    );
    assert_eq!(
        format_currency_vb(Num::Float(-1234.5), -1, d, d, d, us),
        "($1,234.50)"
    );
    assert_eq!(
        format_currency_vb(Num::Float(-1234.5), -1, d, Tristate::False, d, us),
        "-$1,234.50"
    );
    assert_eq!(format_currency_vb(Num::Int(1234), 0, d, d, d, us), "$1,234");
    assert_eq!(
        format_currency_vb(Num::Float(-1234.5), -1, d, d, d, c("de-DE")),
        "-1.234,50 \u{20ac}"
    );
    assert_eq!(
        format_currency_vb(Num::Float(-1234.5), -1, d, Tristate::True, d, c("de-DE")),
        "(1.234,50 \u{20ac})"
    );
    assert_eq!(
        format_percent_vb(Num::Float(0.1234), -1, d, d, d, us),
        "12.34%"
    );
    assert_eq!(
        format_percent_vb(Num::Float(-0.1234), 1, d, Tristate::True, d, us),
        "(12.3%)"
    );
    assert_eq!(
        format_percent_vb(Num::Float(12.5), 0, d, d, d, us),
        "1,250%"
    );
    assert_eq!(Tristate::from_vb(-1), Tristate::True);
    assert_eq!(Tristate::from_vb(0), Tristate::False);
    assert_eq!(Tristate::from_vb(-2), Tristate::UseDefault);
}

#[test]
fn vb_format_datetime_named_formats() {
    let us = Culture::en_us();
    let v = dt(2009, 1, 5, 14, 3, 7);
    let midnight = dt(2009, 1, 5, 0, 0, 0);
    let time_only = dt(1, 1, 1, 14, 3, 7);
    assert_eq!(
        format_datetime_vb(v, NamedFormat::GeneralDate, us),
        "1/5/2009 2:03:07 PM"
    );
    assert_eq!(
        format_datetime_vb(midnight, NamedFormat::GeneralDate, us),
        "1/5/2009"
    );
    assert_eq!(
        format_datetime_vb(time_only, NamedFormat::GeneralDate, us),
        "2:03:07 PM"
    );
    assert_eq!(
        format_datetime_vb(v, NamedFormat::LongDate, us),
        "Monday, January 5, 2009"
    );
    assert_eq!(
        format_datetime_vb(v, NamedFormat::ShortDate, us),
        "1/5/2009"
    );
    assert_eq!(
        format_datetime_vb(v, NamedFormat::LongTime, us),
        "2:03:07 PM"
    );
    assert_eq!(format_datetime_vb(v, NamedFormat::ShortTime, us), "14:03");
    assert_eq!(NamedFormat::from_vb(4), Some(NamedFormat::ShortTime));
    assert_eq!(NamedFormat::from_vb(5), None);
}

#[test]
fn vb_format_named_styles() {
    let us = Culture::en_us();
    let v = Num::Float(12345.67);
    let ok = |r: Result<String, netfmt::FormatError>| r.expect("valid style");
    assert_eq!(ok(format_vb(v, "General Number", us)), "12345.67");
    assert_eq!(ok(format_vb(v, "Currency", us)), "$12,345.67");
    assert_eq!(ok(format_vb(v, "fixed", us)), "12345.67");
    assert_eq!(ok(format_vb(v, "Standard", us)), "12,345.67");
    assert_eq!(ok(format_vb(v, "Percent", us)), "1234567.00%");
    assert_eq!(ok(format_vb(v, "Scientific", us)), "1.23E+04");
    assert_eq!(ok(format_vb(Num::Int(0), "Yes/No", us)), "No");
    assert_eq!(ok(format_vb(dec("2"), "True/False", us)), "True");
    assert_eq!(ok(format_vb(Num::Float(0.4), "On/Off", us)), "Off");
    assert_eq!(ok(format_vb(dec("1234.5"), "#,##0.00", us)), "1,234.50");
    assert!(format_vb(Num::Float(1.0), "D", us).is_err());
    let d = dt(2009, 1, 5, 14, 3, 7);
    assert_eq!(
        ok(format_vb_datetime(d, "Long Date", us)),
        "Monday, January 5, 2009"
    );
    assert_eq!(ok(format_vb_datetime(d, "Short Time", us)), "14:03");
    assert_eq!(ok(format_vb_datetime(d, "Medium Date", us)), "05-Jan-09");
    assert_eq!(ok(format_vb_datetime(d, "yyyy-MM-dd", us)), "2009-01-05");
}

#[test]
fn group_sizes_follow_the_culture() {
    // en-IN style 3;2 grouping and a trailing 0 that stops grouping.
    let mut indian = Culture::en_us().clone();
    indian.number.group_sizes = &[3, 2];
    assert_eq!(
        netfmt::format_number(Num::Int(123_456_789), "N0", &indian).as_deref(),
        Ok("12,34,56,789")
    );
    assert_eq!(
        netfmt::format_number(Num::Int(123_456_789), "#,##0", &indian).as_deref(),
        Ok("12,34,56,789")
    );
    let mut once = Culture::en_us().clone();
    once.number.group_sizes = &[3, 0];
    assert_eq!(
        netfmt::format_number(Num::Int(123_456_789), "N0", &once).as_deref(),
        Ok("123456,789")
    );
    assert_eq!(
        netfmt::format_number(Num::Int(123_456_789), "#,#", &once).as_deref(),
        Ok("123456,789")
    );
}
