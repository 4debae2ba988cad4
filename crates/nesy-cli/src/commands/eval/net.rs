//! `nesy eval net`: a network's accuracy on labelled rows (a neural
//! predicate's digit accuracy after training through the rules, say).

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, finish};
use nesy::learn::net::{Net, NetInputs, target_labels};
use std::path::PathBuf;

/// `nesy eval net`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The network file.
    #[arg(long, value_name = "M.net")]
    model: PathBuf,
    /// Labelled rows: the network's feature columns, an id and the label.
    #[arg(long, value_name = "T.csv")]
    data: PathBuf,
    /// The label column.
    #[arg(long, default_value = "class")]
    target: String,
    /// The id column.
    #[arg(long, default_value = "id")]
    id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy eval net`.
pub(crate) fn run(args: &Args) -> CliResult {
    let device = nesy::learn::device("cpu").map_err(fail)?;
    let (net, _) = Net::load(&args.model, &device).map_err(fail)?;
    let inputs = NetInputs::read(&args.data, &args.id, &net.spec.features).map_err(fail)?;
    let labels = target_labels(&args.data, &args.target, &net.spec.classes).map_err(fail)?;
    let accuracy = net.accuracy(&inputs.rows, &labels).map_err(fail)?;
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({"accuracy": accuracy, "rows": labels.len()})
        )),
        SummaryFormat::Text => finish(&format!("{} rows: accuracy {accuracy:.4}\n", labels.len())),
    }
}
