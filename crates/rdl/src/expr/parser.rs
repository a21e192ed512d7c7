//! The Pratt parser: tokens → [`Expr`].
//!
//! Owns: VB operator precedence, the report collections (`Fields!`, `Parameters!`, `Globals!`,
//! `User!`, `ReportItems!`, `Variables!`, `Code.`), aggregate and scope arguments, name
//! resolution (namespace prefixes `System.`, `Microsoft.VisualBasic.` dropped; named constants
//! folded), and the nesting bound: the tree never gets deeper than [`MAX_DEPTH`] and the
//! parser never recurses deeper than that.
//!
//! Must not: evaluate (constant folding is limited to literal negation and named constants).

use super::ast::{AggFn, AggregateCall, BinaryOp, Expr, FieldProp, LookupCall, LookupKind};
use super::ast::{ParamProp, Scope, UnaryOp};
use super::lexer::{Tok, Token, lex};
use super::{ExprError, MAX_DEPTH, MAX_SOURCE_LEN, funcs};
use crate::Value;

/// Parses a whole expression (report mode).
pub(crate) fn parse_expression(src: &str) -> Result<Expr, ExprError> {
    if src.len() > MAX_SOURCE_LEN {
        return Err(ExprError::TooLong {
            len: src.len(),
            limit: MAX_SOURCE_LEN,
        });
    }
    let toks = lex(src, false)?;
    let mut p = Parser::new(toks, false);
    let (mut e, _) = p.expr(0)?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.unexpected("an operator or the end of the expression"));
    }
    let mut next = 0;
    e.number_aggregates(&mut next);
    Ok(e)
}

/// An expression and the depth of its tree.
pub(crate) type Parsed = Result<(Expr, u32), ExprError>;

// Binding powers, VB precedence (higher binds tighter). Left-associative: rbp = lbp + 1.
const BP_XOR: u8 = 2;
const BP_OR: u8 = 4;
const BP_AND: u8 = 6;
const BP_NOT: u8 = 8;
const BP_CMP: u8 = 10;
const BP_CONCAT: u8 = 14;
const BP_ADD: u8 = 16;
const BP_MOD: u8 = 18;
const BP_INTDIV: u8 = 20;
const BP_MUL: u8 = 22;
const BP_UNARY: u8 = 24;
const BP_POW: u8 = 26;

/// The parser state, shared with the `<Code>` statement parser.
pub(crate) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Current recursion depth of `expr` (bounds the stack).
    depth: u32,
    /// Statement mode: unknown names are locals / module functions.
    pub(crate) code_mode: bool,
}

impl Parser {
    pub(crate) fn new(toks: Vec<Token>, code_mode: bool) -> Self {
        Parser {
            toks,
            pos: 0,
            depth: 0,
            code_mode,
        }
    }

    /// The position, to backtrack to with [`Parser::restore_pos`].
    pub(crate) fn clone_pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn restore_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn peek(&self) -> &Tok {
        // The token list always ends with Eof and `bump` never moves past it.
        self.toks.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    pub(crate) fn peek_at(&self, n: usize) -> &Tok {
        self.toks.get(self.pos + n).map_or(&Tok::Eof, |t| &t.tok)
    }

    pub(crate) fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |t| t.offset)
    }

    pub(crate) fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// The current token is the (case-insensitive) keyword `kw`.
    pub(crate) fn at_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn at_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        if self.at_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &str) -> Result<(), ExprError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{kw}'")))
        }
    }

    pub(crate) fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, t: &Tok, what: &str) -> Result<(), ExprError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    pub(crate) fn expect_ident(&mut self, what: &str) -> Result<String, ExprError> {
        match self.peek().clone() {
            Tok::Ident(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    pub(crate) fn unexpected(&self, expected: &str) -> ExprError {
        ExprError::Syntax {
            offset: self.offset(),
            expected: expected.to_string(),
            found: self.peek().describe(),
        }
    }

    fn too_deep(&self) -> ExprError {
        ExprError::TooDeep {
            offset: self.offset(),
            limit: MAX_DEPTH,
        }
    }

    fn check(&self, d: u32) -> Result<u32, ExprError> {
        if d > MAX_DEPTH {
            Err(self.too_deep())
        } else {
            Ok(d)
        }
    }

    /// Parses an expression whose operators bind at least as tightly as `min_bp`.
    pub(crate) fn expr(&mut self, min_bp: u8) -> Parsed {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        let r = self.expr_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, min_bp: u8) -> Parsed {
        let (mut lhs, mut d) = self.prefix()?;
        while let Some((op, lbp)) = self.infix() {
            if lbp < min_bp {
                break;
            }
            self.bump();
            let (rhs, rd) = self.expr(lbp + 1)?;
            d = self.check(d.max(rd) + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, d))
    }

    fn infix(&self) -> Option<(BinaryOp, u8)> {
        Some(match self.peek() {
            Tok::Op(o) => match *o {
                "^" => (BinaryOp::Pow, BP_POW),
                "*" => (BinaryOp::Mul, BP_MUL),
                "/" => (BinaryOp::Div, BP_MUL),
                "\\" => (BinaryOp::IntDiv, BP_INTDIV),
                "+" => (BinaryOp::Add, BP_ADD),
                "-" => (BinaryOp::Sub, BP_ADD),
                "&" => (BinaryOp::Concat, BP_CONCAT),
                "=" => (BinaryOp::Eq, BP_CMP),
                "<>" => (BinaryOp::Ne, BP_CMP),
                "<" => (BinaryOp::Lt, BP_CMP),
                "<=" => (BinaryOp::Le, BP_CMP),
                ">" => (BinaryOp::Gt, BP_CMP),
                ">=" => (BinaryOp::Ge, BP_CMP),
                _ => return None,
            },
            Tok::Ident(s) => match s.to_ascii_lowercase().as_str() {
                "mod" => (BinaryOp::Mod, BP_MOD),
                "like" => (BinaryOp::Like, BP_CMP),
                "is" => (BinaryOp::Is, BP_CMP),
                "isnot" => (BinaryOp::IsNot, BP_CMP),
                "and" => (BinaryOp::And, BP_AND),
                "andalso" => (BinaryOp::AndAlso, BP_AND),
                "or" => (BinaryOp::Or, BP_OR),
                "orelse" => (BinaryOp::OrElse, BP_OR),
                "xor" => (BinaryOp::Xor, BP_XOR),
                _ => return None,
            },
            _ => return None,
        })
    }

    fn prefix(&mut self) -> Parsed {
        match self.peek() {
            Tok::Op("-") => {
                self.bump();
                let (e, d) = self.expr(BP_UNARY)?;
                Ok(match e {
                    Expr::Literal(Value::Int(n)) if n != i64::MIN => {
                        (Expr::Literal(Value::Int(-n)), d)
                    }
                    Expr::Literal(Value::Float(x)) => (Expr::Literal(Value::Float(-x)), d),
                    Expr::Literal(Value::Decimal(x)) => (Expr::Literal(Value::Decimal(-x)), d),
                    e => (Expr::Unary(UnaryOp::Neg, Box::new(e)), self.check(d + 1)?),
                })
            }
            Tok::Op("+") => {
                self.bump();
                let (e, d) = self.expr(BP_UNARY)?;
                Ok((Expr::Unary(UnaryOp::Plus, Box::new(e)), self.check(d + 1)?))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("not") => {
                self.bump();
                let (e, d) = self.expr(BP_NOT)?;
                Ok((Expr::Unary(UnaryOp::Not, Box::new(e)), self.check(d + 1)?))
            }
            _ => {
                let (e, d) = self.primary()?;
                self.postfix(e, d)
            }
        }
    }

    fn primary(&mut self) -> Parsed {
        let offset = self.offset();
        match self.bump() {
            Tok::Lit(v) => Ok((Expr::Literal(v), 1)),
            Tok::LParen => {
                let (e, d) = self.expr(0)?;
                self.expect(&Tok::RParen, "')'")?;
                Ok((e, d))
            }
            Tok::Ident(name) => self.ident(name, offset),
            t => Err(ExprError::Syntax {
                offset,
                expected: "a value (a literal, a name, or '(')".into(),
                found: t.describe(),
            }),
        }
    }

    /// `.member[(args)]` and `(index)` after a value.
    fn postfix(&mut self, mut e: Expr, mut d: u32) -> Parsed {
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let name = self.expect_ident("a member name after '.'")?;
                    let (args, ad) = if matches!(self.peek(), Tok::LParen) {
                        self.args()?
                    } else {
                        (Vec::new(), 0)
                    };
                    d = self.check(d.max(ad) + 1)?;
                    e = Expr::Method {
                        target: Box::new(e),
                        name: name.to_ascii_lowercase(),
                        args,
                    };
                }
                Tok::LParen => {
                    let (mut args, ad) = self.args()?;
                    if args.len() != 1 {
                        return Err(ExprError::Syntax {
                            offset: self.offset(),
                            expected: "one index in '( )'".into(),
                            found: format!("{} arguments", args.len()),
                        });
                    }
                    d = self.check(d.max(ad) + 1)?;
                    let index = Box::new(args.remove(0));
                    e = Expr::Index {
                        target: Box::new(e),
                        index,
                    };
                }
                _ => return Ok((e, d)),
            }
        }
    }

    /// `( [expr {, expr}] )`; returns the arguments and their greatest depth.
    pub(crate) fn args(&mut self) -> Result<(Vec<Expr>, u32), ExprError> {
        self.expect(&Tok::LParen, "'('")?;
        let mut args = Vec::new();
        let mut d = 0;
        if self.eat(&Tok::RParen) {
            return Ok((args, d));
        }
        loop {
            let (a, ad) = self.expr(0)?;
            d = d.max(ad);
            args.push(a);
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect(&Tok::RParen, "',' or ')' after an argument")?;
            return Ok((args, d));
        }
    }

    /// The name after `!` (or `("name")`) of a report collection.
    fn collection_member(&mut self, collection: &str) -> Result<String, ExprError> {
        if self.eat(&Tok::Bang) {
            return self.expect_ident(&format!("a name after '{collection}!'"));
        }
        if matches!(self.peek(), Tok::LParen) {
            self.bump();
            let offset = self.offset();
            if let Tok::Lit(Value::Str(s)) = self.bump() {
                self.expect(&Tok::RParen, "')'")?;
                return Ok(s.to_string());
            }
            return Err(ExprError::Syntax {
                offset,
                expected: format!("a quoted name in {collection}(\"...\")"),
                found: "something else".into(),
            });
        }
        if (collection.eq_ignore_ascii_case("user") || collection.eq_ignore_ascii_case("globals"))
            && self.eat(&Tok::Dot)
        {
            return self.expect_ident(&format!("a name after '{collection}.'"));
        }
        Err(self.unexpected(&format!("'!' and a name after '{collection}'")))
    }

    /// An optional `.Value` after `ReportItems!X` / `Variables!X`.
    fn eat_value_prop(&mut self) {
        if matches!(self.peek(), Tok::Dot) && self.at_kw_at(1, "value") {
            self.bump();
            self.bump();
        }
    }

    // The recursive descent keeps every function on the recursion path small: bulky
    // branches live in their own (never inlined) functions, so one nesting level costs a few
    // hundred bytes of stack even in debug builds.
    fn ident(&mut self, name: String, offset: usize) -> Parsed {
        let lower = name.to_ascii_lowercase();
        let next = self.peek();
        let bang = matches!(next, Tok::Bang | Tok::LParen);
        let dot = matches!(next, Tok::Dot);
        match lower.as_str() {
            "true" => Ok((Expr::Literal(Value::Bool(true)), 1)),
            "false" => Ok((Expr::Literal(Value::Bool(false)), 1)),
            "nothing" => Ok((Expr::Literal(Value::Null), 1)),
            "me" if self.code_mode && dot => self.prefixed(offset),
            "report" if dot => self.prefixed(offset),
            "fields" if bang => self.fields(),
            "parameters" if bang => self.parameters(offset),
            "globals" if bang || dot => self.globals(),
            "user" | "reportitems" | "variables" if bang || (dot && lower == "user") => {
                self.simple_collection(&lower)
            }
            "code" if dot => self.code_call(),
            _ => self.qualified(name, lower, offset),
        }
    }

    #[inline(never)]
    fn prefixed(&mut self, offset: usize) -> Parsed {
        self.bump();
        let n = self.expect_ident("a name after 'Report.' or 'Me.'")?;
        self.ident(n, offset)
    }

    #[inline(never)]
    fn fields(&mut self) -> Parsed {
        let field = self.collection_member("Fields")?;
        let mut prop = FieldProp::Value;
        if matches!(self.peek(), Tok::Dot)
            && let Tok::Ident(p) = self.peek_at(1).clone()
        {
            self.bump();
            self.bump();
            prop = match p.to_ascii_lowercase().as_str() {
                "value" => FieldProp::Value,
                "ismissing" => FieldProp::IsMissing,
                _ => FieldProp::Other(p),
            };
        }
        Ok((Expr::Field { name: field, prop }, 1))
    }

    #[inline(never)]
    fn parameters(&mut self, offset: usize) -> Parsed {
        let param = self.collection_member("Parameters")?;
        let mut prop = ParamProp::Value;
        if matches!(self.peek(), Tok::Dot)
            && let Tok::Ident(p) = self.peek_at(1).clone()
        {
            let known = match p.to_ascii_lowercase().as_str() {
                "value" => Some(ParamProp::Value),
                "label" => Some(ParamProp::Label),
                "count" => Some(ParamProp::Count),
                "ismultivalue" => Some(ParamProp::IsMultiValue),
                _ => None,
            };
            if let Some(k) = known {
                self.bump();
                self.bump();
                prop = k;
            }
        }
        let mut index = None;
        let mut d = 1;
        if matches!(prop, ParamProp::Value | ParamProp::Label) && matches!(self.peek(), Tok::LParen)
        {
            let (mut args, ad) = self.args()?;
            if args.len() != 1 {
                return Err(ExprError::Syntax {
                    offset,
                    expected: format!("one index in Parameters!{param}.Value( )"),
                    found: format!("{} arguments", args.len()),
                });
            }
            d = self.check(ad + 1)?;
            index = Some(Box::new(args.remove(0)));
        }
        Ok((
            Expr::Parameter {
                name: param,
                prop,
                index,
            },
            d,
        ))
    }

    #[inline(never)]
    fn globals(&mut self) -> Parsed {
        let mut g = self.collection_member("Globals")?;
        if g.eq_ignore_ascii_case("renderformat")
            && matches!(self.peek(), Tok::Dot)
            && let Tok::Ident(p) = self.peek_at(1).clone()
        {
            self.bump();
            self.bump();
            g = format!("RenderFormat.{p}");
        }
        Ok((Expr::Global(g), 1))
    }

    #[inline(never)]
    fn simple_collection(&mut self, lower: &str) -> Parsed {
        Ok(match lower {
            "user" => (Expr::User(self.collection_member("User")?), 1),
            "reportitems" => {
                let r = self.collection_member("ReportItems")?;
                self.eat_value_prop();
                (Expr::ReportItem(r), 1)
            }
            _ => {
                let v = self.collection_member("Variables")?;
                self.eat_value_prop();
                (Expr::Variable(v), 1)
            }
        })
    }

    #[inline(never)]
    fn code_call(&mut self) -> Parsed {
        self.bump();
        let f = self.expect_ident("a function name after 'Code.'")?;
        let (args, d) = if matches!(self.peek(), Tok::LParen) {
            self.args()?
        } else {
            (Vec::new(), 0)
        };
        Ok((Expr::Code { name: f, args }, self.check(d + 1)?))
    }

    fn qualified(&mut self, name: String, lower: String, offset: usize) -> Parsed {
        let qualified = self.qualify(lower);
        if let Some(v) = funcs::constant(&qualified) {
            return Ok((Expr::Literal(v), 1));
        }
        self.named(name, qualified, offset)
    }

    /// Drops namespace prefixes and joins `Math.`-style qualifiers: `System.Math.Round` →
    /// `math.round`, `Microsoft.VisualBasic.Strings.Left` → `left`.
    fn qualify(&mut self, mut lower: String) -> String {
        const DROP: &[&str] = &[
            "system",
            "microsoft",
            "visualbasic",
            "strings",
            "interaction",
            "conversion",
            "dateandtime",
            "information",
            "vbmath",
            "globalization",
        ];
        const JOIN: &[&str] = &[
            "math",
            "convert",
            "string",
            "datetime",
            "date",
            "dateinterval",
            "midpointrounding",
            "firstdayofweek",
            "dateformat",
            "controlchars",
            "environment",
            "tristate",
            "char",
            "decimal",
            "double",
            "int32",
            "integer",
            "int64",
            "long",
            "timespan",
        ];
        loop {
            let next_ident = match (self.peek(), self.peek_at(1)) {
                (Tok::Dot, Tok::Ident(n)) => Some(n.to_ascii_lowercase()),
                _ => None,
            };
            let Some(n) = next_ident else { return lower };
            if DROP.contains(&lower.as_str()) {
                self.bump();
                self.bump();
                lower = n;
            } else if JOIN.contains(&lower.as_str()) {
                self.bump();
                self.bump();
                let joined = format!("{lower}.{n}");
                // `Date.Now` and `DateTime.Now` are one thing.
                return if lower == "date" {
                    format!("datetime.{n}")
                } else {
                    joined
                };
            } else {
                return lower;
            }
        }
    }

    /// A function, aggregate or special call, by its canonical name.
    fn named(&mut self, name: String, q: String, offset: usize) -> Parsed {
        // In the `<Code>` block a local may share a function's name (`count`, `left`).
        if self.code_mode
            && !q.contains('.')
            && !matches!(self.peek(), Tok::LParen)
            && !matches!(q.as_str(), "now" | "today")
        {
            return Ok((Expr::Local(name), 1));
        }
        if let Some(func) = AggFn::from_name(&q) {
            return self.aggregate(func, false, offset);
        }
        match q.as_str() {
            "runningvalue" => self.aggregate(AggFn::Sum, true, offset),
            "rownumber" | "level" | "inscope" => self.scoped(&q, offset),
            "previous" => self.previous(offset),
            "lookup" | "lookupset" | "multilookup" => self.lookup(&name, &q, offset),
            "ctype" | "directcast" | "trycast" => self.ctype(offset),
            _ => self.call(name, q, offset),
        }
    }

    fn call(&mut self, name: String, q: String, offset: usize) -> Parsed {
        if funcs::is_known(&q) {
            let (args, d) = if matches!(self.peek(), Tok::LParen) {
                self.args()?
            } else {
                (Vec::new(), 0)
            };
            return Ok((Expr::Call { name: q, args }, self.check(d + 1)?));
        }
        if self.code_mode && !q.contains('.') {
            if matches!(self.peek(), Tok::LParen) {
                let (args, d) = self.args()?;
                return Ok((Expr::Code { name, args }, self.check(d + 1)?));
            }
            return Ok((Expr::Local(name), 1));
        }
        Err(ExprError::UnknownName { offset, name })
    }

    #[inline(never)]
    fn scoped(&mut self, q: &str, offset: usize) -> Parsed {
        let args = if q != "level" || matches!(self.peek(), Tok::LParen) {
            self.args()?.0
        } else {
            vec![]
        };
        let scope = self.scope_arg(args.into_iter().next(), offset)?;
        match (q, scope) {
            ("rownumber", s) => Ok((Expr::RowNumber(s), 1)),
            ("level", s) => Ok((Expr::Level(s), 1)),
            (_, Scope::Named(n)) => Ok((Expr::InScope(n), 1)),
            _ => Err(ExprError::Syntax {
                offset,
                expected: "a scope name: InScope(\"GroupName\")".into(),
                found: "no name".into(),
            }),
        }
    }

    #[inline(never)]
    fn previous(&mut self, offset: usize) -> Parsed {
        let (args, d) = self.args()?;
        let mut it = args.into_iter();
        let Some(e) = it.next() else {
            return Err(arity(offset, "Previous(expression[, scope])"));
        };
        let scope = self.scope_arg(it.next(), offset)?;
        Ok((
            Expr::Previous {
                expr: Box::new(e),
                scope,
            },
            self.check(d + 1)?,
        ))
    }

    #[inline(never)]
    fn lookup(&mut self, name: &str, q: &str, offset: usize) -> Parsed {
        let kind = match q {
            "lookup" => LookupKind::Lookup,
            "lookupset" => LookupKind::LookupSet,
            _ => LookupKind::MultiLookup,
        };
        let (args, d) = self.args()?;
        let [source, destination, result, ds]: [Expr; 4] = args.try_into().map_err(|_| {
            arity(
                offset,
                &format!("{name}(source, destination, result, \"DataSet\")"),
            )
        })?;
        let Expr::Literal(Value::Str(dataset)) = ds else {
            return Err(ExprError::Syntax {
                offset,
                expected: format!("the data set name as a string constant in {name}"),
                found: "an expression".into(),
            });
        };
        let call = LookupCall {
            kind,
            source,
            destination,
            result,
            dataset: dataset.to_string(),
        };
        Ok((Expr::Lookup(Box::new(call)), self.check(d + 1)?))
    }

    #[inline(never)]
    fn ctype(&mut self, offset: usize) -> Parsed {
        self.expect(&Tok::LParen, "'(' after CType")?;
        let (e, d) = self.expr(0)?;
        self.expect(&Tok::Comma, "',' and a type name in CType(value, Type)")?;
        let ty = self.type_name()?;
        self.expect(&Tok::RParen, "')'")?;
        let conv = funcs::conversion_for_type(&ty).ok_or_else(|| ExprError::Syntax {
            offset,
            expected: "a type (String, Integer, Long, Double, Decimal, Date, Boolean...)".into(),
            found: format!("'{ty}'"),
        })?;
        Ok((
            Expr::Call {
                name: conv.into(),
                args: vec![e],
            },
            self.check(d + 1)?,
        ))
    }

    /// A type name, possibly qualified (`System.Int32`), lower-cased.
    pub(crate) fn type_name(&mut self) -> Result<String, ExprError> {
        let mut t = self.expect_ident("a type name")?.to_ascii_lowercase();
        while matches!(self.peek(), Tok::Dot) {
            self.bump();
            t = self
                .expect_ident("a type name after '.'")?
                .to_ascii_lowercase();
        }
        if matches!(self.peek(), Tok::LParen) && matches!(self.peek_at(1), Tok::RParen) {
            self.bump();
            self.bump();
            t.push_str("()");
        }
        Ok(t)
    }

    fn scope_arg(&self, e: Option<Expr>, offset: usize) -> Result<Scope, ExprError> {
        match e {
            None => Ok(Scope::Current),
            Some(Expr::Literal(Value::Null)) => Ok(Scope::Nothing),
            Some(Expr::Literal(Value::Str(s))) => Ok(Scope::Named(s.to_string())),
            Some(_) => Err(ExprError::Syntax {
                offset,
                expected: "a scope as a string constant (\"GroupName\") or Nothing".into(),
                found: "an expression".into(),
            }),
        }
    }

    /// `Agg(expr[, scope[, Recursive]])`, `CountRows([scope])`,
    /// `RunningValue(expr, Agg, scope)`.
    #[inline(never)]
    fn aggregate(&mut self, func: AggFn, running: bool, offset: usize) -> Parsed {
        self.expect(&Tok::LParen, "'(' after the aggregate's name")?;
        let mut d = 0;
        let mut arg = None;
        let mut func = func;
        if func != AggFn::CountRows || running {
            let (e, ad) = self.expr(0)?;
            d = ad;
            arg = Some(e);
        }
        if running {
            self.expect(
                &Tok::Comma,
                "',' and the aggregate function in RunningValue(expr, Sum, scope)",
            )?;
            let fname = self.expect_ident("an aggregate function name (Sum, Count, ...)")?;
            func = AggFn::from_name(&fname).ok_or_else(|| ExprError::Syntax {
                offset,
                expected: "an aggregate function name (Sum, Avg, Count, CountDistinct, Min, Max, First, Last, StDev, Var...)".into(),
                found: format!("'{fname}'"),
            })?;
        }
        let mut scope = Scope::Current;
        let mut recursive = false;
        let need_comma = arg.is_some();
        if !need_comma && !matches!(self.peek(), Tok::RParen) || need_comma && self.eat(&Tok::Comma)
        {
            let (s, _) = self.expr(0)?;
            scope = self.scope_arg(Some(s), offset)?;
            if self.eat(&Tok::Comma) {
                if self.eat_kw("recursive") {
                    recursive = true;
                } else if !self.eat_kw("simple") {
                    return Err(self.unexpected("Recursive or Simple"));
                }
            }
        }
        self.expect(&Tok::RParen, "')' after the aggregate's arguments")?;
        let call = AggregateCall {
            func,
            arg,
            scope,
            recursive,
            running,
            id: 0,
        };
        Ok((Expr::Aggregate(Box::new(call)), self.check(d + 1)?))
    }
}

fn arity(offset: usize, usage: &str) -> ExprError {
    ExprError::Syntax {
        offset,
        expected: usage.to_string(),
        found: "a different number of arguments".into(),
    }
}
