//! The formatter: one canonical layout for every rule file.
//!
//! It keeps every comment (a comment inside a literal moves to the line before
//! it), keeps at most one blank line where the source had any, and is
//! idempotent. Numbers and strings are printed as written.
//!
//! ```
//! let messy = "ancestor(X,Z):-parent(X,Y),ancestor(Y,Z).   // recursive\n\n\n?-ancestor(alice,W).";
//! let formatted = nesy_lang::format_source(messy).unwrap();
//! assert_eq!(
//!     formatted,
//!     "ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z). // recursive\n\n?- ancestor(alice, W).\n"
//! );
//! assert_eq!(nesy_lang::format_source(&formatted).unwrap(), formatted);
//! ```

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::parser::parse;

/// Rule bodies longer than this go one literal per line.
pub const MAX_WIDTH: usize = 100;
const INDENT: usize = 4;

/// Formats a source text; a text with syntax errors is not formatted.
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = parse(source);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    Ok(format_program(&parsed.program, source))
}

/// Formats a parsed program; `source` is the text it was parsed from (for
/// blank lines and comment placement).
pub fn format_program(program: &Program, source: &str) -> String {
    let mut printer = Printer {
        source,
        comments: &program.comments,
        next_comment: 0,
        out: String::new(),
    };
    let nodes: Vec<Node<'_>> = program
        .items
        .iter()
        .filter(|i| !matches!(i, Item::Clause(c) if later_head(c)))
        .map(Node::Item)
        .collect();
    printer.sequence(&nodes, source.len(), 0, None);
    printer.out
}

enum Node<'a> {
    Item(&'a Item),
    Entry(&'a TestEntry),
    Clause(&'a Clause),
}

impl Node<'_> {
    fn span(&self) -> Span {
        match self {
            Node::Item(i) => i.span(),
            Node::Entry(TestEntry::Given(g)) => g.span,
            Node::Entry(TestEntry::Expect(e)) => e.span,
            Node::Clause(c) => c.span,
        }
    }
}

struct Printer<'a> {
    source: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: String,
}

impl Printer<'_> {
    /// The next unprinted comment, if it starts before `limit`.
    fn take_comment_before(&mut self, limit: usize) -> Option<Comment> {
        let c = self.comments.get(self.next_comment)?;
        if c.span.start < limit {
            self.next_comment += 1;
            Some(c.clone())
        } else {
            None
        }
    }

    /// The next comment, if it starts on the line where `end` is, before `limit`.
    fn take_trailing(&mut self, end: usize, limit: usize) -> Option<Comment> {
        let c = self.comments.get(self.next_comment)?;
        let gap = self.source.get(end..c.span.start)?;
        if c.span.start >= end && c.span.start < limit && !gap.contains('\n') {
            self.next_comment += 1;
            Some(c.clone())
        } else {
            None
        }
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.source
            .get(from..to)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn indent(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn line(&mut self, indent: usize, text: &str) {
        self.indent(indent);
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Prints nodes one after another with their comments; `end` bounds the
    /// comments that belong to this sequence.
    fn sequence(&mut self, nodes: &[Node<'_>], end: usize, indent: usize, mut prev: Option<usize>) {
        for (i, node) in nodes.iter().enumerate() {
            let span = node.span();
            let limit = nodes.get(i + 1).map_or(end, |next| next.span().start);
            while let Some(c) = self.take_comment_before(span.start) {
                self.separate(prev, c.span.start);
                self.line(indent, &c.text);
                prev = Some(c.span.end);
            }
            self.separate(prev, span.start);
            self.node(node, indent);
            prev = Some(span.end);
            if let Some(c) = self.take_trailing(span.end, limit) {
                self.out.push(' ');
                self.out.push_str(&c.text);
                prev = Some(c.span.end);
            }
            self.out.push('\n');
        }
        while let Some(c) = self.take_comment_before(end) {
            self.separate(prev, c.span.start);
            self.line(indent, &c.text);
            prev = Some(c.span.end);
        }
    }

    /// A blank line if the source had one between `prev` and `next`.
    fn separate(&mut self, prev: Option<usize>, next: usize) {
        if let Some(prev) = prev
            && self.blank_between(prev, next)
        {
            self.out.push('\n');
        }
    }

    /// Prints a node without its final newline.
    fn node(&mut self, node: &Node<'_>, indent: usize) {
        match node {
            Node::Item(Item::Clause(c)) => self.clause(c, indent),
            Node::Clause(c) => self.clause(c, indent),
            Node::Item(Item::Test(t)) => self.test_block(t, indent),
            Node::Item(Item::Query(q)) => {
                self.body_layout("?-".to_string(), &q.body, q.span, indent);
            }
            Node::Entry(TestEntry::Given(g)) => {
                self.indent(indent);
                self.out.push_str("given {");
                let clauses: Vec<Node<'_>> = g
                    .clauses
                    .iter()
                    .filter(|c| !later_head(c))
                    .map(Node::Clause)
                    .collect();
                self.block(&clauses, g.span, indent);
            }
            Node::Entry(TestEntry::Expect(e)) => {
                self.hoist_comments(e.span.end, indent);
                self.indent(indent);
                if e.negated {
                    self.out.push_str("not ");
                }
                match &e.probability {
                    Some(p) => {
                        self.out
                            .push_str(&format!("prob({}) = {}", atom(&e.atom), p.text));
                        if let Some(t) = &p.tolerance_text {
                            self.out.push_str(&format!(" +- {t}"));
                        }
                    }
                    None => self.out.push_str(&atom(&e.atom)),
                }
                self.out.push('.');
            }
            Node::Item(other) => {
                self.hoist_comments(other.span().end, indent);
                self.indent(indent);
                self.out.push_str(&directive(other));
            }
        }
    }

    /// Comments inside a node that has no place for them go before it.
    fn hoist_comments(&mut self, end: usize, indent: usize) {
        while let Some(c) = self.take_comment_before(end) {
            self.line(indent, &c.text);
        }
    }

    /// `{` already printed: the children, then `}`.
    fn block(&mut self, children: &[Node<'_>], span: Span, indent: usize) {
        let has_comments = self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < span.end);
        if children.is_empty() && !has_comments {
            self.out.push('}');
            return;
        }
        self.out.push('\n');
        self.sequence(children, span.end, indent + INDENT, None);
        self.indent(indent);
        self.out.push('}');
    }

    fn test_block(&mut self, t: &TestBlock, indent: usize) {
        self.indent(indent);
        self.out.push_str("@test ");
        self.out.push_str(&t.name.text);
        self.out.push_str(" {");
        let entries: Vec<Node<'_>> = t.entries.iter().map(Node::Entry).collect();
        self.block(&entries, t.span, indent);
    }

    fn clause(&mut self, c: &Clause, indent: usize) {
        if c.body.is_empty() {
            self.hoist_comments(c.span.end, indent);
        }
        if let Some(name) = &c.name {
            self.indent(indent);
            self.out.push_str(&format!("@name({})\n", name.text));
        }
        let head = |probability: &Option<Probability>, head: &Atom| match probability {
            Some(p) => format!("{} :: {}", p.text, atom(head)),
            None => atom(head),
        };
        let mut lead = match &c.choice {
            Some(choice) => choice
                .heads
                .iter()
                .map(|a| head(&a.probability, &a.head))
                .collect::<Vec<_>>()
                .join("; "),
            None => head(&c.probability, &c.head),
        };
        if c.body.is_empty() {
            self.indent(indent);
            self.out.push_str(&lead);
            self.out.push('.');
        } else {
            lead.push_str(" :-");
            self.body_layout(lead, &c.body, c.span, indent);
        }
    }

    /// `lead lit, lit.` on one line if it fits and has no comments inside,
    /// else one literal per line.
    fn body_layout(&mut self, lead: String, body: &[Literal], span: Span, indent: usize) {
        let literals: Vec<String> = body.iter().map(literal).collect();
        let one_line = format!("{lead} {}.", literals.join(", "));
        let has_comments = self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < span.end);
        if !has_comments && indent + one_line.len() <= MAX_WIDTH {
            self.indent(indent);
            self.out.push_str(&one_line);
            return;
        }
        self.indent(indent);
        self.out.push_str(&lead);
        let inner = indent + INDENT;
        let count = literals.len();
        for (i, (text, lit)) in literals.iter().zip(body).enumerate() {
            self.out.push('\n');
            let lit_span = lit.span();
            while let Some(c) = self.take_comment_before(lit_span.end) {
                self.line(inner, &c.text);
            }
            self.indent(inner);
            self.out.push_str(text);
            self.out.push(if i + 1 == count { '.' } else { ',' });
            let limit = body.get(i + 1).map_or(span.end, |next| next.span().start);
            while let Some(c) = self.take_trailing(lit_span.end, limit) {
                self.out.push(' ');
                self.out.push_str(&c.text);
            }
            // Comments between this literal's line and the next literal (or
            // the final `.`) go on their own lines.
            if i + 1 == count {
                while let Some(c) = self.take_comment_before(span.end) {
                    self.out.push('\n');
                    self.indent(inner);
                    self.out.push_str(&c.text);
                }
            }
        }
    }
}

/// A head of an annotated disjunction after the first: the first prints
/// them all.
fn later_head(c: &Clause) -> bool {
    c.choice.as_ref().is_some_and(|choice| choice.position > 0)
}

fn directive(item: &Item) -> String {
    match item {
        Item::Prefix(p) => format!("@prefix {}: <{}>.", p.label.text, p.iri),
        Item::Import(i) => {
            let source = match &i.source {
                ImportSource::File(f) => f.text.clone(),
                ImportSource::Store(s) => format!("store({})", s.text),
                ImportSource::Sparql(q) => format!("sparql({})", q.text),
            };
            match &i.relation {
                Some(r) => format!("@import {} from {source}.", r.text),
                None => format!("@import {source}."),
            }
        }
        Item::Decl(d) => {
            let fields: Vec<String> = d
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name.text, f.ty.text))
                .collect();
            format!("@decl {}({}).", d.relation.text, fields.join(", "))
        }
        Item::Model(m) => format!("@model {} = {}.", m.name.text, m.path.text),
        Item::Input(i) => {
            let names: Vec<&str> = i.relations.iter().map(|r| r.text.as_str()).collect();
            format!("@input {}.", names.join(", "))
        }
        // Clauses, queries and tests are laid out by the printer.
        Item::Clause(_) | Item::Query(_) | Item::Test(_) => String::new(),
    }
}

fn atom(a: &Atom) -> String {
    if a.args.is_empty() {
        a.relation.text.clone()
    } else {
        format!("{}({})", a.relation.text, args(&a.args))
    }
}

fn args(args: &[Expr]) -> String {
    args.iter().map(expr).collect::<Vec<_>>().join(", ")
}

fn model_call(m: &ModelCall) -> String {
    format!("{}.{}({})", m.model.text, m.method.text, args(&m.args))
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Atom(a) => atom(a),
        Literal::Negation(n) => match &n.target {
            NegationTarget::Atom(a) => format!("not {}", atom(a)),
            NegationTarget::ModelCall(m) => format!("not {}", model_call(m)),
        },
        Literal::Comparison(c) => format!("{} {} {}", expr(&c.lhs), c.op.as_str(), expr(&c.rhs)),
        Literal::Aggregate(a) => {
            let terms: Vec<String> = a.terms.iter().map(expr).collect();
            let body: Vec<String> = a.body.iter().map(literal).collect();
            format!(
                "{} = {} {{ {} : {} }}",
                a.result.name,
                a.function.as_str(),
                terms.join(", "),
                body.join(", ")
            )
        }
        Literal::ModelCall(m) => model_call(m),
    }
}

/// Prints an expression with the fewest parentheses that keep its tree.
fn expr(e: &Expr) -> String {
    match e {
        Expr::Var(v) => v.name.clone(),
        Expr::Const(c) => c.text.clone(),
        Expr::ModelCall(m) => model_call(m),
        Expr::Neg { inner, .. } => {
            // `--X` reads back as two negations; only a binary operand needs
            // parentheses (so nested negations add no nesting depth).
            let needs_parens = matches!(inner.as_ref(), Expr::Binary { .. });
            if needs_parens {
                format!("-({})", expr(inner))
            } else {
                format!("-{}", expr(inner))
            }
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            let side = |operand: &Expr, is_right: bool| {
                let text = expr(operand);
                match operand {
                    Expr::Binary { op: inner, .. }
                        if inner.precedence() < op.precedence()
                            || (is_right && inner.precedence() == op.precedence()) =>
                    {
                        format!("({text})")
                    }
                    _ => text,
                }
            };
            format!("{} {} {}", side(lhs, false), op.as_str(), side(rhs, true))
        }
    }
}
