//! The bind side of `Subreport` items: the passed parameters evaluated in the parent's scope
//! (so a subreport in a tablix cell gets that row's values), the run through
//! [`crate::subreport`], `NoRowsMessage`, and the cells charged to the parent's limit.
//! Must not: load definitions or data (the caller's [`crate::subreport::SubreportSource`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use rdl::Value;

use rdl::model;

use super::{Ev, Shared};
use crate::EngineError;
use crate::instance as inst;
use crate::subreport;

impl Shared {
    /// The instance of one `Subreport` item, or the message shown in its place.
    pub(super) fn subreport(
        &self,
        s: &model::Subreport,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::ItemKind, EngineError> {
        let path = subreport::resolve_path(&self.c.path, &s.report_name);
        let mut input: HashMap<String, Vec<Option<String>>> = HashMap::new();
        for p in &s.parameters {
            if let Some(o) = &p.omit
                && self.eval_bool(o, ev, item)?
            {
                continue;
            }
            let values = match self.eval_in(&p.value, ev, item)? {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| (!v.is_null()).then(|| crate::params::value_text(v)))
                    .collect(),
                Some(Value::Null) => vec![None],
                Some(v) => vec![Some(crate::params::value_text(&v))],
                // the failure is already a warning; the subreport sees no value
                None => continue,
            };
            input.insert(p.name.clone(), values);
        }
        let used = self.cells.load(Ordering::Relaxed);
        let left = self.opts.max_cells.saturating_sub(used);
        // a subreport's tablix is bound in the tree (its rows never stream)
        let opts = crate::BindOptions {
            stream_details: false,
            ..self.opts.clone()
        };
        let run = subreport::run(&self.c, &path, input, &self.globals, &opts, left)?;
        match run {
            Ok(r) => {
                self.cells
                    .fetch_add(subreport::count_items(&r.instance), Ordering::Relaxed);
                if r.no_rows
                    && let Some(m) = &s.no_rows_message
                {
                    let text = self
                        .eval_str(&Some(m.clone()), ev, item)?
                        .unwrap_or_default();
                    return Ok(inst::ItemKind::Textbox(Box::new(message_box(text))));
                }
                for w in &r.instance.warnings() {
                    self.warn(item, w);
                }
                Ok(inst::ItemKind::Subreport(Ok(Box::new(r.instance))))
            }
            Err(msg) => {
                self.warn(item, &msg);
                Ok(inst::ItemKind::Subreport(Err(msg)))
            }
        }
    }
}

/// A plain textbox showing `text` (a subreport's `NoRowsMessage`).
fn message_box(text: String) -> inst::Textbox {
    let value = Value::str(text.as_str());
    inst::Textbox {
        paragraphs: vec![inst::Paragraph {
            runs: vec![inst::Run {
                text,
                value: value.clone(),
                style: inst::TextStyle::default(),
                action: None,
                format: None,
            }],
            align: inst::TextAlign::default(),
            left_indent: 0,
        }],
        value,
        constant: false,
        element_style: None,
        action: None,
        toggle: None,
        sort: None,
        can_grow: true,
        can_shrink: false,
    }
}
