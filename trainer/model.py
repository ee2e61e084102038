"""EmotionNet: a VGG-style CNN sized for <=1 ms per face on one CPU thread.

Five stages of two 3x3 conv-BN-ReLU layers (16, 32, 64, 128, 256 channels) with max-pooling
between them, global average pooling and a linear head: 37.5 M multiply-adds, 1.2 M params.
The VGG recipe follows Khaireddin & Chen (2021, "Facial Emotion Recognition: State of the
Art Performance on FER2013"), narrowed to fit the CPU latency budget. The input
normalisation lives inside the model so the exported graph takes grey pixels in 0..1.
"""
from __future__ import annotations

import torch
from torch import nn

from sentivis.labels import NUM_EMOTIONS

DEFAULT_WIDTHS = (16, 32, 64, 128, 256)
# Mean and std of FER-2013 training pixels scaled to 0..1.
PIXEL_MEAN = 0.5077
PIXEL_STD = 0.2550


def conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class _Normalised(nn.Module):
    """Pixel normalisation inside the graph, and a head of pooling, dropout and one linear layer."""

    def _init_head(self, features: int, num_classes: int, dropout: float) -> None:
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(features, num_classes))
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN))
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Grey pixels in 0..1, [N, 1, 48, 48] -> logits [N, 7]."""
        return self.head(self.features((x - self.pixel_mean) / self.pixel_std))


class EmotionNet(_Normalised):
    def __init__(self, widths: tuple[int, ...] = DEFAULT_WIDTHS, num_classes: int = NUM_EMOTIONS,
                 dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for i, width in enumerate(widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += conv_bn_relu(cin, width) + conv_bn_relu(width, width)
            cin = width
        self.features = nn.Sequential(*layers)
        self._init_head(cin, num_classes, dropout)


class BasicBlock(nn.Module):
    """He et al. (2016)'s two 3x3 convs with an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResEmotionNet(_Normalised):
    """A residual teacher: a 3x3 stem, then per width a stage of two BasicBlocks (stride 2 from the
    second stage on), 48 -> 24 -> 12 -> 6 -> 3 pixels for five widths. Twice the depth of EmotionNet
    at a similar width, so that its errors differ from the VGG nets' (an ensemble's gain)."""

    def __init__(self, widths: tuple[int, ...] = DEFAULT_WIDTHS, num_classes: int = NUM_EMOTIONS,
                 dropout: float = 0.3, blocks: int = 2):
        super().__init__()
        layers: list[nn.Module] = conv_bn_relu(1, widths[0])
        cin = widths[0]
        for i, width in enumerate(widths):
            for b in range(blocks):
                layers.append(BasicBlock(cin, width, 2 if i and not b else 1))
                cin = width
        self.features = nn.Sequential(*layers)
        self._init_head(cin, num_classes, dropout)


ARCHITECTURES = {"vgg": EmotionNet, "resnet": ResEmotionNet}


def build_network(arch: str, widths: tuple[int, ...], dropout: float) -> nn.Module:
    """The network a checkpoint's or a run's config names (arch absent in older checkpoints: vgg)."""
    return ARCHITECTURES[arch](widths=tuple(widths), dropout=dropout)


class CalibratedEmotionNet(nn.Module):
    """What gets exported: logits divided by the fitted temperature, then softmax.

    mirror_average: also run the mirrored crop and average the two logits (one batched pass).
    A face's expression is left-right symmetric, its pixels are not; on FER-2013 this buys
    about a point of accuracy for twice the compute. Chosen on the validation split.
    """

    def __init__(self, net: EmotionNet, temperature: float, mirror_average: bool = False):
        super().__init__()
        self.net = net
        self.mirror_average = mirror_average
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) / self.temperature, dim=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if not self.mirror_average:
            return self.net(x)
        n = x.shape[0]
        both = self.net(torch.cat([x, torch.flip(x, dims=[3])], dim=0))
        return (both[:n] + both[n:]) / 2


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_multiply_adds(model: nn.Module, image_size: int = 48) -> int:
    """Multiply-adds of one forward pass on one face, counted on the conv and linear layers."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += output.numel() * kernel

    def linear_hook(module: nn.Linear, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, 1, image_size, image_size, device=next(model.buffers()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total
