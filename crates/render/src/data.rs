//! The data walk shared by CSV, XML and JSON (§2.3-3..5, §2.4-2..6): the instance tree
//! reduced to named values, elements and collections, by the `DataElementName` and
//! `DataElementOutput` rules.
//!
//! Owns: which items are written (constant textboxes dropped under `Auto`, always-hidden and
//! conditionally hidden items omitted, toggle-hidden ones kept, page headers/footers, images
//! and lines never), the tablix member walk (dynamic members → `<X>_Collection` of `<X>`,
//! static members transparent unless they carry a name, matrix column members nested in
//! row members), and the duplicate-name check. Must not: format output.

use std::borrow::Cow;
use std::collections::HashMap;

use engine::instance::{
    DataOutput, DetailRows, ElementStyle, GridCell, GridRow, Instance, Item, ItemKind, Member,
    RowTexts, Tablix, Textbox,
};

use crate::RenderError;

/// One node of the data tree.
#[derive(Debug)]
pub enum Node<'a> {
    /// A textbox value.
    Value {
        /// Element/attribute name.
        name: &'a str,
        /// The item's name (for error messages).
        item: &'a str,
        /// The textbox.
        textbox: &'a Textbox,
        /// Attribute or element.
        style: ElementStyle,
    },
    /// An element with children (data region, rectangle, subreport, group instance, named
    /// static member).
    Element {
        /// Element name.
        name: Cow<'a, str>,
        /// The item's name (for error messages).
        item: &'a str,
        /// Children in definition order.
        children: Vec<Node<'a>>,
    },
    /// A dynamic member's instances.
    Collection {
        /// Collection element name.
        name: Cow<'a, str>,
        /// The item's name (for error messages).
        item: &'a str,
        /// One element per group instance.
        instances: Vec<Node<'a>>,
    },
    /// A streamed tablix's detail instances: what a [`Node::Collection`] of them would hold,
    /// bound one at a time ([`StreamRows::with_instance`]).
    Stream {
        /// Collection element name.
        name: Cow<'a, str>,
        /// The item's name (for error messages).
        item: &'a str,
        /// The rows.
        rows: StreamRows<'a>,
    },
}

/// One instance of [`StreamRows::each_instance_or_texts`].
#[derive(Debug, Clone, Copy)]
pub enum Streamed<'n, 'a> {
    /// Its element, and whether it has the previous element's shape.
    Element {
        /// The element.
        node: &'n Node<'a>,
        /// The same children, names and kinds as the previous element.
        same: bool,
    },
    /// The texts of its values (`Node::Value` children, each its textbox's text), in the
    /// order of the last element handed over, whose shape it has.
    Texts(&'n RowTexts),
}

/// The grid row index a streamed row stands at while it is walked.
const STREAMED_ROW: usize = usize::MAX;

/// The detail instances of a streamed tablix.
#[derive(Clone, Copy)]
pub struct StreamRows<'a> {
    walk: TablixWalk<'a>,
    instance_name: &'a str,
    source: &'a dyn DetailRows,
}

impl std::fmt::Debug for StreamRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRows")
            .field("instance_name", &self.instance_name)
            .field("rows", &self.source.len())
            .finish()
    }
}

impl StreamRows<'_> {
    /// How many instances.
    pub fn len(&self) -> usize {
        self.source.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Binds every instance in order and hands `f` its index, its element and whether that
    /// element has the previous one's shape (the same children, names and kinds, in the same
    /// order: only their values differ), as [`StreamRows::with_instance`] would; each row is
    /// bound into the one before it, so a source whose rows differ only in their values keeps
    /// the row's allocations, and a row the source rebinds in place
    /// ([`DetailRows::row_into_same_shape`]) is not walked again: its element is the previous
    /// walk's, pointing at the same cells.
    pub fn each_instance(
        &self,
        mut f: impl FnMut(usize, &Node<'_>, bool) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        self.each_instance_or_texts(|i, inst| match inst {
            Streamed::Element { node, same } => f(i, node, same).map(|()| false),
            // never asked for: `f` takes no texts
            Streamed::Texts(_) => Ok(false),
        })
    }

    /// [`StreamRows::each_instance`] for a renderer that may write an element from its
    /// values' texts alone: after an element for which `f` returns true, an instance whose
    /// element would have that shape, its values of the same kind, is handed to `f` as the
    /// texts of those values in the element's order ([`Streamed::Texts`]) when the source has
    /// them without binding the row ([`DetailRows::texts_into`]); any other instance comes
    /// as its element.
    pub fn each_instance_or_texts(
        &self,
        mut f: impl FnMut(usize, Streamed<'_, '_>) -> Result<bool, RenderError>,
    ) -> Result<(), RenderError> {
        let mut row = GridRow::default();
        // the children's allocation, kept empty between rows (its nodes borrow one row)
        let mut spare: Vec<Node<'static>> = Vec::new();
        // the last walk as (cell, element style) per child, when every child is the textbox
        // of a cell of the row itself, and those cells
        let mut shape: Option<(Slots, Vec<usize>)> = None;
        let mut texts = RowTexts::default();
        // `f` takes the next element of the last one's shape as texts
        let mut wants_texts = false;
        for i in 0..self.source.len() {
            if wants_texts
                && let Some((_, cells)) = &shape
                && self.source.texts_into(i, &row, cells, &mut texts)?
            {
                wants_texts = f(i, Streamed::Texts(&texts))?;
                continue;
            }
            let same = self.source.row_into_same_shape(i, &mut row)?;
            let mut children = reuse(std::mem::take(&mut spare));
            let repeated = match &shape {
                Some((slots, _)) if same => {
                    children.extend(slots.iter().filter_map(|&(c, style)| {
                        let item = row.cells.get(c)?.item.as_ref()?;
                        let ItemKind::Textbox(textbox) = &item.kind else {
                            return None;
                        };
                        Some(Node::Value {
                            name: &item.data_element_name,
                            item: &item.name,
                            textbox,
                            style,
                        })
                    }));
                    // the slots were found in this row's cells: a row that lost one (which
                    // the source's promise rules out) is walked below
                    children.len() == slots.len()
                }
                _ => false,
            };
            if !repeated {
                children.clear();
                let w = TablixWalk {
                    extra: Some(&row),
                    ..self.walk
                };
                children.reserve(row.cells.len());
                w.members(&w.t.column_members, Some(STREAMED_ROW), &mut children);
                // slots only for a row the source rebound in place: the next such row can
                // use them (a source that never does would only pay for the search)
                shape = if same {
                    value_slots(&children, &row).map(|slots| {
                        let cells = slots.iter().map(|s| s.0).collect();
                        (slots, cells)
                    })
                } else {
                    None
                };
            }
            let node = Node::Element {
                name: Cow::Borrowed(self.instance_name),
                item: self.walk.item,
                children,
            };
            wants_texts = f(
                i,
                Streamed::Element {
                    node: &node,
                    same: repeated,
                },
            )? && shape.is_some();
            if let Node::Element { mut children, .. } = node {
                children.clear();
                spare = reuse(children);
            }
        }
        Ok(())
    }

    /// Binds instance `i` (in order: `0`, `1`, ...; `0` may be asked again) and hands `f` its
    /// element, the node a [`Node::Collection`] would hold for it.
    pub fn with_instance<R>(
        &self,
        i: usize,
        f: impl FnOnce(&Node<'_>) -> Result<R, RenderError>,
    ) -> Result<R, RenderError> {
        let row = self.source.row(i)?;
        let w = TablixWalk {
            extra: Some(&row),
            ..self.walk
        };
        let mut children = Vec::new();
        w.members(&w.t.column_members, Some(STREAMED_ROW), &mut children);
        f(&Node::Element {
            name: Cow::Borrowed(self.instance_name),
            item: w.item,
            children,
        })
    }
}

/// Where each child of a walked row stands: (cell index, element style) per child.
type Slots = Vec<(usize, ElementStyle)>;

/// Where each of `children` stands in `row`: `(cell index, element style)` when every child
/// is a value whose textbox is the item of one of the row's cells, else `None`.
fn value_slots(children: &[Node<'_>], row: &GridRow) -> Option<Slots> {
    children
        .iter()
        .map(|n| {
            let Node::Value {
                name,
                item,
                textbox,
                style,
            } = n
            else {
                return None;
            };
            // the node a walk makes of the cell's own item: its textbox and its names
            let c = row.cells.iter().position(|cell| {
                matches!(&cell.item, Some(i @ Item { kind: ItemKind::Textbox(tb), .. })
                    if std::ptr::eq(&**tb, *textbox)
                        && std::ptr::eq(i.data_element_name.as_str(), *name)
                        && std::ptr::eq(i.name.as_str(), *item))
            })?;
            Some((c, *style))
        })
        .collect()
}

/// An empty vector's allocation for nodes of another lifetime (the in-place collect of an
/// empty vector keeps its buffer: same size and alignment).
fn reuse<'b>(v: Vec<Node<'_>>) -> Vec<Node<'b>> {
    debug_assert!(v.is_empty());
    v.into_iter()
        .map(|_| unreachable!("reuse is given an empty vector"))
        .collect()
}

impl Node<'_> {
    /// The node's element name.
    pub fn name(&self) -> &str {
        match self {
            Node::Value { name, .. } => name,
            Node::Element { name, .. }
            | Node::Collection { name, .. }
            | Node::Stream { name, .. } => name,
        }
    }
    fn item(&self) -> &str {
        match self {
            Node::Value { item, .. }
            | Node::Element { item, .. }
            | Node::Collection { item, .. }
            | Node::Stream { item, .. } => item,
        }
    }
}

/// Walk options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkOptions {
    /// Rectangles are transparent (CSV) instead of elements (XML, JSON).
    pub transparent_rectangles: bool,
}

/// `inst` as the data walk reads it: an instance whose streamed tablix has footer rows
/// (`StreamedDetails::tail`: their members are walked as the tree's rows, after the
/// details) is materialized first, in a copy; any other is walked as it is.
pub fn walkable(inst: &Instance) -> Result<Cow<'_, Instance>, RenderError> {
    let footers = inst.sections.iter().any(|s| {
        s.body.iter().any(|i| {
            matches!(&i.kind, ItemKind::Tablix(t)
                if t.streamed.as_ref().is_some_and(|s| !s.tail.is_empty()))
        })
    });
    if !footers {
        return Ok(Cow::Borrowed(inst));
    }
    let mut tree = inst.clone();
    tree.materialize()?;
    Ok(Cow::Owned(tree))
}

/// The report's children (sections are transparent).
pub fn report_children<'a>(inst: &'a Instance, opts: WalkOptions) -> Vec<Node<'a>> {
    let mut out = Vec::new();
    for s in &inst.sections {
        for item in &s.body {
            walk_item(item, inst.data_element_style, opts, &mut out);
        }
    }
    out
}

/// Appends the nodes of one item.
pub fn walk_item<'a>(
    item: &'a Item,
    report_style: ElementStyle,
    opts: WalkOptions,
    out: &mut Vec<Node<'a>>,
) {
    if !item.visibility.in_data() || item.data_element_output == DataOutput::NoOutput {
        return;
    }
    let out_mode = item.data_element_output;
    match &item.kind {
        ItemKind::Textbox(tb) => {
            if out_mode == DataOutput::Auto && tb.constant {
                return;
            }
            out.push(Node::Value {
                name: &item.data_element_name,
                item: &item.name,
                textbox: tb,
                style: tb.element_style.unwrap_or(report_style),
            });
        }
        ItemKind::Rectangle(children) => {
            let transparent = out_mode == DataOutput::ContentsOnly
                || (opts.transparent_rectangles && out_mode == DataOutput::Auto);
            if transparent {
                for c in children {
                    walk_item(c, report_style, opts, out);
                }
            } else {
                let mut ch = Vec::new();
                for c in children {
                    walk_item(c, report_style, opts, &mut ch);
                }
                out.push(Node::Element {
                    name: Cow::Borrowed(&item.data_element_name),
                    item: &item.name,
                    children: ch,
                });
            }
        }
        ItemKind::Subreport(Ok(sub)) => {
            let ch = report_children(sub, opts);
            if out_mode == DataOutput::ContentsOnly {
                out.extend(ch);
            } else {
                out.push(Node::Element {
                    name: Cow::Borrowed(&item.data_element_name),
                    item: &item.name,
                    children: ch,
                });
            }
        }
        ItemKind::Tablix(t) => {
            let mut ch = Vec::new();
            let w = TablixWalk {
                t,
                item: &item.name,
                report_style,
                opts,
                extra: None,
            };
            w.members(&t.row_members, None, &mut ch);
            if out_mode == DataOutput::ContentsOnly {
                out.extend(ch);
            } else {
                out.push(Node::Element {
                    name: Cow::Borrowed(&item.data_element_name),
                    item: &item.name,
                    children: ch,
                });
            }
        }
        // charts and gauges: one element per data point (per gauge), values as attributes
        ItemKind::Image(img) if img.chart.is_some() => {
            let Some(c) = &img.chart else { return };
            let instances = c
                .rows
                .iter()
                .map(|r| Node::Element {
                    name: Cow::Borrowed(c.row_name.as_str()),
                    item: &item.name,
                    children: r
                        .iter()
                        .map(|(n, tb)| Node::Value {
                            name: n,
                            item: &item.name,
                            textbox: tb,
                            style: ElementStyle::Attribute,
                        })
                        .collect(),
                })
                .collect();
            out.push(Node::Element {
                name: Cow::Borrowed(&item.data_element_name),
                item: &item.name,
                children: vec![Node::Collection {
                    name: Cow::Owned(format!("{}_Collection", c.row_name)),
                    item: &item.name,
                    instances,
                }],
            });
        }
        ItemKind::Subreport(Err(_))
        | ItemKind::Line { .. }
        | ItemKind::Image(_)
        | ItemKind::Placeholder(_) => {}
    }
}

#[derive(Clone, Copy)]
struct TablixWalk<'a> {
    t: &'a Tablix,
    item: &'a str,
    report_style: ElementStyle,
    opts: WalkOptions,
    /// The streamed row being walked (at [`STREAMED_ROW`]).
    extra: Option<&'a GridRow>,
}

impl<'a> TablixWalk<'a> {
    fn cell(&self, r: usize, c: usize) -> Option<&'a GridCell> {
        match self.extra {
            Some(row) if r == STREAMED_ROW => row.cells.iter().find(|x| x.col == c),
            _ => self.t.cell(r, c),
        }
    }

    /// Walks members; `row` is the leaf grid row when walking the column hierarchy.
    fn members(&self, members: &'a [Member], row: Option<usize>, out: &mut Vec<Node<'a>>) {
        for (mi, m) in members.iter().enumerate() {
            if m.data_element_output == DataOutput::NoOutput {
                continue;
            }
            if m.dynamic
                && row.is_none()
                && let Some(s) = &self.t.streamed
                && s.member == mi
                && std::ptr::eq(members, self.t.row_members.as_slice())
            {
                let name = match &m.collection_name {
                    Some(n) => Cow::Borrowed(n.as_str()),
                    None => Cow::Owned(format!("{}_Collection", m.instance_name)),
                };
                out.push(Node::Stream {
                    name,
                    item: self.item,
                    rows: StreamRows {
                        walk: *self,
                        instance_name: &m.instance_name,
                        source: s.rows.as_ref(),
                    },
                });
                continue;
            }
            if m.dynamic {
                let mut instances = Vec::with_capacity(m.instances.len());
                for inst in &m.instances {
                    if !inst.visibility.in_data() {
                        continue;
                    }
                    let mut ch = Vec::new();
                    self.instance(inst, row, &mut ch);
                    instances.push(Node::Element {
                        name: Cow::Borrowed(&m.instance_name),
                        item: self.item,
                        children: ch,
                    });
                }
                let name = match &m.collection_name {
                    Some(n) => Cow::Borrowed(n.as_str()),
                    None => Cow::Owned(format!("{}_Collection", m.instance_name)),
                };
                out.push(Node::Collection {
                    name,
                    item: self.item,
                    instances,
                });
            } else {
                for inst in &m.instances {
                    if !inst.visibility.in_data() {
                        continue;
                    }
                    match &m.collection_name {
                        Some(n) if m.data_element_output != DataOutput::ContentsOnly => {
                            let mut ch = Vec::new();
                            self.instance(inst, row, &mut ch);
                            out.push(Node::Element {
                                name: Cow::Borrowed(n),
                                item: self.item,
                                children: ch,
                            });
                        }
                        _ => self.instance(inst, row, out),
                    }
                }
            }
        }
    }

    fn instance(
        &self,
        inst: &'a engine::instance::MemberInstance,
        row: Option<usize>,
        out: &mut Vec<Node<'a>>,
    ) {
        if let Some((r, c)) = inst.header
            && let Some(item) = self.cell(r, c).and_then(|c| c.item.as_ref())
        {
            walk_item(item, self.report_style, self.opts, out);
        }
        if !inst.children.is_empty() {
            self.members(&inst.children, row, out);
            return;
        }
        match (row, inst.leaf) {
            (None, Some(leaf_row)) => self.members(&self.t.column_members, Some(leaf_row), out),
            (Some(r), Some(col)) => {
                if let Some(item) = self.cell(r, col).and_then(|c| c.item.as_ref()) {
                    walk_item(item, self.report_style, self.opts, out);
                }
            }
            _ => {}
        }
    }
}

/// Checks that no two children of one element share a name (SSRS refuses such a report).
pub fn check_unique(nodes: &[Node<'_>]) -> Result<(), RenderError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for n in nodes {
        if let Some(first) = seen.insert(n.name(), n.item()) {
            return Err(RenderError::DuplicateElementName {
                name: n.name().to_owned(),
                first: first.to_owned(),
                second: n.item().to_owned(),
            });
        }
        match n {
            Node::Element { children, .. } => check_unique(children)?,
            Node::Collection { instances, .. } => {
                if let Some(Node::Element { children, .. }) = instances.first() {
                    check_unique(children)?;
                }
            }
            Node::Stream { rows, .. } if !rows.is_empty() => {
                rows.with_instance(0, |n| match n {
                    Node::Element { children, .. } => check_unique(children),
                    _ => Ok(()),
                })?;
            }
            Node::Value { .. } | Node::Stream { .. } => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_keeps_the_allocation() {
        let v: Vec<Node<'static>> = Vec::with_capacity(16);
        let p = v.as_ptr() as usize;
        let w: Vec<Node<'_>> = reuse(v);
        assert!(w.is_empty() && w.capacity() >= 16 && w.as_ptr() as usize == p);
    }
}
