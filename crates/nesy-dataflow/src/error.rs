//! What can go wrong: the engine's own errors (arithmetic, limits), a
//! program the backend cannot run, a cluster that cannot start.

use nesy_lang::Location;

/// An error of the dataflow backend.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// As the native engine reports it: arithmetic, limits, compilation.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] nesy_engine::Error),
    /// A feature of the program the dataflow backend does not evaluate.
    #[error("{location}: the dataflow backend cannot evaluate {what}")]
    #[diagnostic(
        code(nesy::dataflow::unsupported),
        help(
            "run the program on the native engine (leave out `--backend dataflow`), which evaluates everything the language has"
        )
    )]
    Unsupported {
        /// The rule that uses it.
        location: Location,
        /// What it is.
        what: String,
    },
    /// A hosts file that cannot be read or names no usable address.
    #[error("hosts file {path}: {message}")]
    #[diagnostic(
        code(nesy::dataflow::hosts),
        help("one `host:port` per line, the same file for every process; line I is process I")
    )]
    Hosts {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// A cluster option out of range, or timely failing to start its
    /// workers (a port in use, a peer that never connects).
    #[error("dataflow cluster: {0}")]
    #[diagnostic(code(nesy::dataflow::cluster))]
    Cluster(String),
}
