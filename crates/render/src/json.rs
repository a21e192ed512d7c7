//! JSON (`rs:Format=JSON`, reportd's own format; design note §2.5).
//!
//! The same walk as XML (same names, same `DataElementOutput` rules, same order), mapped:
//!
//! ```text
//! { "Name": "<report name>",            // the report, as XML's root element
//!   "<Textbox>": <value>,                // a textbox (attribute or element style alike)
//!   "<Rectangle/Tablix/Subreport>": {…}, // an element → an object
//!   "<Group>_Collection": [ {…}, … ] }   // a dynamic member → an array of instances
//! ```
//!
//! Values are typed: `null`, booleans, integers and doubles as numbers, decimals as numbers
//! written with their scale (`1.50`), strings, DateTime as `"2009-01-05T00:00:00"`,
//! non-finite doubles as strings (`"NaN"`), arrays for multi-value results. With
//! `UseFormattedValues=true` every value is its formatted text. Device information:
//! `Indented`, `UseFormattedValues`. Must not: write page headers/footers, images or lines.

use std::io::Write;

use engine::instance::Instance;
use rdl::Value;

use crate::data::{Node, WalkOptions, check_unique, report_children};
use crate::{DeviceInfo, RenderError, xsd_text};

/// JSON settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonOptions {
    /// Pretty-print with two-space indents.
    pub indented: bool,
    /// Formatted text instead of typed values.
    pub use_formatted_values: bool,
}

impl JsonOptions {
    /// Parses the device information.
    pub fn from_device_info(d: &DeviceInfo) -> Result<JsonOptions, RenderError> {
        Ok(JsonOptions {
            indented: d.bool("Indented", false)?,
            use_formatted_values: d.bool("UseFormattedValues", false)?,
        })
    }
}

/// Writes `s` as a JSON string literal.
pub fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` escaped too so a JSON document is safe inside a script element
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn value(v: &Value, out: &mut String) {
    use std::fmt::Write as _;
    match v {
        Value::Null | Value::Bytes(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if x.is_finite() => {
            let _ = write!(out, "{x}");
        }
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        // as `xsd_text` makes them, without a String each
        Value::Str(s) => string(s, out),
        Value::DateTime(t) => {
            // digits, `-`, `:`, `.`, `T`: nothing to escape
            out.push('"');
            crate::xml::xsd_datetime_into(t, out);
            out.push('"');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(x, out);
            }
            out.push(']');
        }
        other => string(&xsd_text(other), out),
    }
}

/// Renders `inst` as JSON.
pub fn render<W: Write>(inst: &Instance, o: &JsonOptions, w: &mut W) -> Result<(), RenderError> {
    let inst = &*crate::data::walkable(inst)?;
    let nodes = report_children(
        inst,
        WalkOptions {
            transparent_rectangles: false,
        },
    );
    check_unique(&nodes)?;
    let mut j = Json {
        s: String::with_capacity(64 * 1024),
        o: *o,
        w,
        depth: 0,
    };
    j.s.push('{');
    j.depth = 1;
    j.newline();
    string("Name", &mut j.s);
    j.colon();
    string(&inst.name, &mut j.s);
    j.members(&nodes, true)?;
    j.depth = 0;
    j.newline();
    j.s.push('}');
    if o.indented {
        j.s.push('\n');
    }
    j.flush()?;
    Ok(())
}

struct Json<'w, W: Write> {
    s: String,
    o: JsonOptions,
    w: &'w mut W,
    depth: usize,
}

impl<W: Write> Json<'_, W> {
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.write_all(self.s.as_bytes())?;
        self.s.clear();
        Ok(())
    }
    fn newline(&mut self) {
        if self.o.indented {
            self.s.push('\n');
            for _ in 0..self.depth {
                self.s.push_str("  ");
            }
        }
    }
    fn colon(&mut self) {
        self.s.push_str(if self.o.indented { ": " } else { ":" });
    }

    /// Writes the properties of an open object; `first_done` when one was written already.
    fn members(&mut self, nodes: &[Node<'_>], mut first_done: bool) -> Result<(), RenderError> {
        for n in nodes {
            if first_done {
                self.s.push(',');
            }
            first_done = true;
            self.newline();
            string(n.name(), &mut self.s);
            self.colon();
            self.node(n)?;
            if self.s.len() > 32 * 1024 {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn object(&mut self, children: &[Node<'_>]) -> Result<(), RenderError> {
        self.s.push('{');
        if children.is_empty() {
            self.s.push('}');
            return Ok(());
        }
        self.depth += 1;
        self.members(children, false)?;
        self.depth -= 1;
        self.newline();
        self.s.push('}');
        Ok(())
    }

    fn node(&mut self, n: &Node<'_>) -> Result<(), RenderError> {
        match n {
            Node::Value { textbox, .. } => {
                if self.o.use_formatted_values {
                    string(&textbox.text_ref(), &mut self.s);
                } else {
                    value(&textbox.value, &mut self.s);
                }
            }
            Node::Element { children, .. } => self.object(children)?,
            Node::Collection { instances, .. } => {
                self.s.push('[');
                self.depth += 1;
                for (i, inst) in instances.iter().enumerate() {
                    if i > 0 {
                        self.s.push(',');
                    }
                    self.newline();
                    match inst {
                        Node::Element { children, .. } => self.object(children)?,
                        other => self.node(other)?,
                    }
                    if self.s.len() > 32 * 1024 {
                        self.flush()?;
                    }
                }
                self.depth -= 1;
                if !instances.is_empty() {
                    self.newline();
                }
                self.s.push(']');
            }
            Node::Stream { rows, .. } => {
                // what a collection of these instances writes
                self.s.push('[');
                self.depth += 1;
                rows.each_instance(|i, inst, _| {
                    if i > 0 {
                        self.s.push(',');
                    }
                    self.newline();
                    match inst {
                        Node::Element { children, .. } => self.object(children)?,
                        other => self.node(other)?,
                    }
                    if self.s.len() > 32 * 1024 {
                        self.flush()?;
                    }
                    Ok(())
                })?;
                self.depth -= 1;
                if !rows.is_empty() {
                    self.newline();
                }
                self.s.push(']');
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_dates_are_written_as_xsd_text_makes_them() {
        let t = time::macros::datetime!(2024-02-29 23:05:09);
        for v in [
            Value::str("a \"b\" </c>\n"),
            Value::str(""),
            Value::DateTime(t),
            Value::DateTime(t + time::Duration::nanoseconds(5_000)),
        ] {
            let mut want = String::new();
            string(&xsd_text(&v), &mut want);
            let mut got = String::new();
            value(&v, &mut got);
            assert_eq!(got, want, "{v:?}");
        }
        let mut got = String::new();
        value(
            &Value::Decimal(rust_decimal::Decimal::new(-1050, 2)),
            &mut got,
        );
        value(&Value::Int(-7), &mut got);
        value(&Value::Float(0.25), &mut got);
        assert_eq!(got, "-10.50-70.25");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        string("a\"b\\c\n</script>\u{1}", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u003c/script>\\u0001\"");
    }
}
