//! The evaluated instance tree (SSRS's "rendering object model"): what a report looks like
//! after its data is bound and every expression evaluated, before pagination.
//!
//! Owns: the plain data types every renderer walks (CSV/XML/JSON walk them directly; HTML
//! walks the soft pages [`crate::page`] cuts from them). Values are typed ([`rdl::Value`])
//! next to their formatted text, styles are resolved and validated (colours are RGB, sizes
//! are numbers), URLs are checked. Must not: evaluate expressions or know any output format.
//!
//! Geometry is in [`Len`] (micrometres, 1/1000 mm) so layout is reproducible integers.

use std::fmt;
use std::sync::Arc;

use rdl::Value;

/// A length in micrometres (1/1000 mm). 1in = 25,400; 1pt = 352.78 (rounded).
pub type Len = i64;

/// Micrometres per inch.
pub const UM_PER_INCH: Len = 25_400;

/// Converts points to [`Len`].
pub fn pt(points: f64) -> Len {
    (points * UM_PER_INCH as f64 / 72.0).round() as Len
}

/// Converts [`Len`] to points.
pub fn to_pt(len: Len) -> f64 {
    len as f64 * 72.0 / UM_PER_INCH as f64
}

/// Converts [`Len`] to millimetres.
pub fn to_mm(len: Len) -> f64 {
    len as f64 / 1000.0
}

/// An evaluated report.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The report's name (catalog item name), `Report/@Name` in XML.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `Author`.
    pub author: String,
    /// The resolved culture name (`en-US`).
    pub language: String,
    /// The execution time (fixed for one execution).
    pub execution_time: time::PrimitiveDateTime,
    /// `Report.DataElementName` (default `Report`).
    pub data_element_name: String,
    /// `Report.DataSchema` (XML namespace), if set.
    pub data_schema: Option<String>,
    /// `Report.DataElementStyle`: attribute (default) or element.
    pub data_element_style: ElementStyle,
    /// Report sections in order.
    pub sections: Vec<Section>,
    /// Non-fatal problems (an expression's `#Error`, a subreport that failed): those binding
    /// found, and those found later while a renderer evaluates page headers and footers or
    /// binds streamed rows ([`Instance::warnings`] reads them all).
    pub warning_log: Warnings,
    /// `InitialPageName` evaluated (`Globals!PageName` until a break names a page).
    pub initial_page_name: String,
}

/// One report section: a body with its page settings and page header/footer.
#[derive(Debug, Clone)]
pub struct Section {
    /// Body items in definition order.
    pub body: Vec<Item>,
    /// Design height of the body.
    pub body_height: Len,
    /// Design width of the body.
    pub body_width: Len,
    /// Body style (background, border).
    pub body_style: BoxStyle,
    /// Page settings.
    pub page: PageSettings,
    /// The page header, evaluated per page.
    pub header: Option<PageSection>,
    /// The page footer, evaluated per page.
    pub footer: Option<PageSection>,
}

/// Page size, margins and the soft-page height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSettings {
    /// `PageWidth` (default 8.5in).
    pub width: Len,
    /// `PageHeight` (default 11in).
    pub height: Len,
    /// `InteractiveWidth`.
    pub interactive_width: Len,
    /// `InteractiveHeight` (0 = no soft page breaks).
    pub interactive_height: Len,
    /// Margins: top, right, bottom, left.
    pub margins: [Len; 4],
    /// `Columns` (newsletter columns; PDF only).
    pub columns: u32,
    /// `ColumnSpacing`.
    pub column_spacing: Len,
}

impl Default for PageSettings {
    fn default() -> Self {
        PageSettings {
            width: 85 * UM_PER_INCH / 10,
            height: 11 * UM_PER_INCH,
            interactive_width: 85 * UM_PER_INCH / 10,
            interactive_height: 11 * UM_PER_INCH,
            margins: [0; 4],
            columns: 1,
            column_spacing: UM_PER_INCH / 2,
        }
    }
}

/// What a page header/footer expression may see on one page.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    /// `Globals!PageNumber` (1-based).
    pub page_number: u32,
    /// `Globals!TotalPages`.
    pub total_pages: u32,
    /// `Globals!OverallPageNumber`.
    pub overall_page_number: u32,
    /// `Globals!OverallTotalPages`.
    pub overall_total_pages: u32,
    /// `Globals!PageName`.
    pub page_name: String,
    /// Values of the body textboxes on this page, by name, in page order (`ReportItems!X`
    /// takes the first; aggregates over `ReportItems` take all).
    pub report_items: Vec<(String, Value)>,
}

/// Evaluates a page header/footer for one page. The engine implements it over the compiled
/// definition and the bound data sets; renderers only call it through [`crate::page`].
pub trait PageItemsEval: Send + Sync {
    /// The header/footer items for this page.
    fn evaluate(&self, page: &PageContext) -> Vec<Item>;
}

/// A page header or footer: its fixed parts plus the evaluator for its page-dependent items.
#[derive(Clone)]
pub struct PageSection {
    /// Design height.
    pub height: Len,
    /// `PrintOnFirstPage` (default false).
    pub print_on_first_page: bool,
    /// `PrintOnLastPage` (default false).
    pub print_on_last_page: bool,
    /// Style of the section (background, border).
    pub style: BoxStyle,
    /// The evaluator for its items.
    pub items: Arc<dyn PageItemsEval>,
}

impl fmt::Debug for PageSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageSection")
            .field("height", &self.height)
            .field("print_on_first_page", &self.print_on_first_page)
            .field("print_on_last_page", &self.print_on_last_page)
            .finish_non_exhaustive()
    }
}

/// A fixed list of items for a header/footer with no page-dependent expressions (tests and
/// simple reports).
#[derive(Debug, Clone, Default)]
pub struct StaticItems(pub Vec<Item>);

impl PageItemsEval for StaticItems {
    fn evaluate(&self, _page: &PageContext) -> Vec<Item> {
        self.0.clone()
    }
}

/// `DataElementStyle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElementStyle {
    /// Written as an attribute (XML) / property (JSON).
    #[default]
    Attribute,
    /// Written as a child element.
    Element,
}

/// `DataElementOutput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataOutput {
    /// The default: constant textboxes are dropped, containers output their contents.
    #[default]
    Auto,
    /// Always written.
    Output,
    /// Never written.
    NoOutput,
    /// Only the contents are written (no element of its own).
    ContentsOnly,
}

/// Initial visibility after evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Shown.
    #[default]
    Visible,
    /// `Hidden` is the constant `true`: not drawn, keeps its space, omitted from data output.
    AlwaysHidden,
    /// `Hidden` evaluated true (an expression) with no toggle: gives its space up, omitted from
    /// data output.
    Hidden,
    /// Hidden by a toggle (drilldown): gives its space up; data renderers still write it.
    ToggleHidden,
}

impl Visibility {
    /// True when the item is drawn.
    pub fn is_visible(self) -> bool {
        self == Visibility::Visible
    }
    /// True when data renderers (CSV, XML, JSON) write the item.
    pub fn in_data(self) -> bool {
        matches!(self, Visibility::Visible | Visibility::ToggleHidden)
    }
}

/// An RGB colour (validated at evaluation: named colours and `#RRGGBB`/`#AARRGGBB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (255 = opaque).
    pub a: u8,
}

impl Color {
    /// Black.
    pub const BLACK: Color = Color {
        r: 0,
        g: 0,
        b: 0,
        a: 255,
    };

    /// `#rrggbb` (alpha dropped) — safe to write into CSS as is.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// A border line style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BorderStyle {
    /// No border (the default).
    #[default]
    None,
    /// Solid.
    Solid,
    /// Dotted.
    Dotted,
    /// Dashed.
    Dashed,
    /// Double.
    Double,
}

/// One side of a border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Border {
    /// Line style.
    pub style: BorderStyle,
    /// Colour.
    pub color: Color,
    /// Width (default 1pt).
    pub width: Len,
}

impl Default for Border {
    fn default() -> Self {
        Border {
            style: BorderStyle::None,
            color: Color::BLACK,
            width: pt(1.0),
        }
    }
}

/// Horizontal alignment, with `General` already resolved by value type (§2.1-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextAlign {
    /// Left.
    #[default]
    Left,
    /// Centered.
    Center,
    /// Right.
    Right,
}

/// Vertical alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerticalAlign {
    /// Top (default).
    #[default]
    Top,
    /// Middle.
    Middle,
    /// Bottom.
    Bottom,
}

/// The box part of a style: borders, background, padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BoxStyle {
    /// Borders: top, right, bottom, left.
    pub borders: [Border; 4],
    /// Background colour.
    pub background: Option<Color>,
    /// Padding: top, right, bottom, left.
    pub padding: [Len; 4],
    /// Vertical alignment of the contents.
    pub vertical_align: VerticalAlign,
}

/// Font and colour of a text run.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStyle {
    /// Font family (validated: letters, digits, spaces, `-`, `_`).
    pub font_family: String,
    /// Font size.
    pub font_size: Len,
    /// CSS weight, 100..900 (400 normal, 700 bold).
    pub font_weight: u16,
    /// Italic.
    pub italic: bool,
    /// Underline.
    pub underline: bool,
    /// Line-through.
    pub line_through: bool,
    /// Colour.
    pub color: Color,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            font_family: "Arial".into(),
            font_size: pt(10.0),
            font_weight: 400,
            italic: false,
            underline: false,
            line_through: false,
            color: Color::BLACK,
        }
    }
}

/// An action on a textbox, image or run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A hyperlink; the URL is checked (http, https, mailto or relative).
    Hyperlink(String),
    /// Drillthrough to another report (absolute catalog path) with its parameters.
    Drillthrough {
        /// Catalog path of the target report.
        report: String,
        /// Parameter values (a multi-value parameter repeats its name).
        params: Vec<(String, String)>,
    },
    /// A jump to a bookmark in this report.
    BookmarkLink(String),
}

/// A report item instance.
#[derive(Debug, Clone)]
pub struct Item {
    /// The item's `Name`.
    pub name: String,
    /// Position relative to its container.
    pub top: Len,
    /// Position relative to its container.
    pub left: Len,
    /// Design width.
    pub width: Len,
    /// Design height.
    pub height: Len,
    /// Evaluated visibility.
    pub visibility: Visibility,
    /// `DataElementName` (default: the item's name).
    pub data_element_name: String,
    /// `DataElementOutput`.
    pub data_element_output: DataOutput,
    /// Bookmark id, if any.
    pub bookmark: Option<String>,
    /// `DocumentMapLabel` evaluated (an entry of the document map / PDF outline), if any.
    pub document_map_label: Option<String>,
    /// Box style.
    pub style: BoxStyle,
    /// Keep-together flag for pagination.
    pub keep_together: bool,
    /// Its logical page break (`PageBreak` not disabled) and `PageName`, if any.
    pub page_break: Option<PageBreak>,
    /// What it is.
    pub kind: ItemKind,
}

/// An evaluated logical page break (§2.2-5): on a top-level rectangle or data region (an
/// [`Item`]) or on the rows of a group instance (a [`GridRow`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageBreak {
    /// Break before it (`Start`, `StartAndEnd`; `Between` on all group instances but the first).
    pub before: bool,
    /// Break after it (`End`, `StartAndEnd`; `Between` on all group instances but the last).
    pub after: bool,
    /// `ResetPageNumber`: `Globals!PageNumber`/`TotalPages` restart at the page it starts.
    pub reset_page_number: bool,
    /// `PageName` evaluated: `Globals!PageName` from the page it starts on.
    pub page_name: Option<String>,
}

impl Item {
    /// A new item of this kind at the origin with the default data element name.
    pub fn new(name: impl Into<String>, kind: ItemKind) -> Item {
        let name = name.into();
        Item {
            data_element_name: name.clone(),
            name,
            top: 0,
            left: 0,
            width: 0,
            height: 0,
            visibility: Visibility::Visible,
            data_element_output: DataOutput::Auto,
            bookmark: None,
            document_map_label: None,
            style: BoxStyle::default(),
            keep_together: false,
            page_break: None,
            kind,
        }
    }
}

/// The kinds of item.
#[derive(Debug, Clone)]
pub enum ItemKind {
    /// A textbox.
    Textbox(Box<Textbox>),
    /// A rectangle with its children.
    Rectangle(Vec<Item>),
    /// A line (from top-left to top-left + width/height).
    Line {
        /// Line style and colour.
        border: Border,
    },
    /// An image.
    Image(Box<Image>),
    /// A subreport's instance, or the error that kept it from running.
    Subreport(Result<Box<Instance>, String>),
    /// A tablix (table, matrix, list).
    Tablix(Box<Tablix>),
    /// A chart, gauge or map not rendered yet: a labelled box of its size.
    Placeholder(PlaceholderKind),
}

/// Items drawn as placeholders until their renderers exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderKind {
    /// Chart.
    Chart,
    /// Gauge panel.
    Gauge,
    /// Map.
    Map,
    /// Custom report item or an unknown one.
    Custom,
}

impl PlaceholderKind {
    /// A label for the placeholder box.
    pub fn label(self) -> &'static str {
        match self {
            PlaceholderKind::Chart => "Chart",
            PlaceholderKind::Gauge => "Gauge",
            PlaceholderKind::Map => "Map",
            PlaceholderKind::Custom => "Custom report item",
        }
    }
}

/// A run of formatted text with its style.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The formatted text.
    pub text: String,
    /// The run's typed value (before formatting).
    pub value: Value,
    /// Font and colour.
    pub style: TextStyle,
    /// An action on the run alone.
    pub action: Option<Action>,
    /// The evaluated .NET format string (`Style.Format` of the run, else of the textbox) the
    /// text was formatted with; office renderers translate it to a cell number format.
    pub format: Option<String>,
}

/// A paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    /// Runs in order.
    pub runs: Vec<Run>,
    /// Resolved alignment.
    pub align: TextAlign,
    /// Left indent.
    pub left_indent: Len,
}

/// The state of a drilldown toggle on a textbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToggleState {
    /// The id the server uses to flip it (`rs:ShowHideToggle=<id>`).
    pub id: String,
    /// True when the items it toggles are shown (draws `-`).
    pub expanded: bool,
}

/// An interactive-sort button on a textbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortButton {
    /// The id the server uses (`rs:SortId=<id>`).
    pub id: String,
    /// The current direction, if this sort is active: true = ascending.
    pub ascending: Option<bool>,
}

/// A textbox instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Textbox {
    /// Paragraphs of runs.
    pub paragraphs: Vec<Paragraph>,
    /// The typed value: the single run's value, or the whole text as a string.
    pub value: Value,
    /// True when the value is a constant (a label): `DataElementOutput=Auto` drops it.
    pub constant: bool,
    /// The textbox's own `DataElementStyle` (`None` = the report's).
    pub element_style: Option<ElementStyle>,
    /// Action on the whole textbox.
    pub action: Option<Action>,
    /// Drilldown toggle drawn in this textbox.
    pub toggle: Option<ToggleState>,
    /// Interactive sort button.
    pub sort: Option<SortButton>,
    /// `CanGrow`.
    pub can_grow: bool,
    /// `CanShrink`.
    pub can_shrink: bool,
}

impl Textbox {
    /// The formatted text: runs concatenated, paragraphs separated by CR LF.
    pub fn text(&self) -> String {
        self.text_ref().into_owned()
    }

    /// [`Textbox::text`] without a copy for the common one-run textbox.
    pub fn text_ref(&self) -> std::borrow::Cow<'_, str> {
        if let [p] = self.paragraphs.as_slice()
            && let [r] = p.runs.as_slice()
        {
            return r.text.as_str().into();
        }
        let mut s = String::new();
        for (i, p) in self.paragraphs.iter().enumerate() {
            if i > 0 {
                s.push_str("\r\n");
            }
            for r in &p.runs {
                s.push_str(&r.text);
            }
        }
        s.into()
    }
}

/// Where an image's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An embedded image of the report.
    Embedded {
        /// Its name.
        name: String,
        /// MIME type.
        mime: String,
        /// The bytes.
        data: Arc<[u8]>,
    },
    /// A catalog resource or URL (the server resolves it).
    External(String),
    /// Bytes from a database field.
    Database {
        /// MIME type.
        mime: String,
        /// The bytes.
        data: Arc<[u8]>,
    },
    /// Nothing to show (the value was Nothing).
    Empty,
}

/// Image sizing modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sizing {
    /// Grow/shrink the item to the image.
    #[default]
    AutoSize,
    /// Stretch to the item.
    Fit,
    /// Scale keeping the aspect ratio.
    FitProportional,
    /// Clip.
    Clip,
}

/// An image instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Source.
    pub source: ImageSource,
    /// Sizing.
    pub sizing: Sizing,
    /// Action.
    pub action: Option<Action>,
    /// A chart or gauge panel drawn as this (SVG) image: what it shows and its data points.
    pub chart: Option<Arc<crate::bind::chart::ChartInstance>>,
}

/// A tablix instance: a grid of cells plus the row and column member trees that say which
/// grid rows/columns belong to which group instance (data renderers walk the trees, HTML
/// walks the grid).
#[derive(Debug, Clone, Default)]
pub struct Tablix {
    /// Column widths of the grid (row header columns first).
    pub columns: Vec<Len>,
    /// Grid rows (column header rows first).
    pub rows: Vec<GridRow>,
    /// Number of leading grid rows that are column headers.
    pub header_rows: usize,
    /// Number of leading grid columns that are row headers.
    pub header_columns: usize,
    /// Row hierarchy (top level members).
    pub row_members: Vec<Member>,
    /// Column hierarchy (top level members).
    pub column_members: Vec<Member>,
    /// The `NoRowsMessage` shown instead of the grid when there are no rows.
    pub no_rows_message: Option<String>,
    /// Detail rows not bound yet (only with `BindOptions::stream_details`): they follow the
    /// grid's `rows` and are the instances of the details member ([`StreamedDetails::member`]),
    /// then the footer rows ([`StreamedDetails::tail`]). Renderers that
    /// stream take them one at a time ([`DetailRows::row`]); any other calls
    /// [`Instance::materialize`] first.
    pub streamed: Option<StreamedDetails>,
}

impl Tablix {
    /// The cell whose top-left corner is at (row, col), if any.
    pub fn cell(&self, row: usize, col: usize) -> Option<&GridCell> {
        self.rows.get(row)?.cells.iter().find(|c| c.col == col)
    }

    /// Binds the streamed detail rows into the grid and the member tree: the tablix is then
    /// exactly what a bind without streaming makes.
    pub fn materialize(&mut self) -> Result<(), crate::EngineError> {
        let Some(s) = self.streamed.take() else {
            return Ok(());
        };
        let n = s.rows.len();
        let details = n.saturating_sub(s.tail.len());
        self.rows.reserve(n);
        let mut instances = Vec::with_capacity(details);
        for i in 0..n {
            let row = s.rows.row(i)?;
            if i >= details {
                // a footer row: its member (after the details one) already points here
                self.rows.push(row);
                continue;
            }
            instances.push(MemberInstance {
                header: None,
                leaf: Some(self.rows.len()),
                children: Vec::new(),
                visibility: Visibility::Visible,
            });
            self.rows.push(row);
        }
        if let Some(m) = self.row_members.get_mut(s.member) {
            m.instances = instances;
        }
        Ok(())
    }
}

/// The detail rows of a streamed tablix, bound on demand in order (row `i` after rows
/// `0..i`, as a bind without streaming evaluates them). Row 0 may be asked for more than
/// once (renderers look at it before writing).
pub trait DetailRows: Send + Sync {
    /// How many rows.
    fn len(&self) -> usize;
    /// True when there are none (a streamed tablix always has rows).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Binds row `i`: its grid row (cells sized, in column order).
    fn row(&self, i: usize) -> Result<GridRow, crate::EngineError>;
    /// Binds row `i` into `row`, which holds the row bound before it (or any row): a source
    /// may then change only what differs (the values of plain field cells) and keep the
    /// allocations. The result equals [`DetailRows::row`]`(i)`.
    fn row_into(&self, i: usize, row: &mut GridRow) -> Result<(), crate::EngineError> {
        *row = self.row(i)?;
        Ok(())
    }
    /// [`DetailRows::row_into`], telling whether `row` kept its shape: `true` only when the
    /// source changed nothing but the values, texts and alignments of its cells (the same
    /// cells, items, names, visibility, styles and element settings as the row it held), so
    /// that a walk of the row before holds for this one too. `false` promises nothing.
    fn row_into_same_shape(&self, i: usize, row: &mut GridRow) -> Result<bool, crate::EngineError> {
        self.row_into(i, row)?;
        Ok(false)
    }
    /// The texts row `i` would give the cells `cells` of `row` (indexes into `row.cells`), in
    /// that order, written into `out` without binding the row, when the source can: `row`
    /// holds a row of this source bound before (by [`DetailRows::row_into_same_shape`] with
    /// `true`), `i` follows it in order, and binding row `i` into `row` would change nothing
    /// but those cells' values, texts and alignments. Counts the row's cells and checks
    /// cancellation as binding it does; `row` itself is left as it was. `false`: nothing
    /// was taken (`out` unspecified), bind the row instead.
    fn texts_into(
        &self,
        i: usize,
        row: &GridRow,
        cells: &[usize],
        out: &mut RowTexts,
    ) -> Result<bool, crate::EngineError> {
        let _ = (i, row, cells, out);
        Ok(false)
    }
}

/// Texts of some cells of a row, one after another in one buffer
/// ([`DetailRows::texts_into`]): a renderer that writes only texts reads them without a
/// bound row.
#[derive(Debug, Clone, Default)]
pub struct RowTexts {
    buf: String,
    /// Where each text ends in `buf`.
    ends: Vec<usize>,
}

impl RowTexts {
    /// No texts (the buffers are kept).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// Appends the text `f` writes into the buffer it is given.
    pub fn push_with(&mut self, f: impl FnOnce(&mut String)) {
        f(&mut self.buf);
        self.ends.push(self.buf.len());
    }

    /// Every text, one after another (no separators).
    pub fn joined(&self) -> &str {
        &self.buf
    }

    /// The texts in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = self.buf.get(start..end).unwrap_or("");
            start = end;
            s
        })
    }
}

/// An instance's warnings as they are found (a clone shares the list; the engine keeps it to
/// a bounded number of distinct messages).
#[derive(Clone, Default)]
pub struct Warnings(Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    /// A list that begins with `list`.
    pub fn new(list: Vec<String>) -> Warnings {
        Warnings(Arc::new(std::sync::Mutex::new(list)))
    }

    /// Adds one.
    pub fn push(&self, warning: String) {
        crate::lock(&self.0).push(warning);
    }

    /// The warnings so far, in the order they were found.
    pub fn list(&self) -> Vec<String> {
        crate::lock(&self.0).clone()
    }
}

impl fmt::Debug for Warnings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

/// A tablix's detail rows left to be bound while a renderer writes them.
#[derive(Clone)]
pub struct StreamedDetails {
    /// Index in `row_members` of the details member (its `instances` are empty).
    pub member: usize,
    /// The rows: the detail rows, then the tablix's footer rows (its static rows after the
    /// details, bound after the last detail row as the tree binds them).
    pub rows: Arc<dyn DetailRows>,
    /// The footer rows without their cells (height, keeps), one per footer row: the last
    /// `tail.len()` rows of `rows`. Their members follow the details member in
    /// `row_members`, their leaves numbered on past the grid's `rows` like every row here.
    pub tail: Vec<GridRow>,
}

impl fmt::Debug for StreamedDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamedDetails")
            .field("member", &self.member)
            .field("rows", &self.rows.len())
            .field("tail", &self.tail.len())
            .finish()
    }
}

impl Instance {
    /// Every warning so far ([`Instance::warning_log`]): read it after rendering to have the
    /// page headers' and streamed rows' too.
    pub fn warnings(&self) -> Vec<String> {
        self.warning_log.list()
    }

    /// Binds every streamed tablix's rows into the tree ([`Tablix::materialize`]).
    pub fn materialize(&mut self) -> Result<(), crate::EngineError> {
        fn items(list: &mut [Item]) -> Result<(), crate::EngineError> {
            for i in list {
                match &mut i.kind {
                    ItemKind::Tablix(t) => t.materialize()?,
                    ItemKind::Rectangle(ch) => items(ch)?,
                    _ => {}
                }
            }
            Ok(())
        }
        for s in &mut self.sections {
            items(&mut s.body)?;
        }
        Ok(())
    }

    /// True when a tablix of the body has streamed rows.
    pub fn is_streamed(&self) -> bool {
        self.sections.iter().any(|s| {
            s.body
                .iter()
                .any(|i| matches!(&i.kind, ItemKind::Tablix(t) if t.streamed.is_some()))
        })
    }
}

/// A grid row.
#[derive(Debug, Clone, Default)]
pub struct GridRow {
    /// Design height.
    pub height: Len,
    /// Cells in column order; a spanned position has no cell.
    pub cells: Vec<GridCell>,
    /// Pagination: repeat this row at the top of each soft page (`RepeatOnNewPage` with
    /// `KeepWithGroup=After`).
    pub repeat_on_new_page: bool,
    /// Visibility of the member the row belongs to.
    pub visibility: Visibility,
    /// A row group's page break: `before` on the first visible row of a group instance,
    /// `after` on its last (soft pages honour them on top-level tablixes).
    pub page_break: Option<PageBreak>,
    /// `KeepWithGroup=After` of a static member: hard pages keep the row with the next one.
    pub keep_with_next: bool,
    /// `KeepWithGroup=Before` of a static member: hard pages keep the row with the previous
    /// one.
    pub keep_with_previous: bool,
}

/// A grid cell.
#[derive(Debug, Clone)]
pub struct GridCell {
    /// Column index in the grid.
    pub col: usize,
    /// Columns spanned (≥ 1).
    pub colspan: usize,
    /// Rows spanned (≥ 1).
    pub rowspan: usize,
    /// The cell's item (`None` = an empty cell).
    pub item: Option<Item>,
}

/// A member of a row or column hierarchy.
#[derive(Debug, Clone)]
pub struct Member {
    /// Static member (no group) or dynamic (a group).
    pub dynamic: bool,
    /// For a dynamic member the collection element name (`TablixMember.DataElementName`,
    /// default `<Group>_Collection`); for a static one its element name if it has one.
    pub collection_name: Option<String>,
    /// For a dynamic member the group instance element name (`Group.DataElementName`,
    /// default the group name).
    pub instance_name: String,
    /// `DataElementOutput` of the member/group.
    pub data_element_output: DataOutput,
    /// The instances (one for a static member).
    pub instances: Vec<MemberInstance>,
}

/// One instance of a member (one group value, or the static member itself).
#[derive(Debug, Clone)]
pub struct MemberInstance {
    /// Position of the header cell in the grid (row, col), if the member has one.
    pub header: Option<(usize, usize)>,
    /// The grid row (row hierarchy) or grid column (column hierarchy) of a leaf instance.
    pub leaf: Option<usize>,
    /// Child members.
    pub children: Vec<Member>,
    /// Visibility of this instance.
    pub visibility: Visibility,
}
