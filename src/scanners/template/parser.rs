//! Jinja2 parser: from tokens to a syntax tree, mirroring `jinja2/parser.py` (Jinja 3.1):
//! the statements Jinja knows (`for`, `if`, `set` incl. block sets and namespace targets,
//! `with`, `macro`, `call`, `filter`, `block`, `extends`, `include`, `import`, `from`,
//! `autoescape`), the `loopcontrols` and `do` extensions, and the `generation` block that
//! transformers registers for chat templates; and the full expression grammar (conditional
//! expressions, `or`/`and`/`not`, comparisons incl. `in`/`not in`, `+ - ~ * / // % **`, unary
//! signs, literals, attribute and subscript access incl. slices, calls with `*args`/`**kwargs`,
//! filters and tests). Nesting is capped so that attacker-written templates cannot exhaust the
//! stack. What the tree means is the job of `analysis/`.

use super::lexer::{SyntaxError, Tok, Token};

pub type Pos = usize;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub dyn_args: Option<Box<Expr>>,
    pub dyn_kwargs: Option<Box<Expr>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name {
        name: String,
        pos: Pos,
    },
    Str {
        value: String,
        exact: bool,
        pos: Pos,
    },
    Int {
        value: Option<i64>,
        pos: Pos,
    },
    Float {
        pos: Pos,
    },
    Bool {
        value: bool,
        pos: Pos,
    },
    None {
        pos: Pos,
    },
    List {
        items: Vec<Expr>,
        pos: Pos,
    },
    Tuple {
        items: Vec<Expr>,
        pos: Pos,
    },
    Dict {
        pairs: Vec<(Expr, Expr)>,
        pos: Pos,
    },
    Getattr {
        node: Box<Expr>,
        attr: String,
        pos: Pos,
    },
    Getitem {
        node: Box<Expr>,
        arg: Box<Expr>,
        pos: Pos,
    },
    Slice {
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
        pos: Pos,
    },
    Call {
        node: Box<Expr>,
        args: Args,
        pos: Pos,
    },
    /// `node|name(args)`; `node` is `None` in `{% filter %}` blocks and `{% set x | f %}`.
    Filter {
        node: Option<Box<Expr>>,
        name: String,
        args: Args,
        pos: Pos,
    },
    Test {
        node: Box<Expr>,
        name: String,
        args: Args,
        pos: Pos,
    },
    /// `+ - * / // % ** ~ and or`
    Binary {
        op: &'static str,
        left: Box<Expr>,
        right: Box<Expr>,
        pos: Pos,
    },
    /// `- + not`
    Unary {
        op: &'static str,
        node: Box<Expr>,
        pos: Pos,
    },
    Compare {
        first: Box<Expr>,
        ops: Vec<(&'static str, Expr)>,
        pos: Pos,
    },
    Cond {
        test: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
        pos: Pos,
    },
}

impl Expr {
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Name { pos, .. }
            | Expr::Str { pos, .. }
            | Expr::Int { pos, .. }
            | Expr::Float { pos }
            | Expr::Bool { pos, .. }
            | Expr::None { pos }
            | Expr::List { pos, .. }
            | Expr::Tuple { pos, .. }
            | Expr::Dict { pos, .. }
            | Expr::Getattr { pos, .. }
            | Expr::Getitem { pos, .. }
            | Expr::Slice { pos, .. }
            | Expr::Call { pos, .. }
            | Expr::Filter { pos, .. }
            | Expr::Test { pos, .. }
            | Expr::Binary { pos, .. }
            | Expr::Unary { pos, .. }
            | Expr::Compare { pos, .. }
            | Expr::Cond { pos, .. } => *pos,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Name(String),
    /// `{% set ns.attr = ... %}`
    NsRef(String, String),
    Tuple(Vec<Target>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Data {
        text: String,
        pos: Pos,
    },
    Output(Expr),
    For {
        target: Target,
        iter: Expr,
        cond: Option<Expr>,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Set {
        target: Target,
        value: Expr,
    },
    SetBlock {
        target: Target,
        filter: Option<Expr>,
        body: Vec<Node>,
    },
    With {
        assigns: Vec<(Target, Expr)>,
        body: Vec<Node>,
    },
    Macro {
        name: String,
        params: Vec<(String, Option<Expr>)>,
        body: Vec<Node>,
    },
    CallBlock {
        call: Expr,
        params: Vec<(String, Option<Expr>)>,
        body: Vec<Node>,
    },
    FilterBlock {
        filter: Expr,
        body: Vec<Node>,
    },
    /// `block`, `autoescape`, `generation`: a body with nothing else to analyse.
    Scope(Vec<Node>),
    /// `extends`, `include`, `do`: expressions that are evaluated.
    Exprs(Vec<Expr>),
    /// `import ... as x` / `from ... import a, b as c`: names bound to another template.
    Import {
        template: Expr,
        names: Vec<String>,
    },
    Break,
    Continue,
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    depth: u32,
    max_depth: u32,
    /// Position reported for errors at the end of the input.
    end_pos: Pos,
}

/// Parses a token stream into template nodes. `max_depth` bounds the nesting of expressions
/// and statements.
pub fn parse(toks: &[Token], max_depth: u32, src_len: usize) -> Result<Vec<Node>, SyntaxError> {
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
        max_depth,
        end_pos: src_len,
    };
    let (nodes, end) = p.subparse(&[])?;
    if let Some(tag) = end {
        return Err(SyntaxError::new(p.pos(), format!("unexpected '{tag}'")));
    }
    Ok(nodes)
}

type PResult<T> = Result<T, SyntaxError>;

const COMPARE_OPS: &[&str] = &["==", "!=", ">", ">=", "<", "<="];

impl Parser<'_> {
    fn cur(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.i + n).map(|t| &t.tok)
    }

    fn pos(&self) -> Pos {
        self.toks.get(self.i).map_or(self.end_pos, |t| t.pos)
    }

    fn bump(&mut self) {
        self.i += 1;
    }

    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(SyntaxError::new(self.pos(), msg))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.cur(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.cur(), Some(Tok::Name(n)) if n == name)
    }

    fn skip_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_name(&mut self, name: &str) -> bool {
        if self.is_name(name) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.skip_op(op) {
            Ok(())
        } else {
            self.err(format!("expected '{op}', got {}", self.describe()))
        }
    }

    fn expect_name(&mut self) -> PResult<String> {
        match self.cur() {
            Some(Tok::Name(n)) => {
                let n = n.clone();
                self.bump();
                Ok(n)
            }
            _ => self.err(format!("expected a name, got {}", self.describe())),
        }
    }

    /// The end of a tag that opens a body: Jinja's `parse_statements` allows a colon first
    /// (`{% if x: %}`).
    fn expect_body_start(&mut self) -> PResult<()> {
        self.skip_op(":");
        self.expect_block_end()
    }

    fn expect_block_end(&mut self) -> PResult<()> {
        if matches!(self.cur(), Some(Tok::BlockEnd)) {
            self.bump();
            Ok(())
        } else {
            self.err(format!(
                "expected end of statement block, got {}",
                self.describe()
            ))
        }
    }

    fn describe(&self) -> String {
        match self.cur() {
            None => "end of template".into(),
            Some(Tok::Data(_)) => "template data".into(),
            Some(Tok::VarBegin) => "'{{'".into(),
            Some(Tok::VarEnd) => "'}}'".into(),
            Some(Tok::BlockBegin) => "'{%'".into(),
            Some(Tok::BlockEnd) => "'%}'".into(),
            Some(Tok::Name(n)) => format!("'{n}'"),
            Some(Tok::Str { .. }) => "string".into(),
            Some(Tok::Int(_)) => "integer".into(),
            Some(Tok::Float(_)) => "float".into(),
            Some(Tok::Op(o)) => format!("'{o}'"),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            let mut e = SyntaxError::new(
                self.pos(),
                format!("template nesting deeper than {} levels", self.max_depth),
            );
            e.depth_limit = true;
            return Err(e);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A loop that wraps the node it built into a new one (`a ~ b ~ c`, `x.a.b`, `x|f|g`)
    /// makes the tree one level deeper each time: count it like nesting.
    fn grow(&mut self, grown: &mut u32) -> PResult<()> {
        *grown += 1;
        self.enter()
    }

    fn shrink(&mut self, grown: u32) {
        self.depth = self.depth.saturating_sub(grown);
    }

    // ---- statements -------------------------------------------------------------------

    /// Parses nodes until a `{% <end> %}` tag whose name is in `ends`; the `{%` and the
    /// name are consumed, the rest of that tag is left to the caller.
    fn subparse(&mut self, ends: &[&str]) -> PResult<(Vec<Node>, Option<String>)> {
        self.enter()?;
        let r = self.subparse_inner(ends);
        self.leave();
        r
    }

    fn subparse_inner(&mut self, ends: &[&str]) -> PResult<(Vec<Node>, Option<String>)> {
        let mut nodes = Vec::new();
        loop {
            let pos = self.pos();
            match self.cur() {
                None => {
                    if ends.is_empty() {
                        return Ok((nodes, None));
                    }
                    return self.err(format!(
                        "unexpected end of template, expected {}",
                        ends.join(" or ")
                    ));
                }
                Some(Tok::Data(t)) => {
                    nodes.push(Node::Data {
                        text: t.clone(),
                        pos,
                    });
                    self.bump();
                }
                Some(Tok::VarBegin) => {
                    self.bump();
                    let e = self.parse_tuple(false, true, &[], false)?;
                    if !matches!(self.cur(), Some(Tok::VarEnd)) {
                        return self.err(format!("expected '}}}}', got {}", self.describe()));
                    }
                    self.bump();
                    nodes.push(Node::Output(e));
                }
                Some(Tok::BlockBegin) => {
                    self.bump();
                    if let Some(Tok::Name(n)) = self.cur() {
                        if ends.contains(&n.as_str()) {
                            let n = n.clone();
                            self.bump();
                            return Ok((nodes, Some(n)));
                        }
                    }
                    let node = self.parse_statement()?;
                    nodes.push(node);
                }
                Some(_) => return self.err(format!("unexpected {}", self.describe())),
            }
        }
    }

    /// The rest of an end tag (`{% endblock name %}` may repeat the name).
    fn finish_end_tag(&mut self) -> PResult<()> {
        if let Some(Tok::Name(_)) = self.cur() {
            self.bump();
        }
        self.expect_block_end()
    }

    fn body_until(&mut self, end: &str) -> PResult<Vec<Node>> {
        let (body, _) = self.subparse(&[end])?;
        self.finish_end_tag()?;
        Ok(body)
    }

    fn parse_statement(&mut self) -> PResult<Node> {
        let Some(Tok::Name(tag)) = self.cur() else {
            return self.err("tag name expected");
        };
        let tag = tag.clone();
        self.bump();
        match tag.as_str() {
            "for" => self.parse_for(),
            "if" => self.parse_if(),
            "set" => self.parse_set(),
            "with" => {
                let mut assigns = Vec::new();
                while !matches!(self.cur(), Some(Tok::BlockEnd)) {
                    if !assigns.is_empty() {
                        self.expect_op(",")?;
                    }
                    let t = self.parse_assign_target(false, &[])?;
                    self.expect_op("=")?;
                    let v = self.parse_expression(true)?;
                    assigns.push((t, v));
                }
                self.expect_body_start()?;
                let body = self.body_until("endwith")?;
                Ok(Node::With { assigns, body })
            }
            "macro" => {
                let name = self.expect_name()?;
                let params = self.parse_signature()?;
                self.expect_body_start()?;
                let body = self.body_until("endmacro")?;
                Ok(Node::Macro { name, params, body })
            }
            "call" => {
                let params = if self.is_op("(") {
                    self.parse_signature()?
                } else {
                    Vec::new()
                };
                let call = self.parse_expression(true)?;
                if !matches!(call, Expr::Call { .. }) {
                    return self.err("expected call");
                }
                self.expect_body_start()?;
                let body = self.body_until("endcall")?;
                Ok(Node::CallBlock { call, params, body })
            }
            "filter" => {
                let filter = self.parse_filter(None, true)?;
                self.expect_body_start()?;
                let body = self.body_until("endfilter")?;
                Ok(Node::FilterBlock { filter, body })
            }
            "block" => {
                self.expect_name()?;
                self.skip_name("scoped");
                self.skip_name("required");
                self.expect_body_start()?;
                Ok(Node::Scope(self.body_until("endblock")?))
            }
            "autoescape" => {
                let e = self.parse_expression(true)?;
                self.expect_body_start()?;
                let body = self.body_until("endautoescape")?;
                let mut nodes = vec![Node::Exprs(vec![e])];
                nodes.extend(body);
                Ok(Node::Scope(nodes))
            }
            // transformers' AssistantTracker extension (`{% generation %}`).
            "generation" => {
                self.expect_body_start()?;
                Ok(Node::Scope(self.body_until("endgeneration")?))
            }
            "extends" => {
                let e = self.parse_expression(true)?;
                self.expect_block_end()?;
                Ok(Node::Exprs(vec![e]))
            }
            "include" => {
                let e = self.parse_expression(true)?;
                if self.is_name("ignore")
                    && matches!(self.peek(1), Some(Tok::Name(n)) if n == "missing")
                {
                    self.bump();
                    self.bump();
                }
                self.skip_context_modifier();
                self.expect_block_end()?;
                Ok(Node::Exprs(vec![e]))
            }
            "import" => {
                let template = self.parse_expression(true)?;
                if !self.skip_name("as") {
                    return self.err("expected 'as'");
                }
                let name = self.expect_name()?;
                self.skip_context_modifier();
                self.expect_block_end()?;
                Ok(Node::Import {
                    template,
                    names: vec![name],
                })
            }
            "from" => {
                let template = self.parse_expression(true)?;
                if !self.skip_name("import") {
                    return self.err("expected 'import'");
                }
                let mut names = Vec::new();
                loop {
                    if matches!(self.cur(), Some(Tok::BlockEnd)) {
                        break;
                    }
                    if (self.is_name("with") || self.is_name("without"))
                        && matches!(self.peek(1), Some(Tok::Name(n)) if n == "context")
                    {
                        self.skip_context_modifier();
                        break;
                    }
                    if !names.is_empty() {
                        self.expect_op(",")?;
                        if matches!(self.cur(), Some(Tok::BlockEnd)) {
                            break;
                        }
                    }
                    let mut n = self.expect_name()?;
                    if self.skip_name("as") {
                        n = self.expect_name()?;
                    }
                    names.push(n);
                }
                self.expect_block_end()?;
                Ok(Node::Import { template, names })
            }
            "do" => {
                let e = self.parse_tuple(false, true, &[], false)?;
                self.expect_block_end()?;
                Ok(Node::Exprs(vec![e]))
            }
            "break" => {
                self.expect_block_end()?;
                Ok(Node::Break)
            }
            "continue" => {
                self.expect_block_end()?;
                Ok(Node::Continue)
            }
            other => Err(SyntaxError::new(
                self.toks.get(self.i.saturating_sub(1)).map_or(0, |t| t.pos),
                format!("Encountered unknown tag '{other}'"),
            )),
        }
    }

    fn skip_context_modifier(&mut self) {
        if (self.is_name("with") || self.is_name("without"))
            && matches!(self.peek(1), Some(Tok::Name(n)) if n == "context")
        {
            self.bump();
            self.bump();
        }
    }

    fn parse_for(&mut self) -> PResult<Node> {
        let target = self.parse_assign_target(false, &["in"])?;
        if !self.skip_name("in") {
            return self.err("expected 'in'");
        }
        let iter = self.parse_tuple(false, false, &["recursive"], false)?;
        let cond = if self.skip_name("if") {
            Some(self.parse_expression(true)?)
        } else {
            None
        };
        self.skip_name("recursive");
        self.expect_body_start()?;
        let (body, end) = self.subparse(&["endfor", "else"])?;
        let otherwise = if end.as_deref() == Some("else") {
            self.expect_body_start()?;
            let (b, _) = self.subparse(&["endfor"])?;
            b
        } else {
            Vec::new()
        };
        self.finish_end_tag()?;
        Ok(Node::For {
            target,
            iter,
            cond,
            body,
            otherwise,
        })
    }

    fn parse_if(&mut self) -> PResult<Node> {
        let mut branches = Vec::new();
        let mut otherwise = Vec::new();
        let mut cond = self.parse_tuple(false, false, &[], false)?;
        loop {
            self.expect_body_start()?;
            let (body, end) = self.subparse(&["elif", "else", "endif"])?;
            branches.push((cond, body));
            match end.as_deref() {
                Some("elif") => {
                    cond = self.parse_tuple(false, false, &[], false)?;
                }
                Some("else") => {
                    self.expect_body_start()?;
                    let (b, _) = self.subparse(&["endif"])?;
                    otherwise = b;
                    self.finish_end_tag()?;
                    break;
                }
                _ => {
                    self.finish_end_tag()?;
                    break;
                }
            }
        }
        Ok(Node::If {
            branches,
            otherwise,
        })
    }

    fn parse_set(&mut self) -> PResult<Node> {
        let target = self.parse_assign_target(true, &[])?;
        if self.skip_op("=") {
            let value = self.parse_tuple(false, true, &[], false)?;
            self.expect_block_end()?;
            return Ok(Node::Set { target, value });
        }
        let filter = if self.is_op("|") {
            Some(self.parse_filter(None, false)?)
        } else {
            None
        };
        self.expect_body_start()?;
        let body = self.body_until("endset")?;
        Ok(Node::SetBlock {
            target,
            filter,
            body,
        })
    }

    /// `(a, b=default, ...)` of a macro or call block.
    fn parse_signature(&mut self) -> PResult<Vec<(String, Option<Expr>)>> {
        self.expect_op("(")?;
        let mut params = Vec::new();
        while !self.is_op(")") {
            if !params.is_empty() {
                self.expect_op(",")?;
                if self.is_op(")") {
                    break;
                }
            }
            let name = self.expect_name()?;
            let default = if self.skip_op("=") {
                Some(self.parse_expression(true)?)
            } else {
                None
            };
            params.push((name, default));
        }
        self.expect_op(")")?;
        Ok(params)
    }

    fn parse_assign_target(&mut self, with_namespace: bool, end_names: &[&str]) -> PResult<Target> {
        if with_namespace {
            if let (Some(Tok::Name(ns)), Some(Tok::Op(".")), Some(Tok::Name(attr))) =
                (self.cur(), self.peek(1), self.peek(2))
            {
                let t = Target::NsRef(ns.clone(), attr.clone());
                self.i += 3;
                return Ok(t);
            }
        }
        let e = self.parse_tuple(true, true, end_names, false)?;
        to_target(&e).ok_or_else(|| SyntaxError::new(e.pos(), "can't assign to this expression"))
    }

    // ---- expressions ------------------------------------------------------------------

    fn is_tuple_end(&self, end_names: &[&str]) -> bool {
        match self.cur() {
            None | Some(Tok::VarEnd) | Some(Tok::BlockEnd) => true,
            Some(Tok::Op(")")) => true,
            Some(Tok::Name(n)) => end_names.contains(&n.as_str()),
            _ => false,
        }
    }

    /// Jinja's `parse_tuple`: `a, b` without brackets is a tuple.
    fn parse_tuple(
        &mut self,
        simplified: bool,
        with_condexpr: bool,
        end_names: &[&str],
        explicit_parentheses: bool,
    ) -> PResult<Expr> {
        let pos = self.pos();
        let mut items = Vec::new();
        let mut is_tuple = false;
        loop {
            if !items.is_empty() {
                self.expect_op(",")?;
            }
            if self.is_tuple_end(end_names) {
                break;
            }
            let e = if simplified {
                self.parse_primary()?
            } else {
                self.parse_expression(with_condexpr)?
            };
            items.push(e);
            if self.is_op(",") {
                is_tuple = true;
            } else {
                break;
            }
        }
        if !is_tuple {
            if let Some(e) = items.pop() {
                return Ok(e);
            }
            if !explicit_parentheses {
                return self.err(format!("Expected an expression, got {}", self.describe()));
            }
        }
        Ok(Expr::Tuple { items, pos })
    }

    pub fn parse_expression(&mut self, with_condexpr: bool) -> PResult<Expr> {
        self.enter()?;
        let r = if with_condexpr {
            self.parse_condexpr()
        } else {
            self.parse_or()
        };
        self.leave();
        r
    }

    fn parse_condexpr(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let mut e1 = self.parse_or()?;
        let mut grown = 0;
        while self.skip_name("if") {
            self.grow(&mut grown)?;
            let e2 = self.parse_or()?;
            let e3 = if self.skip_name("else") {
                self.enter()?;
                let r = self.parse_condexpr();
                self.leave();
                Some(Box::new(r?))
            } else {
                None
            };
            e1 = Expr::Cond {
                test: Box::new(e2),
                then: Box::new(e1),
                otherwise: e3,
                pos,
            };
        }
        self.shrink(grown);
        Ok(e1)
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let mut left = self.parse_and()?;
        let mut grown = 0;
        while self.skip_name("or") {
            self.grow(&mut grown)?;
            let right = self.parse_and()?;
            left = Expr::Binary {
                op: "or",
                left: Box::new(left),
                right: Box::new(right),
                pos,
            };
        }
        self.shrink(grown);
        Ok(left)
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let mut left = self.parse_not()?;
        let mut grown = 0;
        while self.skip_name("and") {
            self.grow(&mut grown)?;
            let right = self.parse_not()?;
            left = Expr::Binary {
                op: "and",
                left: Box::new(left),
                right: Box::new(right),
                pos,
            };
        }
        self.shrink(grown);
        Ok(left)
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        if self.skip_name("not") {
            self.enter()?;
            let r = self.parse_not();
            self.leave();
            return Ok(Expr::Unary {
                op: "not",
                node: Box::new(r?),
                pos,
            });
        }
        self.parse_compare()
    }

    fn parse_compare(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let first = self.parse_math1()?;
        let mut ops = Vec::new();
        loop {
            if let Some(Tok::Op(o)) = self.cur() {
                if let Some(op) = COMPARE_OPS.iter().find(|c| **c == *o) {
                    self.bump();
                    ops.push((*op, self.parse_math1()?));
                    continue;
                }
            }
            if self.skip_name("in") {
                ops.push(("in", self.parse_math1()?));
                continue;
            }
            if self.is_name("not") && matches!(self.peek(1), Some(Tok::Name(n)) if n == "in") {
                self.i += 2;
                ops.push(("notin", self.parse_math1()?));
                continue;
            }
            break;
        }
        if ops.is_empty() {
            return Ok(first);
        }
        Ok(Expr::Compare {
            first: Box::new(first),
            ops,
            pos,
        })
    }

    fn parse_binary_level(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Self) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let pos = self.pos();
        let mut left = next(self)?;
        let mut grown = 0;
        while let Some(Tok::Op(o)) = self.cur() {
            let Some(op) = ops.iter().find(|x| **x == *o).copied() else {
                break;
            };
            self.bump();
            self.grow(&mut grown)?;
            let right = next(self)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                pos,
            };
        }
        self.shrink(grown);
        Ok(left)
    }

    fn parse_math1(&mut self) -> PResult<Expr> {
        self.parse_binary_level(&["+", "-"], Self::parse_concat)
    }

    fn parse_concat(&mut self) -> PResult<Expr> {
        self.parse_binary_level(&["~"], Self::parse_math2)
    }

    fn parse_math2(&mut self) -> PResult<Expr> {
        self.parse_binary_level(&["*", "/", "//", "%"], Self::parse_pow)
    }

    fn parse_pow(&mut self) -> PResult<Expr> {
        self.parse_binary_level(&["**"], |p| p.parse_unary(true))
    }

    fn parse_unary(&mut self, with_filter: bool) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_unary_inner(with_filter);
        self.leave();
        r
    }

    fn parse_unary_inner(&mut self, with_filter: bool) -> PResult<Expr> {
        let pos = self.pos();
        let node = if self.skip_op("-") {
            Expr::Unary {
                op: "-",
                node: Box::new(self.parse_unary(false)?),
                pos,
            }
        } else if self.skip_op("+") {
            Expr::Unary {
                op: "+",
                node: Box::new(self.parse_unary(false)?),
                pos,
            }
        } else {
            self.parse_primary()?
        };
        let node = self.parse_postfix(node)?;
        if with_filter {
            self.parse_filter_expr(node)
        } else {
            Ok(node)
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let Some(tok) = self.cur().cloned() else {
            return self.err("unexpected end of template");
        };
        match tok {
            Tok::Name(n) => {
                self.bump();
                Ok(match n.as_str() {
                    "true" | "True" => Expr::Bool { value: true, pos },
                    "false" | "False" => Expr::Bool { value: false, pos },
                    "none" | "None" => Expr::None { pos },
                    _ => Expr::Name { name: n, pos },
                })
            }
            Tok::Str { value, exact } => {
                self.bump();
                // Adjacent string literals are concatenated (like Python).
                let mut value = value;
                let mut exact = exact;
                while let Some(Tok::Str {
                    value: v2,
                    exact: e2,
                }) = self.cur()
                {
                    value.push_str(v2);
                    exact &= *e2;
                    self.bump();
                }
                Ok(Expr::Str { value, exact, pos })
            }
            Tok::Int(v) => {
                self.bump();
                Ok(Expr::Int { value: v, pos })
            }
            Tok::Float(_) => {
                self.bump();
                Ok(Expr::Float { pos })
            }
            Tok::Op("(") => {
                self.bump();
                let e = self.parse_tuple(false, true, &[], true)?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op("[") => {
                self.bump();
                let mut items = Vec::new();
                while !self.is_op("]") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                    }
                    if self.is_op("]") {
                        break;
                    }
                    items.push(self.parse_expression(true)?);
                }
                self.expect_op("]")?;
                Ok(Expr::List { items, pos })
            }
            Tok::Op("{") => {
                self.bump();
                let mut pairs = Vec::new();
                while !self.is_op("}") {
                    if !pairs.is_empty() {
                        self.expect_op(",")?;
                    }
                    if self.is_op("}") {
                        break;
                    }
                    let k = self.parse_expression(true)?;
                    self.expect_op(":")?;
                    let v = self.parse_expression(true)?;
                    pairs.push((k, v));
                }
                self.expect_op("}")?;
                Ok(Expr::Dict { pairs, pos })
            }
            _ => self.err(format!("unexpected {}", self.describe())),
        }
    }

    fn parse_postfix(&mut self, mut node: Expr) -> PResult<Expr> {
        let mut grown = 0;
        loop {
            if self.is_op(".") || self.is_op("[") {
                self.grow(&mut grown)?;
                node = self.parse_subscript(node)?;
            } else if self.is_op("(") {
                self.grow(&mut grown)?;
                node = self.parse_call(node)?;
            } else {
                self.shrink(grown);
                return Ok(node);
            }
        }
    }

    fn parse_filter_expr(&mut self, mut node: Expr) -> PResult<Expr> {
        let mut grown = 0;
        loop {
            if self.is_op("|") {
                self.grow(&mut grown)?;
                node = self.parse_filter(Some(node), false)?;
            } else if self.is_name("is") {
                self.grow(&mut grown)?;
                node = self.parse_test(node)?;
            } else if self.is_op("(") {
                self.grow(&mut grown)?;
                node = self.parse_call(node)?;
            } else {
                self.shrink(grown);
                return Ok(node);
            }
        }
    }

    fn parse_subscript(&mut self, node: Expr) -> PResult<Expr> {
        let pos = self.pos();
        if self.skip_op(".") {
            return match self.cur().cloned() {
                Some(Tok::Name(attr)) => {
                    self.bump();
                    Ok(Expr::Getattr {
                        node: Box::new(node),
                        attr,
                        pos,
                    })
                }
                Some(Tok::Int(v)) => {
                    let ipos = self.pos();
                    self.bump();
                    Ok(Expr::Getitem {
                        node: Box::new(node),
                        arg: Box::new(Expr::Int {
                            value: v,
                            pos: ipos,
                        }),
                        pos,
                    })
                }
                _ => self.err("expected name or number"),
            };
        }
        self.expect_op("[")?;
        let mut args = Vec::new();
        while !self.is_op("]") {
            if !args.is_empty() {
                self.expect_op(",")?;
            }
            args.push(self.parse_subscribed()?);
        }
        self.expect_op("]")?;
        let arg = if args.len() == 1 {
            args.pop().unwrap_or(Expr::None { pos })
        } else {
            Expr::Tuple { items: args, pos }
        };
        Ok(Expr::Getitem {
            node: Box::new(node),
            arg: Box::new(arg),
            pos,
        })
    }

    fn parse_subscribed(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let start = if self.skip_op(":") {
            None
        } else {
            let e = self.parse_expression(true)?;
            if !self.skip_op(":") {
                return Ok(e);
            }
            Some(Box::new(e))
        };
        let stop = if self.is_op(":") || self.is_op("]") || self.is_op(",") {
            None
        } else {
            Some(Box::new(self.parse_expression(true)?))
        };
        let step = if self.skip_op(":") {
            if self.is_op("]") || self.is_op(",") {
                None
            } else {
                Some(Box::new(self.parse_expression(true)?))
            }
        } else {
            None
        };
        Ok(Expr::Slice {
            start,
            stop,
            step,
            pos,
        })
    }

    fn parse_call_args(&mut self) -> PResult<Args> {
        self.expect_op("(")?;
        let mut a = Args::default();
        let mut first = true;
        while !self.is_op(")") {
            if !first {
                self.expect_op(",")?;
                if self.is_op(")") {
                    break;
                }
            }
            first = false;
            if self.skip_op("*") {
                a.dyn_args = Some(Box::new(self.parse_expression(true)?));
            } else if self.skip_op("**") {
                a.dyn_kwargs = Some(Box::new(self.parse_expression(true)?));
            } else if let (Some(Tok::Name(n)), Some(Tok::Op("="))) = (self.cur(), self.peek(1)) {
                let n = n.clone();
                self.i += 2;
                let v = self.parse_expression(true)?;
                a.kwargs.push((n, v));
            } else {
                a.args.push(self.parse_expression(true)?);
            }
        }
        self.expect_op(")")?;
        Ok(a)
    }

    fn parse_call(&mut self, node: Expr) -> PResult<Expr> {
        let pos = self.pos();
        let args = self.parse_call_args()?;
        Ok(Expr::Call {
            node: Box::new(node),
            args,
            pos,
        })
    }

    fn dotted_name(&mut self) -> PResult<String> {
        let mut name = self.expect_name()?;
        while self.is_op(".") && matches!(self.peek(1), Some(Tok::Name(_))) {
            self.bump();
            name.push('.');
            name.push_str(&self.expect_name()?);
        }
        Ok(name)
    }

    fn parse_filter(&mut self, mut node: Option<Expr>, mut start_inline: bool) -> PResult<Expr> {
        let mut grown = 0;
        while self.is_op("|") || start_inline {
            self.grow(&mut grown)?;
            if !start_inline {
                self.bump();
            }
            start_inline = false;
            let pos = self.pos();
            let name = self.dotted_name()?;
            let args = if self.is_op("(") {
                self.parse_call_args()?
            } else {
                Args::default()
            };
            node = Some(Expr::Filter {
                node: node.map(Box::new),
                name,
                args,
                pos,
            });
        }
        self.shrink(grown);
        match node {
            Some(n) => Ok(n),
            None => self.err("expected a filter"),
        }
    }

    fn parse_test(&mut self, node: Expr) -> PResult<Expr> {
        let pos = self.pos();
        self.bump(); // `is`
        let negated = self.skip_name("not");
        let name = self.dotted_name()?;
        let args = if self.is_op("(") {
            self.parse_call_args()?
        } else {
            if self.is_name("is") {
                return self.err("You cannot chain multiple tests with is");
            }
            let takes_arg = match self.cur() {
                Some(Tok::Name(n)) => !matches!(n.as_str(), "else" | "or" | "and" | "is"),
                Some(Tok::Str { .. }) | Some(Tok::Int(_)) | Some(Tok::Float(_)) => true,
                Some(Tok::Op(o)) => matches!(*o, "(" | "[" | "{"),
                _ => false,
            };
            if takes_arg {
                let arg = self.parse_primary()?;
                let arg = self.parse_postfix(arg)?;
                Args {
                    args: vec![arg],
                    ..Args::default()
                }
            } else {
                Args::default()
            }
        };
        let test = Expr::Test {
            node: Box::new(node),
            name,
            args,
            pos,
        };
        Ok(if negated {
            Expr::Unary {
                op: "not",
                node: Box::new(test),
                pos,
            }
        } else {
            test
        })
    }
}

fn to_target(e: &Expr) -> Option<Target> {
    match e {
        Expr::Name { name, .. } => Some(Target::Name(name.clone())),
        Expr::Tuple { items, .. } => items
            .iter()
            .map(to_target)
            .collect::<Option<Vec<_>>>()
            .map(Target::Tuple),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanners::template::lexer::lex;

    fn p(src: &str) -> Result<Vec<Node>, SyntaxError> {
        parse(&lex(src)?, 100, src.len())
    }

    #[test]
    fn statements_nest_and_close() {
        let n = p("{% for m in messages if m.role %}{% if a %}x{% elif b %}y{% else %}z{% endif %}{% else %}e{% endfor %}").unwrap();
        assert_eq!(n.len(), 1);
        let Node::For {
            body, otherwise, ..
        } = &n[0]
        else {
            panic!()
        };
        assert_eq!(otherwise.len(), 1);
        let Node::If {
            branches,
            otherwise,
        } = &body[0]
        else {
            panic!()
        };
        assert_eq!(branches.len(), 2);
        assert_eq!(otherwise.len(), 1);
    }

    #[test]
    fn filters_tests_and_postfix_bind_like_jinja() {
        let n = p("{{ -x.y[1:2]|join('') is not none }}").unwrap();
        let Node::Output(Expr::Unary {
            op: "not", node, ..
        }) = &n[0]
        else {
            panic!("{n:?}")
        };
        let Expr::Test { node, name, .. } = node.as_ref() else {
            panic!()
        };
        assert_eq!(name, "none");
        // `-` binds tighter than the filter (parse_unary(False) then filters).
        let Expr::Filter {
            node: Some(inner),
            name,
            ..
        } = node.as_ref()
        else {
            panic!()
        };
        assert_eq!(name, "join");
        assert!(matches!(inner.as_ref(), Expr::Unary { op: "-", .. }));
    }

    #[test]
    fn set_targets_include_namespaces_and_blocks() {
        let n =
            p("{% set ns.a = 1 %}{% set x, y = 1, 2 %}{% set b | upper %}t{% endset %}").unwrap();
        assert!(
            matches!(&n[0], Node::Set { target: Target::NsRef(a, b), .. } if a == "ns" && b == "a")
        );
        assert!(matches!(&n[1], Node::Set { target: Target::Tuple(t), .. } if t.len() == 2));
        assert!(matches!(
            &n[2],
            Node::SetBlock {
                filter: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn unknown_tags_and_unclosed_blocks_are_syntax_errors() {
        assert!(p("{% frobnicate %}").is_err());
        assert!(p("{% if x %}").is_err());
        assert!(p("{{ x + }}").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let src = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
        let e = p(&src).unwrap_err();
        assert!(e.message.contains("nesting"), "{e:?}");
    }
}
