"""Batch augmentation on tensors: flips, small affine warps, contrast jitter, random erasing, and
mixup / CutMix of images with their target distributions.

Applied to a whole batch at once in the training process: at 48x48 this costs far less
than a convolution layer, and it needs neither worker processes nor torchvision.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sentivis.training import AugmentConfig


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """x: float [N, 1, H, W] in 0..1 -> augmented copy in 0..1."""
    n, _, h, w = x.shape
    # Random numbers come from the (CPU) generator, so runs repeat on any device; the warps and
    # masks run where x is (the GPU with --device cuda).
    rand = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)  # noqa: E731
    angle = (rand(n) * 2 - 1) * math.radians(cfg.max_rotation_deg)
    scale = 1 + (rand(n) * 2 - 1) * cfg.max_scale
    flip = torch.where(rand(n) < cfg.flip, -1.0, 1.0)
    shift = (rand(n, 2) * 2 - 1) * cfg.max_shift * 2  # affine_grid coordinates span 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    contrast = 1 + (rand(n, 1, 1, 1) * 2 - 1) * cfg.contrast
    brightness = (rand(n, 1, 1, 1) * 2 - 1) * cfg.brightness
    mean = out.mean(dim=(2, 3), keepdim=True)
    out = ((out - mean) * contrast + mean + brightness).clamp_(0, 1)

    if cfg.erase > 0:
        area = cfg.erase_area[0] + rand(n) * (cfg.erase_area[1] - cfg.erase_area[0])
        aspect = torch.exp((rand(n) * 2 - 1) * math.log(3))
        eh = (torch.sqrt(area * aspect) * h).clamp(1, h).long()
        ew = (torch.sqrt(area / aspect) * w).clamp(1, w).long()
        top = (rand(n) * (h - eh + 1)).long()
        left = (rand(n) * (w - ew + 1)).long()
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        box = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
               & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1)))
        box &= (rand(n) < cfg.erase).view(n, 1, 1)
        out = torch.where(box.unsqueeze(1), rand(n, 1, h, w), out)
    return out


def mix_batch(x: torch.Tensor, targets: torch.Tensor, mixup: float, cutmix: float, probability: float,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019) of a batch with a shuffled copy of itself.

    x: [N, 1, H, W]; targets: [N, C] probabilities (one-hot labels or teacher outputs), mixed in the
    same proportion as the pixels. mixup, cutmix: Beta(a, a) parameters, 0 turns one off;
    probability: share of batches mixed at all. Returns new tensors; the inputs are not changed.
    """
    use = [kind for kind, alpha in (("mixup", mixup), ("cutmix", cutmix)) if alpha > 0]
    if not use or torch.rand(1, generator=generator).item() >= probability:
        return x, targets
    kind = use[int(torch.randint(len(use), (1,), generator=generator))]
    alpha = mixup if kind == "mixup" else cutmix
    lam = float(torch.distributions.Beta(alpha, alpha).sample())  # global RNG: seeded by train()
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    if kind == "mixup":
        return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]
    _, _, h, w = x.shape
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = int(torch.randint(h, (1,), generator=generator)), int(torch.randint(w, (1,), generator=generator))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
    mixed = x.clone()
    mixed[:, :, top:bottom, left:right] = x[perm, :, top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / (h * w)  # the share of pixels actually kept
    return mixed, lam * targets + (1 - lam) * targets[perm]
