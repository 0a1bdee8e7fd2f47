"""The BSLoRA adapter layer: a fused forward for the three parts and a closed-form ΔW for merging.

Notation (PyTorch convention, W ∈ R^{out×in}): for each adapter and adapted module,

    ΔW = s · ( B_loc A_loc + Σ_{p ∈ {intra, inter}} T(B_p A_p) )

with A_loc ∈ R^{r_l×in}, B_loc ∈ R^{out×r_l}, shared A_p ∈ R^{r_p×S_in}, B_p ∈ R^{S_out×r_p} and T by mode:

* slice: T(B A) = B[c_o:c_o+out, :] · A[:, c_i:c_i+in], centred crops, c = (S − dim) // 2 (reference code).
* gate:  T(B A) = (g_odᵀ B A g_iu) · g_ou g_idᵀ (rank 1; the reference's four gate Linear layers).
* kron:  T(B A) = kron(K_B, B) · kron(K_A, A) = (K_B K_A) ⊗ (B A), with K_A ∈ R^{1×in/S}, K_B ∈ R^{out/S×1}.

Forward, all modes: each part is turned into a pair of low-rank factors of the module's own shape and the parts are
concatenated along the rank dimension into one (A_cat, B_cat) pair, applied as a single LoRA product:

* slice: the factors are views (centred crops) of the shared matrices;
* gate:  each shared part is the rank-1 pair (g_id, c · g_ou), so gate mode costs a LoRA of rank r_l + 2;
* kron:  kron(K_A, A) = [k_1 A | k_2 A | ...] is built by broadcasting K_A against A and a reshape (r × in, the size
  of a LoRA factor), never with torch.kron, and ΔW (out × in) is never formed.

So a forward + backward costs one LoRA of rank r_l + r_intra + r_inter (slice, kron) or r_l + 2 (gate), plus building
factors whose size is that of LoRA's own parameters. Merging uses the same factors: ΔW = s · B_cat @ A_cat, which for
kron equals (K_B K_A) ⊗ (B A) block by block.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from peft.tuners.tuners_utils import BaseTunerLayer, check_adapters_to_merge
from peft.utils.other import transpose

from .config import BSLoraConfig
from .plan import AdapterPlan, TargetInfo


@dataclass(frozen=True)
class LayerSpec:
    """Per-adapter, per-module constants (no tensors)."""

    share_mode: str
    r_local: int
    r_intra: int
    r_inter: int
    block: str
    share_in: int
    share_out: int
    crop_in: int  # slice: first column of the centred crop of A
    crop_out: int  # slice: first row of the centred crop of B
    kron_shared_dropout: bool

    def parts(self) -> list[str]:
        return [p for p, r in (("intra", self.r_intra), ("inter", self.r_inter)) if r > 0]


# Mixed-adapter batches stack the factors of all adapters of one shape and apply them with batched matmuls. False:
# one adapter at a time (the reference path; bench_serving.py times both in one run).
MIXED_BATCH_STACKED = True


class SharedStore:
    """Unregistered handle on the tuner-level shared containers.

    Layers must not register the shared tensors (they would be saved once per layer), so they keep this plain object
    and look the tensors up by key at every use: ``load_state_dict(assign=True)`` may replace the Parameter objects.
    """

    def __init__(self, intra_A: nn.ModuleDict, intra_B: nn.ModuleDict, inter_A: nn.ParameterDict,
                 inter_B: nn.ParameterDict):
        self.intra_A, self.intra_B, self.inter_A, self.inter_B = intra_A, intra_B, inter_A, inter_B

    def pair(self, adapter: str, part: str, block: str) -> tuple[torch.Tensor, torch.Tensor]:
        if part == "intra":
            return self.intra_A[adapter][block], self.intra_B[adapter][block]
        return self.inter_A[adapter], self.inter_B[adapter]


def kaiming_uniform_like_linear_(tensor: torch.Tensor, fan_in: int) -> torch.Tensor:
    """nn.init.kaiming_uniform_(a=sqrt(5)) of an nn.Linear weight with this fan-in: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


class BSLoraLayer(BaseTunerLayer):
    adapter_layer_names = ("bslora_A", "bslora_B", "bslora_transform")
    other_param_names = ("bslora_spec", "bslora_scaling", "bslora_dropout")

    def __init__(self, base_layer: nn.Module, **kwargs) -> None:
        self.base_layer = base_layer
        self.bslora_A = nn.ParameterDict({})
        self.bslora_B = nn.ParameterDict({})
        self.bslora_transform = nn.ModuleDict({})
        self.bslora_dropout = nn.ModuleDict({})
        self.bslora_spec: dict[str, LayerSpec] = {}
        self.bslora_scaling: dict[str, float] = {}
        self._bslora_store: Optional[SharedStore] = None
        self._disable_adapters = False
        self.merged_adapters = []
        self.kwargs = kwargs

        base = self.get_base_layer()
        if isinstance(base, nn.Linear):
            self.in_features, self.out_features = base.in_features, base.out_features
        else:  # transformers Conv1D: weight is (in, out)
            self.in_features, self.out_features = base.weight.shape

    # ------------------------------------------------------------------ creation
    def update_layer(self, adapter_name: str, config: BSLoraConfig, plan: AdapterPlan, target: TargetInfo,
                     store: SharedStore) -> None:
        if (target.in_features, target.out_features) != (self.in_features, self.out_features):
            raise ValueError(f"BSLoRA plan shape mismatch for '{target.key}'.")
        self._bslora_store = store
        spec = LayerSpec(
            share_mode=plan.share_mode,
            r_local=plan.r_local,
            r_intra=plan.r_intra,
            r_inter=plan.r_inter,
            block=target.block,
            share_in=plan.share_in,
            share_out=plan.share_out,
            crop_in=(plan.share_in - self.in_features) // 2,
            crop_out=(plan.share_out - self.out_features) // 2,
            kron_shared_dropout=config.kron_shared_dropout,
        )
        self.bslora_spec[adapter_name] = spec
        self.bslora_scaling[adapter_name] = config.scale
        self.bslora_dropout[adapter_name] = nn.Dropout(config.lora_dropout) if config.lora_dropout > 0 else nn.Identity()

        weight = self.get_base_layer().weight
        factory = {"device": weight.device}
        if config.r_local > 0:
            A = torch.empty(config.r_local, self.in_features, **factory)
            B = torch.empty(self.out_features, config.r_local, **factory)
            self._init_local(A, B, config)
            self.bslora_A[adapter_name] = nn.Parameter(A)
            self.bslora_B[adapter_name] = nn.Parameter(B)
        shapes = plan.transform_shapes(target)
        if shapes:
            params = nn.ParameterDict({})
            for name, shape in shapes.items():
                t = torch.empty(*shape, **factory)
                # fan-in of the reference's nn.Linear weight: in_down (1×in) -> in, in_up (S×1) -> 1,
                # out_down (1×S) -> S, out_up (out×1) -> 1, sampler_A (1×in/S) -> in/S, sampler_B (out/S×1) -> 1
                fan_in = shape[0] if name.endswith(("_in_down", "_out_down", "_sampler_A")) else 1
                kaiming_uniform_like_linear_(t, fan_in)
                params[name] = nn.Parameter(t)
            self.bslora_transform[adapter_name] = params

        self._move_adapter_to_device_of_base_layer(adapter_name)
        self.set_adapter(self.active_adapters, inference_mode=config.inference_mode)

    def _init_local(self, A: torch.Tensor, B: torch.Tensor, config: BSLoraConfig) -> None:
        # Same random stream as PEFT LoRA (nn.Linear(in, r) init, nn.Linear(r, out) init, then reset of A), so that with
        # r_intra = r_inter = 0 and the same seed BSLoRA and PEFT LoRA start from identical weights.
        with torch.no_grad():
            nn.init.kaiming_uniform_(A, a=math.sqrt(5))
            nn.init.kaiming_uniform_(B, a=math.sqrt(5))
            if config.init_weights == "gaussian":
                nn.init.normal_(A, std=1.0 / config.r_local)
                B.zero_()
            elif config.init_weights:
                nn.init.kaiming_uniform_(A, a=math.sqrt(5))
                B.zero_()

    # ------------------------------------------------------------------ factors
    def _shared(self, adapter: str, part: str, dtype: torch.dtype, device: torch.device):
        spec = self.bslora_spec[adapter]
        A, B = self._bslora_store.pair(adapter, part, spec.block)
        return A.to(device=device, dtype=dtype), B.to(device=device, dtype=dtype)

    def _dtype_device(self, adapter: str) -> tuple[torch.dtype, torch.device]:
        if adapter in self.bslora_A:
            p = self.bslora_A[adapter]
        elif adapter in self.bslora_transform:
            p = next(iter(self.bslora_transform[adapter].values()))
        else:
            spec = self.bslora_spec[adapter]
            p = self._bslora_store.pair(adapter, spec.parts()[0], spec.block)[0]
        return p.dtype, p.device

    def _lowrank_factors(self, adapter: str, dtype, device, parts: Optional[tuple[str, ...]] = None):
        """(A_cat, B_cat) with ΔW = s · B_cat @ A_cat, for every mode.

        ``parts`` selects among "local", "intra", "inter" (default: all that exist). The factors have the size of a
        LoRA of the same total rank (R × in and out × R); ΔW itself is never built in the forward pass.
        """
        spec = self.bslora_spec[adapter]
        if parts is None:
            parts = ("local", *spec.parts())
        As, Bs = [], []
        if "local" in parts and spec.r_local > 0:
            As.append(self.bslora_A[adapter])
            Bs.append(self.bslora_B[adapter])
        shared_parts = [p for p in spec.parts() if p in parts]
        g = self.bslora_transform[adapter] if shared_parts and spec.share_mode != "slice" else None
        for part in shared_parts:
            A, B = self._shared(adapter, part, dtype, device)
            if spec.share_mode == "slice":
                # centred crops of the max-size shared pair (views, no copy)
                As.append(A[:, spec.crop_in: spec.crop_in + self.in_features])
                Bs.append(B[spec.crop_out: spec.crop_out + self.out_features, :])
            elif spec.share_mode == "gate":
                # x -> g_id·x -> ·g_iu -> A -> B -> g_od· -> ·g_ou collapses to ΔW_part = c · g_ou g_idᵀ with the
                # scalar c = g_odᵀ B A g_iu: a rank-1 term, applied as one extra rank of the fused product
                c = torch.dot(g[f"{part}_out_down"], B @ (A @ g[f"{part}_in_up"]))
                As.append(g[f"{part}_in_down"].unsqueeze(0))
                Bs.append((c * g[f"{part}_out_up"]).unsqueeze(1))
            else:
                # kron(K_A, A) = [k_1 A | k_2 A | ...] and kron(K_B, B) = [t_1 B; t_2 B; ...], built by broadcasting
                # and a reshape (r × in and out × r, the size of LoRA factors) rather than torch.kron
                kA, kB = g[f"{part}_sampler_A"], g[f"{part}_sampler_B"]
                As.append((kA[None, :, None] * A[:, None, :]).reshape(A.shape[0], self.in_features))
                Bs.append((kB[:, None, None] * B[None, :, :]).reshape(self.out_features, B.shape[1]))
        if len(As) == 1:
            return As[0], Bs[0]
        return torch.cat(As, dim=0), torch.cat(Bs, dim=1)

    # ------------------------------------------------------------------ merge
    def get_delta_weight(self, adapter: str) -> torch.Tensor:
        """ΔW in the base layer's weight layout (transposed for Conv1D), scaling included."""
        dtype, device = self._dtype_device(adapter)
        cast_to_fp32 = device.type == "cpu" and dtype in (torch.float16, torch.bfloat16)
        work_dtype = torch.float32 if cast_to_fp32 else dtype
        with torch.no_grad():
            A_cat, B_cat = self._lowrank_factors(adapter, work_dtype, device)
            delta = B_cat.to(work_dtype) @ A_cat.to(work_dtype)
            delta = delta * self.bslora_scaling[adapter]
        delta = transpose(delta, self.fan_in_fan_out)
        return delta.to(self.get_base_layer().weight.dtype)

    def merge(self, safe_merge: bool = False, adapter_names: Optional[list[str]] = None) -> None:
        adapter_names = check_adapters_to_merge(self, adapter_names)
        if not adapter_names:
            return
        base = self.get_base_layer()
        for adapter in adapter_names:
            if adapter not in self.bslora_spec:
                continue
            delta = self.get_delta_weight(adapter)
            if safe_merge:
                merged = base.weight.data.clone() + delta
                if not torch.isfinite(merged).all():
                    raise ValueError(f"NaNs detected in the merged weights. The adapter {adapter} seems to be broken")
                base.weight.data = merged
            else:
                base.weight.data += delta
            self.merged_adapters.append(adapter)

    def unmerge(self) -> None:
        if not self.merged:
            warnings.warn("Already unmerged. Nothing to do.")
            return
        while self.merged_adapters:
            adapter = self.merged_adapters.pop()
            if adapter in self.bslora_spec:
                self.get_base_layer().weight.data -= self.get_delta_weight(adapter)

    # ------------------------------------------------------------------ forward
    def _adapter_output(self, adapter: str, x: torch.Tensor) -> torch.Tensor:
        spec = self.bslora_spec[adapter]
        dtype, _ = self._dtype_device(adapter)
        x = self._cast_input_dtype(x, dtype)
        dropout = self.bslora_dropout[adapter]
        scaling = self.bslora_scaling[adapter]
        xd = dropout(x)
        dropout_active = isinstance(dropout, nn.Dropout) and dropout.training and dropout.p > 0
        if spec.share_mode == "kron" and not spec.kron_shared_dropout and dropout_active and spec.parts():
            # reference behaviour (kron_shared_dropout=False): no dropout on the shared kron path
            A_sh, B_sh = self._lowrank_factors(adapter, x.dtype, x.device, tuple(spec.parts()))
            out = F.linear(F.linear(x, A_sh), B_sh)
            if spec.r_local > 0:
                out = out + F.linear(F.linear(xd, self.bslora_A[adapter]), self.bslora_B[adapter])
            return out * scaling
        A_cat, B_cat = self._lowrank_factors(adapter, x.dtype, x.device)
        return F.linear(F.linear(xd, A_cat), B_cat) * scaling

    def _bslora_forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        adapter_names = kwargs.pop("adapter_names", None)
        if self.disable_adapters:
            if self.merged:
                self.unmerge()
            return self.base_layer(x, *args, **kwargs)
        if adapter_names is not None:
            return self._mixed_batch_forward(x, *args, adapter_names=adapter_names, **kwargs)
        if self.merged:
            return self.base_layer(x, *args, **kwargs)
        result = self.base_layer(x, *args, **kwargs)
        result_dtype = result.dtype
        for adapter in self.active_adapters:
            if adapter not in self.bslora_spec:
                continue
            result = result + self._adapter_output(adapter, x)
        return result.to(result_dtype)

    def _mixed_batch_forward(self, x: torch.Tensor, *args: Any, adapter_names: list[str], **kwargs: Any):
        if len(adapter_names) != len(x):
            raise ValueError(
                f"Length of `adapter_names` ({len(adapter_names)}) must equal the batch size ({len(x)})."
            )
        if self.merged:
            raise ValueError("Cannot pass `adapter_names` when there are merged adapters; unmerge first.")
        result = self.base_layer(x, *args, **kwargs)
        rows: dict[str, list[int]] = {}
        for i, name in enumerate(adapter_names):
            rows.setdefault(name, []).append(i)
        # rows of "__base__" (or of an adapter this module does not carry) get the base layer's output
        adapters = [a for a in rows if a != "__base__" and a in self.bslora_spec]
        if not adapters:
            return result
        if not MIXED_BATCH_STACKED or any(self._dropout_active(a) for a in adapters):
            return self._mixed_batch_loop(x, result, rows, adapters)
        # adapters of the same ranks and mode have factors of the same shapes: each such group is stacked once and
        # applied to all its rows with two batched matmuls, instead of two matmuls per adapter
        groups: dict[tuple, list[str]] = {}
        for a in adapters:
            groups.setdefault(self._stack_signature(a), []).append(a)
        for members in groups.values():
            result = self._mixed_batch_stacked(x, result, rows, members)
        return result

    def _dropout_active(self, adapter: str) -> bool:
        dropout = self.bslora_dropout[adapter]
        return isinstance(dropout, nn.Dropout) and dropout.training and dropout.p > 0

    def _stack_signature(self, adapter: str) -> tuple:
        spec = self.bslora_spec[adapter]
        return spec.share_mode, spec.r_local, spec.r_intra, spec.r_inter, spec.crop_in, spec.crop_out

    def _mixed_batch_loop(self, x: torch.Tensor, result: torch.Tensor, rows: dict[str, list[int]],
                          adapters: list[str]) -> torch.Tensor:
        """One adapter at a time: its factors, then its rows (the reference for the stacked path; used with dropout)."""
        result_dtype = result.dtype
        for adapter in adapters:
            idx = rows[adapter]
            result[idx] += self._adapter_output(adapter, x[idx]).to(result_dtype)
        return result

    def _stacked_factors(self, members: list[str], dtype: torch.dtype, device: torch.device):
        """(A, B) of shapes (G, R, in) and (G, out, R): member g's ΔW = s_g · B[g] @ A[g], as ``_lowrank_factors``."""
        spec = self.bslora_spec[members[0]]  # the same ranks, mode and crops for every member
        As, Bs = [], []
        if spec.r_local > 0:
            As.append(torch.stack([self.bslora_A[a] for a in members]).to(device=device, dtype=dtype))
            Bs.append(torch.stack([self.bslora_B[a] for a in members]).to(device=device, dtype=dtype))
        store, block = self._bslora_store, spec.block
        for part in spec.parts():
            pairs = [store.pair(a, part, block) for a in members]
            if spec.share_mode == "slice":
                # the centred crops, stacked (the crop is a view, the stack the one copy)
                ci, co = spec.crop_in, spec.crop_out
                As.append(torch.stack([A[:, ci: ci + self.in_features] for A, _ in pairs]).to(device=device,
                                                                                               dtype=dtype))
                Bs.append(torch.stack([B[co: co + self.out_features, :] for _, B in pairs]).to(device=device,
                                                                                                dtype=dtype))
                continue
            A = torch.stack([p[0] for p in pairs]).to(device=device, dtype=dtype)  # (G, r, S_in)
            B = torch.stack([p[1] for p in pairs]).to(device=device, dtype=dtype)  # (G, S_out, r)

            def g(name: str) -> torch.Tensor:
                return torch.stack([self.bslora_transform[a][f"{part}_{name}"] for a in members]).to(
                    device=device, dtype=dtype)

            if spec.share_mode == "gate":
                # c_g = g_odᵀ B A g_iu per member, then the rank-1 pair (g_id, c · g_ou), as in _lowrank_factors
                c = (g("out_down").unsqueeze(1) @ (B @ (A @ g("in_up").unsqueeze(2)))).reshape(-1)
                As.append(g("in_down").unsqueeze(1))
                Bs.append((c[:, None] * g("out_up")).unsqueeze(2))
            else:
                kA, kB = g("sampler_A"), g("sampler_B")  # (G, in/S), (G, out/S)
                G, r = A.shape[0], A.shape[1]
                As.append((kA[:, None, :, None] * A[:, :, None, :]).reshape(G, r, self.in_features))
                Bs.append((kB[:, :, None, None] * B[:, None, :, :]).reshape(G, self.out_features, r))
        if len(As) == 1:
            return As[0], Bs[0]
        return torch.cat(As, dim=1), torch.cat(Bs, dim=2)

    def _mixed_batch_stacked(self, x: torch.Tensor, result: torch.Tensor, rows: dict[str, list[int]],
                             members: list[str]) -> torch.Tensor:
        dtype, device = self._dtype_device(members[0])
        A, B = self._stacked_factors(members, dtype, device)
        row_index, row_member, row_scale = [], [], []
        for m, adapter in enumerate(members):
            row_index += rows[adapter]
            row_member += [m] * len(rows[adapter])
            row_scale += [self.bslora_scaling[adapter]] * len(rows[adapter])
        index = torch.tensor(row_index, device=x.device)
        counts = {len(rows[a]) for a in members}
        if len(counts) > 1:  # members with different row counts: each row gets its member's factors
            member = torch.tensor(row_member, device=A.device)
            A, B = A.index_select(0, member), B.index_select(0, member)
            groups = len(row_index)
        else:  # k rows per member, contiguous in row_index: one (k · tokens × in) slab per member, no copies
            groups = len(members)
        xs = self._cast_input_dtype(x.index_select(0, index), dtype)
        xs3 = xs.reshape(groups, -1, self.in_features)
        out = torch.bmm(torch.bmm(xs3, A.transpose(1, 2)), B.transpose(1, 2))
        out = out.reshape(*xs.shape[:-1], self.out_features)
        if len(set(row_scale)) == 1:
            out = out * row_scale[0]
        else:
            scale = torch.tensor(row_scale, dtype=out.dtype, device=out.device)
            out = out * scale.reshape(-1, *([1] * (out.dim() - 1)))
        out = out.to(result.dtype)
        return result.index_add(0, index.to(result.device), out)



class Linear(nn.Module, BSLoraLayer):
    """BSLoRA on an nn.Linear, or on a transformers Conv1D with fan_in_fan_out=True."""

    def __init__(self, base_layer: nn.Module, adapter_name: str, config: BSLoraConfig, plan: AdapterPlan,
                 target: TargetInfo, store: SharedStore, fan_in_fan_out: bool = False, **kwargs) -> None:
        super().__init__()
        BSLoraLayer.__init__(self, base_layer, **kwargs)
        self.fan_in_fan_out = fan_in_fan_out
        self._active_adapter = adapter_name
        self.update_layer(adapter_name, config, plan, target, store)

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self._bslora_forward(x, *args, **kwargs)

    def __repr__(self) -> str:
        return "bslora." + super().__repr__()
