//! The smallest service-side use of nesy: build an engine from rule text,
//! decide for a JSON input, print the decision as JSON.
//!
//! ```sh
//! cargo run --manifest-path examples/embedding/Cargo.toml
//! ```

use nesy::{DecideOptions, Engine, Input};

const RULES: &str = "
@input applicant.
@decl applicant(id: symbol, income: int, debt: int).
approve(A) :- applicant(A, I, D), D * 4 < I.
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder().rules_text("credit.nesy", RULES).build()?;
    let input: Input = serde_json::from_str(r#"{"applicant": [["c1", 100000, 20000]]}"#)?;
    let decision = engine.decide("approve", &input, &DecideOptions::explained())?;
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}
