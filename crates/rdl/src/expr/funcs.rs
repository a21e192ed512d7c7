//! The VB runtime: functions (`CStr`, `Left`, `DateAdd`, `Format`, `Math.Round`...), members
//! of values (`.ToString("N2")`, `.Length`, `.Substring`...), and named constants.
//!
//! Owns: each function's VB semantics and argument checks.
//!
//! Must not: read the clock (`Now`/`Today` are `Globals!ExecutionTime`), panic on bad
//! arguments (they are [`EvalError::Argument`]), or allocate without bound (`Space`,
//! `StrDup`, `PadLeft` are capped at [`MAX_STRING`] characters).

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use time::{Date, Duration, Month, PrimitiveDateTime, Time};

use super::EvalError;
use super::convert::{self, to_bool, to_date, to_decimal, to_f64, to_i32, to_i64};
use super::eval::{Env, Num, compare, num};
use super::format;
use crate::Value;

/// The longest string a function may build (16 Mi characters).
pub(crate) const MAX_STRING: usize = 16 << 20;

/// The folded `MidpointRounding` constants.
const MODE_TO_EVEN: &str = "MidpointRounding.ToEven";
const MODE_AWAY: &str = "MidpointRounding.AwayFromZero";

fn is_mode(v: &Value) -> bool {
    matches!(v, Value::Str(s) if s.as_ref() == MODE_TO_EVEN || s.as_ref() == MODE_AWAY)
}

fn mode_is_away(v: &Value) -> Result<bool, EvalError> {
    match v {
        Value::Str(s) if s.as_ref() == MODE_AWAY => Ok(true),
        Value::Str(s) if s.as_ref() == MODE_TO_EVEN => Ok(false),
        other => Ok(to_i64(other)? == 1),
    }
}

/// Every function name [`call`] accepts (canonical, lower-case).
const KNOWN: &[&str] = &[
    // conversion
    "cstr",
    "cint",
    "clng",
    "cdbl",
    "cdec",
    "cdate",
    "cbool",
    "csng",
    "cshort",
    "cbyte",
    "cobj",
    "cchar",
    "val",
    "hex",
    "oct",
    "int",
    "fix",
    "str",
    // interaction
    "iif",
    "if",
    "switch",
    "choose",
    // strings
    "len",
    "left",
    "right",
    "mid",
    "ucase",
    "lcase",
    "trim",
    "ltrim",
    "rtrim",
    "instr",
    "instrrev",
    "replace",
    "space",
    "strdup",
    "split",
    "join",
    "strreverse",
    "format",
    "formatnumber",
    "formatcurrency",
    "formatpercent",
    "formatdatetime",
    "asc",
    "ascw",
    "chr",
    "chrw",
    "strcomp",
    "lset",
    "rset",
    // dates
    "now",
    "today",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "monthname",
    "weekdayname",
    "weekday",
    "dateadd",
    "datediff",
    "datepart",
    "dateserial",
    "timeserial",
    "datevalue",
    "timevalue",
    // information
    "isnothing",
    "isnumeric",
    "isdate",
    "isarray",
    "isdbnull",
    "iserror",
    // math (also reachable without the `Math.` prefix)
    "abs",
    "ceiling",
    "floor",
    "round",
    "pow",
    "sqrt",
    "sign",
    "truncate",
    "log",
    "log10",
    "exp",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sgn",
    "math.abs",
    "math.ceiling",
    "math.floor",
    "math.round",
    "math.max",
    "math.min",
    "math.pow",
    "math.sqrt",
    "math.sign",
    "math.truncate",
    "math.log",
    "math.log10",
    "math.exp",
    "math.sin",
    "math.cos",
    "math.tan",
    "math.asin",
    "math.acos",
    "math.atan",
    "math.atan2",
    "math.sinh",
    "math.cosh",
    "math.tanh",
    "math.ieeeremainder",
    // .NET statics
    "string.format",
    "string.isnullorempty",
    "string.isnullorwhitespace",
    "string.concat",
    "string.join",
    "string.compare",
    "convert.toint32",
    "convert.toint64",
    "convert.toint16",
    "convert.todouble",
    "convert.tosingle",
    "convert.todecimal",
    "convert.tostring",
    "convert.toboolean",
    "convert.todatetime",
    "datetime.now",
    "datetime.today",
    "datetime.parse",
    "datetime.daysinmonth",
    "datetime.isleapyear",
    "integer.parse",
    "int32.parse",
    "int64.parse",
    "long.parse",
    "double.parse",
    "decimal.parse",
    "decimal.round",
    "char.isdigit",
    "char.isletter",
];

/// True when `name` is a function [`call`] knows.
pub(crate) fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}

/// The conversion function for a `CType(x, T)` type name.
pub(crate) fn conversion_for_type(t: &str) -> Option<&'static str> {
    Some(match t {
        "string" => "cstr",
        "integer" | "int32" => "cint",
        "long" | "int64" => "clng",
        "short" | "int16" => "cshort",
        "byte" => "cbyte",
        "double" => "cdbl",
        "single" => "csng",
        "decimal" => "cdec",
        "date" | "datetime" => "cdate",
        "boolean" => "cbool",
        "object" => "cobj",
        "char" => "cchar",
        _ => return None,
    })
}

/// A named constant (`vbCrLf`, `DateInterval.Month`, `Math.PI`...), folded at parse time.
pub(crate) fn constant(name: &str) -> Option<Value> {
    let s = |t: &str| Some(Value::str(t));
    let i = |n: i64| Some(Value::Int(n));
    match name {
        "vbcrlf"
        | "vbnewline"
        | "controlchars.crlf"
        | "controlchars.newline"
        | "environment.newline" => s("\r\n"),
        "vbcr" | "controlchars.cr" => s("\r"),
        "vblf" | "controlchars.lf" => s("\n"),
        "vbtab" | "controlchars.tab" => s("\t"),
        "vbnullstring" | "string.empty" => s(""),
        "vbnullchar" | "controlchars.nullchar" => s("\0"),
        "controlchars.quote" => s("\""),
        "math.pi" => Some(Value::Float(std::f64::consts::PI)),
        "math.e" => Some(Value::Float(std::f64::consts::E)),
        "dateinterval.year" => s("yyyy"),
        "dateinterval.quarter" => s("q"),
        "dateinterval.month" => s("m"),
        "dateinterval.dayofyear" => s("y"),
        "dateinterval.day" => s("d"),
        "dateinterval.weekday" => s("w"),
        "dateinterval.weekofyear" => s("ww"),
        "dateinterval.hour" => s("h"),
        "dateinterval.minute" => s("n"),
        "dateinterval.second" => s("s"),
        // Kept apart from integers so `Math.Round(x, MidpointRounding.AwayFromZero)` picks
        // the (value, mode) overload as .NET does.
        "midpointrounding.toeven" => s(MODE_TO_EVEN),
        "midpointrounding.awayfromzero" => s(MODE_AWAY),
        "firstdayofweek.system" => i(0),
        "firstdayofweek.sunday" | "vbsunday" => i(1),
        "firstdayofweek.monday" | "vbmonday" => i(2),
        "firstdayofweek.tuesday" | "vbtuesday" => i(3),
        "firstdayofweek.wednesday" | "vbwednesday" => i(4),
        "firstdayofweek.thursday" | "vbthursday" => i(5),
        "firstdayofweek.friday" | "vbfriday" => i(6),
        "firstdayofweek.saturday" | "vbsaturday" => i(7),
        "dateformat.generaldate" | "vbgeneraldate" => i(0),
        "dateformat.longdate" | "vblongdate" => i(1),
        "dateformat.shortdate" | "vbshortdate" => i(2),
        "dateformat.longtime" | "vblongtime" => i(3),
        "dateformat.shorttime" | "vbshorttime" => i(4),
        "tristate.true" | "vbtrue" => i(-1),
        "tristate.false" | "vbfalse" => i(0),
        "tristate.usedefault" | "vbusedefault" => i(-2),
        "integer.maxvalue" | "int32.maxvalue" => i(i64::from(i32::MAX)),
        "integer.minvalue" | "int32.minvalue" => i(i64::from(i32::MIN)),
        "long.maxvalue" | "int64.maxvalue" => i(i64::MAX),
        "long.minvalue" | "int64.minvalue" => i(i64::MIN),
        "double.maxvalue" => Some(Value::Float(f64::MAX)),
        "double.minvalue" => Some(Value::Float(f64::MIN)),
        "double.nan" => Some(Value::Float(f64::NAN)),
        "decimal.maxvalue" => Some(Value::Decimal(Decimal::MAX)),
        "decimal.minvalue" => Some(Value::Decimal(Decimal::MIN)),
        "decimal.zero" => Some(Value::Decimal(Decimal::ZERO)),
        "datetime.minvalue" => Some(Value::DateTime(convert::zero_date())),
        _ => None,
    }
}

fn arg_err(func: &str, message: impl Into<String>) -> EvalError {
    EvalError::Argument {
        func: func.to_string(),
        message: message.into(),
    }
}

fn arity(func: &str, args: &[Value], min: usize, max: usize) -> Result<(), EvalError> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(arg_err(
            func,
            format!("takes {want} arguments, {} given", args.len()),
        ));
    }
    Ok(())
}

fn s(v: &Value, culture: &str) -> String {
    convert::to_string(v, culture)
}

fn cap(func: &str, n: i64) -> Result<usize, EvalError> {
    let n = usize::try_from(n).map_err(|_| arg_err(func, "the length must not be negative"))?;
    if n > MAX_STRING {
        return Err(arg_err(
            func,
            format!("{n} characters is more than the {MAX_STRING} allowed"),
        ));
    }
    Ok(n)
}

fn opt(args: &[Value], i: usize) -> Option<&Value> {
    args.get(i).filter(|v| !v.is_null())
}

fn str_val(s: impl Into<Arc<str>>) -> Value {
    Value::Str(s.into())
}

fn date_val(func: &str, r: Option<PrimitiveDateTime>) -> Result<Value, EvalError> {
    r.map(Value::DateTime)
        .ok_or_else(|| arg_err(func, "the resulting date is outside the supported range"))
}

/// Functions whose string argument is read in the report's culture.
const LOCALIZED: &[&str] = &[
    "cdbl",
    "cdec",
    "cint",
    "clng",
    "csng",
    "cshort",
    "cbyte",
    "isnumeric",
    "cdate",
    "datevalue",
    "isdate",
];

/// The first argument parsed in `culture` when it is text that culture reads as a number
/// (or a date); unchanged otherwise.
fn localize(args: &[Value], culture: &str, date: bool) -> Vec<Value> {
    let mut out = args.to_vec();
    if let Some(Value::Str(s)) = args.first() {
        let c = netfmt::Culture::get_or_en_us(culture);
        let parsed = if date {
            netfmt::parse_datetime(s, c).map(Value::DateTime)
        } else {
            netfmt::parse_number(s, c).map(|n| match n {
                netfmt::Num::Int(i) => Value::Int(i),
                netfmt::Num::Float(x) => Value::Float(x),
                netfmt::Num::Decimal(d) => Value::Decimal(d),
            })
        };
        if let Some(v) = parsed {
            out[0] = v;
        }
    }
    out
}

/// Calls a runtime function with evaluated arguments.
pub(crate) fn call(name: &str, args: &[Value], env: &Env<'_>) -> Result<Value, EvalError> {
    let culture = env.culture();
    // Conversions read strings in the report's culture (`CDbl("1,5")` is 1.5 in de-DE).
    let localized;
    let args = if !culture.eq_ignore_ascii_case("en-US")
        && LOCALIZED.contains(&name)
        && matches!(args.first(), Some(Value::Str(_)))
    {
        localized = localize(
            args,
            culture,
            matches!(name, "cdate" | "datevalue" | "isdate"),
        );
        localized.as_slice()
    } else {
        args
    };
    let a0 = || args.first().cloned().unwrap_or(Value::Null);
    let one = |n: &str| arity(n, args, 1, 1);
    // Bare math names are the Math functions.
    let name = match name {
        "abs" | "ceiling" | "floor" | "round" | "pow" | "sqrt" | "sign" | "truncate" | "log"
        | "log10" | "exp" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "atan2" => {
            return math(name, args);
        }
        n => n,
    };
    if let Some(m) = name.strip_prefix("math.") {
        return math(m, args);
    }
    match name {
        // --- conversion
        "cstr" | "convert.tostring" => {
            one("CStr")?;
            Ok(str_val(s(&a0(), culture)))
        }
        "cint" | "convert.toint32" => {
            one("CInt")?;
            Ok(Value::Int(to_i32(&a0())?))
        }
        "clng" | "convert.toint64" => {
            one("CLng")?;
            Ok(Value::Int(to_i64(&a0())?))
        }
        "cshort" | "convert.toint16" => {
            one("CShort")?;
            Ok(Value::Int(convert::to_i16(&a0())?))
        }
        "cbyte" => {
            one("CByte")?;
            Ok(Value::Int(convert::to_u8(&a0())?))
        }
        "cdbl" | "convert.todouble" => {
            one("CDbl")?;
            Ok(Value::Float(to_f64(&a0())?))
        }
        "csng" | "convert.tosingle" => {
            one("CSng")?;
            Ok(Value::Float(f64::from(to_f64(&a0())? as f32)))
        }
        "cdec" | "convert.todecimal" => {
            one("CDec")?;
            Ok(Value::Decimal(to_decimal(&a0())?))
        }
        "cdate" | "convert.todatetime" | "datetime.parse" => {
            one("CDate")?;
            Ok(Value::DateTime(to_date(&a0())?))
        }
        "cbool" | "convert.toboolean" => {
            one("CBool")?;
            Ok(Value::Bool(to_bool(&a0())?))
        }
        "cobj" => {
            one("CObj")?;
            Ok(a0())
        }
        "cchar" => {
            one("CChar")?;
            Ok(str_val(
                s(&a0(), culture)
                    .chars()
                    .next()
                    .map(String::from)
                    .unwrap_or_default(),
            ))
        }
        "integer.parse" | "int32.parse" => {
            one("Integer.Parse")?;
            Ok(Value::Int(to_i32(&Value::str(s(&a0(), culture)))?))
        }
        "int64.parse" | "long.parse" => {
            one("Long.Parse")?;
            Ok(Value::Int(to_i64(&Value::str(s(&a0(), culture)))?))
        }
        "double.parse" => {
            one("Double.Parse")?;
            Ok(Value::Float(to_f64(&Value::str(s(&a0(), culture)))?))
        }
        "decimal.parse" => {
            one("Decimal.Parse")?;
            Ok(Value::Decimal(to_decimal(&Value::str(s(&a0(), culture)))?))
        }
        "val" => {
            one("Val")?;
            Ok(Value::Float(convert::val(&a0())))
        }
        "str" => {
            one("Str")?;
            let v = a0();
            let t = s(&v, "en-US");
            let neg = matches!(num(&v, "Str"), Ok(Num::I(i)) if i < 0)
                || matches!(num(&v, "Str"), Ok(Num::F(x)) if x < 0.0)
                || matches!(num(&v, "Str"), Ok(Num::D(d)) if d.is_sign_negative());
            Ok(str_val(if neg { t } else { format!(" {t}") }))
        }
        "hex" | "oct" => {
            one("Hex")?;
            let n = to_i64(&a0())?;
            Ok(str_val(if name == "hex" {
                format!("{n:X}")
            } else {
                format!("{n:o}")
            }))
        }
        "int" | "fix" => {
            one("Int")?;
            let floor = name == "int";
            Ok(match num(&a0(), "Int")? {
                Num::I(i) => Value::Int(i),
                Num::D(d) => Value::Decimal(if floor { d.floor() } else { d.trunc() }),
                Num::F(x) => Value::Float(if floor { x.floor() } else { x.trunc() }),
            })
        }
        // --- interaction
        "iif" => {
            arity("IIf", args, 3, 3)?;
            Ok(if to_bool(&args[0])? {
                args[1].clone()
            } else {
                args[2].clone()
            })
        }
        "switch" => {
            if !args.len().is_multiple_of(2) {
                return Err(arg_err("Switch", "takes pairs of (condition, value)"));
            }
            for pair in args.chunks(2) {
                if to_bool(&pair[0])? {
                    return Ok(pair[1].clone());
                }
            }
            Ok(Value::Null)
        }
        "choose" => {
            if args.is_empty() {
                return Err(arg_err("Choose", "takes an index and at least one choice"));
            }
            let i = to_i32(&Value::Float(to_f64(&args[0])?.trunc()))?;
            Ok(usize::try_from(i)
                .ok()
                .filter(|i| *i >= 1)
                .and_then(|i| args.get(i))
                .cloned()
                .unwrap_or(Value::Null))
        }
        // --- information
        "isnothing" => {
            one("IsNothing")?;
            Ok(Value::Bool(a0().is_null()))
        }
        "isnumeric" => {
            one("IsNumeric")?;
            Ok(Value::Bool(convert::is_numeric(&a0())))
        }
        "isdate" => {
            one("IsDate")?;
            Ok(Value::Bool(convert::is_date(&a0())))
        }
        "isarray" => {
            one("IsArray")?;
            Ok(Value::Bool(matches!(
                a0(),
                Value::Array(_) | Value::Bytes(_)
            )))
        }
        // SSRS hands expressions `Nothing`, never a DBNull, so this is always False there.
        "isdbnull" | "iserror" => {
            one("IsDBNull")?;
            Ok(Value::Bool(false))
        }
        // --- strings
        "len" => {
            one("Len")?;
            Ok(Value::Int(match a0() {
                Value::Null => 0,
                Value::Str(t) => t.chars().count() as i64,
                // VB's Len of a boxed value is its storage size.
                Value::Bool(_) => 2,
                Value::Int(i) => {
                    if i32::try_from(i).is_ok() {
                        4
                    } else {
                        8
                    }
                }
                Value::Float(_) | Value::DateTime(_) => 8,
                Value::Decimal(_) => 16,
                Value::Bytes(b) => b.len() as i64,
                Value::Array(a) => a.len() as i64,
            }))
        }
        "left" | "right" => {
            arity("Left", args, 2, 2)?;
            let t = s(&args[0], culture);
            let n = to_i32(&args[1])?;
            if n < 0 {
                return Err(arg_err(
                    "Left",
                    "Length must be greater than or equal to zero",
                ));
            }
            let chars: Vec<char> = t.chars().collect();
            let n = usize::try_from(n).unwrap_or(0).min(chars.len());
            Ok(str_val(if name == "left" {
                chars[..n].iter().collect::<String>()
            } else {
                chars[chars.len() - n..].iter().collect::<String>()
            }))
        }
        "mid" => {
            arity("Mid", args, 2, 3)?;
            let t: Vec<char> = s(&args[0], culture).chars().collect();
            let start = to_i32(&args[1])?;
            if start < 1 {
                return Err(arg_err("Mid", "Start must be greater than zero"));
            }
            let from = usize::try_from(start - 1).unwrap_or(0).min(t.len());
            let len = match opt(args, 2) {
                None => t.len() - from,
                Some(l) => {
                    let l = to_i32(l)?;
                    if l < 0 {
                        return Err(arg_err(
                            "Mid",
                            "Length must be greater than or equal to zero",
                        ));
                    }
                    usize::try_from(l).unwrap_or(0).min(t.len() - from)
                }
            };
            Ok(str_val(t[from..from + len].iter().collect::<String>()))
        }
        "ucase" | "lcase" => {
            one("UCase")?;
            let t = s(&a0(), culture);
            Ok(str_val(if name == "ucase" {
                t.to_uppercase()
            } else {
                t.to_lowercase()
            }))
        }
        "trim" | "ltrim" | "rtrim" => {
            one("Trim")?;
            let t = s(&a0(), culture);
            Ok(str_val(match name {
                "trim" => t.trim_matches(' '),
                "ltrim" => t.trim_start_matches(' '),
                _ => t.trim_end_matches(' '),
            }))
        }
        "instr" => {
            arity("InStr", args, 2, 4)?;
            // InStr([start,] s1, s2[, compare])
            let numeric_start = args.len() >= 3
                && matches!(args[0], Value::Int(_) | Value::Float(_) | Value::Decimal(_));
            let (start, hay, needle, cmp) = if numeric_start {
                (to_i32(&args[0])?, &args[1], &args[2], args.get(3))
            } else {
                (1, &args[0], &args[1], args.get(2))
            };
            if start < 1 {
                return Err(arg_err("InStr", "Start must be greater than zero"));
            }
            let text = case_fold(&s(hay, culture), cmp)?;
            let pat = case_fold(&s(needle, culture), cmp)?;
            let chars: Vec<char> = text.chars().collect();
            let from = usize::try_from(start - 1).unwrap_or(0);
            if from > chars.len() {
                return Ok(Value::Int(0));
            }
            if pat.is_empty() {
                return Ok(Value::Int(start));
            }
            let tail: String = chars[from..].iter().collect();
            Ok(Value::Int(match tail.find(&pat) {
                Some(b) => (from + tail[..b].chars().count() + 1) as i64,
                None => 0,
            }))
        }
        "instrrev" => {
            arity("InStrRev", args, 2, 4)?;
            let text: Vec<char> = case_fold(&s(&args[0], culture), args.get(3))?
                .chars()
                .collect();
            let pat = case_fold(&s(&args[1], culture), args.get(3))?;
            let start = match opt(args, 2) {
                Some(v) => to_i32(v)?,
                None => -1,
            };
            if start == 0 || start < -1 {
                return Err(arg_err("InStrRev", "Start must be -1 or greater than zero"));
            }
            let end = if start == -1 {
                text.len()
            } else {
                usize::try_from(start).unwrap_or(0).min(text.len())
            };
            if pat.is_empty() {
                return Ok(Value::Int(end as i64));
            }
            let hay: String = text[..end].iter().collect();
            Ok(Value::Int(match hay.rfind(&pat) {
                Some(b) => (hay[..b].chars().count() + 1) as i64,
                None => 0,
            }))
        }
        "replace" => {
            arity("Replace", args, 3, 6)?;
            let t = s(&args[0], culture);
            let find = s(&args[1], culture);
            let repl = s(&args[2], culture);
            let start = match opt(args, 3) {
                Some(v) => to_i32(v)?,
                None => 1,
            };
            let count = match opt(args, 4) {
                Some(v) => to_i32(v)?,
                None => -1,
            };
            if start < 1 {
                return Err(arg_err("Replace", "Start must be greater than zero"));
            }
            // VB's Replace returns the string from `start` on.
            let chars: Vec<char> = t.chars().collect();
            let from = usize::try_from(start - 1).unwrap_or(0).min(chars.len());
            let tail: String = chars[from..].iter().collect();
            if find.is_empty() || count == 0 {
                return Ok(str_val(tail));
            }
            let text_cmp = args
                .get(5)
                .map(|v| to_i64(v).unwrap_or(0) == 1)
                .unwrap_or(false);
            let r = replace_n(&tail, &find, &repl, count, text_cmp);
            super::eval::check_len(r.len())?;
            Ok(str_val(r))
        }
        "space" => {
            one("Space")?;
            Ok(str_val(" ".repeat(cap("Space", to_i64(&a0())?)?)))
        }
        "strdup" => {
            arity("StrDup", args, 2, 2)?;
            let n = cap("StrDup", to_i64(&args[0])?)?;
            let c = s(&args[1], culture)
                .chars()
                .next()
                .ok_or_else(|| arg_err("StrDup", "Character must not be empty"))?;
            Ok(str_val(std::iter::repeat_n(c, n).collect::<String>()))
        }
        "strreverse" => {
            one("StrReverse")?;
            Ok(str_val(s(&a0(), culture).chars().rev().collect::<String>()))
        }
        "split" => {
            arity("Split", args, 1, 4)?;
            let t = s(&args[0], culture);
            let delim = match opt(args, 1) {
                Some(d) => s(d, culture),
                None => " ".to_string(),
            };
            let limit = match opt(args, 2) {
                Some(v) => to_i32(v)?,
                None => -1,
            };
            if t.is_empty() {
                return Ok(Value::Array(Arc::from(vec![Value::str("")])));
            }
            let parts: Vec<Value> = if delim.is_empty() {
                vec![Value::str(t)]
            } else if limit > 0 {
                t.splitn(usize::try_from(limit).unwrap_or(1), delim.as_str())
                    .map(Value::from)
                    .collect()
            } else {
                t.split(delim.as_str()).map(Value::from).collect()
            };
            Ok(Value::Array(parts.into()))
        }
        "join" | "string.join" => {
            arity("Join", args, 1, 2)?;
            let (arr, sep) = if name == "string.join" {
                (
                    args.get(1).cloned().unwrap_or(Value::Null),
                    s(&args[0], culture),
                )
            } else {
                (
                    args[0].clone(),
                    match opt(args, 1) {
                        Some(d) => s(d, culture),
                        None => " ".into(),
                    },
                )
            };
            let items: Vec<String> = match &arr {
                Value::Array(a) => a.iter().map(|v| s(v, culture)).collect(),
                Value::Null => Vec::new(),
                other => vec![s(other, culture)],
            };
            let r = items.join(&sep);
            super::eval::check_len(r.len())?;
            Ok(str_val(r))
        }
        "asc" | "ascw" => {
            one("Asc")?;
            let c = s(&a0(), culture)
                .chars()
                .next()
                .ok_or_else(|| arg_err("Asc", "String must not be empty"))?;
            Ok(Value::Int(i64::from(u32::from(c))))
        }
        "chr" | "chrw" => {
            one("Chr")?;
            let n = to_i64(&a0())?;
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| arg_err("Chr", format!("{n} is not a character code")))?;
            Ok(str_val(c.to_string()))
        }
        "strcomp" | "string.compare" => {
            arity("StrComp", args, 2, 3)?;
            let text_cmp = match args.get(2) {
                Some(Value::Bool(b)) => *b,
                Some(v) => to_i64(v).unwrap_or(0) == 1,
                None => false,
            };
            let (x, y) = (s(&args[0], culture), s(&args[1], culture));
            let o = if text_cmp {
                x.to_lowercase().cmp(&y.to_lowercase())
            } else {
                x.cmp(&y)
            };
            Ok(Value::Int(o as i64))
        }
        "lset" | "rset" => {
            arity("LSet", args, 2, 2)?;
            let t: Vec<char> = s(&args[0], culture).chars().collect();
            let n = cap("LSet", to_i64(&args[1])?)?;
            let mut out: String = t.iter().take(n).collect();
            let pad = " ".repeat(n.saturating_sub(t.len()));
            if name == "lset" {
                out.push_str(&pad);
            } else {
                out = format!("{pad}{out}");
            }
            Ok(str_val(out))
        }
        "string.isnullorempty" => {
            one("String.IsNullOrEmpty")?;
            Ok(Value::Bool(s(&a0(), culture).is_empty()))
        }
        "string.isnullorwhitespace" => {
            one("String.IsNullOrWhiteSpace")?;
            Ok(Value::Bool(s(&a0(), culture).trim().is_empty()))
        }
        "string.concat" => Ok(str_val(
            args.iter().map(|v| s(v, culture)).collect::<String>(),
        )),
        "string.format" => {
            if args.is_empty() {
                return Err(arg_err("String.Format", "takes a format and its arguments"));
            }
            composite_format(&s(&args[0], culture), &args[1..], culture).map(str_val)
        }
        "char.isdigit" | "char.isletter" => {
            one("Char.IsDigit")?;
            let c = s(&a0(), culture).chars().next();
            Ok(Value::Bool(c.is_some_and(|c| {
                if name == "char.isdigit" {
                    c.is_ascii_digit()
                } else {
                    c.is_alphabetic()
                }
            })))
        }
        // --- formatting
        "format" => {
            arity("Format", args, 1, 2)?;
            let f = opt(args, 1).map(|v| s(v, culture)).unwrap_or_default();
            vb_format(&args[0], &f, culture).map(str_val)
        }
        "formatnumber" | "formatcurrency" | "formatpercent" => {
            arity("FormatNumber", args, 1, 5)?;
            let n = match num(&args[0], "FormatNumber")? {
                Num::I(i) => netfmt::Num::Int(i),
                Num::D(d) => netfmt::Num::Decimal(d),
                Num::F(x) => netfmt::Num::Float(x),
            };
            let get = |i: usize, def: i64| -> Result<i64, EvalError> {
                match opt(args, i) {
                    Some(Value::Bool(b)) => Ok(if *b { -1 } else { 0 }),
                    Some(v) => to_i64(v),
                    None => Ok(def),
                }
            };
            let kind = match name {
                "formatnumber" => 'N',
                "formatcurrency" => 'C',
                _ => 'P',
            };
            Ok(str_val(format::format_vb_number(
                n,
                kind,
                get(1, -1)?,
                get(2, -2)?,
                get(3, -2)?,
                get(4, -2)?,
                culture,
            )))
        }
        "formatdatetime" => {
            arity("FormatDateTime", args, 1, 2)?;
            let d = to_date(&args[0])?;
            let kind = match opt(args, 1) {
                Some(v) => to_i64(v)?,
                None => 0,
            };
            format::format_datetime_vb(d, kind, culture)
                .map(str_val)
                .ok_or_else(|| {
                    arg_err(
                        "FormatDateTime",
                        "NamedFormat must be 0 to 4 (DateFormat.GeneralDate ... ShortTime)",
                    )
                })
        }
        // --- dates
        "now" | "datetime.now" => {
            arity("Now", args, 0, 0)?;
            env.ctx.global("ExecutionTime")
        }
        "today" | "datetime.today" => {
            arity("Today", args, 0, 0)?;
            let now = to_date(&env.ctx.global("ExecutionTime")?)?;
            Ok(Value::DateTime(PrimitiveDateTime::new(
                now.date(),
                Time::MIDNIGHT,
            )))
        }
        "year" | "month" | "day" | "hour" | "minute" | "second" => {
            one("Year")?;
            let d = to_date(&a0())?;
            Ok(Value::Int(match name {
                "year" => i64::from(d.year()),
                "month" => i64::from(u8::from(d.month())),
                "day" => i64::from(d.day()),
                "hour" => i64::from(d.hour()),
                "minute" => i64::from(d.minute()),
                _ => i64::from(d.second()),
            }))
        }
        "monthname" => {
            arity("MonthName", args, 1, 2)?;
            let m = to_i32(&args[0])?;
            if !(1..=12).contains(&m) {
                return Err(arg_err("MonthName", "Month must be 1 to 12"));
            }
            let abbr = opt(args, 1).map(to_bool).transpose()?.unwrap_or(false);
            Ok(str_val(format::month_name(m as u8, abbr, culture)))
        }
        "weekdayname" => {
            arity("WeekdayName", args, 1, 3)?;
            let w = to_i32(&args[0])?;
            if !(1..=7).contains(&w) {
                return Err(arg_err("WeekdayName", "Weekday must be 1 to 7"));
            }
            let abbr = opt(args, 1).map(to_bool).transpose()?.unwrap_or(false);
            let first = first_day(opt(args, 2))?;
            let idx = ((w - 1 + first) % 7) as u8;
            Ok(str_val(format::day_name(idx, abbr, culture)))
        }
        "weekday" => {
            arity("Weekday", args, 1, 2)?;
            let d = to_date(&args[0])?;
            let first = first_day(opt(args, 1))?;
            Ok(Value::Int(weekday(&d, first)))
        }
        "dateadd" => {
            arity("DateAdd", args, 3, 3)?;
            let interval = s(&args[0], culture);
            let n = to_f64(&args[1])?;
            let d = to_date(&args[2])?;
            date_val("DateAdd", date_add(&interval, n, d)?)
        }
        "datediff" => {
            arity("DateDiff", args, 3, 5)?;
            let interval = s(&args[0], culture);
            let d1 = to_date(&args[1])?;
            let d2 = to_date(&args[2])?;
            let first = first_day(opt(args, 3))?;
            date_diff(&interval, d1, d2, first).map(Value::Int)
        }
        "datepart" => {
            arity("DatePart", args, 2, 4)?;
            let interval = s(&args[0], culture);
            let d = to_date(&args[1])?;
            let first = first_day(opt(args, 2))?;
            date_part(&interval, d, first).map(Value::Int)
        }
        "dateserial" => {
            arity("DateSerial", args, 3, 3)?;
            let mut y = to_i32(&args[0])?;
            if (0..30).contains(&y) {
                y += 2000;
            } else if (30..100).contains(&y) {
                y += 1900;
            }
            let m = to_i32(&args[1])?;
            let d = to_i32(&args[2])?;
            let base = i32::try_from(y)
                .ok()
                .and_then(|y| Date::from_calendar_date(y, Month::January, 1).ok())
                .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT));
            let r = base
                .and_then(|b| add_months(b, m - 1))
                .and_then(|b| b.checked_add(Duration::days(d - 1)));
            date_val("DateSerial", r)
        }
        "timeserial" => {
            arity("TimeSerial", args, 3, 3)?;
            let secs = to_i32(&args[0])?
                .checked_mul(3600)
                .and_then(|h| to_i32(&args[1]).ok()?.checked_mul(60)?.checked_add(h))
                .and_then(|hm| hm.checked_add(to_i32(&args[2]).ok()?))
                .ok_or_else(|| arg_err("TimeSerial", "the time is out of range"))?;
            let secs = secs.rem_euclid(86_400);
            date_val(
                "TimeSerial",
                convert::zero_date().checked_add(Duration::seconds(secs)),
            )
        }
        "datevalue" => {
            one("DateValue")?;
            let d = to_date(&a0())?;
            Ok(Value::DateTime(PrimitiveDateTime::new(
                d.date(),
                Time::MIDNIGHT,
            )))
        }
        "timevalue" => {
            one("TimeValue")?;
            let d = to_date(&a0())?;
            Ok(Value::DateTime(PrimitiveDateTime::new(
                convert::zero_date().date(),
                d.time(),
            )))
        }
        "datetime.daysinmonth" => {
            arity("DateTime.DaysInMonth", args, 2, 2)?;
            let y =
                i32::try_from(to_i32(&args[0])?).map_err(|_| arg_err("DaysInMonth", "bad year"))?;
            let m = u8::try_from(to_i32(&args[1])?)
                .ok()
                .and_then(|m| Month::try_from(m).ok())
                .ok_or_else(|| arg_err("DaysInMonth", "Month must be 1 to 12"))?;
            Ok(Value::Int(i64::from(time::util::days_in_month(m, y))))
        }
        "datetime.isleapyear" => {
            one("DateTime.IsLeapYear")?;
            let y = i32::try_from(to_i32(&a0())?).map_err(|_| arg_err("IsLeapYear", "bad year"))?;
            Ok(Value::Bool(time::util::is_leap_year(y)))
        }
        "decimal.round" => math("round", args),
        _ => Err(EvalError::Unsupported {
            construct: format!("the function {name}"),
        }),
    }
}

fn case_fold(t: &str, cmp: Option<&Value>) -> Result<String, EvalError> {
    let text = match cmp {
        Some(v) if !v.is_null() => to_i64(v)? == 1,
        _ => false,
    };
    Ok(if text {
        t.to_lowercase()
    } else {
        t.to_string()
    })
}

fn replace_n(t: &str, find: &str, repl: &str, count: i64, text_cmp: bool) -> String {
    let hay = if text_cmp {
        t.to_lowercase()
    } else {
        t.to_string()
    };
    let needle = if text_cmp {
        find.to_lowercase()
    } else {
        find.to_string()
    };
    if hay.len() != t.len() {
        // Case folding changed byte lengths: fall back to a binary replace.
        return t.replace(find, repl);
    }
    let mut out = String::new();
    let mut last = 0;
    let mut done = 0i64;
    for (i, _) in hay.match_indices(&needle) {
        if count >= 0 && done >= count {
            break;
        }
        if i < last {
            continue;
        }
        // Folding may move char boundaries even when the total length stays the same.
        let Some(seg) = t.get(last..i) else {
            return t.replace(find, repl);
        };
        out.push_str(seg);
        out.push_str(repl);
        last = i + needle.len();
        done += 1;
    }
    match t.get(last..) {
        Some(rest) => out.push_str(rest),
        None => return t.replace(find, repl),
    }
    out
}

/// `String.Format("{0:N2} of {1}", ...)`.
fn composite_format(f: &str, args: &[Value], culture: &str) -> Result<String, EvalError> {
    let bad = || {
        arg_err(
            "String.Format",
            format!("'{f}' is not a valid composite format"),
        )
    };
    let mut out = String::new();
    let chars: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let end = chars[i..].iter().position(|c| *c == '}').ok_or_else(bad)? + i;
                let spec: String = chars[i + 1..end].iter().collect();
                let (head, fmt) = spec.split_once(':').unwrap_or((&spec, ""));
                let (idx, align) = head.split_once(',').unwrap_or((head, ""));
                let idx: usize = idx.trim().parse().map_err(|_| bad())?;
                let v = args.get(idx).ok_or_else(|| {
                    arg_err("String.Format", format!("index {idx} has no argument"))
                })?;
                let text = if fmt.is_empty() {
                    format::default_string(v, culture)
                } else {
                    format::format_value(v, fmt, culture)?
                };
                let w: i64 = if align.trim().is_empty() {
                    0
                } else {
                    align.trim().parse().map_err(|_| bad())?
                };
                let width = cap("String.Format", w.abs())?;
                let n = text.chars().count();
                if n < width {
                    let pad = " ".repeat(width - n);
                    if w < 0 {
                        out.push_str(&text);
                        out.push_str(&pad);
                    } else {
                        out.push_str(&pad);
                        out.push_str(&text);
                    }
                } else {
                    out.push_str(&text);
                }
                i = end + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The `FirstDayOfWeek` argument as 0 = Sunday ... 6 = Saturday (System = Sunday, en-US).
fn first_day(v: Option<&Value>) -> Result<i64, EvalError> {
    let n = match v {
        Some(v) => to_i64(v)?,
        None => 1,
    };
    match n {
        0 => Ok(0),
        1..=7 => Ok(n - 1),
        _ => Err(arg_err(
            "FirstDayOfWeek",
            "must be 0 (System) to 7 (Saturday)",
        )),
    }
}

/// `Weekday`: 1..7 counted from `first` (0 = Sunday).
fn weekday(d: &PrimitiveDateTime, first: i64) -> i64 {
    let dow = i64::from(d.weekday().number_days_from_sunday());
    (dow - first).rem_euclid(7) + 1
}

/// Adds months, clamping the day to the target month's length (1/31 + 1 month = 2/29).
pub(crate) fn add_months(d: PrimitiveDateTime, months: i64) -> Option<PrimitiveDateTime> {
    let total = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1 + months;
    let y = i32::try_from(total.div_euclid(12)).ok()?;
    let m = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = d.day().min(time::util::days_in_month(m, y));
    let date = Date::from_calendar_date(y, m, day).ok()?;
    if !(1..=9999).contains(&y) {
        return None;
    }
    Some(PrimitiveDateTime::new(date, d.time()))
}

/// Normalises an interval: `DateInterval.X` folds to these strings too.
fn interval(i: &str) -> Result<&'static str, EvalError> {
    Ok(match i.trim().to_ascii_lowercase().as_str() {
        "yyyy" | "year" => "yyyy",
        "q" | "quarter" => "q",
        "m" | "month" => "m",
        "y" | "dayofyear" => "y",
        "d" | "day" => "d",
        "w" | "weekday" => "w",
        "ww" | "weekofyear" => "ww",
        "h" | "hour" => "h",
        "n" | "minute" => "n",
        "s" | "second" => "s",
        other => {
            return Err(arg_err(
                "date interval",
                format!("'{other}' is not an interval: use yyyy, q, m, y, d, w, ww, h, n or s"),
            ));
        }
    })
}

fn date_add(i: &str, n: f64, d: PrimitiveDateTime) -> Result<Option<PrimitiveDateTime>, EvalError> {
    let n = n.trunc();
    if !n.is_finite() || n.abs() > 1e12 {
        return Ok(None);
    }
    let k = n as i64;
    let r = match interval(i)? {
        "yyyy" => k.checked_mul(12).and_then(|m| add_months(d, m)),
        "q" => k.checked_mul(3).and_then(|m| add_months(d, m)),
        "m" => add_months(d, k),
        "y" | "d" | "w" => d.checked_add(Duration::days(k)),
        "ww" => k
            .checked_mul(7)
            .and_then(|x| d.checked_add(Duration::days(x))),
        "h" => d.checked_add(Duration::hours(k)),
        "n" => d.checked_add(Duration::minutes(k)),
        _ => d.checked_add(Duration::seconds(k)),
    };
    Ok(r.filter(|r| (1..=9999).contains(&r.year())))
}

fn date_diff(
    i: &str,
    d1: PrimitiveDateTime,
    d2: PrimitiveDateTime,
    first: i64,
) -> Result<i64, EvalError> {
    let span = d2 - d1;
    Ok(match interval(i)? {
        "yyyy" => i64::from(d2.year() - d1.year()),
        "q" => {
            i64::from(d2.year() - d1.year()) * 4 + (i64::from(u8::from(d2.month())) - 1) / 3
                - (i64::from(u8::from(d1.month())) - 1) / 3
        }
        "m" => {
            i64::from(d2.year() - d1.year()) * 12 + i64::from(u8::from(d2.month()))
                - i64::from(u8::from(d1.month()))
        }
        "y" | "d" => span.whole_days(),
        "w" => span.whole_days() / 7,
        "ww" => {
            let start = |d: PrimitiveDateTime| {
                d.date().to_julian_day()
                    - (i64::from(d.weekday().number_days_from_sunday()) - first).rem_euclid(7)
                        as i32
            };
            i64::from(start(d2) - start(d1)) / 7
        }
        "h" => span.whole_hours(),
        "n" => span.whole_minutes(),
        _ => span.whole_seconds(),
    })
}

fn date_part(i: &str, d: PrimitiveDateTime, first: i64) -> Result<i64, EvalError> {
    Ok(match interval(i)? {
        "yyyy" => i64::from(d.year()),
        "q" => (i64::from(u8::from(d.month())) - 1) / 3 + 1,
        "m" => i64::from(u8::from(d.month())),
        "y" => i64::from(d.ordinal()),
        "d" => i64::from(d.day()),
        "w" => weekday(&d, first),
        "ww" => {
            // FirstWeekOfYear.Jan1: the week containing 1 January is week 1.
            let jan1 = Date::from_calendar_date(d.year(), Month::January, 1)
                .map_err(|_| arg_err("DatePart", "the date is out of range"))?;
            let offset =
                (i64::from(jan1.weekday().number_days_from_sunday()) - first).rem_euclid(7);
            (i64::from(d.ordinal()) - 1 + offset) / 7 + 1
        }
        "h" => i64::from(d.hour()),
        "n" => i64::from(d.minute()),
        _ => i64::from(d.second()),
    })
}

fn num_to_value(n: Num) -> Value {
    match n {
        Num::I(i) => Value::Int(i),
        Num::D(d) => Value::Decimal(d),
        Num::F(x) => Value::Float(x),
    }
}

/// `Math.*`.
fn math(m: &str, args: &[Value]) -> Result<Value, EvalError> {
    let f = |i: usize| -> Result<f64, EvalError> { to_f64(args.get(i).unwrap_or(&Value::Null)) };
    let func = format!("Math.{m}");
    let unary_f = |op: fn(f64) -> f64| -> Result<Value, EvalError> {
        arity(&func, args, 1, 1)?;
        Ok(Value::Float(op(f(0)?)))
    };
    match m {
        "abs" => {
            arity(&func, args, 1, 1)?;
            Ok(match num(&args[0], "Math.Abs")? {
                Num::I(i) => i
                    .checked_abs()
                    .map(Value::Int)
                    .unwrap_or(Value::Decimal(Decimal::from(i).abs())),
                Num::D(d) => Value::Decimal(d.abs()),
                Num::F(x) => Value::Float(x.abs()),
            })
        }
        "ceiling" | "floor" | "truncate" => {
            arity(&func, args, 1, 1)?;
            Ok(match num(&args[0], &func)? {
                Num::I(i) => Value::Int(i),
                Num::D(d) => Value::Decimal(match m {
                    "ceiling" => d.ceil(),
                    "floor" => d.floor(),
                    _ => d.trunc(),
                }),
                Num::F(x) => Value::Float(match m {
                    "ceiling" => x.ceil(),
                    "floor" => x.floor(),
                    _ => x.trunc(),
                }),
            })
        }
        "round" => {
            arity(&func, args, 1, 3)?;
            // Round(x), Round(x, digits), Round(x, mode), Round(x, digits, mode).
            let (digits, mode) = match (args.get(1), args.get(2)) {
                (Some(m), None) if is_mode(m) => (0, Some(m)),
                (Some(d), m) => (to_i32(d)?, m),
                (None, _) => (0, None),
            };
            if !(0..=28).contains(&digits) {
                return Err(arg_err(&func, "digits must be 0 to 28 (15 for a Double)"));
            }
            let away = match mode {
                Some(m) => mode_is_away(m)?,
                None => false,
            };
            let digits = u32::try_from(digits).unwrap_or(0);
            Ok(match num(&args[0], &func)? {
                Num::I(i) => Value::Int(i),
                Num::D(d) => {
                    let strat = if away {
                        RoundingStrategy::MidpointAwayFromZero
                    } else {
                        RoundingStrategy::MidpointNearestEven
                    };
                    Value::Decimal(d.round_dp_with_strategy(digits, strat))
                }
                Num::F(x) => Value::Float(round_f64(x, digits.min(15), away)),
            })
        }
        "max" | "min" => {
            arity(&func, args, 2, 2)?;
            let (a, b) = (
                num_to_value(num(&args[0], &func)?),
                num_to_value(num(&args[1], &func)?),
            );
            let o = compare(&a, &b)?;
            let first = match o {
                Some(std::cmp::Ordering::Less) => m == "min",
                Some(_) => m == "max",
                None => true,
            };
            Ok(if first { a } else { b })
        }
        "pow" => {
            arity(&func, args, 2, 2)?;
            Ok(Value::Float(f(0)?.powf(f(1)?)))
        }
        "sqrt" => unary_f(f64::sqrt),
        "exp" => unary_f(f64::exp),
        "log10" => unary_f(f64::log10),
        "log" => {
            arity(&func, args, 1, 2)?;
            let x = f(0)?;
            Ok(Value::Float(if args.len() == 2 {
                x.ln() / f(1)?.ln()
            } else {
                x.ln()
            }))
        }
        "sin" => unary_f(f64::sin),
        "cos" => unary_f(f64::cos),
        "tan" => unary_f(f64::tan),
        "asin" => unary_f(f64::asin),
        "acos" => unary_f(f64::acos),
        "atan" => unary_f(f64::atan),
        "sinh" => unary_f(f64::sinh),
        "cosh" => unary_f(f64::cosh),
        "tanh" => unary_f(f64::tanh),
        "atan2" => {
            arity(&func, args, 2, 2)?;
            Ok(Value::Float(f(0)?.atan2(f(1)?)))
        }
        "ieeeremainder" => {
            arity(&func, args, 2, 2)?;
            let (x, y) = (f(0)?, f(1)?);
            Ok(Value::Float(x - y * (x / y).round_ties_even()))
        }
        "sign" | "sgn" => {
            arity(&func, args, 1, 1)?;
            Ok(Value::Int(match num(&args[0], &func)? {
                Num::I(i) => i.signum(),
                Num::D(d) => {
                    if d.is_zero() {
                        0
                    } else if d.is_sign_negative() {
                        -1
                    } else {
                        1
                    }
                }
                Num::F(x) => {
                    if x.is_nan() {
                        return Err(arg_err(&func, "the value is NaN"));
                    }
                    if x > 0.0 {
                        1
                    } else if x < 0.0 {
                        -1
                    } else {
                        0
                    }
                }
            }))
        }
        _ => Err(EvalError::Unsupported {
            construct: format!("Math.{m}"),
        }),
    }
}

/// `Math.Round(Double, digits, mode)`: through the decimal representation (as .NET rounds
/// the 15-digit value), so `Math.Round(2.675, 2)` follows the digits the user sees.
fn round_f64(x: f64, digits: u32, away: bool) -> f64 {
    let strat = if away {
        RoundingStrategy::MidpointAwayFromZero
    } else {
        RoundingStrategy::MidpointNearestEven
    };
    match convert::f64_to_decimal(x) {
        Some(d) => d
            .round_dp_with_strategy(digits, strat)
            .to_f64()
            .unwrap_or(x),
        None => x,
    }
}

/// A member of a value: `.ToString()`, `.Length`, `.Substring(1)`, `.AddDays(1)`...
pub(crate) fn method(
    t: &Value,
    name: &str,
    args: &[Value],
    culture: &str,
) -> Result<Value, EvalError> {
    let func = format!(".{name}");
    let unsupported = || EvalError::Unsupported {
        construct: format!(
            "the member '.{name}' on a value of type '{}'",
            convert::vb_type(t)
        ),
    };
    // Members of every type.
    match name {
        "tostring" => {
            arity(&func, args, 0, 2)?;
            return Ok(str_val(match args.first() {
                None => format::default_string(t, culture),
                Some(f) => format::format_value(t, &s(f, culture), culture)?,
            }));
        }
        "value" if args.is_empty() => return Ok(t.clone()),
        "equals" => {
            arity(&func, args, 1, 1)?;
            return Ok(Value::Bool(
                compare(t, &args[0])? == Some(std::cmp::Ordering::Equal),
            ));
        }
        "compareto" => {
            arity(&func, args, 1, 1)?;
            return Ok(Value::Int(match compare(t, &args[0])? {
                Some(o) => o as i64,
                None => 0,
            }));
        }
        "gettype" => return Err(unsupported()),
        _ => {}
    }
    if t.is_null() {
        return Err(EvalError::Argument {
            func,
            message: "object reference not set to an instance of an object (the value is Nothing)"
                .into(),
        });
    }
    match t {
        Value::Str(st) => {
            string_method(st, name, args, culture).unwrap_or_else(|| Err(unsupported()))
        }
        Value::DateTime(d) => {
            date_method(*d, name, args, culture).unwrap_or_else(|| Err(unsupported()))
        }
        Value::Array(a) => match name {
            "length" | "count" => Ok(Value::Int(a.len() as i64)),
            "getvalue" => {
                arity(&func, args, 1, 1)?;
                super::eval::index_value(t, &args[0])
            }
            "getupperbound" => Ok(Value::Int(a.len() as i64 - 1)),
            "contains" => {
                arity(&func, args, 1, 1)?;
                let mut found = false;
                for v in a.iter() {
                    if compare(v, &args[0]).ok().flatten() == Some(std::cmp::Ordering::Equal) {
                        found = true;
                        break;
                    }
                }
                Ok(Value::Bool(found))
            }
            _ => Err(unsupported()),
        },
        Value::Bytes(b) => match name {
            "length" => Ok(Value::Int(b.len() as i64)),
            _ => Err(unsupported()),
        },
        _ => Err(unsupported()),
    }
}

fn string_method(
    st: &str,
    name: &str,
    args: &[Value],
    culture: &str,
) -> Option<Result<Value, EvalError>> {
    let func = format!(".{name}");
    let chars = || st.chars().collect::<Vec<char>>();
    let idx = |i: usize| -> Result<usize, EvalError> {
        let n = to_i32(args.get(i).unwrap_or(&Value::Null))?;
        usize::try_from(n).map_err(|_| arg_err(&func, "the index must not be negative"))
    };
    let a = |i: usize| s(args.get(i).unwrap_or(&Value::Null), culture);
    let r = (|| -> Result<Value, EvalError> {
        Ok(match name {
            "length" => Value::Int(st.chars().count() as i64),
            "toupper" | "toupperinvariant" => str_val(st.to_uppercase()),
            "tolower" | "tolowerinvariant" => str_val(st.to_lowercase()),
            "trim" | "trimstart" | "trimend" => {
                let set: Vec<char> = args
                    .iter()
                    .flat_map(|v| s(v, culture).chars().collect::<Vec<_>>())
                    .collect();
                let pred = |c: char| {
                    if set.is_empty() {
                        c.is_whitespace()
                    } else {
                        set.contains(&c)
                    }
                };
                str_val(match name {
                    "trim" => st.trim_matches(pred),
                    "trimstart" => st.trim_start_matches(pred),
                    _ => st.trim_end_matches(pred),
                })
            }
            "substring" => {
                arity(&func, args, 1, 2)?;
                let c = chars();
                let start = idx(0)?;
                if start > c.len() {
                    return Err(arg_err(
                        &func,
                        "startIndex cannot be larger than the length of the string",
                    ));
                }
                let len = if args.len() == 2 {
                    idx(1)?
                } else {
                    c.len() - start
                };
                if start + len > c.len() {
                    return Err(arg_err(
                        &func,
                        "index and length must refer to a location within the string",
                    ));
                }
                str_val(c[start..start + len].iter().collect::<String>())
            }
            "contains" => {
                arity(&func, args, 1, 1)?;
                Value::Bool(st.contains(a(0).as_str()))
            }
            "startswith" => {
                arity(&func, args, 1, 2)?;
                Value::Bool(st.starts_with(a(0).as_str()))
            }
            "endswith" => {
                arity(&func, args, 1, 2)?;
                Value::Bool(st.ends_with(a(0).as_str()))
            }
            "indexof" | "lastindexof" => {
                arity(&func, args, 1, 2)?;
                let needle = a(0);
                let c = chars();
                let found = if name == "indexof" {
                    let from = if args.len() == 2 { idx(1)? } else { 0 };
                    if from > c.len() {
                        return Err(arg_err(&func, "startIndex is outside the string"));
                    }
                    let tail: String = c[from..].iter().collect();
                    tail.find(&needle).map(|b| from + tail[..b].chars().count())
                } else {
                    st.rfind(&needle).map(|b| st[..b].chars().count())
                };
                Value::Int(found.map_or(-1, |i| i as i64))
            }
            "replace" => {
                arity(&func, args, 2, 2)?;
                let find = a(0);
                if find.is_empty() {
                    return Err(arg_err(&func, "the string to replace must not be empty"));
                }
                let r = st.replace(&find, &a(1));
                super::eval::check_len(r.len())?;
                str_val(r)
            }
            "split" => {
                let seps: Vec<char> = args
                    .iter()
                    .filter_map(|v| s(v, culture).chars().next())
                    .collect();
                let parts: Vec<Value> = if seps.is_empty() {
                    st.split(char::is_whitespace).map(Value::from).collect()
                } else {
                    st.split(|c: char| seps.contains(&c))
                        .map(Value::from)
                        .collect()
                };
                Value::Array(parts.into())
            }
            "padleft" | "padright" => {
                arity(&func, args, 1, 2)?;
                let w = cap(&func, i64::try_from(idx(0)?).unwrap_or(0))?;
                let pad = if args.len() == 2 {
                    a(1).chars().next().unwrap_or(' ')
                } else {
                    ' '
                };
                let n = st.chars().count();
                let fill: String = std::iter::repeat_n(pad, w.saturating_sub(n)).collect();
                str_val(if name == "padleft" {
                    format!("{fill}{st}")
                } else {
                    format!("{st}{fill}")
                })
            }
            "insert" => {
                arity(&func, args, 2, 2)?;
                let mut c = chars();
                let i = idx(0)?;
                if i > c.len() {
                    return Err(arg_err(&func, "startIndex is outside the string"));
                }
                let ins: Vec<char> = a(1).chars().collect();
                c.splice(i..i, ins);
                str_val(c.into_iter().collect::<String>())
            }
            "remove" => {
                arity(&func, args, 1, 2)?;
                let mut c = chars();
                let i = idx(0)?;
                let n = if args.len() == 2 {
                    idx(1)?
                } else {
                    c.len().saturating_sub(i)
                };
                if i + n > c.len() {
                    return Err(arg_err(
                        &func,
                        "index and count must refer to a location within the string",
                    ));
                }
                c.drain(i..i + n);
                str_val(c.into_iter().collect::<String>())
            }
            "chars" => {
                arity(&func, args, 1, 1)?;
                super::eval::index_value(&Value::str(st), &args[0])?
            }
            "tochararray" => Value::Array(
                st.chars()
                    .map(|c| Value::str(c.to_string()))
                    .collect::<Vec<_>>()
                    .into(),
            ),
            _ => {
                return Err(EvalError::Unsupported {
                    construct: String::new(),
                });
            }
        })
    })();
    match r {
        Err(EvalError::Unsupported { construct }) if construct.is_empty() => None,
        r => Some(r),
    }
}

fn date_method(
    d: PrimitiveDateTime,
    name: &str,
    args: &[Value],
    culture: &str,
) -> Option<Result<Value, EvalError>> {
    let func = format!(".{name}");
    let add = |f: fn(f64) -> Option<Duration>| -> Result<Value, EvalError> {
        arity(&func, args, 1, 1)?;
        let n = to_f64(&args[0])?;
        date_val(
            &func,
            f(n).and_then(|dur| d.checked_add(dur))
                .filter(|r| (1..=9999).contains(&r.year())),
        )
    };
    Some(match name {
        "year" => Ok(Value::Int(i64::from(d.year()))),
        "month" => Ok(Value::Int(i64::from(u8::from(d.month())))),
        "day" => Ok(Value::Int(i64::from(d.day()))),
        "hour" => Ok(Value::Int(i64::from(d.hour()))),
        "minute" => Ok(Value::Int(i64::from(d.minute()))),
        "second" => Ok(Value::Int(i64::from(d.second()))),
        "millisecond" => Ok(Value::Int(i64::from(d.millisecond()))),
        "dayofweek" => Ok(Value::Int(i64::from(d.weekday().number_days_from_sunday()))),
        "dayofyear" => Ok(Value::Int(i64::from(d.ordinal()))),
        "date" => Ok(Value::DateTime(PrimitiveDateTime::new(
            d.date(),
            Time::MIDNIGHT,
        ))),
        "adddays" => add(|n| ms_duration(n, 86_400_000.0)),
        "addhours" => add(|n| ms_duration(n, 3_600_000.0)),
        "addminutes" => add(|n| ms_duration(n, 60_000.0)),
        "addseconds" => add(|n| ms_duration(n, 1000.0)),
        "addmilliseconds" => add(|n| ms_duration(n, 1.0)),
        "addmonths" | "addyears" => (|| {
            arity(&func, args, 1, 1)?;
            let n = to_i32(&args[0])?;
            let months = if name == "addyears" { n * 12 } else { n };
            date_val(&func, add_months(d, months))
        })(),
        "toshortdatestring" => format::format_date(&d, "d", culture).map(str_val),
        "tolongdatestring" => format::format_date(&d, "D", culture).map(str_val),
        "toshorttimestring" => format::format_date(&d, "t", culture).map(str_val),
        "tolongtimestring" => format::format_date(&d, "T", culture).map(str_val),
        _ => return None,
    })
}

fn ms_duration(n: f64, unit: f64) -> Option<Duration> {
    let ms = (n * unit).round();
    if ms.is_finite() && ms.abs() < 1e17 {
        Some(Duration::milliseconds(ms as i64))
    } else {
        None
    }
}

/// VB's `Format(v, style)` as text: what `=Format(v, "style")` evaluates to, without going
/// through an expression call (the engine formats every textbox value with it).
pub fn vb_format(v: &Value, f: &str, culture: &str) -> Result<String, EvalError> {
    // VB's Format formats a numeric string as a number.
    if let Value::Str(t) = v
        && !f.is_empty()
    {
        if convert::is_numeric(v) {
            let n = Value::Float(to_f64(&Value::str(t.as_ref()))?);
            return format::format_vb(&n, f, culture);
        }
        if let Some(d) = convert::parse_date(t) {
            return format::format_vb(&Value::DateTime(d), f, culture);
        }
    }
    if f.is_empty() {
        return Ok(s(v, culture));
    }
    format::format_vb(v, f, culture)
}
