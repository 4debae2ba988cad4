//! Random programs for property tests: rules drawn from a pool in
//! layers (a layer may negate or aggregate only earlier layers) over
//! random edges and weights.

#![allow(dead_code, reason = "each test crate uses part of the helpers")]

use proptest::prelude::*;

/// Rules in layers: a layer may negate or aggregate only earlier layers.
pub const POOL: &[&[&str]] = &[
    &[
        "t(X, Y) :- e(X, Y).",
        "t(X, Z) :- t(X, Y), e(Y, Z).",
        "t(X, Z) :- e(X, Y), t(Y, Z).",
        "t(X, Z) :- t(X, Y), t(Y, Z).",
        "sg(X, Y) :- e(P, X), e(P, Y), X != Y.",
        "sg(X, Y) :- e(A, X), sg(A, B), e(B, Y).",
        "lt(X, Y) :- t(X, Y), X < Y.",
        "d(X, V) :- w(X, V).",
        "d(Y, V2) :- d(X, V), e(X, Y), V2 = V + 1, V2 < 8.",
        "loop(X) :- t(X, X).",
    ],
    &[
        "nt(X, Y) :- n(X), n(Y), not t(X, Y).",
        "cnt(X, N) :- n(X), N = count { Y : t(X, Y) }.",
        "tot(X, S) :- n(X), S = sum { V, Y : t(X, Y), w(Y, V) }.",
        "mn(X, M) :- n(X), M = min { V : d(X, V) }.",
        "mx(M) :- M = max { V, X : d(X, V) }.",
        "avg(X, M) :- n(X), M = mean { V : w(X, V) }.",
        "iso(X) :- n(X), not e(X, _), not e(_, X).",
        "scaled(X, Z) :- w(X, V), Z = V * 3 - 2.",
    ],
    &[
        "far(X) :- cnt(X, N), N > 2, not iso(X).",
        "odd(X) :- tot(X, S), S % 2 = 1.",
    ],
];

/// Facts text: nodes 0..6, the edges and the weights.
pub fn facts(edges: &[(u8, u8)], weights: &[(u8, u8)]) -> String {
    let mut text = String::new();
    for n in 0..6 {
        text.push_str(&format!("n({n}).\n"));
    }
    for (a, b) in edges {
        text.push_str(&format!("e({a}, {b}).\n"));
    }
    for (x, v) in weights {
        text.push_str(&format!("w({x}, {v}).\n"));
    }
    // Keep every relation defined, whatever rules were drawn.
    text.push_str("@decl e(a: int, b: int).\n@decl w(a: int, b: int).\n@decl n(a: int).\n");
    text
}

/// Edges, weights, and which rules of each layer are drawn.
pub type Drawn = (Vec<(u8, u8)>, Vec<(u8, u8)>, Vec<Vec<bool>>);

pub fn program_strategy() -> impl Strategy<Value = Drawn> {
    (
        prop::collection::vec((0u8..6, 0u8..6), 0..14),
        prop::collection::vec((0u8..6, 0u8..5), 0..6),
        POOL.iter()
            .map(|layer| prop::collection::vec(any::<bool>(), layer.len()))
            .collect::<Vec<_>>(),
    )
}
