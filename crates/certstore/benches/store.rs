//! Timings of the store's hot operations (no criterion: a plain `harness = false` bench
//! keeps the build light on a 2-core machine). Run: `cargo bench -p certstore`.
//!
//! Goals (issue 3): new-self-signed <= 50 ms per ECDSA certificate; `cert list` of 1,000
//! certificates <= 200 ms.

use std::time::{Duration, Instant};

use certstore::{CertStore, KeyType, SelfSignedOptions, StoreName};

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let n = samples.len();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    format!(
        "mean {:>8.2} ms  median {:>8.2} ms  min {:>8.2} ms  max {:>8.2} ms  (n={n})",
        ms(mean),
        ms(samples[n / 2]),
        ms(samples[0]),
        ms(samples[n - 1])
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time_new(store: &CertStore, key_type: KeyType, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let mut opts =
                SelfSignedOptions::new(vec![format!("bench{i}.test"), "127.0.0.1".into()]);
            opts.key_type = key_type;
            let t = Instant::now();
            store.new_self_signed(&opts).expect("new_self_signed");
            t.elapsed()
        })
        .collect()
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    let full = std::env::args().any(|a| a == "--bench");
    let (n_ec, n_rsa, n_list) = if full { (100, 20, 1000) } else { (3, 1, 20) };

    let dir = tempfile::tempdir().expect("tempdir");
    let store = CertStore::open(dir.path()).expect("open");
    println!(
        "new-self-signed ecdsa-p256: {}",
        stats(time_new(&store, KeyType::EcdsaP256, n_ec))
    );
    println!(
        "new-self-signed rsa-2048:   {}",
        stats(time_new(&store, KeyType::Rsa2048, n_rsa))
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let store = CertStore::open(dir.path()).expect("open");
    time_new(&store, KeyType::EcdsaP256, n_list);
    let runs: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let list = store.list(StoreName::My).expect("list");
            assert_eq!(list.len(), n_list);
            t.elapsed()
        })
        .collect();
    println!("list of {n_list} certificates:  {}", stats(runs));
}
