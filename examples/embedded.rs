//! A decision inside a Rust program: build the engine once from the credit
//! rules (which call the CART tree in `models/credit.tree`), then decide
//! for each incoming applicant with only their facts added.
//!
//! ```sh
//! cargo run --example embedded
//! ```
#![allow(clippy::print_stdout, reason = "an example prints")]

use nesy::{Engine, Input};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder().rules("rules/credit.nesy").build()?;
    for applicant in [
        r#"{"applicant": [{"id": "c1", "income": 100000, "debt": 27000, "years_employed": 9}]}"#,
        r#"{"applicant": [{"id": "c2", "income": 52000, "debt": 4000, "years_employed": 6}]}"#,
        r#"{"applicant": [["c3", 40000, 30000, 1]], "blacklisted": [["c3"]]}"#,
    ] {
        let input: Input = serde_json::from_str(applicant)?;
        let decision = engine.decide("decision", &input, true)?;
        // The request's own applicant; the base applicants are decided too.
        let id = input
            .0
            .get("applicant")
            .and_then(|rows| rows.first())
            .map(|row| match row {
                nesy::Row::Values(v) => v.first().cloned().unwrap_or_default(),
                nesy::Row::Fields(f) => f.get("id").cloned().unwrap_or_default(),
            });
        for r in decision
            .results
            .iter()
            .filter(|r| r.args.first() == id.as_ref())
        {
            if let [who, what] = r.args.as_slice() {
                println!("{who}: {what} ({} us)", decision.eval_us);
            }
            if let Some(e) = &r.explanation {
                print!("{}", e.to_text());
            }
        }
    }
    Ok(())
}
