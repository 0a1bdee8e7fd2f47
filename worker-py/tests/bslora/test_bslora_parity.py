"""The fused fast path against a plain, deliberately naive implementation of the formulas, written here.

The plain version follows the reference code's operation order for each part separately: slicing the transposed
shared matrices at the centre, running the four gate projections in sequence, and building the Kronecker-extended
matrices with torch.kron. Nothing from bslora's forward or merge code is used to compute the expected values.
"""

import peft
import pytest
import torch

from bslora.layer import BSLoraLayer
from bslora_helpers import ARCHS, make_config

MODES = ["slice", "gate", "kron"]


def plain_adapter_output(layer, adapter, x, tuner):
    """x: (N, in) -> the adapter's contribution (N, out), per part, reference order of operations."""
    spec = layer.bslora_spec[adapter]
    s = layer.bslora_scaling[adapter]
    n_in, n_out = layer.in_features, layer.out_features
    y = torch.zeros(x.shape[0], n_out, dtype=torch.float64)
    x = x.double()
    if spec.r_local:
        y += x @ layer.bslora_A[adapter].double().T @ layer.bslora_B[adapter].double().T
    shared = {}
    if spec.r_intra:
        shared["intra"] = (tuner.bslora_intra_A[adapter][spec.block], tuner.bslora_intra_B[adapter][spec.block])
    if spec.r_inter:
        shared["inter"] = (tuner.bslora_inter_A[adapter], tuner.bslora_inter_B[adapter])
    for part, (A, B) in shared.items():
        A, B = A.double(), B.double()  # A: (r, S_in) like nn.Linear(S_in, r).weight; B: (S_out, r)
        if spec.share_mode == "slice":
            border_a = (A.T.shape[0] - n_in) // 2
            border_b = (B.T.shape[1] - n_out) // 2
            y += x @ A.T[border_a:border_a + n_in, :] @ B.T[:, border_b:border_b + n_out]
        elif spec.share_mode == "gate":
            g = {k: v.double() for k, v in layer.bslora_transform[adapter].items()}
            h = x @ g[f"{part}_in_down"].reshape(1, n_in).T  # input_gate_down: Linear(in -> 1)
            h = h @ g[f"{part}_in_up"].reshape(-1, 1).T  # input_gate_up: Linear(1 -> S)
            h = h @ A.T @ B.T  # shared lora_A, lora_B
            h = h @ g[f"{part}_out_down"].reshape(1, -1).T  # output_gate_down: Linear(S -> 1)
            y += h @ g[f"{part}_out_up"].reshape(n_out, 1).T  # output_gate_up: Linear(1 -> out)
        else:
            g = {k: v.double() for k, v in layer.bslora_transform[adapter].items()}
            sampler_A = g[f"{part}_sampler_A"].reshape(1, -1)  # Linear(in/S -> 1).weight
            sampler_B = g[f"{part}_sampler_B"].reshape(-1, 1)  # Linear(1 -> out/S).weight
            y += x @ torch.kron(sampler_A, A).T @ torch.kron(sampler_B, B).T
    return y * s


def plain_delta_weight(layer, adapter, tuner):
    """ΔW (out, in) from the plain forward applied to the identity."""
    eye = torch.eye(layer.in_features, dtype=torch.float64)
    return plain_adapter_output(layer, adapter, eye, tuner).T


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("mode", MODES)
def test_fast_path_matches_plain_formulas(arch, mode):
    build, targets = ARCHS[arch]
    torch.manual_seed(5)
    pm = peft.get_peft_model(build(), make_config(mode, targets, init_weights=False))
    tuner = pm.base_model
    layers = [m for m in pm.modules() if isinstance(m, BSLoraLayer)]
    assert layers
    g = torch.Generator().manual_seed(3)
    for layer in layers:
        x = torch.randn(5, layer.in_features, generator=g)
        fast = layer._adapter_output("default", x).double()
        torch.testing.assert_close(fast, plain_adapter_output(layer, "default", x, tuner), atol=1e-5, rtol=1e-5)
        # full layer output = base + adapter, in the layer's own layout (Conv1D for GPT-2)
        with torch.no_grad():
            full = layer(x).double() - layer.get_base_layer()(x).double()
        torch.testing.assert_close(full, plain_adapter_output(layer, "default", x, tuner), atol=1e-5, rtol=1e-5)
        delta = layer.get_delta_weight("default").double()
        expected = plain_delta_weight(layer, "default", tuner)
        if layer.fan_in_fan_out:
            expected = expected.T
        torch.testing.assert_close(delta, expected, atol=1e-5, rtol=1e-5)


def test_plain_formulas_see_the_reference_structure():
    """Sanity of the plain implementation itself on a hand-checkable case (kron with explicit blocks)."""
    A = torch.arange(6.0).reshape(2, 3)  # r=2, S=3
    k = torch.tensor([[2.0, -1.0]])
    assert torch.equal(torch.kron(k, A), torch.cat([2 * A, -A], dim=1))
    B = torch.arange(6.0).reshape(3, 2)
    t = torch.tensor([[1.0], [3.0]])
    assert torch.equal(torch.kron(t, B), torch.cat([B, 3 * B], dim=0))
