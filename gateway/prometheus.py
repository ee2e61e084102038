"""The gateway's Prometheus counters, gauges and histograms, served at GET /metrics."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()
LATENCY_BUCKETS = (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)

frames_received = Counter("sentivis_frames_received_total", "Frames received from browsers", registry=REGISTRY)
frames_rejected = Counter("sentivis_frames_rejected_total", "Frames refused before processing", ["code"],
                          registry=REGISTRY)
frames_dropped = Counter("sentivis_frames_dropped_total", "Frames accepted but dropped (cap, age, timeout)",
                         ["reason"], registry=REGISTRY)
inferences = Counter("sentivis_inferences_total", "inference events emitted", registry=REGISTRY)
faces_seen = Counter("sentivis_faces_total", "Faces in emitted inference events", registry=REGISTRY)
server_latency = Histogram("sentivis_server_latency_seconds", "Gateway receive to emit", buckets=LATENCY_BUCKETS,
                           registry=REGISTRY)
stage_latency = Histogram("sentivis_stage_latency_seconds", "Time per pipeline stage", ["stage"],
                          buckets=LATENCY_BUCKETS, registry=REGISTRY)
connections = Gauge("sentivis_connections", "Open Socket.IO connections", registry=REGISTRY)
connections_refused = Counter("sentivis_connections_refused_total", "Socket.IO connections refused at connect",
                              ["reason"], registry=REGISTRY)
frames_in_flight = Gauge("sentivis_frames_in_flight", "Frames between receive and emit", registry=REGISTRY)
