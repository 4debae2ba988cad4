//! `nesy train net`: the network of a neural predicate, an MLP in candle
//! reading an entity's features from a table: trained on labels, or with
//! `--epochs 0` made untrained (seeded), to be trained through the rules
//! by `nesy train program`.

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, epoch_bar, finish};
use nesy::learn::net::{
    Net, NetInput, NetInputs, NetSpec, feature_columns, target_classes, target_labels,
};
use std::path::{Path, PathBuf};

/// `nesy train net`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The input table: a CSV with an id column and numeric features.
    #[arg(long, value_name = "F.csv")]
    data: PathBuf,
    /// The column of entity ids (what rules pass the network).
    #[arg(long, default_value = "id")]
    id: String,
    /// The label column, to train on; without it the network is saved
    /// untrained (`--epochs 0`) for training through the rules.
    #[arg(long)]
    target: Option<String>,
    /// The classes, in order (default: the target's values, numbers in
    /// numeric order).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Hidden layer widths.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    hidden: Vec<usize>,
    /// Read the features as an image of HxW pixels (row by row) and put a
    /// convolution before the hidden layers: `--channels` filters of
    /// `--kernel` x `--kernel`, ReLU, 2x2 max-pooling.
    #[arg(long, value_name = "HxW")]
    image: Option<String>,
    /// Filters of the convolution (with `--image`).
    #[arg(long, default_value_t = 16, requires = "image")]
    channels: usize,
    /// Filter size, odd (with `--image`).
    #[arg(long, default_value_t = 3, requires = "image")]
    kernel: usize,
    /// Passes over the labelled rows (0: save untrained).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// AdamW's step size.
    #[arg(long, default_value_t = 1e-2)]
    lr: f64,
    /// Seeds the weights and the row order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, or cuda (built with `--features cuda`): where the network
    /// trains on labels. The saved file is the same either way.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Labelled rows to report accuracy on (same columns).
    #[arg(long, value_name = "T.csv")]
    test_data: Option<PathBuf>,
    /// The network file to write.
    #[arg(long, short = 'o', value_name = "M.net")]
    output: PathBuf,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy train net`.
pub(crate) fn run(args: &Args) -> CliResult {
    let target = args.target.as_deref();
    let features = feature_columns(&args.data, &args.id, target).map_err(fail)?;
    let classes = match (&args.classes[..], target) {
        ([], Some(t)) => target_classes(&args.data, t).map_err(fail)?,
        ([], None) => {
            return Err(fail(
                "say the classes (`--classes 0,1,2`) or the `--target` column",
            ));
        }
        (given, _) => given.to_vec(),
    };
    if target.is_none() && args.epochs > 0 {
        return Err(fail(
            "training on labels needs `--target`; `--epochs 0` saves an untrained network",
        ));
    }
    let inputs = NetInputs::read(&args.data, &args.id, &features).map_err(fail)?;
    let device = nesy::learn::device(&args.device).map_err(fail)?;
    let conv = match &args.image {
        None => None,
        Some(shape) => {
            let size = shape
                .split_once(['x', 'X'])
                .and_then(|(h, w)| Some((h.trim().parse().ok()?, w.trim().parse().ok()?)));
            let Some((height, width)) = size else {
                return Err(fail(format!(
                    "`--image {shape}`: give the image's rows and columns, such as `8x8`"
                )));
            };
            Some(nesy::learn::net::ConvSpec {
                height,
                width,
                channels: args.channels,
                kernel: args.kernel,
            })
        }
    };
    let spec = NetSpec {
        features,
        hidden: args.hidden.clone(),
        classes: classes.clone(),
        conv,
    };
    let net = Net::for_inputs(spec, &inputs, args.seed, &device).map_err(fail)?;
    let mut report = serde_json::Map::new();
    for (key, value) in [
        ("seed", serde_json::json!(args.seed)),
        ("epochs", serde_json::json!(args.epochs)),
        ("lr", serde_json::json!(args.lr)),
        ("batch", serde_json::json!(args.batch)),
    ] {
        report.insert(key.to_string(), value);
    }
    if let Some(t) = target
        && args.epochs > 0
    {
        let y = target_labels(&args.data, t, &classes).map_err(fail)?;
        let bar = epoch_bar(args.epochs as u64, true);
        let mut progress = |epoch: usize, loss: f64| {
            bar.set_position(epoch as u64);
            bar.set_message(format!("loss {loss:.4}"));
        };
        let fitted = net.fit(
            &inputs.rows,
            &y,
            args.epochs,
            args.batch,
            args.lr,
            args.seed,
            &mut progress,
        );
        bar.finish_and_clear();
        fitted.map_err(fail)?;
        let train_accuracy = net.accuracy(&inputs.rows, &y).map_err(fail)?;
        report.insert(
            "train_accuracy".to_string(),
            serde_json::json!(train_accuracy),
        );
        if let Some(test) = &args.test_data {
            let test_inputs = NetInputs::read(test, &args.id, &net.spec.features).map_err(fail)?;
            let test_y = target_labels(test, t, &classes).map_err(fail)?;
            let test_accuracy = net.accuracy(&test_inputs.rows, &test_y).map_err(fail)?;
            report.insert(
                "test_accuracy".to_string(),
                serde_json::json!(test_accuracy),
            );
        }
    }
    // The table, as the model file reaches it: relative to its directory
    // when it is inside it, else absolute.
    let table = table_path(&args.data, &args.output);
    let input = NetInput {
        table,
        id: args.id.clone(),
    };
    let report = serde_json::Value::Object(report);
    net.save(&input, report.clone(), &args.output)
        .map_err(fail)?;
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({"model": args.output.display().to_string(), "classes": classes, "training": report})
        )),
        SummaryFormat::Text => {
            let conv = net.spec.conv.map_or(String::new(), |c| {
                format!(
                    " ({}x{} image) -> conv {} x {}x{}, max-pool 2x2",
                    c.height, c.width, c.channels, c.kernel, c.kernel
                )
            });
            let mut text = format!(
                "network {}{conv} -> {:?} -> {} classes over {} rows",
                net.spec.features.len(),
                net.spec.hidden,
                classes.len(),
                inputs.rows.len()
            );
            if let Some(a) = report.get("train_accuracy") {
                text.push_str(&format!(", train accuracy {a}"));
            }
            if let Some(a) = report.get("test_accuracy") {
                text.push_str(&format!(", test accuracy {a}"));
            }
            text.push_str(&format!("\nsaved {}\n", args.output.display()));
            finish(&text)
        }
    }
}

fn table_path(data: &Path, output: &Path) -> String {
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(data), std::fs::canonicalize(dir)) {
        (Ok(data), Ok(dir)) => data.strip_prefix(&dir).map_or_else(
            |_| data.display().to_string(),
            |rest| rest.display().to_string(),
        ),
        _ => data.display().to_string(),
    }
}
