"""PyTorch's fused attention for models whose transformers class offers only the eager one (TimeSformer).

Eager attention materialises (batch x heads x tokens x tokens) scores and their softmax: for TimeSformer-base at
224 px that is 8 x 12 x 197 x 197 values per clip and layer, twice, which is what ran a 4,096-env batch out of
memory. ``torch.nn.functional.scaled_dot_product_attention`` computes the same result in fused kernels (flash /
memory-efficient on CUDA) that never hold the whole score tensor.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import nn

# transformers' TimeSformer self-attention: one fused qkv projection, `num_heads`, `scale`, `attn_drop`.
PATCHABLE = ("TimesformerSelfAttention",)


def _sdpa_forward(self, hidden_states: torch.Tensor, output_attentions: bool = False):
    if output_attentions:  # the probabilities are asked for: only the eager path has them
        return self._eager_forward(hidden_states, output_attentions)
    batch, tokens, channels = hidden_states.shape
    qkv = self.qkv(hidden_states).reshape(batch, tokens, 3, self.num_heads, channels // self.num_heads)
    query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    dropout = self.attn_drop.p if self.training else 0.0
    context = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout, scale=self.scale)
    return (context.transpose(1, 2).reshape(batch, tokens, channels),)


def use_fused_attention(model: nn.Module) -> int:
    """Route every TimeSformer self-attention of ``model`` through scaled_dot_product_attention (in place, on these
    instances only: the class keeps its eager forward). Returns how many modules were patched."""
    patched = 0
    for module in model.modules():
        if type(module).__name__ in PATCHABLE and not hasattr(module, "_eager_forward"):
            module._eager_forward = module.forward
            module.forward = types.MethodType(_sdpa_forward, module)
            patched += 1
    return patched
