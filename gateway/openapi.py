"""The OpenAPI 3.1 description of the REST API under /api/v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from typing import Any

from gateway.analyze import FORM_FIELD, IMAGE_TYPES
from sentivis import jobs, protocol, training
from sentivis.settings import Settings


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json({"$ref": "#/components/schemas/Error"}, description)


# The answer of POST /analyze: the `inference` event's record (sentivis/protocol.py, one definition
# for the wire, this document and the page), with what only this endpoint adds.
ANALYSIS = {"allOf": [{"$ref": "#/components/schemas/Inference"}], "properties": {
    "faces": {"items": {"properties": {"appearance": {
        "type": "array", "items": {"type": "number"},
        "description": "only with appearance=1: the face's appearance vector (64 numbers, unit length), for a "
                       "client that tracks a sequence of images with sentivis.tracking.PersonTracker"}}}},
    "session": {"type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                "description": "only with session=NAME: the recorded session of this image (written by the "
                               "recorder shortly after the answer)"}}}


def analyze_body(settings: Settings) -> dict[str, Any]:
    """What gateway/analyze.py read_upload accepts: a JPEG or PNG as the body, or as the file part
    `image` of a form, 1 to max_frame_bytes bytes. What no schema can say: the bytes, not the
    declared type, decide whether it is a JPEG or PNG, and the pixel limit."""
    limits = (f"At most {settings.max_frame_bytes} bytes (SENTIVIS_MAX_FRAME_BYTES) and "
              f"{settings.max_frame_pixels} pixels (SENTIVIS_MAX_FRAME_PIXELS), else 413.")
    image = {"type": "string", "format": "binary", "minLength": 1, "maxLength": settings.max_frame_bytes}
    form = {"type": "object", "required": [FORM_FIELD], "properties": {FORM_FIELD: {
        **image, "description": "the image as a file part, with a filename (as `curl -F image=@face.jpg` and a "
                                "browser's FormData send a file); other fields are ignored"}}}
    return {"required": True, "description": f"One JPEG or PNG image, told apart by its bytes. {limits}",
            "content": {**{media: {"schema": image} for media in IMAGE_TYPES},
                        "multipart/form-data": {"schema": form,
                                                "encoding": {FORM_FIELD: {"contentType": ", ".join(IMAGE_TYPES)}}}}}


def parameter_schema(param: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of one entry of sentivis.training.schema()."""
    bounds = {key: param[key] for key in ("minimum", "maximum") if key in param}
    if param["type"] == "integer_list":
        out = {"type": "array", "items": {"type": "integer", **bounds},
               "minItems": param["min_items"], "maxItems": param["max_items"]}
    elif param["type"] == "string_list":  # teachers: any of the names committed when the document is asked for
        names = {"enum": param["choices"]} if param["choices"] else {}
        out = {"type": "array", "items": {"type": "string", **names}, "uniqueItems": True,
               "maxItems": len(param["choices"])}
    elif "choices" in param:
        out = {"type": "string", "enum": param["choices"]}
    else:
        out = {"type": param["type"], **bounds}
    return {**out, "default": param["default"], "description": param["help"]}


def training_params_schema(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """The training-job request body: the dataset and every job parameter of TrainConfig."""
    return {"type": "object", "required": ["dataset"], "additionalProperties": False,
            "description": "omitted parameters take their defaults, the recipe of the shipped model",
            "properties": {"dataset": {"type": "string", "minLength": 1, "examples": ["fer2013.csv.gz"],
                                       "description": "a data set in the datasets folder, as GET "
                                                      "/api/v1/training/options lists it; one that does not "
                                                      "exist there is a 400"},
                           **{p["name"]: parameter_schema(p) for p in parameters}}}


ESTIMATE = {"type": ["object", "null"], "description": "null when the shipped model's card has no training run",
            "properties": {"seconds": {"type": "integer"}, "basis": {
                "type": "object", "description": "the measured run it is scaled from: seconds, epochs, widths, "
                                                 "precision, multiply_adds, training_faces, threads, cpu"}}}


NULLABLE_NUMBER = {"type": ["number", "null"]}
SESSION = {
    "type": "object",
    "required": ["id", "name", "started_at", "ended_at", "duration_s", "people", "frames", "gap_frames"],
    "properties": {
        "id": {"type": "string", "description": "32 hex digits; ids sort by creation time"},
        "name": {"type": "string"},
        "source": {"type": ["string", "null"], "description": "live, image (POST /api/v1/analyze), video or file"},
        "started_at": {"type": "number", "description": "Unix time, seconds"},
        "ended_at": {**NULLABLE_NUMBER, "description": "null while recording, or when its gateway stopped "
                                                       "without ending it"},
        "end_reason": {"type": ["string", "null"], "description": "stopped, disconnected, shutdown or error"},
        "duration_s": {"type": "number", "description": "to the end, else to the latest frame written"},
        "people": {"type": "integer"}, "frames": {"type": "integer", "description": "answered frames written"},
        "gap_frames": {"type": "integer", "description": "answered frames not recorded (the records backlog was "
                                                         "past its bound); 0: no gap"},
        "reported_frames": {"type": ["integer", "null"],
                            "description": "frames the gateway answered while recording, known at the end"},
    },
}
PERSON_SUMMARY = {
    "type": "object", "required": ["id", "in_view_s", "shares", "dominant", "mean_confidence"],
    "properties": {"id": {"type": "integer"}, "first_seen_s": {"type": "number"}, "last_seen_s": {"type": "number"},
                   "sightings": {"type": "integer"}, "in_view_s": {"type": "number"},
                   "shares": {"type": ["object", "null"], "description": "each emotion's share of the time a "
                                                                        "label was shown (sums to 1)"},
                   "dominant": {"type": ["string", "null"]}, "mean_confidence": NULLABLE_NUMBER},
}
SESSION_DETAIL = {**SESSION, "properties": {
    **SESSION["properties"], "gateway": {"type": ["string", "null"]},
    "settings": {"type": "object", "description": "the settings that shaped the results"},
    "models": {"type": "array", "items": {"type": "object", "properties": {
        "from_seq": {"type": "integer"}, "emotion_version": {"type": ["string", "null"]},
        "detector": {"type": ["string", "null"]}, "accuracy": NULLABLE_NUMBER}}},
    "gaps": {"type": "array", "items": {"type": "object", "properties": {
        "first_seq": {"type": "integer"}, "frames": {"type": "integer"}, "started_at": {"type": "number"},
        "ended_at": {"type": "number"}}}},
    "people_summary": {"type": "array", "items": PERSON_SUMMARY}}}


def sessions_paths() -> dict[str, Any]:
    session_param = {"name": "session_id", "in": "path", "required": True,
                     "schema": {"type": "string", "minLength": 1}}
    unavailable = _error("the sessions database is unavailable")
    unknown = _error("no such session")
    text = {"type": "string"}
    return {
        "/api/v1/sessions": {"get": {
            "summary": "Recorded sessions, newest first, a page at a time", "operationId": "listSessions",
            "parameters": [
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                {"name": "before", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                 "description": "the `next` of the previous page: sessions created before this one"}],
            "responses": {"200": _json({"type": "object", "required": ["sessions", "next"], "properties": {
                "sessions": {"type": "array", "items": SESSION},
                "next": {"type": ["string", "null"], "description": "the cursor of the next page; null: last"}}},
                "a page of sessions"),
                "400": _error("limit or before is invalid"), "503": unavailable}}},
        "/api/v1/sessions/{session_id}": {
            "get": {"summary": "One session: metadata, models, gaps and one summary per person",
                    "operationId": "getSession", "parameters": [session_param],
                    "responses": {"200": _json(SESSION_DETAIL, "the session"), "404": unknown, "503": unavailable}},
            "delete": {"summary": "Delete everything of one session", "operationId": "deleteSession",
                       "parameters": [session_param],
                       "responses": {"204": {"description": "deleted"}, "404": unknown, "503": unavailable}}},
        "/api/v1/sessions/{session_id}/frames": {"get": {
            "summary": "The session's rows, one per person per answered frame, streamed",
            "description": "CSV: the columns of the page's download (time_s since the first row, frame_id, face_id, "
                           "box, score, the smoothed probabilities, label, confidence). JSONL: one object per row, "
                           "with the raw probabilities too.",
            "operationId": "sessionFrames",
            "parameters": [session_param, {"name": "format", "in": "query", "required": False,
                                           "schema": {"type": "string", "enum": ["csv", "jsonl"], "default": "csv"}}],
            "responses": {"200": {"description": "the rows", "content": {"text/csv": {"schema": text},
                                                                         "application/x-ndjson": {"schema": text}}},
                          "400": _error("format is not csv or jsonl"), "404": unknown, "503": unavailable}}},
    }


TRAINING_JOB = {
    "type": "object", "description": "sentivis/jobs.py: the gateway creates it, the trainer's worker updates it",
    "required": ["id", "state", "params", "progress", "history", "metrics", "model_version", "error",
                 "created_at", "updated_at"],
    "properties": {"id": {"type": "string", "pattern": f"^{jobs.JOB_ID.pattern}$"},
                   "state": {"type": "string", "enum": list(jobs.STATES)},
                   "params": {"type": "object", "description": "the dataset and every job parameter"},
                   "progress": {"type": "object", "required": ["stage"], "properties": {
                       "stage": {"type": "string"}, "epoch": {"type": "integer"},
                       "epochs": {"type": ["integer", "null"]}},
                       "description": "the stage, epochs finished of those planned, the latest epoch's numbers"},
                   "history": {"type": "array", "items": {"type": "object"}, "description": "one per epoch"},
                   "metrics": {"type": ["object", "null"]}, "model_version": {"type": ["string", "null"]},
                   "error": {"type": ["string", "null"]},
                   "created_at": {"type": "string", "format": "date-time"},
                   "updated_at": {"type": "string", "format": "date-time"}}}

# With SENTIVIS_AUTH_TOKEN set, every /api path answers this without the token (gateway/auth.py).
UNAUTHORIZED = {"description": "SENTIVIS_AUTH_TOKEN is set and the request has no or another bearer token",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error", "message"],
                    "properties": {"error": {"const": "unauthorized"}, "message": {"type": "string"}}}}}}


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The document; `settings`: the gateway's, whose limits it states (the defaults without)."""
    settings = settings or Settings()
    version_param = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    job_param = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    unavailable = _error("Redis or the workers are unavailable")
    training_params = training_params_schema(training.schema())
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Sentivis gateway API", "version": "1",
                 "description": "Facial emotion recognition: one-shot image analysis, emotion model "
                                "versions, training jobs and recorded sessions. Live video uses Socket.IO, "
                                "not this API."},
        "paths": {
            "/api/v1/analyze": {"post": {
                "summary": "Find the faces in one image and read their emotions",
                "description": "The image goes through the same detector and classifier services as a "
                               "live frame and is bounded by the same byte and pixel limits. A PNG is "
                               "converted to JPEG in the gateway. Each image stands alone: its faces are "
                               "numbered 1..n and nothing is smoothed; a client tracks a sequence itself "
                               "(with each face's appearance, on request).",
                "operationId": "analyzeImage",
                "parameters": [{"name": "appearance", "in": "query", "required": False,
                                "schema": {"type": "integer", "enum": [0, 1], "default": 0},
                                "description": "1: each face also carries its appearance vector"},
                               {"name": "session", "in": "query", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                                           "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f]"
                                                      "[^\\x00-\\x1f\\x7f-\\x9f]*$"},
                                "description": "store the answer as a recorded session of this name"}],
                "requestBody": analyze_body(settings),
                "responses": {
                    "200": _json(ANALYSIS, "the faces and their emotions"),
                    "400": _error("not an image, an unsupported type, no image field, a bad appearance "
                                  "parameter or session name"),
                    "413": _error("more bytes or pixels than the limits"),
                    "422": _error("a JPEG or PNG that cannot be decoded"),
                    "500": _error("the workers' result could not be read"),
                    "503": _error("no detector or classifier answered in time, or the session cannot be "
                                  "recorded (recording_unavailable)"),
                }}},
            "/api/v1/models": {"get": {
                "summary": "List the registered emotion model versions, the served one and the shipped one",
                "description": "`active` is what classifiers serve: the activated version, else the shipped "
                               "one (the classifiers' own model file, which they register themselves).",
                "operationId": "listModels",
                "responses": {"200": _json({"type": "object", "properties": {
                    "active": {"type": ["string", "null"]}, "shipped": {"type": ["string", "null"]},
                    "versions": {"type": "array", "items": {"type": "object", "properties": {
                        "version": {"type": "string"}, "sha256": {"type": "string"},
                        "created_at": {"type": "number"}, "shipped": {"type": "boolean"},
                        "metrics": {"type": "object"}, "card": {"type": ["object", "null"]}}}}}},
                    "the versions, newest first"),
                    "503": unavailable}}},
            "/api/v1/models/{version}/activate": {"post": {
                "summary": "Make a registered version the one every classifier serves",
                "operationId": "activateModel", "parameters": [version_param],
                "responses": {"200": _json({"type": "object"}, "the version is active"),
                              "404": _error("no such version"), "503": unavailable}}},
            "/api/v1/training/options": {"get": {
                "summary": "What a training job can be given: parameters, data sets, a duration estimate",
                "operationId": "trainingOptions",
                "responses": {"200": _json({"type": "object", "properties": {
                    "parameters": {"type": "array", "items": {"type": "object"},
                                   "description": "name, type, default, minimum/maximum or choices, help"},
                    "datasets": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "layout": {"type": "string", "enum": ["csv", "folders"]},
                        "bytes": {"type": "integer"}}}},
                    "estimate": ESTIMATE}}, "the options"), "503": unavailable}}},
            "/api/v1/training/estimate": {"post": {
                "summary": "How long a training job with these parameters would take",
                "operationId": "estimateTraining",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    **training_params, "required": [], "properties": {
                        **training_params["properties"],
                        "dataset": {"description": "ignored: the estimate does not depend on it"}}}}}},
                "responses": {"200": _json({"type": "object", "properties": {"estimate": ESTIMATE}},
                                           "the estimate"),
                              "400": _error("invalid parameters")}}},
            "/api/v1/training-jobs": {
                "get": {"summary": "List training jobs", "operationId": "listTrainingJobs",
                        "responses": {"200": _json({"type": "object", "required": ["jobs"], "properties": {
                            "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/TrainingJob"}}}},
                            "the newest jobs first"),
                            "503": unavailable}},
                "post": {"summary": "Start a training job (runs in the trainer's worker)",
                         "operationId": "createTrainingJob",
                         "requestBody": {"required": True,
                                         "content": {"application/json": {"schema": training_params}}},
                         "responses": {"202": {**_json({"$ref": "#/components/schemas/TrainingJob"},
                                                       "the job, queued"),
                                               "headers": {"Location": {"schema": {"type": "string"},
                                                                        "required": True,
                                                                        "description": "the job's URL"}}},
                                       "400": _error("invalid parameters or unknown dataset"),
                                       "503": _error("the training queue is unavailable")}}},
            "/api/v1/training-jobs/{job_id}": {"get": {
                "summary": "One training job and its progress", "operationId": "getTrainingJob",
                "parameters": [job_param],
                "responses": {"200": _json({"$ref": "#/components/schemas/TrainingJob"}, "the job"),
                              "404": _error("no such job"),
                              "503": unavailable}}},
            **sessions_paths(),
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": _json({"type": "object"}, "the OpenAPI description")}}},
        },
        # Only when the gateway has SENTIVIS_AUTH_TOKEN; without it the API is open (on loopback).
        "security": [{"bearerToken": []}, {}],
        "components": {"securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer"}},
                       "responses": {"Unauthorized": UNAUTHORIZED}, "schemas": {
            **protocol.event_schemas(ref_template="#/components/schemas/{name}"),
            "TrainingJob": TRAINING_JOB,
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}, "code": {"type": "string"}}},
        }},
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
    return document
