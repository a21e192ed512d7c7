//! What one streamed cell value costs to format: the general path (`format_vb_into` /
//! `format_vb_datetime_into`, which parse the format string on every call) against a
//! [`netfmt::Plan`] compiled once. Each iteration formats 1,000 values into a cleared
//! `String`, so ns/value is the reported time / 1000.
//!
//! Run: `cargo bench -p netfmt --bench plan`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netfmt::{Culture, Decimal, Num, Plan, PrimitiveDateTime};

const VALUES: usize = 1000;

/// Amounts like a sales column: cents, a few digits to millions, some negative.
fn decimals() -> Vec<Num> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..VALUES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let cents = (x % 1_000_000_000) as i64 - 100_000_000;
            Num::Decimal(Decimal::new(cents, 2))
        })
        .collect()
}

/// The same amounts as doubles (a SQLite REAL column, a Float field).
fn doubles() -> Vec<Num> {
    decimals()
        .into_iter()
        .map(|n| match n {
            Num::Decimal(d) => Num::Float(d.try_into().unwrap_or(0.0)),
            other => other,
        })
        .collect()
}

fn ints() -> Vec<Num> {
    (0..VALUES as i64)
        .map(|i| Num::Int(i * 7919 - 400_000))
        .collect()
}

fn dates() -> Vec<PrimitiveDateTime> {
    let start = time::macros::datetime!(2009-01-05 8:30);
    (0..VALUES as i64)
        .map(|i| start + time::Duration::minutes(i * 1439))
        .collect()
}

fn numbers(c: &mut Criterion, name: &str, style: &str, values: &[Num]) {
    let culture = Culture::en_us();
    let plan = Plan::number(style, culture);
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(values.len() as u64));
    let mut out = String::with_capacity(64 * VALUES);
    g.bench_function("format_vb_into", |b| {
        b.iter(|| {
            out.clear();
            for &n in values {
                if netfmt::format_vb_into(&mut out, black_box(n), style, culture).is_err() {
                    netfmt::to_string_in_into(&mut out, n, culture);
                }
            }
            black_box(out.len())
        })
    });
    g.bench_function("plan", |b| {
        b.iter(|| {
            out.clear();
            for &n in values {
                plan.format_num_into(&mut out, black_box(n));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let (decimals, ints, dates) = (decimals(), ints(), dates());
    numbers(c, "decimal_N2", "N2", &decimals);
    numbers(c, "decimal_#,##0.00", "#,##0.00", &decimals);
    numbers(c, "double_N2", "N2", &doubles());
    numbers(c, "int_N0", "N0", &ints);
    numbers(c, "int_D", "D", &ints);

    let culture = Culture::en_us();
    let plan = Plan::datetime("d", culture);
    let mut g = c.benchmark_group("date_d");
    g.throughput(Throughput::Elements(dates.len() as u64));
    let mut out = String::with_capacity(32 * VALUES);
    g.bench_function("format_vb_datetime_into", |b| {
        b.iter(|| {
            out.clear();
            for &dt in &dates {
                let _ = netfmt::format_vb_datetime_into(&mut out, black_box(dt), "d", culture);
            }
            black_box(out.len())
        })
    });
    g.bench_function("plan", |b| {
        b.iter(|| {
            out.clear();
            for &dt in &dates {
                let _ = plan.format_datetime_into(&mut out, black_box(dt));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
