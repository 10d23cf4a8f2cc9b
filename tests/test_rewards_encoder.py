"""VideoEncoder: loading through from_pretrained, the offline error, torch-only preprocessing."""

import pytest
import torch
from reward_helpers import render_walker, tiny_encoder

from nil_ext.rewards import EncoderUnavailableError, VideoEncoder
from nil_ext.rewards.tiny_models import TIMESFORMER_MEAN, TIMESFORMER_STD, save_tiny_timesformer


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory)


def test_loads_saved_model_with_its_own_normalisation(encoder):
    assert encoder.image_size == 64 and encoder.embed_dim == 32 and encoder.num_frames == 8
    assert encoder.dtype == torch.float32  # CPU
    # A mid-grey uint8 pixel equal to the mean maps to 0 after normalisation.
    mean = torch.tensor(TIMESFORMER_MEAN).view(1, 1, 3, 1, 1)
    std = torch.tensor(TIMESFORMER_STD).view(1, 1, 3, 1, 1)
    x = torch.tensor(114.75).expand(1, 1, 3, 1, 1)
    assert torch.allclose(x * encoder._scale + encoder._shift, (x / 255 - mean) / std, atol=1e-6)


def test_missing_model_offline_raises_helpful_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_id = "nil-ext-tests/no-such-video-encoder"
    with pytest.raises(EncoderUnavailableError, match=f"huggingface-cli download {model_id}") as err:
        VideoEncoder(model_id)
    assert "HF_HOME" in str(err.value)


def test_missing_preprocessor_config_falls_back_to_imagenet(tmp_path):
    path = save_tiny_timesformer(tmp_path / "tiny")
    (path / "preprocessor_config.json").unlink()
    with pytest.warns(UserWarning, match="ImageNet"):
        enc = VideoEncoder(str(path))
    assert torch.allclose(
        enc._shift.flatten(), -torch.tensor([0.485, 0.456, 0.406]) / torch.tensor([0.229, 0.224, 0.225])
    )


def test_prepare_masks_crops_and_resizes(encoder):
    rgb = torch.full((2, 48, 96, 3), 200, dtype=torch.uint8)
    mask = torch.zeros(2, 48, 96, dtype=torch.bool)
    mask[1, :, 24:72] = True  # exactly the centre square
    out = encoder.prepare_frames(rgb, mask)
    assert out.shape == (2, 3, 64, 64) and out.dtype == torch.uint8
    assert torch.all(out[0] == 0)  # background colour everywhere
    assert torch.all(out[1] == 200)  # the centre crop is all foreground


def test_other_image_sizes_and_clip_lengths(encoder):
    # 48 px is 3x3 patches where the checkpoint has 4x4: TimeSformer's layers only reshape
    # correctly once the encoder has set config.image_size to the input size.
    enc = VideoEncoder(encoder.model_id, image_size=48, num_frames=4)
    frames, masks = render_walker(4, 64)
    assert enc(frames[None], masks[None]).shape == (1, 32)
    with pytest.raises(ValueError, match="divisible"):
        VideoEncoder(encoder.model_id, image_size=40)


def test_embeddings_are_batched_and_finite(encoder):
    frames, masks = render_walker(8, 64)
    emb = encoder(frames[None].repeat(5, 1, 1, 1, 1), masks[None].repeat(5, 1, 1, 1))
    assert emb.shape == (5, 32) and emb.dtype == torch.float32 and torch.isfinite(emb).all()
