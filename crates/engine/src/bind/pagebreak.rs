//! The bind side of logical page breaks (§2.2-5): `PageBreak` (`BreakLocation`, `Disabled`,
//! `ResetPageNumber`) and `PageName` on rectangles and data regions evaluated in the item's
//! scope, and the report's `InitialPageName`. Must not: paginate (that is [`crate::page`]).

use rdl::expr;
use rdl::model::{self, BreakLocation, ReportItem};

use super::{Ev, Shared};
use crate::EngineError;
use crate::instance as inst;

impl Shared {
    /// The evaluated break and page name of `def` (rectangles and data regions only; other
    /// items cannot break pages, and `Between` belongs to groups).
    pub(super) fn item_page_break(
        &self,
        def: &ReportItem,
        ev: &Ev<'_>,
    ) -> Result<Option<inst::PageBreak>, EngineError> {
        if !matches!(
            def.kind,
            model::ItemKind::Rectangle(_) | model::ItemKind::Tablix(_)
        ) {
            return Ok(None);
        }
        let mut out = inst::PageBreak::default();
        if let Some(b) = &def.page_break {
            let disabled = match &b.disabled {
                Some(d) => self.eval_bool(d, ev, &def.name)?,
                None => false,
            };
            if !disabled {
                (out.before, out.after) = match b.location {
                    BreakLocation::Start => (true, false),
                    BreakLocation::End => (false, true),
                    BreakLocation::StartAndEnd => (true, true),
                    BreakLocation::None | BreakLocation::Between => (false, false),
                };
                if out.before || out.after {
                    out.reset_page_number = match &b.reset_page_number {
                        Some(r) => self.eval_bool(r, ev, &def.name)?,
                        None => false,
                    };
                }
            }
        }
        out.page_name = self
            .eval_str(&def.page_name, ev, &def.name)?
            .filter(|s| !s.is_empty());
        Ok((out != inst::PageBreak::default()).then_some(out))
    }

    /// `InitialPageName` evaluated (empty when the report sets none).
    pub(super) fn initial_page_name(&self) -> Result<String, EngineError> {
        match &self.c.report.initial_page_name {
            None => Ok(String::new()),
            Some(e) => {
                let v = self.eval_in(e, &self.ev(&[], None), "InitialPageName")?;
                Ok(v.map(|v| expr::convert::to_string(&v, &self.culture))
                    .unwrap_or_default())
            }
        }
    }
}

impl Shared {
    /// Marks the grid rows of row-group instances whose group has a `PageBreak` (evaluated
    /// in each instance's scope): `before` on an instance's first visible row, `after` on
    /// its last. Toggle-hidden instances and column groups never break (§2.2-5).
    pub(super) fn group_page_breaks(
        &self,
        members: &[super::ExpandedMember<'_>],
        header_rows: usize,
        rows: &mut [inst::GridRow],
    ) -> Result<(), EngineError> {
        for m in members {
            let n = m.instances.len();
            for (i, e) in m.instances.iter().enumerate() {
                self.group_page_breaks(&e.children, header_rows, rows)?;
                let Some(g) = &e.def.group else { continue };
                if e.visibility != inst::Visibility::Visible {
                    continue;
                }
                let ev = self.ev(&e.frames, None);
                let mut before = false;
                let mut after = false;
                let mut reset = false;
                if let Some(b) = &g.page_break {
                    let disabled = match &b.disabled {
                        Some(d) => self.eval_bool(d, &ev, &g.name)?,
                        None => false,
                    };
                    if !disabled {
                        (before, after) = match b.location {
                            BreakLocation::Start => (true, false),
                            BreakLocation::End => (false, true),
                            BreakLocation::StartAndEnd => (true, true),
                            BreakLocation::Between => (i > 0, i + 1 < n),
                            BreakLocation::None => (false, false),
                        };
                        if before || after {
                            reset = match &b.reset_page_number {
                                Some(r) => self.eval_bool(r, &ev, &g.name)?,
                                None => false,
                            };
                        }
                    }
                }
                let page_name = self
                    .eval_str(&g.page_name, &ev, &g.name)?
                    .filter(|s| !s.is_empty());
                if !before && !after && page_name.is_none() {
                    continue;
                }
                let range = header_rows + e.first_leaf..header_rows + e.first_leaf + e.leaf_count;
                let visible: Vec<usize> = range
                    .filter(|&r| rows.get(r).is_some_and(|x| x.visibility.is_visible()))
                    .collect();
                let (Some(&first), Some(&last)) = (visible.first(), visible.last()) else {
                    continue;
                };
                let f = rows[first].page_break.get_or_insert_with(Default::default);
                f.before |= before;
                f.reset_page_number |= reset && before;
                if f.page_name.is_none() {
                    f.page_name = page_name;
                }
                if after {
                    let l = rows[last].page_break.get_or_insert_with(Default::default);
                    l.after = true;
                    l.reset_page_number |= reset && !before;
                }
            }
        }
        Ok(())
    }
}
