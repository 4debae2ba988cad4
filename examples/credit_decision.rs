//! A credit decision from a Rust program: the rules of `rules/credit.nesy`
//! call the CART tree in `models/credit.tree` and apply the bank's policy;
//! each applicant's decision comes with its probability and, for one, the
//! explanation.
//!
//! ```sh
//! cargo run --example credit_decision            # every applicant
//! cargo run --example credit_decision -- a5      # ... and why a5 is decided so
//! ```
#![allow(clippy::print_stdout, reason = "an example prints")]

use nesy::Semiring;
use nesy::{ExplainOptions, Limits, Program, Value};

fn main() -> Result<(), nesy::Error> {
    let program = Program::from_files(&["rules/credit.nesy"])?;
    let limits = Limits::default();
    // Under top-k (exact here) each decision carries the model's probability.
    let (tagged, _) = program.evaluate_tagged(Semiring::TopK(10), &limits)?;
    if let Some(decisions) = tagged.relation("decision") {
        for row in &decisions.rows {
            if let [applicant, decision] = row.tuple.as_slice() {
                println!("{applicant}: {decision} (p = {:.3})", row.probability);
            }
        }
    }
    if let Some(id) = std::env::args().nth(1) {
        let goal = format!("decision({id}, D)");
        for why in program.explain(&goal, &ExplainOptions::default(), &limits)? {
            println!("\n{}", why.to_text());
        }
    }
    // The plain evaluation: the decision that holds for each applicant.
    let plain = program.evaluate(&limits)?;
    assert!(plain.contains("decision", &[Value::symbol("a2"), Value::string("decline")]));
    Ok(())
}
