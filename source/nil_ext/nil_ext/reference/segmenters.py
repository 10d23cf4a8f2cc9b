"""Segment the robot in every frame of a reference video, prompted by a mask of frame 0.

The first mask is the simulator's mask of e0 for a generated video, or `prompts.first_frame_mask` for a
video made elsewhere.

- "sam2": SAM2 video propagation (transformers' Sam2VideoModel), the mask of frame 0 as prompt, or the
  user's box / clicks (`prompt=`) where given.
- "grabcut": the previous mask carried by dense optical flow seeds GrabCut in each frame; colour models
  are re-learnt every frame. No weights; works on new backgrounds and with a moving camera.
- "background": the video keeps e0's blanked background, so a colour model learnt from e0
  (background outside the mask, robot inside) separates them; morphology cleans the result
  and only components touching the previous mask are kept. Fast, no weights; fails where the
  generator paints a new background.
All return (T, H, W) bool with frame 0 equal to the first mask, and take the same optional `prompt`
keyword (a `prompts.RobotPrompt`); only SAM2 uses it, the others start from the first mask made from it.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from .errors import ReferenceInputError, model_unavailable
from .image_ops import colour_centres, disk, nearest_colour_distance
from .prompts import RobotPrompt

DEFAULT_SAM2_MODEL = "facebook/sam2.1-hiera-large"
SEGMENTERS = ("sam2", "background", "grabcut")


class Segmenter(Protocol):
    name: str

    def __call__(self, frames: np.ndarray, first_mask: np.ndarray, prompt: RobotPrompt | None = None) -> np.ndarray:
        ...


def make_segmenter(name: str, sam2_model: str = DEFAULT_SAM2_MODEL, device: str = "cpu", progress: bool = True):
    """A segmenter by name ("sam2", "background" or "grabcut")."""
    if name == "sam2":
        return Sam2Segmenter(sam2_model, device=device, progress=progress)
    if name == "background":
        return BackgroundSegmenter(progress=progress)
    if name == "grabcut":
        return GrabCutSegmenter(progress=progress)
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

    def __call__(self, frames: np.ndarray, first_mask: np.ndarray, prompt: RobotPrompt | None = None) -> np.ndarray:
        first_mask = check_prompt(frames, first_mask)  # `prompt` unused: first_mask is made from it upstream
        lab0 = _lab(frames[0])
        if first_mask.all():
            raise ReferenceInputError("the first-frame mask covers the whole image: no background to learn from")
        # learn away from the outline: edge pixels blend both classes (anti-aliasing, video coding)
        near = cv2.dilate(first_mask.astype(np.uint8), disk(2)).astype(bool)
        core = cv2.erode(first_mask.astype(np.uint8), disk(1)).astype(bool)
        bg = colour_centres(lab0[~near] if (~near).any() else lab0[~first_mask], self.clusters)
        fg = colour_centres(lab0[core] if core.any() else lab0[first_mask], self.clusters)
        h, w = first_mask.shape
        reach = max(1, int(self.max_shift * np.hypot(h, w)))
        masks = np.empty(frames.shape[:3], bool)
        masks[0] = first_mask
        for t in tqdm(range(1, len(frames)), desc="background segmentation", disable=not self.progress):
            raw = self._classify(_lab(frames[t]), bg, fg)
            masks[t] = self._track(self._clean(raw), masks[t - 1], reach)
        return masks

    def _classify(self, lab: np.ndarray, bg: np.ndarray, fg: np.ndarray) -> np.ndarray:
        d_bg = nearest_colour_distance(lab, bg)
        d_fg = nearest_colour_distance(lab, fg)
        return d_fg + self.margin < d_bg

    def _clean(self, mask: np.ndarray) -> np.ndarray:
        m = mask.astype(np.uint8)
        if self.open_px:
            m = cv2.morphologyEx(m, cv2.MORPH_OPEN, disk(self.open_px))
        if self.close_px:
            m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, disk(self.close_px))
        return m.astype(bool)

    @staticmethod
    def _track(mask: np.ndarray, prev: np.ndarray, reach: int) -> np.ndarray:
        """Keep the components that overlap the previous mask grown by `reach`; the largest if none does."""
        n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        if n <= 1:
            return mask
        near = cv2.dilate(prev.astype(np.uint8), disk(reach)).astype(bool)
        keep = np.unique(labels[near & mask])
        keep = keep[keep > 0]
        if len(keep) == 0:
            keep = [np.argmax(np.bincount(labels.ravel())[1:]) + 1]
        return np.isin(labels, keep)


class GrabCutSegmenter:
    """Track the robot frame to frame: flow-warped previous mask -> GrabCut seed -> the parts that track it.

    Per frame: dense optical flow (DIS, at reduced resolution) carries the previous mask into the frame;
    GrabCut is seeded with the warped mask as probable foreground, a band around it as probable background
    and sure background beyond; colour models are learnt afresh in every frame
    (lighting and background change as the camera moves). Only components near the warped mask are kept.
    When GrabCut's answer is implausible (empty, or far smaller or larger than the warped mask) the warped
    mask is kept instead and counted in `fallbacks`; a cut shrinking where the warped or the previous mask
    touches the image border is the robot leaving, and is kept. Once the warped mask is empty the robot has left the
    frame and the remaining masks are empty.
    """

    name = "grabcut"

    def __init__(
        self,
        flow_size: int = 128,
        band: float = 0.055,
        core_px: int = 0,
        iterations: int = 2,
        min_ratio: float = 0.5,
        max_ratio: float = 1.8,
        colour_margin: float | None = None,
        progress: bool = True,
    ):
        self.flow_size = flow_size  # longest side the optical flow is computed at (speed)
        # half-width of the uncertain band around the warped outline, fraction of the diagonal. Wide enough for
        # GrabCut's background model to see the ground around the feet: a dark robot over a grid floor in its
        # shadow kept its legs at 0.055 (mean IoU 0.74 -> 0.91; docs/experiments/2026-11-25-grabcut-band.md)
        self.band = band
        # erosion of the warped mask made sure foreground; 0: none, since a background patch the mask once
        # swallowed (the gap between crossing legs) would then stay foreground for good (measured: IoU 0.97 -> 0.58)
        self.core_px = core_px
        self.iterations = iterations
        self.min_ratio, self.max_ratio = min_ratio, max_ratio  # plausible area of the cut vs the warped mask
        # pixels near the warped mask whose colour is the first frame's robot's (closer to its colours than to the
        # ground's around it by this many Lab units) seed GrabCut as probable robot: a dark leg that swung out of the
        # warped mask is otherwise lost for good. Off by default: on H1 mid-stride over a light floor it raised the
        # mean IoU 0.93 -> 0.97, over a grid floor whose lines in the shadow are as dark as the robot it did nothing,
        # and on the textured-background test it lost the robot's last frames (min IoU 0.82 -> 0.76)
        self.colour_margin = colour_margin
        self.progress = progress
        self.fallbacks = 0  # frames of the last call that kept the warped mask

    def __call__(self, frames: np.ndarray, first_mask: np.ndarray, prompt: RobotPrompt | None = None) -> np.ndarray:
        first_mask = check_prompt(frames, first_mask)  # `prompt` unused: first_mask is made from it upstream
        t, h, w = frames.shape[:3]
        band = max(3, round(self.band * np.hypot(h, w)))
        scale = min(1.0, self.flow_size / max(h, w))
        small = (max(8, round(w * scale)), max(8, round(h * scale)))
        flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
        masks = np.zeros((t, h, w), bool)
        masks[0] = first_mask
        self.fallbacks = 0
        colours = None if self.colour_margin is None else _robot_and_ground_colours(frames[0], first_mask, band)
        prev_grey = _grey(frames[0], small)
        for k in tqdm(range(1, t), desc="grabcut segmentation", disable=not self.progress):
            grey = _grey(frames[k], small)
            # backward flow (this frame -> previous) tells where each pixel came from
            back = flow.calc(grey, prev_grey, None)
            back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR) / scale
            warped = cv2.remap(masks[k - 1].astype(np.float32), grid + back, None, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0) >= 0.5
            prev_grey = grey
            if not warped.any():
                if masks[k - 1].any():
                    warped = masks[k - 1]  # flow lost a small mask: keep it one more frame
                else:
                    continue  # the robot has left the frame
            cut = self._cut(frames[k], warped, band, colours)
            area, ref = cut.sum(), warped.sum()
            # the previous mask counts too: once the robot has gone, flow on the bare background can pull the
            # warped mask back off the border, and keeping it would leave a ghost that GrabCut never clears
            leaving = area < self.min_ratio * ref and (_touches_border(warped) or _touches_border(masks[k - 1]))
            if not leaving and not (self.min_ratio * ref <= area <= self.max_ratio * ref):
                cut = warped  # an implausible cut while the robot is in view: keep the flow's answer
                self.fallbacks += 1
            masks[k] = cut
        if self.fallbacks and self.progress:
            print(f"[grabcut] kept the flow-warped mask in {self.fallbacks} of {t - 1} frames", flush=True)
        return masks

    def _cut(self, frame: np.ndarray, warped: np.ndarray, band: int, colours=None) -> np.ndarray:
        h, w = warped.shape
        m = warped.astype(np.uint8)
        near = cv2.dilate(m, disk(band)).astype(bool)
        likely = np.zeros_like(warped)
        if colours is not None:
            lab = _lab(frame)
            likely = near & (nearest_colour_distance(lab, colours[0]) + self.colour_margin
                             < nearest_colour_distance(lab, colours[1]))
        # GrabCut on the crop around the robot: the far background says nothing about the robot's edges
        ys, xs = np.nonzero(near)
        pad = 2 * band
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + 1 + pad)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + 1 + pad)
        seed = np.full((h, w), cv2.GC_BGD, np.uint8)
        seed[near] = cv2.GC_PR_BGD
        seed[warped] = cv2.GC_PR_FGD
        if self.core_px:
            seed[cv2.erode(m, disk(self.core_px)).astype(bool)] = cv2.GC_FGD
        seed[likely] = cv2.GC_FGD
        seed = seed[y0:y1, x0:x1].copy()
        if not (seed == cv2.GC_BGD).any() and not (seed == cv2.GC_PR_BGD).any():
            return warped
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1, ::-1])  # GrabCut expects BGR
        cv2.grabCut(crop, seed, None, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
        cut = np.zeros((h, w), bool)
        cut[y0:y1, x0:x1] = (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
        return BackgroundSegmenter._track(_close(cut), warped | likely, max(1, band // 2))


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
            try:
                self._model = Sam2VideoModel.from_pretrained(self.model_id).to(self.device).eval()
            except OSError as err:  # offline or an unknown id (the hub's errors are OSErrors)
                raise model_unavailable(
                    "SAM2 model", self.model_id, err, "--sam2-model", "segment offline with --segmenter grabcut (no "
                    "weights; --segmenter background for videos generated from e0's blank background)"
                ) from err
        return self._model

    @torch.no_grad()
    def __call__(self, frames: np.ndarray, first_mask: np.ndarray, prompt: RobotPrompt | None = None) -> np.ndarray:
        """Propagate from frame 0: the user's box / clicks where `prompt` has them, else `first_mask`."""
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
        obj_idx = session.obj_id_to_idx(1)
        if prompt is not None and not prompt.empty:
            prompt.check_inside(h, w)
            session.add_point_inputs(obj_idx, 0, _sam2_points(prompt, h, w, size))
        else:
            # what Sam2VideoProcessor.add_inputs_to_inference_session does for a mask prompt
            mask = torch.from_numpy(first_mask).float()[None, None]
            mask = torch.nn.functional.interpolate(mask, size=(size, size), mode="bilinear", antialias=True)
            session.add_mask_inputs(obj_idx, 0, (mask >= 0.5).float())
        session.obj_with_new_inputs = [1]

        masks = np.zeros(frames.shape[:3], bool)
        it = model.propagate_in_video_iterator(session, start_frame_idx=0)
        for out in tqdm(it, total=len(frames), desc="SAM2 propagation", disable=not self.progress):
            logits = out.pred_masks[:, :1].float()  # (objects, 1, h', w')
            logits = torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            masks[out.frame_idx] = (logits[0, 0] > 0).cpu().numpy()
        if prompt is None or prompt.empty or not masks[0].any():
            masks[0] = first_mask  # a mask prompt is the truth of frame 0; a box / clicks keep SAM2's own cut
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


def _sam2_points(prompt: RobotPrompt, h: int, w: int, size: int) -> dict:
    """Box corners (labels 2, 3) then clicks (label 1), scaled to the model's square input, as
    Sam2VideoProcessor.add_inputs_to_inference_session builds them."""
    coords, labels = [], []
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        coords += [(x0, y0), (x1, y1)]
        labels += [2, 3]
    for x, y in prompt.points:
        coords.append((x, y))
        labels.append(1)
    xy = torch.tensor(coords, dtype=torch.float32) * torch.tensor([size / w, size / h])
    return {"point_coords": xy[None, None], "point_labels": torch.tensor(labels, dtype=torch.int32)[None, None]}


def _robot_and_ground_colours(frame: np.ndarray, mask: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Lab colour centres of the robot (inside the mask) and of the ground around it (a ring a few bands wide)."""
    lab = _lab(frame)
    m = mask.astype(np.uint8)
    ring = cv2.dilate(m, disk(3 * band)).astype(bool) & ~cv2.dilate(m, disk(1)).astype(bool)
    core = cv2.erode(m, disk(1)).astype(bool)
    robot, ground = colour_centres(lab[core] if core.any() else lab[mask], 4), colour_centres(lab[ring], 6)
    # a colour in both sets is a mistake of the first mask (ground between the legs inside it, a limb outside it) or
    # a line in a shadow's core as dark as the robot: it says nothing about which is which, so neither set keeps it
    apart = np.linalg.norm(robot[:, None] - ground[None], axis=-1) > 12.0
    robot, ground = robot[apart.all(1)], ground[apart.all(0)]
    return (robot, ground) if len(robot) and len(ground) else None


def _touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def _grey(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)


def _close(mask: np.ndarray) -> np.ndarray:
    """Fill pinholes; no opening: it would erase limbs 1-2 px wide (specks are dropped by tracking instead)."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, disk(1)).astype(bool)


def _square_size(image_size) -> int:
    return int(image_size[0] if isinstance(image_size, (list, tuple)) else image_size)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)



