//! Unit tests for the expression language: exact VB results per operator/function family,
//! with a test double of the engine's [`Context`].

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use time::macros::datetime;

use super::agg::{Accumulator, aggregate};
use super::*;
use crate::Value;

/// A stand-in for the engine: one row of fields, parameters, globals, and aggregates
/// computed over a fixed list of rows with the real accumulators.
#[derive(Default)]
struct Fake {
    fields: HashMap<String, Value>,
    params: HashMap<String, (Vec<Value>, Vec<String>, bool)>,
    rows: Vec<HashMap<String, Value>>,
    items: HashMap<String, Value>,
    code: Option<CodeInstance>,
    culture: Option<&'static str>,
}

impl Fake {
    fn new() -> Self {
        let mut f = Fake::default();
        f.fields.insert("Name".into(), Value::str("Ann"));
        f.fields.insert("Qty".into(), Value::Int(3));
        f.fields
            .insert("Price".into(), Value::Decimal(Decimal::new(1250, 2)));
        f.fields.insert("Empty".into(), Value::Null);
        f.params.insert(
            "Region".into(),
            (
                vec![Value::str("N"), Value::str("S")],
                vec!["North".into(), "South".into()],
                true,
            ),
        );
        f.params.insert(
            "Year".into(),
            (vec![Value::Int(2024)], vec!["2024".into()], false),
        );
        for (n, p) in [(1, "0.1"), (2, "0.2"), (3, "0.3")] {
            let mut r = HashMap::new();
            r.insert("Qty".to_string(), Value::Int(n));
            r.insert("Price".to_string(), Value::Decimal(p.parse().unwrap()));
            f.rows.push(r);
        }
        f.items.insert("Total".into(), Value::Int(42));
        f
    }

    fn with_code(mut self, src: &str) -> Self {
        let (m, w) = CodeModule::parse(src);
        assert!(w.is_empty(), "unexpected warnings: {w:?}");
        self.code = Some(CodeInstance::new(Arc::new(m)));
        self
    }
}

/// The row context the fake engine positions on while aggregating.
struct Row<'a>(&'a HashMap<String, Value>, &'a Fake);

impl Context for Row<'_> {
    fn field(&self, name: &str) -> Result<Value, EvalError> {
        self.0.get(name).cloned().ok_or(EvalError::NotFound {
            what: "field",
            name: name.into(),
        })
    }
    fn global(&self, name: &str) -> Result<Value, EvalError> {
        self.1.global(name)
    }
}

impl Context for Fake {
    fn field(&self, name: &str) -> Result<Value, EvalError> {
        self.fields.get(name).cloned().ok_or(EvalError::NotFound {
            what: "field",
            name: name.into(),
        })
    }
    fn field_is_missing(&self, name: &str) -> bool {
        !self.fields.contains_key(name)
    }
    fn parameter(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<usize>,
    ) -> Result<Value, EvalError> {
        let (vals, labels, multi) = self.params.get(name).ok_or(EvalError::NotFound {
            what: "parameter",
            name: name.into(),
        })?;
        let pick = |all: Vec<Value>| -> Result<Value, EvalError> {
            match index {
                Some(i) => all.get(i).cloned().ok_or(EvalError::Argument {
                    func: name.into(),
                    message: "index".into(),
                }),
                None if *multi => Ok(Value::Array(all.into())),
                None => Ok(all.first().cloned().unwrap_or(Value::Null)),
            }
        };
        match prop {
            ParamProp::Value => pick(vals.clone()),
            ParamProp::Label => pick(labels.iter().map(|l| Value::str(l.as_str())).collect()),
            ParamProp::Count => Ok(Value::Int(vals.len() as i64)),
            ParamProp::IsMultiValue => Ok(Value::Bool(*multi)),
        }
    }
    fn global(&self, name: &str) -> Result<Value, EvalError> {
        match name {
            "ExecutionTime" => Ok(Value::DateTime(datetime!(2024-03-15 14:30:05))),
            "PageNumber" => Ok(Value::Int(2)),
            "TotalPages" => Ok(Value::Int(5)),
            "ReportName" => Ok(Value::str("Sales")),
            "RenderFormat.Name" => Ok(Value::str("HTML5")),
            _ => Err(EvalError::NotFound {
                what: "global",
                name: name.into(),
            }),
        }
    }
    fn user(&self, name: &str) -> Result<Value, EvalError> {
        match name {
            "UserID" => Ok(Value::str("DOMAIN\\ann")),
            "Language" => Ok(Value::str("en-US")),
            _ => Err(EvalError::NotFound {
                what: "user",
                name: name.into(),
            }),
        }
    }
    fn report_item(&self, name: &str) -> Result<Value, EvalError> {
        self.items.get(name).cloned().ok_or(EvalError::NotFound {
            what: "report item",
            name: name.into(),
        })
    }
    fn variable(&self, name: &str) -> Result<Value, EvalError> {
        if name == "Rate" {
            Ok(Value::Float(0.5))
        } else {
            Err(EvalError::NotFound {
                what: "variable",
                name: name.into(),
            })
        }
    }
    fn aggregate(&self, call: &AggregateCall) -> Result<Value, EvalError> {
        if let Scope::Named(s) = &call.scope
            && s != "DataSet1"
        {
            return Err(EvalError::Context(format!(
                "the scope '{s}' does not exist"
            )));
        }
        let mut acc = Accumulator::new(call.func);
        for r in &self.rows {
            let v = match &call.arg {
                Some(e) => eval(e, &Row(r, self))?,
                None => Value::Null,
            };
            acc.push(&v)?;
        }
        Ok(acc.finish())
    }
    fn row_number(&self, _scope: &Scope) -> Result<Value, EvalError> {
        Ok(Value::Int(7))
    }
    fn previous(&self, expr: &Expr, _scope: &Scope) -> Result<Value, EvalError> {
        eval(expr, &Row(&self.rows[0], self))
    }
    fn in_scope(&self, scope: &str) -> bool {
        scope == "Group1"
    }
    fn level(&self, _scope: &Scope) -> Result<Value, EvalError> {
        Ok(Value::Int(1))
    }
    fn lookup(&self, call: &LookupCall) -> Result<Value, EvalError> {
        let key = eval(&call.source, self)?;
        let mut hits = Vec::new();
        for r in &self.rows {
            if eval(&call.destination, &Row(r, self))? == key {
                hits.push(eval(&call.result, &Row(r, self))?);
            }
        }
        Ok(match call.kind {
            LookupKind::Lookup => hits.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(hits.into()),
        })
    }
    fn code(&self) -> Option<&CodeInstance> {
        self.code.as_ref()
    }
    fn culture(&self) -> &str {
        self.culture.unwrap_or("en-US")
    }
}

fn ev(src: &str) -> Result<Value, EvalError> {
    let e = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    eval(&e, &Fake::new())
}

fn v(src: &str) -> Value {
    ev(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn st(src: &str) -> String {
    match v(src) {
        Value::Str(s) => s.to_string(),
        other => panic!("{src}: expected a string, got {other:?}"),
    }
}

fn dec(s: &str) -> Value {
    Value::Decimal(s.parse().unwrap())
}

fn dt(y: i32, m: u8, d: u8, h: u8, mi: u8, s: u8) -> Value {
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
    Value::DateTime(time::PrimitiveDateTime::new(
        date,
        time::Time::from_hms(h, mi, s).unwrap(),
    ))
}

#[test]
fn literals() {
    assert_eq!(v(r#""a""b""#), Value::str("a\"b"));
    assert_eq!(v("12"), Value::Int(12));
    assert_eq!(v("1.5"), Value::Float(1.5));
    assert_eq!(v("1.50D"), dec("1.50"));
    assert_eq!(v("1.5@"), dec("1.5"));
    assert_eq!(v("2R"), Value::Float(2.0));
    assert_eq!(v("&HFF"), Value::Int(255));
    assert_eq!(v("1e3"), Value::Float(1000.0));
    assert_eq!(v("#1/31/2024#"), dt(2024, 1, 31, 0, 0, 0));
    assert_eq!(v("#2024-01-31 13:05:00#"), dt(2024, 1, 31, 13, 5, 0));
    assert_eq!(v("#1/31/2024 1:05 PM#"), dt(2024, 1, 31, 13, 5, 0));
    assert_eq!(v("true"), Value::Bool(true));
    assert_eq!(v("FALSE"), Value::Bool(false));
    assert_eq!(v("nothing"), Value::Null);
    assert_eq!(v("vbCrLf"), Value::str("\r\n"));
}

#[test]
fn arithmetic_and_promotion() {
    assert_eq!(v("1 + 2 * 3"), Value::Int(7));
    assert_eq!(v("(1 + 2) * 3"), Value::Int(9));
    assert_eq!(v("10 \\ 3"), Value::Int(3));
    assert_eq!(v("-7 \\ 2"), Value::Int(-3));
    assert_eq!(v("7 Mod 3"), Value::Int(1));
    assert_eq!(v("-7 Mod 3"), Value::Int(-1));
    assert_eq!(v("7.5 Mod 2"), Value::Float(1.5));
    assert_eq!(v("10 / 4"), Value::Float(2.5));
    assert_eq!(v("1D / 3D"), dec("0.3333333333333333333333333333"));
    assert_eq!(v("10D / 4"), dec("2.5"));
    assert_eq!(v("0.1D + 0.2D"), dec("0.3"));
    assert_eq!(v("1.5D + 1.5"), Value::Float(3.0));
    assert_eq!(v("2 ^ 10"), Value::Float(1024.0));
    assert_eq!(v("-2 ^ 2"), Value::Float(-4.0));
    assert_eq!(v("2 ^ 3 ^ 2"), Value::Float(64.0));
    assert_eq!(
        v("9223372036854775807 + 1"),
        Value::Float(9223372036854775808.0)
    );
    assert_eq!(v("\"3\" + 4"), Value::Float(7.0));
    assert_eq!(v("Nothing + 1"), Value::Int(1));
    assert_eq!(v("-(3)"), Value::Int(-3));
    assert_eq!(v("True + 1"), Value::Int(0));
}

#[test]
fn division_by_zero_is_an_error_value() {
    assert_eq!(ev("1 / 0"), Err(EvalError::DivideByZero));
    assert_eq!(ev("1D / 0"), Err(EvalError::DivideByZero));
    assert_eq!(ev("5 \\ 0"), Err(EvalError::DivideByZero));
    assert_eq!(ev("5 Mod 0"), Err(EvalError::DivideByZero));
    // IIf evaluates both sides, as SSRS does.
    assert_eq!(ev("IIf(True, 1, 1/0)"), Err(EvalError::DivideByZero));
    assert_eq!(v("If(True, 1, 1/0)"), Value::Int(1));
}

#[test]
fn concatenation() {
    assert_eq!(v(r#""a" & Nothing"#), Value::str("a"));
    assert_eq!(v(r#""n=" & 5"#), Value::str("n=5"));
    assert_eq!(v(r#""x" & 1.5D & True"#), Value::str("x1.5True"));
    assert_eq!(v(r#""a" + "b""#), Value::str("ab"));
    assert_eq!(v(r#"1 & 2"#), Value::str("12"));
    assert_eq!(v(r#""d: " & #1/31/2024#"#), Value::str("d: 1/31/2024"));
    assert_eq!(
        v(r#""t: " & #1/31/2024 13:05:00#"#),
        Value::str("t: 1/31/2024 1:05:00 PM")
    );
    assert_eq!(v(r#""x" & 0.1 + 0.2"#), Value::str("x0.3"));
    assert_eq!(st("CStr(1/3)"), "0.333333333333333");
    assert_eq!(st("CStr(1e20)"), "1E+20");
    assert_eq!(st("CStr(0.00001)"), "1E-05");
    assert_eq!(st("CStr(123456789012345678)"), "123456789012345678");
}

#[test]
fn comparisons() {
    assert_eq!(v("1 = 1.0"), Value::Bool(true));
    assert_eq!(v("1 < 1.5D"), Value::Bool(true));
    assert_eq!(v(r#""a" < "b""#), Value::Bool(true));
    assert_eq!(v(r#""B" < "a""#), Value::Bool(true)); // binary compare
    assert_eq!(v(r#""" = Nothing"#), Value::Bool(true));
    assert_eq!(v("0 = Nothing"), Value::Bool(true));
    assert_eq!(v(r#""10" = 10"#), Value::Bool(true));
    assert_eq!(v("#1/1/2024# < #1/2/2024#"), Value::Bool(true));
    assert_eq!(v("1 <> 2"), Value::Bool(true));
    assert_eq!(v("2 >= 2 And 3 <= 2"), Value::Bool(false));
    assert_eq!(v("Nothing Is Nothing"), Value::Bool(true));
    assert_eq!(v("Fields!Empty.Value Is Nothing"), Value::Bool(true));
    assert_eq!(v("Fields!Name.Value IsNot Nothing"), Value::Bool(true));
    assert_eq!(v(r#""abc" Like "a*""#), Value::Bool(true));
    assert_eq!(v(r#""a1c" Like "a#c""#), Value::Bool(true));
    assert_eq!(v(r#""abc" Like "a?d""#), Value::Bool(false));
    assert_eq!(v(r#""bat" Like "[a-c]at""#), Value::Bool(true));
    assert_eq!(v(r#""hat" Like "[!a-c]at""#), Value::Bool(true));
    assert!(ev(r#""abc" < 1"#).is_err());
}

#[test]
fn logic() {
    assert_eq!(v("True And False"), Value::Bool(false));
    assert_eq!(v("True Or False"), Value::Bool(true));
    assert_eq!(v("True Xor True"), Value::Bool(false));
    assert_eq!(v("Not True"), Value::Bool(false));
    assert_eq!(v("Not 1 = 2"), Value::Bool(true));
    assert_eq!(v("12 And 10"), Value::Int(8));
    assert_eq!(v("Not 0"), Value::Int(-1));
    assert_eq!(v("False AndAlso 1/0 = 1"), Value::Bool(false));
    assert_eq!(v("True OrElse 1/0 = 1"), Value::Bool(true));
    assert_eq!(ev("False And 1/0 = 1"), Err(EvalError::DivideByZero));
}

#[test]
fn conditionals() {
    assert_eq!(v(r#"IIf(1 > 2, "a", "b")"#), Value::str("b"));
    assert_eq!(v(r#"Switch(1 > 2, "a", 2 > 1, "b")"#), Value::str("b"));
    assert_eq!(v(r#"Switch(False, "a")"#), Value::Null);
    assert_eq!(v(r#"Choose(2, "a", "b", "c")"#), Value::str("b"));
    assert_eq!(v(r#"Choose(9, "a")"#), Value::Null);
}

#[test]
fn conversions() {
    assert_eq!(v("CInt(2.5)"), Value::Int(2));
    assert_eq!(v("CInt(3.5)"), Value::Int(4));
    assert_eq!(v("CInt(-2.5)"), Value::Int(-2));
    assert_eq!(v("CInt(\"12\")"), Value::Int(12));
    assert_eq!(v("CInt(True)"), Value::Int(-1));
    assert!(matches!(
        ev("CInt(3000000000)"),
        Err(EvalError::Overflow { .. })
    ));
    assert_eq!(v("CLng(3000000000.5)"), Value::Int(3000000000));
    assert_eq!(v("CDbl(\"1,234.5\")"), Value::Float(1234.5));
    assert_eq!(v("CDec(\"1.50\")"), dec("1.50"));
    assert_eq!(v("CDec(0.1)"), dec("0.1"));
    assert_eq!(v("CBool(\"true\")"), Value::Bool(true));
    assert_eq!(v("CBool(0)"), Value::Bool(false));
    assert_eq!(v("CDate(\"2024-01-31\")"), dt(2024, 1, 31, 0, 0, 0));
    assert_eq!(v("CDate(\"January 31, 2024\")"), dt(2024, 1, 31, 0, 0, 0));
    assert_eq!(v("CStr(Nothing)"), Value::str(""));
    assert_eq!(v("CStr(True)"), Value::str("True"));
    assert_eq!(v("CSng(1.5)"), Value::Float(1.5));
    assert_eq!(v("CShort(7.5)"), Value::Int(8));
    assert_eq!(v("CByte(255)"), Value::Int(255));
    assert!(ev("CByte(256)").is_err());
    assert_eq!(v("Val(\"12abc\")"), Value::Float(12.0));
    assert_eq!(v("Val(\" 1 2.5x\")"), Value::Float(12.5));
    assert_eq!(v("CType(\"5\", Integer)"), Value::Int(5));
    assert_eq!(
        ev("CDbl(\"abc\")"),
        Err(EvalError::Conversion {
            from: "string",
            to: "Double",
            value: "abc".into()
        })
    );
    assert_eq!(v("Int(-2.5)"), Value::Float(-3.0));
    assert_eq!(v("Fix(-2.5)"), Value::Float(-2.0));
}

#[test]
fn strings() {
    assert_eq!(v(r#"Len("héllo")"#), Value::Int(5));
    assert_eq!(v("Len(Nothing)"), Value::Int(0));
    assert_eq!(st(r#"Left("abcdef", 2)"#), "ab");
    assert_eq!(st(r#"Right("abcdef", 2)"#), "ef");
    assert_eq!(st(r#"Left("ab", 5)"#), "ab");
    assert_eq!(st(r#"Mid("abcdef", 2, 3)"#), "bcd");
    assert_eq!(st(r#"Mid("abcdef", 4)"#), "def");
    assert!(ev(r#"Mid("abc", 0)"#).is_err());
    assert_eq!(st(r#"UCase("abc")"#), "ABC");
    assert_eq!(st(r#"LCase("ABC")"#), "abc");
    assert_eq!(st(r#"Trim("  a b  ")"#), "a b");
    assert_eq!(st(r#"LTrim("  a ")"#), "a ");
    assert_eq!(st(r#"RTrim("  a ")"#), "  a");
    assert_eq!(v(r#"InStr("abcabc", "c")"#), Value::Int(3));
    assert_eq!(v(r#"InStr(4, "abcabc", "c")"#), Value::Int(6));
    assert_eq!(v(r#"InStr("abc", "z")"#), Value::Int(0));
    assert_eq!(v(r#"InStr("ABC", "b", 1)"#), Value::Int(2));
    assert_eq!(v(r#"InStrRev("abcabc", "b")"#), Value::Int(5));
    assert_eq!(st(r#"Replace("a-b-c", "-", "+")"#), "a+b+c");
    assert_eq!(st(r#"Replace("a-b-c", "-", "+", 1, 1)"#), "a+b-c");
    assert_eq!(st("Space(3)"), "   ");
    assert_eq!(st(r#"StrDup(3, "x")"#), "xxx");
    assert_eq!(st(r#"StrReverse("abc")"#), "cba");
    assert_eq!(st(r#"Join(Split("a,b,c", ","), "|")"#), "a|b|c");
    assert_eq!(v(r#"Split("a,b,c", ",")(1)"#), Value::str("b"));
    assert_eq!(v(r#"Split("a,b,c", ",").Length"#), Value::Int(3));
    assert!(ev("Space(100000000)").is_err());
    assert_eq!(v(r#"Asc("A")"#), Value::Int(65));
    assert_eq!(st("Chr(66)"), "B");
    assert_eq!(v(r#"StrComp("a", "b")"#), Value::Int(-1));
}

#[test]
fn members() {
    assert_eq!(st(r#""abc".ToUpper()"#), "ABC");
    assert_eq!(st(r#""ABC".ToLower"#), "abc");
    assert_eq!(v(r#""abc".Length"#), Value::Int(3));
    assert_eq!(st(r#""  x ".Trim()"#), "x");
    assert_eq!(st(r#""abcdef".Substring(2)"#), "cdef");
    assert_eq!(st(r#""abcdef".Substring(1, 2)"#), "bc");
    assert!(ev(r#""abc".Substring(5)"#).is_err());
    assert_eq!(v(r#""abcdef".Contains("cd")"#), Value::Bool(true));
    assert_eq!(v(r#""abcdef".StartsWith("ab")"#), Value::Bool(true));
    assert_eq!(v(r#""abcdef".EndsWith("ef")"#), Value::Bool(true));
    assert_eq!(v(r#""abcdef".IndexOf("d")"#), Value::Int(3));
    assert_eq!(st(r#""a.b".Replace(".", ",")"#), "a,b");
    assert_eq!(v(r#""a;b".Split(";")(1)"#), Value::str("b"));
    assert_eq!(st(r#""7".PadLeft(3, "0")"#), "007");
    assert_eq!(st("(1234.5).ToString(\"N2\")"), "1,234.50");
    assert_eq!(st("Fields!Price.Value.ToString()"), "12.50");
    assert_eq!(st("Fields!Qty.Value.ToString(\"000\")"), "003");
    assert_eq!(st("#1/31/2024#.ToString(\"yyyy-MM-dd\")"), "2024-01-31");
    assert_eq!(st("#1/31/2024#.ToString()"), "1/31/2024 12:00:00 AM");
    assert_eq!(v("#1/31/2024#.AddDays(1)"), dt(2024, 2, 1, 0, 0, 0));
    assert_eq!(v("#1/31/2024#.AddMonths(1)"), dt(2024, 2, 29, 0, 0, 0));
    assert_eq!(v("#1/31/2024#.Year"), Value::Int(2024));
    assert!(matches!(
        ev("Fields!Empty.Value.ToUpper()"),
        Err(EvalError::Argument { .. })
    ));
    assert!(matches!(
        ev("(1).Frobnicate()"),
        Err(EvalError::Unsupported { .. })
    ));
}

#[test]
fn formatting() {
    assert_eq!(st(r#"Format(1234.5, "N2")"#), "1,234.50");
    assert_eq!(st(r#"Format(-1234.56, "C")"#), "($1,234.56)");
    assert_eq!(st(r#"Format(1234.56, "C")"#), "$1,234.56");
    assert_eq!(st(r#"Format(0.1234, "P1")"#), "12.3 %");
    assert_eq!(st(r#"Format(42, "D5")"#), "00042");
    assert_eq!(st(r#"Format(2.5, "F0")"#), "3");
    assert_eq!(
        st(r##"Format(1234567.891, "#,###,##0.##")"##),
        "1,234,567.89"
    );
    assert_eq!(st(r##"Format(-5, "'$'#,0.00;('$'#,0.00)")"##), "($5.00)");
    assert_eq!(st(r##"Format(5, "'$'#,0.00;('$'#,0.00)")"##), "$5.00");
    assert_eq!(st(r#"Format(0.5, "0%")"#), "50%");
    assert_eq!(st(r#"Format(#1/5/2024#, "d MMMM yyyy")"#), "5 January 2024");
    assert_eq!(
        st(r#"Format(#1/5/2024 13:07:09#, "dddd, MMM dd HH:mm:ss tt")"#),
        "Friday, Jan 05 13:07:09 PM"
    );
    assert_eq!(st(r#"Format(#1/5/2024#, "D")"#), "Friday, January 5, 2024");
    assert_eq!(st(r#"FormatNumber(1234.567)"#), "1,234.57");
    assert_eq!(st(r#"FormatNumber(1234.567, 1)"#), "1,234.6");
    assert_eq!(st(r#"FormatNumber(-0.5, 2, 0)"#), "-.50");
    assert_eq!(st(r#"FormatCurrency(-3)"#), "($3.00)");
    assert_eq!(st(r#"FormatPercent(0.256)"#), "25.60%");
    assert_eq!(
        st(r#"FormatDateTime(#1/5/2024 13:07:09#, DateFormat.ShortDate)"#),
        "1/5/2024"
    );
    assert_eq!(
        st(r#"FormatDateTime(#1/5/2024 13:07:09#, DateFormat.LongTime)"#),
        "1:07:09 PM"
    );
    assert_eq!(
        st(r#"FormatDateTime(#1/5/2024 13:07:09#)"#),
        "1/5/2024 1:07:09 PM"
    );
    assert_eq!(
        st(r#"String.Format("{0:N1} of {1}", 2.25, "x")"#),
        "2.3 of x"
    );
    assert_eq!(st(r#"Format(1.5D)"#), "1.5");
}

#[test]
fn dates() {
    assert_eq!(
        v(r#"DateAdd("m", 1, #1/31/2024#)"#),
        dt(2024, 2, 29, 0, 0, 0)
    );
    assert_eq!(
        v("DateAdd(DateInterval.Month, 1, #1/31/2024#)"),
        dt(2024, 2, 29, 0, 0, 0)
    );
    assert_eq!(
        v(r#"DateAdd("yyyy", 1, #2/29/2024#)"#),
        dt(2025, 2, 28, 0, 0, 0)
    );
    assert_eq!(
        v(r#"DateAdd("d", -1, #3/1/2024#)"#),
        dt(2024, 2, 29, 0, 0, 0)
    );
    assert_eq!(
        v(r#"DateAdd("ww", 2, #1/1/2024#)"#),
        dt(2024, 1, 15, 0, 0, 0)
    );
    assert_eq!(
        v(r#"DateAdd("h", 25, #1/1/2024#)"#),
        dt(2024, 1, 2, 1, 0, 0)
    );
    assert_eq!(
        v(r#"DateAdd("n", 90, #1/1/2024#)"#),
        dt(2024, 1, 1, 1, 30, 0)
    );
    assert_eq!(
        v(r#"DateAdd("s", 61, #1/1/2024#)"#),
        dt(2024, 1, 1, 0, 1, 1)
    );
    assert_eq!(
        v(r#"DateAdd("q", 1, #1/31/2024#)"#),
        dt(2024, 4, 30, 0, 0, 0)
    );
    assert_eq!(
        v(r#"DateDiff("d", #1/1/2024#, #3/1/2024#)"#),
        Value::Int(60)
    );
    assert_eq!(
        v(r#"DateDiff("m", #1/31/2024#, #2/1/2024#)"#),
        Value::Int(1)
    );
    assert_eq!(
        v(r#"DateDiff("yyyy", #12/31/2023#, #1/1/2024#)"#),
        Value::Int(1)
    );
    assert_eq!(
        v(r#"DateDiff("h", #1/1/2024#, #1/2/2024 6:00 AM#)"#),
        Value::Int(30)
    );
    assert_eq!(
        v(r#"DateDiff("ww", #1/6/2024#, #1/7/2024#)"#),
        Value::Int(1)
    );
    assert_eq!(v(r#"DatePart("q", #5/15/2024#)"#), Value::Int(2));
    assert_eq!(v(r#"DatePart("y", #2/1/2024#)"#), Value::Int(32));
    assert_eq!(v(r#"DatePart("ww", #1/7/2024#)"#), Value::Int(2));
    assert_eq!(v(r#"DatePart("w", #1/7/2024#)"#), Value::Int(1));
    assert_eq!(v("DateSerial(2024, 13, 1)"), dt(2025, 1, 1, 0, 0, 0));
    assert_eq!(v("DateSerial(2024, 3, 0)"), dt(2024, 2, 29, 0, 0, 0));
    assert_eq!(v("TimeSerial(13, 5, 0)"), dt(1, 1, 1, 13, 5, 0));
    assert_eq!(
        v(r#"DateValue("1/31/2024 10:00 AM")"#),
        dt(2024, 1, 31, 0, 0, 0)
    );
    assert_eq!(v("Year(#1/31/2024#)"), Value::Int(2024));
    assert_eq!(v("Month(#1/31/2024#)"), Value::Int(1));
    assert_eq!(v("Day(#1/31/2024#)"), Value::Int(31));
    assert_eq!(v("Hour(#1/31/2024 13:05:09#)"), Value::Int(13));
    assert_eq!(v("Minute(#1/31/2024 13:05:09#)"), Value::Int(5));
    assert_eq!(v("Second(#1/31/2024 13:05:09#)"), Value::Int(9));
    assert_eq!(st("MonthName(2)"), "February");
    assert_eq!(st("MonthName(2, True)"), "Feb");
    assert_eq!(st("WeekdayName(1)"), "Sunday");
    assert_eq!(st("WeekdayName(1, True, FirstDayOfWeek.Monday)"), "Mon");
    assert_eq!(v("Weekday(#1/31/2024#)"), Value::Int(4));
    assert_eq!(v("Now"), dt(2024, 3, 15, 14, 30, 5));
    assert_eq!(v("Now()"), dt(2024, 3, 15, 14, 30, 5));
    assert_eq!(v("Today"), dt(2024, 3, 15, 0, 0, 0));
    assert_eq!(v("DateTime.Now.Year"), Value::Int(2024));
}

#[test]
fn information() {
    assert_eq!(v("IsNothing(Fields!Empty.Value)"), Value::Bool(true));
    assert_eq!(v("IsNothing(Fields!Name.Value)"), Value::Bool(false));
    assert_eq!(v(r#"IsNumeric("12.5")"#), Value::Bool(true));
    assert_eq!(v(r#"IsNumeric("x")"#), Value::Bool(false));
    assert_eq!(v(r#"IsDate("2024-01-31")"#), Value::Bool(true));
    assert_eq!(v(r#"IsDate("nope")"#), Value::Bool(false));
    assert_eq!(v(r#"IsArray(Split("a", ","))"#), Value::Bool(true));
    assert_eq!(v("IsDBNull(Nothing)"), Value::Bool(false));
}

#[test]
fn math() {
    assert_eq!(v("Math.Abs(-3)"), Value::Int(3));
    assert_eq!(v("System.Math.Abs(-1.5D)"), dec("1.5"));
    assert_eq!(v("Math.Ceiling(1.2)"), Value::Float(2.0));
    assert_eq!(v("Math.Floor(-1.2)"), Value::Float(-2.0));
    assert_eq!(v("Math.Round(2.5)"), Value::Float(2.0));
    assert_eq!(v("Math.Round(3.5)"), Value::Float(4.0));
    assert_eq!(
        v("Math.Round(2.5, MidpointRounding.AwayFromZero)"),
        Value::Float(3.0)
    );
    assert_eq!(
        v("Math.Round(-2.5, MidpointRounding.AwayFromZero)"),
        Value::Float(-3.0)
    );
    assert_eq!(
        v("Math.Round(2.25D, 1, MidpointRounding.ToEven)"),
        dec("2.2")
    );
    assert_eq!(
        v("Math.Round(2.25D, 1, MidpointRounding.AwayFromZero)"),
        dec("2.3")
    );
    assert_eq!(
        v("Math.Round(2.5, 0, MidpointRounding.AwayFromZero)"),
        Value::Float(3.0)
    );
    assert_eq!(v("Math.Round(1.2345D, 2)"), dec("1.23"));
    assert_eq!(v("Math.Round(1.235D, 2)"), dec("1.24"));
    assert_eq!(v("Round(2.675, 2)"), Value::Float(2.68));
    assert_eq!(v("Math.Max(1, 2.5)"), Value::Float(2.5));
    assert_eq!(v("Math.Min(3, 2)"), Value::Int(2));
    assert_eq!(v("Math.Pow(2, 3)"), Value::Float(8.0));
    assert_eq!(v("Math.Sqrt(16)"), Value::Float(4.0));
    assert_eq!(v("Math.Sign(-4.2)"), Value::Int(-1));
    assert_eq!(v("Math.Truncate(-4.7)"), Value::Float(-4.0));
    assert_eq!(v("Math.Log10(1000)"), Value::Float(3.0));
    assert_eq!(v("Math.Log(Math.E)"), Value::Float(1.0));
    assert_eq!(v("Math.Exp(0)"), Value::Float(1.0));
    assert_eq!(v("Math.Sin(0)"), Value::Float(0.0));
    assert_eq!(v("Math.Cos(0)"), Value::Float(1.0));
    assert_eq!(v("Math.Tan(0)"), Value::Float(0.0));
    assert_eq!(v("Math.PI"), Value::Float(std::f64::consts::PI));
}

#[test]
fn collections() {
    assert_eq!(v("Fields!Name.Value"), Value::str("Ann"));
    assert_eq!(v("fields!Name.value"), Value::str("Ann"));
    assert_eq!(v(r#"Fields("Name").Value"#), Value::str("Ann"));
    assert_eq!(v("Fields!Nope.IsMissing"), Value::Bool(true));
    assert_eq!(v("Fields!Name.IsMissing"), Value::Bool(false));
    assert_eq!(v("Fields!Qty.Value * Fields!Price.Value"), dec("37.50"));
    assert_eq!(v("Parameters!Region.Value(1)"), Value::str("S"));
    assert_eq!(v("Parameters!Region.Label(0)"), Value::str("North"));
    assert_eq!(v("Parameters!Region.Count"), Value::Int(2));
    assert_eq!(v("Parameters!Region.IsMultiValue"), Value::Bool(true));
    assert_eq!(v("Parameters!Year.Value"), Value::Int(2024));
    assert_eq!(st(r#"Join(Parameters!Region.Label, ", ")"#), "North, South");
    assert_eq!(
        st(r#""Page " & Globals!PageNumber & " of " & Globals!TotalPages"#),
        "Page 2 of 5"
    );
    assert_eq!(v("Globals!RenderFormat.Name"), Value::str("HTML5"));
    assert_eq!(v("User!UserID"), Value::str("DOMAIN\\ann"));
    assert_eq!(v("User!Language"), Value::str("en-US"));
    assert_eq!(v("ReportItems!Total.Value + 1"), Value::Int(43));
    assert_eq!(v("Variables!Rate.Value"), Value::Float(0.5));
    assert_eq!(
        ev("Fields!Nope.Value"),
        Err(EvalError::NotFound {
            what: "field",
            name: "Nope".into()
        })
    );
    assert_eq!(
        v("Report.Parameters!Year.Value"),
        Value::Int(2024),
        "Report. prefix as Code blocks write it"
    );
}

#[test]
fn aggregates_through_the_context() {
    assert_eq!(v("Sum(Fields!Price.Value)"), dec("0.6"));
    assert_eq!(v("Sum(Fields!Qty.Value)"), Value::Int(6));
    assert_eq!(v(r#"Sum(Fields!Qty.Value, "DataSet1")"#), Value::Int(6));
    assert_eq!(v("Avg(Fields!Qty.Value)"), Value::Float(2.0));
    assert_eq!(v("Count(Fields!Qty.Value)"), Value::Int(3));
    assert_eq!(v("CountRows()"), Value::Int(3));
    assert_eq!(
        v("Max(Fields!Qty.Value) - Min(Fields!Qty.Value)"),
        Value::Int(2)
    );
    assert_eq!(
        v("First(Fields!Qty.Value) & Last(Fields!Qty.Value)"),
        Value::str("13")
    );
    assert_eq!(v("RowNumber(Nothing)"), Value::Int(7));
    assert_eq!(v("Previous(Fields!Qty.Value)"), Value::Int(1));
    assert_eq!(v(r#"InScope("Group1")"#), Value::Bool(true));
    assert_eq!(v("Level()"), Value::Int(1));
    assert_eq!(
        v(r#"Lookup(3, Fields!Qty.Value, Fields!Price.Value, "DataSet1")"#),
        dec("0.3")
    );
    assert!(matches!(
        ev(r#"Sum(Fields!Qty.Value, "Nope")"#),
        Err(EvalError::Context(_))
    ));
    let e = parse(r#"Sum(Fields!Qty.Value * Count(Fields!Qty.Value), "G") + RunningValue(Fields!Qty.Value, CountDistinct, Nothing)"#)
        .unwrap();
    let aggs = e.aggregates();
    assert_eq!(aggs.len(), 3);
    assert_eq!(aggs[0].func, AggFn::Sum);
    assert_eq!(aggs[0].scope, Scope::Named("G".into()));
    assert_eq!(aggs[0].id, 0);
    assert_eq!(aggs[1].func, AggFn::Count);
    assert_eq!(aggs[1].id, 1);
    assert_eq!(aggs[2].func, AggFn::CountDistinct);
    assert!(aggs[2].running);
    assert_eq!(aggs[2].scope, Scope::Nothing);
    let r = parse(r#"Count(Fields!X.Value, "G", Recursive)"#).unwrap();
    assert!(r.aggregates()[0].recursive);
    assert!(
        parse("Sum(1, Fields!X.Value)").is_err(),
        "a scope must be a constant"
    );
}

#[test]
fn accumulators() {
    let d = |s: &str| Value::Decimal(s.parse().unwrap());
    let vals = [d("0.1"), d("0.2"), Value::Null];
    assert_eq!(aggregate(AggFn::Sum, &vals).unwrap(), d("0.3"));
    assert_eq!(aggregate(AggFn::Sum, &[]).unwrap(), Value::Null);
    assert_eq!(aggregate(AggFn::Sum, &[Value::Null]).unwrap(), Value::Null);
    assert_eq!(aggregate(AggFn::Count, &vals).unwrap(), Value::Int(2));
    assert_eq!(aggregate(AggFn::CountRows, &vals).unwrap(), Value::Int(3));
    assert_eq!(aggregate(AggFn::Avg, &vals).unwrap(), d("0.15"));
    let ints = [Value::Int(i64::MAX), Value::Int(1)];
    assert_eq!(
        aggregate(AggFn::Sum, &ints).unwrap(),
        Value::Decimal(Decimal::from(i64::MAX) + Decimal::ONE)
    );
    assert_eq!(
        aggregate(AggFn::Sum, &[Value::Int(1), Value::Float(0.5)]).unwrap(),
        Value::Float(1.5)
    );
    let mixed = [
        Value::Int(2),
        Value::Int(4),
        Value::Int(4),
        Value::Int(4),
        Value::Int(5),
        Value::Int(5),
        Value::Int(7),
        Value::Int(9),
    ];
    assert_eq!(aggregate(AggFn::StDevP, &mixed).unwrap(), Value::Float(2.0));
    assert_eq!(aggregate(AggFn::VarP, &mixed).unwrap(), Value::Float(4.0));
    assert_eq!(
        aggregate(AggFn::Var, &mixed).unwrap(),
        Value::Float(32.0 / 7.0)
    );
    assert_eq!(
        aggregate(AggFn::StDev, &mixed).unwrap(),
        Value::Float((32.0f64 / 7.0).sqrt())
    );
    assert_eq!(
        aggregate(AggFn::CountDistinct, &mixed).unwrap(),
        Value::Int(5)
    );
    let decs = [d("1.5"), d("2.5"), d("4.0")];
    assert_eq!(
        aggregate(AggFn::VarP, &decs).unwrap(),
        d("1.0555555555555555555555555556")
    );
    assert_eq!(
        aggregate(AggFn::Var, &decs).unwrap(),
        d("1.5833333333333333333333333333")
    );
    assert_eq!(
        aggregate(AggFn::StDev, &decs).unwrap(),
        Value::Float(
            "1.5833333333333333333333333333"
                .parse::<f64>()
                .unwrap()
                .sqrt()
        )
    );
    assert_eq!(aggregate(AggFn::Var, &[d("1")]).unwrap(), Value::Null);
    assert_eq!(aggregate(AggFn::VarP, &[d("1")]).unwrap(), d("0"));
    assert_eq!(
        aggregate(AggFn::StDevP, &[Value::Int(3)]).unwrap(),
        Value::Float(0.0)
    );
    assert_eq!(
        aggregate(AggFn::CountDistinct, &[d("1.0"), d("1.00")]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        aggregate(AggFn::Min, &[Value::str("b"), Value::str("a")]).unwrap(),
        Value::str("a")
    );
    assert_eq!(aggregate(AggFn::Max, &mixed).unwrap(), Value::Int(9));
    assert_eq!(
        aggregate(AggFn::First, &[Value::Null, Value::Int(1)]).unwrap(),
        Value::Null
    );
    assert_eq!(aggregate(AggFn::Last, &mixed).unwrap(), Value::Int(9));
    assert!(aggregate(AggFn::Sum, &[Value::str("x")]).is_err());
    // RunningValue: the value after each push.
    let mut acc = Accumulator::new(AggFn::Sum);
    let mut running = Vec::new();
    for x in [1, 2, 3] {
        acc.push(&Value::Int(x)).unwrap();
        running.push(acc.value());
    }
    assert_eq!(running, vec![Value::Int(1), Value::Int(3), Value::Int(6)]);
}

#[test]
fn parse_errors_name_position_and_expectation() {
    assert_eq!(
        parse("1 +").unwrap_err(),
        ExprError::Syntax {
            offset: 3,
            expected: "a value (a literal, a name, or '(')".into(),
            found: "the end of the expression".into()
        }
    );
    let e = parse("(1 + 2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "at character 6: expected ')', found the end of the expression"
    );
    assert!(matches!(
        parse("Foo(1)"),
        Err(ExprError::UnknownName { offset: 0, .. })
    ));
    assert!(matches!(
        parse("\"abc"),
        Err(ExprError::Lexical { offset: 0, .. })
    ));
    assert!(matches!(
        parse("#13/45/2024#"),
        Err(ExprError::Lexical { .. })
    ));
    assert!(matches!(
        parse("1 2"),
        Err(ExprError::Syntax { offset: 2, .. })
    ));
    assert!(matches!(parse("Fields!"), Err(ExprError::Syntax { .. })));
}

#[test]
fn deep_expressions_are_refused_without_overflowing() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(
        parse(&deep).unwrap_err(),
        ExprError::TooDeep {
            offset: MAX_DEPTH as usize,
            limit: MAX_DEPTH
        }
    );
    let chain = vec!["1"; 100_000].join(" + ");
    assert!(matches!(parse(&chain), Err(ExprError::TooDeep { .. })));
    let nots = format!("{}True", "Not ".repeat(100_000));
    assert!(matches!(parse(&nots), Err(ExprError::TooDeep { .. })));
    let negs = format!("{}1", "-".repeat(100_000));
    assert!(matches!(parse(&negs), Err(ExprError::TooDeep { .. })));
    let calls = format!("{}1{}", "Len(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(parse(&calls), Err(ExprError::TooDeep { .. })));
    // Within the limit it parses and evaluates, on a 2 MB thread stack even unoptimised.
    let n = MAX_DEPTH as usize - 1;
    let worst = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let f = Fake::new();
            let ok = format!("{}1{}", "(".repeat(n), ")".repeat(n));
            assert_eq!(eval(&parse(&ok).unwrap(), &f).unwrap(), Value::Int(1));
            let long = vec!["1"; n].join(" + ");
            assert_eq!(
                eval(&parse(&long).unwrap(), &f).unwrap(),
                Value::Int(n as i64)
            );
            let calls = format!(
                "{}\"abc\"{}",
                "UCase(Trim(".repeat(n / 2),
                "))".repeat(n / 2)
            );
            assert_eq!(
                eval(&parse(&calls).unwrap(), &f).unwrap(),
                Value::str("ABC")
            );
            let aggs = format!("{}Fields!Qty.Value{}", "Sum(".repeat(n), ")".repeat(n));
            assert!(parse(&aggs).is_ok());
        })
        .unwrap()
        .join();
    assert!(
        worst.is_ok(),
        "a maximal expression overflowed a 2 MB stack"
    );
}

#[test]
fn line_continuation_comments_and_prefixes() {
    assert_eq!(v("1 + _\n 2"), Value::Int(3));
    assert_eq!(v("1 +\n 2"), Value::Int(3));
    assert_eq!(st("Microsoft.VisualBasic.Strings.Left(\"abc\", 1)"), "a");
    assert_eq!(st("Microsoft.VisualBasic.Left(\"abc\", 2)"), "ab");
    assert_eq!(v("Math.Abs(-1) ' a comment"), Value::Int(1));
}

#[test]
fn property_values() {
    assert_eq!(
        parse_property(" literal ").unwrap(),
        Expr::Literal(Value::str(" literal "))
    );
    assert_eq!(
        eval(&parse_property("=1+1").unwrap(), &Fake::new()).unwrap(),
        Value::Int(2)
    );
    assert!(parse("1").unwrap().is_constant());
    assert!(!parse("Fields!A.Value").unwrap().is_constant());
    assert!(!parse("Now").unwrap().is_constant());
    assert!(
        parse("ReportItems!X.Value & 1")
            .unwrap()
            .uses_report_items()
    );
}

const CODE: &str = r#"
' Helpers used by the report
Private total As Decimal = 0
Dim calls As Integer

Public Function Grade(ByVal score As Integer) As String
    Select Case score
        Case Is >= 90
            Return "A"
        Case 80 To 89
            Return "B"
        Case 70, 75
            Return "C"
        Case Else
            Return "F"
    End Select
End Function

Public Function Fact(n As Integer) As Long
    If n <= 1 Then Return 1
    Return n * Fact(n - 1)
End Function

Function SumTo(n)
    Dim s As Integer = 0
    For i As Integer = 1 To n
        s += i
    Next i
    SumTo = s
End Function

Function Evens(n As Integer) As String
    Dim out As String = ""
    For i = n To 0 Step -2
        If i = 0 Then
            Exit For
        ElseIf out = "" Then
            out = CStr(i)
        Else
            out = out & "," & i
        End If
    Next
    Return out
End Function

Function Words(s As String) As Integer
    Dim count As Integer = 0
    For Each w As String In Split(s, " ")
        If w.Length > 0 Then count = count + 1
    Next
    Return count
End Function

Function Countdown(n As Integer) As String
    Dim r As String = ""
    Do While n > 0
        r &= n
        n -= 1
    Loop
    While n < 2
        n = n + 1
    End While
    Return r & "|" & n
End Function

Function AddTotal(x As Decimal) As Decimal
    total = total + x
    calls += 1
    Return total
End Function

Function Calls() As Integer
    Return calls
End Function

Function Arr() As String
    Dim a(2) As String
    a(0) = "x"
    a(2) = "z"
    Dim b() As Integer = {3, 4}
    Return Join(a, "-") & b(1) & UBoundLike(b)
End Function

Function UBoundLike(b) As Integer
    Return b.Length - 1
End Function

Function Forever() As Integer
    Dim i As Integer = 0
    Do
        i = 1
    Loop
End Function

Function Recurse(n As Integer) As Integer
    Return Recurse(n + 1)
End Function

Function Half(x As Integer) As Integer
    Dim r As Integer = x / 2
    Return r
End Function

Function Param() As String
    Return Report.Parameters!Region.Label(1) & Globals!ReportName
End Function
"#;

#[test]
fn code_block() {
    let f = Fake::new().with_code(CODE);
    let run = |src: &str| eval(&parse(src).unwrap(), &f);
    assert_eq!(run("Code.Grade(95)").unwrap(), Value::str("A"));
    assert_eq!(run("Code.Grade(85)").unwrap(), Value::str("B"));
    assert_eq!(run("Code.Grade(75)").unwrap(), Value::str("C"));
    assert_eq!(run("Code.Grade(10)").unwrap(), Value::str("F"));
    assert_eq!(run("Code.Fact(10)").unwrap(), Value::Int(3628800));
    assert_eq!(run("Code.SumTo(100)").unwrap(), Value::Int(5050));
    assert_eq!(run("Code.Evens(6)").unwrap(), Value::str("6,4,2"));
    assert_eq!(run(r#"Code.Words("a b  c")"#).unwrap(), Value::Int(3));
    assert_eq!(run("Code.Countdown(3)").unwrap(), Value::str("321|2"));
    assert_eq!(run("Code.AddTotal(0.1D)").unwrap(), dec("0.1"));
    assert_eq!(run("Code.AddTotal(0.2)").unwrap(), dec("0.3"));
    assert_eq!(run("Code.Calls()").unwrap(), Value::Int(2));
    assert_eq!(run("Code.Arr()").unwrap(), Value::str("x--z41"));
    assert_eq!(run("Code.Half(5)").unwrap(), Value::Int(2));
    assert_eq!(run("Code.Param()").unwrap(), Value::str("SouthSales"));
    assert!(matches!(
        run("Code.Forever()"),
        Err(EvalError::Limit { .. })
    ));
    assert!(matches!(
        run("Code.Recurse(1)"),
        Err(EvalError::Limit { .. })
    ));
    assert!(matches!(
        run("Code.Nope()"),
        Err(EvalError::NotFound { .. })
    ));
    assert!(matches!(
        run("Code.Grade()"),
        Err(EvalError::Argument { .. })
    ));
    // A fresh instance (another render) starts from the initial module state.
    let g = Fake::new().with_code(CODE);
    assert_eq!(
        eval(&parse("Code.Calls()").unwrap(), &g).unwrap(),
        Value::Int(0)
    );
}

#[test]
fn code_outside_the_subset_is_an_error_value_and_a_warning() {
    let src = r#"
Public Function Good() As Integer
    Return 1
End Function

Public Function Risky() As Integer
    Try
        Return 1
    Catch ex As Exception
        Return 0
    End Try
End Function

Public Class Helper
    Public x As Integer
End Class

Function Broken(
End Function

Function AfterAll() As String
    Return "still here"
End Function
"#;
    let (m, warnings) = CodeModule::parse(src);
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("Risky") && w.message.contains("Try")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.message.contains("Class")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.message.contains("Broken")),
        "{warnings:?}"
    );
    let mut f = Fake::new();
    f.code = Some(CodeInstance::new(Arc::new(m)));
    assert_eq!(
        eval(&parse("Code.Good()").unwrap(), &f).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        eval(&parse("Code.AfterAll()").unwrap(), &f).unwrap(),
        Value::str("still here")
    );
    let e = eval(&parse("Code.Risky()").unwrap(), &f).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the Try statement in Code.Risky is not supported"
    );
    assert!(matches!(
        eval(&parse("Code.Broken()").unwrap(), &f),
        Err(EvalError::Unsupported { .. })
    ));
}

#[test]
fn culture_from_the_context() {
    let f = Fake {
        culture: Some("de-DE"),
        ..Fake::new()
    };
    let de = |src: &str| eval(&parse(src).unwrap(), &f).unwrap();
    assert_eq!(de(r#"Format(1234.5, "N2")"#), Value::str("1.234,50"));
    assert_eq!(de(r#"(1234.5).ToString("C")"#), Value::str("1.234,50 €"));
    assert_eq!(de(r#""x" & 1.5"#), Value::str("x1,5"));
    assert_eq!(de(r#"CDbl("1,5")"#), Value::Float(1.5));
    assert_eq!(de(r#"CDec("1.234,5")"#), dec("1234.5"));
    assert_eq!(de("MonthName(3)"), Value::str("März"));
    assert_eq!(de(r#"Format(#1/5/2024#, "d")"#), Value::str("05.01.2024"));
    assert!(matches!(
        eval(&parse(r#"(1).ToString("Z")"#).unwrap(), &f),
        Err(EvalError::Argument { .. })
    ));
    assert_eq!(
        convert::format(&Value::Float(0.5), "P0", "en-US").unwrap(),
        "50 %"
    );
    assert_eq!(
        convert::compare(&Value::Int(2), &dec("2.0")).unwrap(),
        Some(std::cmp::Ordering::Equal)
    );
}

/// A deterministic xorshift generator for the no-panic sweeps.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "1",
    "0",
    "-1",
    "2.5",
    "1.5D",
    "\"a\"",
    "\"\"",
    "\"é\"",
    "#1/31/2024#",
    "Nothing",
    "True",
    "(",
    ")",
    ",",
    " + ",
    " - ",
    " * ",
    " / ",
    " \\ ",
    " Mod ",
    " ^ ",
    " & ",
    " = ",
    " <> ",
    " < ",
    " >= ",
    " Like ",
    " Is ",
    " And ",
    " OrElse ",
    " Not ",
    "Fields!Qty.Value",
    "Fields!Name.Value",
    "Fields!Empty.Value",
    "Parameters!Region.Value(",
    "Globals!PageNumber",
    "IIf(",
    "Switch(",
    "Choose(",
    "CInt(",
    "CDec(",
    "CStr(",
    "CDate(",
    "Left(",
    "Mid(",
    "InStr(",
    "Replace(",
    "Split(",
    "Join(",
    "Format(",
    "FormatNumber(",
    "DateAdd(\"m\", ",
    "DateDiff(\"d\", ",
    "DatePart(\"ww\", ",
    "DateSerial(",
    "Math.Round(",
    "Math.Max(",
    "Sum(",
    "Count(",
    "RunningValue(",
    "Previous(",
    "Lookup(",
    ".ToString(",
    ".Length",
    ".Substring(",
    ".ToUpper()",
    "\"N2\"",
    "\"#,##0.00;(#)\"",
    "\"yyyy-MM-dd\"",
    "Code.Grade(",
    "Space(",
    "StrDup(",
    "9223372036854775807",
    "1e308",
    "-9223372036854775808",
    "é",
    "<é",
    "1é",
    "#",
    "[",
    "_\n",
    "'",
    "Level(",
    "InScope(\"x\")",
    "Val(",
    "Chr(",
    "Asc(",
];

#[test]
fn random_expressions_never_panic() {
    let f = Fake::new().with_code(CODE);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let n = 1 + rng.next() % 12;
        let src: String = (0..n).map(|_| rng.pick(FRAGMENTS)).collect();
        if let Ok(e) = parse(&src) {
            parsed += 1;
            let _ = eval(&e, &f);
        }
    }
    // The sweep must exercise the evaluator, not only the parser's error paths.
    assert!(
        parsed > 300,
        "only {parsed} of the random expressions parsed"
    );
    // Arbitrary bytes, including multi-byte characters next to operators and suffixes.
    let alphabet: Vec<char> = "1aé#\"(),.!_ \n<>=&@%Dd[]'".chars().collect();
    for _ in 0..5_000 {
        let n = rng.next() % 16;
        let src: String = (0..n)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        if let Ok(e) = parse(&src) {
            let _ = eval(&e, &f);
        }
        let _ = CodeModule::parse(&src);
    }
}

#[test]
fn random_code_blocks_never_panic() {
    const LINES: &[&str] = &[
        "Function F(x As Integer) As Integer",
        "Sub S()",
        "End Function",
        "End Sub",
        "Dim a As Integer = 1",
        "Dim s() As String = {\"a\", \"b\"}",
        "a = a + 1",
        "a += 2",
        "If a > 1 Then",
        "ElseIf a = 0 Then",
        "Else",
        "End If",
        "For i = 1 To 3",
        "Next",
        "For Each v In s",
        "Select Case a",
        "Case 1 To 3",
        "Case Is > 4",
        "Case Else",
        "End Select",
        "While a < 5",
        "End While",
        "Do",
        "Loop Until a > 3",
        "Return a",
        "Exit For",
        "Try",
        "Catch",
        "End Try",
        "Public Class C",
        "End Class",
        "F = 3",
        "ReDim Preserve s(5)",
        "s(1) = \"z\"",
        "Return Code.F(a)",
        "Return F(x - 1)",
    ];
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..3_000 {
        let n = 1 + rng.next() % 14;
        let src: Vec<&str> = (0..n).map(|_| rng.pick(LINES)).collect();
        let (m, _) = CodeModule::parse(&src.join("\n"));
        let mut f = Fake::new();
        f.code = Some(CodeInstance::new(Arc::new(m)));
        for call in ["Code.F(2)", "Code.S()"] {
            let _ = eval(&parse(call).unwrap(), &f);
        }
    }
}

#[test]
fn code_cannot_exhaust_memory() {
    let f = Fake::new().with_code(
        "Function Grow() As String\n    Dim s As String = \"ab\"\n    For i = 1 To 64\n        s = s & s\n    Next\n    Return s\nEnd Function\n\
         Function Big() As Integer\n    Dim a(100000000) As Integer\n    Return 1\nEnd Function\n",
    );
    assert!(matches!(
        eval(&parse("Code.Grow()").unwrap(), &f),
        Err(EvalError::Limit { .. })
    ));
    assert!(matches!(
        eval(&parse("Code.Big()").unwrap(), &f),
        Err(EvalError::Limit { .. })
    ));
}

#[test]
fn deep_code_recursion_fits_a_2mb_stack() {
    let worst = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let f = Fake::new().with_code(
                "Function R(n As Integer) As Integer\n    If n <= 0 Then\n        Return 0\n    Else\n        Select Case n\n            Case Else\n                For i = 1 To 1\n                    Return CInt(Trim(CStr(1 + IIf(n > 0, R(n - 1), 0))))\n                Next\n        End Select\n    End If\nEnd Function\n",
            );
            assert_eq!(eval(&parse("Code.R(12)").unwrap(), &f).unwrap(), Value::Int(12));
            // The deepest recursion either completes or stops at a bound, never overflows.
            let depth = i64::from(code::MAX_CALL_DEPTH) - 1;
            match eval(&parse(&format!("Code.R({depth})")).unwrap(), &f) {
                Ok(v) => assert_eq!(v, Value::Int(depth)),
                Err(e) => assert!(matches!(e, EvalError::Limit { .. }), "{e}"),
            }
            assert!(matches!(eval(&parse("Code.R(1000)").unwrap(), &f), Err(EvalError::Limit { .. })));
        })
        .unwrap()
        .join();
    assert!(worst.is_ok(), "deep Code recursion overflowed a 2 MB stack");
}

/// Every `=expression` of the shared sample reports parses (they are real SSRS reports).
#[test]
fn sample_report_expressions_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "samples missing at {}",
            dir.display()
        );
        println!("skipped: no samples at {}", dir.display());
        return;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rdl") {
            continue;
        }
        let xml = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        for node in doc.descendants().filter(|n| n.is_element()) {
            let Some(text) = node.text() else { continue };
            if node.children().any(|c| c.is_element()) {
                continue;
            }
            let text = text.trim_start();
            if let Some(src) = text.strip_prefix('=') {
                count += 1;
                if let Err(e) = parse(src) {
                    panic!(
                        "{}: <{}> {text:?}: {e}",
                        path.display(),
                        node.tag_name().name()
                    );
                }
            }
        }
    }
    assert!(count > 50, "only {count} expressions found");
    // A few of them, evaluated (the fake's page 2 of 5, row 7).
    assert_eq!(
        st(r#"="Page" & Space(1) & CStr(Globals!PageNumber) & Space(1) & "of" & Space(1) & CStr(Globals!TotalPages)"#.trim_start_matches('=')),
        "Page 2 of 5"
    );
    assert_eq!(
        st(r#"IIf(RowNumber(Nothing) MOD 2 = 0, "Grey", "White")"#),
        "White"
    );
    assert_eq!(
        st(r#"FormatDateTime(#1/5/2024#, Microsoft.VisualBasic.DateFormat.LongDate)"#),
        "Friday, January 5, 2024"
    );
    assert_eq!(
        v("0.04 * Sum(Fields!Price.Value) + Sum(Fields!Price.Value)"),
        Value::Float(0.624)
    );
}
