"""The differentiable layer under nesy.torch, without torch: its Jacobian
against finite differences, and its errors."""

import random

import pytest

import nesy

ADDITION = "addition(X, Y, Z) :- digit(X, A), digit(Y, B), Z = A + B."
CLASSES = 4
DIGITS = [(image, d) for image in ("a", "b") for d in range(CLASSES)]
SUMS = [("a", "b", s) for s in range(2 * CLASSES - 1)]


def test_jacobian_against_finite_differences():
    layer = nesy._nesy._Layer(
        nesy.Program.from_source("path(X, Y) :- edge(X, Y). path(X, Z) :- edge(X, Y), path(Y, Z)."),
        [("edge", [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")])],
        [("path", [("a", "d"), ("a", "c")])],
        "diff-top-k(50)",
        False,
    )
    rng = random.Random(1)
    x = [0.1 + 0.8 * rng.random() for _ in range(4)]
    [probabilities], [jacobian] = layer.forward([x])
    ab, bc, ac, cd = x
    assert probabilities[1] == pytest.approx(1 - (1 - ac) * (1 - ab * bc), abs=1e-9)
    h = 1e-6
    for i in range(4):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        [pu], _ = layer.forward([up])
        [pd], _ = layer.forward([down])
        for j in range(2):
            assert jacobian[j][i] == pytest.approx((pu[j] - pd[j]) / (2 * h), abs=1e-5)


def test_bad_layer_input():
    program = nesy.Program.from_source(ADDITION)
    with pytest.raises(nesy.InputError, match="diff-top-k"):
        nesy._nesy._Layer(program, [("digit", DIGITS)], [("addition", SUMS)], "top-k(3)")
    with pytest.raises(TypeError):
        nesy._nesy._Layer(program, [("digit", 5)], [("addition", SUMS)], "diff-top-k(3)")
    layer = nesy._nesy._Layer(program, [("digit", DIGITS)], [("addition", SUMS)], "diff-top-k(3)")
    with pytest.raises(nesy.InputError, match="takes 8"):
        layer.forward([[0.5]])
    with pytest.raises(nesy.InputError, match=r"\[0, 1\]"):
        layer.forward([[2.0] * 8])
