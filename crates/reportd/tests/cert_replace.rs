//! `reportctl cert import ... --replace THUMBPRINT` (a certbot deploy hook): the new
//! certificate is imported and every binding of the old one moved to it in one operation,
//! applied live; `openssl s_client` sees the new certificate. Wrong uses are refused with
//! the old certificate still served.

mod certsource;
mod common;

use std::path::Path;

use certsource::*;

#[test]
fn import_replace_rebinds_every_binding_of_the_old_certificate() {
    if !have(
        "openssl",
        "the test makes certificates and connects with it",
    ) {
        return;
    }
    let r = started();
    let inst = &r.inst;
    let dir = r.inst.tmp.path();
    let https = r.https();

    // The certificate in use: bound for the Web Service on 0.0.0.0:https.
    let (a_cert, a_key, ta) = openssl_pair(dir, "a", "localhost");
    inst.ok(&[
        "cert",
        "import",
        "--pem",
        a_cert.to_str().unwrap(),
        "--key",
        a_key.to_str().unwrap(),
    ]);
    inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &ta,
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    assert_eq!(served(https, "localhost").as_deref(), Some(ta.as_str()));

    // The renewed one replaces it: imported, rebound, served.
    let (b_cert, b_key, tb) = openssl_pair(dir, "b", "localhost");
    let out = inst.ok(&replace_args(&b_cert, &b_key, &ta));
    assert!(
        out.contains("Rebound") && out.contains(&format!("0.0.0.0:{https}")),
        "{out}"
    );
    assert!(out.contains("applied to the running server"), "{out}");
    assert_eq!(served(https, "localhost").as_deref(), Some(tb.as_str()));
    let list: serde_json::Value =
        serde_json::from_str(&inst.ok(&["ssl", "list", "--json"])).unwrap();
    assert!(list.to_string().contains(&tb), "{list}");
    assert!(!list.to_string().contains(&ta), "{list}");

    // The hook running twice (same certificate, old thumbprint no longer bound): fine.
    inst.ok(&replace_args(&b_cert, &b_key, &ta));
    assert_eq!(served(https, "localhost").as_deref(), Some(tb.as_str()));

    // A thumbprint no binding uses, for a certificate not bound either: refused, named.
    let (c_cert, c_key, tc) = openssl_pair(dir, "c", "localhost");
    let err = inst.fails(&replace_args(&c_cert, &c_key, &ta));
    assert!(
        err.contains(&format!("no SSL binding uses certificate {ta}")),
        "{err}"
    );
    assert_ne!(served(https, "localhost").as_deref(), Some(tc.as_str()));

    // A key that is not the certificate's: refused, the bound certificate still served.
    let err = inst.fails(&replace_args(&c_cert, &a_key, &tb));
    assert!(err.contains("does not match"), "{err}");
    assert_eq!(served(https, "localhost").as_deref(), Some(tb.as_str()));

    // The old certificate is no longer bound, so it can be removed; the new one cannot.
    inst.ok(&["cert", "remove", &ta]);
    inst.fails(&["cert", "remove", &tb]);
}

/// `cert import --pem CERT --key KEY --replace OLD`.
fn replace_args<'a>(cert: &'a Path, key: &'a Path, old: &'a str) -> [&'a str; 8] {
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    [
        "cert",
        "import",
        "--pem",
        cert,
        "--key",
        key,
        "--replace",
        old,
    ]
}
