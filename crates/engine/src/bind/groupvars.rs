//! Group `Variables`: a variable of a group is evaluated once per group instance, in that
//! instance's scope, and `Variables!X` inside the group sees the innermost instance's value
//! (report variables come after). Must not: evaluate report variables (bind does).

use std::collections::HashMap;

use rdl::Value;
use rdl::expr::{self, EvalError};
use rdl::model::{self, ItemKind, ReportItem, TablixMember};

use super::{Ev, lock};

/// The variables of every group of the report, by group name.
pub(super) fn group_variables(report: &model::Report) -> HashMap<String, Vec<model::Variable>> {
    fn item(i: &ReportItem, out: &mut HashMap<String, Vec<model::Variable>>) {
        match &i.kind {
            ItemKind::Rectangle(r) => r.items.iter().for_each(|c| item(c, out)),
            ItemKind::Tablix(t) => {
                fn member(m: &TablixMember, out: &mut HashMap<String, Vec<model::Variable>>) {
                    if let Some(g) = &m.group
                        && !g.variables.is_empty()
                    {
                        out.insert(g.name.clone(), g.variables.clone());
                    }
                    if let Some(h) = &m.header {
                        item(&h.contents.item, out);
                    }
                    m.members.iter().for_each(|c| member(c, out));
                }
                t.row_hierarchy.iter().for_each(|m| member(m, out));
                t.column_hierarchy.iter().for_each(|m| member(m, out));
                for row in &t.rows {
                    row.cells.iter().flatten().for_each(|c| item(&c.item, out));
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    for s in &report.sections {
        s.body.items.iter().for_each(|i| item(i, &mut out));
    }
    out
}

impl Ev<'_> {
    /// `Variables!name` of the innermost enclosing group instance that defines it.
    pub(super) fn group_variable(&self, name: &str) -> Option<Result<Value, EvalError>> {
        if self.sh.group_variables.is_empty() {
            return None;
        }
        for (i, f) in self.frames.iter().enumerate().rev() {
            let Some(def) = self
                .sh
                .group_variables
                .get(&*f.name)
                .and_then(|vs| vs.iter().find(|v| v.name == name))
            else {
                continue;
            };
            let key = (f.id, name.to_owned());
            if let Some(v) = lock(&self.sh.group_variable_values).get(&key) {
                return Some(Ok(v.clone()));
            }
            let x = match self.sh.c.expr(&def.value) {
                Ok(x) => x,
                Err(e) => return Some(Err(EvalError::Context(e.to_string()))),
            };
            let ev = Ev {
                sh: self.sh,
                frames: &self.frames[..=i],
                row: None,
                page: self.page,
                building: None,
            };
            let v = expr::eval(&x, &ev);
            if let Ok(v) = &v {
                lock(&self.sh.group_variable_values).insert(key, v.clone());
            }
            return Some(v);
        }
        None
    }
}
