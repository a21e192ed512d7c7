//! The report definition model: one 2016-shaped tree that every supported RDL version is
//! parsed into.
//!
//! Must not: parse XML or VB (the parser fills it, `crate::expr` compiles its expressions).

/// The RDL schema version a definition was written for (its root namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Schema {
    /// `.../reporting/2003/10/reportdefinition` (SQL Server 2000).
    V2003,
    /// `.../reporting/2005/01/reportdefinition`.
    V2005,
    /// `.../reporting/2008/01/reportdefinition`.
    V2008,
    /// `.../reporting/2010/01/reportdefinition`.
    V2010,
    /// `.../reporting/2016/01/reportdefinition`.
    V2016,
}

impl Schema {
    /// The schema of a root namespace URI, `None` for anything else.
    pub fn from_namespace(ns: &str) -> Option<Schema> {
        let rest = ns.strip_prefix("http://schemas.microsoft.com/sqlserver/reporting/")?;
        let version = rest.strip_suffix("/reportdefinition")?;
        Some(match version {
            "2003/10" => Schema::V2003,
            "2005/01" => Schema::V2005,
            "2008/01" => Schema::V2008,
            "2010/01" => Schema::V2010,
            "2016/01" => Schema::V2016,
            _ => return None,
        })
    }

    /// The namespace URI of this schema.
    pub fn namespace(self) -> &'static str {
        match self {
            Schema::V2003 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2003/10/reportdefinition"
            }
            Schema::V2005 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2005/01/reportdefinition"
            }
            Schema::V2008 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2008/01/reportdefinition"
            }
            Schema::V2010 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2010/01/reportdefinition"
            }
            Schema::V2016 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"
            }
        }
    }
}

use std::sync::Arc;

pub use crate::error::Location;

/// A length in micrometres (1/1000 mm), the fixed integer unit of every size in the model.
/// Parsed from RDL sizes in `in`, `cm`, `mm`, `pt` and `pc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Size(pub i64);

impl Size {
    /// Zero.
    pub const ZERO: Size = Size(0);
    /// Micrometres per inch.
    pub const INCH: i64 = 25_400;

    /// Parses an RDL size: a decimal number (optionally signed, `.` as the decimal
    /// separator) followed by `in`, `cm`, `mm`, `pt` or `pc`, blanks allowed around.
    /// `None` when it is not one. Rounds to the nearest micrometre; saturates at ±160in×10⁶.
    pub fn parse(s: &str) -> Option<Size> {
        let s = s.trim();
        if s.len() < 3 || !s.is_char_boundary(s.len() - 2) {
            return None;
        }
        let (num, unit) = s.split_at(s.len() - 2);
        // Micrometres per unit, as a fraction (numerator, denominator).
        let (mul, div): (i128, i128) = match unit.to_ascii_lowercase().as_str() {
            "in" => (25_400, 1),
            "cm" => (10_000, 1),
            "mm" => (1_000, 1),
            "pt" => (25_400, 72),
            "pc" => (25_400, 6),
            _ => return None,
        };
        let num = num.trim_end();
        let (neg, digits) = match num.as_bytes().first()? {
            b'-' => (true, &num[1..]),
            b'+' => (false, &num[1..]),
            _ => (false, num),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || int.len() > 12
        {
            return None;
        }
        // value = int.frac, kept as an integer over 10^scale (at most 9 fraction digits).
        let frac = &frac[..frac.len().min(9)];
        let scale = 10i128.pow(frac.len() as u32);
        let mut n: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            n = n * 10 + i128::from(b - b'0');
        }
        let den = scale * div;
        let um = (n * mul + den / 2) / den;
        let um = i64::try_from(um).ok()?;
        Some(Size(if neg { -um } else { um }))
    }

    /// Inches as a float (for renderers).
    pub fn inches(self) -> f64 {
        self.0 as f64 / Self::INCH as f64
    }

    /// Points (1/72 in) as a float.
    pub fn points(self) -> f64 {
        self.0 as f64 * 72.0 / Self::INCH as f64
    }

    /// Millimetres as a float.
    pub fn mm(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// The index of an expression in its report's expression table: `0..Report::expression_count`,
/// dense, in document order. The compiled form of expression `i` is entry `i` of
/// [`crate::compile`]'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExprId(pub u32);

/// An RDL value that may be an expression: a literal, or VB code starting with `=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expression {
    /// A literal, verbatim (whitespace preserved: `<Value xml:space="preserve"> </Value>`
    /// is one space).
    Constant(String),
    /// `=...`: `src` is the text after the `=`, `at` where the element's text starts.
    Expr {
        /// The VB source after the leading `=`.
        src: String,
        /// Where the value starts in the file.
        at: Location,
        /// Its index in the report's expression table.
        id: ExprId,
    },
}

impl Default for Expression {
    fn default() -> Self {
        Expression::Constant(String::new())
    }
}

impl Expression {
    /// A literal.
    pub fn constant(s: impl Into<String>) -> Self {
        Expression::Constant(s.into())
    }

    /// The literal text, `None` for an `=` expression.
    pub fn as_constant(&self) -> Option<&str> {
        match self {
            Expression::Constant(s) => Some(s),
            Expression::Expr { .. } => None,
        }
    }

    /// True for an `=` expression.
    pub fn is_expr(&self) -> bool {
        matches!(self, Expression::Expr { .. })
    }

    /// The literal as a boolean (`true`/`false`, any case, trimmed); `None` when it is an
    /// expression or another literal.
    pub fn constant_bool(&self) -> Option<bool> {
        let s = self.as_constant()?.trim();
        if s.eq_ignore_ascii_case("true") {
            Some(true)
        } else if s.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }
    }

    /// The literal as a size; `None` when it is an expression or not a size.
    pub fn constant_size(&self) -> Option<Size> {
        Size::parse(self.as_constant()?)
    }
}

/// The whole report definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The report's name, given by the caller (the catalog item name).
    pub name: String,
    /// The schema version the file was written for.
    pub schema: Option<Schema>,
    /// `Description`.
    pub description: Option<String>,
    /// `Author`.
    pub author: Option<String>,
    /// `Language`: culture for formatting (an expression allowed).
    pub language: Option<Expression>,
    /// `DataSchema`: the XML renderer's namespace.
    pub data_schema: Option<String>,
    /// `DataElementName`: the XML renderer's root element name.
    pub data_element_name: Option<String>,
    /// `DataElementStyle`: textboxes as attributes (default) or elements in XML output.
    pub data_element_style: DataElementStyle,
    /// `AutoRefresh` seconds (0 = off).
    pub auto_refresh: u32,
    /// `InitialPageName`.
    pub initial_page_name: Option<Expression>,
    /// `ConsumeContainerWhitespace`.
    pub consume_container_whitespace: bool,
    /// `df:DefaultFontFamily` (2016): replaces Arial for items without FontFamily.
    pub default_font_family: Option<String>,
    /// The `<Code>` block, verbatim, and where it starts.
    pub code: Option<(String, Location)>,
    /// `EmbeddedImages`.
    pub embedded_images: Vec<EmbeddedImage>,
    /// `Variables` (report-level).
    pub variables: Vec<Variable>,
    /// `ReportParameters`, in definition order (order matters for cascading).
    pub parameters: Vec<ReportParameter>,
    /// `DataSources`.
    pub data_sources: Vec<DataSource>,
    /// `DataSets`.
    pub data_sets: Vec<DataSet>,
    /// `ReportSections` (2008/2005 Body/Page become one section).
    pub sections: Vec<ReportSection>,
    /// How many `=` expressions the model holds ([`ExprId`]s are `0..expression_count`).
    pub expression_count: u32,
    /// Every `=` expression, indexed by [`ExprId`]: what [`crate::compile`] compiles, with
    /// where each one is for messages.
    pub expressions: Vec<ExprSite>,
}

/// One `=` expression of a report and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprSite {
    /// The VB source after the `=` (the same text as in its [`Expression::Expr`]).
    pub src: String,
    /// Where the source starts.
    pub at: Location,
    /// The nearest named element around it, e.g. `Textbox[@Name=Total]` (or `Report`).
    pub owner: String,
    /// The element holding it, e.g. `Value`, `Hidden`, `FontSize`.
    pub property: String,
}

impl Report {
    /// The data set called `name` (RDL names are case-sensitive).
    pub fn data_set(&self, name: &str) -> Option<&DataSet> {
        self.data_sets.iter().find(|d| d.name == name)
    }

    /// The data source called `name`.
    pub fn data_source(&self, name: &str) -> Option<&DataSource> {
        self.data_sources.iter().find(|d| d.name == name)
    }

    /// The parameter called `name`.
    pub fn parameter(&self, name: &str) -> Option<&ReportParameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The embedded image called `name`.
    pub fn embedded_image(&self, name: &str) -> Option<&EmbeddedImage> {
        self.embedded_images.iter().find(|i| i.name == name)
    }
}

impl Report {
    /// Every report item of every section (body, page header, page footer), depth first in
    /// document order, with an explicit stack (no recursion).
    pub fn all_items(&self) -> Vec<&ReportItem> {
        let mut out = Vec::new();
        let mut stack: Vec<&ReportItem> = Vec::new();
        for s in &self.sections {
            let mut roots: Vec<&ReportItem> = s.body.items.iter().collect();
            for ps in [&s.page.header, &s.page.footer].into_iter().flatten() {
                roots.extend(ps.items.iter());
            }
            stack.extend(roots.into_iter().rev());
            while let Some(item) = stack.pop() {
                out.push(item);
                stack.extend(item.children().into_iter().rev());
            }
        }
        out
    }

    /// The report item called `name` anywhere in the report (names are unique in RDL).
    pub fn find_item(&self, name: &str) -> Option<&ReportItem> {
        self.all_items().into_iter().find(|i| i.name == name)
    }
}

impl ReportItem {
    /// The items directly inside this one: a rectangle's items; a tablix's corner cells,
    /// member headers (column hierarchy, then row hierarchy) and body cells.
    pub fn children(&self) -> Vec<&ReportItem> {
        match &self.kind {
            ItemKind::Rectangle(r) => r.items.iter().collect(),
            ItemKind::Tablix(t) => {
                let mut out: Vec<&ReportItem> = t
                    .corner
                    .iter()
                    .flatten()
                    .flatten()
                    .map(|c| &*c.item)
                    .collect();
                let mut members: Vec<&TablixMember> = Vec::new();
                members.extend(t.column_hierarchy.iter().rev());
                let mut headers = Vec::new();
                while let Some(m) = members.pop() {
                    if let Some(h) = &m.header {
                        headers.push(&*h.contents.item);
                    }
                    members.extend(m.members.iter().rev());
                }
                members.extend(t.row_hierarchy.iter().rev());
                while let Some(m) = members.pop() {
                    if let Some(h) = &m.header {
                        headers.push(&*h.contents.item);
                    }
                    members.extend(m.members.iter().rev());
                }
                out.extend(headers);
                out.extend(
                    t.rows
                        .iter()
                        .flat_map(|r| r.cells.iter().flatten())
                        .map(|c| &*c.item),
                );
                out
            }
            _ => Vec::new(),
        }
    }
}

/// XML output of textboxes (report-wide default and per textbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataElementStyle {
    /// Inherit (textbox) / attributes (report).
    #[default]
    Auto,
    /// As attributes (`AttributeNormal` in 2005).
    Attribute,
    /// As elements (`ElementNormal` in 2005).
    Element,
}

/// Whether an item appears in data renderers' (CSV, XML) output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataElementOutput {
    /// Renderer's rule (a constant textbox is dropped, ...).
    #[default]
    Auto,
    /// Always.
    Output,
    /// Never.
    NoOutput,
    /// Only its contents, not the item's own element.
    ContentsOnly,
}

/// An image embedded in the definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedImage {
    /// `Name`.
    pub name: String,
    /// `MIMEType`, e.g. `image/png`.
    pub mime_type: String,
    /// The decoded `ImageData`.
    pub data: Arc<[u8]>,
}

/// A report or group variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: Expression,
    /// `Writable` (2010+).
    pub writable: bool,
    /// Where it is defined.
    pub at: Location,
}

/// `DataType` of a report parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParameterType {
    /// `String` (the default).
    #[default]
    String,
    /// `Integer`.
    Integer,
    /// `Float`.
    Float,
    /// `Boolean`.
    Boolean,
    /// `DateTime`.
    DateTime,
}

/// `UsedInQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsedInQuery {
    /// Decided by the server (a query parameter refers to it).
    #[default]
    Auto,
    /// Always.
    True,
    /// Never.
    False,
}

/// A report parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportParameter {
    /// `Name`.
    pub name: String,
    /// `DataType`.
    pub data_type: ParameterType,
    /// `Nullable`.
    pub nullable: bool,
    /// `AllowBlank` (strings only).
    pub allow_blank: bool,
    /// `MultiValue`.
    pub multi_value: bool,
    /// `Hidden`: not shown in the parameter pane, but settable by URL.
    pub hidden: bool,
    /// `Prompt`; `None` means an internal parameter (never prompted, not settable).
    pub prompt: Option<String>,
    /// `DefaultValue`.
    pub default_value: Option<DefaultValue>,
    /// `ValidValues`.
    pub valid_values: Option<ValidValues>,
    /// `UsedInQuery`.
    pub used_in_query: UsedInQuery,
    /// Where it is defined.
    pub at: Location,
}

impl ReportParameter {
    /// True when the user is never prompted for it and cannot set it (no `Prompt`).
    pub fn is_internal(&self) -> bool {
        self.prompt.is_none()
    }
}

/// A parameter's default.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// `Values`: each a value or `None` for `xsi:nil="true"` (NULL).
    Values(Vec<Option<Expression>>),
    /// `DataSetReference`: the first row's (or all rows', multi-value) `ValueField`.
    DataSet(DataSetReference),
}

/// A parameter's valid values.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidValues {
    /// `ParameterValues`.
    Values(Vec<ParameterValue>),
    /// `DataSetReference`.
    DataSet(DataSetReference),
}

/// One static valid value.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterValue {
    /// `Value` (`None`: NULL).
    pub value: Option<Expression>,
    /// `Label` (`None`: the value is its own label).
    pub label: Option<Expression>,
}

/// Values taken from a data set's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSetReference {
    /// `DataSetName`.
    pub data_set_name: String,
    /// `ValueField`: a field name.
    pub value_field: String,
    /// `LabelField`: a field name (`None`: the value field).
    pub label_field: Option<String>,
}

/// A data source of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// `Name`.
    pub name: String,
    /// Embedded properties or a reference to a shared data source.
    pub kind: DataSourceKind,
    /// `Transaction`: run all its data sets in one transaction.
    pub transaction: bool,
    /// Where it is defined.
    pub at: Location,
}

/// How a data source is given.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSourceKind {
    /// `ConnectionProperties`.
    Embedded(ConnectionProperties),
    /// `DataSourceReference`: a catalog path, absolute or relative to the report's folder.
    Reference(String),
}

/// Embedded connection properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionProperties {
    /// `DataProvider` (the extension: `ENTERDATA`, `SQLITE`, `POSTGRESQL`, `SQL`, ...).
    pub data_provider: String,
    /// `ConnectString` (an expression allowed).
    pub connect_string: Expression,
    /// `IntegratedSecurity`.
    pub integrated_security: bool,
    /// `Prompt`: the credential prompt text, when credentials are prompted.
    pub prompt: Option<String>,
}

/// `CommandType` of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommandType {
    /// SQL text (the default).
    #[default]
    Text,
    /// A stored procedure name.
    StoredProcedure,
    /// A table name.
    TableDirect,
}

/// A data set's query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// `DataSourceName`.
    pub data_source_name: String,
    /// `CommandType`.
    pub command_type: CommandType,
    /// `CommandText` (raw; for ENTERDATA the escaped `<Query><XmlData>...` document).
    pub command_text: Option<Expression>,
    /// `QueryParameters`.
    pub parameters: Vec<QueryParameter>,
    /// `Timeout` seconds (`None`: the server default; 0: none).
    pub timeout: Option<u32>,
}

/// One query parameter: `@name` bound to an expression's value.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParameter {
    /// `Name`, as written (usually with its `@`).
    pub name: String,
    /// `Value`.
    pub value: Expression,
    /// Where it is defined.
    pub at: Location,
}

/// A field of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// `Name` (what `Fields!Name` refers to).
    pub name: String,
    /// Where the value comes from.
    pub source: FieldSource,
    /// `rd:TypeName`, e.g. `System.Decimal` (types ENTERDATA columns).
    pub type_name: Option<String>,
    /// Where it is defined.
    pub at: Location,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSource {
    /// `DataField`: a column of the query's result.
    DataField(String),
    /// `Value`: a calculated field.
    Value(Expression),
}

/// Auto/True/False sensitivity settings of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sensitivity {
    /// From the data provider (case-insensitive when unknown).
    #[default]
    Auto,
    /// Sensitive.
    True,
    /// Insensitive.
    False,
}

/// A data set.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSet {
    /// `Name`.
    pub name: String,
    /// `Query` (for a shared data set reference, its DataSourceName is empty).
    pub query: Query,
    /// `SharedDataSet/SharedDataSetReference`, when the data set is shared.
    pub shared_data_set_reference: Option<String>,
    /// `Fields`.
    pub fields: Vec<Field>,
    /// `Filters`.
    pub filters: Vec<Filter>,
    /// `CaseSensitivity`.
    pub case_sensitivity: Sensitivity,
    /// `AccentSensitivity`.
    pub accent_sensitivity: Sensitivity,
    /// `KanatypeSensitivity`.
    pub kanatype_sensitivity: Sensitivity,
    /// `WidthSensitivity`.
    pub width_sensitivity: Sensitivity,
    /// `Collation`.
    pub collation: Option<String>,
    /// `InterpretSubtotalsAsDetails`.
    pub interpret_subtotals_as_details: Sensitivity,
    /// Where it is defined.
    pub at: Location,
}

impl DataSet {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A filter's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOperator {
    /// `Equal`.
    Equal,
    /// `Like` (`*`, `?`, `#` wildcards).
    Like,
    /// `NotEqual`.
    NotEqual,
    /// `GreaterThan`.
    GreaterThan,
    /// `GreaterThanOrEqual`.
    GreaterThanOrEqual,
    /// `LessThan`.
    LessThan,
    /// `LessThanOrEqual`.
    LessThanOrEqual,
    /// `TopN`.
    TopN,
    /// `BottomN`.
    BottomN,
    /// `TopPercent`.
    TopPercent,
    /// `BottomPercent`.
    BottomPercent,
    /// `In`.
    In,
    /// `Between` (two values).
    Between,
}

/// A filter on a data set, data region or group.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// `FilterExpression`.
    pub expression: Expression,
    /// `Operator`.
    pub operator: FilterOperator,
    /// `FilterValues`.
    pub values: Vec<Expression>,
    /// Where it is defined.
    pub at: Location,
}

/// One report section (2005-2010 files have exactly one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportSection {
    /// `Body`.
    pub body: Body,
    /// `Width` of the body.
    pub width: Size,
    /// `Page`.
    pub page: Page,
    /// `DataElementName`.
    pub data_element_name: Option<String>,
    /// `DataElementOutput`.
    pub data_element_output: DataElementOutput,
    /// Where it is defined.
    pub at: Location,
}

/// The body of a section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    /// `ReportItems`.
    pub items: Vec<ReportItem>,
    /// `Height`.
    pub height: Size,
    /// `Style`.
    pub style: Style,
}

/// Page settings of a section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// `PageHeader`.
    pub header: Option<PageSection>,
    /// `PageFooter`.
    pub footer: Option<PageSection>,
    /// `PageHeight` (`None`: 11in).
    pub page_height: Option<Size>,
    /// `PageWidth` (`None`: 8.5in).
    pub page_width: Option<Size>,
    /// `InteractiveHeight` (`None`: the page height; 0: no soft page breaks).
    pub interactive_height: Option<Size>,
    /// `InteractiveWidth`.
    pub interactive_width: Option<Size>,
    /// `LeftMargin`.
    pub left_margin: Size,
    /// `RightMargin`.
    pub right_margin: Size,
    /// `TopMargin`.
    pub top_margin: Size,
    /// `BottomMargin`.
    pub bottom_margin: Size,
    /// `Columns` (newsletter columns; 1 when absent).
    pub columns: u32,
    /// `ColumnSpacing` (`None`: 0.5in).
    pub column_spacing: Option<Size>,
    /// `Style`.
    pub style: Style,
}

impl Page {
    /// Letter width, the RDL default.
    pub const DEFAULT_WIDTH: Size = Size(215_900);
    /// Letter height, the RDL default.
    pub const DEFAULT_HEIGHT: Size = Size(279_400);
}

/// A page header or footer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageSection {
    /// `Height`.
    pub height: Size,
    /// `PrintOnFirstPage` (default false).
    pub print_on_first_page: bool,
    /// `PrintOnLastPage` (default false).
    pub print_on_last_page: bool,
    /// `PrintBetweenSections` (2016).
    pub print_between_sections: bool,
    /// `ReportItems`.
    pub items: Vec<ReportItem>,
    /// `Style`.
    pub style: Style,
    /// Where it is defined.
    pub at: Location,
}

/// A border side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Border {
    /// `Color`.
    pub color: Option<Expression>,
    /// `Style`: None, Dotted, Dashed, Solid, Double...
    pub style: Option<Expression>,
    /// `Width` (a size).
    pub width: Option<Expression>,
}

impl Border {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.color.is_none() && self.style.is_none() && self.width.is_none()
    }
}

/// `BackgroundImage`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundImage {
    /// `Source`.
    pub source: ImageSource,
    /// `Value`.
    pub value: Expression,
    /// `MIMEType`.
    pub mime_type: Option<Expression>,
    /// `BackgroundRepeat`.
    pub repeat: Option<Expression>,
}

/// Style properties; every one may be an expression. `None` = inherit / RDL default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Style {
    /// `Border`: all sides.
    pub border: Border,
    /// `TopBorder` (overrides `border`, property by property).
    pub top_border: Border,
    /// `BottomBorder`.
    pub bottom_border: Border,
    /// `LeftBorder`.
    pub left_border: Border,
    /// `RightBorder`.
    pub right_border: Border,
    /// `BackgroundColor`.
    pub background_color: Option<Expression>,
    /// `BackgroundGradientType` (charts; kept for completeness).
    pub background_gradient_type: Option<Expression>,
    /// `BackgroundGradientEndColor`.
    pub background_gradient_end_color: Option<Expression>,
    /// `BackgroundImage`.
    pub background_image: Option<Box<BackgroundImage>>,
    /// `FontStyle`: Normal, Italic.
    pub font_style: Option<Expression>,
    /// `FontFamily`.
    pub font_family: Option<Expression>,
    /// `FontSize`.
    pub font_size: Option<Expression>,
    /// `FontWeight`: Normal, Bold, ...
    pub font_weight: Option<Expression>,
    /// `Format`: a .NET format string.
    pub format: Option<Expression>,
    /// `TextDecoration`: None, Underline, Overline, LineThrough.
    pub text_decoration: Option<Expression>,
    /// `TextAlign`: General, Left, Center, Right.
    pub text_align: Option<Expression>,
    /// `VerticalAlign`: Top, Middle, Bottom.
    pub vertical_align: Option<Expression>,
    /// `Color`.
    pub color: Option<Expression>,
    /// `PaddingLeft`.
    pub padding_left: Option<Expression>,
    /// `PaddingRight`.
    pub padding_right: Option<Expression>,
    /// `PaddingTop`.
    pub padding_top: Option<Expression>,
    /// `PaddingBottom`.
    pub padding_bottom: Option<Expression>,
    /// `LineHeight`.
    pub line_height: Option<Expression>,
    /// `Direction`: LTR, RTL.
    pub direction: Option<Expression>,
    /// `WritingMode`: Horizontal, Vertical, Rotate270.
    pub writing_mode: Option<Expression>,
    /// `Language`.
    pub language: Option<Expression>,
    /// `UnicodeBiDi`.
    pub unicode_bidi: Option<Expression>,
    /// `Calendar`.
    pub calendar: Option<Expression>,
    /// `NumeralLanguage`.
    pub numeral_language: Option<Expression>,
    /// `NumeralVariant`.
    pub numeral_variant: Option<Expression>,
}

/// Visibility of an item or tablix member.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Visibility {
    /// `Hidden` (initial state when toggled).
    pub hidden: Option<Expression>,
    /// `ToggleItem`: the textbox whose toggle image shows/hides this.
    pub toggle_item: Option<String>,
}

/// `BreakLocation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BreakLocation {
    /// No break.
    #[default]
    None,
    /// Before.
    Start,
    /// After.
    End,
    /// Before and after.
    StartAndEnd,
    /// Between group instances.
    Between,
}

/// A logical page break.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageBreak {
    /// `BreakLocation`.
    pub location: BreakLocation,
    /// `Disabled`.
    pub disabled: Option<Expression>,
    /// `ResetPageNumber`.
    pub reset_page_number: Option<Expression>,
}

/// An action on a textbox, text run or image.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `Hyperlink`: a URL.
    Hyperlink(Expression),
    /// `Drillthrough` to another report.
    Drillthrough(Drillthrough),
    /// `BookmarkLink`: jump to a bookmark in this report.
    BookmarkLink(Expression),
}

/// A drillthrough action.
#[derive(Debug, Clone, PartialEq)]
pub struct Drillthrough {
    /// `ReportName`: a catalog path, absolute or relative to this report's folder.
    pub report_name: Expression,
    /// `Parameters`.
    pub parameters: Vec<PassedParameter>,
}

/// A parameter passed to a drillthrough target or a subreport.
#[derive(Debug, Clone, PartialEq)]
pub struct PassedParameter {
    /// `Name` (attribute).
    pub name: String,
    /// `Value`.
    pub value: Expression,
    /// `Omit`.
    pub omit: Option<Expression>,
}

/// One report item: what every item has, and its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportItem {
    /// `Name` (attribute).
    pub name: String,
    /// Where its element starts.
    pub at: Location,
    /// `Top`.
    pub top: Size,
    /// `Left`.
    pub left: Size,
    /// `Height` (`None`: the container's / the item's own extent).
    pub height: Option<Size>,
    /// `Width`.
    pub width: Option<Size>,
    /// `ZIndex`.
    pub z_index: i32,
    /// `Visibility`.
    pub visibility: Option<Visibility>,
    /// `ToolTip`.
    pub tooltip: Option<Expression>,
    /// `Bookmark`.
    pub bookmark: Option<Expression>,
    /// `DocumentMapLabel` (`Label` in 2005).
    pub document_map_label: Option<Expression>,
    /// `RepeatWith`: a data region name.
    pub repeat_with: Option<String>,
    /// `Style`.
    pub style: Style,
    /// `DataElementName`.
    pub data_element_name: Option<String>,
    /// `DataElementOutput`.
    pub data_element_output: DataElementOutput,
    /// `KeepTogether`.
    pub keep_together: bool,
    /// `PageBreak` (2005 `PageBreakAtStart`/`AtEnd` mapped).
    pub page_break: Option<PageBreak>,
    /// `PageName`.
    pub page_name: Option<Expression>,
    /// What kind of item.
    pub kind: ItemKind,
}

/// The kinds of report item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `Textbox`.
    Textbox(Textbox),
    /// `Rectangle` (a container).
    Rectangle(Rectangle),
    /// `Line` (from Top/Left, extent Width/Height, which may be negative).
    Line,
    /// `Image`.
    Image(Image),
    /// `Subreport`.
    Subreport(Subreport),
    /// `Tablix` (2005 Table, Matrix and List included).
    Tablix(Box<Tablix>),
    /// `Chart` (model and parser in [`crate::parse::chart`]).
    Chart(Box<crate::parse::chart::Chart>),
    /// `GaugePanel`.
    GaugePanel(Box<crate::parse::chart::GaugePanel>),
    /// Map, CustomReportItem: drawn as a labelled box for now.
    Placeholder(Placeholder),
}

/// `ListStyle` of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListStyle {
    /// Plain.
    #[default]
    None,
    /// Numbered.
    Numbered,
    /// Bulleted.
    Bulleted,
}

/// `MarkupType` of a text run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarkupType {
    /// Plain text.
    #[default]
    None,
    /// A subset of HTML.
    Html,
}

/// A textbox.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Textbox {
    /// `Paragraphs` (2005 `Value` becomes one paragraph with one run).
    pub paragraphs: Vec<Paragraph>,
    /// `CanGrow`.
    pub can_grow: bool,
    /// `CanShrink`.
    pub can_shrink: bool,
    /// `HideDuplicates`: the scope (data set or group) name.
    pub hide_duplicates: Option<String>,
    /// `ToggleImage/InitialState`: shown expanded when true.
    pub toggle_image: Option<Expression>,
    /// `UserSort`.
    pub user_sort: Option<UserSort>,
    /// `ActionInfo/Actions` (2005 `Action`).
    pub actions: Vec<Action>,
    /// `DataElementStyle`.
    pub data_element_style: DataElementStyle,
}

impl Textbox {
    /// The single run's value when the textbox has exactly one paragraph with one run
    /// (what `ReportItems!Name.Value` and data renderers use for simple textboxes).
    pub fn single_value(&self) -> Option<&Expression> {
        match self.paragraphs.as_slice() {
            [p] => match p.runs.as_slice() {
                [r] => Some(&r.value),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A paragraph of a textbox.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paragraph {
    /// `TextRuns`.
    pub runs: Vec<TextRun>,
    /// `Style` (paragraph-level: TextAlign, LineHeight...).
    pub style: Style,
    /// `ListStyle`.
    pub list_style: ListStyle,
    /// `ListLevel`.
    pub list_level: u32,
    /// `LeftIndent`.
    pub left_indent: Option<Expression>,
    /// `RightIndent`.
    pub right_indent: Option<Expression>,
    /// `HangingIndent`.
    pub hanging_indent: Option<Expression>,
    /// `SpaceBefore`.
    pub space_before: Option<Expression>,
    /// `SpaceAfter`.
    pub space_after: Option<Expression>,
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextRun {
    /// `Value`.
    pub value: Expression,
    /// `Label`.
    pub label: Option<String>,
    /// `MarkupType`.
    pub markup_type: MarkupType,
    /// `ToolTip`.
    pub tooltip: Option<Expression>,
    /// `ActionInfo/Actions`.
    pub actions: Vec<Action>,
    /// `Style`.
    pub style: Style,
}

/// Interactive sort on a textbox.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSort {
    /// `SortExpression`.
    pub sort_expression: Expression,
    /// `SortExpressionScope`: group or data region name.
    pub sort_expression_scope: Option<String>,
    /// `SortTarget`: data region or group name.
    pub sort_target: Option<String>,
}

/// A rectangle: a container of items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rectangle {
    /// `ReportItems`.
    pub items: Vec<ReportItem>,
    /// `OmitBorderOnPageBreak`.
    pub omit_border_on_page_break: bool,
}

/// `Source` of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageSource {
    /// A URL or catalog resource path.
    #[default]
    External,
    /// An embedded image's name.
    Embedded,
    /// A binary field value.
    Database,
}

/// `Sizing` of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sizing {
    /// The item grows to the image.
    #[default]
    AutoSize,
    /// Stretched to the item.
    Fit,
    /// Scaled to fit, aspect kept.
    FitProportional,
    /// Cut at the item's edges.
    Clip,
}

/// An image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    /// `Source`.
    pub source: ImageSource,
    /// `Value`: URL/path, embedded name, or the binary field expression.
    pub value: Expression,
    /// `MIMEType` (database images).
    pub mime_type: Option<Expression>,
    /// `Sizing`.
    pub sizing: Sizing,
    /// `ActionInfo/Actions`.
    pub actions: Vec<Action>,
}

/// A subreport.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subreport {
    /// `ReportName`: a catalog path, absolute or relative to this report's folder.
    pub report_name: String,
    /// `Parameters`.
    pub parameters: Vec<PassedParameter>,
    /// `NoRowsMessage`.
    pub no_rows_message: Option<Expression>,
    /// `MergeTransactions`.
    pub merge_transactions: bool,
    /// `OmitBorderOnPageBreak`.
    pub omit_border_on_page_break: bool,
}

/// What a tablix was written as (2005 data regions are upgraded into Tablix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TablixOrigin {
    /// A 2008+ `Tablix`.
    #[default]
    Tablix,
    /// A 2005 `Table`.
    Table,
    /// A 2005 `Matrix`.
    Matrix,
    /// A 2005 `List`.
    List,
}

/// `LayoutDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutDirection {
    /// Left to right.
    #[default]
    Ltr,
    /// Right to left.
    Rtl,
}

/// `KeepWithGroup` of a static member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepWithGroup {
    /// Not kept.
    #[default]
    None,
    /// With the group before it (a footer).
    Before,
    /// With the group after it (a header).
    After,
}

/// `Direction` of a sort expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Ascending.
    #[default]
    Ascending,
    /// Descending.
    Descending,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortExpression {
    /// `Value`.
    pub value: Expression,
    /// `Direction`.
    pub direction: SortDirection,
}

/// A tablix: table, matrix and list in one.
///
/// The body is a grid of `columns.len()` × `rows.len()` cells. The leaf members of the
/// column hierarchy map 1:1 onto body columns, the leaf members of the row hierarchy onto
/// body rows, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tablix {
    /// `DataSetName` (`None`: the report's only data set).
    pub data_set_name: Option<String>,
    /// `TablixCorner/TablixCornerRows`: rows of corner cells (`None` where a span covers it).
    pub corner: Vec<Vec<Option<CellContents>>>,
    /// `TablixBody/TablixColumns`: the body columns' widths.
    pub columns: Vec<Size>,
    /// `TablixBody/TablixRows`.
    pub rows: Vec<TablixRow>,
    /// `TablixColumnHierarchy/TablixMembers`.
    pub column_hierarchy: Vec<TablixMember>,
    /// `TablixRowHierarchy/TablixMembers`.
    pub row_hierarchy: Vec<TablixMember>,
    /// `Filters`.
    pub filters: Vec<Filter>,
    /// `SortExpressions`.
    pub sort_expressions: Vec<SortExpression>,
    /// `NoRowsMessage`.
    pub no_rows_message: Option<Expression>,
    /// `RepeatColumnHeaders`.
    pub repeat_column_headers: bool,
    /// `RepeatRowHeaders`.
    pub repeat_row_headers: bool,
    /// `FixedColumnHeaders`.
    pub fixed_column_headers: bool,
    /// `FixedRowHeaders`.
    pub fixed_row_headers: bool,
    /// `GroupsBeforeRowHeaders`.
    pub groups_before_row_headers: u32,
    /// `LayoutDirection`.
    pub layout_direction: LayoutDirection,
    /// `OmitBorderOnPageBreak`.
    pub omit_border_on_page_break: bool,
    /// What the definition wrote (Tablix, or a 2005 region upgraded).
    pub origin: TablixOrigin,
}

/// A body row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TablixRow {
    /// `Height`.
    pub height: Size,
    /// `TablixCells`: one per body column; `None` where a cell is covered by a ColSpan
    /// (or written empty).
    pub cells: Vec<Option<CellContents>>,
}

/// What a cell (body, header or corner) holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CellContents {
    /// The item (a textbox, rectangle, nested data region...).
    pub item: Box<ReportItem>,
    /// `ColSpan` (≥ 1).
    pub col_span: u32,
    /// `RowSpan` (≥ 1).
    pub row_span: u32,
}

/// A header cell of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct TablixHeader {
    /// `Size`: the header's width (row members) or height (column members).
    pub size: Size,
    /// `CellContents`.
    pub contents: CellContents,
}

/// A member of a row or column hierarchy: static (no group) or dynamic (a group).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TablixMember {
    /// `Group` (`None`: a static member; a group without expressions is the details group).
    pub group: Option<Group>,
    /// `SortExpressions` of the group.
    pub sort_expressions: Vec<SortExpression>,
    /// `TablixHeader`.
    pub header: Option<TablixHeader>,
    /// `TablixMembers`: children (leaves map onto body rows/columns).
    pub members: Vec<TablixMember>,
    /// `FixedData`.
    pub fixed_data: bool,
    /// `Visibility`.
    pub visibility: Option<Visibility>,
    /// `HideIfNoRows`.
    pub hide_if_no_rows: bool,
    /// `KeepWithGroup`.
    pub keep_with_group: KeepWithGroup,
    /// `RepeatOnNewPage`.
    pub repeat_on_new_page: bool,
    /// `KeepTogether`.
    pub keep_together: bool,
    /// `DataElementName`.
    pub data_element_name: Option<String>,
    /// `DataElementOutput`.
    pub data_element_output: DataElementOutput,
    /// Where it is defined.
    pub at: Location,
}

impl TablixMember {
    /// True for a member without children (it maps onto one body row or column).
    pub fn is_leaf(&self) -> bool {
        self.members.is_empty()
    }

    /// Leaves under (and including) this member.
    pub fn leaf_count(&self) -> usize {
        if self.members.is_empty() {
            1
        } else {
            self.members.iter().map(TablixMember::leaf_count).sum()
        }
    }
}

/// A group of a tablix member.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// `Name`.
    pub name: String,
    /// `GroupExpressions` (empty: the details group, one instance per row).
    pub group_expressions: Vec<Expression>,
    /// `PageBreak`.
    pub page_break: Option<PageBreak>,
    /// `PageName`.
    pub page_name: Option<Expression>,
    /// `Filters`.
    pub filters: Vec<Filter>,
    /// `Parent`: recursive hierarchy.
    pub parent: Option<Expression>,
    /// `Variables`.
    pub variables: Vec<Variable>,
    /// `DataElementName`.
    pub data_element_name: Option<String>,
    /// `DataElementOutput`.
    pub data_element_output: DataElementOutput,
    /// Where it is defined.
    pub at: Location,
}

impl Group {
    /// True for the details group (no group expressions).
    pub fn is_details(&self) -> bool {
        self.group_expressions.is_empty()
    }
}

/// What a placeholder stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderKind {
    /// `Chart`.
    Chart,
    /// `GaugePanel`.
    GaugePanel,
    /// `Map`.
    Map,
    /// `CustomReportItem` (its `Type`).
    CustomReportItem(String),
}

/// An item rendered as a labelled box of its size (charts, gauges, maps until they exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    /// What it is.
    pub kind: PlaceholderKind,
    /// `DataSetName`, when it has one.
    pub data_set_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_unit() {
        assert_eq!(Size::parse("1in"), Some(Size(25_400)));
        assert_eq!(Size::parse(" 2.5935in "), Some(Size(65_875)));
        assert_eq!(Size::parse("2.54cm"), Some(Size(25_400)));
        assert_eq!(Size::parse("10mm"), Some(Size(10_000)));
        assert_eq!(Size::parse("72pt"), Some(Size(25_400)));
        assert_eq!(Size::parse("0.25pt"), Some(Size(88)));
        assert_eq!(Size::parse("6pc"), Some(Size(25_400)));
        assert_eq!(Size::parse("-0.5in"), Some(Size(-12_700)));
        assert_eq!(Size::parse(".5 in"), Some(Size(12_700)));
        assert_eq!(Size::parse("1IN"), Some(Size(25_400)));
        for bad in [
            "",
            "in",
            "1",
            "1px",
            "1.2.3in",
            "abcin",
            "1e3in",
            "9999999999999in",
            "-in",
        ] {
            assert_eq!(Size::parse(bad), None, "{bad}");
        }
        assert!((Size(25_400).points() - 72.0).abs() < 1e-9);
    }

    #[test]
    fn schema_namespaces_round_trip() {
        for s in [
            Schema::V2003,
            Schema::V2005,
            Schema::V2008,
            Schema::V2010,
            Schema::V2016,
        ] {
            assert_eq!(Schema::from_namespace(s.namespace()), Some(s));
        }
        assert_eq!(Schema::from_namespace("urn:x"), None);
    }
}
