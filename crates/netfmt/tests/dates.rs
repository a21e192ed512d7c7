//! Date/time formatting against .NET Framework outputs: the examples of Microsoft's
//! "Standard date and time format strings" and "Custom date and time format strings" pages
//! (DateTime values of unspecified kind), and the shapes the sample reports use.

use netfmt::{Culture, FormatError, PrimitiveDateTime, datetime_default, format_datetime};
use time::{Date, Month, Time};

fn dt(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> PrimitiveDateTime {
    let month = Month::try_from(mo).expect("test month");
    PrimitiveDateTime::new(
        Date::from_calendar_date(y, month, d).expect("test date"),
        Time::from_hms_milli(h, mi, s, ms).expect("test time"),
    )
}

fn check(cases: &[(PrimitiveDateTime, &str, &str, &str)]) {
    let mut failures = Vec::new();
    for (value, format, cult, expected) in cases {
        let c = Culture::get(cult).unwrap_or_else(|| panic!("culture {cult} missing"));
        let got = format_datetime(*value, format, c);
        if got.as_deref() != Ok(*expected) {
            failures.push(format!(
                "{value}.ToString({format:?}, {cult}) = {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn standard_formats_match_the_documentation() {
    let v = dt(2009, 6, 15, 13, 45, 30, 0);
    check(&[
        (v, "d", "en-US", "6/15/2009"),
        (v, "d", "de-DE", "15.06.2009"),
        (v, "d", "en-GB", "15/06/2009"),
        (v, "d", "fr-FR", "15/06/2009"),
        (v, "d", "", "06/15/2009"),
        (v, "d", "nl-NL", "15-6-2009"),
        (v, "D", "ja-JP", "2009\u{5e74}6\u{6708}15\u{65e5}"),
        (v, "t", "ja-JP", "13:45"),
        (v, "D", "en-US", "Monday, June 15, 2009"),
        (v, "D", "de-DE", "Montag, 15. Juni 2009"),
        (v, "D", "fr-FR", "lundi 15 juin 2009"),
        (v, "D", "", "Monday, 15 June 2009"),
        (v, "f", "en-US", "Monday, June 15, 2009 1:45 PM"),
        (v, "F", "en-US", "Monday, June 15, 2009 1:45:30 PM"),
        (v, "F", "fr-FR", "lundi 15 juin 2009 13:45:30"),
        (v, "g", "en-US", "6/15/2009 1:45 PM"),
        (v, "g", "de-DE", "15.06.2009 13:45"),
        (v, "G", "en-US", "6/15/2009 1:45:30 PM"),
        (v, "G", "", "06/15/2009 13:45:30"),
        (v, "M", "en-US", "June 15"),
        (v, "m", "de-DE", "15. Juni"),
        (v, "O", "en-US", "2009-06-15T13:45:30.0000000"),
        (v, "R", "en-US", "Mon, 15 Jun 2009 13:45:30 GMT"),
        (v, "r", "de-DE", "Mon, 15 Jun 2009 13:45:30 GMT"),
        (v, "s", "en-US", "2009-06-15T13:45:30"),
        (v, "t", "en-US", "1:45 PM"),
        (v, "t", "de-DE", "13:45"),
        (v, "T", "en-US", "1:45:30 PM"),
        (v, "u", "en-US", "2009-06-15 13:45:30Z"),
        (v, "Y", "en-US", "June 2009"),
        (v, "y", "", "2009 June"),
        (v, "", "en-US", "6/15/2009 1:45:30 PM"),
    ]);
}

#[test]
fn custom_formats_match_the_documentation() {
    let v = dt(2008, 8, 29, 19, 27, 15, 18);
    let jan = dt(2008, 1, 2, 0, 5, 9, 0);
    check(&[
        (v, "%d", "en-US", "29"),
        (jan, "dd", "en-US", "02"),
        (v, "ddd", "en-US", "Fri"),
        (v, "dddd", "en-US", "Friday"),
        (v, "ddd d MMM", "fr-FR", "ven. 29 ao\u{fb}t"),
        (v, "dddd dd MMMM", "de-DE", "Freitag 29 August"),
        (v, "hh:mm:ss.f", "en-US", "07:27:15.0"),
        (v, "hh:mm:ss.ff", "en-US", "07:27:15.01"),
        (v, "hh:mm:ss.fff", "en-US", "07:27:15.018"),
        (v, "hh:mm:ss.F", "en-US", "07:27:15"),
        (v, "hh:mm:ss.FF", "en-US", "07:27:15.01"),
        (v, "hh:mm:ss.FFF", "en-US", "07:27:15.018"),
        (v, "%g", "en-US", "A.D."),
        (v, "%h", "en-US", "7"),
        (jan, "hh tt", "en-US", "12 AM"),
        (v, "%H", "en-US", "19"),
        (jan, "HH:mm", "en-US", "00:05"),
        (jan, "%m", "en-US", "5"),
        (jan, "%s", "en-US", "9"),
        (v, "%M", "en-US", "8"),
        (v, "MMM", "en-US", "Aug"),
        (v, "MMMM", "en-US", "August"),
        (v, "%t", "en-US", "P"),
        (v, "tt", "en-US", "PM"),
        (v, "%y", "en-US", "8"),
        (v, "yy", "en-US", "08"),
        (v, "yyy", "en-US", "2008"),
        (v, "yyyy", "en-US", "2008"),
        (v, "yyyyy", "en-US", "02008"),
        (v, "MM/dd/yyyy", "de-DE", "08.29.2008"),
        (v, "MM'/'dd'/'yyyy", "de-DE", "08/29/2008"),
        (v, "HH:mm:ss K", "en-US", "19:27:15 "),
        (v, "%z zz zzz", "en-US", "+0 +00 +00:00"),
        (v, "\\d\\a\\y d", "en-US", "day 29"),
        (v, "'Day' d \"of\" MMMM", "en-US", "Day 29 of August"),
        (v, "'It''s'", "en-US", "Its"),
        (v, "'a\\'b'", "en-US", "a'b"),
        // The shapes of the shared samples and issue 8.
        (v, "d MMMM yyyy", "en-US", "29 August 2008"),
        (v, "MM/dd/yyyy", "en-US", "08/29/2008"),
        (v, "dddd, MMMM d, yyyy", "en-US", "Friday, August 29, 2008"),
        (
            dt(2009, 1, 5, 0, 0, 0, 0),
            "G",
            "en-US",
            "1/5/2009 12:00:00 AM",
        ),
        (dt(9, 3, 1, 0, 0, 0, 0), "yyyy yy y", "en-US", "0009 09 9"),
    ]);
}

#[test]
fn datetime_default_is_general_long_time() {
    let v = dt(2009, 1, 5, 0, 0, 0, 0);
    assert_eq!(
        datetime_default(v, Culture::en_us()),
        "1/5/2009 12:00:00 AM"
    );
    assert_eq!(
        datetime_default(dt(2009, 1, 5, 18, 7, 1, 0), Culture::en_us()),
        "1/5/2009 6:07:01 PM"
    );
    assert_eq!(
        datetime_default(v, Culture::get("de-DE").expect("de-DE")),
        "05.01.2009 00:00:00"
    );
}

#[test]
fn bad_date_formats_are_errors() {
    let v = dt(2009, 1, 5, 0, 0, 0, 0);
    let us = Culture::en_us();
    for (format, invalid_specifier) in [
        ("Q", true),
        ("x", true),
        ("'open", false),
        ("dd\\", false),
        ("%", true),
        ("%%", false),
        ("dd %", false),
        ("ffffffff", false),
    ] {
        let got = format_datetime(v, format, us);
        match got {
            Err(FormatError::InvalidSpecifier { .. }) if invalid_specifier => {}
            Err(FormatError::InvalidDateTimeFormat { format: ref f, .. }) if !invalid_specifier => {
                assert_eq!(f, format);
            }
            other => panic!("{format:?}: unexpected {other:?}"),
        }
    }
    // Seven fraction digits are fine (.NET's 100 ns ticks).
    let t = PrimitiveDateTime::new(
        Date::from_calendar_date(2009, Month::January, 5).expect("date"),
        Time::from_hms_nano(1, 2, 3, 123_456_789).expect("time"),
    );
    assert_eq!(format_datetime(t, "fffffff", us).as_deref(), Ok("1234567"));
    assert_eq!(format_datetime(t, "FFFFFFF", us).as_deref(), Ok("1234567"));
}
