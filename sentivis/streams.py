"""Redis key and stream names, in one place."""

FRAMES = "sentivis:frames"  # gateway -> detectors
FACES = "sentivis:faces"  # detectors -> classifiers
RESULTS_PREFIX = "sentivis:results:"  # detectors/classifiers -> one gateway

DETECTOR_GROUP = "detectors"
CLASSIFIER_GROUP = "classifiers"

HEARTBEAT_PREFIX = "sentivis:heartbeat:"  # + "<service>:<consumer>", JSON, expires

MODEL_ACTIVE = "sentivis:models:emotion:active"  # the version classifiers must serve
MODEL_VERSIONS = "sentivis:models:emotion:versions"  # hash: version -> JSON record
MODEL_SHIPPED = "sentivis:models:emotion:shipped"  # the version of the classifiers' own model file

TRAINING_JOBS = "sentivis:training-jobs"  # sorted set of job ids by creation time


def results_stream(gateway_id: str) -> str:
    return RESULTS_PREFIX + gateway_id


def heartbeat_key(service: str, consumer: str) -> str:
    return f"{HEARTBEAT_PREFIX}{service}:{consumer}"
