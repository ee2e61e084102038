"""Redis key and stream names, in one place.

Every name starts with one hash tag, `{sentivis}`: Redis Cluster puts keys with the same tag in
the same slot, so every multi-key command (the registry's MULTI, MGET of heartbeats and jobs)
works there as it does on one Redis. The price is that one shard holds all of Sentivis.
Who writes and reads each: docs/ARCHITECTURE.md, "Streams and consumer groups".
"""

TAG = "{sentivis}"

FRAMES = f"{TAG}:frames"  # gateway -> detectors
FACES = f"{TAG}:faces"  # detectors -> classifiers
RESULTS_PREFIX = f"{TAG}:results:"  # detectors/classifiers -> one gateway
RECORDS = f"{TAG}:records"  # gateways -> recorders: recorded sessions (sentivis.records), never trimmed

DETECTOR_GROUP = "detectors"
CLASSIFIER_GROUP = "classifiers"
RECORDER_GROUP = "recorders"

HEARTBEAT_PREFIX = f"{TAG}:heartbeat:"  # + "<service>:<consumer>", JSON, expires

MODEL_ACTIVE = f"{TAG}:models:emotion:active"  # the version classifiers must serve
MODEL_VERSIONS = f"{TAG}:models:emotion:versions"  # hash: version -> JSON record
MODEL_SHIPPED = f"{TAG}:models:emotion:shipped"  # the version of the classifiers' own model file
MODEL_BYTES_PREFIX = f"{TAG}:models:emotion:onnx:"  # + sha256: a registered model file's bytes

TRAINING_JOBS = f"{TAG}:training-jobs"  # sorted set of job ids by creation time


def results_stream(gateway_id: str) -> str:
    return RESULTS_PREFIX + gateway_id


def heartbeat_key(service: str, consumer: str) -> str:
    return f"{HEARTBEAT_PREFIX}{service}:{consumer}"


def model_bytes_key(sha256: str) -> str:
    return MODEL_BYTES_PREFIX + sha256
