//! Limits stop the workers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use nesy_dataflow::{Options, evaluate};
use nesy_engine::{Limits, Program};

fn program(text: &str) -> Program {
    let checked = nesy_lang::check_source("t.nesy", text);
    assert!(!checked.has_errors());
    let mut program = Program::new();
    program
        .add_source(&checked.source, &checked.program)
        .unwrap();
    program
}

#[test]
fn the_tuple_limit_stops_a_recursion_without_end() {
    let endless = program("n(0). n(Y) :- n(X), Y = X + 1.");
    let limits = Limits {
        max_tuples: Some(300),
        ..Limits::default()
    };
    let error = evaluate(&endless, &Options::default(), &limits)
        .err()
        .expect("stopped");
    assert!(error.to_string().contains("tuple limit of 300"), "{error}");
}

#[test]
fn the_time_limit_and_the_cancel_flag_stop_it_on_every_worker() {
    let endless = program("n(0). n(Y) :- n(X), Y = X + 1.");
    let limits = Limits {
        timeout: Some(std::time::Duration::from_millis(200)),
        ..Limits::default()
    };
    let options = Options {
        workers: 2,
        ..Options::default()
    };
    let error = evaluate(&endless, &options, &limits)
        .err()
        .expect("stopped");
    assert!(
        matches!(
            error,
            nesy_dataflow::Error::Engine(nesy_engine::Error::Timeout { .. })
        ),
        "{error}"
    );

    let cancel = nesy_engine::Cancel::new();
    let limits = Limits {
        cancel: Some(cancel.clone()),
        ..Limits::default()
    };
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        cancel.cancel();
    });
    let error = evaluate(&endless, &options, &limits)
        .err()
        .expect("stopped");
    stopper.join().unwrap();
    assert!(
        matches!(
            error,
            nesy_dataflow::Error::Engine(nesy_engine::Error::Cancelled)
        ),
        "{error}"
    );
}

#[test]
fn a_cluster_option_out_of_range_is_an_error_not_a_hang() {
    let small = program("e(1).");
    let options = Options {
        workers: 1,
        cluster: Some(nesy_dataflow::Cluster {
            process: 3,
            hosts: vec!["127.0.0.1:1".to_string(), "127.0.0.1:2".to_string()],
        }),
    };
    let error = evaluate(&small, &options, &Limits::default())
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("process 3 of a cluster of 2"),
        "{error}"
    );
}
