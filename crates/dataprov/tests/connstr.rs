//! Connect-string parsing and redaction.

use dataprov::connstr::{SslMode, parse_postgres, parse_sqlite, redact};
use dataprov::{Connection, Credentials};

#[test]
fn postgres_url() {
    let t =
        parse_postgres("postgres://rep%40x:p%3Ass@db.example:6543/sales?sslmode=disable").unwrap();
    assert_eq!(t.host, "db.example");
    assert_eq!(t.port, 6543);
    assert_eq!(t.user.as_deref(), Some("rep@x"));
    assert_eq!(t.password.as_deref().map(|p| p.as_str()), Some("p:ss"));
    assert_eq!(t.database.as_deref(), Some("sales"));
    assert_eq!(t.ssl_mode, SslMode::Disable);
    assert_eq!(t.endpoint(), "db.example:6543");
    let t = parse_postgres("postgresql://u@[::1]/d").unwrap();
    assert_eq!(t.host, "::1");
    assert_eq!(t.port, 5432);
    assert_eq!(t.endpoint(), "[::1]:5432");
    assert!(!format!("{t:?}").contains("p:ss"));
}

#[test]
fn libpq_pairs_with_quotes() {
    let t = parse_postgres(
        "host=10.0.0.5 port = 5433 dbname=sales user=rep password='it\\'s a secret' \
         sslmode=verify-full application_name=x",
    )
    .unwrap();
    assert_eq!(t.host, "10.0.0.5");
    assert_eq!(t.port, 5433);
    assert_eq!(t.database.as_deref(), Some("sales"));
    assert_eq!(t.user.as_deref(), Some("rep"));
    assert_eq!(
        t.password.as_deref().map(|p| p.as_str()),
        Some("it's a secret")
    );
    assert_eq!(t.ssl_mode, SslMode::VerifyFull);
    let e = parse_postgres("host=a password='open")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no closing quote"), "{e}");
}

#[test]
fn ado_net_spelling() {
    let t = parse_postgres(
        "Host=db:5434;Database=Sales DB;User ID=rep;Password=\"a;b\"\"c\";SSL Mode=Require;Pooling=true",
    )
    .unwrap();
    assert_eq!(t.host, "db");
    assert_eq!(t.port, 5434);
    assert_eq!(t.database.as_deref(), Some("Sales DB"));
    assert_eq!(t.user.as_deref(), Some("rep"));
    assert_eq!(t.password.as_deref().map(|p| p.as_str()), Some("a;b\"c"));
    assert_eq!(t.ssl_mode, SslMode::Require);
}

#[test]
fn bad_postgres_strings_say_what_to_write() {
    for (cs, needle) in [
        ("", "Host=dbserver"),
        ("Database=x;Username=u", "names no host"),
        ("Host=/var/run/postgresql;Username=u", "Unix socket"),
        ("host=a port=99999", "not a TCP port"),
        ("host=a sslmode=maybe", "sslmode 'maybe'"),
        ("host=a,b user=u", "several hosts"),
        ("host", "has no value"),
    ] {
        let e = parse_postgres(cs).unwrap_err().to_string();
        assert!(e.contains(needle), "{cs}: {e}");
        assert!(e.contains("PostgreSQL connection string"), "{e}");
    }
}

#[test]
fn sqlite_spellings() {
    assert_eq!(
        parse_sqlite("Data Source=/srv/data/a b.db;Mode=ReadOnly").unwrap(),
        "/srv/data/a b.db"
    );
    assert_eq!(parse_sqlite("DataSource=/x.db").unwrap(), "/x.db");
    assert_eq!(
        parse_sqlite("sqlite:///srv/x.db?mode=ro").unwrap(),
        "/srv/x.db"
    );
    assert_eq!(parse_sqlite("sqlite:/srv/a%20b.db").unwrap(), "/srv/a b.db");
    assert_eq!(parse_sqlite("/srv/x.db").unwrap(), "/srv/x.db");
    let e = parse_sqlite("Version=3").unwrap_err().to_string();
    assert!(e.contains("Data Source="), "{e}");
    assert!(parse_sqlite("  ").is_err());
}

#[test]
fn redaction_hides_every_password_spelling() {
    for cs in [
        "postgres://u:hunter22@h/d",
        "postgres://u@h/d?password=hunter22",
        "host=h user=u password=hunter22",
        "host=h user=u password='hunter22'",
        "Host=h;Username=u;Password=hunter22",
        "Host=h;Username=u;PWD=\"hunter22\"",
    ] {
        let r = redact(cs);
        assert!(!r.contains("hunter22"), "{cs} -> {r}");
        assert!(r.contains("***"), "{cs} -> {r}");
        let c = Connection {
            extension: "POSTGRESQL".into(),
            connect_string: cs.into(),
            credentials: Some(Credentials::new("u", "hunter22")),
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter22"), "{d}");
        assert!(
            d.contains("Username") || d.contains("user") || d.contains("u@"),
            "{d}"
        );
    }
    assert_eq!(redact("Data Source=/x.db"), "Data Source=/x.db");
}
