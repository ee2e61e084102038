"""Batch augmentation on tensors: flips, small affine warps, contrast jitter, random erasing.

Applied to a whole batch at once in the training process: at 48x48 this costs far less
than a convolution layer, and it needs neither worker processes nor torchvision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    flip: float = 0.5
    max_rotation_deg: float = 10.0
    max_scale: float = 0.1  # zoom in/out by up to this fraction
    max_shift: float = 0.1  # translation as a fraction of the image size
    contrast: float = 0.2
    brightness: float = 0.1
    erase: float = 0.5  # probability of one random erasing rectangle
    erase_area: tuple[float, float] = (0.02, 0.2)


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """x: float [N, 1, H, W] in 0..1 -> augmented copy in 0..1."""
    n, _, h, w = x.shape
    rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
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
        rows = torch.arange(h).view(1, h, 1)
        cols = torch.arange(w).view(1, 1, w)
        box = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
               & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1)))
        box &= (rand(n) < cfg.erase).view(n, 1, 1)
        out = torch.where(box.unsqueeze(1), rand(n, 1, h, w), out)
    return out
