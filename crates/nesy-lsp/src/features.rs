//! What the server answers: hover, definition, references, symbols,
//! completion, quick fixes and formatting, from the checked documents.

use crate::documents::{Document, Documents};
use crate::text::path_uri;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind,
    DocumentSymbol, Hover, HoverContents, Location, MarkupContent, MarkupKind, Position, Range,
    SymbolKind as LspSymbolKind, TextEdit, WorkspaceEdit,
};
use nesy_lang::BUILTIN_PREFIXES;
use nesy_lang::ast::{ImportSource, Item};
use nesy_lang::outline::{Occurrence, Role, SymbolKind};
use std::collections::{BTreeSet, HashMap};

/// The methods a model can be called by.
const MODEL_METHODS: &[(&str, &str)] = &[
    ("predict", "the class (or value) the model predicts"),
    ("prob", "the probability of a class"),
    ("score", "a link's score (link models)"),
    ("top", "the best-scored tails of a link (link models)"),
];

/// The directives, after `@`.
const DIRECTIVES: &[(&str, &str)] = &[
    ("prefix", "@prefix ex: <http://example.org/>."),
    ("import", "@import rel from \"file.csv\"."),
    ("decl", "@decl rel(field: type, ...)."),
    ("model", "@model name = \"path\"."),
    ("input", "@input rel, ...."),
    ("test", "@test \"name\" { given { ... } expectations }"),
    ("name", "@name(rule_name) before a rule"),
];

/// The line (1-based) of byte `at` of a document, for messages.
fn line_of(doc: &Document, at: usize) -> usize {
    doc.checked.source.position(at).line
}

fn item_text(doc: &Document, o: &Occurrence) -> String {
    doc.text()
        .get(o.item.start..o.item.end)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The IRI a prefix label stands for in `doc` (declared, or built in).
fn prefix_iri(doc: &Document, label: &str) -> Option<String> {
    doc.checked
        .program
        .items
        .iter()
        .find_map(|item| match item {
            Item::Prefix(p) if p.label.text == label => Some(p.iri.clone()),
            _ => None,
        })
        .or_else(|| {
            BUILTIN_PREFIXES
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, iri)| iri.to_string())
        })
}

/// Hover: a relation's declaration, arity, and what defines it; a model's
/// declaration; a prefix's IRI.
pub(crate) fn hover(docs: &Documents, doc: &Document, at: Position) -> Option<Hover> {
    let at = doc.offset(at);
    let o = doc.occurrence_at(at)?;
    let mut lines = Vec::new();
    match o.kind {
        SymbolKind::Relation => {
            let (mut rules, mut facts, mut arity, mut places) = (0, 0, None, Vec::new());
            let mut decl = None;
            let mut imports = Vec::new();
            for (d, other) in docs.all(o) {
                match other.role {
                    Role::Rule => rules += 1,
                    Role::Fact => facts += 1,
                    Role::Decl => decl = Some(item_text(d, other)),
                    Role::Import => imports.push(item_text(d, other)),
                    _ => {}
                }
                if arity.is_none() || other.role == Role::Decl {
                    arity = other.arity.or(arity);
                }
                if other.role.defines() && places.len() < 5 {
                    places.push(format!(
                        "{}:{}",
                        d.checked.source.name(),
                        line_of(d, other.span.start)
                    ));
                }
            }
            let columns = arity.map_or_else(String::new, |a| {
                format!(", {a} column{}", if a == 1 { "" } else { "s" })
            });
            lines.push(format!("**relation** `{}`{columns}", o.name));
            if let Some(decl) = decl {
                lines.push(format!("```nesy\n{decl}\n```"));
            }
            let mut defined = Vec::new();
            if rules > 0 {
                defined.push(format!("{rules} rule{}", if rules == 1 { "" } else { "s" }));
            }
            if facts > 0 {
                defined.push(format!("{facts} fact{}", if facts == 1 { "" } else { "s" }));
            }
            defined.extend(imports.into_iter().map(|i| format!("`{i}`")));
            lines.push(if defined.is_empty() {
                "no rules, facts or imports: its facts come at run time".to_string()
            } else {
                format!("defined by {}", defined.join(", "))
            });
            if !places.is_empty() {
                lines.push(format!("at {}", places.join(", ")));
            }
            if let Some((label, _)) = o.name.split_once(':')
                && let Some(iri) = prefix_iri(doc, label)
            {
                lines.push(format!("`{label}:` is `<{iri}>`"));
            }
        }
        SymbolKind::Model => {
            lines.push(format!("**model** `{}`", o.name));
            if let Some((d, decl)) = docs.all(o).find(|(_, x)| x.role == Role::Declared) {
                lines.push(format!("```nesy\n{}\n```", item_text(d, decl)));
                lines.extend(model_summary(d, &o.name));
            }
            lines.push(format!(
                "methods: {}",
                MODEL_METHODS
                    .iter()
                    .map(|(m, _)| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        SymbolKind::Prefix => {
            let iri = prefix_iri(doc, &o.name).unwrap_or_default();
            lines.push(format!("**prefix** `{}:` is `<{iri}>`", o.name));
        }
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: lines.join("\n\n"),
        }),
        range: Some(doc.range(o.span.start, o.span.end)),
    })
}

/// Model files larger than this are not read for a hover.
const MAX_MODEL_BYTES: u64 = 16 << 20;

/// What a model file says of itself: kind, features, target, classes (read
/// as JSON, without loading the model).
fn model_summary(doc: &Document, name: &str) -> Vec<String> {
    let Some(path) = doc
        .checked
        .program
        .items
        .iter()
        .find_map(|item| match item {
            Item::Model(m) if m.name.text == name => Some(m.path.value.clone()),
            _ => None,
        })
    else {
        return Vec::new();
    };
    let base = crate::text::uri_path(&doc.uri)
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_default();
    let file = base.join(&path);
    let read = std::fs::metadata(&file)
        .map_err(|e| e.to_string())
        .and_then(|m| {
            if m.len() > MAX_MODEL_BYTES {
                Err(format!("{} bytes, too large to read here", m.len()))
            } else {
                std::fs::read_to_string(&file).map_err(|e| e.to_string())
            }
        })
        .and_then(|text| {
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
        });
    let json = match read {
        Ok(json) => json,
        Err(e) => return vec![format!("cannot read `{path}`: {e}")],
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    // A missing key reads as null (indexing a JSON value never panics, but
    // says so only through `get`).
    let field = |v: &'_ serde_json::Value, key: &str| v.get(key).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let kind = [text(&field(&json, "kind")), text(&field(&json, "variant"))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !kind.is_empty() {
        out.push(format!("kind: {kind}"));
    }
    let schema = &field(&json, "schema");
    if let Some(features) = field(schema, "features").as_array() {
        let names: Vec<String> = features
            .iter()
            .filter_map(|f| text(&field(f, "name")).or_else(|| text(f)))
            .collect();
        out.push(format!("features: {}", names.join(", ")));
    }
    if let Some(target) = text(&field(schema, "target")) {
        out.push(format!("target: {target}"));
    }
    if let Some(classes) = field(schema, "classes").as_array() {
        let names: Vec<String> = classes
            .iter()
            .take(20)
            .map(|c| text(c).unwrap_or_else(|| c.to_string()))
            .collect();
        let more = classes.len().saturating_sub(20);
        out.push(format!(
            "classes: {}{}",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// Go to definition: a relation's rules, facts, `@decl` and `@import`s; a
/// model's `@model`; a prefix's `@prefix`; an import's or model's file.
pub(crate) fn definition(docs: &Documents, doc: &Document, at: Position) -> Vec<Location> {
    let at = doc.offset(at);
    if let Some(file) = file_at(doc, at) {
        return file.into_iter().collect();
    }
    let Some(o) = doc.occurrence_at(at) else {
        return Vec::new();
    };
    docs.all(o)
        .filter(|(_, x)| x.role.defines())
        .map(|(d, x)| d.location(x.span.start, x.span.end))
        .collect()
}

/// The file an `@import` or `@model` path at `at` names, if one is there.
fn file_at(doc: &Document, at: usize) -> Option<Option<Location>> {
    let path = doc.checked.program.items.iter().find_map(|item| {
        let lit = match item {
            Item::Import(i) => match &i.source {
                ImportSource::File(f) | ImportSource::Store(f) => f,
                ImportSource::Sparql(_) => return None,
            },
            Item::Model(m) => &m.path,
            _ => return None,
        };
        (lit.span.start <= at && at <= lit.span.end).then(|| lit.value.clone())
    })?;
    let base = crate::text::uri_path(&doc.uri)
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_default();
    let file = base.join(path);
    Some(path_uri(&file).map(|uri| Location::new(uri, Range::default())))
}

/// Find references: every place the name under the cursor is used (and,
/// when asked, defined).
pub(crate) fn references(
    docs: &Documents,
    doc: &Document,
    at: Position,
    declarations: bool,
) -> Vec<Location> {
    let at = doc.offset(at);
    let Some(o) = doc.occurrence_at(at) else {
        return Vec::new();
    };
    docs.all(o)
        .filter(|(_, x)| declarations || !x.role.defines())
        .map(|(d, x)| d.location(x.span.start, x.span.end))
        .collect()
}

/// The outline: rules by head, facts by relation (once, with their
/// count), declarations, models, prefixes, tests and queries.
#[allow(
    deprecated,
    reason = "DocumentSymbol's `deprecated` field must be written"
)]
pub(crate) fn symbols(doc: &Document) -> Vec<DocumentSymbol> {
    let text = doc.text();
    let symbol = |name: String,
                  detail: Option<String>,
                  kind,
                  span: nesy_lang::ast::Span,
                  at: nesy_lang::ast::Span| DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: doc.range(span.start, span.end),
        selection_range: doc.range(at.start, at.end),
        children: None,
    };
    let mut facts: HashMap<&str, usize> = HashMap::new();
    for o in &doc.occurrences {
        if o.role == Role::Fact {
            *facts.entry(o.name.as_str()).or_default() += 1;
        }
    }
    let mut fact_listed = BTreeSet::new();
    let mut out = Vec::new();
    for item in &doc.checked.program.items {
        match item {
            Item::Clause(c) if c.body.is_empty() => {
                let name = c.head.relation.text.as_str();
                if fact_listed.insert(name) {
                    let n = facts.get(name).copied().unwrap_or(1);
                    out.push(symbol(
                        name.to_string(),
                        Some(format!("{n} fact{}", if n == 1 { "" } else { "s" })),
                        LspSymbolKind::CONSTANT,
                        c.span,
                        c.head.relation.span,
                    ));
                }
            }
            Item::Clause(c) => out.push(symbol(
                c.head.relation.text.clone(),
                Some(
                    c.name
                        .as_ref()
                        .map_or_else(|| "rule".to_string(), |n| format!("@name({})", n.text)),
                ),
                LspSymbolKind::FUNCTION,
                c.span,
                c.head.relation.span,
            )),
            Item::Decl(d) => out.push(symbol(
                d.relation.text.clone(),
                Some("@decl".to_string()),
                LspSymbolKind::STRUCT,
                d.span,
                d.relation.span,
            )),
            Item::Model(m) => out.push(symbol(
                m.name.text.clone(),
                Some(format!("@model {}", m.path.text)),
                LspSymbolKind::OBJECT,
                m.span,
                m.name.span,
            )),
            Item::Prefix(p) => out.push(symbol(
                format!("{}:", p.label.text),
                Some(p.iri.clone()),
                LspSymbolKind::NAMESPACE,
                p.span,
                p.label.span,
            )),
            Item::Test(t) => out.push(symbol(
                t.name.value.clone(),
                Some("@test".to_string()),
                LspSymbolKind::METHOD,
                t.span,
                t.name.span,
            )),
            Item::Query(q) => out.push(symbol(
                text.get(q.span.start..q.span.end)
                    .unwrap_or("?-")
                    .trim()
                    .to_string(),
                Some("query".to_string()),
                LspSymbolKind::EVENT,
                q.span,
                q.span,
            )),
            Item::Import(i) => {
                if let Some(r) = &i.relation {
                    out.push(symbol(
                        r.text.clone(),
                        Some("@import".to_string()),
                        LspSymbolKind::FILE,
                        i.span,
                        r.span,
                    ));
                }
            }
            Item::Input(_) => {}
        }
    }
    out
}

/// Completion: directives after `@`, a model's methods after `model.`, and
/// otherwise relation, model and prefix names.
pub(crate) fn completion(docs: &Documents, doc: &Document, at: Position) -> Vec<CompletionItem> {
    let at = doc.offset(at);
    let line = doc.text().get(..at).unwrap_or_default();
    let line = line.rsplit('\n').next().unwrap_or_default();
    let word_start = line
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(line.len(), |(i, _)| i);
    let before = line.get(..word_start).unwrap_or_default();
    let item = |label: &str, kind, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        ..CompletionItem::default()
    };
    if before.ends_with('@') {
        return DIRECTIVES
            .iter()
            .map(|(d, example)| item(d, CompletionItemKind::KEYWORD, example))
            .collect();
    }
    let models: BTreeSet<&str> = docs
        .open
        .values()
        .flat_map(|d| d.occurrences.iter())
        .filter(|o| o.kind == SymbolKind::Model && o.role == Role::Declared)
        .map(|o| o.name.as_str())
        .collect();
    if let Some(receiver) = before.strip_suffix('.') {
        let name_start = receiver
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(receiver.len(), |(i, _)| i);
        if models.contains(receiver.get(name_start..).unwrap_or_default()) {
            return MODEL_METHODS
                .iter()
                .map(|(m, what)| item(m, CompletionItemKind::METHOD, what))
                .collect();
        }
    }
    let mut relations: BTreeSet<&str> = BTreeSet::new();
    for d in docs.open.values() {
        for o in &d.occurrences {
            if o.kind == SymbolKind::Relation {
                relations.insert(o.name.as_str());
            }
        }
    }
    let mut out: Vec<CompletionItem> = relations
        .into_iter()
        .map(|r| item(r, CompletionItemKind::CLASS, "relation"))
        .collect();
    out.extend(
        models
            .into_iter()
            .map(|m| item(m, CompletionItemKind::MODULE, "model")),
    );
    let mut labels: BTreeSet<String> = BUILTIN_PREFIXES
        .iter()
        .map(|(l, _)| l.to_string())
        .collect();
    for o in &doc.occurrences {
        if o.kind == SymbolKind::Prefix {
            labels.insert(o.name.clone());
        }
    }
    out.extend(labels.into_iter().map(|l| {
        let iri = prefix_iri(doc, &l).unwrap_or_default();
        item(&format!("{l}:"), CompletionItemKind::REFERENCE, &iri)
    }));
    for (keyword, what) in [
        ("not", "negation"),
        ("count", "aggregate"),
        ("sum", "aggregate"),
        ("min", "aggregate"),
        ("max", "aggregate"),
        ("mean", "aggregate"),
    ] {
        out.push(item(keyword, CompletionItemKind::KEYWORD, what));
    }
    out
}

/// Quick fixes: the checker's "did you mean" suggestions that touch
/// `wanted`.
pub(crate) fn code_actions(doc: &Document, wanted: Range) -> Vec<CodeActionOrCommand> {
    let (from, to) = (doc.offset(wanted.start), doc.offset(wanted.end));
    doc.checked
        .diagnostics
        .iter()
        .filter(|d| d.span.start <= to && from <= d.span.end)
        .filter_map(|d| {
            let (span, replacement) = d.fix.as_ref()?;
            let edit = TextEdit::new(doc.range(span.start, span.end), replacement.clone());
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Replace with `{replacement}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![doc.diagnostic(d)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(doc.uri.clone(), vec![edit])])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        // A range over a whole large file: the first hundred fixes.
        .take(100)
        .collect()
}

/// Formatting: `nesy fmt`'s output as one edit (none when the file does
/// not parse, or is formatted already).
pub(crate) fn formatting(doc: &Document) -> Vec<TextEdit> {
    let text = doc.text();
    match nesy_lang::format_source(text) {
        Ok(formatted) if formatted != text => {
            vec![TextEdit::new(doc.range(0, text.len()), formatted)]
        }
        _ => Vec::new(),
    }
}
