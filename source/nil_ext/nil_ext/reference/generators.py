"""Image-to-video generators through diffusers: e0 + prompt -> a video of the robot doing the skill.

Families (any diffusers model id of a family works; the family is read from the id or from the
`_class_name` in its model_index.json):
- wan: WanImageToVideoPipeline. Wan 2.2 TI2V-5B's model_index.json names `WanPipeline`
  (text-to-video), but only WanImageToVideoPipeline takes an image; with TI2V-5B's
  `expand_timesteps=True` it conditions on the first frame the way TI2V-5B was trained.
- ltx: LTXImageToVideoPipeline (Lightricks/LTX-Video).
- cogvideox: CogVideoXImageToVideoPipeline (THUDM/CogVideoX-5b-I2V, 720x480 only).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..assets.robots import ROBOTS
from .errors import ReferenceInputError, model_unavailable
from .video_io import fit_to_camera

PROMPT_TEMPLATE = "The {robot} agent is {skill}, camera follows the agent."
@dataclass(frozen=True)
class Family:
    name: str
    pipeline: str  # diffusers class that takes an image
    default_id: str
    class_names: tuple[str, ...]  # `_class_name`s in model_index.json that belong to the family
    fps: float  # rate the family's videos are made for
    height: int
    width: int
    num_frames: int
    steps: int
    guidance: float
    download_gb: int  # rough size of a first download, for the message
    fixed_size: bool = False  # the model only works at (height, width)
    call_kwargs: dict = field(default_factory=dict)


FAMILIES = {
    "wan": Family(
        name="wan",
        pipeline="WanImageToVideoPipeline",
        default_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        class_names=("WanImageToVideoPipeline", "WanPipeline"),
        fps=24.0,
        height=704,
        width=1280,
        num_frames=121,
        steps=50,
        guidance=5.0,
        download_gb=32,
    ),
    "ltx": Family(
        name="ltx",
        pipeline="LTXImageToVideoPipeline",
        default_id="Lightricks/LTX-Video",
        class_names=("LTXImageToVideoPipeline", "LTXPipeline", "LTXConditionPipeline"),
        fps=25.0,
        height=512,
        width=704,
        num_frames=161,
        steps=50,
        guidance=3.0,
        download_gb=15,
        # decode noise as recommended for LTX-Video 0.9.1+; ignored by VAEs without timestep conditioning
        call_kwargs={"frame_rate": 25, "decode_timestep": 0.05, "decode_noise_scale": 0.025},
    ),
    "cogvideox": Family(
        name="cogvideox",
        pipeline="CogVideoXImageToVideoPipeline",
        default_id="THUDM/CogVideoX-5b-I2V",
        class_names=("CogVideoXImageToVideoPipeline", "CogVideoXPipeline"),
        fps=8.0,
        height=480,
        width=720,
        num_frames=49,
        steps=50,
        guidance=6.0,
        download_gb=21,
        fixed_size=True,
        call_kwargs={"use_dynamic_cfg": True},
    ),
}
DEFAULT_GENERATOR = FAMILIES["wan"].default_id
ID_HINTS = {"wan": "wan", "ltx": "ltx", "cogvideo": "cogvideox"}


def make_prompt(robot: str, skill: str) -> str:
    spec = ROBOTS.get(robot.lower())
    return PROMPT_TEMPLATE.format(robot=spec.task_name if spec else robot, skill=skill)


def resolve_family(model_id: str) -> Family:
    """The family of a model id (a family name, a hub id or a local folder)."""
    if model_id in FAMILIES:
        return FAMILIES[model_id]
    class_name = _class_name(model_id)
    if class_name is not None:
        for fam in FAMILIES.values():
            if class_name in fam.class_names:
                return fam
        raise ReferenceInputError(
            f"generator {model_id!r} is a {class_name}, not an image-to-video model we know; {_known()}"
        )
    for hint, name in ID_HINTS.items():
        if hint in model_id.lower():
            return FAMILIES[name]
    raise ReferenceInputError(f"unknown generator {model_id!r}; {_known()}")


@dataclass
class GeneratorOptions:
    model: str = DEFAULT_GENERATOR  # a model id, a local folder or a family name
    num_frames: int | None = None  # family default when None
    steps: int | None = None
    guidance: float | None = None
    height: int | None = None  # generation size; family area at the camera's aspect when None
    width: int | None = None
    dtype: str = "auto"  # bfloat16 on CUDA, float32 on CPU
    device: str | None = None  # cuda when available
    cpu_offload: bool = False  # enable_model_cpu_offload: whole models move to the GPU in turn
    sequential_offload: bool = False  # enable_sequential_cpu_offload: layer by layer, least memory, slowest
    vae_tiling: bool = False
    negative_prompt: str | None = None


class VideoGenerator:
    """A loaded image-to-video pipeline: __call__(e0, prompt, seed) -> (frames uint8 (T,H,W,3), fps)."""

    def __init__(self, options: GeneratorOptions, progress: bool = True):
        self.options = options
        self.family = resolve_family(options.model)
        self.model_id = self.family.default_id if options.model in FAMILIES else options.model
        self.progress = progress
        self._pipe = None

    @property
    def pipe(self):
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self):
        import diffusers

        o = self.options
        device = o.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = _dtype(o.dtype, device)
        where = "" if Path(self.model_id).is_dir() else f" (first time downloads ~{self.family.download_gb} GB)"
        print(f"loading {self.model_id}{where} as {self.family.pipeline}, {dtype} on {device}", flush=True)
        try:
            pipe = getattr(diffusers, self.family.pipeline).from_pretrained(self.model_id, dtype=dtype)
        except OSError as err:  # offline or an unknown id (the hub's errors are OSErrors)
            raise model_unavailable(
                "video generator", self.model_id, err, "--generator",
                "make the video elsewhere and import it: --export_first_frame DIR writes the first frame to upload "
                "to a web generator, --video CLIP imports the result (or --generator scripted for a scripted demo)",
            ) from err
        if o.sequential_offload:
            pipe.enable_sequential_cpu_offload()
        elif o.cpu_offload:
            pipe.enable_model_cpu_offload()
        else:
            pipe.to(device)
        if o.vae_tiling:
            pipe.vae.enable_tiling()
        pipe.set_progress_bar_config(disable=not self.progress)
        return pipe

    def generation_size(self, cam_height: int, cam_width: int) -> tuple[int, int]:
        """(height, width) to generate at: given, fixed by the model, or the family's area at the camera's aspect."""
        fam, o = self.family, self.options
        mult, _ = self.multiples()
        if o.height and o.width:
            h, w = o.height, o.width
        elif fam.fixed_size:
            h, w = fam.height, fam.width
        else:
            area = fam.height * fam.width
            h = math.sqrt(area * cam_height / cam_width)
            w = h * cam_width / cam_height
        return max(mult, round(h / mult) * mult), max(mult, round(w / mult) * mult)

    def num_frames(self) -> int:
        _, step = self.multiples()
        n = self.options.num_frames or self.family.num_frames
        return max(1, round((n - 1) / step)) * step + 1

    def multiples(self) -> tuple[int, int]:
        """(pixels, frames) the pipeline's sizes must be multiples of (frames: of the form k*step + 1)."""
        p = self.pipe
        if self.family.name == "ltx":
            return p.vae_spatial_compression_ratio * p.transformer_spatial_patch_size, p.vae_temporal_compression_ratio
        patch = p.transformer.config.patch_size
        patch = patch[-1] if isinstance(patch, (list, tuple)) else patch
        return p.vae_scale_factor_spatial * patch, p.vae_scale_factor_temporal

    @torch.no_grad()
    def __call__(self, e0: np.ndarray, prompt: str, seed: int) -> tuple[np.ndarray, float]:
        from PIL import Image

        fam, o = self.family, self.options
        cam_h, cam_w = e0.shape[:2]
        h, w = self.generation_size(cam_h, cam_w)
        image = Image.fromarray(fit_to_camera(e0[None], w, h)[0])
        out = self.pipe(
            image=image,
            prompt=prompt,
            negative_prompt=o.negative_prompt,
            height=h,
            width=w,
            num_frames=self.num_frames(),
            num_inference_steps=o.steps or fam.steps,
            guidance_scale=fam.guidance if o.guidance is None else o.guidance,
            generator=torch.Generator("cpu").manual_seed(seed),
            output_type="np",
            **fam.call_kwargs,
        )
        video = np.asarray(out.frames[0])
        frames = np.clip(video * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return fit_to_camera(frames, cam_w, cam_h), fam.fps


def _class_name(model_id: str) -> str | None:
    """`_class_name` of a local folder's model_index.json, or of a hub repo's (cached) one; None if unknown."""
    local = Path(model_id) / "model_index.json"
    if local.is_file():
        return json.loads(local.read_text()).get("_class_name")
    if Path(model_id).exists():
        raise ReferenceInputError(f"generator folder {model_id} has no model_index.json (not a diffusers pipeline)")
    if any(hint in model_id.lower() for hint in ID_HINTS):
        return None  # the id says the family: no need to ask the hub
    try:
        from huggingface_hub import hf_hub_download

        return json.loads(Path(hf_hub_download(model_id, "model_index.json")).read_text()).get("_class_name")
    except Exception:  # noqa: BLE001 - offline, private or not a pipeline: the caller reports it
        return None


def _known() -> str:
    fams = "; ".join(f"{f.name} ({f.pipeline}, e.g. {f.default_id})" for f in FAMILIES.values())
    return f"known families: {fams}"


def _dtype(name: str, device: str) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]
    except KeyError:
        raise ReferenceInputError(f"unknown dtype {name!r}; use auto, float32, float16 or bfloat16") from None
