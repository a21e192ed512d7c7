//! The value of a field, a parameter or an expression: the CLR types reports use.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use time::PrimitiveDateTime;

/// A report value. `Null` is VB's `Nothing` / a database NULL.
///
/// Strings and byte arrays are reference-counted so a data table's values can be shared by
/// the instance tree without copying.
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    /// `Nothing`, a database NULL, a missing field.
    #[default]
    Null,
    /// `System.Boolean`.
    Bool(bool),
    /// `System.Int32` / `System.Int64` (and the smaller integer types).
    Int(i64),
    /// `System.Double` / `System.Single`.
    Float(f64),
    /// `System.Decimal`: keeps its scale (`1.50` stays `1.50`).
    Decimal(Decimal),
    /// `System.String` (and `Char`).
    Str(Arc<str>),
    /// `System.DateTime` (Kind unspecified).
    DateTime(PrimitiveDateTime),
    /// `System.Byte[]` (images from a database field).
    Bytes(Arc<[u8]>),
    /// A multi-value parameter's values, `Split`'s result, `LookupSet`'s result.
    Array(Arc<[Value]>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Arc<str>>) -> Self {
        Value::Str(s.into())
    }

    /// True for `Nothing`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The CLR type name, for messages (`System.String`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "Nothing",
            Value::Bool(_) => "System.Boolean",
            Value::Int(_) => "System.Int64",
            Value::Float(_) => "System.Double",
            Value::Decimal(_) => "System.Decimal",
            Value::Str(_) => "System.String",
            Value::DateTime(_) => "System.DateTime",
            Value::Bytes(_) => "System.Byte[]",
            Value::Array(_) => "System.Object[]",
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Nothing"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}R"),
            Value::Decimal(d) => write!(f, "{d}D"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::DateTime(t) => write!(f, "#{t}#"),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Value::Array(a) => f.debug_list().entries(a.iter()).finish(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Decimal> for Value {
    fn from(d: Decimal) -> Self {
        Value::Decimal(d)
    }
}
