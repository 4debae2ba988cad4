//! A decision inside a Rust program: build the engine once from the credit
//! rules (which call the CART tree in `models/credit.tree`), then decide
//! for each incoming applicant with only their facts added.
//!
//! ```sh
//! cargo run --example embedded
//! ```
#![allow(clippy::print_stdout, reason = "an example prints")]

use nesy::{DecideOptions, Engine, Input, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::builder().rules("rules/credit.nesy").build()?;
    let requests = [
        // JSON, as a service would receive it: fields named by @decl.
        (
            "c1",
            serde_json::from_str::<Input>(
                r#"{"applicant": [{"id": "c1", "income": 100000, "debt": 27000, "years_employed": 9}]}"#,
            )?,
        ),
        // Typed facts, as Rust code builds them.
        (
            "c2",
            Input::new().fact(
                "applicant",
                vec![
                    Value::symbol("c2"),
                    Value::Int(52000),
                    Value::Int(4000),
                    Value::Int(6),
                ],
            ),
        ),
        // The program takes applicants only (`@input applicant.`): a
        // request cannot add to the blacklist, or an approval.
        (
            "c3",
            Input::new().fact(
                "applicant",
                vec![
                    Value::symbol("c3"),
                    Value::Int(40000),
                    Value::Int(30000),
                    Value::Int(1),
                ],
            ),
        ),
    ];
    for (id, input) in &requests {
        let decision = engine.decide("decision", input, &DecideOptions::explained())?;
        // The base applicants are decided too; show this request's.
        for r in &decision.results {
            if let [who, what] = r.args.as_slice()
                && *who == Value::symbol(*id)
            {
                println!("{who}: {what} ({} us)", decision.eval_us);
                if let Some(e) = &r.explanation {
                    print!("{e}");
                }
            }
        }
    }
    Ok(())
}
