"""Tiny random-init encoders for tests and CPU smoke runs.

They are saved to a directory and loaded back through `from_pretrained`, the same path as the
real checkpoint. Random weights give near-constant embeddings: good for plumbing and timing,
not for judging what S_video means.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

# The real TimeSformer-K400 checkpoint normalises with these (VideoMAEImageProcessor settings).
TIMESFORMER_MEAN = [0.45, 0.45, 0.45]
TIMESFORMER_STD = [0.225, 0.225, 0.225]


def save_tiny_timesformer(
    path: str | Path,
    image_size: int = 64,
    num_frames: int = 8,
    hidden_size: int = 32,
    num_layers: int = 1,
    num_heads: int = 2,
    patch_size: int = 16,
    seed: int = 0,
) -> Path:
    """Write a tiny TimesformerModel and its preprocessor_config.json to `path`; return the path."""
    from transformers import TimesformerConfig, TimesformerModel

    path = Path(path)
    config = TimesformerConfig(
        image_size=image_size,
        patch_size=patch_size,
        num_frames=num_frames,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size,
    )
    torch.manual_seed(seed)
    TimesformerModel(config).save_pretrained(path)
    preprocessor = {
        "image_processor_type": "VideoMAEImageProcessor",
        "do_normalize": True,
        "image_mean": TIMESFORMER_MEAN,
        "image_std": TIMESFORMER_STD,
        "size": {"shortest_edge": image_size},
        "crop_size": {"height": image_size, "width": image_size},
    }
    (path / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    return path
