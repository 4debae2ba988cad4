//! The pest parser and the builder of the typed tree.
//!
//! The file is read one top-level item at a time: after a syntax error the
//! parser skips to the end of the broken item (the next `.` at bracket depth
//! zero, or the closing `}` of a test block) and goes on, so one run reports
//! the problems of every item.
//!
//! ```
//! let parsed = nesy_lang::parse("p(a).\nq(X) :- p(X)\nr(b).");
//! assert_eq!(parsed.diagnostics.len(), 1); // the missing `.` after `p(X)`
//! assert_eq!(parsed.program.items.len(), 1); // `p(a).`; `q`..`r(b).` is skipped
//! ```

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer;
use pest::Parser;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::OnceLock;

#[allow(missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "nesy.pest"]
    pub struct NesyParser;
}

use grammar::{NesyParser, Rule};

/// Deepest nesting of parentheses and aggregates the builder accepts; deeper
/// input is an error rather than a risk to the stack.
const MAX_NESTING: usize = 64;

/// Most heads an annotated disjunction may have: head `i`'s events are the
/// `i` choices before it and its own, so the tags grow with the square of
/// the heads.
pub const MAX_DISJUNCTION_HEADS: usize = 1000;

/// Most operators in one expression: the tree of a longer one would be deep
/// enough to strain the stack of whatever walks it.
const MAX_OPERATORS: usize = 256;

/// The outcome of parsing: the items that parsed, and the syntax errors.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The program made of every item that parsed.
    pub program: Program,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Files at least this long are read an item at a time, plain facts
/// without pest (`facts.rs`); shorter ones in one pest parse.
pub(crate) const ITEM_BY_ITEM_FROM: usize = 256 * 1024;

/// Parses a whole source text. Never panics; problems are diagnostics.
pub fn parse(source: &str) -> Parsed {
    // Tracking every parse attempt (for "expected ..." messages) costs more
    // than the parse itself, so it is off (pest's default) but while an
    // item that failed is read again (`detailed_error`).
    if source.len() < ITEM_BY_ITEM_FROM
        && let Ok(pairs) = NesyParser::parse(Rule::program, source)
        && let Some(parsed) = build_program(pairs)
    {
        return parsed;
    }
    parse_items(source)
}

/// pest's error detail is one switch for the whole process: held by one
/// detailed re-read at a time, so that another thread's parse cannot turn
/// it off midway (it did: a diagnostic lost its "expected ..." words when
/// two files were checked at once).
static ERROR_DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The error of parsing `rest` as an item, with every attempt tracked.
fn detailed_error(rest: &str) -> Option<pest::error::Error<Rule>> {
    let _held = ERROR_DETAIL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pest::set_error_detail(true);
    let detailed = NesyParser::parse(Rule::item_at, rest).err();
    pest::set_error_detail(false);
    detailed
}

/// Item by item: plain facts by `facts::plain_fact`, the rest by pest; a
/// syntax error is reported and reading goes on after it.
pub(crate) fn parse_items(source: &str) -> Parsed {
    parse_items_with(source, true)
}

/// [`parse_items`], with plain facts read by pest too when `fast` is off
/// (what the fast reader is tested against).
pub(crate) fn parse_items_with(source: &str, fast: bool) -> Parsed {
    let mut parsed = Parsed::default();
    let mut pos = 0;
    while pos < source.len() {
        let Some(rest) = source.get(pos..) else { break };
        // Blanks between facts are most of the trivia of a large file.
        let blank = rest
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        pos += blank;
        let Some(rest) = source.get(pos..) else { break };
        if rest.starts_with('/') || rest.starts_with('\u{FEFF}') {
            pos += skip_trivia(rest, pos, &mut parsed.program.comments);
        }
        let Some(rest) = source.get(pos..).filter(|r| !r.is_empty()) else {
            break;
        };
        if fast && let Some((clause, len)) = crate::facts::plain_fact(rest, pos) {
            parsed.program.items.push(Item::Clause(clause));
            pos += len;
            continue;
        }
        match NesyParser::parse(Rule::item_at, rest) {
            Ok(pairs) => {
                let mut consumed = 0;
                for pair in pairs {
                    consumed = consumed.max(pair.as_span().end());
                    let builder = Builder { offset: pos };
                    builder.collect_comments(&pair, &mut parsed.program.comments);
                    match builder.items(pair) {
                        Ok(items) => parsed.program.items.extend(items),
                        Err(diagnostic) => parsed.diagnostics.push(*diagnostic),
                    }
                }
                if consumed == 0 {
                    // Cannot happen with this grammar (every item consumes
                    // input), but never loop forever on a surprise.
                    pos = lexer::recovery_point(source, pos, pos);
                } else {
                    pos += consumed;
                }
            }
            Err(_) => {
                let Some(error) = detailed_error(rest) else {
                    // Unreachable: the same input failed a moment ago.
                    pos = lexer::recovery_point(source, pos, pos);
                    continue;
                };
                let diagnostic = syntax_error(source, pos, &error);
                let error_at = diagnostic.span.start;
                parsed.diagnostics.push(diagnostic);
                pos = lexer::recovery_point(source, pos, error_at);
            }
        }
    }
    parsed.program.comments.sort_by_key(|c| c.span.start);
    parsed.program.comments.dedup_by_key(|c| c.span.start);
    parsed
}

/// Builds a whole program parsed in one go; `None` if an item fails to
/// build (then the item-by-item path reports it with the others).
fn build_program(pairs: pest::iterators::Pairs<'_, Rule>) -> Option<Parsed> {
    let builder = Builder { offset: 0 };
    let mut parsed = Parsed::default();
    for pair in pairs {
        match pair.as_rule() {
            Rule::EOI => {}
            Rule::COMMENT => builder.collect_comments(&pair, &mut parsed.program.comments),
            _ => {
                builder.collect_comments(&pair, &mut parsed.program.comments);
                parsed.program.items.extend(builder.items(pair).ok()?);
            }
        }
    }
    parsed.program.comments.sort_by_key(|c| c.span.start);
    parsed.program.comments.dedup_by_key(|c| c.span.start);
    Some(parsed)
}

/// Skips whitespace and comments, recording the comments; returns bytes skipped.
fn skip_trivia(rest: &str, offset: usize, comments: &mut Vec<Comment>) -> usize {
    match NesyParser::parse(Rule::trivia, rest) {
        Ok(pairs) => {
            let mut end = 0;
            for pair in pairs {
                end = end.max(pair.as_span().end());
                Builder { offset }.collect_comments(&pair, comments);
            }
            end
        }
        Err(_) => 0,
    }
}

/// Turns a pest error into a located diagnostic with what was expected.
fn syntax_error(source: &str, item_start: usize, error: &pest::error::Error<Rule>) -> Diagnostic {
    let relative = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let at = item_start + relative;
    // A string, comment or IRI left open explains the error better than the
    // token that was expected at the end of the file.
    if let Some(open) = lexer::unterminated(source, item_start, at) {
        return open;
    }
    let expected = expected_alternatives(error);
    let alternatives = join_alternatives(&expected);
    let rest = source.get(at..).unwrap_or("");
    let found = rest.chars().next();
    if found == Some('@') {
        let word: String = rest
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let known = ["prefix", "import", "decl", "model", "input", "name", "test"];
        if !word.is_empty() && !known.contains(&word.as_str()) {
            return Diagnostic::error(
                "syntax",
                Span::new(at, at + 1 + word.len()),
                format!("unknown directive `@{word}`"),
            )
            .with_label("not a directive")
            .with_help(
                "the directives are @prefix, @import, @decl, @model, @input, @name(...) and @test",
            );
        }
    }
    // When the offending token starts a new line, the mistake is almost
    // always at the end of the line before (a missing `.` or `)`): point there.
    let before = source.get(item_start..at).unwrap_or("");
    let trimmed = before.trim_end();
    if found.is_some()
        && before.len() > trimmed.len()
        && before[trimmed.len()..].contains('\n')
        && !trimmed.is_empty()
    {
        let end = item_start + trimmed.len();
        let last = trimmed.chars().next_back().map_or(1, char::len_utf8);
        let message = if expected.is_empty() {
            "unexpected end of line".to_string()
        } else {
            format!("expected {alternatives} at the end of this line")
        };
        return Diagnostic::error("syntax", Span::new(end - last, end), message)
            .with_label(format!("expected {alternatives} after this"))
            .with_help("every fact, rule, query and directive ends with `.`");
    }
    let (found_text, width) = match found {
        None => ("end of file".to_string(), 0),
        Some(c) if c.is_whitespace() || c.is_control() => {
            (format!("character U+{:04X}", u32::from(c)), c.len_utf8())
        }
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {alternatives}, found {found_text}")
    };
    let label = if expected.is_empty() {
        "unexpected here".to_string()
    } else {
        format!("expected {alternatives}")
    };
    let d = Diagnostic::error("syntax", Span::new(at, at + width), message).with_label(label);
    match neighbour_syntax(source, item_start, at) {
        Some(help) => d.with_help(help),
        None => d,
    }
}

/// A hint when the text at a syntax error is how a neighbouring language
/// (Prolog, Soufflé, most programming languages) says what nesy says
/// otherwise.
fn neighbour_syntax(source: &str, item_start: usize, at: usize) -> Option<String> {
    let rest = source.get(at..)?;
    let before = source.get(item_start..at)?.trim_end();
    // The literal after a negation sign, for the hint's example.
    let negated = |sign: &str| {
        let literal = literal_text(rest.get(sign.len()..)?.trim_start());
        Some(if literal.is_empty() {
            "p(X)".to_string()
        } else {
            literal
        })
    };
    if rest.starts_with("\\+") {
        let literal = negated("\\+")?;
        return Some(format!(
            "negation is written `not {literal}` (Prolog's `\\+ {literal}`)"
        ));
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        let literal = negated("!")?;
        return Some(format!(
            "negation is written `not {literal}`, not `!{literal}`"
        ));
    }
    let word_before: &str = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    if rest.starts_with(':') && ["count", "sum", "min", "max", "mean"].contains(&word_before) {
        return Some(format!(
            "write `{word_before} {{ X : ... }}`, naming what the aggregate is over before `:` (Soufflé's `{word_before} : {{ ... }}`)"
        ));
    }
    if let Some(after) = rest.strip_prefix("is")
        && after.starts_with(char::is_whitespace)
        && word_before.starts_with(|c: char| c.is_uppercase() || c == '_')
    {
        let expression = literal_text(after.trim_start());
        return Some(format!(
            "write `{word_before} = {expression}`: nesy computes with `=` (Prolog's `is`)"
        ));
    }
    None
}

/// The text of the literal or expression at the start of `text`: up to the
/// first `,` or `.` outside brackets (or the end of the line).
fn literal_text(text: &str) -> String {
    let mut depth = 0usize;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' | '.' if depth == 0 && !text[i + 1..].starts_with(|d: char| d.is_ascii_digit()) => {
                end = i;
                break;
            }
            '\n' => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    text[..end].trim().to_string()
}

/// What the parser would have accepted at the error, in a rule writer's words.
fn expected_alternatives(error: &pest::error::Error<Rule>) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            // Comment and whitespace openers are always possible: noise.
            if token.trim().is_empty() || ["/*", "//", "\u{feff}"].contains(&token.as_str()) {
                continue;
            }
            push_unique(&mut tokens, token);
        }
    }
    let arithmetic = ["+", "-", "*", "/", "%"];
    let comparison = ["=", "!=", "<", "<=", ">", ">="];
    // Tokens that can start a term; many of them together read better as
    // "a term" (or "a literal" where `not` could come too).
    let term_start = ["\"", "\"\"\"", "(", "-", ":", "<", "_", "true", "false"];
    let is_range = |t: &str| t.len() == 4 && t.get(1..3) == Some("..");
    let mut expected: Vec<String> = Vec::new();
    let has_all = |set: &[&str]| set.iter().all(|t| tokens.iter().any(|k| k == t));
    let (arith, cmp) = (has_all(&arithmetic[..]), has_all(&comparison[..]));
    let starters = tokens
        .iter()
        .filter(|t| term_start.contains(&t.as_str()) || is_range(t))
        .count();
    let term = starters >= 3 && tokens.iter().any(|t| t == "\"");
    let literal = term && tokens.iter().any(|t| t == "not");
    for token in &tokens {
        let t = token.as_str();
        if (arith && arithmetic.contains(&t))
            || (cmp && comparison.contains(&t))
            || (term && (term_start.contains(&t) || is_range(t)))
            || (literal && t == "not")
            || is_range(t)
        {
            continue;
        }
        push_unique(&mut expected, format!("`{token}`"));
    }
    if literal {
        push_unique(
            &mut expected,
            "a literal (an atom, `not atom` or a comparison)".to_string(),
        );
    } else if term {
        push_unique(&mut expected, "a term".to_string());
    }
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives.iter().filter(|_| !term) {
            if let Some(name) = rule_name(*rule) {
                push_unique(&mut expected, name.to_string());
            }
        }
    }
    if cmp {
        push_unique(&mut expected, "a comparison operator".to_string());
    }
    if arith {
        push_unique(&mut expected, "an arithmetic operator".to_string());
    }
    expected
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// `a`, `a or b`, `a, b or c` (at most eight, then "...").
fn join_alternatives(items: &[String]) -> String {
    let mut shown: Vec<&str> = items.iter().map(String::as_str).take(8).collect();
    if items.len() > 8 {
        shown.push("...");
    }
    match shown.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, init)) => format!("{} or {}", init.join(", "), last),
    }
}

/// Names of the grammar rules as a rule writer would call them.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::clause | Rule::atom => "a fact or rule",
        Rule::relation_name | Rule::import_target => "a relation name",
        Rule::variable => "a variable",
        Rule::expr | Rule::comparison => "an expression",
        Rule::string | Rule::short_string | Rule::long_string | Rule::file_source => "a string",
        Rule::number | Rule::probability | Rule::weight => "a number",
        Rule::tunable => "a tunable probability `t(...)`",
        Rule::iri => "an IRI `<...>`",
        Rule::prefix_label => "a prefix label like `ex:`",
        Rule::cmp_op => "a comparison operator",
        Rule::aggregate_fn => "an aggregate (count, sum, min, max, mean)",
        Rule::type_name => "a type",
        Rule::field => "a field `name: type`",
        Rule::field_name | Rule::model_name | Rule::name_ident | Rule::method_name => {
            "a lowercase name"
        }
        Rule::model_call | Rule::model_method => "a model call",
        Rule::given => "`given { ... }`",
        Rule::expectation => "an expectation",
        Rule::symbol | Rule::prefixed_name | Rule::boolean => "a constant",
        _ => return None,
    })
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left))
            .op(Op::prefix(Rule::neg))
    })
}

/// Building fails rarely; the error is boxed to keep `Result`s small.
type Built<T> = Result<T, Box<Diagnostic>>;

/// Converts pairs of one item into the typed tree; `offset` is where the item's
/// text starts in the whole source.
struct Builder {
    offset: usize,
}

/// The pairs inside `pair`, without comments.
fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

fn internal(span: Span, what: &str) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(
        "internal",
        span,
        format!("internal parser error: {what}; please report this input"),
    ))
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.offset + s.start(), self.offset + s.end())
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn collect_comments(&self, pair: &Pair<'_, Rule>, out: &mut Vec<Comment>) {
        for p in pair.clone().into_inner().flatten() {
            if p.as_rule() == Rule::COMMENT {
                out.push(Comment {
                    text: p.as_str().trim_end().to_string(),
                    span: self.span(&p),
                });
            }
        }
        if pair.as_rule() == Rule::COMMENT {
            out.push(Comment {
                text: pair.as_str().trim_end().to_string(),
                span: self.span(pair),
            });
        }
    }

    fn next<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        parent: Span,
        what: &str,
    ) -> Built<Pair<'i, Rule>> {
        it.next().ok_or_else(|| internal(parent, what))
    }

    /// The items of one parsed item: one, or a clause per head of an
    /// annotated disjunction.
    fn items(&self, pair: Pair<'_, Rule>) -> Built<Vec<Item>> {
        if pair.as_rule() == Rule::clause {
            return Ok(self.clauses(pair)?.into_iter().map(Item::Clause).collect());
        }
        Ok(vec![self.item(pair)?])
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Built<Item> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::prefix_decl => Item::Prefix(self.prefix_decl(pair)?),
            Rule::import_decl => Item::Import(self.import_decl(pair)?),
            Rule::relation_decl => Item::Decl(self.relation_decl(pair)?),
            Rule::model_decl => Item::Model(self.model_decl(pair)?),
            Rule::input_decl => Item::Input(InputDecl {
                relations: inner(pair)
                    .filter(|p| p.as_rule() == Rule::relation_name)
                    .map(|p| self.name(&p))
                    .collect(),
                span,
            }),
            Rule::clause => return Err(internal(span, "a clause is built by `items`")),
            Rule::query => {
                let mut it = inner(pair);
                let body = self.next(&mut it, span, "query body")?;
                Item::Query(Query {
                    body: self.body(body, 0)?,
                    span,
                })
            }
            Rule::test_block => Item::Test(self.test_block(pair)?),
            _ => return Err(internal(span, "unexpected item")),
        })
    }

    fn test_block(&self, pair: Pair<'_, Rule>) -> Built<TestBlock> {
        let span = self.span(&pair);
        let mut name = None;
        let mut entries = Vec::new();
        for p in inner(pair) {
            let pspan = self.span(&p);
            match p.as_rule() {
                Rule::string => name = Some(self.string(p)?),
                Rule::given => {
                    let clauses = inner(p)
                        .filter(|c| c.as_rule() == Rule::clause)
                        .map(|c| self.clauses(c))
                        .collect::<Built<Vec<_>>>()?
                        .into_iter()
                        .flatten()
                        .collect();
                    entries.push(TestEntry::Given(Given {
                        clauses,
                        span: pspan,
                    }));
                }
                Rule::expectation => {
                    let mut negated = false;
                    let mut atom = None;
                    let mut numbers: Vec<(f64, String)> = Vec::new();
                    let mut probable = false;
                    let mut parts: Vec<Pair<'_, Rule>> = inner(p).collect();
                    if let Some(q) = parts.pop_if(|q| q.as_rule() == Rule::expect_prob) {
                        probable = true;
                        parts = inner(q).collect();
                    }
                    for q in parts {
                        match q.as_rule() {
                            Rule::expect_not => negated = true,
                            Rule::atom => atom = Some(self.atom(q, 0)?),
                            Rule::weight => {
                                let text = q.as_str().to_string();
                                let value = text.parse::<f64>().map_err(|_| {
                                    Box::new(Diagnostic::error(
                                        "syntax",
                                        self.span(&q),
                                        format!("invalid number `{text}`"),
                                    ))
                                })?;
                                numbers.push((value, text));
                            }
                            _ => {}
                        }
                    }
                    let probability = probable.then(|| {
                        let (value, text) = numbers.first().cloned().unwrap_or_default();
                        let tolerance = numbers.get(1).cloned();
                        ExpectedProbability {
                            value,
                            tolerance: tolerance.as_ref().map_or(1e-9, |t| t.0),
                            text,
                            tolerance_text: tolerance.map(|t| t.1),
                        }
                    });
                    entries.push(TestEntry::Expect(Expectation {
                        negated,
                        probability,
                        atom: atom.ok_or_else(|| internal(pspan, "expected atom"))?,
                        span: pspan,
                    }));
                }
                _ => {}
            }
        }
        Ok(TestBlock {
            name: name.ok_or_else(|| internal(span, "test name"))?,
            entries,
            span,
        })
    }

    fn prefix_decl(&self, pair: Pair<'_, Rule>) -> Built<PrefixDecl> {
        let span = self.span(&pair);
        let mut it = inner(pair).filter(|p| p.as_rule() != Rule::kw_prefix);
        let label = self.next(&mut it, span, "prefix label")?;
        let iri = self.next(&mut it, span, "prefix IRI")?;
        let label_span = self.span(&label);
        let text = label.as_str();
        Ok(PrefixDecl {
            label: Name {
                text: text.strip_suffix(':').unwrap_or(text).to_string(),
                span: label_span,
            },
            iri: strip_iri(iri.as_str()),
            iri_span: self.span(&iri),
            span,
        })
    }

    fn import_decl(&self, pair: Pair<'_, Rule>) -> Built<ImportDecl> {
        let span = self.span(&pair);
        let mut relation = None;
        let mut source = None;
        for p in inner(pair) {
            match p.as_rule() {
                Rule::import_target => relation = Some(self.name(&p)),
                Rule::file_source => source = Some(ImportSource::File(self.first_string(p)?)),
                Rule::store_source => source = Some(ImportSource::Store(self.first_string(p)?)),
                Rule::sparql_source => source = Some(ImportSource::Sparql(self.first_string(p)?)),
                _ => {}
            }
        }
        Ok(ImportDecl {
            relation,
            source: source.ok_or_else(|| internal(span, "import source"))?,
            span,
        })
    }

    fn first_string(&self, pair: Pair<'_, Rule>) -> Built<StringLit> {
        let span = self.span(&pair);
        let s = inner(pair)
            .find(|p| p.as_rule() == Rule::string)
            .ok_or_else(|| internal(span, "string"))?;
        self.string(s)
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Built<StringLit> {
        let span = self.span(&pair);
        let text = pair.as_str().to_string();
        let value = if let Some(long) = text
            .strip_prefix("\"\"\"")
            .and_then(|t| t.strip_suffix("\"\"\""))
        {
            long.to_string()
        } else {
            let body = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .ok_or_else(|| internal(span, "string quotes"))?;
            lexer::unescape(body).map_err(|(at, msg)| {
                Diagnostic::error(
                    "syntax",
                    Span::new(span.start + 1 + at, span.start + 2 + at),
                    msg,
                )
            })?
        };
        Ok(StringLit { value, text, span })
    }

    fn relation_decl(&self, pair: Pair<'_, Rule>) -> Built<RelationDecl> {
        let span = self.span(&pair);
        let mut relation = None;
        let mut fields = Vec::new();
        for p in inner(pair) {
            match p.as_rule() {
                Rule::relation_name => relation = Some(self.name(&p)),
                Rule::field => {
                    let fspan = self.span(&p);
                    let mut it = inner(p);
                    let name = self.name(&self.next(&mut it, fspan, "field name")?);
                    let ty = self.name(&self.next(&mut it, fspan, "field type")?);
                    fields.push(Field { name, ty });
                }
                _ => {}
            }
        }
        Ok(RelationDecl {
            relation: relation.ok_or_else(|| internal(span, "declared relation"))?,
            fields,
            span,
        })
    }

    fn model_decl(&self, pair: Pair<'_, Rule>) -> Built<ModelDecl> {
        let span = self.span(&pair);
        let mut it = inner(pair).filter(|p| p.as_rule() != Rule::kw_model);
        let name = self.name(&self.next(&mut it, span, "model name")?);
        let path = self.string(self.next(&mut it, span, "model path")?)?;
        Ok(ModelDecl { name, path, span })
    }

    /// A clause, or one per head of an annotated disjunction.
    fn clauses(&self, pair: Pair<'_, Rule>) -> Built<Vec<Clause>> {
        let span = self.span(&pair);
        let mut name = None;
        let mut heads = Vec::new();
        let mut body = Vec::new();
        for p in inner(pair) {
            match p.as_rule() {
                Rule::rule_name => {
                    name = inner(p)
                        .find(|q| q.as_rule() == Rule::name_ident)
                        .map(|q| self.name(&q));
                }
                Rule::clause_head => {
                    let mut probability = None;
                    let mut head = None;
                    for q in inner(p) {
                        match q.as_rule() {
                            Rule::probability => probability = Some(self.probability(q)?),
                            Rule::atom => head = Some(self.atom(q, 0)?),
                            _ => {}
                        }
                    }
                    heads.push(Alternative {
                        probability,
                        head: head.ok_or_else(|| internal(span, "clause head"))?,
                    });
                }
                Rule::body => body = self.body(p, 0)?,
                _ => {}
            }
        }
        if heads.len() > MAX_DISJUNCTION_HEADS {
            return Err(Box::new(
                Diagnostic::error(
                    "disjunction-too-large",
                    span,
                    format!(
                        "an annotated disjunction of {} heads; at most {MAX_DISJUNCTION_HEADS}",
                        heads.len()
                    ),
                )
                .with_help("a head's proofs grow with the heads before it: split the choice in stages, or use a model for so many classes"),
            ));
        }
        let disjunction = heads.len() > 1;
        let shared: std::sync::Arc<[Alternative]> = heads.iter().cloned().collect();
        Ok(heads
            .iter()
            .enumerate()
            .map(|(position, alternative)| Clause {
                name: name.clone(),
                probability: alternative.probability.clone(),
                head: alternative.head.clone(),
                body: body.clone(),
                span,
                choice: disjunction.then(|| Choice {
                    position,
                    heads: std::sync::Arc::clone(&shared),
                }),
            })
            .collect())
    }

    /// `0.3`, `t(0.3)` or `t(_)`.
    fn probability(&self, pair: Pair<'_, Rule>) -> Built<Probability> {
        let span = self.span(&pair);
        let number = |p: &Pair<'_, Rule>| -> Built<(f64, String)> {
            let text = p.as_str().to_string();
            let value = text.parse::<f64>().map_err(|_| {
                Box::new(Diagnostic::error(
                    "syntax",
                    self.span(p),
                    format!("invalid number `{text}`"),
                ))
            })?;
            Ok((value, text))
        };
        let first = inner(pair)
            .next()
            .ok_or_else(|| internal(span, "probability"))?;
        let (value, kind, text) = match first.as_rule() {
            Rule::tunable => {
                let written = inner(first)
                    .next()
                    .ok_or_else(|| internal(span, "tunable probability"))?;
                if written.as_rule() == Rule::weight {
                    let (value, text) = number(&written)?;
                    (value, ProbabilityKind::Tunable, format!("t({text})"))
                } else {
                    (0.5, ProbabilityKind::Seeded, "t(_)".to_string())
                }
            }
            _ => {
                let (value, text) = number(&first)?;
                (value, ProbabilityKind::Fixed, text)
            }
        };
        Ok(Probability {
            value,
            kind,
            text,
            span,
        })
    }

    fn body(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Vec<Literal>> {
        inner(pair).map(|p| self.literal(p, depth)).collect()
    }

    fn literal(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Literal> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::atom => Literal::Atom(self.atom(pair, depth)?),
            Rule::model_call => Literal::ModelCall(self.model_call(pair, depth)?),
            Rule::negation => {
                let target = inner(pair)
                    .find(|p| p.as_rule() != Rule::kw_not)
                    .ok_or_else(|| internal(span, "negated atom"))?;
                let target = match target.as_rule() {
                    Rule::model_call => NegationTarget::ModelCall(self.model_call(target, depth)?),
                    _ => NegationTarget::Atom(self.atom(target, depth)?),
                };
                Literal::Negation(Negation { target, span })
            }
            Rule::comparison => {
                let mut it = inner(pair);
                let lhs = self.expr(self.next(&mut it, span, "comparison")?, depth)?;
                let op = match self.next(&mut it, span, "comparison operator")?.as_str() {
                    "=" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let rhs = self.expr(self.next(&mut it, span, "comparison")?, depth)?;
                Literal::Comparison(Comparison { lhs, op, rhs, span })
            }
            Rule::aggregate => Literal::Aggregate(self.aggregate(pair, depth)?),
            _ => return Err(internal(span, "unexpected literal")),
        })
    }

    fn aggregate(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Aggregate> {
        let span = self.span(&pair);
        if depth >= MAX_NESTING {
            return Err(too_deep(span));
        }
        let mut result = None;
        let mut function = AggregateFn::Count;
        let mut terms = Vec::new();
        let mut body = Vec::new();
        for p in inner(pair) {
            match p.as_rule() {
                Rule::variable => result = Some(self.variable(&p)),
                Rule::aggregate_fn => {
                    function = match p.as_str() {
                        "sum" => AggregateFn::Sum,
                        "min" => AggregateFn::Min,
                        "max" => AggregateFn::Max,
                        "mean" => AggregateFn::Mean,
                        _ => AggregateFn::Count,
                    }
                }
                Rule::expr => terms.push(self.expr(p, depth + 1)?),
                Rule::body => body = self.body(p, depth + 1)?,
                _ => {}
            }
        }
        Ok(Aggregate {
            result: result.ok_or_else(|| internal(span, "aggregate result"))?,
            function,
            terms,
            body,
            span,
        })
    }

    fn atom(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Atom> {
        let span = self.span(&pair);
        let mut it = inner(pair);
        let relation = self.name(&self.next(&mut it, span, "relation name")?);
        let args = it.map(|p| self.expr(p, depth)).collect::<Built<Vec<_>>>()?;
        Ok(Atom {
            relation,
            args,
            span,
        })
    }

    fn model_call(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<ModelCall> {
        let span = self.span(&pair);
        let mut it = inner(pair);
        let method_pair = self.next(&mut it, span, "model method")?;
        let mspan = self.span(&method_pair);
        let mut parts = inner(method_pair);
        let model = self.name(&self.next(&mut parts, mspan, "model name")?);
        let method = self.name(&self.next(&mut parts, mspan, "method name")?);
        let args = it.map(|p| self.expr(p, depth)).collect::<Built<Vec<_>>>()?;
        Ok(ModelCall {
            model,
            method,
            args,
            span,
        })
    }

    fn variable(&self, pair: &Pair<'_, Rule>) -> Variable {
        Variable {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn expr(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Expr> {
        let span = self.span(&pair);
        if depth >= MAX_NESTING {
            return Err(too_deep(span));
        }
        let pairs: Vec<Pair<'_, Rule>> = pair
            .into_inner()
            .filter(|p| p.as_rule() != Rule::COMMENT)
            .collect();
        let operators = pairs
            .iter()
            .filter(|p| {
                matches!(
                    p.as_rule(),
                    Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::rem | Rule::neg
                )
            })
            .count();
        if operators > MAX_OPERATORS {
            return Err(Box::new(
                Diagnostic::error(
                    "expression-too-long",
                    span,
                    format!("expression has more than {MAX_OPERATORS} operators"),
                )
                .with_help("split the expression with intermediate variables"),
            ));
        }
        pratt()
            .map_primary(|p| self.primary(p, depth))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).join(rhs.span());
                debug_assert_eq!(op.as_rule(), Rule::neg);
                Ok(match rhs {
                    Expr::Const(c) if !c.text.starts_with('-') => negate_constant(c, span)?,
                    other => Expr::Neg {
                        inner: Box::new(other),
                        span,
                    },
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    Rule::mul => BinOp::Mul,
                    Rule::div => BinOp::Div,
                    _ => BinOp::Rem,
                };
                let span = lhs.span().join(rhs.span());
                Ok(Expr::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    span,
                })
            })
            .parse(pairs.into_iter())
    }

    fn primary(&self, pair: Pair<'_, Rule>, depth: usize) -> Built<Expr> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let constant = |value| {
            Ok(Expr::Const(Constant {
                value,
                text: text.to_string(),
                span,
            }))
        };
        match pair.as_rule() {
            Rule::expr => self.expr(pair, depth + 1),
            Rule::model_call => Ok(Expr::ModelCall(self.model_call(pair, depth + 1)?)),
            Rule::variable => Ok(Expr::Var(self.variable(&pair))),
            Rule::symbol => constant(ConstValue::Symbol(text.to_string())),
            Rule::boolean => constant(ConstValue::Bool(text == "true")),
            Rule::iri => constant(ConstValue::Iri(strip_iri(text))),
            Rule::prefixed_name => {
                let (prefix, local) = text.split_once(':').unwrap_or(("", text));
                constant(ConstValue::Prefixed {
                    prefix: prefix.to_string(),
                    local: local.to_string(),
                })
            }
            Rule::string => {
                let s = self.string(pair)?;
                Ok(Expr::Const(Constant {
                    value: ConstValue::String(s.value),
                    text: s.text,
                    span,
                }))
            }
            Rule::number => constant(parse_number(text, span)?),
            _ => Err(internal(span, "unexpected term")),
        }
    }
}

fn too_deep(span: Span) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(
            "nesting-too-deep",
            span,
            format!("expression nested more than {MAX_NESTING} levels deep"),
        )
        .with_help("split the expression with intermediate variables"),
    )
}

fn strip_iri(text: &str) -> String {
    text.strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(text)
        .to_string()
}

fn parse_number(text: &str, span: Span) -> Built<ConstValue> {
    let is_float = text.contains(['.', 'e', 'E']);
    if is_float {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(ConstValue::Float(f)),
            _ => Err(Box::new(Diagnostic::error(
                "number-out-of-range",
                span,
                format!("float literal `{text}` is out of range"),
            ))),
        }
    } else {
        text.parse::<i64>().map(ConstValue::Int).map_err(|_| {
            Box::new(Diagnostic::error(
                "number-out-of-range",
                span,
                format!("integer literal `{text}` does not fit in 64 bits"),
            )
            .with_help(format!(
                "integers range from {} to {}; write a float (`{text}.0`) for larger magnitudes",
                i64::MIN,
                i64::MAX
            )))
        })
    }
}

fn negate_constant(c: Constant, span: Span) -> Built<Expr> {
    let text = format!("-{}", c.text);
    let value = match c.value {
        ConstValue::Int(_) | ConstValue::Float(_) => parse_number(&text, span)?,
        other => {
            return Ok(Expr::Neg {
                inner: Box::new(Expr::Const(Constant {
                    value: other,
                    text: c.text,
                    span: c.span,
                })),
                span,
            });
        }
    };
    Ok(Expr::Const(Constant { value, text, span }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(source: &str, at: &str) -> Option<String> {
        neighbour_syntax(source, 0, source.find(at).unwrap())
    }

    #[test]
    fn negation_from_other_languages_gets_the_nesy_spelling() {
        let bang = hint("p(X) :- q(X), !r(X, 1).", "!").unwrap();
        assert!(bang.contains("`not r(X, 1)`"), "{bang}");
        let prolog = hint("p(X) :- q(X), \\+ r(X).", "\\+").unwrap();
        assert!(prolog.contains("`not r(X)`"), "{prolog}");
        // `!=` is a comparison, not a negation.
        assert_eq!(hint("p(X) :- q(X, Y), X != Y.", "!="), None);
    }

    #[test]
    fn souffle_aggregates_and_prolog_is_get_hints() {
        let count = hint("n(C) :- C = count : { p(_) }.", ": {").unwrap();
        assert!(count.contains("`count { X : ... }`"), "{count}");
        let is = hint("n(Y) :- m(X), Y is X + 1.", "is ").unwrap();
        assert!(is.contains("`Y = X + 1`"), "{is}");
        // `is` after a constant is not Prolog arithmetic.
        assert_eq!(hint("n(Y) :- m(x is 1).", "is "), None);
    }

    #[test]
    fn a_literals_text_stops_at_a_comma_or_dot_outside_brackets() {
        assert_eq!(literal_text("r(X, 1.5), s(X)."), "r(X, 1.5)");
        assert_eq!(literal_text("X + 1.\nq(1)."), "X + 1");
        assert_eq!(literal_text("f(g(a, b))"), "f(g(a, b))");
    }

    #[test]
    fn alternatives_are_joined_as_a_sentence() {
        let words = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        assert_eq!(join_alternatives(&[]), "");
        assert_eq!(join_alternatives(&words(1)), "t0");
        assert_eq!(join_alternatives(&words(3)), "t0, t1 or t2");
        assert!(join_alternatives(&words(10)).ends_with("t7 or ..."));
    }

    #[test]
    fn numbers_out_of_range_are_errors_and_negation_folds_into_constants() {
        let span = Span::new(0, 1);
        assert!(matches!(parse_number("42", span), Ok(ConstValue::Int(42))));
        assert!(matches!(parse_number("1e3", span), Ok(ConstValue::Float(f)) if f == 1000.0));
        assert_eq!(
            parse_number("9223372036854775808", span).unwrap_err().code,
            "number-out-of-range"
        );
        assert_eq!(
            parse_number("1e400", span).unwrap_err().code,
            "number-out-of-range"
        );
        // i64::MIN is written as the negation of a literal one past i64::MAX.
        let min = Constant {
            value: ConstValue::Int(0),
            text: "9223372036854775808".into(),
            span,
        };
        assert!(matches!(
            negate_constant(min, span),
            Ok(Expr::Const(Constant {
                value: ConstValue::Int(i64::MIN),
                ..
            }))
        ));
    }

    #[test]
    fn iris_lose_their_angle_brackets_only_when_both_are_there() {
        assert_eq!(strip_iri("<http://e/a>"), "http://e/a");
        assert_eq!(strip_iri("<http://e/a"), "<http://e/a");
    }
}
