"""The classifier service: batched ONNX Runtime emotion inference on face crops, with model hot reload."""
