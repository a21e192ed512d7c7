//! Random format strings and inputs never panic and give bounded output (the charter's
//! "no panics on any input"). A fixed-seed xorshift PRNG keeps runs reproducible.

use netfmt::{
    Culture, Num, PrimitiveDateTime, Tristate, format_datetime, format_number, format_percent_vb,
    parse_datetime, parse_number,
};
use rust_decimal::Decimal;
use time::{Date, Month, Time};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[char] = &[
    '0', '#', '.', ',', '%', '\u{2030}', 'E', 'e', '+', '-', ';', '\'', '"', '\\', ':', '/', 'd',
    'M', 'y', 'H', 'h', 'm', 's', 'f', 'F', 't', 'K', 'z', 'g', 'C', 'N', 'P', 'X', 'D', 'G', 'R',
    '1', '9', ' ', 'a', '\u{e9}', '(', ')',
];

fn random_format(rng: &mut Rng) -> String {
    let len = rng.below(24);
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect()
}

fn values() -> Vec<Num> {
    vec![
        Num::Int(0),
        Num::Int(-1),
        Num::Int(i64::MIN),
        Num::Int(i64::MAX),
        Num::Float(0.0),
        Num::Float(-0.0),
        Num::Float(1.5e308),
        Num::Float(-4.9e-324),
        Num::Float(f64::NAN),
        Num::Float(123.456),
        Num::Decimal(Decimal::MAX),
        Num::Decimal(Decimal::MIN),
        Num::Decimal(Decimal::new(1, 28)),
        Num::Decimal(Decimal::new(-150, 2)),
    ]
}

#[test]
fn random_numeric_formats_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cultures: Vec<&Culture> = Culture::names().filter_map(Culture::get).collect();
    for round in 0..20_000 {
        let format = random_format(&mut rng);
        let n = values()[round % values().len()];
        let culture = cultures[rng.below(cultures.len())];
        if let Ok(s) = format_number(n, &format, culture) {
            // Bound: digits of the value (≤ 330 for doubles) plus a few per format char.
            assert!(
                s.len() <= 400 + format.len() * 40,
                "{n:?} {format:?}: {} bytes",
                s.len()
            );
        }
        let digits = rng.below(200) as i32 - 50;
        let _ = format_percent_vb(
            n,
            digits,
            Tristate::UseDefault,
            Tristate::True,
            Tristate::False,
            culture,
        );
    }
    // Every standard letter with every precision.
    for letter in ('A'..='Z').chain('a'..='z') {
        for p in ["", "0", "5", "99", "100", "-1"] {
            for n in values() {
                let _ = format_number(n, &format!("{letter}{p}"), Culture::en_us());
            }
        }
    }
}

#[test]
fn random_datetime_formats_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let dates = [
        PrimitiveDateTime::new(
            Date::from_calendar_date(1, Month::January, 1).expect("date"),
            Time::MIDNIGHT,
        ),
        PrimitiveDateTime::new(
            Date::from_calendar_date(9999, Month::December, 31).expect("date"),
            Time::from_hms_nano(23, 59, 59, 999_999_999).expect("time"),
        ),
        PrimitiveDateTime::new(
            Date::from_calendar_date(-50, Month::March, 3).expect("date"),
            Time::from_hms(12, 0, 0).expect("time"),
        ),
    ];
    for round in 0..20_000 {
        let format = random_format(&mut rng);
        let _ = format_datetime(dates[round % dates.len()], &format, Culture::en_us());
    }
    let long_year = "y".repeat(150);
    assert!(format_datetime(dates[1], &long_year, Culture::en_us()).is_ok());
}

#[test]
fn random_parse_inputs_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let chars: Vec<char> = "0123456789 .,:/-+()$\u{20ac}eEAPMampTZJanuary\u{a0}\u{e4}"
        .chars()
        .collect();
    for _ in 0..20_000 {
        let len = rng.below(30);
        let s: String = (0..len).map(|_| chars[rng.below(chars.len())]).collect();
        for name in ["en-US", "de-DE", "fr-FR"] {
            let culture = Culture::get(name).expect("culture");
            let _ = parse_number(&s, culture);
            let _ = parse_datetime(&s, culture);
        }
    }
}
