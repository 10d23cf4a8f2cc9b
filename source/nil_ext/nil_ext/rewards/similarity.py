"""The imitation terms, batched over envs: video-embedding similarity and mask IoU (the paper's), and the closeness of
the two silhouettes (ours, off by default)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def video_similarity(agent_emb: torch.Tensor, ref_emb: torch.Tensor) -> torch.Tensor:
    """S_video: cosine similarity of (N,D) embeddings -> (N,) in [-1, 1], computed in fp32."""
    return F.cosine_similarity(agent_emb.float(), ref_emb.float(), dim=-1, eps=1e-8)


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """S_iou: IoU of (N,H,W) bool masks -> (N,) in [0, 1].

    Both empty -> 1.0: the two agree that nothing is in view. (Isaac Lab's follow camera keeps the
    robot in view, so this case means the reference ran out of robot, not that the agent hid.)
    """
    a, b = a.bool(), b.bool()
    inter = (a & b).flatten(1).sum(1)
    union = (a | b).flatten(1).sum(1)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter, dtype=torch.float32)).float()


def soft_mask_iou(a: torch.Tensor, b: torch.Tensor, sigma_px: float = 3.0) -> torch.Tensor:
    """IoU of (N,H,W) bool masks each blurred by a Gaussian of ``sigma_px`` pixels -> (N,) in [0, 1]:
    sum(min) / sum(max) of the blurred masks (their fuzzy IoU).

    Why: a humanoid's leg at 64 px is one or two pixels wide, so a leg three pixels from the reference's scores as
    little as one ten pixels away and the plain IoU pays nothing for a stride that lengthens towards the
    reference's until the legs overlap. Blurred, two limbs a few ``sigma_px`` apart still share mass, more the nearer
    they are. Both empty -> 1 (as :func:`mask_iou`); one empty -> 0.
    """
    radius = max(1, round(3 * sigma_px))
    x = torch.arange(-radius, radius + 1, device=a.device, dtype=torch.float32)
    kernel = torch.exp(-x.square() / (2 * sigma_px**2))
    kernel = kernel / kernel.sum()
    masks = torch.stack([a, b], 1).float().flatten(0, 1)[:, None]  # (2N,1,H,W)
    # separable blur, zeros beyond the image
    masks = F.conv2d(masks, kernel.view(1, 1, 1, -1), padding=(0, radius))
    masks = F.conv2d(masks, kernel.view(1, 1, -1, 1), padding=(radius, 0)).view(a.shape[0], 2, -1)
    inter = torch.minimum(masks[:, 0], masks[:, 1]).sum(1)
    union = torch.maximum(masks[:, 0], masks[:, 1]).sum(1)
    return torch.where(union > 0, inter / union.clamp(min=1e-6), torch.ones_like(union))


def motion_iou(agent: torch.Tensor, ref: torch.Tensor, first: torch.Tensor, sigma_px: float = 2.0) -> torch.Tensor:
    """IoU of what changed: (N,H,W) bool masks of the agent and the reference, each XOR the reference's first mask
    (H,W) or (N,H,W), blurred by ``sigma_px`` (:func:`soft_mask_iou`; 0: the plain :func:`mask_iou`) -> (N,) in [0, 1].

    Why: most of a whole-body skill's mask is the body that stays where it stood (H1's hang: the last frame's IoU
    with the first is 0.42), so standing still earns most of the plain IoU and an arm half way up earns no more.
    Against the first frame (the robot's own render, the image the video was imagined from) only the motion counts:
    standing scores 0 wherever the reference moves, and the pixels an arm leaves pay as soon as it leaves them.
    While the reference has not moved, an agent that has not either scores 1.
    """
    moved_agent, moved_ref = agent.bool() ^ first, ref.bool() ^ first  # (H,W) broadcasts over the envs
    return soft_mask_iou(moved_agent, moved_ref, sigma_px) if sigma_px > 0 else mask_iou(moved_agent, moved_ref)


def marginal_transport(agent: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(N,H,W) bool masks -> (N,) float: how far the agent's pixels must move to lie where the reference's do, per
    axis: the earth mover's distance between the two masks' row profiles (pixels per row, each summing to 1) plus
    that between their column profiles, in units of the reference robot's height (its mask's rows). 0 for the same
    profiles; inf where either mask is empty (nothing to move, or nowhere to move it).

    Why: IoU-like terms pay nothing until the pixels overlap, and on a whole-body skill overlap mostly pays for the
    body that did not move: an arm on its way up scores no better than one hanging down (the stick figure:
    ``tests/test_rewards_terms.py``). Moving mass towards the reference's shortens this distance at every step, by the
    share of the mask that moved times how far: a raise pays from its first degrees, and a robot that walks off the
    reference's place pays for each centimetre.
    """
    a, b = agent.bool(), ref.bool()
    distance = torch.zeros(a.shape[0], device=a.device)
    for axis in (2, 1):  # summed over columns: the row profile; over rows: the column profile
        pa, pb = a.sum(axis).float(), b.sum(axis).float()
        pa = pa / pa.sum(1, keepdim=True).clamp(min=1)
        pb = pb / pb.sum(1, keepdim=True).clamp(min=1)
        distance = distance + (pa.cumsum(1) - pb.cumsum(1)).abs().sum(1)  # 1-D EMD: the area between the CDFs
    _, height = row_extent(b)
    seen = a.flatten(1).any(1) & b.flatten(1).any(1)
    return torch.where(seen, distance / height, torch.full_like(distance, float("inf")))


def transport_closeness(agent: torch.Tensor, ref: torch.Tensor, scale: float = 0.05) -> torch.Tensor:
    """exp(-d / scale) for (N,H,W) bool masks -> (N,) in [0, 1], d the :func:`marginal_transport` in robot heights.
    Exponential, not a bell: a step nearer raises it by the same factor far away as close in, where a bell's slope
    vanishes at both ends. Either mask empty reads 0."""
    return torch.exp(-marginal_transport(agent, ref) / scale)


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N,H,W) bool -> (N,*size) bool by nearest neighbour (no-op when the size already matches)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask.bool()
    return F.interpolate(mask[:, None].float(), size=size, mode="nearest")[:, 0] > 0.5


def silhouette_closeness(agent: torch.Tensor, ref: torch.Tensor, sigma: float = 0.25) -> torch.Tensor:
    """exp(-d^2 / (2 sigma^2)) for (N,H,W) bool masks -> (N,) in [0, 1], where d is the distance between the two
    masks' centroids in units of the reference robot's height (its mask's rows).

    Why: IoU pays nothing until the masks overlap, and a thin robot seen at 64 px overlaps its reference only within
    a few pixels (H1 half a step behind reads IoU ~0). This term still pays, less with distance, so a robot that
    falls behind, drifts aside or lies down is drawn back towards the reference. An empty agent mask (out of view)
    or reference mask reads 0.
    """
    a, b = agent.bool(), ref.bool()
    (ya, xa), (yb, xb) = centroid(a), centroid(b)
    _, height = row_extent(b)  # the reference robot's height
    d2 = ((ya - yb).square() + (xa - xb).square()) / height.square()
    seen = a.flatten(1).any(1) & b.flatten(1).any(1)
    return torch.where(seen, torch.exp(-d2 / (2 * sigma**2)), torch.zeros_like(d2))


def centroid(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,H,W) bool -> (row, column), each (N,) float: where a mask's pixels are on average (0, 0 when empty)."""
    h, w = mask.shape[-2:]
    area = mask.flatten(1).sum(1).clamp(min=1).float()
    rows = torch.arange(h, device=mask.device, dtype=torch.float32)
    cols = torch.arange(w, device=mask.device, dtype=torch.float32)
    return (mask.sum(2).float() @ rows) / area, (mask.sum(1).float() @ cols) / area


def row_extent(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,H,W) bool -> (top row, height in rows), each (N,) float: the rows a mask occupies (height 1 when empty)."""
    h = mask.shape[-2]
    rows = torch.arange(h, device=mask.device, dtype=torch.float32)
    occupied = mask.any(2)
    top = torch.where(occupied, rows, float(h)).amin(1)
    return top, (torch.where(occupied, rows, -1.0).amax(1) - top + 1).clamp(min=1)


def centre_masks(mask: torch.Tensor) -> torch.Tensor:
    """(N,H,W) bool -> (N,H,W) bool: each mask shifted (whole pixels) so that its centroid sits at the image centre;
    what leaves the image is cut. An empty mask stays empty. One gather for all envs."""
    m = mask.bool()
    n, h, w = m.shape
    rows = torch.arange(h, device=m.device)
    cols = torch.arange(w, device=m.device)
    cy, cx = centroid(m)
    dy = (cy - (h - 1) / 2).round().long()
    dx = (cx - (w - 1) / 2).round().long()
    src_y = rows[None, :, None] + dy[:, None, None]  # (N,H,1): the source row of each output row
    src_x = cols[None, None, :] + dx[:, None, None]  # (N,1,W)
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    index = (src_y.clamp(0, h - 1) * w + src_x.clamp(0, w - 1)).expand(n, h, w)
    return m.flatten(1).gather(1, index.reshape(n, -1)).view(n, h, w) & inside


def pose_iou(agent: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """IoU of (N,H,W) bool masks after centring each on its centroid -> (N,) in [0, 1]: how alike the two postures
    look wherever each robot stands in the image (a robot turned to the camera shows a wider, other shape than one
    in profile). An empty mask on either side reads 0: a robot out of view shows no posture."""
    a, b = centre_masks(agent), centre_masks(ref)
    inter = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union)) * (
        agent.flatten(1).any(1) & ref.flatten(1).any(1)
    )


def band_spreads(mask: torch.Tensor, bands: int = 4) -> torch.Tensor:
    """(N,H,W) bool -> (N, bands): the horizontal spread (std of the columns) of a mask's pixels in each of ``bands``
    equal slices of its own rows from top to bottom, in units of its height. In profile a long stride spreads the
    lowest slice, a swinging arm the upper ones, a torso turned to the camera widens them all. An empty slice or mask
    reads 0."""
    m = mask.bool()
    n, h, w = m.shape
    rows = torch.arange(h, device=m.device, dtype=torch.float32)
    cols = torch.arange(w, device=m.device, dtype=torch.float32)
    mf = m.float()
    count, sum_x, sum_xx = mf.sum(2), mf @ cols, mf @ cols.square()  # (N,H) per row
    top, height = (x[:, None] for x in row_extent(m))
    band = ((rows - top) / height * bands).floor().clamp(0, bands - 1).long()  # (N,H)
    per_band = torch.zeros(n, bands, 3, device=m.device).scatter_add_(
        1, band[..., None].expand(n, h, 3), torch.stack([count, sum_x, sum_xx], -1))
    c = per_band[..., 0].clamp(min=1)
    variance = (per_band[..., 2] / c - (per_band[..., 1] / c).square()).clamp(min=0)
    return variance.sqrt() / height


def shape_closeness(agent: torch.Tensor, ref: torch.Tensor, sigma: float = 0.05, bands: int = 4) -> torch.Tensor:
    """exp(-d^2 / (2 sigma^2)) for (N,H,W) bool masks -> (N,) in [0, 1], d^2 the summed squared difference of the two
    masks' :func:`band_spreads`. Why: a humanoid's legs are a pixel or two wide at 64 px, so the IoU of a short stride
    and the reference's long one is about that of standing still; the spread of each slice still sees how far apart
    the feet are and how wide the torso shows, wherever each robot is. Either mask empty reads 0."""
    d2 = (band_spreads(agent, bands) - band_spreads(ref, bands)).square().sum(-1)
    seen = agent.flatten(1).any(1) & ref.flatten(1).any(1)
    return torch.where(seen, torch.exp(-d2 / (2 * sigma**2)), torch.zeros_like(d2))
