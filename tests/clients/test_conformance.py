"""Real clients, each with its library's defaults and with MessagePack, against a real stack.

python-socketio (python_client.py) and Node's socket.io-client (node/conformance.mjs, a pinned npm
package that `make` installs) run the same session; each report must show real answers (faces where
they are, emotions, person ids that stay with their faces), the announced limits, the frame_error
codes, the token refused and accepted, a transport as the library chose it, and a reconnection.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sentivis.labels import EMOTIONS
from sentivis.settings import REPO_ROOT, SHIPPED_MODEL
from tests.clients import python_client
from toolkit.samples import astronaut_frame, iou, pasted_frame
from toolkit.stack import Stack

NODE_DIR = Path(__file__).parent / "node"
TOKEN = "conformance-token-0123456789"
PARSERS = ("default", "msgpack")


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    redis_server.client().flushall()
    env = {"SENTIVIS_EMOTION_WEIGHTS": str(SHIPPED_MODEL), "SENTIVIS_AUTH_TOKEN": TOKEN, "SENTIVIS_HEARTBEAT_S": "0.5",
           "SENTIVIS_MAX_FRAME_AGE_MS": "5000", "SENTIVIS_FRAME_TIMEOUT_MS": "10000"}
    s = Stack(1, 1, redis_url=redis_server.url, env=env, log_dir=tmp_path_factory.mktemp("stack"))
    s.start_ready(timeout=120)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Three frames of three faces, then one of the astronaut: (JPEG bytes, file paths, face boxes)."""
    folder = tmp_path_factory.mktemp("frames")
    three, places = pasted_frame()
    one, box = astronaut_frame()
    images = [three, three, three, one]
    paths = []
    for i, data in enumerate(images):
        paths.append(folder / f"{i}.jpg")
        paths[-1].write_bytes(data)
    return images, paths, [places] * 3 + [[box]]


def node_session(url: str, parser: str, paths: list[Path]) -> dict:
    done = subprocess.run(["node", str(NODE_DIR / "conformance.mjs"), url, TOKEN, parser, *map(str, paths)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check(report: dict, parser: str, places: list[list[dict]], stack: Stack) -> None:
    refusal = report["refusal"]
    assert refusal["refused"] and refusal["message"].startswith("unauthorized"), refusal
    assert refusal["data"] == {"code": "unauthorized"}
    assert report["limits"]["max_in_flight"] >= 1 and set(report["limits"]) >= {"frame_timeout_ms", "max_frame_bytes"}
    # The library's own choice: the default client upgraded from long-polling to WebSocket.
    assert report["transport"] == "websocket"
    answers = report["answers"]
    assert [a["event"] for a in answers] == ["inference"] * len(places), answers
    for answer, boxes in zip(answers, places, strict=True):
        assert len(answer["faces"]) == len(boxes), answer
        for box in boxes:
            best = max(answer["faces"], key=lambda f: iou(f["box"], box))
            assert iou(best["box"], box) > 0.5, (box, answer["faces"])
        for face in answer["faces"]:
            emotion = face["emotion"]
            assert emotion["label"] in EMOTIONS and list(emotion["probabilities"]) == list(EMOTIONS)
            assert abs(sum(emotion["probabilities"].values()) - 1) < 1e-3
    ids = [sorted((f["box"]["x"] // 40, f["id"]) for f in a["faces"]) for a in answers[:3]]
    assert ids[0] == ids[1] == ids[2] and len({i for _, i in ids[0]}) == 3, "ids stay with their faces"
    codes = [(e["code"], e["frame_id"]) for e in report["errors"]]
    assert codes == [("not_jpeg", len(places) + 1), ("invalid_frame_id", None)]
    after = report["after_reconnect"]
    assert after["limits"] == report["limits"]
    assert after["answer"]["event"] == "inference" and len(after["answer"]["faces"]) == 3
    assert "Traceback" not in stack.logs(100_000)


@pytest.mark.parametrize("parser", PARSERS)
def test_python_socketio(stack, frames, parser):
    images, _, places = frames
    check(python_client.session(stack.url, TOKEN, parser, images), parser, places, stack)


@pytest.mark.parametrize("parser", PARSERS)
def test_node_socket_io_client(stack, frames, parser):
    _, paths, places = frames
    check(node_session(stack.url, parser, paths), parser, places, stack)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_client_at_the_other_parsers_endpoint_is_told_where_to_go(stack, parser):
    """python-socketio with one parser on the other's path: a connect error naming the right path."""
    other = "msgpack" if parser == "default" else "default"
    sio = python_client.client(parser)
    reasons = []
    sio.on("connect_error", lambda data=None: reasons.append(data))
    with pytest.raises(python_client.socketio.exceptions.ConnectionError):
        sio.connect(stack.url, auth={"token": TOKEN}, socketio_path=python_client.SOCKETIO_PATHS[other],
                    transports=["websocket"], wait_timeout=10)
    [reason] = reasons
    assert reason["message"].startswith("wrong_parser") and f"/{python_client.SOCKETIO_PATHS[parser]}/" in \
        reason["message"], reason


def protocol_page_clients() -> dict[tuple[str, str], str]:
    """docs/PROTOCOL.md's complete clients, (language, parser) -> source: the default parser's blocks as
    written, and MessagePack's as the page says, "the same code with the parser and the path changed"
    (each line of its short block replaces the line of the full one that starts the same way, or
    joins the imports)."""
    text = (REPO_ROOT / "docs" / "PROTOCOL.md").read_text()
    section = text[text.index("### A complete client"):text.index("## Events")]
    blocks = re.findall(r"```(python|js)\n(.*?)```", section, re.S)
    (_, python), (_, js), (_, python_msgpack), (_, js_msgpack) = blocks
    clients = {("python", "default"): python, ("js", "default"): js}
    for language, full, short in (("python", python, python_msgpack), ("js", js, js_msgpack)):
        lines = full.splitlines()
        for line in short.splitlines():
            start = line.split("(")[0].split(" from ")[0]
            match = [i for i, old in enumerate(lines) if old.startswith(start)]
            if match:
                lines[match[0]] = line
            else:  # an import of its own
                lines.insert(1 + max(i for i, old in enumerate(lines) if old.startswith("import ")), line)
        clients[(language, "msgpack")] = "\n".join(lines) + "\n"
    return clients


@pytest.mark.parametrize("language", ("python", "js"))
@pytest.mark.parametrize("parser", PARSERS)
def test_the_protocol_pages_clients_run_as_written(stack, tmp_path, language, parser):
    """Each complete client of docs/PROTOCOL.md, given this stack's address and token and two face
    images as a.jpg and b.jpg, prints an answer with the astronaut's face for each."""
    source = protocol_page_clients()[(language, parser)]
    assert source.count('"http://127.0.0.1:5001"') == 1 and source.count('"..."') == 1, source
    source = source.replace("http://127.0.0.1:5001", stack.url).replace('"..."', json.dumps(TOKEN))
    image, box = astronaut_frame()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(image)
    if language == "python":
        (tmp_path / "client.py").write_text(source)
        command = [sys.executable, "client.py"]
    else:
        (tmp_path / "node_modules").symlink_to(NODE_DIR / "node_modules")  # the pinned packages
        (tmp_path / "client.mjs").write_text(source)
        command = ["node", "client.mjs"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = sorted(done.stdout.splitlines())
    assert [line.split()[0] for line in lines] == ["0", "1"], done.stdout
    for line in lines:
        assert "refused" not in line and re.search(r"[\[(] ?1, '(%s)' ?[\])]" % "|".join(EMOTIONS), line), done.stdout
