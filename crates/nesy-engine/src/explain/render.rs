//! Drawing an explanation: the indented text form and Graphviz DOT, both
//! with explicit stacks (a proof can be as deep as a chain is long), and
//! dropping one the same way.

use super::{Attempt, Explanation, NodeKind, Tag};
use std::fmt::Write;

/// The text form, as [`Explanation::to_text`] gives it.
impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Explanation {
    /// The JSON form (the shape `nesy explain --format json` prints),
    /// indented.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// An indented tree, one step per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        for (i, alt) in self.alternatives.iter().enumerate() {
            let _ = writeln!(out, "\nalternative proof {}:", i + 2);
            alt.write_text(&mut out);
        }
        out
    }

    /// The text of this tree, depth first, with an explicit stack (a proof
    /// can be as deep as a chain is long).
    fn write_text(&self, out: &mut String) {
        enum Work<'e> {
            Node(&'e Explanation, usize),
            Line(String),
        }
        let mut stack = vec![Work::Node(self, 0)];
        while let Some(work) = stack.pop() {
            let (node, depth) = match work {
                Work::Line(line) => {
                    out.push_str(&line);
                    continue;
                }
                Work::Node(node, depth) => (node, depth),
            };
            let pad = "  ".repeat(depth);
            let _ = writeln!(out, "{pad}{}{}  [{}]", node.mark(), node.fact, node.how());
            // Pushed last to first: premises, then attempts, then the note.
            if node.attempts.is_empty() && !node.holds {
                stack.push(Work::Line(format!(
                    "{pad}  no fact and no rule derives it\n"
                )));
            }
            for a in node.attempts.iter().rev() {
                let by = a
                    .rule
                    .name
                    .as_ref()
                    .map_or(a.rule.location.to_string(), |n| {
                        format!("`{n}` at {}", a.rule.location)
                    });
                if let Some(b) = &a.because {
                    stack.push(Work::Node(b, depth + 2));
                }
                if let Some(w) = &a.why_not {
                    stack.push(Work::Node(w, depth + 2));
                }
                stack.push(Work::Line(format!(
                    "{pad}  rule {by}: `{}` fails: {}\n",
                    a.failed, a.reason
                )));
            }
            for p in node.premises.iter().rev() {
                stack.push(Work::Node(p, depth + 1));
            }
        }
    }

    fn mark(&self) -> &'static str {
        if self.holds { "" } else { "NOT " }
    }

    /// How a node holds, as the text form says it.
    fn how(&self) -> String {
        let how = match (self.kind, &self.rule, &self.source) {
            (NodeKind::Rule, Some(rule), _) => {
                let by = rule.name.as_ref().map_or(rule.location.to_string(), |n| {
                    format!("rule `{n}` at {}", rule.location)
                });
                let by = match rule.probability {
                    // Rounded: a learned 0.75 is not 0.7499999999999999.
                    Some(p) => format!("{by} (weight {})", (p * 1e9).round() / 1e9),
                    None => by,
                };
                let bindings: Vec<String> = self
                    .bindings
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                if bindings.is_empty() {
                    format!("by {by}")
                } else {
                    format!("by {by} with {}", bindings.join(", "))
                }
            }
            (NodeKind::Fact, _, Some(source)) => format!("fact at {source}"),
            (NodeKind::Fact, _, None) => "fact".to_string(),
            (NodeKind::Negation, _, Some(why)) => why.clone(),
            (NodeKind::Negation, _, _) => "no tuple matches".to_string(),
            (NodeKind::Comparison, _, _) => "holds".to_string(),
            (NodeKind::Aggregate, _, _) => match &self.aggregate {
                Some(a) => format!("{} over {} rows = {}", a.function, a.size, a.result),
                None => "aggregate".to_string(),
            },
            (NodeKind::Missing, _, _) => "does not hold".to_string(),
            (NodeKind::Model, _, _) => match &self.model {
                Some(m) => match &m.explanation {
                    Some(e) => format!("{}: {}", m.model, e.text),
                    None => m.model.clone(),
                },
                None => "model".to_string(),
            },
            (NodeKind::Rule, None, _) => String::new(),
            (NodeKind::Proofs, _, _) => {
                let semiring = self.semiring.as_deref().unwrap_or("the semiring");
                match self.premises.len() {
                    0 => format!("by {semiring}"),
                    1 => format!("by {semiring}, from this proof"),
                    n => format!("by {semiring}, from these {n} proofs"),
                }
            }
            (NodeKind::Proof, _, _) => "all of these".to_string(),
            (NodeKind::Event, _, _) if self.fact.starts_with("not ") => {
                "must not happen".to_string()
            }
            (NodeKind::Event, _, _) => "happens".to_string(),
        };
        let how = if self.truncated {
            format!("{how}; its proof goes deeper than shown")
        } else {
            how
        };
        match self.tag {
            Tag::Probability(p) => format!("p = {p:.6}; {how}"),
            Tag::Bool(_) => how,
        }
    }

    /// A Graphviz drawing: facts as boxes, each derivation pointing at its
    /// premises (`dot -Tsvg`).
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph explanation {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
        );
        self.write_dot(&mut out);
        out.push_str("}\n");
        out
    }

    /// Nodes numbered depth first; each edge is written once the subtree
    /// below it is (an explicit stack, as for text).
    fn write_dot(&self, out: &mut String) {
        enum Work<'e> {
            /// A node, and the edge into it (`parent`, dashed) once its
            /// subtree is written.
            Node(&'e Explanation, Option<(usize, bool)>),
            Attempt(&'e Attempt, usize),
            Edge(usize, usize, bool),
        }
        let mut next = 0;
        let mut stack = vec![Work::Node(self, None)];
        while let Some(work) = stack.pop() {
            match work {
                Work::Edge(from, to, dashed) => {
                    let style = if dashed { " [style=dashed]" } else { "" };
                    let _ = writeln!(out, "  n{from} -> n{to}{style};");
                }
                Work::Attempt(a, parent) => {
                    let aid = next;
                    next += 1;
                    let _ = writeln!(
                        out,
                        "  n{aid} [label=\"rule {}\\n{}\\nfails: {}\", color=red, style=dashed];",
                        escape(
                            &a.rule
                                .name
                                .clone()
                                .unwrap_or_else(|| a.rule.location.to_string())
                        ),
                        escape(&a.failed),
                        escape(&a.reason)
                    );
                    let _ = writeln!(out, "  n{parent} -> n{aid} [style=dashed];");
                    for sub in a.because.iter().rev().chain(a.why_not.iter().rev()) {
                        stack.push(Work::Node(sub, Some((aid, true))));
                    }
                }
                Work::Node(node, incoming) => {
                    let id = next;
                    next += 1;
                    node.write_dot_node(out, id);
                    if let Some((parent, dashed)) = incoming {
                        stack.push(Work::Edge(parent, id, dashed));
                    }
                    for a in node.attempts.iter().rev() {
                        stack.push(Work::Attempt(a, id));
                    }
                    for p in node.premises.iter().rev() {
                        stack.push(Work::Node(p, Some((id, false))));
                    }
                }
            }
        }
    }

    fn write_dot_node(&self, out: &mut String, id: usize) {
        let detail = match (&self.rule, &self.source, &self.aggregate) {
            (Some(r), _, _) => r.name.clone().unwrap_or_else(|| r.location.to_string()),
            (_, Some(s), _) => s.clone(),
            (_, _, Some(a)) => format!("{} over {} rows", a.function, a.size),
            _ => format!("{:?}", self.kind).to_lowercase(),
        };
        let color = if self.holds { "black" } else { "red" };
        let detail = match self.tag {
            Tag::Probability(p) => format!("{detail}\np = {p:.4}"),
            Tag::Bool(_) => detail,
        };
        let detail = if self.truncated {
            format!("{detail}\n(deeper than shown)")
        } else {
            detail
        };
        // Base facts are shaded, failed goals red.
        let style = match self.kind {
            NodeKind::Fact | NodeKind::Event => ", style=\"rounded,filled\", fillcolor=\"#eeeeee\"",
            NodeKind::Missing => ", fontcolor=red",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  n{id} [label=\"{}\\n{}\", color={color}{style}];",
            escape(&self.fact),
            escape(&detail)
        );
    }
}

/// Dropped without recursion: a proof as deep as a long chain would
/// otherwise overflow the stack on the way out.
impl Drop for Explanation {
    fn drop(&mut self) {
        fn children(node: &mut Explanation, into: &mut Vec<Explanation>) {
            into.append(&mut node.premises);
            into.append(&mut node.alternatives);
            for a in &mut node.attempts {
                into.extend(a.why_not.take().map(|b| *b));
                into.extend(a.because.take().map(|b| *b));
            }
        }
        let mut stack = Vec::new();
        children(self, &mut stack);
        while let Some(mut node) = stack.pop() {
            children(&mut node, &mut stack);
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
