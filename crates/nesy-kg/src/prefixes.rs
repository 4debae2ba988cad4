//! Prefixes: the common ones every query knows, a data file's own, and
//! IRIs written short with them.
//!
//! ```
//! use nesy_kg::Prefixes;
//!
//! let mut prefixes = Prefixes::common();
//! prefixes.add("ex", "http://example.org/acme#");
//! assert_eq!(prefixes.shorten("http://example.org/acme#alice").as_deref(), Some("ex:alice"));
//! assert_eq!(
//!     prefixes.shorten("http://www.w3.org/1999/02/22-rdf-syntax-ns#type").as_deref(),
//!     Some("rdf:type")
//! );
//! // A local name that a prefixed name cannot spell stays a full IRI.
//! assert_eq!(prefixes.shorten("http://example.org/acme#a/b"), None);
//! assert_eq!(prefixes.get("xsd"), Some("http://www.w3.org/2001/XMLSchema#"));
//! ```

/// The prefixes every query and output knows without a declaration.
pub const COMMON_PREFIXES: [(&str, &str); 4] = [
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// Prefix labels and their namespace IRIs; a label added again takes the
/// new IRI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefixes {
    entries: Vec<(String, String)>,
}

impl Prefixes {
    /// No prefixes.
    pub fn new() -> Self {
        Prefixes::default()
    }

    /// `rdf`, `rdfs`, `owl` and `xsd` ([`COMMON_PREFIXES`]).
    pub fn common() -> Self {
        let mut prefixes = Prefixes::new();
        for (label, iri) in COMMON_PREFIXES {
            prefixes.add(label, iri);
        }
        prefixes
    }

    /// Adds `label:` for `iri`, replacing an earlier `label:`.
    pub fn add(&mut self, label: &str, iri: &str) {
        match self.entries.iter_mut().find(|(l, _)| l == label) {
            Some(entry) => entry.1 = iri.to_string(),
            None => self.entries.push((label.to_string(), iri.to_string())),
        }
    }

    /// Adds every prefix of `other` (its IRIs win).
    pub fn extend(&mut self, other: &Prefixes) {
        for (label, iri) in other.iter() {
            self.add(label, iri);
        }
    }

    /// The IRI of `label:`.
    pub fn get(&self, label: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, iri)| iri.as_str())
    }

    /// `(label, IRI)`, in the order they were first added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(l, i)| (l.as_str(), i.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `iri` as `label:local` with the longest namespace that is a prefix
    /// of it, when the rest is a local name that needs no escaping;
    /// otherwise `None`.
    pub fn shorten(&self, iri: &str) -> Option<String> {
        self.entries
            .iter()
            .filter(|(_, ns)| !ns.is_empty() && iri.starts_with(ns.as_str()))
            .filter(|(_, ns)| plain_local_name(iri.get(ns.len()..).unwrap_or_default()))
            .max_by_key(|(_, ns)| ns.len())
            .map(|(label, ns)| format!("{label}:{}", iri.get(ns.len()..).unwrap_or_default()))
    }

    /// `PREFIX label: <IRI>` for each, on one line (for a query's prologue).
    pub fn sparql_prologue(&self) -> String {
        self.entries
            .iter()
            .map(|(label, iri)| format!("PREFIX {label}: <{iri}> "))
            .collect()
    }
}

/// Whether `local` can follow `label:` as written (letters, digits, `_`,
/// `-`, and `.` inside): what Turtle and SPARQL read back without escapes.
fn plain_local_name(local: &str) -> bool {
    let simple = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    !local.starts_with(['-', '.']) && !local.ends_with('.') && local.chars().all(simple)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_namespace_wins_and_later_labels_replace_earlier() {
        let mut p = Prefixes::new();
        p.add("ex", "http://example.org/");
        p.add("acme", "http://example.org/acme/");
        assert_eq!(
            p.shorten("http://example.org/acme/bob").as_deref(),
            Some("acme:bob")
        );
        p.add("acme", "http://other.org/");
        assert_eq!(
            p.shorten("http://example.org/acme/bob"),
            None,
            "acme/bob is not a plain local name"
        );
        // An empty local name is allowed (`ex:`); a trailing dot is not.
        assert_eq!(p.shorten("http://example.org/").as_deref(), Some("ex:"));
        assert_eq!(p.shorten("http://example.org/a."), None);
    }
}
