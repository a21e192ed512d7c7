//! A data set's rows, stored column by column: the one table type the data providers fill
//! and the bind reads (no conversion copy in between).
//!
//! Owns: the compact layout (per column one typed vector — `i64`, `f64`, `Decimal`,
//! date-time, `bool`, interned text codes, bytes — plus a null bitmap; a column whose values
//! mix types falls back to [`Value`]s), building a table value by value ([`TableBuilder`]:
//! repeated texts are stored once) and reading one value back as a [`Value`]. Must not: know
//! where the rows come from or what a report does with them.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rdl::Value;
use rust_decimal::Decimal;
use time::PrimitiveDateTime;

/// The type a column is declared with (the database's or `rd:TypeName`): its values are
/// stored typed; a value of another type turns the column into a mixed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Not known: the first non-null value decides.
    Unknown,
    /// `System.Boolean`.
    Bool,
    /// Integers.
    Int,
    /// `System.Double`.
    Float,
    /// `System.Decimal`.
    Decimal,
    /// `System.DateTime`.
    DateTime,
    /// `System.String`.
    Str,
    /// `System.Byte[]`.
    Bytes,
}

/// Most distinct texts a column interns while it is built (each stored once).
const INTERN_ENTRIES: usize = 4096;
/// Longest text that is interned.
const INTERN_LEN: usize = 256;

/// Values in chunks of [`CHUNK`]: a growing column never moves (no reallocation copies, no
/// doubled capacity while it is filled), and a small table holds a small first chunk.
#[derive(Debug, Clone, PartialEq)]
struct Chunks<T> {
    chunks: Vec<Vec<T>>,
}

/// Values per chunk.
const CHUNK: usize = 8192;

impl<T: Clone> Chunks<T> {
    fn new() -> Self {
        Chunks { chunks: Vec::new() }
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => {
                // the first chunk grows as a vector does; the later ones are allocated whole
                let mut c = Vec::with_capacity(if self.chunks.is_empty() { 8 } else { CHUNK });
                c.push(v);
                self.chunks.push(c);
            }
        }
    }

    fn get(&self, r: usize) -> Option<&T> {
        self.chunks.get(r / CHUNK)?.get(r % CHUNK)
    }

    fn resize(&mut self, n: usize, v: T) {
        while self.len() < n {
            self.push(v.clone());
        }
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    /// The same values as another type, chunk by chunk (a column widened).
    fn widen<U: Clone>(&self, f: impl Fn(&T) -> U) -> Chunks<U> {
        Chunks {
            chunks: self
                .chunks
                .iter()
                .map(|c| {
                    let mut w = Vec::with_capacity(c.capacity());
                    w.extend(c.iter().map(&f));
                    w
                })
                .collect(),
        }
    }

    fn shrink(&mut self) {
        // the last chunk only: the others are full
        if let Some(c) = self.chunks.last_mut() {
            c.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    /// Only nulls so far (and the declared kind is unknown).
    Empty,
    Bool(Chunks<bool>),
    /// Integers while every one fits 32 bits (half the memory); widened to [`Data::Int`] by
    /// the first that does not.
    Int32(Chunks<i32>),
    Int(Chunks<i64>),
    Float(Chunks<f64>),
    Decimal(Chunks<Decimal>),
    /// Date-times while every one is at midnight (a third of the memory); widened to
    /// [`Data::DateTime`] by the first that is not.
    Date(Chunks<time::Date>),
    DateTime(Chunks<PrimitiveDateTime>),
    /// Codes into `texts` (a null's code is 0 and its null bit is set).
    Str {
        codes: Chunks<u32>,
        texts: Vec<Arc<str>>,
    },
    Bytes(Chunks<Arc<[u8]>>),
    /// Values of several types.
    Mixed(Chunks<Value>),
}

impl Data {
    fn of(kind: ColumnKind) -> Data {
        match kind {
            ColumnKind::Unknown => Data::Empty,
            ColumnKind::Bool => Data::Bool(Chunks::new()),
            ColumnKind::Int => Data::Int32(Chunks::new()),
            ColumnKind::Float => Data::Float(Chunks::new()),
            ColumnKind::Decimal => Data::Decimal(Chunks::new()),
            ColumnKind::DateTime => Data::Date(Chunks::new()),
            ColumnKind::Str => Data::Str {
                codes: Chunks::new(),
                texts: Vec::new(),
            },
            ColumnKind::Bytes => Data::Bytes(Chunks::new()),
        }
    }
}

/// One column: typed values and which rows are null.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    data: Data,
    /// Bit `r` set: row `r` is null (words past the last null are absent).
    nulls: Vec<u64>,
}

impl Column {
    fn is_null(&self, r: usize) -> bool {
        self.nulls
            .get(r / 64)
            .is_some_and(|w| w >> (r % 64) & 1 == 1)
    }

    fn set_null(&mut self, r: usize) {
        let w = r / 64;
        if self.nulls.len() <= w {
            self.nulls.resize(w + 1, 0);
        }
        self.nulls[w] |= 1 << (r % 64);
    }

    fn value(&self, r: usize) -> Value {
        if let Data::Mixed(v) = &self.data {
            return v.get(r).cloned().unwrap_or(Value::Null);
        }
        if self.is_null(r) {
            return Value::Null;
        }
        let v = match &self.data {
            Data::Empty | Data::Mixed(_) => None,
            Data::Bool(v) => v.get(r).map(|&b| Value::Bool(b)),
            Data::Int32(v) => v.get(r).map(|&i| Value::Int(i.into())),
            Data::Int(v) => v.get(r).map(|&i| Value::Int(i)),
            Data::Float(v) => v.get(r).map(|&x| Value::Float(x)),
            Data::Decimal(v) => v.get(r).map(|&d| Value::Decimal(d)),
            Data::Date(v) => v.get(r).map(|&d| Value::DateTime(d.midnight())),
            Data::DateTime(v) => v.get(r).map(|&t| Value::DateTime(t)),
            Data::Str { codes, texts } => codes
                .get(r)
                .and_then(|&c| texts.get(c as usize))
                .map(|s| Value::Str(s.clone())),
            Data::Bytes(v) => v.get(r).map(|b| Value::Bytes(b.clone())),
        };
        v.unwrap_or(Value::Null)
    }

    fn kind(&self) -> Option<ColumnKind> {
        Some(match &self.data {
            Data::Empty => ColumnKind::Unknown,
            Data::Bool(_) => ColumnKind::Bool,
            Data::Int32(_) | Data::Int(_) => ColumnKind::Int,
            Data::Float(_) => ColumnKind::Float,
            Data::Decimal(_) => ColumnKind::Decimal,
            Data::Date(_) | Data::DateTime(_) => ColumnKind::DateTime,
            Data::Str { .. } => ColumnKind::Str,
            Data::Bytes(_) => ColumnKind::Bytes,
            Data::Mixed(_) => return None,
        })
    }

    fn heap_size(&self) -> usize {
        self.nulls.capacity() * 8
            + match &self.data {
                Data::Empty => 0,
                Data::Bool(v) => v.capacity(),
                Data::Int32(v) => v.capacity() * 4,
                Data::Int(v) => v.capacity() * 8,
                Data::Float(v) => v.capacity() * 8,
                Data::Decimal(v) => v.capacity() * 16,
                Data::Date(v) => v.capacity() * size_of::<time::Date>(),
                Data::DateTime(v) => v.capacity() * size_of::<PrimitiveDateTime>(),
                Data::Str { codes, texts } => {
                    codes.capacity() * 4
                        + texts.capacity() * 16
                        + texts.iter().map(|s| 16 + s.len()).sum::<usize>()
                }
                Data::Bytes(v) => v.capacity() * 16 + v.iter().map(|b| 16 + b.len()).sum::<usize>(),
                Data::Mixed(v) => {
                    v.capacity() * size_of::<Value>() + v.iter().map(payload).sum::<usize>()
                }
            }
    }

    fn shrink(&mut self) {
        self.nulls.shrink_to_fit();
        match &mut self.data {
            Data::Empty => {}
            Data::Bool(v) => v.shrink(),
            Data::Int32(v) => v.shrink(),
            Data::Int(v) => v.shrink(),
            Data::Float(v) => v.shrink(),
            Data::Decimal(v) => v.shrink(),
            Data::Date(v) => v.shrink(),
            Data::DateTime(v) => v.shrink(),
            Data::Str { codes, texts } => {
                codes.shrink();
                texts.shrink_to_fit();
            }
            Data::Bytes(v) => v.shrink(),
            Data::Mixed(v) => v.shrink(),
        }
    }
}

fn payload(v: &Value) -> usize {
    match v {
        Value::Str(s) => 16 + s.len(),
        Value::Bytes(b) => 16 + b.len(),
        Value::Array(a) => {
            16 + a
                .iter()
                .map(|v| size_of::<Value>() + payload(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// A data set's rows as the engine takes them: column `c` is named `fields[c]`; every
/// column has [`DataTable::len`] values. Built with a [`TableBuilder`] (or
/// [`DataTable::from_rows`]); read with [`DataTable::value`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataTable {
    /// Column names, in order.
    pub fields: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl DataTable {
    /// A table of `rows` (each of `fields.len()` values; a missing value is null, one past
    /// the fields is dropped).
    pub fn from_rows<R: AsRef<[Value]>>(
        fields: Vec<String>,
        rows: impl IntoIterator<Item = R>,
    ) -> DataTable {
        let kinds = vec![ColumnKind::Unknown; fields.len()];
        let mut b = TableBuilder::new(fields, &kinds);
        for row in rows {
            let row = row.as_ref();
            for c in 0..b.width() {
                b.push(c, row.get(c).cloned().unwrap_or(Value::Null));
            }
            b.end_row();
        }
        b.finish()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The value of column `c` in row `r` (null past the table).
    pub fn value(&self, r: usize, c: usize) -> Value {
        match self.columns.get(c) {
            Some(col) if r < self.rows => col.value(r),
            _ => Value::Null,
        }
    }

    /// The text of column `c` in row `r` as it is stored, when that value is a text of a
    /// column of texts (`None` for anything else, a null included: read it with
    /// [`DataTable::value`]). What [`DataTable::value`] gives as [`Value::Str`], without a
    /// new reference to it.
    pub fn text(&self, r: usize, c: usize) -> Option<&str> {
        let col = self.columns.get(c).filter(|_| r < self.rows)?;
        let Data::Str { codes, texts } = &col.data else {
            return None;
        };
        if col.is_null(r) {
            return None;
        }
        texts.get(*codes.get(r)? as usize).map(|s| &**s)
    }

    /// Row `r`'s values (tests and small tables; the bind reads single values).
    pub fn row(&self, r: usize) -> Vec<Value> {
        (0..self.columns.len()).map(|c| self.value(r, c)).collect()
    }

    /// The rows' values, row by row.
    pub fn rows(&self) -> impl Iterator<Item = Vec<Value>> + '_ {
        (0..self.rows).map(|r| self.row(r))
    }

    /// The kind column `c`'s values have (`None`: several kinds; `Unknown`: only nulls).
    pub fn kind(&self, c: usize) -> Option<ColumnKind> {
        self.columns.get(c).and_then(Column::kind)
    }

    /// The index of the column named `name` (exact match first, then ASCII
    /// case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name).or_else(|| {
            self.fields
                .iter()
                .position(|f| f.eq_ignore_ascii_case(name))
        })
    }

    /// The bytes the table holds on the heap (approximate: allocator overhead not counted).
    pub fn heap_size(&self) -> usize {
        self.fields.iter().map(|f| 24 + f.len()).sum::<usize>()
            + self.columns.iter().map(Column::heap_size).sum::<usize>()
    }
}

/// An interned text as its map's key, found by its bytes (so text that arrives as bytes is
/// checked as UTF-8 only when it is new): hashed and compared as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key(Arc<str>);

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.as_bytes().hash(h);
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Fills a [`DataTable`] row by row: one `push*` per column, then [`TableBuilder::end_row`].
#[derive(Debug)]
pub struct TableBuilder {
    table: DataTable,
    /// By column: each interned text's code (a fast seeded hash: one look-up per text value).
    interned: Vec<HashMap<Key, u32, foldhash::fast::RandomState>>,
}

impl TableBuilder {
    /// A builder for columns `fields` declared as `kinds` (missing kinds are
    /// [`ColumnKind::Unknown`]).
    pub fn new(fields: Vec<String>, kinds: &[ColumnKind]) -> TableBuilder {
        let columns = (0..fields.len())
            .map(|c| Column {
                data: Data::of(kinds.get(c).copied().unwrap_or(ColumnKind::Unknown)),
                nulls: Vec::new(),
            })
            .collect();
        let interned = fields.iter().map(|_| HashMap::default()).collect();
        TableBuilder {
            table: DataTable {
                fields,
                columns,
                rows: 0,
            },
            interned,
        }
    }

    /// How many columns.
    pub fn width(&self) -> usize {
        self.table.columns.len()
    }

    /// Rows ended so far.
    pub fn rows(&self) -> usize {
        self.table.rows
    }

    /// Ends the current row: every column has had its value pushed.
    pub fn end_row(&mut self) {
        self.table.rows += 1;
    }

    /// The table.
    pub fn finish(mut self) -> DataTable {
        for c in &mut self.table.columns {
            c.shrink();
        }
        self.table
    }

    /// A null in column `c`.
    pub fn push_null(&mut self, c: usize) {
        let r = self.table.rows;
        let Some(col) = self.table.columns.get_mut(c) else {
            return;
        };
        match &mut col.data {
            Data::Empty => {}
            Data::Bool(v) => v.push(false),
            Data::Int32(v) => v.push(0),
            Data::Int(v) => v.push(0),
            Data::Float(v) => v.push(0.0),
            Data::Decimal(v) => v.push(Decimal::ZERO),
            // the placeholder of either form: `PrimitiveDateTime::MIN` is `Date::MIN` at midnight
            Data::Date(v) => v.push(time::Date::MIN),
            Data::DateTime(v) => v.push(PrimitiveDateTime::MIN),
            Data::Str { codes, .. } => codes.push(0),
            Data::Bytes(v) => v.push(Arc::from(&[][..])),
            Data::Mixed(v) => {
                v.push(Value::Null);
                return;
            }
        }
        col.set_null(r);
    }

    /// An integer in column `c`.
    pub fn push_int(&mut self, c: usize, i: i64) {
        match self.typed(c, ColumnKind::Int) {
            Some(d @ Data::Int32(_)) => match i32::try_from(i) {
                Ok(small) => {
                    if let Data::Int32(v) = d {
                        v.push(small);
                    }
                }
                Err(_) => {
                    if let Data::Int32(v) = d {
                        let mut wide = v.widen(|&x| i64::from(x));
                        wide.push(i);
                        *d = Data::Int(wide);
                    }
                }
            },
            Some(Data::Int(v)) => v.push(i),
            _ => self.push_mixed(c, Value::Int(i)),
        }
    }

    /// A double in column `c`.
    pub fn push_float(&mut self, c: usize, x: f64) {
        match self.typed(c, ColumnKind::Float) {
            Some(Data::Float(v)) => v.push(x),
            _ => self.push_mixed(c, Value::Float(x)),
        }
    }

    /// A decimal in column `c`.
    pub fn push_decimal(&mut self, c: usize, d: Decimal) {
        match self.typed(c, ColumnKind::Decimal) {
            Some(Data::Decimal(v)) => v.push(d),
            _ => self.push_mixed(c, Value::Decimal(d)),
        }
    }

    /// A boolean in column `c`.
    pub fn push_bool(&mut self, c: usize, b: bool) {
        match self.typed(c, ColumnKind::Bool) {
            Some(Data::Bool(v)) => v.push(b),
            _ => self.push_mixed(c, Value::Bool(b)),
        }
    }

    /// A date and time in column `c`.
    pub fn push_datetime(&mut self, c: usize, t: PrimitiveDateTime) {
        match self.typed(c, ColumnKind::DateTime) {
            Some(d @ Data::Date(_)) => {
                if let Data::Date(v) = d {
                    if t.time() == time::Time::MIDNIGHT {
                        v.push(t.date());
                    } else {
                        let mut wide = v.widen(|x| x.midnight());
                        wide.push(t);
                        *d = Data::DateTime(wide);
                    }
                }
            }
            Some(Data::DateTime(v)) => v.push(t),
            _ => self.push_mixed(c, Value::DateTime(t)),
        }
    }

    /// A text in column `c` (stored once per distinct text, within a bound).
    pub fn push_str(&mut self, c: usize, s: &str) {
        self.push_text(c, s, None);
    }

    /// A text given as UTF-8 bytes in column `c`, as [`TableBuilder::push_str`] of them;
    /// the bytes are checked only when they are not a text the column already holds (the
    /// error is `std::str::from_utf8`'s, and nothing is pushed then).
    pub fn push_utf8(&mut self, c: usize, b: &[u8]) -> Result<(), std::str::Utf8Error> {
        if let (
            Some(Column {
                data: Data::Str { codes, .. },
                ..
            }),
            Some(map),
        ) = (self.table.columns.get_mut(c), self.interned.get(c))
            && let Some(&k) = map.get(b)
        {
            codes.push(k);
            return Ok(());
        }
        self.push_str(c, std::str::from_utf8(b)?);
        Ok(())
    }

    /// A text in column `c`; `owned` is `s` as an `Arc` when the caller has one.
    fn push_text(&mut self, c: usize, s: &str, owned: Option<&Arc<str>>) {
        if matches!(
            self.table.columns.get(c).map(|x| &x.data),
            Some(Data::Empty)
        ) {
            self.typed(c, ColumnKind::Str);
        }
        let (Some(col), Some(map)) = (self.table.columns.get_mut(c), self.interned.get_mut(c))
        else {
            return;
        };
        let remember = map.len() < INTERN_ENTRIES && s.len() <= INTERN_LEN;
        if let Data::Str { codes, texts } = &mut col.data {
            let code = match map.get(s.as_bytes()) {
                Some(&k) => k,
                None => {
                    let k = texts.len() as u32;
                    let a = owned.cloned().unwrap_or_else(|| Arc::from(s));
                    if remember {
                        map.insert(Key(a.clone()), k);
                    }
                    texts.push(a);
                    k
                }
            };
            codes.push(code);
            return;
        }
        // a column of another kind becomes mixed; an interned text is still shared
        let a = match map.get_key_value(s.as_bytes()) {
            Some((k, _)) => k.0.clone(),
            None => {
                let a = owned.cloned().unwrap_or_else(|| Arc::from(s));
                if remember {
                    map.insert(Key(a.clone()), 0);
                }
                a
            }
        };
        self.push_mixed(c, Value::Str(a));
    }

    /// Bytes in column `c`.
    pub fn push_bytes(&mut self, c: usize, b: Arc<[u8]>) {
        match self.typed(c, ColumnKind::Bytes) {
            Some(Data::Bytes(v)) => v.push(b),
            _ => self.push_mixed(c, Value::Bytes(b)),
        }
    }

    /// Any value in column `c`.
    pub fn push(&mut self, c: usize, v: Value) {
        match v {
            Value::Null => self.push_null(c),
            Value::Bool(b) => self.push_bool(c, b),
            Value::Int(i) => self.push_int(c, i),
            Value::Float(x) => self.push_float(c, x),
            Value::Decimal(d) => self.push_decimal(c, d),
            Value::DateTime(t) => self.push_datetime(c, t),
            Value::Str(s) => self.push_text(c, &s, Some(&s)),
            Value::Bytes(b) => self.push_bytes(c, b),
            Value::Array(_) => self.push_mixed(c, v),
        }
    }

    /// The typed vector of column `c` when it holds (or, only nulls so far, can become)
    /// `kind`; `None` when it holds another kind (the caller makes it mixed).
    fn typed(&mut self, c: usize, kind: ColumnKind) -> Option<&mut Data> {
        let r = self.table.rows;
        let col = self.table.columns.get_mut(c)?;
        if matches!(col.data, Data::Empty) {
            // only nulls so far: they become the kind's placeholder values
            let mut d = Data::of(kind);
            match &mut d {
                Data::Bool(v) => v.resize(r, false),
                Data::Int32(v) => v.resize(r, 0),
                Data::Int(v) => v.resize(r, 0),
                Data::Float(v) => v.resize(r, 0.0),
                Data::Decimal(v) => v.resize(r, Decimal::ZERO),
                Data::Date(v) => v.resize(r, time::Date::MIN),
                Data::DateTime(v) => v.resize(r, PrimitiveDateTime::MIN),
                Data::Str { codes, .. } => codes.resize(r, 0),
                Data::Bytes(v) => v.resize(r, Arc::from(&[][..])),
                Data::Empty | Data::Mixed(_) => {}
            }
            col.data = d;
        }
        (col.kind() == Some(kind)).then_some(&mut col.data)
    }

    /// Pushes `v` into column `c` as a mixed column (converting it first if it is typed).
    fn push_mixed(&mut self, c: usize, v: Value) {
        let r = self.table.rows;
        let Some(col) = self.table.columns.get_mut(c) else {
            return;
        };
        if !matches!(col.data, Data::Mixed(_)) {
            let mut all = Chunks::new();
            for i in 0..r {
                all.push(col.value(i));
            }
            col.data = Data::Mixed(all);
            col.nulls = Vec::new();
        }
        if let Data::Mixed(all) = &mut col.data {
            all.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(d: u8) -> PrimitiveDateTime {
        time::Date::from_calendar_date(2024, time::Month::January, d)
            .unwrap()
            .midnight()
    }

    #[test]
    fn values_come_back_as_pushed() {
        let rows = vec![
            vec![
                Value::Int(1),
                Value::str("a"),
                Value::Null,
                Value::Decimal(Decimal::new(150, 2)),
                Value::DateTime(dt(1)),
            ],
            vec![
                Value::Null,
                Value::str("b"),
                Value::Null,
                Value::Null,
                Value::DateTime(dt(2)),
            ],
            vec![
                Value::Int(3),
                Value::str("a"),
                Value::Float(2.5),
                Value::Decimal(Decimal::new(1, 0)),
                Value::Null,
            ],
        ];
        let t = DataTable::from_rows((0..5).map(|i| format!("c{i}")).collect(), &rows);
        assert_eq!(t.len(), 3);
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(&t.row(r), row);
        }
        assert_eq!(t.kind(0), Some(ColumnKind::Int));
        assert_eq!(t.kind(1), Some(ColumnKind::Str));
        assert_eq!(t.kind(2), Some(ColumnKind::Float));
        assert_eq!(t.kind(3), Some(ColumnKind::Decimal));
        assert_eq!(t.value(5, 0), Value::Null);
        assert_eq!(t.value(0, 9), Value::Null);
        // "a" is stored once
        match (t.value(0, 1), t.value(2, 1)) {
            (Value::Str(a), Value::Str(b)) => assert!(Arc::ptr_eq(&a, &b)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_column_of_mixed_types_keeps_each_value() {
        let rows = vec![
            vec![Value::Int(1)],
            vec![Value::Null],
            vec![Value::Float(1.5)],
            vec![Value::str("x")],
            vec![Value::Int(2)],
        ];
        let t = DataTable::from_rows(vec!["c".into()], &rows);
        assert_eq!(t.kind(0), None);
        let got: Vec<Value> = t.rows().map(|r| r[0].clone()).collect();
        let want: Vec<Value> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_declared_kind_holds_for_a_column_of_nulls() {
        let mut b = TableBuilder::new(vec!["n".into()], &[ColumnKind::Decimal]);
        for _ in 0..70 {
            b.push_null(0);
            b.end_row();
        }
        b.push_decimal(0, Decimal::ONE);
        b.end_row();
        let t = b.finish();
        assert_eq!(t.kind(0), Some(ColumnKind::Decimal));
        assert_eq!(t.value(69, 0), Value::Null);
        assert_eq!(t.value(70, 0), Value::Decimal(Decimal::ONE));
    }

    #[test]
    fn narrow_columns_widen_and_keep_every_value() {
        // integers: 32 bits until one does not fit; date-times: dates until one has a time
        let at = |d: u8, h: u8| dt(d).replace_hour(h).unwrap();
        let ints = [
            Some(1),
            None,
            Some(-7),
            Some(i64::from(i32::MAX)),
            Some(1 << 40),
            None,
        ];
        let times = [
            Some(dt(1)),
            None,
            Some(dt(3)),
            Some(at(4, 5)),
            None,
            Some(dt(6)),
        ];
        for widen_at in 0..=ints.len() {
            let mut b = TableBuilder::new(
                vec!["i".into(), "t".into()],
                &[ColumnKind::Int, ColumnKind::DateTime],
            );
            let mut want = Vec::new();
            for r in 0..9000 + widen_at {
                let k = r % ints.len();
                // the wide values only from row `widen_at * 1500` on
                let wide = r >= widen_at * 1500;
                let i = ints[k].map(|i| {
                    if wide || i32::try_from(i).is_ok() {
                        i
                    } else {
                        2
                    }
                });
                let t = times[k].map(|t| if wide || t.hour() == 0 { t } else { dt(9) });
                match i {
                    Some(i) => b.push_int(0, i),
                    None => b.push_null(0),
                }
                match t {
                    Some(t) => b.push_datetime(1, t),
                    None => b.push_null(1),
                }
                b.end_row();
                want.push([
                    i.map_or(Value::Null, Value::Int),
                    t.map_or(Value::Null, Value::DateTime),
                ]);
            }
            let t = b.finish();
            assert_eq!(t.kind(0), Some(ColumnKind::Int));
            assert_eq!(t.kind(1), Some(ColumnKind::DateTime));
            for (r, w) in want.iter().enumerate() {
                assert_eq!(t.row(r), w, "row {r}, wide from {}", widen_at * 1500);
            }
        }
        // a column of nulls, then values; mixed after a text
        let mut b = TableBuilder::new(vec!["n".into()], &[ColumnKind::Unknown]);
        b.push_null(0);
        b.end_row();
        b.push_datetime(0, at(2, 3));
        b.end_row();
        b.push_str(0, "x");
        b.end_row();
        let t = b.finish();
        assert_eq!(t.row(1), [Value::DateTime(at(2, 3))], "{:?}", t.kind(0));
        assert_eq!(t.value(0, 0), Value::Null);
        assert_eq!(t.value(2, 0), Value::str("x"));
    }

    #[test]
    fn texts_as_bytes_are_texts() {
        let mut a = TableBuilder::new(vec!["t".into()], &[ColumnKind::Str]);
        let mut b = TableBuilder::new(vec!["t".into()], &[ColumnKind::Str]);
        for s in ["x", "yä", "x", "", "yä", "z"] {
            a.push_str(0, s);
            a.end_row();
            b.push_utf8(0, s.as_bytes()).unwrap();
            b.end_row();
        }
        // invalid UTF-8: from_utf8's error, nothing pushed (a known text's bytes need no check)
        let bad = vec![b'a', 0xff, 0xfe];
        assert_eq!(
            b.push_utf8(0, &bad).unwrap_err(),
            std::str::from_utf8(&bad).unwrap_err()
        );
        assert_eq!(a.finish(), b.finish());
        // a column of another kind: mixed, as push_str makes it
        let mut m = TableBuilder::new(vec!["m".into()], &[ColumnKind::Int]);
        m.push_int(0, 1);
        m.end_row();
        m.push_utf8(0, b"one").unwrap();
        m.end_row();
        let t = m.finish();
        assert_eq!(t.kind(0), None);
        assert_eq!(t.row(1), [Value::str("one")]);
    }

    #[test]
    fn the_table_is_compact() {
        let mut b = TableBuilder::new(
            vec!["id".into(), "name".into(), "price".into()],
            &[ColumnKind::Int, ColumnKind::Str, ColumnKind::Decimal],
        );
        for i in 0..10_000 {
            b.push_int(0, i);
            b.push_str(1, &format!("Customer {:04}", i % 997));
            b.push_decimal(2, Decimal::new(i, 2));
            b.end_row();
        }
        let t = b.finish();
        // 8 + 4 + 16 bytes a row, and 997 texts
        assert!(t.heap_size() < 10_000 * 28 + 997 * 64, "{}", t.heap_size());
        assert_eq!(t.value(998, 1), Value::str("Customer 0001"));
    }
}
