//! The RDL parser: bytes → [`Report`], namespace-agnostic across 2005/01, 2008/01, 2010/01
//! and 2016/01 (2003/10 read as 2005), with located errors.
//!
//! Older shapes are upgraded into the one 2016-shaped model: 2005 `Table`, `Matrix` and
//! `List` become [`Tablix`]; Report-level `Body`/`Page`/`PageHeader`/`PageHeight`... become
//! one [`ReportSection`]; 2005 `Value` textboxes become one paragraph with one run; 2005
//! `BorderColor/Default` style blocks become `Border`/`TopBorder`...
//!
//! Extension namespaces: `rd:` (designer) is ignored silently except `rd:TypeName` on
//! fields; `df:DefaultFontFamily` is read; other elements of known extension namespaces, and
//! unknown elements of the RDL namespace, are ignored with a [`Warning`]. A root
//! `MustUnderstand` naming a namespace reportd does not know is an error.
//!
//! Bounded: the input first goes through the upload check's pre-scan (element count,
//! attributes, depth), so the recursion here is never deeper than the checked depth, and
//! every step is linear in the input.
//!
//! Must not: compile or evaluate expressions (see `crate::compile`), do I/O.

use std::sync::Arc;

use roxmltree::Node;

use crate::check::{CheckError, Limits};
use crate::error::{Location, ParseError, Positions, Warning};
use crate::model::*;

/// The report designer's namespace (`rd:`).
const NS_DESIGNER: &str = "http://schemas.microsoft.com/SQLServer/reporting/reportdesigner";
/// `df:` (2016 default font family).
const NS_DEFAULT_FONT: &str =
    "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition/defaultfontfamily";
/// `cl:` (component library metadata).
const NS_COMPONENT: &str =
    "http://schemas.microsoft.com/sqlserver/reporting/2010/01/componentdefinition";
/// `am:` (authoring metadata).
const NS_AUTHORING: &str = "http://schemas.microsoft.com/sqlserver/reporting/authoringmetadata";
/// XML Schema instance (`xsi:nil`).
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Extension namespaces whose elements reportd may skip; listing one of them in
/// `MustUnderstand` is accepted (reportd understands `df:`; the others carry designer data).
const KNOWN_EXTENSIONS: [&str; 4] = [NS_DESIGNER, NS_DEFAULT_FONT, NS_COMPONENT, NS_AUTHORING];

/// Most warnings kept; more are counted in one last warning.
const MAX_WARNINGS: usize = 100;

/// Parses a report definition. `name` is the report's name (the catalog item's), used in
/// messages and `Globals!ReportName`.
pub fn parse_report(name: &str, bytes: &[u8]) -> Result<(Report, Vec<Warning>), ParseError> {
    let (text, _) = crate::check::text_of(bytes, &Limits::default()).map_err(from_check)?;
    let doc = crate::check::xml_document(text, &Limits::default()).map_err(from_check)?;
    report_from_document(name, &doc, text)
}

/// Used by the upload check: the same parse on an already parsed document.
pub(crate) fn check_document(
    doc: &roxmltree::Document<'_>,
    text: &str,
) -> Result<(Report, Vec<Warning>), ParseError> {
    report_from_document("upload", doc, text)
}

fn from_check(e: CheckError) -> ParseError {
    match e {
        CheckError::Invalid(p) => p,
        CheckError::NotXml { at, detail } => ParseError {
            at,
            path: String::new(),
            problem: format!("it is not well-formed XML: {detail}"),
            fix: String::new(),
        },
        CheckError::Limit { at, ref path, .. } => ParseError {
            at,
            path: path.clone(),
            problem: e.to_string(),
            fix: String::new(),
        },
        CheckError::NotUtf8 { at } | CheckError::Doctype { at } => ParseError {
            at,
            path: String::new(),
            problem: e.to_string(),
            fix: String::new(),
        },
        other => ParseError {
            at: Location::new(1, 1),
            path: String::new(),
            problem: other.to_string(),
            fix: String::new(),
        },
    }
}

fn report_from_document(
    name: &str,
    doc: &roxmltree::Document<'_>,
    text: &str,
) -> Result<(Report, Vec<Warning>), ParseError> {
    let root = doc.root_element();
    let mut cx = Cx {
        pos: Positions::new(text.as_bytes()),
        ns: "",
        schema: Schema::V2016,
        warnings: Vec::new(),
        dropped: 0,
        next_id: 0,
        sites: Vec::new(),
    };
    if root.tag_name().name() != "Report" {
        return Err(cx.error(
            root,
            format!(
                "the root element is <{}>, not <Report>",
                root.tag_name().name()
            ),
            "upload a report definition (.rdl) whose root element is <Report>",
        ));
    }
    let ns = root.tag_name().namespace().unwrap_or("");
    let Some(schema) = Schema::from_namespace(ns) else {
        return Err(cx.error(
            root,
            format!("<Report> is in the namespace '{ns}', which is not a report definition namespace"),
            "use xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition\" (or the 2005/01, 2008/01 or 2010/01 one)",
        ));
    };
    cx.ns = ns;
    cx.schema = schema;
    cx.must_understand(root)?;
    let mut report = cx.report(root)?;
    report.name = name.to_owned();
    report.schema = Some(schema);
    report.expression_count = cx.next_id;
    report.expressions = std::mem::take(&mut cx.sites);
    let mut warnings = cx.warnings;
    if cx.dropped > 0 {
        warnings.push(Warning {
            at: Location::new(1, 1),
            path: "Report".into(),
            message: format!("{} more warnings were not listed", cx.dropped),
        });
    }
    Ok((report, warnings))
}

/// Parser state: positions, the RDL namespace of this file, warnings, expression ids.
struct Cx<'t> {
    pos: Positions<'t>,
    ns: &'t str,
    schema: Schema,
    warnings: Vec<Warning>,
    dropped: usize,
    next_id: u32,
    sites: Vec<ExprSite>,
}

type R<T> = Result<T, ParseError>;

#[path = "chart.rs"]
pub mod chart;

/// 2005 table rows with their row visibility.
type BandRows = Vec<(TablixRow, Option<Visibility>)>;

/// The nearest named ancestor of `node` (itself excluded), as `Kind[@Name=...]`.
fn owner_of(node: Node<'_, '_>) -> String {
    node.ancestors()
        .skip(1)
        .filter(Node::is_element)
        .find_map(|n| {
            n.attribute("Name")
                .map(|name| format!("{}[@Name={name}]", n.tag_name().name()))
        })
        .unwrap_or_else(|| "Report".to_owned())
}

/// The element path of `node`: `Report/DataSets/DataSet[@Name=Sales]/Fields`.
fn path_of(node: Node<'_, '_>) -> String {
    let mut parts: Vec<String> = node
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| {
            let local = n.tag_name().name();
            let prefix = match n.tag_name().namespace() {
                Some(NS_DESIGNER) => "rd:",
                Some(NS_DEFAULT_FONT) => "df:",
                Some(NS_COMPONENT) => "cl:",
                Some(NS_AUTHORING) => "am:",
                _ => "",
            };
            match n.attribute("Name") {
                Some(name) => format!("{prefix}{local}[@Name={name}]"),
                None => format!("{prefix}{local}"),
            }
        })
        .collect();
    parts.reverse();
    parts.join("/")
}

impl<'t> Cx<'t> {
    fn at(&self, node: Node<'_, '_>) -> Location {
        self.pos.at(node.range().start)
    }

    fn error(
        &self,
        node: Node<'_, '_>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> ParseError {
        ParseError {
            at: self.at(node),
            path: path_of(node),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn warn(&mut self, node: Node<'_, '_>, message: impl Into<String>) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.dropped += 1;
            return;
        }
        let w = Warning {
            at: self.at(node),
            path: path_of(node),
            message: message.into(),
        };
        self.warnings.push(w);
    }

    /// True when `node` is an element of this file's RDL namespace.
    fn is_rdl(&self, node: Node<'_, '_>) -> bool {
        node.is_element() && node.tag_name().namespace().unwrap_or("") == self.ns
    }

    /// The RDL child elements, in order; elements of other namespaces are screened here
    /// (designer elements skipped, others warned about).
    fn children<'a, 'i>(&mut self, node: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
        let mut out = Vec::new();
        for c in node.children().filter(Node::is_element) {
            if self.is_rdl(c) {
                out.push(c);
            } else {
                self.foreign(c);
            }
        }
        out
    }

    /// An element outside the RDL namespace where RDL was expected.
    fn foreign(&mut self, c: Node<'_, '_>) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match ns {
            NS_DESIGNER => {}
            NS_COMPONENT if c.tag_name().name() == "ComponentMetadata" => {}
            NS_AUTHORING if c.tag_name().name() == "AuthoringMetadata" => {}
            _ if KNOWN_EXTENSIONS.contains(&ns) => {
                let name = c.tag_name().name().to_owned();
                self.warn(
                    c,
                    format!("the extension element <{name}> is not supported and was ignored"),
                );
            }
            _ => {
                let name = c.tag_name().name().to_owned();
                self.warn(
                    c,
                    format!("the element <{name}> of the unknown namespace '{ns}' was ignored"),
                );
            }
        }
    }

    /// An RDL element this parser does not model at this place.
    fn unknown(&mut self, c: Node<'_, '_>) {
        let name = c.tag_name().name().to_owned();
        let parent = c
            .parent_element()
            .map(|p| p.tag_name().name().to_owned())
            .unwrap_or_default();
        self.warn(
            c,
            format!("<{name}> in <{parent}> is not supported by reportd and was ignored"),
        );
    }

    fn must_understand(&self, root: Node<'_, '_>) -> R<()> {
        let Some(list) = root.attribute("MustUnderstand") else {
            return Ok(());
        };
        for prefix in list.split_ascii_whitespace() {
            let Some(uri) = root.lookup_namespace_uri(Some(prefix)) else {
                return Err(self.error(
                    root,
                    format!("MustUnderstand names the prefix '{prefix}', which is not declared"),
                    format!("declare xmlns:{prefix}=\"...\" on <Report> or remove it from MustUnderstand"),
                ));
            };
            if !KNOWN_EXTENSIONS.contains(&uri) {
                return Err(self.error(
                    root,
                    format!("the report must be understood with the extension '{prefix}' ({uri}), which reportd does not support"),
                    format!("remove '{prefix}' from MustUnderstand and the elements that use it, or render this report on a server with that extension"),
                ));
            }
        }
        Ok(())
    }

    // ---- scalar values ------------------------------------------------------------------

    /// The element's text, all text children concatenated; whitespace-only text counts as
    /// empty unless `xml:space="preserve"` is in effect (as .NET's reader does).
    fn text(&self, node: Node<'_, '_>) -> String {
        let mut s = String::new();
        for c in node.children() {
            if c.is_text() {
                s.push_str(c.text().unwrap_or(""));
            }
        }
        if !s.is_empty() && s.chars().all(char::is_whitespace) && !preserves_space(node) {
            s.clear();
        }
        s
    }

    fn expr(&mut self, node: Node<'_, '_>) -> Expression {
        let text = self.text(node);
        let start = node
            .children()
            .find(|c| c.is_text())
            .map_or(node.range().start, |t| t.range().start);
        let trimmed = text.trim_start();
        if let Some(src) = trimmed.strip_prefix('=') {
            let lead = text.len() - trimmed.len() + 1;
            let id = ExprId(self.next_id);
            self.next_id = self.next_id.saturating_add(1);
            let at = self.pos.at(start + lead);
            self.sites.push(ExprSite {
                src: src.to_owned(),
                at,
                owner: owner_of(node),
                property: node.tag_name().name().to_owned(),
            });
            Expression::Expr {
                src: src.to_owned(),
                at,
                id,
            }
        } else {
            Expression::Constant(text)
        }
    }

    /// A value that may be `xsi:nil="true"` (NULL).
    fn nullable_expr(&mut self, node: Node<'_, '_>) -> Option<Expression> {
        if node
            .attribute((NS_XSI, "nil"))
            .is_some_and(|v| v.trim() == "true")
        {
            None
        } else {
            Some(self.expr(node))
        }
    }

    fn string(&self, node: Node<'_, '_>) -> String {
        self.text(node).trim().to_owned()
    }

    fn bool(&self, node: Node<'_, '_>) -> R<bool> {
        let t = self.text(node);
        match t.trim() {
            s if s.eq_ignore_ascii_case("true") || s == "1" => Ok(true),
            s if s.eq_ignore_ascii_case("false") || s == "0" => Ok(false),
            s => Err(self.error(
                node,
                format!("<{}> is '{s}', not a boolean", node.tag_name().name()),
                "write true or false",
            )),
        }
    }

    fn size(&self, node: Node<'_, '_>) -> R<Size> {
        let t = self.text(node);
        Size::parse(&t).ok_or_else(|| {
            self.error(
                node,
                format!("<{}> is '{}', not a size", node.tag_name().name(), t.trim()),
                "write a number with a unit: in, cm, mm, pt or pc (for example 2.5cm or 0.25in)",
            )
        })
    }

    fn uint(&self, node: Node<'_, '_>) -> R<u32> {
        let t = self.text(node);
        t.trim().parse::<u32>().map_err(|_| {
            self.error(
                node,
                format!(
                    "<{}> is '{}', not a whole number",
                    node.tag_name().name(),
                    t.trim()
                ),
                "write a whole number such as 0 or 3",
            )
        })
    }

    fn int(&self, node: Node<'_, '_>) -> R<i32> {
        let t = self.text(node);
        t.trim().parse::<i32>().map_err(|_| {
            self.error(
                node,
                format!(
                    "<{}> is '{}', not a whole number",
                    node.tag_name().name(),
                    t.trim()
                ),
                "write a whole number such as 0 or 3",
            )
        })
    }

    /// One of the names in `choices` (case-insensitive), mapped to its value.
    fn choice<T: Copy>(&self, node: Node<'_, '_>, choices: &[(&str, T)]) -> R<T> {
        let t = self.text(node);
        let t = t.trim();
        choices
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(t))
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.error(
                    node,
                    format!(
                        "<{}> is '{t}', which is not one of its values",
                        node.tag_name().name()
                    ),
                    format!("write one of: {}", names.join(", ")),
                )
            })
    }

    fn name_attr(&self, node: Node<'_, '_>) -> R<String> {
        match node.attribute("Name") {
            Some(n) if !n.trim().is_empty() => Ok(n.to_owned()),
            _ => Err(self.error(
                node,
                format!("<{}> has no Name attribute", node.tag_name().name()),
                format!(
                    "add Name=\"...\" to the <{}> element",
                    node.tag_name().name()
                ),
            )),
        }
    }

    fn missing(&self, node: Node<'_, '_>, child: &str) -> ParseError {
        self.error(
            node,
            format!("<{}> has no <{child}>", node.tag_name().name()),
            format!("add a <{child}> element to <{}>", node.tag_name().name()),
        )
    }

    // ---- report ---------------------------------------------------------------------------

    fn report(&mut self, root: Node<'_, '_>) -> R<Report> {
        let mut r = Report::default();
        // 2005-2010 keep the body and page settings on the report itself.
        let mut legacy = LegacySection::default();
        for c in root.children().filter(Node::is_element) {
            if !self.is_rdl(c) {
                if c.tag_name().namespace() == Some(NS_DEFAULT_FONT)
                    && c.tag_name().name() == "DefaultFontFamily"
                {
                    r.default_font_family = Some(self.string(c));
                } else {
                    self.foreign(c);
                }
                continue;
            }
            match c.tag_name().name() {
                "Description" => r.description = Some(self.text(c)),
                "Author" => r.author = Some(self.text(c)),
                "Language" => r.language = Some(self.expr(c)),
                "DataSchema" => r.data_schema = Some(self.string(c)),
                "DataElementName" => r.data_element_name = Some(self.string(c)),
                "DataElementStyle" => r.data_element_style = self.data_element_style(c)?,
                "AutoRefresh" => r.auto_refresh = self.uint(c)?,
                "InitialPageName" => r.initial_page_name = Some(self.expr(c)),
                "ConsumeContainerWhitespace" => r.consume_container_whitespace = self.bool(c)?,
                "Code" => r.code = Some((self.text(c), self.at(c))),
                "EmbeddedImages" => r.embedded_images = self.embedded_images(c)?,
                "Variables" => r.variables = self.variables(c)?,
                "ReportParameters" => {
                    for p in self.children(c) {
                        if p.tag_name().name() == "ReportParameter" {
                            let param = self.parameter(p)?;
                            r.parameters.push(param);
                        } else {
                            self.unknown(p);
                        }
                    }
                }
                "DataSources" => {
                    for d in self.children(c) {
                        if d.tag_name().name() == "DataSource" {
                            let ds = self.data_source(d)?;
                            r.data_sources.push(ds);
                        } else {
                            self.unknown(d);
                        }
                    }
                }
                "DataSets" => {
                    for d in self.children(c) {
                        if d.tag_name().name() == "DataSet" {
                            let ds = self.data_set(d)?;
                            r.data_sets.push(ds);
                        } else {
                            self.unknown(d);
                        }
                    }
                }
                "ReportSections" => {
                    for s in self.children(c) {
                        if s.tag_name().name() == "ReportSection" {
                            let sec = self.section(s)?;
                            r.sections.push(sec);
                        } else {
                            self.unknown(s);
                        }
                    }
                }
                "Body" => legacy.body = Some(c),
                "Width" => legacy.width = Some(self.size(c)?),
                "Page" => legacy.page = Some(c),
                "PageHeader" => legacy.header = Some(c),
                "PageFooter" => legacy.footer = Some(c),
                "PageHeight" => legacy.page_height = Some(self.size(c)?),
                "PageWidth" => legacy.page_width = Some(self.size(c)?),
                "InteractiveHeight" => legacy.interactive_height = Some(self.size(c)?),
                "InteractiveWidth" => legacy.interactive_width = Some(self.size(c)?),
                "LeftMargin" => legacy.left_margin = Some(self.size(c)?),
                "RightMargin" => legacy.right_margin = Some(self.size(c)?),
                "TopMargin" => legacy.top_margin = Some(self.size(c)?),
                "BottomMargin" => legacy.bottom_margin = Some(self.size(c)?),
                // Designer and publishing metadata with no effect on rendering.
                "ReportParametersLayout"
                | "CustomProperties"
                | "CodeModules"
                | "Classes"
                | "DataTransform"
                | "DataSchemaLocation"
                | "DeferVariableEvaluation"
                | "ReportUnitType"
                | "ReportID"
                | "DataElementStyleAutoDetect" => {}
                _ => self.unknown(c),
            }
        }
        if r.sections.is_empty() {
            let Some(body) = legacy.body else {
                return Err(self.missing(
                    root,
                    if self.schema >= Schema::V2016 {
                        "ReportSections"
                    } else {
                        "Body"
                    },
                ));
            };
            let section = self.legacy_section(root, body, &legacy)?;
            r.sections.push(section);
        } else if legacy.body.is_some() {
            let body = legacy.body.unwrap_or(root);
            self.warn(
                body,
                "<Body> directly under <Report> is ignored because the report has <ReportSections>",
            );
        }
        Ok(r)
    }

    fn data_element_style(&self, c: Node<'_, '_>) -> R<DataElementStyle> {
        self.choice(
            c,
            &[
                ("Auto", DataElementStyle::Auto),
                ("Attribute", DataElementStyle::Attribute),
                ("AttributeNormal", DataElementStyle::Attribute),
                ("Element", DataElementStyle::Element),
                ("ElementNormal", DataElementStyle::Element),
            ],
        )
    }

    fn data_element_output(&self, c: Node<'_, '_>) -> R<DataElementOutput> {
        self.choice(
            c,
            &[
                ("Auto", DataElementOutput::Auto),
                ("Output", DataElementOutput::Output),
                ("NoOutput", DataElementOutput::NoOutput),
                ("ContentsOnly", DataElementOutput::ContentsOnly),
            ],
        )
    }

    fn embedded_images(&mut self, node: Node<'_, '_>) -> R<Vec<EmbeddedImage>> {
        let mut out = Vec::new();
        for c in self.children(node) {
            if c.tag_name().name() != "EmbeddedImage" {
                self.unknown(c);
                continue;
            }
            let name = self.name_attr(c)?;
            let mut mime = None;
            let mut data = None;
            for p in self.children(c) {
                match p.tag_name().name() {
                    "MIMEType" => mime = Some(self.string(p)),
                    "ImageData" => {
                        let t = self.text(p);
                        let bytes = base64_decode(&t).ok_or_else(|| {
                            self.error(
                                p,
                                "<ImageData> is not valid base64",
                                "re-embed the image in the report designer",
                            )
                        })?;
                        data = Some(Arc::<[u8]>::from(bytes));
                    }
                    _ => self.unknown(p),
                }
            }
            let Some(mime_type) = mime else {
                return Err(self.missing(c, "MIMEType"));
            };
            let Some(data) = data else {
                return Err(self.missing(c, "ImageData"));
            };
            out.push(EmbeddedImage {
                name,
                mime_type,
                data,
            });
        }
        Ok(out)
    }

    fn variables(&mut self, node: Node<'_, '_>) -> R<Vec<Variable>> {
        let mut out = Vec::new();
        for c in self.children(node) {
            if c.tag_name().name() != "Variable" {
                self.unknown(c);
                continue;
            }
            let name = self.name_attr(c)?;
            let mut value = None;
            let mut writable = false;
            for p in self.children(c) {
                match p.tag_name().name() {
                    "Value" => value = Some(self.expr(p)),
                    "Writable" => writable = self.bool(p)?,
                    _ => self.unknown(p),
                }
            }
            out.push(Variable {
                name,
                value: value.unwrap_or_default(),
                writable,
                at: self.at(c),
            });
        }
        Ok(out)
    }

    fn parameter(&mut self, node: Node<'_, '_>) -> R<ReportParameter> {
        let name = self.name_attr(node)?;
        let mut p = ReportParameter {
            name,
            data_type: ParameterType::String,
            nullable: false,
            allow_blank: false,
            multi_value: false,
            hidden: false,
            prompt: None,
            default_value: None,
            valid_values: None,
            used_in_query: UsedInQuery::Auto,
            at: self.at(node),
        };
        let mut has_type = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "DataType" => {
                    has_type = true;
                    p.data_type = self.choice(
                        c,
                        &[
                            ("String", ParameterType::String),
                            ("Integer", ParameterType::Integer),
                            ("Float", ParameterType::Float),
                            ("Boolean", ParameterType::Boolean),
                            ("DateTime", ParameterType::DateTime),
                        ],
                    )?
                }
                "Nullable" => p.nullable = self.bool(c)?,
                "AllowBlank" => p.allow_blank = self.bool(c)?,
                "MultiValue" => p.multi_value = self.bool(c)?,
                "Hidden" => p.hidden = self.bool(c)?,
                "Prompt" => p.prompt = Some(self.text(c)),
                "UsedInQuery" => {
                    p.used_in_query = self.choice(
                        c,
                        &[
                            ("Auto", UsedInQuery::Auto),
                            ("True", UsedInQuery::True),
                            ("False", UsedInQuery::False),
                        ],
                    )?
                }
                "DefaultValue" => {
                    let mut dv = None;
                    for d in self.children(c) {
                        match d.tag_name().name() {
                            "Values" => {
                                let mut vals = Vec::new();
                                for v in self.children(d) {
                                    if v.tag_name().name() == "Value" {
                                        vals.push(self.nullable_expr(v));
                                    } else {
                                        self.unknown(v);
                                    }
                                }
                                dv = Some(DefaultValue::Values(vals));
                            }
                            "DataSetReference" => {
                                dv = Some(DefaultValue::DataSet(self.data_set_reference(d)?))
                            }
                            _ => self.unknown(d),
                        }
                    }
                    p.default_value = dv;
                }
                "ValidValues" => {
                    let mut vv = None;
                    for d in self.children(c) {
                        match d.tag_name().name() {
                            "ParameterValues" => {
                                let mut vals = Vec::new();
                                for v in self.children(d) {
                                    if v.tag_name().name() != "ParameterValue" {
                                        self.unknown(v);
                                        continue;
                                    }
                                    let mut pv = ParameterValue {
                                        value: None,
                                        label: None,
                                    };
                                    for f in self.children(v) {
                                        match f.tag_name().name() {
                                            "Value" => pv.value = self.nullable_expr(f),
                                            "Label" => pv.label = Some(self.expr(f)),
                                            _ => self.unknown(f),
                                        }
                                    }
                                    vals.push(pv);
                                }
                                vv = Some(ValidValues::Values(vals));
                            }
                            "DataSetReference" => {
                                vv = Some(ValidValues::DataSet(self.data_set_reference(d)?))
                            }
                            _ => self.unknown(d),
                        }
                    }
                    p.valid_values = vv;
                }
                _ => self.unknown(c),
            }
        }
        if !has_type {
            return Err(self.missing(node, "DataType"));
        }
        Ok(p)
    }

    fn data_set_reference(&mut self, node: Node<'_, '_>) -> R<DataSetReference> {
        let (mut ds, mut vf, mut lf) = (None, None, None);
        for c in self.children(node) {
            match c.tag_name().name() {
                "DataSetName" => ds = Some(self.string(c)),
                "ValueField" => vf = Some(self.string(c)),
                "LabelField" => lf = Some(self.string(c)),
                _ => self.unknown(c),
            }
        }
        Ok(DataSetReference {
            data_set_name: ds.ok_or_else(|| self.missing(node, "DataSetName"))?,
            value_field: vf.ok_or_else(|| self.missing(node, "ValueField"))?,
            label_field: lf,
        })
    }

    fn data_source(&mut self, node: Node<'_, '_>) -> R<DataSource> {
        let name = self.name_attr(node)?;
        let mut kind = None;
        let mut transaction = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Transaction" => transaction = self.bool(c)?,
                "DataSourceReference" => kind = Some(DataSourceKind::Reference(self.string(c))),
                "ConnectionProperties" => {
                    let mut cp = ConnectionProperties {
                        data_provider: String::new(),
                        connect_string: Expression::default(),
                        integrated_security: false,
                        prompt: None,
                    };
                    let mut has_provider = false;
                    for p in self.children(c) {
                        match p.tag_name().name() {
                            "DataProvider" => {
                                has_provider = true;
                                cp.data_provider = self.string(p);
                            }
                            "ConnectString" => cp.connect_string = self.expr(p),
                            "IntegratedSecurity" => cp.integrated_security = self.bool(p)?,
                            "Prompt" => cp.prompt = Some(self.text(p)),
                            _ => self.unknown(p),
                        }
                    }
                    if !has_provider {
                        return Err(self.missing(c, "DataProvider"));
                    }
                    kind = Some(DataSourceKind::Embedded(cp));
                }
                "DataSourceID" | "SecurityType" => {}
                _ => self.unknown(c),
            }
        }
        let Some(kind) = kind else {
            return Err(self.error(
                node,
                format!("the data source '{name}' has neither <ConnectionProperties> nor <DataSourceReference>"),
                "add <ConnectionProperties> with a <DataProvider> and <ConnectString>, or a <DataSourceReference> to a shared data source",
            ));
        };
        Ok(DataSource {
            name,
            kind,
            transaction,
            at: self.at(node),
        })
    }

    fn sensitivity(&self, c: Node<'_, '_>) -> R<Sensitivity> {
        self.choice(
            c,
            &[
                ("Auto", Sensitivity::Auto),
                ("True", Sensitivity::True),
                ("False", Sensitivity::False),
            ],
        )
    }

    fn data_set(&mut self, node: Node<'_, '_>) -> R<DataSet> {
        let name = self.name_attr(node)?;
        let mut ds = DataSet {
            name,
            query: Query::default(),
            shared_data_set_reference: None,
            fields: Vec::new(),
            filters: Vec::new(),
            case_sensitivity: Sensitivity::Auto,
            accent_sensitivity: Sensitivity::Auto,
            kanatype_sensitivity: Sensitivity::Auto,
            width_sensitivity: Sensitivity::Auto,
            collation: None,
            interpret_subtotals_as_details: Sensitivity::Auto,
            at: self.at(node),
        };
        let mut has_query = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Query" => {
                    has_query = true;
                    ds.query = self.query(c)?;
                }
                "SharedDataSet" => {
                    has_query = true;
                    for s in self.children(c) {
                        match s.tag_name().name() {
                            "SharedDataSetReference" => {
                                ds.shared_data_set_reference = Some(self.string(s))
                            }
                            "QueryParameters" => ds.query.parameters = self.query_parameters(s)?,
                            _ => self.unknown(s),
                        }
                    }
                }
                "Fields" => {
                    for f in self.children(c) {
                        if f.tag_name().name() == "Field" {
                            let field = self.field(f)?;
                            ds.fields.push(field);
                        } else {
                            self.unknown(f);
                        }
                    }
                }
                "Filters" => ds.filters = self.filters(c)?,
                "CaseSensitivity" => ds.case_sensitivity = self.sensitivity(c)?,
                "AccentSensitivity" => ds.accent_sensitivity = self.sensitivity(c)?,
                "KanatypeSensitivity" => ds.kanatype_sensitivity = self.sensitivity(c)?,
                "WidthSensitivity" => ds.width_sensitivity = self.sensitivity(c)?,
                "InterpretSubtotalsAsDetails" => {
                    ds.interpret_subtotals_as_details = self.sensitivity(c)?
                }
                "Collation" => ds.collation = Some(self.string(c)),
                _ => self.unknown(c),
            }
        }
        if !has_query {
            return Err(self.missing(node, "Query"));
        }
        Ok(ds)
    }

    fn query(&mut self, node: Node<'_, '_>) -> R<Query> {
        let mut q = Query::default();
        let mut has_source = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "DataSourceName" => {
                    has_source = true;
                    q.data_source_name = self.string(c);
                }
                "CommandType" => {
                    q.command_type = self.choice(
                        c,
                        &[
                            ("Text", CommandType::Text),
                            ("StoredProcedure", CommandType::StoredProcedure),
                            ("TableDirect", CommandType::TableDirect),
                        ],
                    )?
                }
                "CommandText" => q.command_text = Some(self.expr(c)),
                "QueryParameters" => q.parameters = self.query_parameters(c)?,
                "Timeout" => q.timeout = Some(self.uint(c)?),
                _ => self.unknown(c),
            }
        }
        if !has_source {
            return Err(self.missing(node, "DataSourceName"));
        }
        Ok(q)
    }

    fn query_parameters(&mut self, node: Node<'_, '_>) -> R<Vec<QueryParameter>> {
        let mut out = Vec::new();
        for c in self.children(node) {
            if c.tag_name().name() != "QueryParameter" {
                self.unknown(c);
                continue;
            }
            let name = self.name_attr(c)?;
            let mut value = None;
            for v in self.children(c) {
                match v.tag_name().name() {
                    "Value" => value = Some(self.expr(v)),
                    _ => self.unknown(v),
                }
            }
            let Some(value) = value else {
                return Err(self.missing(c, "Value"));
            };
            out.push(QueryParameter {
                name,
                value,
                at: self.at(c),
            });
        }
        Ok(out)
    }

    fn field(&mut self, node: Node<'_, '_>) -> R<Field> {
        let name = self.name_attr(node)?;
        let mut source = None;
        let mut type_name = None;
        for c in node.children().filter(Node::is_element) {
            if !self.is_rdl(c) {
                if c.tag_name().namespace() == Some(NS_DESIGNER)
                    && c.tag_name().name() == "TypeName"
                {
                    type_name = Some(self.string(c));
                } else {
                    self.foreign(c);
                }
                continue;
            }
            match c.tag_name().name() {
                "DataField" => source = Some(FieldSource::DataField(self.string(c))),
                "Value" => source = Some(FieldSource::Value(self.expr(c))),
                _ => self.unknown(c),
            }
        }
        let Some(source) = source else {
            return Err(self.error(
                node,
                format!("the field '{name}' has neither <DataField> nor <Value>"),
                "add <DataField> naming the query's column, or <Value> with an expression",
            ));
        };
        Ok(Field {
            name,
            source,
            type_name,
            at: self.at(node),
        })
    }

    fn filters(&mut self, node: Node<'_, '_>) -> R<Vec<Filter>> {
        let mut out = Vec::new();
        for f in self.children(node) {
            if f.tag_name().name() != "Filter" {
                self.unknown(f);
                continue;
            }
            let (mut expression, mut operator, mut values) = (None, None, Vec::new());
            for c in self.children(f) {
                match c.tag_name().name() {
                    "FilterExpression" => expression = Some(self.expr(c)),
                    "Operator" => {
                        use FilterOperator as O;
                        operator = Some(self.choice(
                            c,
                            &[
                                ("Equal", O::Equal),
                                ("Like", O::Like),
                                ("NotEqual", O::NotEqual),
                                ("GreaterThan", O::GreaterThan),
                                ("GreaterThanOrEqual", O::GreaterThanOrEqual),
                                ("LessThan", O::LessThan),
                                ("LessThanOrEqual", O::LessThanOrEqual),
                                ("TopN", O::TopN),
                                ("BottomN", O::BottomN),
                                ("TopPercent", O::TopPercent),
                                ("BottomPercent", O::BottomPercent),
                                ("In", O::In),
                                ("Between", O::Between),
                            ],
                        )?)
                    }
                    "FilterValues" => {
                        for v in self.children(c) {
                            if v.tag_name().name() == "FilterValue" {
                                values.push(self.expr(v));
                            } else {
                                self.unknown(v);
                            }
                        }
                    }
                    _ => self.unknown(c),
                }
            }
            let Some(expression) = expression else {
                return Err(self.missing(f, "FilterExpression"));
            };
            let Some(operator) = operator else {
                return Err(self.missing(f, "Operator"));
            };
            out.push(Filter {
                expression,
                operator,
                values,
                at: self.at(f),
            });
        }
        Ok(out)
    }

    // ---- sections -------------------------------------------------------------------------

    fn section(&mut self, node: Node<'_, '_>) -> R<ReportSection> {
        let mut s = ReportSection {
            at: self.at(node),
            ..ReportSection::default()
        };
        let (mut body, mut width, mut page) = (false, false, false);
        for c in self.children(node) {
            match c.tag_name().name() {
                "Body" => {
                    body = true;
                    s.body = self.body(c)?;
                }
                "Width" => {
                    width = true;
                    s.width = self.size(c)?;
                }
                "Page" => {
                    page = true;
                    s.page = self.page(c)?;
                }
                "DataElementName" => s.data_element_name = Some(self.string(c)),
                "DataElementOutput" => s.data_element_output = self.data_element_output(c)?,
                "LayoutDirection" => {}
                _ => self.unknown(c),
            }
        }
        for (has, what) in [(body, "Body"), (width, "Width"), (page, "Page")] {
            if !has {
                return Err(self.missing(node, what));
            }
        }
        Ok(s)
    }

    fn body(&mut self, node: Node<'_, '_>) -> R<Body> {
        let mut b = Body::default();
        let mut has_height = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "ReportItems" => b.items = self.items(c)?,
                "Height" => {
                    has_height = true;
                    b.height = self.size(c)?;
                }
                "Style" => b.style = self.style(c)?,
                // 2005 newsletter columns live on the body; read by legacy_section.
                "Columns" | "ColumnSpacing" => {}
                _ => self.unknown(c),
            }
        }
        if !has_height {
            return Err(self.missing(node, "Height"));
        }
        Ok(b)
    }

    fn page(&mut self, node: Node<'_, '_>) -> R<Page> {
        let mut p = Page {
            columns: 1,
            ..Page::default()
        };
        for c in self.children(node) {
            self.page_child(&mut p, c)?;
        }
        Ok(p)
    }

    /// One child of `Page` (2008+) or of a 2005 `Report`; false when it is not a page child.
    fn page_child(&mut self, p: &mut Page, c: Node<'_, '_>) -> R<bool> {
        match c.tag_name().name() {
            "PageHeader" => p.header = Some(self.page_section(c)?),
            "PageFooter" => p.footer = Some(self.page_section(c)?),
            "PageHeight" => p.page_height = Some(self.size(c)?),
            "PageWidth" => p.page_width = Some(self.size(c)?),
            "InteractiveHeight" => p.interactive_height = Some(self.size(c)?),
            "InteractiveWidth" => p.interactive_width = Some(self.size(c)?),
            "LeftMargin" => p.left_margin = self.size(c)?,
            "RightMargin" => p.right_margin = self.size(c)?,
            "TopMargin" => p.top_margin = self.size(c)?,
            "BottomMargin" => p.bottom_margin = self.size(c)?,
            "Columns" => p.columns = self.uint(c)?.max(1),
            "ColumnSpacing" => p.column_spacing = Some(self.size(c)?),
            "Style" => p.style = self.style(c)?,
            _ => {
                self.unknown(c);
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn legacy_section(
        &mut self,
        root: Node<'_, '_>,
        body: Node<'_, '_>,
        l: &LegacySection<'_, '_>,
    ) -> R<ReportSection> {
        let mut s = ReportSection {
            at: self.at(body),
            ..ReportSection::default()
        };
        s.body = self.body(body)?;
        s.width = match l.width {
            Some(w) => w,
            None => return Err(self.missing(root, "Width")),
        };
        s.page = match l.page {
            Some(p) => self.page(p)?,
            None => Page {
                columns: 1,
                ..Page::default()
            },
        };
        if let Some(h) = l.header {
            s.page.header = Some(self.page_section(h)?);
        }
        if let Some(f) = l.footer {
            s.page.footer = Some(self.page_section(f)?);
        }
        let p = &mut s.page;
        p.page_height = l.page_height.or(p.page_height);
        p.page_width = l.page_width.or(p.page_width);
        p.interactive_height = l.interactive_height.or(p.interactive_height);
        p.interactive_width = l.interactive_width.or(p.interactive_width);
        p.left_margin = l.left_margin.unwrap_or(p.left_margin);
        p.right_margin = l.right_margin.unwrap_or(p.right_margin);
        p.top_margin = l.top_margin.unwrap_or(p.top_margin);
        p.bottom_margin = l.bottom_margin.unwrap_or(p.bottom_margin);
        // 2005: newsletter columns on the body.
        for c in body.children().filter(|c| self.is_rdl(*c)) {
            match c.tag_name().name() {
                "Columns" => s.page.columns = self.uint(c)?.max(1),
                "ColumnSpacing" => s.page.column_spacing = Some(self.size(c)?),
                _ => {}
            }
        }
        Ok(s)
    }

    fn page_section(&mut self, node: Node<'_, '_>) -> R<PageSection> {
        let mut s = PageSection {
            at: self.at(node),
            ..PageSection::default()
        };
        let mut has_height = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Height" => {
                    has_height = true;
                    s.height = self.size(c)?;
                }
                "PrintOnFirstPage" => s.print_on_first_page = self.bool(c)?,
                "PrintOnLastPage" => s.print_on_last_page = self.bool(c)?,
                "PrintBetweenSections" => s.print_between_sections = self.bool(c)?,
                "ReportItems" => s.items = self.items(c)?,
                "Style" => s.style = self.style(c)?,
                _ => self.unknown(c),
            }
        }
        if !has_height {
            return Err(self.missing(node, "Height"));
        }
        Ok(s)
    }

    // ---- styles ---------------------------------------------------------------------------

    fn style(&mut self, node: Node<'_, '_>) -> R<Style> {
        let mut s = Style::default();
        for c in self.children(node) {
            let name = c.tag_name().name();
            match name {
                "Border" => s.border = self.border(c)?,
                "TopBorder" => s.top_border = self.border(c)?,
                "BottomBorder" => s.bottom_border = self.border(c)?,
                "LeftBorder" => s.left_border = self.border(c)?,
                "RightBorder" => s.right_border = self.border(c)?,
                // 2005: BorderColor/BorderStyle/BorderWidth with Default/Top/Bottom/Left/Right.
                "BorderColor" | "BorderStyle" | "BorderWidth" => {
                    for side in self.children(c) {
                        let target = match side.tag_name().name() {
                            "Default" => &mut s.border,
                            "Top" => &mut s.top_border,
                            "Bottom" => &mut s.bottom_border,
                            "Left" => &mut s.left_border,
                            "Right" => &mut s.right_border,
                            _ => {
                                self.unknown(side);
                                continue;
                            }
                        };
                        let v = Some(self.expr(side));
                        match name {
                            "BorderColor" => target.color = v,
                            "BorderStyle" => target.style = v,
                            _ => target.width = v,
                        }
                    }
                }
                "BackgroundImage" => s.background_image = Some(Box::new(self.background_image(c)?)),
                _ => {
                    let slot = match name {
                        "BackgroundColor" => &mut s.background_color,
                        "BackgroundGradientType" => &mut s.background_gradient_type,
                        "BackgroundGradientEndColor" => &mut s.background_gradient_end_color,
                        "FontStyle" => &mut s.font_style,
                        "FontFamily" => &mut s.font_family,
                        "FontSize" => &mut s.font_size,
                        "FontWeight" => &mut s.font_weight,
                        "Format" => &mut s.format,
                        "TextDecoration" => &mut s.text_decoration,
                        "TextAlign" => &mut s.text_align,
                        "VerticalAlign" => &mut s.vertical_align,
                        "Color" => &mut s.color,
                        "PaddingLeft" => &mut s.padding_left,
                        "PaddingRight" => &mut s.padding_right,
                        "PaddingTop" => &mut s.padding_top,
                        "PaddingBottom" => &mut s.padding_bottom,
                        "LineHeight" => &mut s.line_height,
                        "Direction" => &mut s.direction,
                        "WritingMode" => &mut s.writing_mode,
                        "Language" => &mut s.language,
                        "UnicodeBiDi" => &mut s.unicode_bidi,
                        "Calendar" => &mut s.calendar,
                        "NumeralLanguage" => &mut s.numeral_language,
                        "NumeralVariant" => &mut s.numeral_variant,
                        // Chart-only style properties: harmless here.
                        "ShadowColor" | "ShadowOffset" | "BackgroundHatchType" | "TextEffect" => {
                            continue;
                        }
                        _ => {
                            self.unknown(c);
                            continue;
                        }
                    };
                    *slot = Some(self.expr(c));
                }
            }
        }
        Ok(s)
    }

    fn border(&mut self, node: Node<'_, '_>) -> R<Border> {
        let mut b = Border::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "Color" => b.color = Some(self.expr(c)),
                "Style" => b.style = Some(self.expr(c)),
                "Width" => b.width = Some(self.expr(c)),
                _ => self.unknown(c),
            }
        }
        Ok(b)
    }

    fn image_source(&self, c: Node<'_, '_>) -> R<ImageSource> {
        self.choice(
            c,
            &[
                ("External", ImageSource::External),
                ("Embedded", ImageSource::Embedded),
                ("Database", ImageSource::Database),
            ],
        )
    }

    fn background_image(&mut self, node: Node<'_, '_>) -> R<BackgroundImage> {
        let (mut source, mut value, mut mime_type, mut repeat) =
            (ImageSource::External, None, None, None);
        for c in self.children(node) {
            match c.tag_name().name() {
                "Source" => source = self.image_source(c)?,
                "Value" => value = Some(self.expr(c)),
                "MIMEType" => mime_type = Some(self.expr(c)),
                "BackgroundRepeat" => repeat = Some(self.expr(c)),
                "Position" | "TransparentColor" => {}
                _ => self.unknown(c),
            }
        }
        let Some(value) = value else {
            return Err(self.missing(node, "Value"));
        };
        Ok(BackgroundImage {
            source,
            value,
            mime_type,
            repeat,
        })
    }

    // ---- report items ---------------------------------------------------------------------

    fn items(&mut self, node: Node<'_, '_>) -> R<Vec<ReportItem>> {
        let mut out = Vec::new();
        for c in self.children(node) {
            if let Some(item) = self.item(c)? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// One report item element; `None` (with a warning) for an unknown one.
    fn item(&mut self, node: Node<'_, '_>) -> R<Option<ReportItem>> {
        let kind_name = node.tag_name().name();
        let name = match kind_name {
            "Textbox" | "Rectangle" | "Line" | "Image" | "Subreport" | "Tablix" | "Table"
            | "Matrix" | "List" | "Chart" | "GaugePanel" | "Map" | "CustomReportItem" => {
                self.name_attr(node)?
            }
            _ => {
                self.unknown(node);
                return Ok(None);
            }
        };
        let mut item = ReportItem {
            name,
            at: self.at(node),
            top: Size::ZERO,
            left: Size::ZERO,
            height: None,
            width: None,
            z_index: 0,
            visibility: None,
            tooltip: None,
            bookmark: None,
            document_map_label: None,
            repeat_with: None,
            style: Style::default(),
            data_element_name: None,
            data_element_output: DataElementOutput::Auto,
            keep_together: false,
            page_break: None,
            page_name: None,
            kind: ItemKind::Line,
        };
        // Children the common part does not take, for the kind's own parser.
        let mut rest = Vec::new();
        for c in self.children(node) {
            match c.tag_name().name() {
                "Top" => item.top = self.size(c)?,
                "Left" => item.left = self.size(c)?,
                "Height" => item.height = Some(self.size(c)?),
                "Width" => item.width = Some(self.size(c)?),
                "ZIndex" => item.z_index = self.int(c)?,
                "Visibility" => item.visibility = Some(self.visibility(c)?),
                "ToolTip" => item.tooltip = Some(self.expr(c)),
                "Bookmark" => item.bookmark = Some(self.expr(c)),
                "DocumentMapLabel" | "Label" => item.document_map_label = Some(self.expr(c)),
                "RepeatWith" => item.repeat_with = Some(self.string(c)),
                "Style" => item.style = self.style(c)?,
                "DataElementName" => item.data_element_name = Some(self.string(c)),
                "DataElementOutput" => item.data_element_output = self.data_element_output(c)?,
                "KeepTogether" => item.keep_together = self.bool(c)?,
                "PageBreak" => item.page_break = Some(self.page_break(c)?),
                "PageBreakAtStart" | "PageBreakAtEnd" => {
                    let on = self.bool(c)?;
                    let start = c.tag_name().name() == "PageBreakAtStart";
                    legacy_break(&mut item.page_break, on, start);
                }
                "PageName" => item.page_name = Some(self.expr(c)),
                "CustomProperties" | "Parent" => {}
                _ => rest.push(c),
            }
        }
        item.kind = match kind_name {
            "Textbox" => ItemKind::Textbox(self.textbox(node, &rest)?),
            "Rectangle" => ItemKind::Rectangle(self.rectangle(&rest)?),
            "Line" => {
                for c in rest {
                    self.unknown(c);
                }
                ItemKind::Line
            }
            "Image" => ItemKind::Image(self.image(node, &rest)?),
            "Subreport" => ItemKind::Subreport(self.subreport(node, &rest)?),
            "Tablix" => ItemKind::Tablix(Box::new(self.tablix(node, &rest)?)),
            "Table" => ItemKind::Tablix(Box::new(self.table(node, &item, &rest)?)),
            "Matrix" => ItemKind::Tablix(Box::new(self.matrix(node, &rest)?)),
            "List" => ItemKind::Tablix(Box::new(self.list(node, &item, &rest)?)),
            "Chart" if self.schema > Schema::V2005 => {
                ItemKind::Chart(Box::new(self.chart(node, &rest)?))
            }
            "Chart" => ItemKind::Chart(Box::new(self.chart_2005(node, &rest)?)),
            "GaugePanel" => ItemKind::GaugePanel(Box::new(self.gauge_panel(&rest)?)),
            _ => {
                let kind = match kind_name {
                    "Chart" => PlaceholderKind::Chart,
                    "GaugePanel" => PlaceholderKind::GaugePanel,
                    "Map" => PlaceholderKind::Map,
                    _ => PlaceholderKind::CustomReportItem(
                        rest.iter()
                            .find(|c| c.tag_name().name() == "Type")
                            .map(|c| self.string(*c))
                            .unwrap_or_default(),
                    ),
                };
                let data_set_name = rest
                    .iter()
                    .find(|c| c.tag_name().name() == "DataSetName")
                    .map(|c| self.string(*c));
                // Their inner structure is not modelled yet: skipped without warnings.
                ItemKind::Placeholder(Placeholder {
                    kind,
                    data_set_name,
                })
            }
        };
        Ok(Some(item))
    }

    fn visibility(&mut self, node: Node<'_, '_>) -> R<Visibility> {
        let mut v = Visibility::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "Hidden" => v.hidden = Some(self.expr(c)),
                "ToggleItem" => v.toggle_item = Some(self.string(c)),
                _ => self.unknown(c),
            }
        }
        Ok(v)
    }

    fn page_break(&mut self, node: Node<'_, '_>) -> R<PageBreak> {
        let mut p = PageBreak::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "BreakLocation" => {
                    p.location = self.choice(
                        c,
                        &[
                            ("None", BreakLocation::None),
                            ("Start", BreakLocation::Start),
                            ("End", BreakLocation::End),
                            ("StartAndEnd", BreakLocation::StartAndEnd),
                            ("Between", BreakLocation::Between),
                        ],
                    )?
                }
                "Disabled" => p.disabled = Some(self.expr(c)),
                "ResetPageNumber" => p.reset_page_number = Some(self.expr(c)),
                _ => self.unknown(c),
            }
        }
        Ok(p)
    }

    /// `ActionInfo` (2008+: `Actions/Action`) or a 2005 `Action`.
    fn actions(&mut self, node: Node<'_, '_>) -> R<Vec<Action>> {
        let mut out = Vec::new();
        match node.tag_name().name() {
            "Action" => out.extend(self.action(node)?),
            _ => {
                for c in self.children(node) {
                    match c.tag_name().name() {
                        "Actions" => {
                            for a in self.children(c) {
                                if a.tag_name().name() == "Action" {
                                    out.extend(self.action(a)?);
                                } else {
                                    self.unknown(a);
                                }
                            }
                        }
                        _ => self.unknown(c),
                    }
                }
            }
        }
        Ok(out)
    }

    fn action(&mut self, node: Node<'_, '_>) -> R<Option<Action>> {
        let mut out = None;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Hyperlink" => out = Some(Action::Hyperlink(self.expr(c))),
                "BookmarkLink" => out = Some(Action::BookmarkLink(self.expr(c))),
                "Drillthrough" => {
                    let mut report_name = None;
                    let mut parameters = Vec::new();
                    for d in self.children(c) {
                        match d.tag_name().name() {
                            "ReportName" => report_name = Some(self.expr(d)),
                            "Parameters" => parameters = self.passed_parameters(d)?,
                            "BookmarkLink" => {}
                            _ => self.unknown(d),
                        }
                    }
                    let Some(report_name) = report_name else {
                        return Err(self.missing(c, "ReportName"));
                    };
                    out = Some(Action::Drillthrough(Drillthrough {
                        report_name,
                        parameters,
                    }));
                }
                "Label" | "Style" => {}
                _ => self.unknown(c),
            }
        }
        Ok(out)
    }

    fn passed_parameters(&mut self, node: Node<'_, '_>) -> R<Vec<PassedParameter>> {
        let mut out = Vec::new();
        for p in self.children(node) {
            if p.tag_name().name() != "Parameter" {
                self.unknown(p);
                continue;
            }
            let name = self.name_attr(p)?;
            let (mut value, mut omit) = (None, None);
            for c in self.children(p) {
                match c.tag_name().name() {
                    "Value" => value = Some(self.expr(c)),
                    "Omit" => omit = Some(self.expr(c)),
                    _ => self.unknown(c),
                }
            }
            let Some(value) = value else {
                return Err(self.missing(p, "Value"));
            };
            out.push(PassedParameter { name, value, omit });
        }
        Ok(out)
    }

    fn textbox(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Textbox> {
        let mut t = Textbox::default();
        let mut legacy_value = None;
        for &c in rest {
            match c.tag_name().name() {
                "Paragraphs" => {
                    for p in self.children(c) {
                        if p.tag_name().name() == "Paragraph" {
                            let para = self.paragraph(p)?;
                            t.paragraphs.push(para);
                        } else {
                            self.unknown(p);
                        }
                    }
                }
                "Value" => legacy_value = Some(self.expr(c)),
                "CanGrow" => t.can_grow = self.bool(c)?,
                "CanShrink" => t.can_shrink = self.bool(c)?,
                "HideDuplicates" => t.hide_duplicates = Some(self.string(c)),
                "ToggleImage" => {
                    for i in self.children(c) {
                        match i.tag_name().name() {
                            "InitialState" => t.toggle_image = Some(self.expr(i)),
                            _ => self.unknown(i),
                        }
                    }
                }
                "UserSort" => t.user_sort = Some(self.user_sort(c)?),
                "ActionInfo" | "Action" => t.actions = self.actions(c)?,
                "DataElementStyle" => t.data_element_style = self.data_element_style(c)?,
                "ListStyle" | "CanTranslate" => {}
                _ => self.unknown(c),
            }
        }
        if let Some(value) = legacy_value {
            // 2005: one value, styled by the textbox.
            t.paragraphs = vec![Paragraph {
                runs: vec![TextRun {
                    value,
                    ..TextRun::default()
                }],
                ..Paragraph::default()
            }];
        } else if t.paragraphs.is_empty() && self.schema <= Schema::V2005 {
            return Err(self.missing(node, "Value"));
        }
        Ok(t)
    }

    fn paragraph(&mut self, node: Node<'_, '_>) -> R<Paragraph> {
        let mut p = Paragraph::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "TextRuns" => {
                    for r in self.children(c) {
                        if r.tag_name().name() == "TextRun" {
                            let run = self.text_run(r)?;
                            p.runs.push(run);
                        } else {
                            self.unknown(r);
                        }
                    }
                }
                "Style" => p.style = self.style(c)?,
                "ListStyle" => {
                    p.list_style = self.choice(
                        c,
                        &[
                            ("None", ListStyle::None),
                            ("Numbered", ListStyle::Numbered),
                            ("Bulleted", ListStyle::Bulleted),
                        ],
                    )?
                }
                "ListLevel" => p.list_level = self.uint(c)?,
                "LeftIndent" => p.left_indent = Some(self.expr(c)),
                "RightIndent" => p.right_indent = Some(self.expr(c)),
                "HangingIndent" => p.hanging_indent = Some(self.expr(c)),
                "SpaceBefore" => p.space_before = Some(self.expr(c)),
                "SpaceAfter" => p.space_after = Some(self.expr(c)),
                _ => self.unknown(c),
            }
        }
        Ok(p)
    }

    fn text_run(&mut self, node: Node<'_, '_>) -> R<TextRun> {
        let mut r = TextRun::default();
        let mut has_value = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Value" => {
                    has_value = true;
                    r.value = self.expr(c);
                }
                "Label" => r.label = Some(self.text(c)),
                "MarkupType" => {
                    r.markup_type =
                        self.choice(c, &[("None", MarkupType::None), ("HTML", MarkupType::Html)])?
                }
                "ToolTip" => r.tooltip = Some(self.expr(c)),
                "ActionInfo" => r.actions = self.actions(c)?,
                "Style" => r.style = self.style(c)?,
                _ => self.unknown(c),
            }
        }
        if !has_value {
            return Err(self.missing(node, "Value"));
        }
        Ok(r)
    }

    fn user_sort(&mut self, node: Node<'_, '_>) -> R<UserSort> {
        let (mut e, mut scope, mut target) = (None, None, None);
        for c in self.children(node) {
            match c.tag_name().name() {
                "SortExpression" => e = Some(self.expr(c)),
                "SortExpressionScope" => scope = Some(self.string(c)),
                "SortTarget" => target = Some(self.string(c)),
                _ => self.unknown(c),
            }
        }
        let Some(sort_expression) = e else {
            return Err(self.missing(node, "SortExpression"));
        };
        Ok(UserSort {
            sort_expression,
            sort_expression_scope: scope,
            sort_target: target,
        })
    }

    fn rectangle(&mut self, rest: &[Node<'_, '_>]) -> R<Rectangle> {
        let mut r = Rectangle::default();
        for &c in rest {
            match c.tag_name().name() {
                "ReportItems" => r.items = self.items(c)?,
                "OmitBorderOnPageBreak" => r.omit_border_on_page_break = self.bool(c)?,
                "LinkToChild" => {}
                _ => self.unknown(c),
            }
        }
        Ok(r)
    }

    fn image(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Image> {
        let mut i = Image::default();
        let (mut has_source, mut has_value) = (false, false);
        for &c in rest {
            match c.tag_name().name() {
                "Source" => {
                    has_source = true;
                    i.source = self.image_source(c)?;
                }
                "Value" => {
                    has_value = true;
                    i.value = self.expr(c);
                }
                "MIMEType" => i.mime_type = Some(self.expr(c)),
                "Sizing" => {
                    i.sizing = self.choice(
                        c,
                        &[
                            ("AutoSize", Sizing::AutoSize),
                            ("Fit", Sizing::Fit),
                            ("FitProportional", Sizing::FitProportional),
                            ("Clip", Sizing::Clip),
                        ],
                    )?
                }
                "ActionInfo" | "Action" => i.actions = self.actions(c)?,
                "ImageMaps" => {}
                _ => self.unknown(c),
            }
        }
        if !has_source {
            return Err(self.missing(node, "Source"));
        }
        if !has_value {
            return Err(self.missing(node, "Value"));
        }
        Ok(i)
    }

    fn subreport(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Subreport> {
        let mut s = Subreport::default();
        let mut has_name = false;
        for &c in rest {
            match c.tag_name().name() {
                "ReportName" => {
                    has_name = true;
                    s.report_name = self.string(c);
                }
                "Parameters" => s.parameters = self.passed_parameters(c)?,
                "NoRowsMessage" | "NoRows" => s.no_rows_message = Some(self.expr(c)),
                "MergeTransactions" => s.merge_transactions = self.bool(c)?,
                "OmitBorderOnPageBreak" => s.omit_border_on_page_break = self.bool(c)?,
                _ => self.unknown(c),
            }
        }
        if !has_name {
            return Err(self.missing(node, "ReportName"));
        }
        Ok(s)
    }

    // ---- tablix ---------------------------------------------------------------------------

    /// A data region's own children common to Tablix and the 2005 regions; false when `c`
    /// is none of them.
    fn region_child(&mut self, t: &mut Tablix, c: Node<'_, '_>) -> R<bool> {
        match c.tag_name().name() {
            "DataSetName" => t.data_set_name = Some(self.string(c)),
            "Filters" => t.filters = self.filters(c)?,
            "SortExpressions" => t.sort_expressions = self.sort_expressions(c)?,
            "NoRowsMessage" | "NoRows" => t.no_rows_message = Some(self.expr(c)),
            "OmitBorderOnPageBreak" => t.omit_border_on_page_break = self.bool(c)?,
            "LayoutDirection" => {
                t.layout_direction = self.choice(
                    c,
                    &[("LTR", LayoutDirection::Ltr), ("RTL", LayoutDirection::Rtl)],
                )?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn tablix(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Tablix> {
        let mut t = Tablix::default();
        let mut has_body = false;
        for &c in rest {
            if self.region_child(&mut t, c)? {
                continue;
            }
            match c.tag_name().name() {
                "TablixCorner" => {
                    for rows in self.children(c) {
                        if rows.tag_name().name() != "TablixCornerRows" {
                            self.unknown(rows);
                            continue;
                        }
                        for row in self.children(rows) {
                            if row.tag_name().name() != "TablixCornerRow" {
                                self.unknown(row);
                                continue;
                            }
                            let mut cells = Vec::new();
                            for cell in self.children(row) {
                                if cell.tag_name().name() != "TablixCornerCell" {
                                    self.unknown(cell);
                                    continue;
                                }
                                cells.push(self.cell_holder(cell)?);
                            }
                            t.corner.push(cells);
                        }
                    }
                }
                "TablixBody" => {
                    has_body = true;
                    for b in self.children(c) {
                        match b.tag_name().name() {
                            "TablixColumns" => {
                                for col in self.children(b) {
                                    if col.tag_name().name() != "TablixColumn" {
                                        self.unknown(col);
                                        continue;
                                    }
                                    let mut width = None;
                                    for w in self.children(col) {
                                        match w.tag_name().name() {
                                            "Width" => width = Some(self.size(w)?),
                                            _ => self.unknown(w),
                                        }
                                    }
                                    t.columns
                                        .push(width.ok_or_else(|| self.missing(col, "Width"))?);
                                }
                            }
                            "TablixRows" => {
                                for row in self.children(b) {
                                    if row.tag_name().name() != "TablixRow" {
                                        self.unknown(row);
                                        continue;
                                    }
                                    let mut r = TablixRow::default();
                                    let mut has_height = false;
                                    for rc in self.children(row) {
                                        match rc.tag_name().name() {
                                            "Height" => {
                                                has_height = true;
                                                r.height = self.size(rc)?;
                                            }
                                            "TablixCells" => {
                                                for cell in self.children(rc) {
                                                    if cell.tag_name().name() != "TablixCell" {
                                                        self.unknown(cell);
                                                        continue;
                                                    }
                                                    r.cells.push(self.cell_holder(cell)?);
                                                }
                                            }
                                            _ => self.unknown(rc),
                                        }
                                    }
                                    if !has_height {
                                        return Err(self.missing(row, "Height"));
                                    }
                                    t.rows.push(r);
                                }
                            }
                            _ => self.unknown(b),
                        }
                    }
                }
                "TablixColumnHierarchy" | "TablixRowHierarchy" => {
                    let mut members = Vec::new();
                    for m in self.children(c) {
                        match m.tag_name().name() {
                            "TablixMembers" => members = self.members(m)?,
                            _ => self.unknown(m),
                        }
                    }
                    if c.tag_name().name() == "TablixColumnHierarchy" {
                        t.column_hierarchy = members;
                    } else {
                        t.row_hierarchy = members;
                    }
                }
                "RepeatColumnHeaders" => t.repeat_column_headers = self.bool(c)?,
                "RepeatRowHeaders" => t.repeat_row_headers = self.bool(c)?,
                "FixedColumnHeaders" => t.fixed_column_headers = self.bool(c)?,
                "FixedRowHeaders" => t.fixed_row_headers = self.bool(c)?,
                "GroupsBeforeRowHeaders" => t.groups_before_row_headers = self.uint(c)?,
                "BandLayoutOptions" | "TopMargin" | "BottomMargin" | "LeftMargin"
                | "RightMargin" => {}
                _ => self.unknown(c),
            }
        }
        if !has_body {
            return Err(self.missing(node, "TablixBody"));
        }
        self.check_tablix_shape(node, &t)?;
        Ok(t)
    }

    /// The body grid must match the hierarchies' leaves and the columns.
    fn check_tablix_shape(&self, node: Node<'_, '_>, t: &Tablix) -> R<()> {
        let col_leaves: usize = t
            .column_hierarchy
            .iter()
            .map(TablixMember::leaf_count)
            .sum();
        let row_leaves: usize = t.row_hierarchy.iter().map(TablixMember::leaf_count).sum();
        if col_leaves != t.columns.len() {
            return Err(self.error(
                node,
                format!(
                    "the tablix has {} body columns but its column hierarchy has {col_leaves} leaf members",
                    t.columns.len()
                ),
                "give TablixColumnHierarchy one leaf TablixMember per TablixColumn",
            ));
        }
        if row_leaves != t.rows.len() {
            return Err(self.error(
                node,
                format!(
                    "the tablix has {} body rows but its row hierarchy has {row_leaves} leaf members",
                    t.rows.len()
                ),
                "give TablixRowHierarchy one leaf TablixMember per TablixRow",
            ));
        }
        for (i, r) in t.rows.iter().enumerate() {
            let covered: usize = r
                .cells
                .iter()
                .map(|c| c.as_ref().map_or(1, |c| c.col_span.max(1) as usize))
                .sum();
            if r.cells.len() != t.columns.len() && covered != t.columns.len() {
                return Err(self.error(
                    node,
                    format!("body row {} has {} cells for {} columns", i + 1, r.cells.len(), t.columns.len()),
                    "give every TablixRow one TablixCell per TablixColumn (an empty <TablixCell /> under a ColSpan)",
                ));
            }
        }
        Ok(())
    }

    /// A `TablixCell` / `TablixCornerCell` / `TablixHeader`'s `CellContents`.
    fn cell_holder(&mut self, node: Node<'_, '_>) -> R<Option<CellContents>> {
        let mut out = None;
        for c in self.children(node) {
            match c.tag_name().name() {
                "CellContents" => out = self.cell_contents(c)?,
                "DataElementName" | "DataElementOutput" => {}
                _ => self.unknown(c),
            }
        }
        Ok(out)
    }

    fn cell_contents(&mut self, node: Node<'_, '_>) -> R<Option<CellContents>> {
        let (mut item, mut col_span, mut row_span) = (None, 1, 1);
        for c in self.children(node) {
            match c.tag_name().name() {
                "ColSpan" => col_span = self.uint(c)?.max(1),
                "RowSpan" => row_span = self.uint(c)?.max(1),
                _ => {
                    if let Some(i) = self.item(c)? {
                        item = Some(i);
                    }
                }
            }
        }
        Ok(item.map(|i| CellContents {
            item: Box::new(i),
            col_span,
            row_span,
        }))
    }

    fn members(&mut self, node: Node<'_, '_>) -> R<Vec<TablixMember>> {
        let mut out = Vec::new();
        for m in self.children(node) {
            if m.tag_name().name() != "TablixMember" {
                self.unknown(m);
                continue;
            }
            let member = self.member(m)?;
            out.push(member);
        }
        Ok(out)
    }

    fn member(&mut self, node: Node<'_, '_>) -> R<TablixMember> {
        let mut m = TablixMember {
            at: self.at(node),
            ..TablixMember::default()
        };
        for c in self.children(node) {
            match c.tag_name().name() {
                "Group" => m.group = Some(self.group(c)?),
                "SortExpressions" => m.sort_expressions = self.sort_expressions(c)?,
                "TablixHeader" => {
                    let mut size = None;
                    let mut contents = None;
                    for h in self.children(c) {
                        match h.tag_name().name() {
                            "Size" => size = Some(self.size(h)?),
                            "CellContents" => contents = self.cell_contents(h)?,
                            _ => self.unknown(h),
                        }
                    }
                    let Some(size) = size else {
                        return Err(self.missing(c, "Size"));
                    };
                    let Some(contents) = contents else {
                        return Err(self.missing(c, "CellContents"));
                    };
                    m.header = Some(TablixHeader { size, contents });
                }
                "TablixMembers" => m.members = self.members(c)?,
                "FixedData" => m.fixed_data = self.bool(c)?,
                "Visibility" => m.visibility = Some(self.visibility(c)?),
                "HideIfNoRows" => m.hide_if_no_rows = self.bool(c)?,
                "KeepWithGroup" => {
                    m.keep_with_group = self.choice(
                        c,
                        &[
                            ("None", KeepWithGroup::None),
                            ("Before", KeepWithGroup::Before),
                            ("After", KeepWithGroup::After),
                        ],
                    )?
                }
                "RepeatOnNewPage" => m.repeat_on_new_page = self.bool(c)?,
                "KeepTogether" => m.keep_together = self.bool(c)?,
                "DataElementName" => m.data_element_name = Some(self.string(c)),
                "DataElementOutput" => m.data_element_output = self.data_element_output(c)?,
                "CustomProperties" => {}
                _ => self.unknown(c),
            }
        }
        Ok(m)
    }

    fn group(&mut self, node: Node<'_, '_>) -> R<Group> {
        let name = self.name_attr(node)?;
        let mut g = Group {
            name,
            at: self.at(node),
            ..Group::default()
        };
        for c in self.children(node) {
            match c.tag_name().name() {
                "GroupExpressions" => {
                    for e in self.children(c) {
                        if e.tag_name().name() == "GroupExpression" {
                            g.group_expressions.push(self.expr(e));
                        } else {
                            self.unknown(e);
                        }
                    }
                }
                "PageBreak" => g.page_break = Some(self.page_break(c)?),
                "PageBreakAtStart" | "PageBreakAtEnd" => {
                    let on = self.bool(c)?;
                    legacy_break(
                        &mut g.page_break,
                        on,
                        c.tag_name().name() == "PageBreakAtStart",
                    );
                }
                "PageName" => g.page_name = Some(self.expr(c)),
                "Filters" => g.filters = self.filters(c)?,
                "Parent" => g.parent = Some(self.expr(c)),
                "Variables" => g.variables = self.variables(c)?,
                "DataElementName" => g.data_element_name = Some(self.string(c)),
                "DataElementOutput" => g.data_element_output = self.data_element_output(c)?,
                "DocumentMapLabel" | "Label" | "DomainScope" | "CustomProperties"
                | "DataCollectionName" => {}
                _ => self.unknown(c),
            }
        }
        Ok(g)
    }

    /// `SortExpressions` (2008+) or a 2005 `Sorting` (`SortBy` entries).
    fn sort_expressions(&mut self, node: Node<'_, '_>) -> R<Vec<SortExpression>> {
        let mut out = Vec::new();
        for s in self.children(node) {
            if !matches!(s.tag_name().name(), "SortExpression" | "SortBy") {
                self.unknown(s);
                continue;
            }
            let (mut value, mut direction) = (None, SortDirection::Ascending);
            for c in self.children(s) {
                match c.tag_name().name() {
                    "Value" | "SortExpression" => value = Some(self.expr(c)),
                    "Direction" => {
                        direction = self.choice(
                            c,
                            &[
                                ("Ascending", SortDirection::Ascending),
                                ("Descending", SortDirection::Descending),
                            ],
                        )?
                    }
                    _ => self.unknown(c),
                }
            }
            let Some(value) = value else {
                return Err(self.missing(s, "Value"));
            };
            out.push(SortExpression { value, direction });
        }
        Ok(out)
    }

    // ---- 2005 data regions ------------------------------------------------------------------

    /// The first report item of a 2005 `ReportItems` (cells hold one item).
    fn first_item(&mut self, node: Node<'_, '_>) -> R<Option<ReportItem>> {
        let mut out = None;
        for c in self.children(node) {
            if let Some(i) = self.item(c)? {
                if out.is_none() {
                    out = Some(i);
                } else {
                    self.warn(c, "a cell holds one report item; this extra one was ignored (wrap several items in a Rectangle)");
                }
            }
        }
        Ok(out)
    }

    /// 2005 `TableRows`: body rows, each with its cells laid on the column grid.
    fn table_rows(&mut self, node: Node<'_, '_>, ncols: usize) -> R<BandRows> {
        let mut out = Vec::new();
        for row in self.children(node) {
            if row.tag_name().name() != "TableRow" {
                self.unknown(row);
                continue;
            }
            let mut r = TablixRow::default();
            let mut vis = None;
            let mut has_height = false;
            for c in self.children(row) {
                match c.tag_name().name() {
                    "Height" => {
                        has_height = true;
                        r.height = self.size(c)?;
                    }
                    "Visibility" => vis = Some(self.visibility(c)?),
                    "TableCells" => {
                        for cell in self.children(c) {
                            if cell.tag_name().name() != "TableCell" {
                                self.unknown(cell);
                                continue;
                            }
                            let (mut item, mut span) = (None, 1u32);
                            for cc in self.children(cell) {
                                match cc.tag_name().name() {
                                    "ReportItems" => item = self.first_item(cc)?,
                                    "ColSpan" => span = self.uint(cc)?.max(1),
                                    _ => self.unknown(cc),
                                }
                            }
                            r.cells.push(item.map(|i| CellContents {
                                item: Box::new(i),
                                col_span: span,
                                row_span: 1,
                            }));
                            for _ in 1..span {
                                r.cells.push(None);
                            }
                        }
                    }
                    "KeepTogether" => {}
                    _ => self.unknown(c),
                }
            }
            if !has_height {
                return Err(self.missing(row, "Height"));
            }
            if r.cells.len() != ncols {
                return Err(self.error(
                    row,
                    format!(
                        "the row has cells for {} columns but the table has {ncols}",
                        r.cells.len()
                    ),
                    "give every TableRow one TableCell per TableColumn (ColSpan counts)",
                ));
            }
            out.push((r, vis));
        }
        Ok(out)
    }

    /// A 2005 `Header`/`Footer` of a table or table group: its rows and RepeatOnNewPage.
    fn table_band(&mut self, node: Node<'_, '_>, ncols: usize) -> R<(BandRows, bool)> {
        let (mut rows, mut repeat) = (Vec::new(), false);
        for c in self.children(node) {
            match c.tag_name().name() {
                "TableRows" => rows = self.table_rows(c, ncols)?,
                "RepeatOnNewPage" => repeat = self.bool(c)?,
                "FixedHeader" => {}
                _ => self.unknown(c),
            }
        }
        Ok((rows, repeat))
    }

    /// A 2005 `Grouping` (+ `Sorting`) as a Group.
    fn grouping(&mut self, node: Node<'_, '_>) -> R<Group> {
        self.group(node)
    }

    fn table(&mut self, node: Node<'_, '_>, item: &ReportItem, rest: &[Node<'_, '_>]) -> R<Tablix> {
        let mut t = Tablix {
            origin: TablixOrigin::Table,
            ..Tablix::default()
        };
        let mut cols = None;
        let (mut header, mut groups, mut details, mut footer) = (None, None, None, None);
        for &c in rest {
            if self.region_child(&mut t, c)? {
                continue;
            }
            match c.tag_name().name() {
                "TableColumns" => cols = Some(c),
                "Header" => header = Some(c),
                "TableGroups" => groups = Some(c),
                "Details" => details = Some(c),
                "Footer" => footer = Some(c),
                "FillPage"
                | "DetailDataElementName"
                | "DetailDataCollectionName"
                | "DetailDataElementOutput" => {}
                _ => self.unknown(c),
            }
        }
        let Some(cols) = cols else {
            return Err(self.missing(node, "TableColumns"));
        };
        for col in self.children(cols) {
            if col.tag_name().name() != "TableColumn" {
                self.unknown(col);
                continue;
            }
            let mut width = None;
            let mut vis = None;
            for w in self.children(col) {
                match w.tag_name().name() {
                    "Width" => width = Some(self.size(w)?),
                    "Visibility" => vis = Some(self.visibility(w)?),
                    "FixedHeader" => {}
                    _ => self.unknown(w),
                }
            }
            t.columns
                .push(width.ok_or_else(|| self.missing(col, "Width"))?);
            t.column_hierarchy.push(TablixMember {
                visibility: vis,
                at: self.at(col),
                ..TablixMember::default()
            });
        }
        let ncols = t.columns.len();
        let static_members = |rows: BandRows, t: &mut Tablix, kwg: KeepWithGroup, repeat: bool| {
            rows.into_iter()
                .map(|(r, vis)| {
                    t.rows.push(r);
                    TablixMember {
                        visibility: vis,
                        keep_with_group: kwg,
                        repeat_on_new_page: repeat,
                        keep_together: true,
                        ..TablixMember::default()
                    }
                })
                .collect::<Vec<_>>()
        };
        // Header rows.
        if let Some(h) = header {
            let (rows, repeat) = self.table_band(h, ncols)?;
            let ms = static_members(rows, &mut t, KeepWithGroup::After, repeat);
            t.row_hierarchy.extend(ms);
        }
        // Groups, outer to inner, each with header rows, the next level, footer rows.
        struct Level {
            group: Group,
            sort: Vec<SortExpression>,
            visibility: Option<Visibility>,
            header: Vec<TablixMember>,
            footer_rows: BandRows,
            footer_repeat: bool,
        }
        let mut levels: Vec<Level> = Vec::new();
        if let Some(g) = groups {
            for tg in self.children(g) {
                if tg.tag_name().name() != "TableGroup" {
                    self.unknown(tg);
                    continue;
                }
                let mut level = None;
                let (mut sort, mut vis, mut hdr, mut ftr) = (Vec::new(), None, None, None);
                for c in self.children(tg) {
                    match c.tag_name().name() {
                        "Grouping" => level = Some(self.grouping(c)?),
                        "Sorting" => sort = self.sort_expressions(c)?,
                        "Visibility" => vis = Some(self.visibility(c)?),
                        "Header" => hdr = Some(c),
                        "Footer" => ftr = Some(c),
                        _ => self.unknown(c),
                    }
                }
                let Some(group) = level else {
                    return Err(self.missing(tg, "Grouping"));
                };
                let header = match hdr {
                    Some(h) => {
                        let (rows, repeat) = self.table_band(h, ncols)?;
                        static_members(rows, &mut t, KeepWithGroup::After, repeat)
                    }
                    None => Vec::new(),
                };
                let (footer_rows, footer_repeat) = match ftr {
                    Some(f) => self.table_band(f, ncols)?,
                    None => (Vec::new(), false),
                };
                levels.push(Level {
                    group,
                    sort,
                    visibility: vis,
                    header,
                    footer_rows,
                    footer_repeat,
                });
            }
        }
        // Details.
        let mut inner: Vec<TablixMember> = Vec::new();
        if let Some(d) = details {
            let (mut rows, mut group, mut sort, mut vis) = (Vec::new(), None, Vec::new(), None);
            for c in self.children(d) {
                match c.tag_name().name() {
                    "TableRows" => rows = self.table_rows(c, ncols)?,
                    "Grouping" => group = Some(self.grouping(c)?),
                    "Sorting" => sort = self.sort_expressions(c)?,
                    "Visibility" => vis = Some(self.visibility(c)?),
                    _ => self.unknown(c),
                }
            }
            let group = group.unwrap_or_else(|| Group {
                name: format!("{}_Details_Group", item.name),
                at: self.at(d),
                ..Group::default()
            });
            let mut children = static_members(rows, &mut t, KeepWithGroup::None, false);
            for m in &mut children {
                m.keep_together = false;
            }
            let member = if children.len() == 1 {
                let mut only = children.remove(0);
                only.group = Some(group);
                only.sort_expressions = sort;
                if only.visibility.is_none() {
                    only.visibility = vis;
                }
                only
            } else {
                TablixMember {
                    group: Some(group),
                    sort_expressions: sort,
                    visibility: vis,
                    members: children,
                    ..TablixMember::default()
                }
            };
            inner.push(member);
        }
        // Body rows were pushed in leaf order: table header, group headers (outer to inner),
        // details; now group footers (inner to outer), then the table footer.
        let mut nested = inner;
        for level in levels.into_iter().rev() {
            let Level {
                group,
                sort,
                visibility,
                header,
                footer_rows,
                footer_repeat,
            } = level;
            let footer = static_members(footer_rows, &mut t, KeepWithGroup::Before, footer_repeat);
            let mut members = header;
            members.append(&mut nested);
            members.extend(footer);
            nested = vec![TablixMember {
                group: Some(group),
                sort_expressions: sort,
                visibility,
                members,
                ..TablixMember::default()
            }];
        }
        t.row_hierarchy.append(&mut nested);
        if let Some(f) = footer {
            let (rows, repeat) = self.table_band(f, ncols)?;
            let ms = static_members(rows, &mut t, KeepWithGroup::Before, repeat);
            t.row_hierarchy.extend(ms);
        }
        Ok(t)
    }

    fn list(&mut self, node: Node<'_, '_>, item: &ReportItem, rest: &[Node<'_, '_>]) -> R<Tablix> {
        let mut t = Tablix {
            origin: TablixOrigin::List,
            ..Tablix::default()
        };
        let (mut group, mut sort, mut items) = (None, Vec::new(), Vec::new());
        for &c in rest {
            if self.region_child(&mut t, c)? {
                continue;
            }
            match c.tag_name().name() {
                "Grouping" => group = Some(self.grouping(c)?),
                "Sorting" => sort = self.sort_expressions(c)?,
                "ReportItems" => items = self.items(c)?,
                "FillPage" | "DataInstanceName" | "DataInstanceElementOutput" => {}
                _ => self.unknown(c),
            }
        }
        let width = item.width.unwrap_or(Size::ZERO);
        let height = item.height.unwrap_or(Size::ZERO);
        let contents = ReportItem {
            name: format!("{}_Contents", item.name),
            at: self.at(node),
            top: Size::ZERO,
            left: Size::ZERO,
            height: Some(height),
            width: Some(width),
            z_index: 0,
            visibility: None,
            tooltip: None,
            bookmark: None,
            document_map_label: None,
            repeat_with: None,
            style: Style::default(),
            data_element_name: None,
            data_element_output: DataElementOutput::ContentsOnly,
            keep_together: false,
            page_break: None,
            page_name: None,
            kind: ItemKind::Rectangle(Rectangle {
                items,
                omit_border_on_page_break: false,
            }),
        };
        t.columns.push(width);
        t.rows.push(TablixRow {
            height,
            cells: vec![Some(CellContents {
                item: Box::new(contents),
                col_span: 1,
                row_span: 1,
            })],
        });
        t.column_hierarchy.push(TablixMember::default());
        let group = group.unwrap_or_else(|| Group {
            name: format!("{}_Details_Group", item.name),
            at: self.at(node),
            ..Group::default()
        });
        t.row_hierarchy.push(TablixMember {
            group: Some(group),
            sort_expressions: sort,
            keep_together: true,
            ..TablixMember::default()
        });
        Ok(t)
    }

    fn matrix(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Tablix> {
        let mut t = Tablix {
            origin: TablixOrigin::Matrix,
            ..Tablix::default()
        };
        let (mut corner, mut col_levels, mut row_levels) = (None, Vec::new(), Vec::new());
        let (mut widths, mut body) = (Vec::new(), Vec::new());
        for &c in rest {
            if self.region_child(&mut t, c)? {
                continue;
            }
            match c.tag_name().name() {
                "Corner" => {
                    for r in self.children(c) {
                        match r.tag_name().name() {
                            "ReportItems" => corner = self.first_item(r)?,
                            _ => self.unknown(r),
                        }
                    }
                }
                "ColumnGroupings" | "RowGroupings" => {
                    let columns = c.tag_name().name() == "ColumnGroupings";
                    for g in self.children(c) {
                        let level = self.matrix_level(g, columns)?;
                        if columns {
                            col_levels.push(level);
                        } else {
                            row_levels.push(level);
                        }
                    }
                }
                "MatrixColumns" => {
                    for col in self.children(c) {
                        let mut w = None;
                        for x in self.children(col) {
                            match x.tag_name().name() {
                                "Width" => w = Some(self.size(x)?),
                                _ => self.unknown(x),
                            }
                        }
                        widths.push(w.ok_or_else(|| self.missing(col, "Width"))?);
                    }
                }
                "MatrixRows" => {
                    for row in self.children(c) {
                        let mut height = None;
                        let mut cells = Vec::new();
                        for x in self.children(row) {
                            match x.tag_name().name() {
                                "Height" => height = Some(self.size(x)?),
                                "MatrixCells" => {
                                    for cell in self.children(x) {
                                        let mut item = None;
                                        for y in self.children(cell) {
                                            match y.tag_name().name() {
                                                "ReportItems" => item = self.first_item(y)?,
                                                "DataElementName" | "DataElementOutput" => {}
                                                _ => self.unknown(y),
                                            }
                                        }
                                        cells.push(item);
                                    }
                                }
                                _ => self.unknown(x),
                            }
                        }
                        let height = height.ok_or_else(|| self.missing(row, "Height"))?;
                        body.push((height, cells));
                    }
                }
                "LayoutDirection"
                | "GroupsBeforeRowHeaders"
                | "CellDataElementName"
                | "CellDataElementOutput" => {}
                _ => self.unknown(c),
            }
        }
        if col_levels.is_empty() || row_levels.is_empty() {
            return Err(self.error(
                node,
                "the matrix needs at least one ColumnGrouping and one RowGrouping",
                "add <ColumnGroupings> and <RowGroupings>, each with a DynamicColumns/DynamicRows or StaticColumns/StaticRows",
            ));
        }
        if widths.is_empty() || body.is_empty() {
            return Err(self.missing(
                node,
                if widths.is_empty() {
                    "MatrixColumns"
                } else {
                    "MatrixRows"
                },
            ));
        }
        let mut col_leaves = Vec::new();
        t.column_hierarchy = build_matrix_members(&col_levels, &mut col_leaves, false);
        let mut row_leaves = Vec::new();
        t.row_hierarchy = build_matrix_members(&row_levels, &mut row_leaves, true);
        for &ci in &col_leaves {
            t.columns.push(widths.get(ci).copied().unwrap_or(widths[0]));
        }
        for &ri in &row_leaves {
            let (height, cells) = body.get(ri).unwrap_or(&body[0]);
            let cells = col_leaves
                .iter()
                .map(|&ci| {
                    cells.get(ci).cloned().flatten().map(|i| CellContents {
                        item: Box::new(i),
                        col_span: 1,
                        row_span: 1,
                    })
                })
                .collect();
            t.rows.push(TablixRow {
                height: *height,
                cells,
            });
        }
        let (ncl, nrl) = (col_levels.len(), row_levels.len());
        if let Some(c) = corner {
            let mut rows: Vec<Vec<Option<CellContents>>> =
                (0..ncl).map(|_| (0..nrl).map(|_| None).collect()).collect();
            rows[0][0] = Some(CellContents {
                item: Box::new(c),
                col_span: u32::try_from(nrl).unwrap_or(1),
                row_span: u32::try_from(ncl).unwrap_or(1),
            });
            t.corner = rows;
        }
        self.check_tablix_shape(node, &t)?;
        Ok(t)
    }

    /// One 2005 `ColumnGrouping`/`RowGrouping`.
    fn matrix_level(&mut self, node: Node<'_, '_>, columns: bool) -> R<MatrixLevel> {
        let mut size = Size::ZERO;
        let mut kind = None;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Height" | "Width" => size = self.size(c)?,
                "DynamicColumns" | "DynamicRows" => {
                    let (mut group, mut sort, mut header, mut subtotal, mut vis) =
                        (None, Vec::new(), None, None, None);
                    for d in self.children(c) {
                        match d.tag_name().name() {
                            "Grouping" => group = Some(self.grouping(d)?),
                            "Sorting" => sort = self.sort_expressions(d)?,
                            "ReportItems" => header = self.first_item(d)?,
                            "Visibility" => vis = Some(self.visibility(d)?),
                            "Subtotal" => {
                                let (mut item, mut before) = (None, false);
                                for s in self.children(d) {
                                    match s.tag_name().name() {
                                        "ReportItems" => item = self.first_item(s)?,
                                        "Position" => {
                                            before = self
                                                .choice(s, &[("Before", true), ("After", false)])?;
                                        }
                                        "Style" | "DataElementName" | "DataElementOutput" => {}
                                        _ => self.unknown(s),
                                    }
                                }
                                subtotal = item.map(|i| (i, before));
                            }
                            _ => self.unknown(d),
                        }
                    }
                    let Some(group) = group else {
                        return Err(self.missing(c, "Grouping"));
                    };
                    kind = Some(MatrixLevelKind::Dynamic(Box::new(DynamicLevel {
                        group,
                        sort,
                        header,
                        subtotal,
                        visibility: vis,
                    })));
                }
                "StaticColumns" | "StaticRows" => {
                    let mut headers = Vec::new();
                    for s in self.children(c) {
                        let mut item = None;
                        for x in self.children(s) {
                            match x.tag_name().name() {
                                "ReportItems" => item = self.first_item(x)?,
                                _ => self.unknown(x),
                            }
                        }
                        headers.push(item);
                    }
                    kind = Some(MatrixLevelKind::Static(headers));
                }
                "FixedHeader" => {}
                _ => self.unknown(c),
            }
        }
        let Some(kind) = kind else {
            return Err(self.missing(
                node,
                if columns {
                    "DynamicColumns"
                } else {
                    "DynamicRows"
                },
            ));
        };
        Ok(MatrixLevel { size, kind })
    }
}

/// 2005 matrix grouping level.
struct MatrixLevel {
    size: Size,
    kind: MatrixLevelKind,
}

enum MatrixLevelKind {
    Dynamic(Box<DynamicLevel>),
    Static(Vec<Option<ReportItem>>),
}

/// A 2005 `DynamicColumns`/`DynamicRows`.
struct DynamicLevel {
    group: Group,
    sort: Vec<SortExpression>,
    header: Option<ReportItem>,
    /// The subtotal header and whether it comes before the group.
    subtotal: Option<(ReportItem, bool)>,
    visibility: Option<Visibility>,
}

/// Builds tablix members from matrix levels (outer first). `leaves` receives, per leaf in
/// order, the index of the static member it stands for (the MatrixColumn/MatrixRow whose
/// cells it uses; 0 without a static level). Subtotals become static siblings whose header
/// spans the dynamic levels they total. Recursion depth = number of levels (bounded by the
/// checked element depth).
fn build_matrix_members(
    levels: &[MatrixLevel],
    leaves: &mut Vec<usize>,
    rows: bool,
) -> Vec<TablixMember> {
    let Some((level, inner)) = levels.split_first() else {
        return Vec::new();
    };
    let header = |item: Option<ReportItem>, size: Size, span: usize| {
        item.map(|i| TablixHeader {
            size,
            contents: CellContents {
                item: Box::new(i),
                col_span: if rows {
                    u32::try_from(span).unwrap_or(1)
                } else {
                    1
                },
                row_span: if rows {
                    1
                } else {
                    u32::try_from(span).unwrap_or(1)
                },
            },
        })
    };
    match &level.kind {
        MatrixLevelKind::Static(headers) => headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let members = build_matrix_members(inner, leaves, rows);
                if members.is_empty() {
                    leaves.push(i);
                }
                TablixMember {
                    header: header(h.clone(), level.size, 1),
                    members,
                    ..TablixMember::default()
                }
            })
            .collect(),
        MatrixLevelKind::Dynamic(d) => {
            let DynamicLevel {
                group,
                sort,
                header: h,
                subtotal,
                visibility,
            } = &**d;
            let mut out = Vec::new();
            let mut total = subtotal.as_ref().map(|(item, before)| {
                // The subtotal covers this and every inner dynamic level; inner static levels
                // repeat inside it.
                let statics: Vec<&MatrixLevel> = inner
                    .iter()
                    .filter(|l| matches!(l.kind, MatrixLevelKind::Static(_)))
                    .collect();
                let spanned: Vec<&MatrixLevel> = std::iter::once(level)
                    .chain(
                        inner
                            .iter()
                            .filter(|l| matches!(l.kind, MatrixLevelKind::Dynamic(_))),
                    )
                    .collect();
                let size = Size(spanned.iter().map(|l| l.size.0).sum());
                (item.clone(), *before, statics, size, spanned.len())
            });
            let mut push_total = |out: &mut Vec<TablixMember>, leaves: &mut Vec<usize>| {
                if let Some((item, _, statics, size, span)) = total.take() {
                    let members = build_static_members(&statics, leaves);
                    if members.is_empty() {
                        leaves.push(0);
                    }
                    out.push(TablixMember {
                        header: header(Some(item), size, span),
                        members,
                        keep_with_group: KeepWithGroup::None,
                        ..TablixMember::default()
                    });
                }
            };
            if subtotal.as_ref().is_some_and(|(_, before)| *before) {
                push_total(&mut out, leaves);
            }
            let members = build_matrix_members(inner, leaves, rows);
            if members.is_empty() {
                leaves.push(0);
            }
            out.push(TablixMember {
                group: Some(group.clone()),
                sort_expressions: sort.clone(),
                header: header(h.clone(), level.size, 1),
                members,
                visibility: visibility.clone(),
                ..TablixMember::default()
            });
            push_total(&mut out, leaves);
            out
        }
    }
}

/// Static levels only (inside a subtotal member).
fn build_static_members(levels: &[&MatrixLevel], leaves: &mut Vec<usize>) -> Vec<TablixMember> {
    let Some((level, inner)) = levels.split_first() else {
        return Vec::new();
    };
    let MatrixLevelKind::Static(headers) = &level.kind else {
        return build_static_members(inner, leaves);
    };
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let members = build_static_members(inner, leaves);
            if members.is_empty() {
                leaves.push(i);
            }
            TablixMember {
                header: h.clone().map(|i| TablixHeader {
                    size: level.size,
                    contents: CellContents {
                        item: Box::new(i),
                        col_span: 1,
                        row_span: 1,
                    },
                }),
                members,
                ..TablixMember::default()
            }
        })
        .collect()
}

/// 2005 `PageBreakAtStart`/`PageBreakAtEnd` folded into one [`PageBreak`].
fn legacy_break(slot: &mut Option<PageBreak>, on: bool, start: bool) {
    if !on {
        return;
    }
    let pb = slot.get_or_insert_with(PageBreak::default);
    pb.location = match (pb.location, start) {
        (BreakLocation::End, true)
        | (BreakLocation::Start, false)
        | (BreakLocation::StartAndEnd, _) => BreakLocation::StartAndEnd,
        (_, true) => BreakLocation::Start,
        (_, false) => BreakLocation::End,
    };
}

/// Report-level body and page settings of 2005-2010 files.
#[derive(Default)]
struct LegacySection<'a, 'i> {
    body: Option<Node<'a, 'i>>,
    width: Option<Size>,
    page: Option<Node<'a, 'i>>,
    header: Option<Node<'a, 'i>>,
    footer: Option<Node<'a, 'i>>,
    page_height: Option<Size>,
    page_width: Option<Size>,
    interactive_height: Option<Size>,
    interactive_width: Option<Size>,
    left_margin: Option<Size>,
    right_margin: Option<Size>,
    top_margin: Option<Size>,
    bottom_margin: Option<Size>,
}

/// True when `xml:space="preserve"` applies to `node` (set on it or an ancestor).
fn preserves_space(node: Node<'_, '_>) -> bool {
    for n in node.ancestors().filter(Node::is_element) {
        match n.attribute(("http://www.w3.org/XML/1998/namespace", "space")) {
            Some("preserve") => return true,
            Some(_) => return false,
            None => {}
        }
    }
    false
}

/// Standard base64 (RFC 4648), whitespace ignored; `None` when malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits, mut pad) = (0u32, 0u32, 0usize);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if pad > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if pad > 2 || bits >= 6 {
        return None;
    }
    Some(out)
}
