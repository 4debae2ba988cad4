"""nesy.torch.Layer: forward probabilities, gradients through torch's
autograd against finite differences, a network trained through the rules.
Skipped without torch."""

import math
import random

import pytest

import nesy

torch = pytest.importorskip("torch")
from nesy.torch import Layer  # noqa: E402

ADDITION = "addition(X, Y, Z) :- digit(X, A), digit(Y, B), Z = A + B."
CLASSES = 4
DIGITS = [(image, d) for image in ("a", "b") for d in range(CLASSES)]
SUMS = [("a", "b", s) for s in range(2 * CLASSES - 1)]


def softmax(rng, n):
    raw = [math.exp(3 * rng.random()) for _ in range(n)]
    return [x / sum(raw) for x in raw]



def addition_layer(**kwargs):
    return Layer(ADDITION, inputs={"digit": DIGITS}, outputs={"addition": SUMS}, k=20, **kwargs)


def test_forward_is_the_distribution_of_the_sum():
    layer = addition_layer()
    rng = random.Random(0)
    a, b = softmax(rng, CLASSES), softmax(rng, CLASSES)
    out = layer(torch.tensor([a + b], dtype=torch.float64))
    assert out.shape == (1, 2 * CLASSES - 1)
    for s in range(2 * CLASSES - 1):
        expected = sum(a[i] * b[s - i] for i in range(CLASSES) if 0 <= s - i < CLASSES)
        assert out[0, s].item() == pytest.approx(expected, abs=1e-6)
    # A 1-D tensor is one item.
    assert layer(torch.tensor(a + b)).shape == (2 * CLASSES - 1,)


def test_gradients_match_finite_differences():
    layer = addition_layer()
    rng = random.Random(2)
    # Each image's probabilities sum to 0.9 (none of its classes with the
    # rest), so that a finite step stays a valid disjunction: at a sum of
    # exactly 1 the layer scales a step back (the gradient ignores that
    # projection, which a softmax upstream annihilates anyway).
    x = torch.tensor([[0.9 * p for p in softmax(rng, CLASSES) + softmax(rng, CLASSES)] for _ in range(3)],
                     dtype=torch.float64, requires_grad=True)
    weights = torch.tensor([[rng.random() for _ in range(2 * CLASSES - 1)] for _ in range(3)], dtype=torch.float64)
    (layer(x) * weights).sum().backward()
    h = 1e-6
    for item in range(3):
        for i in range(2 * CLASSES):
            up, down = x.detach().clone(), x.detach().clone()
            up[item, i] += h
            down[item, i] -= h
            numeric = ((layer(up) - layer(down)) * weights).sum() / (2 * h)
            assert x.grad[item, i].item() == pytest.approx(numeric.item(), abs=1e-5)


def test_a_network_learns_through_the_rules():
    # Two "images" are one-hot class codes; a linear layer must learn to
    # read them from the sum alone.
    torch.manual_seed(0)
    net = torch.nn.Linear(CLASSES, CLASSES)
    layer = addition_layer()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    eye = torch.eye(CLASSES)
    rng = random.Random(0)
    for _ in range(150):
        a = [rng.randrange(CLASSES) for _ in range(16)]
        b = [rng.randrange(CLASSES) for _ in range(16)]
        p = torch.cat([net(eye[a]).softmax(-1), net(eye[b]).softmax(-1)], dim=1)
        target = torch.tensor([i + j for i, j in zip(a, b)])
        loss = torch.nn.functional.nll_loss(layer(p).clamp_min(1e-9).log(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    predicted = net(eye).argmax(-1).tolist()
    assert predicted == list(range(CLASSES)), predicted


def test_names_with_facts_and_several_outputs():
    program = nesy.Program.from_source(ADDITION + " even(X, Y) :- addition(X, Y, Z), Z % 2 = 0.")
    layer = Layer(program, inputs=["digit"], outputs=["addition", "even"],
                  facts={"digit": DIGITS, "addition": SUMS, "even": [("a", "b")]}, k=20)
    rng = random.Random(5)
    a, b = softmax(rng, CLASSES), softmax(rng, CLASSES)
    sums, even = layer(torch.tensor([a + b]))
    assert even[0, 0].item() == pytest.approx(sum(sums[0, ::2]).item(), abs=1e-5)
    with pytest.raises(TypeError, match="facts"):
        Layer(program, inputs=["digit"], outputs=["addition"])
    with pytest.raises(ValueError, match="columns"):
        layer(torch.zeros(1, 3))


def test_edge_probabilities_learned_from_observed_paths():
    # Not addition: independent facts (exclusive=False) through recursion.
    # Four edge probabilities are recovered from the probabilities of
    # paths they explain; path(a, c) mixes the direct edge with a->b->c.
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]
    paths = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "c"), ("a", "d")]
    layer = Layer("path(X, Y) :- edge(X, Y). path(X, Z) :- edge(X, Y), path(Y, Z).",
                  inputs={"edge": edges}, outputs={"path": paths}, exclusive=False, k=20)
    truth = torch.tensor([[0.9, 0.6, 0.3, 0.7]], dtype=torch.float64)
    target = layer(truth)
    ab, bc, ac, cd = truth[0].tolist()
    assert target[0, 3].item() == pytest.approx(1 - (1 - ac) * (1 - ab * bc), abs=1e-9)
    logits = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.1)
    for _ in range(400):
        loss = ((layer(logits.sigmoid()) - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert logits.sigmoid().detach()[0].tolist() == pytest.approx(truth[0].tolist(), abs=0.02)
