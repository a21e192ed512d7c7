//! Numeric formatting against .NET Framework outputs: the examples of Microsoft's "Standard
//! numeric format strings" and "Custom numeric format strings" pages (the NLS-era tables,
//! i.e. what .NET Framework prints), the shapes the shared sample reports use, and the
//! Framework-specific rules (15-digit doubles, signless zero, section fallback).

// The documentation's literals are kept as written (e.g. -1234567890.12345678 for `R`).
#![allow(clippy::excessive_precision)]

use std::str::FromStr;

use netfmt::{Culture, FormatError, Num, format_number, to_string_default, to_string_in};
use rust_decimal::Decimal;

fn dec(s: &str) -> Num {
    Num::Decimal(Decimal::from_str(s).expect("test decimal literal"))
}

fn f(v: f64) -> Num {
    Num::Float(v)
}

fn i(v: i64) -> Num {
    Num::Int(v)
}

fn culture(name: &str) -> &'static Culture {
    Culture::get(name).unwrap_or_else(|| panic!("culture {name} missing"))
}

/// (value, format, culture, expected)
fn check(cases: &[(Num, &str, &str, &str)]) {
    let mut failures = Vec::new();
    for (n, format, cult, expected) in cases {
        let got = format_number(*n, format, culture(cult));
        if got.as_deref() != Ok(*expected) {
            failures.push(format!(
                "{n:?}.ToString({format:?}, {cult}) = {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn standard_formats_match_the_documentation_table() {
    check(&[
        (f(123.456), "C", "en-US", "$123.46"),
        (f(123.456), "C", "fr-FR", "123,46 \u{20ac}"),
        (f(-123.456), "C3", "en-US", "($123.456)"),
        (f(-123.456), "C3", "fr-FR", "-123,456 \u{20ac}"),
        (i(1234), "D", "en-US", "1234"),
        (i(-1234), "D6", "en-US", "-001234"),
        (f(1052.0329112756), "E", "en-US", "1.052033E+003"),
        (f(1052.0329112756), "e", "fr-FR", "1,052033e+003"),
        (f(-1052.0329112756), "e2", "en-US", "-1.05e+003"),
        (f(-1052.0329112756), "E2", "fr-FR", "-1,05E+003"),
        (f(1234.567), "F", "en-US", "1234.57"),
        (f(1234.567), "F", "de-DE", "1234,57"),
        (i(1234), "F1", "en-US", "1234.0"),
        (i(1234), "F1", "de-DE", "1234,0"),
        (f(-1234.56), "F4", "en-US", "-1234.5600"),
        (f(-1234.56), "F4", "de-DE", "-1234,5600"),
        (f(-123.456), "G", "en-US", "-123.456"),
        (f(123.4546), "G4", "en-US", "123.5"),
        (f(-1.234567890e-25), "G", "en-US", "-1.23456789E-25"),
        (f(1234.567), "N", "en-US", "1,234.57"),
        (i(1234), "N1", "en-US", "1,234.0"),
        (f(-1234.56), "N3", "en-US", "-1,234.560"),
        (f(1234.567), "N", "de-DE", "1.234,57"),
        (i(1), "P", "en-US", "100.00 %"),
        (i(1), "P", "fr-FR", "100,00 %"),
        (f(-0.39678), "P1", "en-US", "-39.7 %"),
        (f(-0.39678), "P1", "fr-FR", "-39,7 %"),
        (f(123456789.12345678), "R", "en-US", "123456789.12345678"),
        (f(-1234567890.12345678), "R", "en-US", "-1234567890.1234567"),
        (i(255), "X", "en-US", "FF"),
        (i(-1), "x", "en-US", "ffffffffffffffff"),
        (i(255), "x4", "en-US", "00ff"),
        (f(123.456), "C", "ja-JP", "\u{a5}123"),
        (f(-123.456), "C3", "ja-JP", "-\u{a5}123.456"),
        (f(-1234.5), "C", "nl-NL", "\u{20ac} -1.234,50"),
        // NumberFormatInfo class page example (Decimal, en-US).
        (dec("1345.6538"), "C2", "en-US", "$1,345.65"),
        (dec("1345.6538"), "E1", "en-US", "1.3E+003"),
        (dec("1345.6538"), "F", "en-US", "1345.65"),
        (dec("1345.6538"), "G3", "en-US", "1.35E+03"),
        (dec("1345.6538"), "N", "en-US", "1,345.65"),
        (dec("1921651.16"), "E1", "en-US", "1.9E+006"),
        (dec("1921651.16"), "G3", "en-US", "1.92E+06"),
        // Invariant culture: the generic currency sign and `n %`.
        (f(1234.5), "C", "", "\u{a4}1,234.50"),
        (f(0.2468013), "P", "", "24.68 %"),
    ]);
}

#[test]
fn ssrs_framework_specific_outputs() {
    check(&[
        // SSRS on .NET Framework: parentheses for negative currency (.NET 5+ ICU: -$1,234.56).
        (dec("-1234.56"), "C", "en-US", "($1,234.56)"),
        (f(1234.5678), "N2", "en-US", "1,234.57"),
        (f(0.1234), "P1", "en-US", "12.3 %"),
        // A value that rounds to zero loses its sign (Framework; Core 3.0+ prints -0.00).
        (f(-0.0001), "0.00", "en-US", "0.00"),
        (f(-0.001), "F2", "en-US", "0.00"),
        (f(-0.001), "C", "en-US", "$0.00"),
        (f(-0.1), "0", "en-US", "0"),
        (dec("-0.1"), "0", "en-US", "0"),
        // Doubles are cut to 15 digits first, then rounded half away from zero.
        (f(2.675), "F2", "en-US", "2.68"),
        (f(1.005), "N2", "en-US", "1.01"),
        (f(0.125), "F2", "en-US", "0.13"),
        (f(-0.5), "0", "en-US", "-1"),
        (f(123456789012345678.0), "0", "en-US", "123456789012346000"),
        (f(0.1 + 0.2), "R", "en-US", "0.30000000000000004"),
        (f(0.1), "R", "en-US", "0.1"),
        // Decimal keeps its full precision.
        (
            dec("12345678901234567890.123456789"),
            "N3",
            "en-US",
            "12,345,678,901,234,567,890.123",
        ),
        (dec("0.5"), "F0", "en-US", "1"),
        (dec("-2.5"), "F0", "en-US", "-3"),
        // Not standard formats (more than two digits, or a non-digit) are custom formats.
        (i(5), "N-1", "en-US", "N-1"),
        (i(5), "N123", "en-US", "N123"),
        (i(5), "N10", "en-US", "5.0000000000"),
        (i(5), "N99", "en-US", &format!("5.{}", "0".repeat(99))),
        (i(12345), "D8", "en-US", "00012345"),
        (i(-5), "G", "en-US", "-5"),
        (i(123456789), "G3", "en-US", "1.23E+08"),
        (i(123), "E2", "en-US", "1.23E+002"),
        (i(-1234567), "N0", "en-US", "-1,234,567"),
        (f(1e15), "", "en-US", "1E+15"),
        (f(123456789012345.0), "", "en-US", "123456789012345"),
        (f(0.0001), "", "en-US", "0.0001"),
        (f(0.00001), "", "en-US", "1E-05"),
        (f(f64::NAN), "N2", "en-US", "NaN"),
        (f(f64::INFINITY), "C", "en-US", "Infinity"),
        (f(f64::NEG_INFINITY), "0.00", "en-US", "-Infinity"),
        (f(1234.5), "E0", "en-US", "1E+003"),
        (f(0.0), "E2", "en-US", "0.00E+000"),
        (f(-0.0), "", "en-US", "0"),
        (f(9.995), "N2", "en-US", "10.00"),
        (f(999999.999), "C", "en-US", "$1,000,000.00"),
        (dec("-0.004"), "C", "en-US", "$0.00"),
        (f(-12.5), "P0", "de-DE", "-1.250 %"),
        (f(-1234.5), "C", "de-DE", "-1.234,50 \u{20ac}"),
        (f(-1234.5), "C", "en-GB", "-\u{a3}1,234.50"),
        (f(1234567.5), "N1", "fr-FR", "1\u{a0}234\u{a0}567,5"),
    ]);
}

#[test]
fn custom_formats_match_the_documentation_examples() {
    check(&[
        (f(123.0), "00000", "en-US", "00123"),
        (f(1.2), "0.00", "", "1.20"),
        (f(1.2), "00.00", "", "01.20"),
        (f(0.56), "0.0", "", "0.6"),
        (f(1234567890.0), "0,0", "", "1,234,567,890"),
        (f(1234.5678), "0,0.000", "", "1,234.568"),
        (f(1.2), "#.##", "", "1.2"),
        (f(123.0), "#####", "", "123"),
        (f(123456.0), "[##-##-##]", "", "[12-34-56]"),
        (f(1234567890.0), "#", "", "1234567890"),
        (f(1234567890.0), "(###) ###-####", "", "(123) 456-7890"),
        (f(1234567890.0), "#,#", "", "1,234,567,890"),
        (f(1234567890.0), "#,##0,,", "", "1,235"),
        (f(1234567890.0), "#,,,", "", "1"),
        (f(1234567890.0), "#,##0,,,", "", "1"),
        (f(0.086), "#0.##%", "", "8.6%"),
        (f(0.00354), "#0.## \u{2030}", "", "3.54 \u{2030}"),
        (f(86000.0), "0.###E+0", "", "8.6E+4"),
        (f(86000.0), "0.###E+000", "", "8.6E+004"),
        (f(86000.0), "0.###E-000", "", "8.6E004"),
        (
            f(123.0),
            "\\#\\#\\# ##0 dollars and \\0\\0 cents \\#\\#\\#",
            "",
            "### 123 dollars and 00 cents ###",
        ),
        (f(1234.0), "##;(##)", "", "1234"),
        (f(-1234.0), "##;(##)", "", "(1234)"),
        (f(0.0), "##;(##);**Zero**", "", "**Zero**"),
        (f(9.3), "##.0 %", "", "930.0 %"),
        (f(9.3), "##.0 \\%", "", "9.3 %"),
        (f(9.3), "##.0 '%'", "", "9.3 %"),
        (f(0.0), "#", "", ""),
        (f(0.0), "0", "", "0"),
        (f(-5.0), "abc", "", "-abc"),
        (f(1.2), "00.00", "de-DE", "01,20"),
        // The specifier table of the custom-format page.
        (f(1234.5678), "00000", "", "01235"),
        (f(0.45678), "0.00", "en-US", "0.46"),
        (f(0.45678), "0.00", "fr-FR", "0,46"),
        (f(1234.5678), "#####", "", "1235"),
        (f(0.45678), "#.##", "en-US", ".46"),
        (f(0.45678), "#.##", "fr-FR", ",46"),
        (i(2147483647), "##,#", "en-US", "2,147,483,647"),
        (i(2147483647), "##,#", "es-ES", "2.147.483.647"),
        (i(2147483647), "#,#,,", "en-US", "2,147"),
        (i(2147483647), "#,#,,", "es-ES", "2.147"),
        (f(0.3697), "%#0.00", "en-US", "%36.97"),
        (f(0.3697), "##.0 %", "en-US", "37.0 %"),
        (f(0.03697), "#0.00\u{2030}", "en-US", "36.97\u{2030}"),
        (f(987654.0), "#0.0e0", "", "98.8e4"),
        (f(1503.92311), "0.0##e+00", "", "1.504e+03"),
        (f(1.8901385E-16), "0.0e+00", "", "1.9e-16"),
        (f(987654.0), "\\###00\\#", "", "#987654#"),
        (i(68), "# ' degrees'", "", "68  degrees"),
        (i(68), "#' degrees'", "", "68 degrees"),
        (f(12.345), "#0.0#;(#0.0#);-\\0-", "", "12.35"),
        (f(0.0), "#0.0#;(#0.0#);-\\0-", "", "-0-"),
        (f(-12.345), "#0.0#;(#0.0#);-\\0-", "", "(12.35)"),
        (f(12.345), "#0.0#;(#0.0#)", "", "12.35"),
        (f(0.0), "#0.0#;(#0.0#)", "", "0.0"),
        (f(-12.345), "#0.0#;(#0.0#)", "", "(12.35)"),
        (i(68), "# \u{b0}", "", "68 \u{b0}"),
        (i(1000), "#,#", "", "1,000"),
        (i(100_000_000), "0,,", "", "100"),
        (i(1_000_000_000), "#,0,,", "", "1,000"),
    ]);
}

#[test]
fn custom_formats_of_the_sample_reports() {
    check(&[
        (dec("1234567.891"), "#,###,##0.##", "en-US", "1,234,567.89"),
        (dec("0.5"), "#,###,##0.##", "en-US", "0.5"),
        (dec("12"), "#,###,##0.##", "en-US", "12"),
        (i(-5), "'$'#,0.00;('$'#,0.00)", "en-US", "($5.00)"),
        (dec("1234.5"), "'$'#,0.00;('$'#,0.00)", "en-US", "$1,234.50"),
        (dec("0"), "'$'#,0.00;('$'#,0.00)", "en-US", "$0.00"),
        // Rounds to zero in the negative section: the positive section formats it, unsigned.
        (dec("-0.001"), "'$'#,0.00;('$'#,0.00)", "en-US", "$0.00"),
        (dec("-0.001"), "0.00;(0.00);zero", "en-US", "zero"),
        (f(0.4567), "0.00%", "en-US", "45.67%"),
        (f(1234567890.0), "#,##0,,\"M\"", "en-US", "1,235M"),
        // Empty negative section: the positive one, with a minus sign.
        (f(-12.0), "0.0;;zero", "en-US", "-12.0"),
        (f(0.0), "0.0;neg", "en-US", "0.0"),
    ]);
}

#[test]
fn bad_standard_specifiers_are_format_errors() {
    let us = Culture::en_us();
    for (n, fmt) in [
        (f(1.5), "D"),
        (f(1.5), "X2"),
        (dec("1.5"), "R"),
        (dec("1.5"), "D"),
        (i(5), "R"),
        (i(5), "Z"),
        (f(1.5), "K9"),
    ] {
        match format_number(n, fmt, us) {
            Err(FormatError::InvalidSpecifier { format, .. }) => assert_eq!(format, fmt),
            other => panic!("{n:?} {fmt:?}: expected InvalidSpecifier, got {other:?}"),
        }
    }
    let err = format_number(f(1.5), "D", us).expect_err("D on Double is invalid");
    assert!(err.to_string().contains("\"D\""), "{err}");
}

#[test]
fn default_to_string_matches_framework() {
    assert_eq!(to_string_default(dec("1.50")), "1.50");
    assert_eq!(to_string_default(dec("0.00")), "0.00");
    assert_eq!(to_string_default(dec("-3")), "-3");
    assert_eq!(to_string_default(dec("100")), "100");
    assert_eq!(to_string_default(f(0.1 + 0.2)), "0.3");
    assert_eq!(
        to_string_default(f(123456789012345678.0)),
        "1.23456789012346E+17"
    );
    assert_eq!(to_string_default(f(1e16)), "1E+16");
    assert_eq!(to_string_default(f(1.0 / 3.0)), "0.333333333333333");
    assert_eq!(to_string_default(f(-2.5)), "-2.5");
    assert_eq!(to_string_default(f(100.0)), "100");
    assert_eq!(
        to_string_default(i(-9_223_372_036_854_775_808)),
        "-9223372036854775808"
    );
    assert_eq!(to_string_in(f(-2.5), culture("de-DE")), "-2,5");
}

#[test]
fn cultures_are_found_by_name() {
    assert_eq!(culture("EN-us").name, "en-US");
    assert_eq!(culture("de").name, "de-DE");
    assert_eq!(culture("").name, "");
    assert_eq!(Culture::invariant().name, "");
    assert_eq!(Culture::en_us().number.currency_symbol, "$");
    assert!(Culture::get("xx-YY").is_none());
    assert_eq!(Culture::get_or_en_us("xx-YY").name, "en-US");
    assert_eq!(Culture::get_or_en_us("ja-jp").name, "ja-JP");
    assert_eq!(Num::from(5), Num::Int(5));
    assert_eq!(Num::from(1.5), Num::Float(1.5));
    assert!(Culture::names().any(|n| n == "fr-FR"));
}
