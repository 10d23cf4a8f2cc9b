"""Segment the robot in every frame of a reference video, prompted by the simulator's mask of e0.

- "sam2": SAM2 video propagation (transformers' Sam2VideoModel), the mask of frame 0 as prompt.
- "background": the video keeps e0's blanked background, so a colour model learnt from e0
  (background outside the mask, robot inside) separates them; morphology cleans the result
  and only components touching the previous mask are kept. Fast, no weights; fails where the
  generator paints a new background.
Both return (T, H, W) bool with frame 0 equal to the prompt: the simulator's mask is the truth there.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from .errors import ReferenceInputError

DEFAULT_SAM2_MODEL = "facebook/sam2.1-hiera-large"
SEGMENTERS = ("sam2", "background")


class Segmenter(Protocol):
    name: str

    def __call__(self, frames: np.ndarray, first_mask: np.ndarray) -> np.ndarray: ...


def make_segmenter(name: str, sam2_model: str = DEFAULT_SAM2_MODEL, device: str = "cpu", progress: bool = True):
    """A segmenter by name ("sam2" or "background")."""
    if name == "sam2":
        return Sam2Segmenter(sam2_model, device=device, progress=progress)
    if name == "background":
        return BackgroundSegmenter(progress=progress)
    raise ReferenceInputError(f"unknown segmenter {name!r}; known: {', '.join(SEGMENTERS)}")


def check_prompt(frames: np.ndarray, first_mask: np.ndarray) -> np.ndarray:
    first_mask = np.asarray(first_mask).astype(bool)
    if first_mask.shape != frames.shape[1:3]:
        raise ReferenceInputError(f"first-frame mask {first_mask.shape} does not match frames {frames.shape[1:3]}")
    if not first_mask.any():
        raise ReferenceInputError(
            "the first-frame mask is empty: the robot is not in view of the camera (check the camera config "
            "and the robot's start pose)"
        )
    return first_mask


class BackgroundSegmenter:
    """Colour classes learnt on e0 (k-means in Lab), nearest class per pixel, morphology, tracking."""

    name = "background"

    def __init__(
        self,
        clusters: int = 6,
        margin: float = 4.0,
        max_shift: float = 0.08,
        open_px: int = 1,
        close_px: int = 1,
        progress: bool = True,
    ):
        self.clusters = clusters  # colours per class
        self.margin = margin  # Lab units the robot class must win by
        self.max_shift = max_shift  # how far (fraction of the image diagonal) the robot moves between frames
        self.open_px, self.close_px = open_px, close_px
        self.progress = progress

    def __call__(self, frames: np.ndarray, first_mask: np.ndarray) -> np.ndarray:
        first_mask = check_prompt(frames, first_mask)
        lab0 = _lab(frames[0])
        if first_mask.all():
            raise ReferenceInputError("the first-frame mask covers the whole image: no background to learn from")
        # learn away from the outline: edge pixels blend both classes (anti-aliasing, video coding)
        near = cv2.dilate(first_mask.astype(np.uint8), _disk(2)).astype(bool)
        core = cv2.erode(first_mask.astype(np.uint8), _disk(1)).astype(bool)
        bg = _centres(lab0[~near] if (~near).any() else lab0[~first_mask], self.clusters)
        fg = _centres(lab0[core] if core.any() else lab0[first_mask], self.clusters)
        h, w = first_mask.shape
        reach = max(1, int(self.max_shift * np.hypot(h, w)))
        masks = np.empty(frames.shape[:3], bool)
        masks[0] = first_mask
        for t in tqdm(range(1, len(frames)), desc="background segmentation", disable=not self.progress):
            raw = self._classify(_lab(frames[t]), bg, fg)
            masks[t] = self._track(self._clean(raw), masks[t - 1], reach)
        return masks

    def _classify(self, lab: np.ndarray, bg: np.ndarray, fg: np.ndarray) -> np.ndarray:
        d_bg = _nearest(lab, bg)
        d_fg = _nearest(lab, fg)
        return d_fg + self.margin < d_bg

    def _clean(self, mask: np.ndarray) -> np.ndarray:
        m = mask.astype(np.uint8)
        if self.open_px:
            m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _disk(self.open_px))
        if self.close_px:
            m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _disk(self.close_px))
        return m.astype(bool)

    @staticmethod
    def _track(mask: np.ndarray, prev: np.ndarray, reach: int) -> np.ndarray:
        """Keep the components that overlap the previous mask grown by `reach`; the largest if none does."""
        n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        if n <= 1:
            return mask
        near = cv2.dilate(prev.astype(np.uint8), _disk(reach)).astype(bool)
        keep = np.unique(labels[near & mask])
        keep = keep[keep > 0]
        if len(keep) == 0:
            keep = [np.argmax(np.bincount(labels.ravel())[1:]) + 1]
        return np.isin(labels, keep)


class Sam2Segmenter:
    """SAM2 video propagation on transformers' Sam2VideoModel, prompted by a mask on frame 0.

    Frames are preprocessed in torch (square resize, ImageNet normalisation, as SAM2's own
    video processor does) so that no torchvision is needed.
    """

    name = "sam2"

    def __init__(self, model_id: str = DEFAULT_SAM2_MODEL, device: str = "cpu", progress: bool = True):
        self.model_id = model_id
        self.device = device
        self.progress = progress
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from transformers import Sam2VideoModel

            print(f"loading SAM2 {self.model_id} (first time downloads ~1 GB for the large model)", flush=True)
            self._model = Sam2VideoModel.from_pretrained(self.model_id).to(self.device).eval()
        return self._model

    @torch.no_grad()
    def __call__(self, frames: np.ndarray, first_mask: np.ndarray) -> np.ndarray:
        first_mask = check_prompt(frames, first_mask)
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        model = self.model
        size = _square_size(model.config.image_size)
        h, w = first_mask.shape
        session = Sam2VideoInferenceSession(
            video=self._preprocess(frames, size),
            video_height=h,
            video_width=w,
            inference_device=self.device,
            inference_state_device=self.device,
            video_storage_device="cpu",
            dtype=torch.float32,
        )
        # what Sam2VideoProcessor.add_inputs_to_inference_session does for a mask prompt
        prompt = torch.from_numpy(first_mask).float()[None, None]
        prompt = torch.nn.functional.interpolate(prompt, size=(size, size), mode="bilinear", antialias=True)
        obj_idx = session.obj_id_to_idx(1)
        session.add_mask_inputs(obj_idx, 0, (prompt >= 0.5).float())
        session.obj_with_new_inputs = [1]

        masks = np.zeros(frames.shape[:3], bool)
        it = model.propagate_in_video_iterator(session, start_frame_idx=0)
        for out in tqdm(it, total=len(frames), desc="SAM2 propagation", disable=not self.progress):
            logits = out.pred_masks[:, :1].float()  # (objects, 1, h', w')
            logits = torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            masks[out.frame_idx] = (logits[0, 0] > 0).cpu().numpy()
        masks[0] = first_mask
        return masks

    @staticmethod
    def _preprocess(frames: np.ndarray, size: int) -> torch.Tensor:
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
        x = torch.cat(
            [
                torch.nn.functional.interpolate(c, size=(size, size), mode="bilinear", antialias=True)
                for c in x.split(16)
            ]
        )
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return (x - mean) / std


def _square_size(image_size) -> int:
    return int(image_size[0] if isinstance(image_size, (list, tuple)) else image_size)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _centres(pixels: np.ndarray, k: int) -> np.ndarray:
    """k-means centres of (N, 3) Lab pixels (subsampled: a few thousand describe a colour set)."""
    pixels = pixels.reshape(-1, 3).astype(np.float32)
    if len(pixels) > 20000:
        pixels = pixels[np.random.default_rng(0).choice(len(pixels), 20000, replace=False)]
    k = min(k, len(np.unique(pixels.round(1), axis=0)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, _, centres = cv2.kmeans(pixels, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(lab[:, :, None, :] - centres[None, None], axis=-1)
    return d.min(-1)


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
