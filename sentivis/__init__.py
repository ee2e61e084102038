"""Sentivis's one core, imported by the services and the tools alike.

- the wire: `protocol` (messages and their encoding), `streams` (names), `redis_io` (the one place
  Redis clients are made, groups, XADD, heartbeats), `settings`, `logs`;
- the stream worker every worker service runs: `worker`;
- the frame pipeline as functions: `faces` (decode, detect, crop; MediaPipe), `emotions` (the
  ONNX model and the emotion dict; ONNX Runtime), `pipeline` (both in one process, for the
  tools), `tracking` (face ids and smoothing across frames);
- the model file contract shared with the trainer: `contract`, `labels`; the model registry and
  the training jobs in Redis: `registry`, `jobs`, `training`;
- running it: `stack` (processes on this machine, `sentivis up`), `cli` (the `sentivis` command),
  `client` (a Socket.IO client of the gateway), `samples` (real face frames for tests and tools).

Each heavy dependency is imported only by the module that needs it, so every service image
imports from here only what it has installed. The design these follow: docs/ARCHITECTURE.md.
"""
