//! nesy's learned components: decision trees, in a statistical variant
//! (CART and random forests grown as scikit-learn grows them, on linfa's
//! traits) and a
//! neural one (a soft decision tree in candle), behind one [`Classifier`]
//! trait; and link prediction on knowledge graphs ([`link`]: rules mined
//! from the graph, embeddings in candle, one evaluator, a hybrid). Both
//! are saved as self-describing model files that rules call.
//!
//! ```
//! use nesy_learn::{Classifier, Table, train, TrainRequest, Holdout, Variant, FitOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let csv = dir.path().join("loans.csv");
//! std::fs::write(&csv, "income,debt,outcome\n10,9,bad\n80,5,good\n70,30,good\n20,15,bad\n90,2,good\n15,1,bad\n")?;
//! let table = Table::from_csv(&csv, "outcome")?;
//! let request = TrainRequest {
//!     variant: Variant::Cart,
//!     cart: Default::default(),
//!     soft: Default::default(),
//!     holdout: Holdout::None,
//!     data_file: "loans.csv",
//!     test_table: None,
//! };
//! let mut progress = |_epoch: usize, _loss: f64| {};
//! let mut options = FitOptions { seed: 0, device: nesy_learn::device("cpu")?, progress: &mut progress };
//! let (model, header, report) = train(&table, &request, &mut options)?;
//! assert_eq!(report.train.accuracy, 1.0);
//! let row = table.schema.encode(&[
//!     nesy_learn::FeatureValue::Number(75.0),
//!     nesy_learn::FeatureValue::Number(10.0),
//! ])?;
//! let prediction = model.classifier().predict(&row);
//! assert_eq!(prediction.class_name, "good");
//! model.save(&header, &dir.path().join("loans.tree"))?;
//! # Ok(())
//! # }
//! ```

pub mod cart;
mod error;
pub mod export;
pub mod grow;
pub mod link;
pub mod metrics;
pub mod model_file;
pub mod net;
pub mod soft;
pub mod table;
pub mod train;
pub mod tree;

pub use error::{Error, Result};
pub use metrics::{Metrics, RegressionErrors};
pub use model_file::{
    Cart, Classifier, DecisionPath, Fit, FitOptions, Forest, Header, Prediction, Soft, Trained,
    TreeModel, Variant,
};
pub use soft::device;
pub use table::{FeatureValue, Schema, Table, Task};
pub use train::{Holdout, TrainReport, TrainRequest, evaluate, train};
