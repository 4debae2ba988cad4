#![doc = include_str!("../README.md")]
//!
//! ## The API
//!
//! This crate is the one API over nesy's parts. Today it holds the rule
//! language ([`lang`]): parse, check and format rule files. The engine,
//! knowledge graph and learned models join it as they arrive.
//!
//! ```
//! let checked = nesy::check_source(
//!     "family.nesy",
//!     "parent(alice, bob).\nancestor(X, Y) :- parent(X, Y).\n?- ancestor(alice, W).",
//! );
//! assert!(!checked.has_errors());
//!
//! let broken = nesy::check_source("broken.nesy", "grandparent(X, Z) :- parent(X, Y).");
//! let d = &broken.diagnostics[0];
//! assert_eq!(d.code, "unsafe-variable");
//! assert_eq!(broken.source.locate(d).column, 16);
//! ```

pub use nesy_lang as lang;
pub use nesy_lang::{
    Checked, Diagnostic, Severity, SourceFile, check_file, check_source, format_source,
};
