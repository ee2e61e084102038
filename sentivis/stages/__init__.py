"""A frame's journey, stage by stage: the typed functions every service and tool runs.

    detect.py    decode(jpeg) -> RGB pixels; detect(detector, rgb) -> faces (Box, score) and their
                 48x48 grey crops                                       the detector service
    classify.py  classify(model, faces, crops): each face's Emotion and appearance
                                                                        the classifier service
    present.py   present(tracker, message): a worker's answer -> the `inference` event, each face a
                 person (id), emotions smoothed over time               the gateway

The records they pass are sentivis.protocol's. The services are thin stream adapters around these
functions (detector/service.py, classifier/service.py, gateway/results.py); the analyzer and the
benchmarks call the same functions in one process. Nothing here touches Redis or Socket.IO. Each
module imports only what its stage needs (MediaPipe, ONNX Runtime, norfair), as each service's
image has only that: import the modules, not this package.
"""
