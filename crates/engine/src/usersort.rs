//! Interactive sort (`UserSort` on a textbox): which group a sort button reorders, and the
//! choice the user made (`rs:SortId`, `rs:SortDirection`).
//!
//! Owns: [`UserSortChoice`] (what [`crate::BindOptions::user_sorts`] carries) and
//! [`sort_targets`] (for every textbox with a `UserSort`: the row group whose instances it
//! sorts and the expression). Must not: evaluate anything (bind evaluates the expression in
//! the sorted group's scope, as a sort key ahead of the group's own `SortExpressions`).

use std::collections::HashMap;

use rdl::model::{self, Expression, ItemKind, ReportItem, TablixMember};

/// One sort the user chose: the sort button's id (the textbox's name, `rs:SortId`) and the
/// direction (`rs:SortDirection=Ascending|Descending`). Earlier choices sort first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSortChoice {
    /// The sort id (the textbox's name).
    pub id: String,
    /// True for `Ascending`.
    pub ascending: bool,
}

/// What a sort button sorts: the row group (by name) and the sort expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SortTarget {
    /// The group whose instances are reordered.
    pub group: String,
    /// `SortExpression`, evaluated in that group's scope.
    pub expression: Expression,
}

/// Every `UserSort` of the report by sort id (textbox name). `SortExpressionScope` (or else
/// `SortTarget`, or else the data region holding the textbox) names a group — sorted
/// itself — or a data region, whose innermost row group (its details) is sorted.
pub fn sort_targets(report: &model::Report) -> HashMap<String, SortTarget> {
    let mut groups: HashMap<String, ()> = HashMap::new();
    let mut regions: HashMap<String, String> = HashMap::new();
    let mut sorts: Vec<(String, &model::UserSort, Option<String>)> = Vec::new();
    for s in &report.sections {
        for i in &s.body.items {
            walk(i, None, &mut groups, &mut regions, &mut sorts);
        }
    }
    let mut out = HashMap::new();
    for (id, us, region) in sorts {
        let name = us
            .sort_expression_scope
            .clone()
            .or_else(|| us.sort_target.clone())
            .or(region);
        let Some(name) = name else { continue };
        let group = if groups.contains_key(&name) {
            Some(name)
        } else {
            regions.get(&name).cloned()
        };
        if let Some(group) = group {
            out.insert(
                id,
                SortTarget {
                    group,
                    expression: us.sort_expression.clone(),
                },
            );
        }
    }
    out
}

type Sorts<'a> = Vec<(String, &'a model::UserSort, Option<String>)>;

fn walk<'a>(
    i: &'a ReportItem,
    region: Option<&str>,
    groups: &mut HashMap<String, ()>,
    regions: &mut HashMap<String, String>,
    sorts: &mut Sorts<'a>,
) {
    match &i.kind {
        ItemKind::Textbox(tb) => {
            if let Some(us) = &tb.user_sort {
                sorts.push((i.name.clone(), us, region.map(str::to_owned)));
            }
        }
        ItemKind::Rectangle(r) => {
            for c in &r.items {
                walk(c, region, groups, regions, sorts);
            }
        }
        ItemKind::Tablix(t) => {
            if let Some(g) = innermost(&t.row_hierarchy) {
                regions.insert(i.name.clone(), g);
            }
            let me = Some(i.name.as_str());
            fn members<'a>(
                ms: &'a [TablixMember],
                me: Option<&str>,
                groups: &mut HashMap<String, ()>,
                regions: &mut HashMap<String, String>,
                sorts: &mut Sorts<'a>,
            ) {
                for m in ms {
                    if let Some(g) = &m.group {
                        groups.insert(g.name.clone(), ());
                    }
                    if let Some(h) = &m.header {
                        walk(&h.contents.item, me, groups, regions, sorts);
                    }
                    members(&m.members, me, groups, regions, sorts);
                }
            }
            members(&t.row_hierarchy, me, groups, regions, sorts);
            members(&t.column_hierarchy, me, groups, regions, sorts);
            for row in &t.corner {
                for c in row.iter().flatten() {
                    walk(&c.item, me, groups, regions, sorts);
                }
            }
            for row in &t.rows {
                for c in row.cells.iter().flatten() {
                    walk(&c.item, me, groups, regions, sorts);
                }
            }
        }
        _ => {}
    }
}

/// The details group of a row hierarchy, else its deepest group.
fn innermost(ms: &[TablixMember]) -> Option<String> {
    fn deepest(ms: &[TablixMember], depth: usize, best: &mut Option<(usize, bool, String)>) {
        for m in ms {
            let d = depth + usize::from(m.group.is_some());
            if let Some(g) = &m.group {
                let cand = (d, g.is_details(), g.name.clone());
                let better = match best {
                    None => true,
                    Some((bd, bdet, _)) => (cand.1 && !*bdet) || (cand.1 == *bdet && d > *bd),
                };
                if better {
                    *best = Some(cand);
                }
            }
            deepest(&m.members, d, best);
        }
    }
    let mut best = None;
    deepest(ms, 0, &mut best);
    best.map(|b| b.2)
}
