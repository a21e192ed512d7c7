//! The report's `<Code>` block: a VB subset interpreter.
//!
//! Owns: parsing `Function`/`Sub` members and module-level `Dim`s ([`CodeModule::parse`],
//! once per report), and running them ([`CodeInstance`], once per render, holding the module
//! variables). Supported statements: `Dim`/`Const`/`ReDim`, assignment (`=`, `+=`, `-=`,
//! `&=`, `*=`, `/=`, array elements), `If/ElseIf/Else/End If` and single-line `If`,
//! `Select Case` (values, `a To b`, `Is > x`, `Case Else`), `For ... To ... [Step] ... Next`,
//! `For Each ... In ... Next`, `While ... End While`, `Do [While|Until] ... Loop
//! [While|Until]`, `Return`, `FuncName = x`, `Exit For/Do/While/Function/Sub`, `Continue`,
//! calls between functions, and every expression of [`super::parse`].
//!
//! A function using anything else still parses: calling it is an
//! [`EvalError::Unsupported`] naming the construct (the value shows `#Error`), and
//! [`CodeModule::parse`] returns a warning for it. Never a failed render.
//!
//! Bounds: [`MAX_STEPS`] statements per call from a report expression (nested calls share
//! it), [`MAX_CALL_DEPTH`] nested calls and [`STACK_BUDGET`] bytes of stack for them,
//! arrays ≤ [`MAX_ARRAY`] elements, strings ≤ 16 MiB.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ast::{BinaryOp, Expr};
use super::eval::{Env, binary, compare};
use super::lexer::{Tok, lex};
use super::parser::Parser;
use super::{Context, EvalError, ExprError, MAX_SOURCE_LEN, convert, funcs};
use crate::Value;

/// Statements one call from a report expression may execute.
pub const MAX_STEPS: u64 = 1_000_000;

/// Nested `<Code>` calls (recursion) allowed.
pub const MAX_CALL_DEPTH: u32 = 64;

/// Stack the nested calls of one run may use (1 MiB: half a default 2 MiB thread stack).
pub const STACK_BUDGET: usize = 1 << 20;

/// The largest array a `Dim a(n)`/`ReDim` may create.
pub const MAX_ARRAY: usize = 1 << 20;

/// Something in the `<Code>` block outside the supported subset, or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line in the `<Code>` text.
    pub line: usize,
    /// What is wrong, naming the function and the construct.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code line {}: {}", self.line, self.message)
    }
}

/// The parsed `<Code>` block (immutable; share it between renders).
#[derive(Debug, Clone, Default)]
pub struct CodeModule {
    functions: HashMap<String, Function>,
    vars: Vec<VarDecl>,
}

#[derive(Debug, Clone)]
struct Function {
    name: String,
    params: Vec<Param>,
    returns: Option<String>,
    is_sub: bool,
    /// The body, or the unsupported construct that makes calls `#Error`.
    body: Result<Vec<Stmt>, String>,
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    ty: Option<String>,
    default: Option<Expr>,
    optional: bool,
    param_array: bool,
}

#[derive(Debug, Clone)]
struct VarDecl {
    name: String,
    ty: Option<String>,
    /// `Dim a(n)`: the upper bound.
    bound: Option<Expr>,
    init: Option<Init>,
}

#[derive(Debug, Clone)]
enum Init {
    Expr(Expr),
    Array(Vec<Expr>),
}

#[derive(Debug, Clone)]
enum Target {
    Var(String),
    Index(String, Expr),
}

#[derive(Debug, Clone)]
enum CaseClause {
    Value(Expr),
    Range(Expr, Expr),
    Is(BinaryOp, Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loop {
    For,
    Do,
    While,
}

#[derive(Debug, Clone)]
enum Stmt {
    Dim(Vec<VarDecl>),
    ReDim {
        name: String,
        bound: Expr,
        preserve: bool,
    },
    Assign {
        target: Target,
        op: Option<BinaryOp>,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    Select {
        subject: Expr,
        cases: Vec<(Vec<CaseClause>, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    For {
        var: String,
        from: Expr,
        to: Expr,
        step: Option<Expr>,
        body: Vec<Stmt>,
    },
    ForEach {
        var: String,
        items: Expr,
        body: Vec<Stmt>,
    },
    /// `While`, `Do While/Until ... Loop`, `Do ... Loop While/Until`.
    Loop {
        kind: Loop,
        pre: Option<(bool, Expr)>,
        post: Option<(bool, Expr)>,
        body: Vec<Stmt>,
    },
    Return(Option<Expr>),
    Exit(Option<Loop>),
    Continue(Loop),
    Eval(Expr),
}

/// How a block finished.
enum Flow {
    Normal,
    Return(Value),
    ExitFunction,
    Exit(Loop),
    Continue(Loop),
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

const UNSUPPORTED_STATEMENTS: &[&str] = &[
    "try",
    "catch",
    "finally",
    "throw",
    "with",
    "goto",
    "on",
    "using",
    "synclock",
    "raiseevent",
    "addhandler",
    "removehandler",
    "erase",
    "error",
    "resume",
    "stop",
    "yield",
    "mid",
    "class",
    "structure",
    "enum",
    "interface",
    "module",
    "namespace",
    "property",
    "event",
    "delegate",
    "declare",
    "operator",
];

impl CodeModule {
    /// Parses a `<Code>` block. Never fails: what cannot be used is a warning, and calling an
    /// affected function is an error value.
    pub fn parse(src: &str) -> (CodeModule, Vec<Warning>) {
        let mut warnings = Vec::new();
        let mut module = CodeModule::default();
        if src.len() > MAX_SOURCE_LEN {
            warnings.push(Warning {
                line: 1,
                message: format!(
                    "the Code block is longer than {MAX_SOURCE_LEN} bytes and was ignored"
                ),
            });
            return (module, warnings);
        }
        let toks = match lex(src, true) {
            Ok(t) => t,
            Err(e) => {
                let off = match &e {
                    ExprError::Lexical { offset, .. } | ExprError::Syntax { offset, .. } => *offset,
                    _ => 0,
                };
                warnings.push(Warning {
                    line: line_of(src, off),
                    message: format!("the Code block was ignored: {e}"),
                });
                return (module, warnings);
            }
        };
        let mut p = Parser::new(toks, true);
        loop {
            while p.eat(&Tok::Eol) {}
            if matches!(p.peek(), Tok::Eof) {
                break;
            }
            let start = p.offset();
            // Modifiers.
            let mut saw_modifier = false;
            while [
                "public",
                "private",
                "friend",
                "protected",
                "shared",
                "overloads",
                "overrides",
                "overridable",
                "static",
                "readonly",
                "shadows",
            ]
            .iter()
            .any(|m| p.at_kw(m))
            {
                p.bump();
                saw_modifier = true;
            }
            let construct = match p.peek() {
                Tok::Ident(s) => s.to_ascii_lowercase(),
                _ => String::new(),
            };
            if [
                "class",
                "structure",
                "enum",
                "module",
                "namespace",
                "property",
                "interface",
            ]
            .contains(&construct.as_str())
            {
                let mut name = construct.clone();
                if let Some(first) = name.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                warnings.push(Warning {
                    line: line_of(src, start),
                    message: format!("a {name} in the Code block is not supported (only Function, Sub and Dim are) and was skipped"),
                });
                skip_past_end(&mut p, &construct);
                continue;
            }
            if p.at_kw("function") || p.at_kw("sub") {
                let is_sub = p.at_kw("sub");
                p.bump();
                let header = p.clone_pos();
                match parse_function(&mut p, is_sub) {
                    Ok(f) => {
                        if let Err(c) = &f.body {
                            warnings.push(Warning {
                                line: line_of(src, start),
                                message: format!("the function {} uses {c}, which is not supported: its values will show #Error", f.name),
                            });
                        }
                        module.functions.insert(f.name.to_ascii_lowercase(), f);
                    }
                    Err((name, e)) => {
                        warnings.push(Warning {
                            line: line_of(src, start),
                            message: format!("the function {} could not be parsed ({e}): its values will show #Error", name.as_deref().unwrap_or("?")),
                        });
                        if let Some(n) = name {
                            module.functions.insert(
                                n.to_ascii_lowercase(),
                                Function {
                                    name: n,
                                    params: vec![],
                                    returns: None,
                                    is_sub,
                                    body: Err(format!("a syntax error ({e})")),
                                },
                            );
                        }
                        p.restore_pos(header);
                        skip_past_end(&mut p, if is_sub { "sub" } else { "function" });
                    }
                }
                continue;
            }
            if p.at_kw("dim")
                || p.at_kw("const")
                || (saw_modifier && matches!(p.peek(), Tok::Ident(_)))
            {
                p.eat_kw("dim");
                p.eat_kw("const");
                match parse_decls(&mut p) {
                    Ok(d) => module.vars.extend(d),
                    Err(e) => {
                        warnings.push(Warning {
                            line: line_of(src, start),
                            message: format!("a module variable could not be parsed: {e}"),
                        });
                        skip_line(&mut p);
                    }
                }
                continue;
            }
            if p.at_kw("imports") || p.at_kw("option") {
                warnings.push(Warning {
                    line: line_of(src, start),
                    message: "Imports/Option lines are ignored in the Code block".into(),
                });
                skip_line(&mut p);
                continue;
            }
            let what = p.peek().describe();
            warnings.push(Warning {
                line: line_of(src, start),
                message: format!("{what} at module level is not supported (only Function, Sub and Dim are) and was skipped"),
            });
            skip_line(&mut p);
        }
        (module, warnings)
    }

    /// The names of the module's functions, as declared.
    pub fn function_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.functions.values().map(|f| f.name.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// Whether the module has a function of that (case-insensitive) name.
    pub fn has_function(&self, name: &str) -> bool {
        self.functions.contains_key(&name.to_ascii_lowercase())
    }
}

fn skip_line(p: &mut Parser) {
    while !matches!(p.peek(), Tok::Eol | Tok::Eof) {
        p.bump();
    }
}

/// Skips to just after `End <kw>`.
fn skip_past_end(p: &mut Parser, kw: &str) {
    loop {
        match p.peek() {
            Tok::Eof => return,
            _ if p.at_kw("end") && p.at_kw_at(1, kw) => {
                p.bump();
                p.bump();
                return;
            }
            _ => {
                p.bump();
            }
        }
    }
}

type HeaderError = (Option<String>, ExprError);

fn parse_function(p: &mut Parser, is_sub: bool) -> Result<Function, HeaderError> {
    let name = p
        .expect_ident("the function's name")
        .map_err(|e| (None, e))?;
    let named = |e| (Some(name.clone()), e);
    let mut params = Vec::new();
    if p.eat(&Tok::LParen) && !p.eat(&Tok::RParen) {
        loop {
            let mut optional = false;
            let mut param_array = false;
            loop {
                if p.eat_kw("optional") {
                    optional = true;
                } else if p.eat_kw("paramarray") {
                    param_array = true;
                } else if !(p.eat_kw("byval") || p.eat_kw("byref")) {
                    break;
                }
            }
            let pname = p.expect_ident("a parameter name").map_err(named)?;
            let mut is_array = false;
            if matches!(p.peek(), Tok::LParen) && matches!(p.peek_at(1), Tok::RParen) {
                p.bump();
                p.bump();
                is_array = true;
            }
            let mut ty = None;
            if p.eat_kw("as") {
                let t = p.type_name().map_err(named)?;
                ty = Some(if is_array { format!("{t}()") } else { t });
            }
            let mut default = None;
            if p.eat(&Tok::Op("=")) {
                default = Some(p.expr(0).map_err(named)?.0);
            }
            params.push(Param {
                name: pname,
                ty,
                default,
                optional,
                param_array,
            });
            if p.eat(&Tok::Comma) {
                continue;
            }
            p.expect(&Tok::RParen, "',' or ')' in the parameter list")
                .map_err(named)?;
            break;
        }
    }
    let mut returns = None;
    if p.eat_kw("as") {
        returns = Some(p.type_name().map_err(named)?);
    }
    if !matches!(p.peek(), Tok::Eol) {
        return Err(named(
            p.unexpected("the end of the line after the function's header"),
        ));
    }
    let end_kw = if is_sub { "sub" } else { "function" };
    let body = match parse_block(p, &[]) {
        Ok(b) => {
            if p.at_kw("end") && p.at_kw_at(1, end_kw) {
                p.bump();
                p.bump();
                Ok(b)
            } else {
                let found = p.peek().describe();
                skip_past_end(p, end_kw);
                Err(format!(
                    "{found} where 'End {}' was expected",
                    if is_sub { "Sub" } else { "Function" }
                ))
            }
        }
        Err(BodyError::Unsupported(c)) => {
            skip_past_end(p, end_kw);
            Err(c)
        }
        Err(BodyError::Syntax(e)) => {
            skip_past_end(p, end_kw);
            Err(format!("a syntax error ({e})"))
        }
    };
    Ok(Function {
        name,
        params,
        returns,
        is_sub,
        body,
    })
}

enum BodyError {
    Unsupported(String),
    Syntax(ExprError),
}

impl From<ExprError> for BodyError {
    fn from(e: ExprError) -> Self {
        BodyError::Syntax(e)
    }
}

/// Parses statements until a block terminator (`End`, `Else`, `ElseIf`, `Case`, `Next`,
/// `Loop`, `Wend`) or one of `extra`.
fn parse_block(p: &mut Parser, extra: &[&str]) -> Result<Vec<Stmt>, BodyError> {
    let mut out = Vec::new();
    loop {
        while p.eat(&Tok::Eol) {}
        if matches!(p.peek(), Tok::Eof) {
            return Ok(out);
        }
        if ["end", "else", "elseif", "case", "next", "loop", "wend"]
            .iter()
            .chain(extra)
            .any(|k| p.at_kw(k))
        {
            // `End` alone (terminate the program) is not a block end.
            if p.at_kw("end") && matches!(p.peek_at(1), Tok::Eol | Tok::Eof) {
                return Err(BodyError::Unsupported("the End statement".into()));
            }
            return Ok(out);
        }
        out.push(parse_stmt(p)?);
    }
}

fn end_of_stmt(p: &mut Parser) -> Result<(), BodyError> {
    if matches!(p.peek(), Tok::Eol | Tok::Eof) {
        p.eat(&Tok::Eol);
        Ok(())
    } else {
        Err(p.unexpected("the end of the statement").into())
    }
}

fn parse_decls(p: &mut Parser) -> Result<Vec<VarDecl>, ExprError> {
    let mut out = Vec::new();
    let mut pending_untyped: Vec<usize> = Vec::new();
    loop {
        let name = p.expect_ident("a variable name")?;
        let mut bound = None;
        let mut is_array = false;
        if p.eat(&Tok::LParen) {
            is_array = true;
            if !p.eat(&Tok::RParen) {
                bound = Some(p.expr(0)?.0);
                p.expect(&Tok::RParen, "')' after the array bound")?;
            }
        }
        let mut ty = None;
        if p.eat_kw("as") {
            if p.at_kw("new") {
                return Err(p.unexpected("a type (New objects are not supported)"));
            }
            let t = p.type_name()?;
            ty = Some(if is_array { format!("{t}()") } else { t });
        } else if is_array {
            ty = Some("object()".into());
        }
        let mut init = None;
        if p.eat(&Tok::Op("=")) {
            if p.eat(&Tok::Op("{")) {
                let mut items = Vec::new();
                if !p.eat(&Tok::Op("}")) {
                    loop {
                        items.push(p.expr(0)?.0);
                        if p.eat(&Tok::Comma) {
                            continue;
                        }
                        p.expect(&Tok::Op("}"), "',' or '}' in the array literal")?;
                        break;
                    }
                }
                init = Some(Init::Array(items));
            } else {
                init = Some(Init::Expr(p.expr(0)?.0));
            }
        }
        let typed = ty.is_some();
        out.push(VarDecl {
            name,
            ty,
            bound,
            init,
        });
        if typed {
            // `Dim a, b As Integer`: a takes b's type.
            let t = out.last().and_then(|d| d.ty.clone());
            for i in pending_untyped.drain(..) {
                if out[i].ty.is_none() {
                    out[i].ty = t.clone();
                }
            }
        } else {
            pending_untyped.push(out.len() - 1);
        }
        if !p.eat(&Tok::Comma) {
            return Ok(out);
        }
    }
}

fn assign_op(t: &Tok) -> Option<Option<BinaryOp>> {
    Some(match t {
        Tok::Op("=") => None,
        Tok::Op("+=") => Some(BinaryOp::Add),
        Tok::Op("-=") => Some(BinaryOp::Sub),
        Tok::Op("&=") => Some(BinaryOp::Concat),
        Tok::Op("*=") => Some(BinaryOp::Mul),
        Tok::Op("/=") => Some(BinaryOp::Div),
        _ => return None,
    })
}

fn loop_kind(p: &mut Parser) -> Option<Loop> {
    if p.eat_kw("for") {
        Some(Loop::For)
    } else if p.eat_kw("do") {
        Some(Loop::Do)
    } else if p.eat_kw("while") {
        Some(Loop::While)
    } else {
        None
    }
}

fn parse_stmt(p: &mut Parser) -> Result<Stmt, BodyError> {
    let kw = match p.peek() {
        Tok::Ident(s) => s.to_ascii_lowercase(),
        _ => String::new(),
    };
    if UNSUPPORTED_STATEMENTS.contains(&kw.as_str()) && !matches!(p.peek_at(1), Tok::Op(_)) {
        let mut name = kw.clone();
        if let Some(first) = name.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        return Err(BodyError::Unsupported(format!("the {name} statement")));
    }
    match kw.as_str() {
        "dim" | "static" | "const" => {
            p.bump();
            let d = parse_decls(p)?;
            end_of_stmt(p)?;
            Ok(Stmt::Dim(d))
        }
        "redim" => {
            p.bump();
            let preserve = p.eat_kw("preserve");
            let name = p.expect_ident("an array name")?;
            p.expect(&Tok::LParen, "'(' and the new upper bound")?;
            let bound = p.expr(0)?.0;
            p.expect(&Tok::RParen, "')'")?;
            end_of_stmt(p)?;
            Ok(Stmt::ReDim {
                name,
                bound,
                preserve,
            })
        }
        "if" => {
            p.bump();
            let cond = p.expr(0)?.0;
            p.expect_kw("then")?;
            if !matches!(p.peek(), Tok::Eol) {
                // Single-line If: `If c Then stmt [Else stmt]`.
                let then = parse_stmt_inline(p)?;
                let mut otherwise = Vec::new();
                if p.eat_kw("else") {
                    otherwise.push(parse_stmt_inline(p)?);
                }
                end_of_stmt(p)?;
                return Ok(Stmt::If {
                    branches: vec![(cond, vec![then])],
                    otherwise,
                });
            }
            let mut branches = vec![(cond, parse_block(p, &[])?)];
            let mut otherwise = Vec::new();
            loop {
                if p.at_kw("elseif") || (p.at_kw("else") && p.at_kw_at(1, "if")) {
                    // `ElseIf` or `Else If`.
                    if p.eat_kw("else") {
                        p.bump();
                    } else {
                        p.eat_kw("elseif");
                    }
                    let c = p.expr(0)?.0;
                    p.expect_kw("then")?;
                    branches.push((c, parse_block(p, &[])?));
                } else if p.eat_kw("else") {
                    otherwise = parse_block(p, &[])?;
                } else if p.at_kw("end") && p.at_kw_at(1, "if") {
                    p.bump();
                    p.bump();
                    end_of_stmt(p)?;
                    return Ok(Stmt::If {
                        branches,
                        otherwise,
                    });
                } else {
                    return Err(p.unexpected("'ElseIf', 'Else' or 'End If'").into());
                }
            }
        }
        "select" => {
            p.bump();
            p.eat_kw("case");
            let subject = p.expr(0)?.0;
            end_of_stmt(p)?;
            let mut cases = Vec::new();
            let mut otherwise = Vec::new();
            loop {
                while p.eat(&Tok::Eol) {}
                if p.at_kw("end") && p.at_kw_at(1, "select") {
                    p.bump();
                    p.bump();
                    end_of_stmt(p)?;
                    return Ok(Stmt::Select {
                        subject,
                        cases,
                        otherwise,
                    });
                }
                p.expect_kw("case")?;
                if p.eat_kw("else") {
                    otherwise = parse_block(p, &[])?;
                    continue;
                }
                let mut clauses = Vec::new();
                loop {
                    if p.eat_kw("is") {
                        let op = match p.bump() {
                            Tok::Op("=") => BinaryOp::Eq,
                            Tok::Op("<>") => BinaryOp::Ne,
                            Tok::Op("<") => BinaryOp::Lt,
                            Tok::Op("<=") => BinaryOp::Le,
                            Tok::Op(">") => BinaryOp::Gt,
                            Tok::Op(">=") => BinaryOp::Ge,
                            _ => return Err(p.unexpected("a comparison after 'Case Is'").into()),
                        };
                        clauses.push(CaseClause::Is(op, p.expr(0)?.0));
                    } else {
                        let a = p.expr(0)?.0;
                        if p.eat_kw("to") {
                            clauses.push(CaseClause::Range(a, p.expr(0)?.0));
                        } else {
                            clauses.push(CaseClause::Value(a));
                        }
                    }
                    if !p.eat(&Tok::Comma) {
                        break;
                    }
                }
                let body = parse_block(p, &[])?;
                cases.push((clauses, body));
            }
        }
        "for" => {
            p.bump();
            if p.eat_kw("each") {
                let var = p.expect_ident("the loop variable")?;
                if p.eat_kw("as") {
                    p.type_name()?;
                }
                p.expect_kw("in")?;
                let items = p.expr(0)?.0;
                end_of_stmt(p)?;
                let body = parse_block(p, &[])?;
                p.expect_kw("next")?;
                if let Tok::Ident(_) = p.peek() {
                    p.bump();
                }
                end_of_stmt(p)?;
                return Ok(Stmt::ForEach { var, items, body });
            }
            let var = p.expect_ident("the loop variable")?;
            if p.eat_kw("as") {
                p.type_name()?;
            }
            p.expect(&Tok::Op("="), "'=' and the start value")?;
            let from = p.expr(0)?.0;
            p.expect_kw("to")?;
            let to = p.expr(0)?.0;
            let step = if p.eat_kw("step") {
                Some(p.expr(0)?.0)
            } else {
                None
            };
            end_of_stmt(p)?;
            let body = parse_block(p, &[])?;
            p.expect_kw("next")?;
            if let Tok::Ident(_) = p.peek() {
                p.bump();
            }
            end_of_stmt(p)?;
            Ok(Stmt::For {
                var,
                from,
                to,
                step,
                body,
            })
        }
        "while" => {
            p.bump();
            let cond = p.expr(0)?.0;
            end_of_stmt(p)?;
            let body = parse_block(p, &[])?;
            if p.eat_kw("wend") || (p.eat_kw("end") && p.eat_kw("while")) {
                end_of_stmt(p)?;
                return Ok(Stmt::Loop {
                    kind: Loop::While,
                    pre: Some((false, cond)),
                    post: None,
                    body,
                });
            }
            Err(p.unexpected("'End While'").into())
        }
        "do" => {
            p.bump();
            let pre = if p.eat_kw("while") {
                Some((false, p.expr(0)?.0))
            } else if p.eat_kw("until") {
                Some((true, p.expr(0)?.0))
            } else {
                None
            };
            end_of_stmt(p)?;
            let body = parse_block(p, &[])?;
            p.expect_kw("loop")?;
            let post = if p.eat_kw("while") {
                Some((false, p.expr(0)?.0))
            } else if p.eat_kw("until") {
                Some((true, p.expr(0)?.0))
            } else {
                None
            };
            end_of_stmt(p)?;
            Ok(Stmt::Loop {
                kind: Loop::Do,
                pre,
                post,
                body,
            })
        }
        "return" => {
            p.bump();
            let v = if matches!(p.peek(), Tok::Eol | Tok::Eof) {
                None
            } else {
                Some(p.expr(0)?.0)
            };
            end_of_stmt(p)?;
            Ok(Stmt::Return(v))
        }
        "exit" => {
            p.bump();
            let s = if p.eat_kw("function") || p.eat_kw("sub") {
                Stmt::Exit(None)
            } else if let Some(k) = loop_kind(p) {
                Stmt::Exit(Some(k))
            } else {
                return Err(p
                    .unexpected("For, Do, While, Function or Sub after 'Exit'")
                    .into());
            };
            end_of_stmt(p)?;
            Ok(s)
        }
        "continue" => {
            p.bump();
            let Some(k) = loop_kind(p) else {
                return Err(p.unexpected("For, Do or While after 'Continue'").into());
            };
            end_of_stmt(p)?;
            Ok(Stmt::Continue(k))
        }
        _ => {
            let s = parse_stmt_inline(p)?;
            end_of_stmt(p)?;
            Ok(s)
        }
    }
}

/// An assignment or a call (also the body of a single-line `If`).
fn parse_stmt_inline(p: &mut Parser) -> Result<Stmt, BodyError> {
    if p.eat_kw("call") {
        return Ok(Stmt::Eval(p.expr(0)?.0));
    }
    if p.at_kw("return") || p.at_kw("exit") || p.at_kw("continue") {
        return parse_stmt_no_eol(p);
    }
    if let Tok::Ident(name) = p.peek().clone() {
        if let Some(op) = assign_op(p.peek_at(1)) {
            p.bump();
            p.bump();
            let value = p.expr(0)?.0;
            return Ok(Stmt::Assign {
                target: Target::Var(name),
                op,
                value,
            });
        }
        if matches!(p.peek_at(1), Tok::LParen) {
            // `a(i) = v` or a call `f(x)`.
            let save = p.clone_pos();
            p.bump();
            let (args, _) = p.args()?;
            if let Some(op) = assign_op(p.peek()) {
                p.bump();
                let [index]: [Expr; 1] = args
                    .try_into()
                    .map_err(|_| BodyError::Unsupported("multi-dimensional arrays".into()))?;
                let value = p.expr(0)?.0;
                return Ok(Stmt::Assign {
                    target: Target::Index(name, index),
                    op,
                    value,
                });
            }
            p.restore_pos(save);
        }
    }
    let e = p.expr(0)?.0;
    if let Some(_op) = assign_op(p.peek()) {
        return Err(BodyError::Unsupported(
            "assigning to a member or property".into(),
        ));
    }
    Ok(Stmt::Eval(e))
}

/// `Return`/`Exit`/`Continue` inside a single-line `If` (no end-of-line check).
fn parse_stmt_no_eol(p: &mut Parser) -> Result<Stmt, BodyError> {
    if p.eat_kw("return") {
        let v = if matches!(p.peek(), Tok::Eol | Tok::Eof) || p.at_kw("else") {
            None
        } else {
            Some(p.expr(0)?.0)
        };
        return Ok(Stmt::Return(v));
    }
    if p.eat_kw("exit") {
        if p.eat_kw("function") || p.eat_kw("sub") {
            return Ok(Stmt::Exit(None));
        }
        return match loop_kind(p) {
            Some(k) => Ok(Stmt::Exit(Some(k))),
            None => Err(p
                .unexpected("For, Do, While, Function or Sub after 'Exit'")
                .into()),
        };
    }
    p.expect_kw("continue")?;
    match loop_kind(p) {
        Some(k) => Ok(Stmt::Continue(k)),
        None => Err(p.unexpected("For, Do or While after 'Continue'").into()),
    }
}

/// The budget of one call from a report expression, shared by nested calls.
#[derive(Debug)]
pub(crate) struct Run {
    steps: Cell<u64>,
    depth: Cell<u32>,
    /// The stack address at the first call (0 until then).
    base: Cell<usize>,
}

impl Run {
    fn new() -> Self {
        Run {
            steps: Cell::new(0),
            depth: Cell::new(0),
            base: Cell::new(0),
        }
    }

    fn step(&self) -> Result<(), EvalError> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > MAX_STEPS {
            return Err(EvalError::Limit {
                what: format!("{MAX_STEPS} statements (an endless loop?)"),
            });
        }
        Ok(())
    }
}

/// A `<Code>` module with its per-render state (module-level variables).
#[derive(Debug)]
pub struct CodeInstance {
    module: Arc<CodeModule>,
    /// Module variables, created on first use with the first caller's context. A Mutex (not
    /// a RefCell) so the instance can be shared by an engine that evaluates on threads.
    vars: Mutex<Option<HashMap<String, Value>>>,
}

impl CodeInstance {
    /// Fresh per-render state for a parsed module.
    pub fn new(module: Arc<CodeModule>) -> Self {
        CodeInstance {
            module,
            vars: Mutex::new(None),
        }
    }

    /// The module.
    pub fn module(&self) -> &CodeModule {
        &self.module
    }

    /// Calls `name` with evaluated arguments (what `Code.name(args)` does).
    pub fn call(&self, name: &str, args: &[Value], ctx: &dyn Context) -> Result<Value, EvalError> {
        self.call_in(name, args, ctx, None)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, Value>>> {
        // A poisoned lock only means another evaluation panicked mid-assignment; the map is
        // still a valid map, so keep using it.
        self.vars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn module_var(&self, key: &str) -> Option<Value> {
        self.lock().as_ref().and_then(|m| m.get(key).cloned())
    }

    fn set_module_var(&self, key: &str, v: Value) -> bool {
        let mut g = self.lock();
        match g.as_mut().and_then(|m| m.get_mut(key)) {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    fn init_vars(&self, ctx: &dyn Context, run: &Run) -> Result<(), EvalError> {
        if self.lock().is_some() {
            return Ok(());
        }
        // Initialise in declaration order; later initialisers may read earlier variables.
        *self.lock() = Some(HashMap::new());
        let locals = HashMap::new();
        for d in &self.module.vars {
            let v = {
                let env = Env {
                    ctx,
                    locals: Some(&locals),
                    run: Some(run),
                };
                declare_value(d, &env)?
            };
            if let Some(m) = self.lock().as_mut() {
                m.insert(d.name.to_ascii_lowercase(), v);
            }
        }
        Ok(())
    }

    pub(crate) fn call_in(
        &self,
        name: &str,
        args: &[Value],
        ctx: &dyn Context,
        run: Option<&Run>,
    ) -> Result<Value, EvalError> {
        let own;
        let run = match run {
            Some(r) => r,
            None => {
                own = Run::new();
                &own
            }
        };
        self.init_vars(ctx, run)?;
        let Some(f) = self.module.functions.get(&name.to_ascii_lowercase()) else {
            return Err(EvalError::NotFound {
                what: "Code function",
                name: name.to_string(),
            });
        };
        let body = match &f.body {
            Ok(b) => b,
            Err(construct) => {
                return Err(EvalError::Unsupported {
                    construct: format!("{construct} in Code.{}", f.name),
                });
            }
        };
        if run.depth.get() >= MAX_CALL_DEPTH {
            return Err(EvalError::Limit {
                what: format!("{MAX_CALL_DEPTH} nested calls (endless recursion?)"),
            });
        }
        // Stack used since the first call of this run: a `<Code>` function's frames are
        // large in debug builds, so the depth limit alone does not bound the stack. The
        // address of a local is only compared, never dereferenced.
        let here = 0u8;
        let addr = std::ptr::from_ref(&here) as usize;
        if run.base.get() == 0 {
            run.base.set(addr);
        }
        if addr.abs_diff(run.base.get()) > STACK_BUDGET {
            return Err(EvalError::Limit {
                what: format!("{} KiB of stack (recursion too deep)", STACK_BUDGET >> 10),
            });
        }
        run.depth.set(run.depth.get() + 1);
        let r = self.run_function(f, body, args, ctx, run);
        run.depth.set(run.depth.get() - 1);
        r
    }

    fn run_function(
        &self,
        f: &Function,
        body: &[Stmt],
        args: &[Value],
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Value, EvalError> {
        let mut frame = Frame {
            vars: HashMap::new(),
            types: HashMap::new(),
        };
        let fname = f.name.to_ascii_lowercase();
        let max = if f.params.last().is_some_and(|p| p.param_array) {
            usize::MAX
        } else {
            f.params.len()
        };
        let min = f
            .params
            .iter()
            .filter(|p| !p.optional && !p.param_array)
            .count();
        if args.len() < min || args.len() > max {
            return Err(EvalError::Argument {
                func: format!("Code.{}", f.name),
                message: format!("takes {} arguments, {} given", f.params.len(), args.len()),
            });
        }
        for (i, prm) in f.params.iter().enumerate() {
            let key = prm.name.to_ascii_lowercase();
            let v = if prm.param_array {
                Value::Array(args.get(i..).unwrap_or(&[]).to_vec().into())
            } else if let Some(a) = args.get(i) {
                convert_to(prm.ty.as_deref(), a.clone())?
            } else if let Some(d) = &prm.default {
                let env = Env {
                    ctx,
                    locals: Some(&frame.vars),
                    run: Some(run),
                };
                env.eval(d)?
            } else {
                default_for(prm.ty.as_deref())
            };
            if let Some(t) = &prm.ty {
                frame.types.insert(key.clone(), t.clone());
            }
            frame.vars.insert(key, v);
        }
        if !f.is_sub {
            frame
                .vars
                .insert(fname.clone(), default_for(f.returns.as_deref()));
            if let Some(t) = &f.returns {
                frame.types.insert(fname.clone(), t.clone());
            }
        }
        let result = match self.exec_block(body, &mut frame, ctx, run)? {
            Flow::Return(v) => v,
            _ => {
                if f.is_sub {
                    Value::Null
                } else {
                    frame.vars.remove(&fname).unwrap_or(Value::Null)
                }
            }
        };
        if f.is_sub {
            Ok(Value::Null)
        } else {
            convert_to(f.returns.as_deref(), result)
        }
    }

    fn eval(
        &self,
        e: &Expr,
        frame: &Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Value, EvalError> {
        Env {
            ctx,
            locals: Some(&frame.vars),
            run: Some(run),
        }
        .eval(e)
    }

    fn assign(&self, frame: &mut Frame, name: &str, v: Value) -> Result<(), EvalError> {
        let key = name.to_ascii_lowercase();
        if frame.vars.contains_key(&key) {
            let v = convert_to(frame.types.get(&key).map(String::as_str), v)?;
            frame.vars.insert(key, v);
            return Ok(());
        }
        let typed = self
            .module
            .vars
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| d.ty.clone());
        let v = match typed {
            Some(ty) => convert_to(ty.as_deref(), v)?,
            None => v,
        };
        if self.set_module_var(&key, v.clone()) {
            return Ok(());
        }
        // Undeclared: VB with Option Explicit Off makes a local.
        frame.vars.insert(key, v);
        Ok(())
    }

    fn read(&self, frame: &Frame, name: &str) -> Option<Value> {
        let key = name.to_ascii_lowercase();
        frame
            .vars
            .get(&key)
            .cloned()
            .or_else(|| self.module_var(&key))
    }

    fn exec_block(
        &self,
        stmts: &[Stmt],
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        for s in stmts {
            run.step()?;
            let flow = self.exec(s, frame, ctx, run)?;
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    // `exec` is on every recursion path of the interpreter (and `<Code>` calls recurse through
    // it), so it only dispatches; each statement runs in its own function, keeping this frame
    // small also in debug builds.
    fn exec(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::Dim(_) => self.exec_dim(s, frame, ctx, run),
            Stmt::ReDim { .. } => self.exec_redim(s, frame, ctx, run),
            Stmt::Assign { .. } => self.exec_assign(s, frame, ctx, run),
            Stmt::If { .. } => self.exec_if(s, frame, ctx, run),
            Stmt::Select { .. } => self.exec_select(s, frame, ctx, run),
            Stmt::For { .. } => self.exec_for(s, frame, ctx, run),
            Stmt::ForEach { .. } => self.exec_foreach(s, frame, ctx, run),
            Stmt::Loop { .. } => self.exec_loop(s, frame, ctx, run),
            Stmt::Return(v) => Ok(match v {
                Some(e) => Flow::Return(self.eval(e, frame, ctx, run)?),
                None => Flow::ExitFunction,
            }),
            Stmt::Exit(None) => Ok(Flow::ExitFunction),
            Stmt::Exit(Some(k)) => Ok(Flow::Exit(*k)),
            Stmt::Continue(k) => Ok(Flow::Continue(*k)),
            Stmt::Eval(e) => {
                self.eval(e, frame, ctx, run)?;
                Ok(Flow::Normal)
            }
        }
    }

    #[inline(never)]
    fn exec_dim(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::Dim(decls) => {
                for d in decls {
                    let v = {
                        let env = Env {
                            ctx,
                            locals: Some(&frame.vars),
                            run: Some(run),
                        };
                        declare_value(d, &env)?
                    };
                    let key = d.name.to_ascii_lowercase();
                    if let Some(t) = &d.ty {
                        frame.types.insert(key.clone(), t.clone());
                    }
                    frame.vars.insert(key, v);
                }
                Ok(Flow::Normal)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_redim(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::ReDim {
                name,
                bound,
                preserve,
            } => {
                let n = array_len(&self.eval(bound, frame, ctx, run)?)?;
                let old = match self.read(frame, name) {
                    Some(Value::Array(a)) if *preserve => a.to_vec(),
                    _ => Vec::new(),
                };
                let mut v = old;
                v.resize(n, Value::Null);
                let key = name.to_ascii_lowercase();
                frame.types.remove(&key);
                self.assign(frame, name, Value::Array(v.into()))?;
                Ok(Flow::Normal)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_assign(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::Assign { target, op, value } => {
                let rhs = self.eval(value, frame, ctx, run)?;
                match target {
                    Target::Var(name) => {
                        let v = match op {
                            None => rhs,
                            Some(op) => {
                                let cur = self.read(frame, name).unwrap_or(Value::Null);
                                binary(*op, &cur, &rhs, ctx.culture())?
                            }
                        };
                        self.assign(frame, name, v)?;
                    }
                    Target::Index(name, index) => {
                        let i = convert::to_i32(&self.eval(index, frame, ctx, run)?)?;
                        let Some(Value::Array(arr)) = self.read(frame, name) else {
                            return Err(EvalError::Argument {
                                func: format!("{name}(...) ="),
                                message: format!("'{name}' is not an array"),
                            });
                        };
                        let mut v = arr.to_vec();
                        let k = usize::try_from(i)
                            .ok()
                            .filter(|k| *k < v.len())
                            .ok_or_else(|| EvalError::Argument {
                                func: format!("{name}(...) ="),
                                message: format!(
                                    "index {i} is outside the bounds of the array (length {})",
                                    v.len()
                                ),
                            })?;
                        v[k] = match op {
                            None => rhs,
                            Some(op) => binary(*op, &v[k], &rhs, ctx.culture())?,
                        };
                        let key = name.to_ascii_lowercase();
                        if let Some(slot) = frame.vars.get_mut(&key) {
                            *slot = Value::Array(v.into());
                        } else {
                            self.set_module_var(&key, Value::Array(v.into()));
                        }
                    }
                }
                Ok(Flow::Normal)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_if(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::If {
                branches,
                otherwise,
            } => {
                for (c, body) in branches {
                    if convert::to_bool(&self.eval(c, frame, ctx, run)?)? {
                        return self.exec_block(body, frame, ctx, run);
                    }
                }
                self.exec_block(otherwise, frame, ctx, run)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_select(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::Select {
                subject,
                cases,
                otherwise,
            } => {
                let v = self.eval(subject, frame, ctx, run)?;
                for (clauses, body) in cases {
                    for c in clauses {
                        let hit = match c {
                            CaseClause::Value(e) => {
                                compare(&v, &self.eval(e, frame, ctx, run)?)?
                                    == Some(std::cmp::Ordering::Equal)
                            }
                            CaseClause::Range(a, b) => {
                                let lo = compare(&v, &self.eval(a, frame, ctx, run)?)?;
                                let hi = compare(&v, &self.eval(b, frame, ctx, run)?)?;
                                lo.is_some_and(|o| o.is_ge()) && hi.is_some_and(|o| o.is_le())
                            }
                            CaseClause::Is(op, e) => {
                                let r = self.eval(e, frame, ctx, run)?;
                                convert::to_bool(&binary(*op, &v, &r, ctx.culture())?)?
                            }
                        };
                        if hit {
                            return self.exec_block(body, frame, ctx, run);
                        }
                    }
                }
                self.exec_block(otherwise, frame, ctx, run)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_for(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::For {
                var,
                from,
                to,
                step,
                body,
            } => {
                let start = self.eval(from, frame, ctx, run)?;
                let end = self.eval(to, frame, ctx, run)?;
                let step = match step {
                    Some(s) => self.eval(s, frame, ctx, run)?,
                    None => Value::Int(1),
                };
                let negative = compare(&step, &Value::Int(0))? == Some(std::cmp::Ordering::Less);
                if compare(&step, &Value::Int(0))? == Some(std::cmp::Ordering::Equal) {
                    return Err(EvalError::Argument {
                        func: "For".into(),
                        message: "Step 0 would loop forever".into(),
                    });
                }
                self.assign(frame, var, start)?;
                loop {
                    run.step()?;
                    let cur = self.read(frame, var).unwrap_or(Value::Null);
                    let o = compare(&cur, &end)?;
                    let done = match o {
                        Some(o) => {
                            if negative {
                                o.is_lt()
                            } else {
                                o.is_gt()
                            }
                        }
                        None => true,
                    };
                    if done {
                        return Ok(Flow::Normal);
                    }
                    match self.exec_block(body, frame, ctx, run)? {
                        Flow::Exit(Loop::For) => return Ok(Flow::Normal),
                        Flow::Normal | Flow::Continue(Loop::For) => {}
                        other => return Ok(other),
                    }
                    let cur = self.read(frame, var).unwrap_or(Value::Null);
                    let next = binary(BinaryOp::Add, &cur, &step, ctx.culture())?;
                    self.assign(frame, var, next)?;
                }
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_foreach(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::ForEach { var, items, body } => {
                let items = match self.eval(items, frame, ctx, run)? {
                    Value::Array(a) => a.to_vec(),
                    Value::Str(s) => s.chars().map(|c| Value::str(c.to_string())).collect(),
                    Value::Null => Vec::new(),
                    other => {
                        return Err(EvalError::Argument {
                            func: "For Each".into(),
                            message: format!(
                                "a value of type '{}' cannot be iterated",
                                convert::vb_type(&other)
                            ),
                        });
                    }
                };
                for it in items {
                    run.step()?;
                    self.assign(frame, var, it)?;
                    match self.exec_block(body, frame, ctx, run)? {
                        Flow::Exit(Loop::For) => return Ok(Flow::Normal),
                        Flow::Normal | Flow::Continue(Loop::For) => {}
                        other => return Ok(other),
                    }
                }
                Ok(Flow::Normal)
            }
            _ => Ok(Flow::Normal),
        }
    }

    #[inline(never)]
    fn exec_loop(
        &self,
        s: &Stmt,
        frame: &mut Frame,
        ctx: &dyn Context,
        run: &Run,
    ) -> Result<Flow, EvalError> {
        match s {
            Stmt::Loop {
                kind,
                pre,
                post,
                body,
            } => loop {
                run.step()?;
                if let Some((until, c)) = pre
                    && convert::to_bool(&self.eval(c, frame, ctx, run)?)? == *until
                {
                    return Ok(Flow::Normal);
                }
                match self.exec_block(body, frame, ctx, run)? {
                    Flow::Exit(k) if k == *kind => return Ok(Flow::Normal),
                    Flow::Continue(k) if k == *kind => {}
                    Flow::Normal => {}
                    other => return Ok(other),
                }
                if let Some((until, c)) = post
                    && convert::to_bool(&self.eval(c, frame, ctx, run)?)? == *until
                {
                    return Ok(Flow::Normal);
                }
            },
            _ => Ok(Flow::Normal),
        }
    }
}

struct Frame {
    vars: HashMap<String, Value>,
    /// Declared types (lower-case), so assignments convert as VB does.
    types: HashMap<String, String>,
}

fn array_len(bound: &Value) -> Result<usize, EvalError> {
    let n = convert::to_i32(bound)?;
    let len = usize::try_from(n + 1).map_err(|_| EvalError::Argument {
        func: "Dim".into(),
        message: format!("the array bound {n} is negative"),
    })?;
    if len > MAX_ARRAY {
        return Err(EvalError::Limit {
            what: format!("{MAX_ARRAY} array elements"),
        });
    }
    Ok(len)
}

fn declare_value(d: &VarDecl, env: &Env<'_>) -> Result<Value, EvalError> {
    match (&d.init, &d.bound) {
        (Some(Init::Array(items)), _) => {
            let elem = d.ty.as_deref().and_then(|t| t.strip_suffix("()"));
            let vals = items
                .iter()
                .map(|e| env.eval(e).and_then(|v| convert_to(elem, v)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(vals.into()))
        }
        (Some(Init::Expr(e)), _) => convert_to(d.ty.as_deref(), env.eval(e)?),
        (None, Some(b)) => {
            let n = array_len(&env.eval(b)?)?;
            let elem = d.ty.as_deref().and_then(|t| t.strip_suffix("()"));
            Ok(Value::Array(vec![default_for(elem); n].into()))
        }
        (None, None) => Ok(default_for(d.ty.as_deref())),
    }
}

/// VB's default value of a declared type.
fn default_for(ty: Option<&str>) -> Value {
    match ty {
        Some("integer" | "int32" | "long" | "int64" | "short" | "int16" | "byte") => Value::Int(0),
        Some("double" | "single") => Value::Float(0.0),
        Some("decimal") => Value::Decimal(rust_decimal::Decimal::ZERO),
        Some("boolean") => Value::Bool(false),
        Some("date" | "datetime") => Value::DateTime(convert::zero_date()),
        _ => Value::Null,
    }
}

/// Converts a value on assignment to a typed variable (`Dim i As Integer = 2.5` → 2).
fn convert_to(ty: Option<&str>, v: Value) -> Result<Value, EvalError> {
    let Some(t) = ty else { return Ok(v) };
    if t.ends_with("()") || t == "object" {
        return Ok(v);
    }
    let Some(conv) = funcs::conversion_for_type(t) else {
        return Ok(v);
    };
    Ok(match conv {
        "cstr" => {
            if v.is_null() {
                v
            } else {
                Value::str(convert::to_string(&v, "en-US"))
            }
        }
        "cint" => Value::Int(convert::to_i32(&v)?),
        "clng" => Value::Int(convert::to_i64(&v)?),
        "cshort" => Value::Int(convert::to_i16(&v)?),
        "cbyte" => Value::Int(convert::to_u8(&v)?),
        "cdbl" | "csng" => Value::Float(convert::to_f64(&v)?),
        "cdec" => Value::Decimal(convert::to_decimal(&v)?),
        "cdate" => Value::DateTime(convert::to_date(&v)?),
        "cbool" => Value::Bool(convert::to_bool(&v)?),
        _ => v,
    })
}
