"""The gateway's Prometheus metrics (GET /metrics), read with prometheus_client's own parser."""
from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def metric(url: str, name: str, token: str | None = None, **labels: str) -> float | None:
    """The value of sample `name` with exactly these labels on the gateway at `url`; None when absent."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url + "/metrics", headers=headers), timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None
