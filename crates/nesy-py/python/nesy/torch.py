"""Reasoning as a PyTorch layer: probabilities of input facts in (a
network's softmax), probabilities of output facts out, gradients back
through the rules.

    import torch, nesy
    from nesy.torch import Layer

    program = nesy.Program.from_source(
        "addition(X, Y, Z) :- digit(X, A), digit(Y, B), Z = A + B.")
    layer = Layer(
        program,
        inputs={"digit": [(img, d) for img in ("a", "b") for d in range(10)]},
        outputs={"addition": [("a", "b", s) for s in range(19)]},
        semiring="diff-top-k", k=3)
    p_digits = torch.cat([net(image_a).softmax(-1), net(image_b).softmax(-1)], dim=1)
    p_sum = layer(p_digits)                  # batch x 19
    loss = torch.nn.functional.nll_loss(p_sum.clamp_min(1e-9).log(), target)
    loss.backward()                          # gradients reach the network

Each input relation's facts are the columns of one input tensor (batch x
facts), in the order given; each output relation's facts the columns of
one output tensor. With `exclusive=True` (the default) the facts of an
input relation that differ only in their last argument exclude each other
(one annotated disjunction: a softmax over classes); with False each is
independent. The probabilities are computed under `diff-top-k(k)`, exact
when `k` covers every proof; the gradient is that of the computed
probability. torch is needed only here (`pip install torch`).
"""

from typing import Mapping, Optional, Sequence, Union

import torch

from . import _nesy

__all__ = ["Layer"]

Facts = Union[Mapping[str, Sequence[tuple]], Sequence[str]]


def _facts(spec, facts, what):
    """[(relation, [tuple, ...]), ...] from a dict, or from names and `facts`."""
    if isinstance(spec, Mapping):
        return [(name, [tuple(t) for t in tuples]) for name, tuples in spec.items()]
    if isinstance(spec, str):
        spec = [spec]
    out = []
    for name in spec:
        if not facts or name not in facts:
            raise TypeError(f"{what}: give the facts of `{name}` in facts={{'{name}': [...]}}, or {what} as a dict")
        out.append((name, [tuple(t) for t in facts[name]]))
    return out


class _Reason(torch.autograd.Function):
    @staticmethod
    def forward(ctx, layer, *inputs):
        first = inputs[0]
        batch = torch.cat([t.detach().to("cpu", torch.float64) for t in inputs], dim=1)
        probabilities, jacobian = layer._layer.forward(batch.tolist(), layer.timeout)
        ctx.save_for_backward(torch.tensor(jacobian, dtype=torch.float64).reshape(
            batch.shape[0], layer._layer.outputs, layer._layer.inputs))
        ctx.splits = [t.shape[1] for t in inputs]
        ctx.kinds = [(t.dtype, t.device) for t in inputs]
        out = torch.tensor(probabilities, dtype=torch.float64).reshape(batch.shape[0], layer._layer.outputs)
        out = out.to(first.device, first.dtype if first.is_floating_point() else torch.float32)
        return tuple(out.split(layer.output_sizes, dim=1))

    @staticmethod
    def backward(ctx, *grads):
        (jacobian,) = ctx.saved_tensors
        g = torch.cat([x.detach().to("cpu", torch.float64) for x in grads], dim=1)
        g_in = torch.einsum("bo,boi->bi", g, jacobian)
        pieces = g_in.split(ctx.splits, dim=1)
        return (None, *[p.to(device, dtype) for p, (dtype, device) in zip(pieces, ctx.kinds)])


class Layer(torch.nn.Module):
    """A nesy program as a differentiable layer.

    `program`: a `nesy.Program`, or rule text. `inputs` / `outputs`: dicts
    `{relation: [tuple, ...]}` (the facts, in column order), or relation
    names with their facts in `facts`. Calling the layer with one tensor
    per input relation (batch x its facts; a 1-D tensor is a batch of one)
    returns one tensor per output relation (a single tensor when there is
    one)."""

    def __init__(
        self,
        program: Union["_nesy.Program", str],
        inputs: Facts,
        outputs: Facts,
        semiring: str = "diff-top-k",
        k: int = 3,
        exclusive: bool = True,
        facts: Optional[Mapping[str, Sequence[tuple]]] = None,
        timeout: Optional[float] = None,
    ):
        super().__init__()
        if isinstance(program, str):
            program = _nesy.Program.from_source(program)
        if semiring == "diff-top-k":
            semiring = f"diff-top-k({k})"
        inputs = _facts(inputs, facts, "inputs")
        outputs = _facts(outputs, facts, "outputs")
        self._layer = _nesy._Layer(program, inputs, outputs, semiring, exclusive)
        self.input_sizes = [len(t) for _, t in inputs]
        self.output_sizes = [len(t) for _, t in outputs]
        self.single = len(outputs) == 1
        self.timeout = timeout

    def forward(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.input_sizes):
            raise TypeError(f"the layer takes {len(self.input_sizes)} input tensor(s), got {len(inputs)}")
        batched = inputs[0].dim() == 2
        inputs = [t if t.dim() == 2 else t.unsqueeze(0) for t in inputs]
        for t, n in zip(inputs, self.input_sizes):
            if t.shape[1] != n:
                raise ValueError(f"an input tensor has {t.shape[1]} columns, its relation {n} facts")
        out = _Reason.apply(self, *inputs)
        if not batched:
            out = tuple(o.squeeze(0) for o in out)
        return out[0] if self.single else out
