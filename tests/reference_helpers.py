"""Small inputs for the Stage 1 tests: synthetic clips and tiny random-init models built from configs.

Nothing here downloads: tokenizers are built from a word list, models from configs, and each
is saved with save_pretrained so that tests load it through the same from_pretrained path users take.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

WORDS = "<pad> </s> <unk> the h1 g1 talos a1 agent is walking running , camera follows .".split()
BACKGROUND = (40, 60, 90)
# The text encoders of both video pipelines (UMT5 for Wan, T5 for LTX): one layer, 16 wide.
TINY_T5 = dict(vocab_size=len(WORDS), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
               relative_attention_num_buckets=8)


def word_tokenizer():
    """A T5-style fast tokenizer over WORDS (pad 0, eos 1, unk 2)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def save_tiny_wan(path: Path) -> Path:
    """A random-init Wan TI2V-style image-to-video pipeline (expand_timesteps) of a few thousand weights."""
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    text = UMT5EncoderModel(UMT5Config(**TINY_T5))
    vae = AutoencoderKLWan(
        base_dim=8,
        z_dim=4,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=4,
        out_channels=4,
        text_dim=16,
        freq_dim=32,
        ffn_dim=32,
        num_layers=1,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    pipe = WanImageToVideoPipeline(
        tokenizer=word_tokenizer(),
        text_encoder=text,
        vae=vae,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        expand_timesteps=True,
    )
    pipe.save_pretrained(path)
    return path


def save_tiny_ltx(path: Path) -> Path:
    """A random-init LTX-Video image-to-video pipeline."""
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXImageToVideoPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    text = T5EncoderModel(T5Config(**TINY_T5))
    vae = AutoencoderKLLTXVideo(
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4,
        upsample_factor=(1,) * 4,
        patch_size=1,
        patch_size_t=1,
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        num_layers=1,
        caption_channels=16,
    )
    pipe = LTXImageToVideoPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text,
        tokenizer=word_tokenizer(),
        transformer=transformer,
    )
    pipe.save_pretrained(path)
    return path


def save_tiny_sam2(path: Path, image_size: int = 128) -> Path:
    """A random-init SAM2 video model: tiny Hiera backbone, the real architecture otherwise.

    Memory attention reads 64-channel memories (fixed in the model), so hidden sizes are 128.
    """
    from transformers import Sam2VideoConfig, Sam2VideoModel
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig
    from transformers.models.sam2_video.configuration_sam2_video import (
        Sam2VideoMaskDecoderConfig,
        Sam2VideoPromptEncoderConfig,
    )

    s = image_size
    hiera = Sam2HieraDetConfig(
        hidden_size=8,
        image_size=[s, s],
        blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[8, 16, 32, 64],
        num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 4, 4],
        global_attention_blocks=[3],
        window_positional_embedding_background_size=[4, 4],
    )
    vision = Sam2VisionConfig(
        backbone_config=hiera,
        backbone_channel_list=[64, 32, 16, 8],
        backbone_feature_sizes=[[s // 4, s // 4], [s // 8, s // 8], [s // 16, s // 16]],
        fpn_hidden_size=128,
    )
    config = Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=Sam2VideoPromptEncoderConfig(hidden_size=128, image_size=s, mask_input_channels=4),
        mask_decoder_config=Sam2VideoMaskDecoderConfig(
            hidden_size=128, mlp_dim=32, num_attention_heads=2, iou_head_hidden_dim=16
        ),
        image_size=s,
        num_maskmem=3,
        memory_attention_hidden_size=128,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=32,
        memory_attention_rope_feat_sizes=[s // 16, s // 16],
        memory_encoder_hidden_size=128,
        mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=32,
        memory_fuser_num_layers=1,
    )
    torch.manual_seed(0)
    Sam2VideoModel(config).save_pretrained(path)
    return path


def articulated_clip(t: int = 16, h: int = 96, w: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A coloured stick figure walking over a plain background: frames (T,H,W,3) uint8, masks (T,H,W) bool.

    Torso, head and two swinging legs of different colours; the body drifts and bobs; edges are
    anti-aliased and the frames carry a little noise, as decoded video does.
    """
    rng = np.random.default_rng(seed)
    ss = 4  # drawn 4x larger and averaged down: true anti-aliasing, and a mask of pixels more than half covered
    frames = np.empty((t, h, w, 3), np.uint8)
    masks = np.empty((t, h, w), bool)
    for k in range(t):
        img = np.full((h * ss, w * ss, 3), BACKGROUND, np.uint8)
        m = np.zeros((h * ss, w * ss), np.uint8)
        cx, cy = w * 0.35 + 2.5 * k, h * 0.4 + 2 * np.sin(k / 2)
        swing = 0.5 * np.sin(k / 2.5)
        parts = [
            ("rect", (cx - 8, cy - 14, cx + 8, cy + 10), (200, 50, 40)),
            ("circle", (cx, cy - 20, 6), (230, 190, 150)),
        ]
        for side in (-1, 1):
            a = side * swing
            hip = (cx + side * 4, cy + 10)
            foot = (hip[0] + 26 * np.sin(a), hip[1] + 26 * np.cos(a))
            parts.append(("line", (*hip, *foot), (230, 200, 40) if side < 0 else (150, 150, 160)))
        for kind, geo, colour in parts:
            g = [round(v * ss) for v in geo]
            for target, c in ((img, colour), (m, 255)):
                if kind == "rect":
                    cv2.rectangle(target, g[:2], g[2:], c, -1)
                elif kind == "circle":
                    cv2.circle(target, g[:2], g[2], c, -1)
                else:
                    cv2.line(target, g[:2], g[2:], c, 6 * ss)
        small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        noisy = small.astype(np.int16) + rng.integers(-4, 5, small.shape)
        frames[k] = np.clip(noisy, 0, 255).astype(np.uint8)
        masks[k] = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA) >= 128
    return frames, masks


def write_png(path: Path, img: np.ndarray) -> Path:
    out = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), out)
    return path


def write_mp4(path: Path, frames: np.ndarray, fps: float = 24.0) -> Path:
    import imageio.v2 as imageio

    with imageio.get_writer(str(path), fps=fps, codec="libx264", macro_block_size=1, quality=9) as w:
        for f in frames:
            w.append_data(f)
    return path
