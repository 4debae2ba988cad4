//! `nesy export-rules`: a CART tree as nesy rules, one weighted rule per
//! leaf.

use crate::error::{CliResult, fail};
use crate::learned::{finish, load_model};
use std::path::PathBuf;
use std::process::ExitCode;

/// `nesy export-rules`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The model file (a CART tree).
    #[arg(long)]
    model: PathBuf,
    /// Write the rules here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The relation the rules derive, `NAME(Id, Class)` (default: the
    /// model file's name).
    #[arg(long)]
    name: Option<String>,
    /// The relation the rules read, `INPUT(Id, feature...)` (default:
    /// `NAME_input`).
    #[arg(long)]
    input: Option<String>,
}

/// `nesy export-rules`.
pub(crate) fn run(args: &Args) -> CliResult {
    let (model_path, output) = (args.model.as_path(), args.output.as_deref());
    let (name, input) = (args.name.as_deref(), args.input.as_deref());
    let model = load_model(model_path)?;
    if model.schema().task == nesy::learn::Task::Regression {
        return Err(fail(format!(
            "{}: a regression tree's leaves are numbers, not class shares to weigh rules with; export-rules takes a classification CART model",
            model_path.display()
        )));
    }
    let Some(tree) = &model.cart else {
        return Err(fail(format!(
            "{}: a {} model has no single tree to write as rules; export-rules takes a CART model (`--variant cart`)",
            model_path.display(),
            model.header.variant
        )));
    };
    let stem = model_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".to_string());
    // A nesy identifier made of the file's name.
    let default_name = nesy::learn::link::rules::relation_name(&stem);
    let name = name.map(str::to_string).unwrap_or(default_name);
    let input = input
        .map(str::to_string)
        .unwrap_or_else(|| format!("{name}_input"));
    let text = nesy::learn::export::tree_rules(
        tree,
        model.schema(),
        model.leaf_smoothing(),
        &name,
        &input,
        &model_path.display().to_string(),
    );
    match output {
        Some(path) => match nesy::learn::model_file::write_atomic(path, text.as_bytes()) {
            Ok(()) => {
                errln!("wrote {} ({} rules)", path.display(), tree.leaves().len());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(fail(e)),
        },
        None => finish(&text),
    }
}
