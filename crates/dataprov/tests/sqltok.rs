//! The `@name` → placeholder rewriter: quotes, comments, casts, dollar quotes, IN expansion.

use std::sync::Arc;

use dataprov::sqltok::{Dialect, find_keyword, parameter_names, rewrite};
use dataprov::{BoundParam, DataError};
use rdl::Value;

fn p(name: &str, value: Value) -> BoundParam {
    BoundParam {
        name: name.into(),
        value,
    }
}

fn arr(items: &[Value]) -> Value {
    Value::Array(Arc::from(items.to_vec()))
}

#[test]
fn literals_identifiers_and_comments_are_not_parameters() {
    let sql = "SELECT '@a', 'it''s @a', \"@a\" FROM t -- @a\n WHERE x = @a /* @a */";
    let r = rewrite(sql, &[p("a", Value::Int(7))], Dialect::Sqlite).unwrap();
    assert_eq!(
        r.sql,
        "SELECT '@a', 'it''s @a', \"@a\" FROM t -- @a\n WHERE x = ?1 /* @a */"
    );
    assert_eq!(r.values, vec![Value::Int(7)]);
}

#[test]
fn sqlite_brackets_and_backticks_quote_identifiers() {
    let sql = "SELECT [@a], `@a` FROM t WHERE y = @a";
    let r = rewrite(sql, &[p("@a", Value::from("v"))], Dialect::Sqlite).unwrap();
    assert_eq!(r.sql, "SELECT [@a], `@a` FROM t WHERE y = ?1");
}

#[test]
fn the_same_parameter_reuses_its_placeholder_case_insensitively() {
    let sql = "SELECT @A + @a, @b";
    let r = rewrite(
        sql,
        &[p("@a", Value::Int(1)), p("B", Value::Int(2))],
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(r.sql, "SELECT $1 + $1, $2");
    assert_eq!(r.values, vec![Value::Int(1), Value::Int(2)]);
}

#[test]
fn postgres_casts_dollar_quotes_e_strings_and_operators() {
    let sql = "SELECT @p::int, $fn$ @x $fn$, $$ @x $$, E'it\\'s @x', tsv @@ to_tsquery(@q), \
               arr @> ARRAY[@p]";
    let r = rewrite(
        sql,
        &[p("p", Value::from("5")), p("q", Value::from("cat"))],
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(
        r.sql,
        "SELECT $1::int, $fn$ @x $fn$, $$ @x $$, E'it\\'s @x', tsv @@ to_tsquery($2), \
         arr @> ARRAY[$1]"
    );
    assert_eq!(r.values, vec![Value::from("5"), Value::from("cat")]);
}

#[test]
fn postgres_block_comments_nest_sqlite_ones_do_not() {
    let sql = "/* outer /* inner @a */ still comment @b */ @c";
    let params = [
        p("a", Value::Int(1)),
        p("b", Value::Int(2)),
        p("c", Value::Int(3)),
    ];
    let pg = rewrite(sql, &params, Dialect::Postgres).unwrap();
    assert_eq!(pg.sql, "/* outer /* inner @a */ still comment @b */ $1");
    assert_eq!(pg.values, vec![Value::Int(3)]);
    let lite = rewrite(sql, &params, Dialect::Sqlite).unwrap();
    assert_eq!(lite.sql, "/* outer /* inner @a */ still comment ?1 */ ?2");
    assert_eq!(lite.values, vec![Value::Int(2), Value::Int(3)]);
}

#[test]
fn an_at_sign_inside_a_word_is_not_a_parameter() {
    let r = rewrite("SELECT user@host, @@version", &[], Dialect::Sqlite).unwrap();
    assert_eq!(r.sql, "SELECT user@host, @@version");
    assert!(r.values.is_empty());
}

#[test]
fn multi_value_parameters_expand_to_one_placeholder_per_value() {
    let sql = "SELECT * FROM t WHERE a = @a AND id IN (@ids) OR id2 IN (@ids)";
    let r = rewrite(
        sql,
        &[
            p("a", Value::Int(0)),
            p("ids", arr(&[Value::Int(1), Value::Int(2), Value::Int(3)])),
        ],
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(
        r.sql,
        "SELECT * FROM t WHERE a = $1 AND id IN ($2, $3, $4) OR id2 IN ($2, $3, $4)"
    );
    assert_eq!(
        r.values,
        vec![Value::Int(0), Value::Int(1), Value::Int(2), Value::Int(3)]
    );
    let lite = rewrite(
        "x IN (@ids)",
        &[p("ids", arr(&[Value::from("a")]))],
        Dialect::Sqlite,
    )
    .unwrap();
    assert_eq!(lite.sql, "x IN (?1)");
}

#[test]
fn an_empty_multi_value_parameter_is_null() {
    let r = rewrite("x IN (@ids)", &[p("ids", arr(&[]))], Dialect::Sqlite).unwrap();
    assert_eq!(r.sql, "x IN (NULL)");
    assert!(r.values.is_empty());
}

#[test]
fn a_missing_parameter_is_an_error_naming_it() {
    let e = rewrite("SELECT @nope", &[p("other", Value::Null)], Dialect::Sqlite).unwrap_err();
    assert!(matches!(&e, DataError::Parameter { name, .. } if name == "nope"));
    let msg = e.to_string();
    assert!(msg.contains("@nope"), "{msg}");
    assert!(msg.contains("QueryParameters"), "{msg}");
}

#[test]
fn unterminated_literals_and_odd_text_do_not_panic() {
    for sql in [
        "'abc @a",
        "\"abc @a",
        "/* @a",
        "-- @a",
        "$tag$ @a",
        "@",
        "@ ",
        "$",
        "[@a",
        "E'\\",
        "é@a",
        "SELECT 'é', @ñame",
    ] {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let _ = rewrite(sql, &[p("a", Value::Int(1)), p("ñame", Value::Int(2))], d);
            let _ = parameter_names(sql, d);
        }
    }
    let r = rewrite(
        "SELECT 'é', @ñame",
        &[p("ñame", Value::Int(2))],
        Dialect::Sqlite,
    )
    .unwrap();
    assert_eq!(r.sql, "SELECT 'é', ?1");
}

#[test]
fn parameter_names_lists_first_uses() {
    assert_eq!(
        parameter_names("SELECT @b, '@x', @a, @B", Dialect::Postgres),
        vec!["b".to_string(), "a".to_string()]
    );
}

#[test]
fn keywords_are_found_only_outside_literals() {
    let k = &["ATTACH", "DETACH"];
    assert_eq!(
        find_keyword("attach database 'x' as y", Dialect::Sqlite, k),
        Some("ATTACH")
    );
    assert_eq!(
        find_keyword(
            "SELECT 'attach', \"attach\", [detach] -- attach",
            Dialect::Sqlite,
            k
        ),
        None
    );
    assert_eq!(
        find_keyword("SELECT attached FROM t", Dialect::Sqlite, k),
        None
    );
    assert_eq!(
        find_keyword("SELECT 1; DETACH x", Dialect::Sqlite, k),
        Some("DETACH")
    );
}
