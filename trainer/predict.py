"""Prediction with a torch network: the input conversion, logits, and the ten test-time views.

Ten views (reporting and teachers only; the live classifier runs one 48x48 crop per face): the 4
corner and the centre 44x44 crops, each resized back to 48x48, and their mirror images.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sentivis import contract
from sentivis.labels import NUM_EMOTIONS

TEN_CROP_SIZE = 44
VIEWS = "ten-crop: the 4 corner and centre 44x44 crops, resized to 48x48, and their mirror images"


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, 48, 48] -> float [N, 1, 48, 48] in 0..1, as the model file's contract asks (on the
    images' device)."""
    x = torch.as_tensor(images)
    return x.unsqueeze(1).float().div_(255.0)


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 [N,48,48] -> float32 [N,1,48,48] in 0..1, the model file's input, as numpy (ONNX Runtime)."""
    return contract.to_input(images)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: np.ndarray, batch_size: int = 512,
                   device: str = "cpu") -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_input(images[start:start + batch_size]).to(device).contiguous(memory_format=torch.channels_last)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def ten_crop_views(x: torch.Tensor, size: int = TEN_CROP_SIZE) -> list[torch.Tensor]:
    """x [N,1,48,48] -> 10 views of the same shape: 5 crops and their mirrors, resized back."""
    full = x.shape[-1]
    last = full - size
    corners = [(0, 0), (0, last), (last, 0), (last, last), (last // 2, last // 2)]
    views = []
    for top, left in corners:
        crop = F.interpolate(x[:, :, top:top + size, left:left + size], size=(full, full), mode="bilinear",
                             align_corners=False)
        views += [crop, crop.flip(-1)]
    return views


def ten_crops(x: np.ndarray, size: int = TEN_CROP_SIZE) -> list[np.ndarray]:
    """ten_crop_views for numpy input (ONNX Runtime predictors)."""
    return [view.numpy() for view in ten_crop_views(torch.from_numpy(x), size)]


@torch.no_grad()
def predict_views(model: torch.nn.Module, images: np.ndarray, batch_size: int = 512, bf16: bool = False,
                  device: str = "cpu") -> np.ndarray:
    """A torch model's softmax probabilities, averaged over the ten views of each face.

    bf16: run the network under bfloat16 autocast (about 2x faster on CPUs with AVX-512 bf16; the
    probabilities change by far less than their float16 storage rounds them). device: where the
    model is and the views are made.
    """
    device_type = torch.device(device).type
    total = np.zeros((len(images), NUM_EMOTIONS), np.float32)
    model.eval()
    for start in range(0, len(images), batch_size):
        x = to_input(images[start:start + batch_size]).to(device)
        summed = torch.zeros(len(x), NUM_EMOTIONS, device=device)
        for view in ten_crop_views(x):
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(view.contiguous()).float()
            summed += torch.softmax(logits, dim=1)
        total[start:start + len(x)] = summed.cpu().numpy()
    return total / 10
