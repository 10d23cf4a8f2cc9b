"""The video term's memory: chunks and fused attention change how much the encoder holds, never what it returns."""

import pytest
import torch
from reward_helpers import render_walker
from torch.utils._python_dispatch import TorchDispatchMode

from nil_ext.rewards import ClipSimilarity, VideoEncoder, reference_clip_embeddings
from nil_ext.rewards.fused_attention import use_fused_attention
from nil_ext.rewards.tiny_models import save_tiny_timesformer
from nil_ext.rewards.video_encoder import chunk_for_memory, clip_activation_bytes

SIZE, FRAMES, HEADS = 64, 8, 2
SPATIAL_TOKENS = (SIZE // 16) ** 2 + 1  # a frame's patches and the CLS token


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # two layers and two heads: the attention's reshapes between layers and heads are exercised
    return str(save_tiny_timesformer(tmp_path_factory.mktemp("tiny"), image_size=SIZE, num_layers=2, num_heads=HEADS))


@pytest.fixture(scope="module")
def fused(model_dir):
    return VideoEncoder(model_dir)


@pytest.fixture(scope="module")
def eager(model_dir):
    return VideoEncoder(model_dir, attention="eager")


@pytest.fixture(scope="module")
def clips():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (5, FRAMES, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)


class OutputShapes(TorchDispatchMode):
    """Records the shape of every tensor an aten op returns."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append(tuple(t.shape))
        return out


def score_tensors(encoder, clips):
    """Outputs shaped (..., tokens, tokens): attention scores or probabilities, spatial or temporal."""
    with OutputShapes() as rec:
        encoder.embed_prepared(clips)
    return [s for s in rec.shapes if len(s) >= 3 and s[-2:] in ((SPATIAL_TOKENS,) * 2, (FRAMES,) * 2)]


def test_timesformer_gets_fused_attention(fused, eager):
    # transformers 5.10's TimeSformer has no sdpa of its own: its attention modules are patched on this instance
    assert fused.attention == "sdpa-patched" and eager.attention == "eager"
    patched = [m for m in fused.model.modules() if hasattr(m, "_eager_forward")]
    assert len(patched) == 4  # spatial and temporal attention of each of the two layers
    assert not any(hasattr(m, "_eager_forward") for m in eager.model.modules())
    assert use_fused_attention(fused.model) == 0  # patching twice changes nothing


def test_fused_and_eager_attention_give_the_same_embeddings(fused, eager, clips):
    a, b = fused.embed_prepared(clips), eager.embed_prepared(clips)
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), (a - b).abs().max()
    assert not torch.allclose(a[0], a[1], atol=1e-6)  # the clips differ, and so do their embeddings


def test_fused_attention_holds_no_score_tensor(fused, eager, clips):
    assert score_tensors(eager, clips)  # the eager path does: the check can see one
    assert score_tensors(fused, clips) == []


def test_eager_fallback_when_attention_probabilities_are_asked_for(fused, clips):
    x = (clips[:1].float() * fused._scale + fused._shift).to(fused.dtype)
    with torch.inference_mode():
        out = fused.model(pixel_values=x, output_attentions=True)
    assert out.attentions is not None and out.attentions[0].shape[-1] == SPATIAL_TOKENS


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_chunked_and_whole_batch_give_the_same_embeddings(fused, clips, chunk):
    whole = fused.embed_prepared(clips)
    assert torch.allclose(fused.embed_prepared(clips, chunk_size=chunk), whole, atol=1e-5, rtol=1e-4)


def test_chunks_bound_the_batch_each_forward_sees(model_dir, clips):
    enc = VideoEncoder(model_dir, chunk_size=2)
    seen = []
    enc._forward = lambda x: (seen.append(len(x)), enc._forward_impl(x))[1]
    assert enc.embed_prepared(clips).shape == (5, 32)
    assert seen == [2, 2, 1]
    with pytest.raises(ValueError, match="chunk_size"):
        VideoEncoder(model_dir, chunk_size=0)


def test_cpu_runs_the_whole_batch_unless_told(fused):
    assert fused.chunk_size is None and fused.auto_chunk_size(4096) == 4096


def test_clip_similarity_passes_its_chunk_size(fused):
    frames, masks = render_walker(12, SIZE)
    embeddings = reference_clip_embeddings(fused, frames, masks, FRAMES, 1)
    chunked = VideoEncoder(fused.model_id)
    seen = []
    chunked._forward = lambda x: (seen.append(len(x)), fused._forward_impl(x))[1]
    scores = [ClipSimilarity(encoder, embeddings, 4, FRAMES, 1, chunk_size=chunk)
              for encoder, chunk in ((chunked, 3), (fused, None))]
    agent = frames[3:7].clone(), masks[3:7].clone()
    index = torch.arange(3, 7)
    for _ in range(3):
        a, b = (score(*agent, index) for score in scores)
    assert seen == [3, 1] * 3
    assert torch.allclose(a, b, atol=1e-5)


def test_chunk_from_free_memory():
    per_clip = 40 * 2**20
    assert chunk_for_memory(80 * 2**30, per_clip, 4096) == 1024  # half of 80 GiB / 40 MiB
    assert chunk_for_memory(80 * 2**30, per_clip, 500) == 500  # never more than the batch
    assert chunk_for_memory(10 * 2**20, per_clip, 4096) == 1  # one clip at least: the error then says it all


def test_activation_estimate_of_timesformer_base():
    from transformers import TimesformerConfig

    base = TimesformerConfig()  # 768 wide, 3072 MLP, 16 px patches: the K400 checkpoint's shape
    bf16 = clip_activation_bytes(base, 224, 8, torch.bfloat16)
    assert 30 * 2**20 < bf16 < 60 * 2**20  # 1,569 tokens x (10 x 768 + 2 x 3072) x 2 bytes + the input
    assert clip_activation_bytes(base, 112, 8, torch.bfloat16) < bf16 / 3  # a quarter of the tokens
