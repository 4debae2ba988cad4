//! `nesy kg`: load RDF, query it with SPARQL, update, export, count.

use super::short_iris;
use crate::error::{CliError, CliResult};
use crate::output::{aligned, plural, print_out};
use clap::{Args, Subcommand, ValueEnum};
use nesy::kg::{Graph, KgError, Prefixes};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the graph is: an on-disk store, or files loaded for this command.
#[derive(Args, Debug, Clone)]
pub(crate) struct Source {
    /// An on-disk store (needs a build with `--features rocksdb`).
    #[arg(long, value_name = "DIR", conflicts_with = "data")]
    store: Option<PathBuf>,
    /// An RDF file loaded into a store in memory for this command
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    data: Vec<PathBuf>,
}

/// Which triples are edges of `kg show` and `kg path`.
#[derive(Args, Debug, Clone)]
pub(crate) struct ViewArgs {
    /// Keep triples whose object is a literal (skipped by default: a path
    /// through the number `1` means nothing).
    #[arg(long)]
    literals: bool,
    /// Keep `rdf:type` edges (skipped by default: a path through a class
    /// joins all its members).
    #[arg(long)]
    types: bool,
    /// Only these predicates (IRIs or prefixed names, comma-separated).
    #[arg(long, value_name = "P1,P2", value_delimiter = ',')]
    predicates: Vec<String>,
    /// Never these predicates (IRIs or prefixed names, comma-separated).
    #[arg(long, value_name = "P1,P2", value_delimiter = ',')]
    exclude_predicates: Vec<String>,
}

impl ViewArgs {
    fn filter(&self, prefixes: &Prefixes) -> nesy::kg::EdgeFilter {
        let expand = |names: &[String]| names.iter().map(|n| expand(n, prefixes)).collect();
        nesy::kg::EdgeFilter {
            literals: self.literals,
            types: self.types,
            only: expand(&self.predicates),
            exclude: expand(&self.exclude_predicates),
        }
    }
}

/// A name as a full IRI: `<iri>` and `ex:local` (a known prefix) are
/// expanded; anything else is left for the view to look up.
fn expand(name: &str, prefixes: &Prefixes) -> String {
    let name = name.trim();
    if let Some(iri) = name.strip_prefix('<').and_then(|n| n.strip_suffix('>')) {
        return iri.to_string();
    }
    if let Some((label, local)) = name.split_once(':')
        && !local.starts_with("//")
        && let Some(ns) = prefixes.get(label)
    {
        return format!("{ns}{local}");
    }
    name.to_string()
}

/// SPARQL result formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum ResultFormat {
    /// Aligned columns (TSV cells).
    Table,
    /// SPARQL 1.1 CSV results.
    Csv,
    /// SPARQL 1.1 TSV results.
    Tsv,
    /// SPARQL 1.1 JSON results.
    Json,
    /// SPARQL XML results.
    Xml,
}

/// The `nesy kg` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Load RDF files (Turtle, N-Triples, N-Quads, TriG, RDF/XML; .gz too),
    /// each all or nothing, and print a summary.
    Load {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The on-disk store to load into (without it the files are only
        /// checked).
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        /// Put the triples into this named graph.
        #[arg(long, value_name = "IRI")]
        graph: Option<String>,
    },
    /// Run a SPARQL query: SELECT, ASK, CONSTRUCT or DESCRIBE.
    ///
    /// The prefixes `rdf:`, `rdfs:`, `owl:` and `xsd:`, and those the
    /// `--data` files declare (Turtle, TriG), are known without `PREFIX`
    /// lines (a `PREFIX` in the query wins). The table prints IRIs short
    /// with them (`ex:alice`); TSV, CSV and JSON keep full IRIs, stable
    /// for scripts, unless `--short-iris` is given.
    #[command(verbatim_doc_comment)]
    Query {
        #[command(flatten)]
        source: Source,
        /// The query text.
        #[arg(required_unless_present = "file")]
        query: Option<String>,
        /// Read the query from a file.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Result format (graphs are written as N-Triples).
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        /// Query the union of all graphs as the default graph (for example
        /// to see triples `nesy run --materialize` put in a named graph).
        #[arg(long)]
        union: bool,
        /// Write IRIs with the known prefixes in TSV, CSV and JSON too.
        #[arg(long, conflicts_with = "full_iris")]
        short_iris: bool,
        /// Write full IRIs in the table too.
        #[arg(long)]
        full_iris: bool,
    },
    /// Run a SPARQL update against an on-disk store.
    Update {
        #[command(flatten)]
        source: Source,
        /// The update text.
        update: String,
    },
    /// Write every quad (N-Quads, or `--format nt|ttl|trig`).
    Export {
        #[command(flatten)]
        source: Source,
        /// RDF format, by file extension.
        #[arg(long, default_value = "nq")]
        format: String,
    },
    /// Draw an entity's neighbourhood (edges within `--depth` steps).
    Show {
        #[command(flatten)]
        source: Source,
        /// The entity: an IRI, a prefixed name, or the local name of
        /// exactly one IRI.
        entity: String,
        #[command(flatten)]
        view: ViewArgs,
        /// Steps out from the entity.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        /// `dot` (Graphviz) or `json` (`{"entity", "edges": [{"subject", "predicate", "object"}]}`).
        #[arg(long, default_value = "dot", value_parser = ["dot", "json"])]
        format: String,
    },
    /// Print the shortest relation path between two entities (edges walked
    /// either way; `^p` marks a step against an edge).
    Path {
        #[command(flatten)]
        source: Source,
        /// From: an IRI, a prefixed name, or the local name of one IRI.
        from: String,
        /// To.
        to: String,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Count triples, subjects, predicates and classes; list the top
    /// predicates.
    Stats {
        #[command(flatten)]
        source: Source,
    },
}

fn open(source: &Source) -> Result<Graph, KgError> {
    let graph = match &source.store {
        Some(dir) => Graph::open(dir)?,
        None => Graph::in_memory()?,
    };
    for file in &source.data {
        graph.load_file(file, None)?;
    }
    Ok(graph)
}

/// Runs a `nesy kg` command.
pub(crate) fn run(command: &Command) -> CliResult {
    match command {
        Command::Load {
            files,
            store,
            graph,
        } => load(files, store.as_deref(), graph.as_deref()),
        Command::Query {
            source,
            query: text,
            file,
            format,
            union,
            short_iris,
            full_iris,
        } => {
            let short = match format {
                ResultFormat::Table => !full_iris,
                _ => *short_iris,
            };
            query(
                source,
                text.as_deref(),
                file.as_deref(),
                *format,
                *union,
                short,
            )
        }
        Command::Update {
            source,
            update: text,
        } => update(source, text),
        Command::Export { source, format } => export(source, format),
        Command::Show {
            source,
            entity,
            depth,
            format,
            view,
        } => show(source, entity, *depth, format, view),
        Command::Path {
            source,
            from,
            to,
            view,
        } => path(source, from, to, view),
        Command::Stats { source } => stats(source),
    }
}

/// `nesy kg load`: each file all or nothing, with a summary.
fn load(files: &[PathBuf], store: Option<&Path>, graph: Option<&str>) -> CliResult {
    let target = match &store {
        Some(dir) => Graph::open(dir),
        None => Graph::in_memory(),
    };
    let target = target?;
    let mut total = 0;
    for file in files {
        // A progress bar for files large enough to wait for, on a
        // terminal only (indicatif draws nothing otherwise).
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let bar = if size > 8 << 20 {
            indicatif::ProgressBar::new(size)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(file.display().to_string());
        let loaded = target.load_file_with_progress(file, graph, |read| bar.set_position(read));
        bar.finish_and_clear();
        let summary = loaded?;
        total += summary.quads;
        outln!(
            "{}: {} in {:.2} s",
            file.display(),
            plural(summary.quads, "triple"),
            summary.time.as_secs_f64()
        );
    }
    outln!("{} loaded", plural(total, "triple"));
    Ok(ExitCode::SUCCESS)
}

/// `nesy kg query`.
fn query(
    source: &Source,
    query: Option<&str>,
    file: Option<&Path>,
    format: ResultFormat,
    union: bool,
    short_iris: bool,
) -> CliResult {
    let text = match (query, file) {
        (Some(q), _) => q.to_string(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| CliError::Usage(format!("cannot read `{}`: {e}", f.display())))?,
        (None, None) => return Err(CliError::Usage("give a query or --file".to_string())),
    };
    let graph = open(source)?;
    let ext = match format {
        ResultFormat::Table | ResultFormat::Tsv => "tsv",
        // Short IRIs in CSV are made from JSON (CSV cannot tell an IRI
        // from a string).
        ResultFormat::Csv if short_iris => "json",
        ResultFormat::Csv => "csv",
        ResultFormat::Json => "json",
        ResultFormat::Xml => "xml",
    };
    let prefixes = graph.prefixes();
    let options = nesy::kg::QueryOptions {
        union,
        results_format: ext.to_string(),
        graph_format: "nt".to_string(),
        prefixes: prefixes.clone(),
        ..nesy::kg::QueryOptions::default()
    };
    let mut out = Vec::new();
    let form = graph.run_query(&text, &options, &mut out)?;
    let text = String::from_utf8_lossy(&out).to_string();
    let text = match (form, format) {
        // A graph (CONSTRUCT, DESCRIBE) is N-Triples, left as it is.
        (nesy::kg::QueryForm::Graph(_), _) => text,
        (_, ResultFormat::Table) if short_iris => table(&short_iris::tsv(&text, &prefixes)),
        (_, ResultFormat::Table) => table(&text),
        (_, ResultFormat::Tsv) if short_iris => short_iris::tsv(&text, &prefixes),
        (_, ResultFormat::Json) if short_iris => {
            short_iris::json(&text, &prefixes).map_err(json_error)?
        }
        (_, ResultFormat::Csv) if short_iris => {
            short_iris::csv_from_json(&text, &prefixes).map_err(json_error)?
        }
        _ => text,
    };
    print_out(&text);
    Ok(ExitCode::SUCCESS)
}

fn json_error(e: serde_json::Error) -> CliError {
    CliError::Usage(format!("cannot read the query's JSON results: {e}"))
}

/// `nesy kg update`.
fn update(source: &Source, update: &str) -> CliResult {
    let graph = open(source)?;
    graph.update(update)?;
    Ok(ExitCode::SUCCESS)
}

/// `nesy kg export`.
fn export(source: &Source, format: &str) -> CliResult {
    let graph = open(source)?;
    let stdout = std::io::stdout();
    graph.export(format, stdout.lock())?;
    Ok(ExitCode::SUCCESS)
}

/// `nesy kg show`: an entity's neighbourhood as DOT or JSON.
fn show(source: &Source, entity: &str, depth: usize, format: &str, edges: &ViewArgs) -> CliResult {
    let graph = open(source)?;
    let prefixes = graph.prefixes();
    let view = nesy::kg::GraphView::from_graph_filtered(&graph, &edges.filter(&prefixes))?;
    let Some(focus) = view.find(&expand(entity, &prefixes)) else {
        return Err(CliError::Usage(format!(
            "no entity `{entity}` in the graph (give its IRI)"
        )));
    };
    let edges = view.neighbourhood(&focus, depth);
    let text = if format == "json" {
        let edges: Vec<serde_json::Value> = edges
            .iter()
            .map(|(s, p, o)| serde_json::json!({"subject": s, "predicate": p, "object": o}))
            .collect();
        format!(
            "{:#}\n",
            serde_json::json!({"entity": focus, "edges": edges})
        )
    } else {
        nesy::kg::edges_to_dot(&edges, Some(&focus))
    };
    print_out(&text);
    Ok(ExitCode::SUCCESS)
}

/// `nesy kg path`: the shortest relation path between two entities.
fn path(source: &Source, from: &str, to: &str, edges: &ViewArgs) -> CliResult {
    let graph = open(source)?;
    let prefixes = graph.prefixes();
    let view = nesy::kg::GraphView::from_graph_filtered(&graph, &edges.filter(&prefixes))?;
    let find = |name: &str| {
        view.find(&expand(name, &prefixes)).ok_or_else(|| {
            CliError::Usage(format!(
                "`{name}` is not an entity of the graph's edges (give its IRI or prefixed name; \
                 literals and rdf:type edges are left out unless --literals or --types)"
            ))
        })
    };
    let (a, b) = (find(from)?, find(to)?);
    let short = |v: &nesy::Value| match v {
        nesy::Value::Iri(iri) => prefixes.shorten(iri).unwrap_or_else(|| format!("<{iri}>")),
        other => other.to_string(),
    };
    match view.shortest_path(&a, &b) {
        Some(steps) => {
            outln!("{}", short(&a));
            for step in steps {
                let mark = if step.backwards { "^" } else { "" };
                let label = prefixes
                    .shorten(&step.label)
                    .unwrap_or_else(|| format!("<{}>", step.label));
                outln!("  -{mark}{label}-> {}", short(&step.to));
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            outln!("no path from {} to {}", short(&a), short(&b));
            Err(CliError::Reported)
        }
    }
}

/// `nesy kg stats`: counts and the top predicates.
fn stats(source: &Source) -> CliResult {
    let graph = open(source)?;
    let count = |q: &str| {
        graph.select(q).map(|(_, rows)| {
            rows.first()
                .and_then(|r| r.first())
                .map(|v| v.to_plain_string())
                .unwrap_or_default()
        })
    };
    let lines = [
        (
            "triples",
            "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
        ),
        (
            "subjects",
            "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
        ),
        (
            "predicates",
            "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
        ),
        (
            "classes",
            "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { { ?s a ?c } UNION { GRAPH ?g { ?s a ?c } } }",
        ),
    ];
    for (name, q) in lines {
        outln!("{name:<11}{}", count(q)?);
    }
    let (_, rows) = graph.select("SELECT ?p (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } GROUP BY ?p ORDER BY DESC(?n) LIMIT 10")?;
    outln!("top predicates:");
    for row in rows {
        if let [p, n] = row.as_slice() {
            outln!("  {:>8}  {}", n.to_plain_string(), p.to_plain_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// SPARQL TSV results as aligned columns.
fn table(tsv: &str) -> String {
    let rows: Vec<Vec<String>> = tsv
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    aligned(&rows, "")
}
