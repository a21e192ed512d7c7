//! CSV (`rs:Format=CSV`, design note §2.3).
//!
//! Owns: the CSV device information (`FieldDelimiter`, `RecordDelimiter`, `Qualifier`,
//! `NoHeader`, `Encoding`, `ExcelMode`, `UseFormattedValues`, `SuppressLineBreaks`,
//! `FileExtension`), checked before any byte is written; flattening the data tree into
//! records (parents repeated on each detail record, sibling regions side by side
//! "diagonally"); Excel-mode blocks (body textboxes once, then one block per top-level data
//! region, each with its header, separated by an empty record) versus compliant mode (one
//! header, invariant unformatted values); quoting only when needed.
//! Must not: write page headers/footers, images, lines or constant labels.

use std::collections::HashMap;
use std::io::Write;

use engine::instance::{Instance, RowTexts, Textbox};

use crate::data::{Node, StreamRows, Streamed, WalkOptions, report_children};
use crate::{DeviceInfo, RenderError, invariant_text};

/// Output encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 with a byte-order mark (what .NET's UTF-8 writer does).
    Utf8,
    /// ASCII: other characters become `?`.
    Ascii,
    /// UTF-16 little endian with a byte-order mark (`Unicode`).
    Utf16,
}

/// CSV settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Between fields (default `,`).
    pub field_delimiter: String,
    /// After each record (default CR LF).
    pub record_delimiter: String,
    /// Quote character (default `"`).
    pub qualifier: String,
    /// Omit header rows.
    pub no_header: bool,
    /// Output encoding.
    pub encoding: Encoding,
    /// Excel mode (default true).
    pub excel_mode: bool,
    /// Formatted values (default = `excel_mode`).
    pub use_formatted_values: bool,
    /// Remove CR and LF from values.
    pub suppress_line_breaks: bool,
    /// File extension for Content-Disposition (default `csv`).
    pub file_extension: String,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            field_delimiter: ",".into(),
            record_delimiter: "\r\n".into(),
            qualifier: "\"".into(),
            no_header: false,
            encoding: Encoding::Utf8,
            excel_mode: true,
            use_formatted_values: true,
            suppress_line_breaks: false,
            file_extension: "csv".into(),
        }
    }
}

impl CsvOptions {
    /// Parses and checks the device information.
    pub fn from_device_info(d: &DeviceInfo) -> Result<CsvOptions, RenderError> {
        let mut o = CsvOptions::default();
        if let Some(v) = d.get("FieldDelimiter") {
            o.field_delimiter = v.to_owned();
        }
        if let Some(v) = d.get("RecordDelimiter") {
            o.record_delimiter = v.to_owned();
        }
        if let Some(v) = d.get("Qualifier") {
            o.qualifier = v.to_owned();
        }
        o.no_header = d.bool("NoHeader", false)?;
        o.excel_mode = d.bool("ExcelMode", true)?;
        o.use_formatted_values = d.bool("UseFormattedValues", o.excel_mode)?;
        o.suppress_line_breaks = d.bool("SuppressLineBreaks", false)?;
        if let Some(v) = d.get("FileExtension") {
            o.file_extension = v.to_owned();
        }
        if let Some(v) = d.get("Encoding") {
            o.encoding = match v.to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" => Encoding::Utf8,
                "ascii" | "us-ascii" => Encoding::Ascii,
                "unicode" | "utf-16" | "utf-16le" => Encoding::Utf16,
                _ => {
                    return Err(RenderError::DeviceInfo {
                        setting: "Encoding",
                        problem: format!(
                            "{v:?} is not supported; use UTF-8, ASCII or Unicode (UTF-16)"
                        ),
                    });
                }
            };
        }
        o.check()?;
        Ok(o)
    }

    fn check(&self) -> Result<(), RenderError> {
        let err = |setting, problem: &str| {
            Err(RenderError::DeviceInfo {
                setting,
                problem: problem.to_owned(),
            })
        };
        if self.field_delimiter.is_empty() {
            return err("FieldDelimiter", "must not be empty");
        }
        if self.record_delimiter.is_empty() {
            return err("RecordDelimiter", "must not be empty");
        }
        if self.qualifier.is_empty() {
            return err("Qualifier", "must not be empty");
        }
        if self.field_delimiter == self.record_delimiter {
            return err("FieldDelimiter", "must differ from RecordDelimiter");
        }
        if self.qualifier == self.field_delimiter {
            return err("Qualifier", "must differ from FieldDelimiter");
        }
        if self.qualifier == self.record_delimiter {
            return err("Qualifier", "must differ from RecordDelimiter");
        }
        if self.suppress_line_breaks
            && (self.qualifier.trim().is_empty() || self.qualifier.contains('\n'))
        {
            return err(
                "Qualifier",
                "with SuppressLineBreaks=true the qualifier must not be blank or contain a line feed",
            );
        }
        Ok(())
    }
}

/// One flattened record: (column index, textbox).
type Record<'a> = Vec<(usize, &'a Textbox)>;

/// A record, or the records of a streamed tablix's rows (each `prefix` + the row's record),
/// flattened while they are written.
enum Rec<'a> {
    Plain(Record<'a>),
    Streamed {
        prefix: Record<'a>,
        rows: StreamRows<'a>,
        /// The collection's path.
        path: String,
    },
}

#[derive(Default)]
struct Columns {
    by_key: HashMap<String, usize>,
    names: Vec<String>,
}

impl Columns {
    /// The column of the value at `key` (its path); allocates only for a new column.
    fn id(&mut self, key: &str, name: &str) -> usize {
        if let Some(&c) = self.by_key.get(key) {
            return c;
        }
        let next = self.names.len();
        self.by_key.insert(key.to_owned(), next);
        self.names.push(name.to_owned());
        next
    }
}

/// Flattens `nodes` into records; `path` is the nodes' parent path (`/A/B`), restored to
/// what it was on return.
fn flatten<'a, 'n>(
    nodes: impl IntoIterator<Item = &'n Node<'a>>,
    path: &mut String,
    cols: &mut Columns,
) -> Vec<Rec<'a>>
where
    'a: 'n,
{
    let mut prefix: Record<'a> = Vec::new();
    let mut subs: Vec<Vec<Rec<'a>>> = Vec::new();
    let base = path.len();
    for n in nodes {
        path.push('/');
        path.push_str(n.name());
        match n {
            Node::Value { name, textbox, .. } => {
                prefix.push((cols.id(path, name), *textbox));
            }
            Node::Element { children, .. } => {
                subs.push(flatten(children, path, cols));
            }
            Node::Collection { instances, .. } => {
                let mut rows = Vec::new();
                for inst in instances {
                    if let Node::Element { children, .. } = inst {
                        rows.extend(flatten(children, path, cols));
                    }
                }
                subs.push(rows);
            }
            Node::Stream { rows, .. } => {
                // the columns of the rows, in the order the tree would have made them
                if !rows.is_empty() {
                    // only columns are kept; a bind error shows again when the row is written
                    let _ = rows.with_instance(0, |inst| {
                        if let Node::Element { children, .. } = inst {
                            flatten(children, &mut path.clone(), cols);
                        }
                        Ok(())
                    });
                }
                subs.push(vec![Rec::Streamed {
                    prefix: Vec::new(),
                    rows: *rows,
                    path: path.clone(),
                }]);
            }
        }
        path.truncate(base);
    }
    let mut rows: Vec<Rec<'a>> = Vec::new();
    for sub in subs {
        for r in sub {
            let mut rec = prefix.clone();
            match r {
                Rec::Plain(r) => {
                    rec.extend(r);
                    rows.push(Rec::Plain(rec));
                }
                Rec::Streamed {
                    prefix: p,
                    rows: s,
                    path,
                } => {
                    rec.extend(p);
                    rows.push(Rec::Streamed {
                        prefix: rec,
                        rows: s,
                        path,
                    });
                }
            }
        }
    }
    if rows.is_empty() && !prefix.is_empty() {
        rows.push(Rec::Plain(prefix));
    }
    rows
}

struct Out<'w, W: Write> {
    w: &'w mut W,
    /// Encoded output not yet written to `w` (written in blocks of about [`OUT_BLOCK`]).
    buf: Vec<u8>,
    enc: Encoding,
    /// [`special_bytes`] of the options, as a table by byte and a list.
    special: Option<Special>,
}

/// Bytes [`Out`] gathers before it writes them.
const OUT_BLOCK: usize = 16 * 1024;

impl<W: Write> Out<'_, W> {
    fn put(&mut self, s: &str) -> std::io::Result<()> {
        match self.enc {
            Encoding::Utf8 => self.buf.extend_from_slice(s.as_bytes()),
            Encoding::Ascii => self
                .buf
                .extend(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' })),
            Encoding::Utf16 => self.buf.extend(s.encode_utf16().flat_map(u16::to_le_bytes)),
        }
        if self.buf.len() >= OUT_BLOCK {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes what was gathered.
    fn write_out(&mut self) -> std::io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Renders `inst` as CSV.
pub fn render<W: Write>(inst: &Instance, o: &CsvOptions, w: &mut W) -> Result<(), RenderError> {
    let inst = &*crate::data::walkable(inst)?;
    o.check()?;
    let nodes = report_children(
        inst,
        WalkOptions {
            transparent_rectangles: true,
        },
    );
    let mut out = Out {
        w,
        buf: Vec::with_capacity(OUT_BLOCK + 1024),
        enc: o.encoding,
        special: special_bytes(o).map(Special::new),
    };
    match o.encoding {
        Encoding::Utf8 => out.buf.extend_from_slice(b"\xEF\xBB\xBF"),
        Encoding::Utf16 => out.buf.extend_from_slice(b"\xFF\xFE"),
        Encoding::Ascii => {}
    }
    let r = write_all_blocks(&mut out, o, &nodes);
    // what was gathered before an error is written as it was before the error
    out.write_out()?;
    r?;
    out.w.flush()?;
    Ok(())
}

fn write_all_blocks<W: Write>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    nodes: &[Node<'_>],
) -> Result<(), RenderError> {
    if o.excel_mode {
        // block 1: the top-level textboxes; then one block per top-level data region
        let mut blocks: Vec<Vec<&Node<'_>>> = Vec::new();
        let values: Vec<&Node<'_>> = nodes
            .iter()
            .filter(|n| matches!(n, Node::Value { .. }))
            .collect();
        if !values.is_empty() {
            blocks.push(values);
        }
        for n in nodes.iter().filter(|n| !matches!(n, Node::Value { .. })) {
            blocks.push(vec![n]);
        }
        let mut first = true;
        for block in blocks {
            let mut cols = Columns::default();
            let rows = flatten(block, &mut String::new(), &mut cols);
            if !first {
                out.put(&o.record_delimiter)?;
            }
            first = false;
            write_block(out, o, &mut cols, &rows)?;
        }
    } else {
        let mut cols = Columns::default();
        let rows = flatten(nodes, &mut String::new(), &mut cols);
        write_block(out, o, &mut cols, &rows)?;
    }
    Ok(())
}

fn write_block<W: Write>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    cols: &mut Columns,
    rows: &[Rec<'_>],
) -> Result<(), RenderError> {
    if cols.names.is_empty() {
        return Ok(());
    }
    if !o.no_header {
        for (i, name) in cols.names.iter().enumerate() {
            if i > 0 {
                out.put(&o.field_delimiter)?;
            }
            out.put(&field(name, o))?;
        }
        out.put(&o.record_delimiter)?;
    }
    let width = cols.names.len();
    for rec in rows {
        match rec {
            Rec::Plain(r) => write_record(out, o, width, r.iter().copied())?,
            Rec::Streamed { prefix, rows, path } => {
                // a row of values only: its columns, by value name, found once
                // (value names, their columns, whether those are the record's columns in order)
                let mut known: Option<(Vec<String>, Vec<usize>, bool)> = None;
                let mut last_matched = false;
                rows.each_instance_or_texts(|_, inst| {
                    let (inst, same) = match inst {
                        Streamed::Element { node, same } => (node, same),
                        // a record of the last one's kind: its values in order (below)
                        Streamed::Texts(texts) => {
                            return write_texts(out, o, texts).map(|()| true);
                        }
                    };
                    let Node::Element { children, .. } = inst else {
                        return Ok(false);
                    };
                    // the names are compared unless the element has the shape of the last
                    // one, which matched them
                    let matched = last_matched && same;
                    last_matched = false;
                    if let Some((names, ids, in_order)) = &known
                        && names.len() == children.len()
                        && (matched
                            || children.iter().zip(names).all(
                                |(n, name)| matches!(n, Node::Value { .. } if n.name() == name),
                            ))
                    {
                        last_matched = true;
                        // the record is the row's values in order: written as they are
                        if *in_order && let Some(sp) = fast_fields(out, o) {
                            let fields = children.iter().map(|n| match n {
                                Node::Value { textbox, .. } => Some(*textbox),
                                _ => None,
                            });
                            // the next such record may come as its texts
                            return write_fields(out, o, sp, fields).map(|()| true);
                        }
                        let values = children.iter().zip(ids).filter_map(|(n, &c)| match n {
                            Node::Value { textbox, .. } => Some((c, *textbox)),
                            _ => None,
                        });
                        return write_record(out, o, width, prefix.iter().copied().chain(values))
                            .map(|()| false);
                    }
                    if known.is_none() && children.iter().all(|n| matches!(n, Node::Value { .. })) {
                        let mut key = path.clone();
                        let ids: Vec<usize> = children
                            .iter()
                            .map(|n| {
                                key.truncate(path.len());
                                key.push('/');
                                key.push_str(n.name());
                                cols.id(&key, n.name())
                            })
                            .collect();
                        let names = children.iter().map(|n| n.name().to_owned()).collect();
                        let in_order = prefix.is_empty()
                            && ids.len() == width
                            && ids.iter().enumerate().all(|(i, &c)| i == c);
                        known = Some((names, ids, in_order));
                    }
                    for r in flatten(children, &mut path.clone(), cols) {
                        // a streamed row holds no nested streams
                        if let Rec::Plain(r) = r {
                            write_record(out, o, width, prefix.iter().chain(&r).copied())?;
                        }
                    }
                    Ok(false)
                })?;
            }
        }
    }
    Ok(())
}

/// The special bytes when fields take [`write_fields`]: formatted values in UTF-8 with ASCII
/// delimiters (the usual case).
fn fast_fields<W: Write>(out: &Out<'_, W>, o: &CsvOptions) -> Option<Special> {
    if o.use_formatted_values && out.enc == Encoding::Utf8 {
        out.special
    } else {
        None
    }
}

/// Writes one record of [`fast_fields`]'s kind, its fields in order (`None`: an empty field):
/// each field's bytes are checked and copied in one pass, the delimiters pushed as they are,
/// one block check a record.
fn write_fields<'t, W: Write>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    sp: Special,
    fields: impl Iterator<Item = Option<&'t Textbox>>,
) -> Result<(), RenderError> {
    push_fields(out, o, Some(sp), fields.map(|c| c.map(Textbox::text_ref)))
}

/// Writes one record of [`fast_fields`]'s kind from its fields' texts in order: the texts
/// are checked together (one pass over the record's bytes), and copied as they are when none
/// needs a change.
fn write_texts<W: Write>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    texts: &RowTexts,
) -> Result<(), RenderError> {
    let Some(sp) = fast_fields(out, o) else {
        // (texts follow a record of fast_fields' kind only; this is what write_record does)
        for (i, text) in texts.iter().enumerate() {
            if i > 0 {
                out.put(&o.field_delimiter)?;
            }
            put_field(out, text, o)?;
        }
        out.put(&o.record_delimiter)?;
        return Ok(());
    };
    let check = sp.any_in(texts.joined().as_bytes()).then_some(sp);
    push_fields(out, o, check, texts.iter().map(Some))
}

/// [`write_fields`] of texts: each one checked by `check` (and changed by [`field`] when it
/// must be), or copied as it is when `check` is `None` (the caller checked them all).
fn push_fields<W: Write, S: AsRef<str>>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    check: Option<Special>,
    fields: impl Iterator<Item = Option<S>>,
) -> Result<(), RenderError> {
    let fd = o.field_delimiter.as_bytes();
    for (i, text) in fields.enumerate() {
        if i > 0 {
            match fd {
                [b] => out.buf.push(*b),
                _ => out.buf.extend_from_slice(fd),
            }
        }
        let Some(text) = text else {
            continue;
        };
        let text = text.as_ref();
        match check {
            None => out.buf.extend_from_slice(text.as_bytes()),
            Some(sp) if sp.copy_plain(text, &mut out.buf) => {}
            Some(_) => out.buf.extend_from_slice(field(text, o).as_bytes()),
        }
    }
    out.buf.extend_from_slice(o.record_delimiter.as_bytes());
    if out.buf.len() >= OUT_BLOCK {
        out.write_out()?;
    }
    Ok(())
}

/// Writes one record of `width` columns (a value past them, which only a streamed row could
/// add, is not written).
fn write_record<'t, W: Write>(
    out: &mut Out<'_, W>,
    o: &CsvOptions,
    width: usize,
    rec: impl Iterator<Item = (usize, &'t Textbox)>,
) -> Result<(), RenderError> {
    // the usual record fits on the stack: no allocation per row
    let mut stack: [Option<&Textbox>; 32] = [None; 32];
    let mut heap: Vec<Option<&Textbox>> = Vec::new();
    let line: &mut [Option<&Textbox>] = if width <= stack.len() {
        &mut stack[..width]
    } else {
        heap.resize(width, None);
        &mut heap
    };
    for (c, tb) in rec {
        if let Some(slot) = line.get_mut(c) {
            *slot = Some(tb);
        }
    }
    if let Some(sp) = fast_fields(out, o) {
        return write_fields(out, o, sp, line.iter().copied());
    }
    for (i, cell) in line.iter().enumerate() {
        if i > 0 {
            out.put(&o.field_delimiter)?;
        }
        if let Some(tb) = cell {
            if !o.use_formatted_values && tb.value.is_null() {
                continue;
            }
            if o.use_formatted_values {
                put_field(out, &tb.text_ref(), o)?;
            } else {
                put_field(out, &invariant_text(&tb.value), o)?;
            }
        }
    }
    out.put(&o.record_delimiter)?;
    Ok(())
}

/// Writes one field as [`field`] does, without copying a field that needs no change.
fn put_field<W: Write>(out: &mut Out<'_, W>, value: &str, o: &CsvOptions) -> std::io::Result<()> {
    if needs_change_with(value, o, out.special.as_ref()) {
        out.put(&field(value, o))
    } else {
        out.put(value)
    }
}

/// The ASCII bytes that make [`field`] change a value, as a bit set; `None` when one of
/// the characters is not ASCII.
fn special_bytes(o: &CsvOptions) -> Option<u128> {
    let firsts = [&o.field_delimiter, &o.record_delimiter, &o.qualifier]
        .map(|d| d.chars().next().unwrap_or('\u{0}'));
    if !firsts.iter().all(char::is_ascii) {
        return None;
    }
    let mut mask: u128 = (1 << b'\r') | (1 << b'\n');
    if o.excel_mode {
        mask |= 1 << b'\t';
    }
    for c in firsts {
        mask |= 1 << (c as u32);
    }
    Some(mask)
}

/// The bytes of [`special_bytes`]: a table (one load per byte) and, for eight bytes at a
/// time, the list (at most six: tab, CR, LF and three delimiter characters).
#[derive(Clone, Copy)]
struct Special {
    table: [bool; 128],
    list: [u8; 8],
    len: usize,
}

impl Special {
    fn new(mask: u128) -> Special {
        let mut list = [0u8; 8];
        let mut len = 0;
        for b in 0..128u8 {
            if mask >> b & 1 == 1 && len < list.len() {
                list[len] = b;
                len += 1;
            }
        }
        Special {
            table: std::array::from_fn(|b| mask >> b & 1 == 1),
            list,
            len,
        }
    }

    /// Appends `value` to `buf` when it holds none of the bytes (then true); otherwise
    /// leaves `buf` as it was (false).
    fn copy_plain(&self, value: &str, buf: &mut Vec<u8>) -> bool {
        if self.any_in(value.as_bytes()) {
            return false;
        }
        buf.extend_from_slice(value.as_bytes());
        true
    }

    /// True when `value` holds one of the bytes.
    fn any_in(&self, value: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let mut words = value.chunks_exact(8);
        for w in &mut words {
            let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            for &c in &self.list[..self.len] {
                // a zero byte in `v ^ c..c`: the byte `c` is in the word
                let x = v ^ (ONES * u64::from(c));
                if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
                    return true;
                }
            }
        }
        words
            .remainder()
            .iter()
            .any(|&b| self.table.get(usize::from(b)).copied().unwrap_or(false))
    }
}

/// True when [`field`] would change `value`: it holds a tab (Excel mode), CR, LF, or the
/// first character of a delimiter or the qualifier (which the qualifier itself starts with).
/// One pass over the bytes when those characters are ASCII (an ASCII byte never occurs inside
/// a multi-byte UTF-8 character), over the characters otherwise.
/// `special` is [`special_bytes`] of `o`, computed once per render.
fn needs_change_with(value: &str, o: &CsvOptions, special: Option<&Special>) -> bool {
    if let Some(sp) = special {
        sp.any_in(value.as_bytes())
    } else {
        let firsts = [&o.field_delimiter, &o.record_delimiter, &o.qualifier]
            .map(|d| d.chars().next().unwrap_or('\u{0}'));
        (o.excel_mode && value.contains('\t'))
            || value.contains(['\r', '\n'])
            || value.chars().any(|c| firsts.contains(&c))
    }
}

/// One field: qualified only when it contains the qualifier, CR, LF or the first character
/// of a delimiter; embedded qualifiers doubled.
pub fn field(value: &str, o: &CsvOptions) -> String {
    let mut v: String = if o.excel_mode {
        value.replace('\t', " ")
    } else {
        value.to_owned()
    };
    if o.suppress_line_breaks {
        v.retain(|c| c != '\r' && c != '\n');
    }
    let firsts = [&o.field_delimiter, &o.record_delimiter, &o.qualifier]
        .map(|d| d.chars().next().unwrap_or('\u{0}'));
    let needs = v.contains(&o.qualifier)
        || v.contains(['\r', '\n'])
        || v.chars().any(|c| firsts.contains(&c));
    if needs {
        let doubled = format!("{0}{0}", o.qualifier);
        format!(
            "{q}{}{q}",
            v.replace(&o.qualifier, &doubled),
            q = o.qualifier
        )
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_only_when_needed() {
        let o = CsvOptions::default();
        assert_eq!(field("plain text", &o), "plain text");
        assert_eq!(field("a,b", &o), "\"a,b\"");
        assert_eq!(field("say \"hi\"", &o), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\r\nlines", &o), "\"two\r\nlines\"");
        assert_eq!(field("tab\there", &o), "tab here");
        let tab = CsvOptions {
            field_delimiter: "\t".into(),
            excel_mode: false,
            ..o.clone()
        };
        assert_eq!(field("a,b", &tab), "a,b");
        assert_eq!(field("a\tb", &tab), "\"a\tb\"");
        let s = CsvOptions {
            suppress_line_breaks: true,
            ..o
        };
        assert_eq!(field("two\r\nlines", &s), "twolines");
    }

    #[test]
    fn copy_plain_is_put_field() {
        for o in [
            CsvOptions::default(),
            CsvOptions {
                excel_mode: false,
                field_delimiter: "\t".into(),
                ..CsvOptions::default()
            },
            CsvOptions {
                field_delimiter: ";".into(),
                qualifier: "'".into(),
                record_delimiter: "\n".into(),
                ..CsvOptions::default()
            },
            // a letter as the delimiter
            CsvOptions {
                field_delimiter: "A".into(),
                ..CsvOptions::default()
            },
        ] {
            let sp = Special::new(special_bytes(&o).unwrap());
            for v in [
                "BAB",
                "1234567",
                "12345678",
                "123456789",
                "1234567,",
                "12345678,",
                "123456789012345,",
                "1234567890123456,",
                "12345678901234567,",
                "12345678901234A",
                "",
                "plain",
                "a,b",
                "say \"hi\"",
                "two\r\nlines",
                "tab\there",
                "it's",
                "a;b",
                "ünï,cödé",
                "ünïcödé",
                "x\n",
            ] {
                let mut slow = Vec::new();
                let mut w = Out {
                    w: &mut slow,
                    buf: Vec::new(),
                    enc: Encoding::Utf8,
                    special: Some(sp),
                };
                put_field(&mut w, v, &o).unwrap();
                w.write_out().unwrap();
                let mut fast = b"x".to_vec();
                if !sp.copy_plain(v, &mut fast) {
                    assert_eq!(fast, b"x", "{v:?}");
                    fast.extend_from_slice(field(v, &o).as_bytes());
                }
                assert_eq!(fast[1..], slow[..], "{v:?} {o:?}");
            }
        }
    }

    #[test]
    fn needs_change_is_what_field_changes() {
        let o = CsvOptions::default();
        let opts = [
            o.clone(),
            CsvOptions {
                excel_mode: false,
                field_delimiter: "\t".into(),
                ..o.clone()
            },
            CsvOptions {
                field_delimiter: "§;".into(),
                qualifier: "'".into(),
                record_delimiter: "\n".into(),
                ..o.clone()
            },
            CsvOptions {
                field_delimiter: "¦".into(),
                qualifier: "«".into(),
                suppress_line_breaks: true,
                ..o
            },
        ];
        let values = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "two\r\nlines",
            "lf\n",
            "tab\there",
            "x;y",
            "§",
            "a§b",
            "it's",
            "«q»",
            "¦",
            "Grüße 12.50",
            "日本語",
            "\u{0}",
            "a longer plain value of many words",
            "a longer value, with a comma late",
            "twelve bytes\n",
            "quote at sixteen\"",
            "«long» ünïcödé text without specials",
            "«long» ünïcödé text; with a semicolon",
            "0123456789abcdef¦",
        ];
        for o in &opts {
            for v in values {
                assert_eq!(
                    needs_change_with(v, o, special_bytes(o).map(Special::new).as_ref()),
                    field(v, o) != v,
                    "{v:?} with {o:?}"
                );
                assert_eq!(needs_change_with(v, o, None), field(v, o) != v, "{v:?}");
            }
        }
    }

    #[test]
    fn bad_settings_are_refused_before_output() {
        let mut m = HashMap::new();
        m.insert("rc:Qualifier".to_owned(), ",".to_owned());
        let e = CsvOptions::from_device_info(&DeviceInfo::new(&m))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Qualifier") && e.contains("FieldDelimiter"),
            "{e}"
        );
        let mut m = HashMap::new();
        m.insert("FieldDelimiter".to_owned(), "\r\n".to_owned());
        let e = CsvOptions::from_device_info(&DeviceInfo::new(&m))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RecordDelimiter"), "{e}");
        let mut m = HashMap::new();
        m.insert("Encoding".to_owned(), "EBCDIC".to_owned());
        let e = CsvOptions::from_device_info(&DeviceInfo::new(&m))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Encoding") && e.contains("EBCDIC"), "{e}");
    }
}
