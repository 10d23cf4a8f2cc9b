"""Generators: family resolution, and tiny random-init pipelines loaded through from_pretrained."""

import json

import numpy as np
import pytest
from reference_helpers import save_tiny_ltx, save_tiny_wan

from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.generators import FAMILIES, GeneratorOptions, VideoGenerator, make_prompt, resolve_family


def test_prompt_template():
    assert make_prompt("h1", "walking") == "The H1 agent is walking, camera follows the agent."


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("Wan-AI/Wan2.2-TI2V-5B-Diffusers", "wan"),
        ("Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "wan"),
        ("Lightricks/LTX-Video-0.9.7-dev", "ltx"),
        ("THUDM/CogVideoX-5b-I2V", "cogvideox"),
        ("ltx", "ltx"),
    ],
)
def test_family_from_id(model_id, family):
    assert resolve_family(model_id).name == family


def test_family_from_model_index(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    assert resolve_family(str(tmp_path)) is FAMILIES["wan"]
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ReferenceInputError, match="StableDiffusionPipeline.*known families: wan"):
        resolve_family(str(tmp_path))
    with pytest.raises(ReferenceInputError, match="no model_index.json"):
        resolve_family(str(tmp_path / "model_index.json"))


@pytest.mark.parametrize("save", [save_tiny_wan, save_tiny_ltx])
def test_tiny_pipeline_generates_a_video_from_e0(tmp_path, save):
    model_dir = save(tmp_path / "model")
    gen = VideoGenerator(
        GeneratorOptions(model=str(model_dir), num_frames=9, steps=2, height=32, width=32), progress=False
    )
    e0 = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    frames, fps = gen(e0, make_prompt("h1", "walking"), seed=0)
    assert frames.shape == (9, 24, 40, 3) and frames.dtype == np.uint8
    assert fps == gen.family.fps
    again, _ = gen(e0, make_prompt("h1", "walking"), seed=0)
    np.testing.assert_array_equal(frames, again)  # a seed makes the same video
