//! Feeds arbitrary bytes to the decision service's input path: JSON read as
//! an `Input` (as `POST /v1/decide/{name}` does), then decided by a small
//! engine under a time and tuple limit. Nothing may panic; an input that
//! reads must serialize and read back equal, and decide or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nesy::{DecideOptions, Engine, Input, Limits};
use std::sync::OnceLock;
use std::time::Duration;

const RULES: &str = "\
@input applicant, debt_of.
@decl applicant(id: symbol, income: number).
@decl debt_of(id: symbol, debt: number).
approve(A) :- applicant(A, I), debt_of(A, D), D * 4 < I.
reject(A) :- applicant(A, _), not approve(A).
score(A, S) :- applicant(A, I), debt_of(A, D), S = I - D.
";

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::builder()
            .rules_text("fuzz.nesy", RULES)
            .limits(Limits {
                timeout: Some(Duration::from_millis(200)),
                max_tuples: Some(100_000),
                max_events: Some(100_000),
                cancel: None,
            })
            .build()
            .expect("the fuzz engine's rules load")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else {
        return;
    };
    let json = serde_json::to_string(&input).expect("an input serializes");
    let again: Input = serde_json::from_str(&json).expect("a serialized input reads back");
    assert_eq!(
        serde_json::to_value(&again).expect("serializes"),
        serde_json::to_value(&input).expect("serializes"),
        "an input must round-trip"
    );
    for decision in ["approve", "reject", "score"] {
        let _ = engine().decide(decision, &input, &DecideOptions::explained());
    }
});
