"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks").

One scalar T divides the logits; it is fitted by LBFGS on the validation negative log-likelihood.
Dividing by T > 0 never changes the argmax, so accuracy is untouched; only confidence moves.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    x = torch.from_numpy(logits).double() / temperature
    return float(F.cross_entropy(x, torch.from_numpy(labels)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The T > 0 that minimises the NLL of softmax(logits / T) on these (validation) samples."""
    if len(logits) == 0:
        raise ValueError("cannot fit a temperature on an empty split")
    x = torch.from_numpy(logits).double()
    y = torch.from_numpy(labels)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # T = exp(log_t) stays positive
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    # A degenerate split (e.g. every sample right and confident) can push T towards 0 or infinity.
    return float(log_t.detach().exp().clamp(0.05, 20.0))
