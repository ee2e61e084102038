"""The gateway's Prometheus counters, gauges and histograms, served at GET /metrics."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from gateway.admission import Admission

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
sessions = Gauge("sentivis_transport_sessions", "Open Engine.IO sessions (connected to Socket.IO or not yet), by "
                 "endpoint", ["endpoint"], registry=REGISTRY)
connections_refused = Counter("sentivis_connections_refused_total", "Socket.IO connections refused at connect",
                              ["reason"], registry=REGISTRY)
frames_in_flight = Gauge("sentivis_frames_in_flight", "Frames between receive and emit", registry=REGISTRY)
admission_backlog = Gauge("sentivis_admission_backlog_frames",
                          "Frames in flight, this gateway's and the other gateways' in the work streams",
                          registry=REGISTRY)
admission_budget = Gauge("sentivis_admission_budget_frames",
                         "Backlog above which frames are refused (overloaded) unless it is their connection's turn",
                         registry=REGISTRY)
workers_rate = Gauge("sentivis_workers_rate_fps", "Frames per second the workers serve, as measured for admission",
                     registry=REGISTRY)


def watch_sessions(servers: dict[str, Any]) -> None:
    """sentivis_transport_sessions reads each endpoint's Engine.IO sessions when /metrics is scraped."""
    for parser, server in servers.items():
        sessions.labels(parser).set_function(lambda eio=server.eio: len(eio.sockets))


def watch_admission(admission: Admission) -> None:
    """The gauges read the admission's state when /metrics is scraped (refused frames are counted in
    sentivis_frames_rejected_total{code="overloaded"})."""
    frames_in_flight.set_function(lambda: admission.in_flight)
    admission_backlog.set_function(admission.backlog)
    admission_budget.set_function(lambda: admission.budget)
    workers_rate.set_function(lambda: admission.rate)
