"""ONNX models for the classifier tests: random-weight ones that meet (or break) the model contract,
and their installation where a service reads them."""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path


def export(module, path: Path, input_shape=(1, 1, 48, 48), input_name="input", output_name="probabilities",
           dynamic=True) -> Path:
    import torch

    module.eval()
    axes = {input_name: {0: "n"}, output_name: {0: "n"}} if dynamic else None
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice, as the trainer uses it
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, torch.zeros(*input_shape), str(path), dynamo=False, input_names=[input_name],
                          output_names=[output_name], dynamic_axes=axes)
    return path


def emotion_net(path: Path, seed: int) -> Path:
    """A random-weight EmotionNet, exported exactly as the trainer exports the real one."""
    import torch

    from trainer.model import CalibratedEmotionNet, EmotionNet

    torch.manual_seed(seed)
    net = EmotionNet()
    with torch.no_grad():  # PyTorch's default init fades the signal out over ten layers; this keeps it,
        for m in net.modules():  # so different faces get clearly different answers
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=0.3)
    return export(CalibratedEmotionNet(net, 1.0), path)


def install(source: Path, target: Path, with_card: bool = True) -> Path:
    """Copy a model into place the way deployments should: write aside, then rename (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    card = source.with_name(source.stem + ".card.json")
    if with_card and card.exists():
        shutil.copyfile(card, target.with_name(target.stem + ".card.json"))
    return target
