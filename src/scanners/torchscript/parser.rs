//! Expressions and statements of TorchScript source, read tolerantly: a precedence-climbing
//! (Pratt) parser for expressions, and statements taken one logical line at a time with the
//! block structure read from indentation, as TorchScript's own parser
//! (`torch/csrc/jit/frontend/parser.cpp`, a Python subset) does.
//!
//! Tolerance is one-sided: a token the parser does not understand is skipped and parsing
//! starts again right after it, so every name in the text still ends up in some expression.
//! A statement nested deeper than `MAX_DEPTH` is marked `deep`; the analysis then also scans
//! its tokens flat, so nesting cannot hide a name either. What a name means is `analysis.rs`'s
//! job.

use super::lexer::{Line, Tok, Token};

/// Nesting of expressions followed before a statement is marked `deep`.
pub const MAX_DEPTH: u32 = 100;

/// An expression. Offsets are bytes of the member, for reporting.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr<'a> {
    Name(Token<'a>),
    /// Adjacent string literals (implicitly concatenated).
    Str(Vec<Token<'a>>),
    /// Numbers (with their token) and constants (`None`, `True`, `...`).
    Const(Option<Token<'a>>),
    Attr {
        base: Box<Expr<'a>>,
        name: Token<'a>,
    },
    Call {
        callee: Box<Expr<'a>>,
        args: Vec<Arg<'a>>,
        start: usize,
        end: usize,
    },
    Subscript {
        base: Box<Expr<'a>>,
        index: Vec<Arg<'a>>,
    },
    /// Tuple and list displays (`(a, b)`, `[a, b]`).
    Seq(Vec<Arg<'a>>),
    /// `then if test else otherwise`, `a or b`, `a and b`: the value is one of `values`.
    Either {
        values: Vec<Expr<'a>>,
        others: Vec<Expr<'a>>,
    },
    /// Any other operation (arithmetic, comparisons, dicts, sets, a `.name` with no base):
    /// its parts are evaluated, its value is unknown.
    Op(Vec<Expr<'a>>),
}

/// An element of an argument list or a display.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Pos(Expr<'a>),
    /// `name=value`, `*args`, `**kwargs`, and the pieces of slices and comprehensions.
    Other(Expr<'a>),
}

impl<'a> Arg<'a> {
    pub fn expr(&self) -> &Expr<'a> {
        match self {
            Arg::Pos(e) | Arg::Other(e) => e,
        }
    }
}

/// One statement, with the indentation of its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt<'a> {
    pub indent: usize,
    pub kind: StmtKind<'a>,
    /// Expressions of the statement nested deeper than `MAX_DEPTH` (they were not fully
    /// parsed; the analysis scans these tokens flat).
    pub deep: Option<Vec<Token<'a>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind<'a> {
    /// `def name(params) -> ret:`; `exprs` are the defaults and annotations.
    Def {
        params: Vec<&'a str>,
        exprs: Vec<Expr<'a>>,
    },
    /// `class Name(bases):`, and the other lines that only hold expressions to evaluate.
    Exprs(Vec<Expr<'a>>),
    /// `import a.b` / `from a.b import c`: the module path.
    Import { path: Vec<&'a str>, start: usize },
    /// `t1 = t2 = value`, `t: ann = value`, `t += value`.
    Assign {
        targets: Vec<Expr<'a>>,
        value: Expr<'a>,
        /// Augmented (`+=`): the targets keep their value and gain an unknown one.
        augmented: bool,
        exprs: Vec<Expr<'a>>,
    },
    /// Names bound to values the analysis does not follow (`for x in ...`, `with ... as x`).
    Bind {
        targets: Vec<Expr<'a>>,
        exprs: Vec<Expr<'a>>,
    },
}

struct P<'t, 'a> {
    toks: &'t [Token<'a>],
    i: usize,
    depth: u32,
    deep: bool,
}

const AUGMENTED: &[&str] = &[
    "+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=", ">>=", "<<=", "@=",
];

/// Binding power of an infix operator at the current token.
fn infix_bp(t: &Token<'_>, next: Option<&Token<'_>>) -> Option<(u8, usize)> {
    let bp = match (t.kind, t.text) {
        (Tok::Name, "if") => 1,
        (Tok::Name, "or") => 2,
        (Tok::Name, "and") => 3,
        (Tok::Name, "in") => 5,
        (Tok::Name, "is") => {
            return Some((
                5,
                if next.is_some_and(|n| n.is_name("not")) {
                    2
                } else {
                    1
                },
            ));
        }
        (Tok::Name, "not") if next.is_some_and(|n| n.is_name("in")) => return Some((5, 2)),
        (Tok::Op, "==" | "!=" | "<" | ">" | "<=" | ">=") => 5,
        (Tok::Op, "|") => 6,
        (Tok::Op, "^") => 7,
        (Tok::Op, "&") => 8,
        (Tok::Op, "<<" | ">>") => 9,
        (Tok::Op, "+" | "-") => 10,
        (Tok::Op, "*" | "/" | "//" | "%" | "@") => 11,
        (Tok::Op, "**") => 13,
        _ => return None,
    };
    Some((bp, 1))
}

fn is_closer(t: &Token<'_>) -> bool {
    t.kind == Tok::Op && matches!(t.text, ")" | "]" | "}")
}

impl<'t, 'a> P<'t, 'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.toks.get(self.i)
    }

    fn peek_at(&self, k: usize) -> Option<&Token<'a>> {
        self.toks.get(self.i + k)
    }

    fn expr(&mut self, min_bp: u8) -> Option<Expr<'a>> {
        if self.depth >= MAX_DEPTH {
            self.deep = true;
            return None;
        }
        self.depth += 1;
        let e = self.expr_inner(min_bp);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, min_bp: u8) -> Option<Expr<'a>> {
        let mut lhs = self.prefix()?;
        while let Some(t) = self.peek().copied() {
            // Postfix: attribute, call, subscript.
            if t.is_op(".") {
                match self.peek_at(1).copied() {
                    Some(n) if n.kind == Tok::Name => {
                        self.i += 2;
                        lhs = Expr::Attr {
                            base: Box::new(lhs),
                            name: n,
                        };
                        continue;
                    }
                    _ => break,
                }
            }
            if t.is_op("(") {
                self.i += 1;
                let args = self.list();
                let end = self
                    .toks
                    .get(self.i.saturating_sub(1))
                    .map_or(t.start, |c| c.start.saturating_add(c.text.len()));
                lhs = Expr::Call {
                    callee: Box::new(lhs),
                    args,
                    start: t.start,
                    end,
                };
                continue;
            }
            if t.is_op("[") {
                self.i += 1;
                let index = self.list();
                lhs = Expr::Subscript {
                    base: Box::new(lhs),
                    index,
                };
                continue;
            }
            let Some((bp, width)) = infix_bp(&t, self.peek_at(1)) else {
                break;
            };
            if bp < min_bp {
                break;
            }
            self.i += width;
            if t.is_name("if") {
                let test = self.expr(2);
                let otherwise = if self.peek().is_some_and(|t| t.is_name("else")) {
                    self.i += 1;
                    self.expr(1)
                } else {
                    None
                };
                let mut values = vec![lhs];
                values.extend(otherwise);
                lhs = Expr::Either {
                    values,
                    others: test.into_iter().collect(),
                };
                continue;
            }
            // `**` is right-associative; the others are left-associative.
            let next_bp = if t.is_op("**") { bp } else { bp + 1 };
            let rhs = self.expr(next_bp);
            lhs = if t.is_name("or") || t.is_name("and") {
                Expr::Either {
                    values: std::iter::once(lhs).chain(rhs).collect(),
                    others: Vec::new(),
                }
            } else {
                Expr::Op(std::iter::once(lhs).chain(rhs).collect())
            };
        }
        Some(lhs)
    }

    fn prefix(&mut self) -> Option<Expr<'a>> {
        let t = *self.peek()?;
        match t.kind {
            Tok::Name => match t.text {
                "not" => {
                    self.i += 1;
                    Some(Expr::Op(self.expr(4).into_iter().collect()))
                }
                "None" | "True" | "False" => {
                    self.i += 1;
                    Some(Expr::Const(None))
                }
                // Keywords that cannot start an expression end it (the caller skips them).
                "if" | "else" | "for" | "in" | "is" | "and" | "or" | "lambda" | "def" | "class"
                | "return" | "import" | "from" | "as" | "while" | "with" | "elif" | "yield"
                | "await" | "assert" | "raise" | "del" | "pass" | "break" | "continue"
                | "global" | "nonlocal" => None,
                _ => {
                    self.i += 1;
                    Some(Expr::Name(t))
                }
            },
            Tok::Str => {
                let mut parts = Vec::new();
                while let Some(s) = self.peek().copied().filter(|s| s.kind == Tok::Str) {
                    parts.push(s);
                    self.i += 1;
                }
                Some(Expr::Str(parts))
            }
            Tok::Num => {
                self.i += 1;
                Some(Expr::Const(Some(t)))
            }
            Tok::Op => match t.text {
                "(" => {
                    self.i += 1;
                    let items = self.list();
                    let single = items.len() == 1
                        && matches!(items.first(), Some(Arg::Pos(_)))
                        && !self.had_trailing_comma(t.start);
                    if single {
                        items.into_iter().next().map(|a| match a {
                            Arg::Pos(e) | Arg::Other(e) => e,
                        })
                    } else {
                        Some(Expr::Seq(items))
                    }
                }
                "[" => {
                    self.i += 1;
                    Some(Expr::Seq(self.list()))
                }
                "{" => {
                    self.i += 1;
                    Some(Expr::Op(self.list().into_iter().map(arg_expr).collect()))
                }
                "-" | "+" | "~" | "*" | "**" => {
                    self.i += 1;
                    Some(Expr::Op(self.expr(12).into_iter().collect()))
                }
                "..." => {
                    self.i += 1;
                    Some(Expr::Const(None))
                }
                // `.name` with nothing before it: an attribute of something unknown.
                "." => match self.peek_at(1).copied() {
                    Some(n) if n.kind == Tok::Name => {
                        self.i += 2;
                        Some(Expr::Attr {
                            base: Box::new(Expr::Op(Vec::new())),
                            name: n,
                        })
                    }
                    _ => None,
                },
                _ => None,
            },
        }
    }

    /// Whether the group opened at byte `open` ended with `,)` (a one-element tuple).
    fn had_trailing_comma(&self, open: usize) -> bool {
        let close = self.i.checked_sub(1).and_then(|k| self.toks.get(k));
        let before = self.i.checked_sub(2).and_then(|k| self.toks.get(k));
        close.is_some_and(|c| c.is_op(")"))
            && before.is_some_and(|b| b.is_op(",") && b.start > open)
    }

    /// The elements up to the closing bracket (consumed when it is there). Keyword
    /// arguments, stars, slices and comprehension clauses are kept as `Arg::Other`.
    fn list(&mut self) -> Vec<Arg<'a>> {
        let mut out = Vec::new();
        let mut other = false;
        while let Some(t) = self.peek().copied() {
            if is_closer(&t) {
                self.i += 1;
                break;
            }
            if t.is_op(",") {
                other = false;
                self.i += 1;
                continue;
            }
            if t.kind == Tok::Name
                && self.peek_at(1).is_some_and(|n| n.is_op("="))
                && !matches!(t.text, "if" | "else")
            {
                other = true;
                self.i += 2;
                continue;
            }
            if t.kind == Tok::Op && matches!(t.text, ":" | "*" | "**" | "=") {
                other = true;
                self.i += 1;
                continue;
            }
            if t.kind == Tok::Name && matches!(t.text, "for" | "in" | "if" | "else" | "async") {
                other = true;
                self.i += 1;
                continue;
            }
            let before = self.i;
            match self.expr(0) {
                Some(e) if other => out.push(Arg::Other(e)),
                Some(e) => out.push(Arg::Pos(e)),
                None => {
                    if self.i == before {
                        self.i += 1;
                    }
                }
            }
        }
        out
    }

    /// Every expression of `toks` (commas at the top level separate them; anything not
    /// understood is skipped).
    fn all(&mut self) -> Vec<Expr<'a>> {
        let mut out = Vec::new();
        while self.i < self.toks.len() {
            let before = self.i;
            if let Some(e) = self.expr(0) {
                out.push(e);
            }
            if self.i == before {
                self.i += 1;
            }
        }
        out
    }
}

fn arg_expr(a: Arg<'_>) -> Expr<'_> {
    match a {
        Arg::Pos(e) | Arg::Other(e) => e,
    }
}

/// The expressions of a token slice, and whether nesting cut the parse short.
pub fn parse_exprs<'a>(toks: &[Token<'a>]) -> (Vec<Expr<'a>>, bool) {
    let mut p = P {
        toks,
        i: 0,
        depth: 0,
        deep: false,
    };
    let e = p.all();
    (e, p.deep)
}

/// The value of a token slice from its expressions: one expression, or a tuple when commas
/// separate several.
fn as_value<'a>(mut items: Vec<Expr<'a>>, toks: &[Token<'a>]) -> Expr<'a> {
    let comma = top_level(toks, |t| t.is_op(",")).next().is_some();
    if items.len() == 1 && !comma {
        items.pop().unwrap_or(Expr::Const(None))
    } else {
        Expr::Seq(items.into_iter().map(Arg::Pos).collect())
    }
}

/// Indexes of the tokens outside brackets that satisfy `f`.
fn top_level<'t, 'a>(
    toks: &'t [Token<'a>],
    f: impl Fn(&Token<'a>) -> bool + 't,
) -> impl Iterator<Item = usize> + 't {
    let mut depth = 0usize;
    toks.iter().enumerate().filter_map(move |(i, t)| {
        if t.kind == Tok::Op {
            match t.text {
                "(" | "[" | "{" => depth = depth.saturating_add(1),
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        (depth == 0 && f(t)).then_some(i)
    })
}

fn split_at_top<'t, 'a>(
    toks: &'t [Token<'a>],
    f: impl Fn(&Token<'a>) -> bool,
) -> Vec<&'t [Token<'a>]> {
    let cuts: Vec<usize> = top_level(toks, f).collect();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for c in cuts {
        out.push(toks.get(start..c).unwrap_or_default());
        start = c + 1;
    }
    out.push(toks.get(start..).unwrap_or_default());
    out
}

/// The statements of `lines` (one-line compound statements such as `if x: return y` give
/// two, the second one indented deeper).
pub fn statements<'a>(lines: &[Line<'a>]) -> Vec<Stmt<'a>> {
    let mut out: Vec<Stmt<'a>> = Vec::new();
    for l in lines {
        let indent = match out.last() {
            Some(prev) if l.after_semicolon => prev.indent,
            _ => l.indent,
        };
        statement(indent, &l.toks, &mut out);
    }
    out
}

fn statement<'a>(indent: usize, toks: &[Token<'a>], out: &mut Vec<Stmt<'a>>) {
    let Some(first) = toks.first() else {
        return;
    };
    let mut deep_toks = false;
    let mut parse = |toks: &[Token<'a>]| {
        let (e, deep) = parse_exprs(toks);
        deep_toks |= deep;
        e
    };
    let header_kw = first.kind == Tok::Name
        && matches!(
            first.text,
            "def"
                | "class"
                | "if"
                | "elif"
                | "else"
                | "while"
                | "for"
                | "with"
                | "try"
                | "except"
                | "finally"
        );
    // A compound statement's header ends at its first top-level `:`; what follows on the
    // same line is its body (`:` inside a def's brackets or annotations is not top-level,
    // but a return annotation could hold a slice only inside brackets).
    let (head, body): (&[Token<'a>], &[Token<'a>]) = if header_kw {
        let colon = if first.is_name("def") {
            // The `:` after the parameters' closing bracket (and the return annotation).
            let close = top_level(toks, |t| t.is_op(")")).next();
            top_level(toks, |t| t.is_op(":")).find(|&c| close.is_none_or(|k| c > k))
        } else {
            top_level(toks, |t| t.is_op(":")).next()
        };
        match colon {
            Some(c) => (
                toks.get(..c).unwrap_or_default(),
                toks.get(c + 1..).unwrap_or_default(),
            ),
            None => (toks, &[]),
        }
    } else {
        (toks, &[])
    };
    let rest = head.get(1..).unwrap_or_default();
    let kind = match (first.kind, first.text) {
        (Tok::Name, "def") => {
            let (params, exprs) = def_params(rest, &mut parse);
            StmtKind::Def { params, exprs }
        }
        (Tok::Name, "import" | "from") => StmtKind::Import {
            path: dotted(rest),
            start: first.start,
        },
        (Tok::Name, "for") => {
            let parts = split_at_top(rest, |t| t.is_name("in"));
            let targets = parts.first().map(|p| parse(p)).unwrap_or_default();
            let mut exprs = Vec::new();
            for p in parts.iter().skip(1) {
                exprs.extend(parse(p));
            }
            StmtKind::Bind { targets, exprs }
        }
        (Tok::Name, "with") => {
            let mut targets = Vec::new();
            let mut exprs = Vec::new();
            for item in split_at_top(rest, |t| t.is_op(",")) {
                let parts = split_at_top(item, |t| t.is_name("as"));
                if let Some(p) = parts.first() {
                    exprs.extend(parse(p));
                }
                for p in parts.iter().skip(1) {
                    targets.extend(parse(p));
                }
            }
            StmtKind::Bind { targets, exprs }
        }
        // The class name is a definition, not a reference: only the bases are evaluated.
        (Tok::Name, "class") => StmtKind::Exprs(parse(rest.get(1..).unwrap_or_default())),
        (Tok::Name, kw) if header_kw || is_simple_keyword(kw) => StmtKind::Exprs(parse(rest)),
        _ => assignment(head, &mut parse),
    };
    let deep = deep_toks.then(|| toks.to_vec());
    out.push(Stmt { indent, kind, deep });
    if !body.is_empty() {
        statement(indent.saturating_add(1), body, out);
    }
}

fn is_simple_keyword(kw: &str) -> bool {
    matches!(
        kw,
        "return"
            | "assert"
            | "raise"
            | "del"
            | "pass"
            | "break"
            | "continue"
            | "global"
            | "nonlocal"
            | "yield"
            | "await"
    )
}

/// `name(params) -> ret`: the parameter names, and their defaults and annotations.
fn def_params<'a>(
    rest: &[Token<'a>],
    parse: &mut impl FnMut(&[Token<'a>]) -> Vec<Expr<'a>>,
) -> (Vec<&'a str>, Vec<Expr<'a>>) {
    let mut params = Vec::new();
    let mut exprs = Vec::new();
    let open = rest.iter().position(|t| t.is_op("("));
    let close = open.and_then(|o| {
        let inner = rest.get(o + 1..).unwrap_or_default();
        top_level(inner, |t| t.is_op(")")).next().map(|c| o + 1 + c)
    });
    let (Some(o), Some(c)) = (open, close) else {
        exprs.extend(parse(rest.get(1..).unwrap_or_default()));
        return (params, exprs);
    };
    for p in split_at_top(rest.get(o + 1..c).unwrap_or_default(), |t| t.is_op(",")) {
        let p = match p.first() {
            Some(t) if t.is_op("*") || t.is_op("**") => p.get(1..).unwrap_or_default(),
            _ => p,
        };
        if let Some(n) = p.first().filter(|t| t.kind == Tok::Name) {
            params.push(n.text);
            exprs.extend(parse(p.get(1..).unwrap_or_default()));
        } else {
            exprs.extend(parse(p));
        }
    }
    exprs.extend(parse(rest.get(c + 1..).unwrap_or_default()));
    (params, exprs)
}

fn dotted<'a>(toks: &[Token<'a>]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if t.kind != Tok::Name {
            break;
        }
        out.push(t.text);
        if toks.get(i + 1).is_some_and(|d| d.is_op(".")) {
            i += 2;
        } else {
            break;
        }
    }
    out
}

fn assignment<'a>(
    toks: &[Token<'a>],
    parse: &mut impl FnMut(&[Token<'a>]) -> Vec<Expr<'a>>,
) -> StmtKind<'a> {
    if let Some(k) = top_level(toks, |t| t.kind == Tok::Op && AUGMENTED.contains(&t.text)).next() {
        let targets = parse(toks.get(..k).unwrap_or_default());
        let exprs = parse(toks.get(k + 1..).unwrap_or_default());
        return StmtKind::Assign {
            targets,
            value: Expr::Op(Vec::new()),
            augmented: true,
            exprs,
        };
    }
    let parts = split_at_top(toks, |t| t.is_op("="));
    let mut parts = parts.into_iter();
    let Some(last) = parts.next_back() else {
        return StmtKind::Exprs(Vec::new());
    };
    let lhs: Vec<&[Token<'a>]> = parts.collect();
    // `t: ann` (with or without a value): the annotation is an expression to evaluate.
    let mut exprs = Vec::new();
    let split_ann = |p: &[Token<'a>]| -> Option<usize> { top_level(p, |t| t.is_op(":")).next() };
    if lhs.is_empty() {
        if let Some(c) = split_ann(last) {
            exprs.extend(parse(last.get(c + 1..).unwrap_or_default()));
            let targets = parse(last.get(..c).unwrap_or_default());
            return StmtKind::Bind { targets, exprs };
        }
        return StmtKind::Exprs(parse(last));
    }
    let value = as_value(parse(last), last);
    let mut targets = Vec::new();
    for p in lhs {
        let p = match split_ann(p) {
            Some(c) => {
                exprs.extend(parse(p.get(c + 1..).unwrap_or_default()));
                p.get(..c).unwrap_or_default()
            }
            None => p,
        };
        let t = as_value(parse(p), p);
        targets.push(t);
    }
    StmtKind::Assign {
        targets,
        value,
        augmented: false,
        exprs,
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lines;
    use super::*;

    fn stmts(src: &str) -> Vec<Stmt<'_>> {
        statements(&lines(src))
    }

    fn name<'a>(e: &Expr<'a>) -> String {
        match e {
            Expr::Name(t) => t.text.to_string(),
            Expr::Attr { base, name: n } => format!("{}.{}", name(base), n.text),
            Expr::Call { callee, .. } => format!("{}()", name(callee)),
            _ => "?".to_string(),
        }
    }

    #[test]
    fn parentheses_group_and_postfix_chains_nest() {
        let (e, deep) = parse_exprs(&lines("((torch).from_file)(a, b=1)")[0].toks);
        assert!(!deep);
        let [Expr::Call { callee, args, .. }] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(name(callee), "torch.from_file");
        assert_eq!(args.len(), 2);
        assert!(matches!(args[1], Arg::Other(_)));
    }

    #[test]
    fn statements_are_classified() {
        let s = stmts(
            "def f(self, x: Tensor=torch.ones(1)) -> Tensor:\n  a = b = torch\n  t : int = 1\n  for i in range(3): a.save(x)\n  return a\n",
        );
        assert!(
            matches!(&s[0].kind, StmtKind::Def { params, exprs } if params == &["self", "x"] && exprs.len() == 3)
        );
        assert!(matches!(&s[1].kind, StmtKind::Assign { targets, .. } if targets.len() == 2));
        assert!(
            matches!(&s[2].kind, StmtKind::Assign { targets, exprs, .. } if targets.len() == 1 && exprs.len() == 1)
        );
        assert!(matches!(&s[3].kind, StmtKind::Bind { .. }));
        assert_eq!(s[4].indent, 3);
        assert!(matches!(&s[4].kind, StmtKind::Exprs(e) if name(&e[0]) == "a.save()"));
        assert!(matches!(&s[5].kind, StmtKind::Exprs(_)));
    }

    #[test]
    fn unknown_tokens_are_skipped_without_losing_what_follows() {
        let (e, _) = parse_exprs(&lines("$ lambda: ? torch.save(x) )) ops.aten.load(p)")[0].toks);
        let names: Vec<String> = e.iter().map(name).collect();
        assert!(names.contains(&"torch.save()".to_string()), "{names:?}");
        assert!(names.contains(&"ops.aten.load()".to_string()), "{names:?}");
    }

    #[test]
    fn nesting_past_the_limit_marks_the_statement_deep() {
        let src = format!("x = {}torch.save(y){}", "(".repeat(300), ")".repeat(300));
        let s = stmts(&src);
        assert!(s[0].deep.is_some());
    }
}
