"""Hostile Engine.IO and Socket.IO packets, for each of the gateway's two endpoints (parsers).

A `RawSocket` speaks Engine.IO over a WebSocket itself (websocket-client), below any Socket.IO
library, so it can send what no library would: a packet in the other parser's encoding, a malformed
one, an attachment count that lies, binary where text is expected, an unknown event, a huge event
name. `hostile_packets(parser)` lists the cases; each says what the gateway may answer:
  - "frame_error": a `frame_error` event with one of `codes`, the connection staying open;
  - "close": the connection closed (an Engine.IO close, or the WebSocket's);
  - "ignored": nothing, the connection staying open (what Socket.IO does with, say, an ack for a
    callback it never asked for).
A case never passes on a traceback: the caller counts them in the gateway's log (must stay 0).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import websocket

from sentivis.protocol import SOCKETIO_PATHS

TEXT, BINARY = websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY


@dataclass
class Hostile:
    name: str
    packets: list[str | bytes]  # Engine.IO messages as sent, after the Socket.IO connect
    outcome: str  # "frame_error" | "close" | "ignored"
    codes: frozenset[str] = field(default_factory=frozenset)


class RawSocket:
    """One Engine.IO WebSocket session on an endpoint; `connect()` also joins Socket.IO's "/"."""

    def __init__(self, url: str, parser: str, token: str | None = None, timeout: float = 10.0):
        self.parser = parser
        host = url.replace("http://", "ws://", 1).rstrip("/")
        self.ws = websocket.create_connection(f"{host}/{SOCKETIO_PATHS[parser]}/?EIO=4&transport=websocket",
                                              timeout=timeout)
        self.token = token
        opening = self.ws.recv()
        assert isinstance(opening, str) and opening.startswith("0"), opening

    def connect(self) -> None:
        auth = {"token": self.token} if self.token else {}
        self.send(socketio_packet(self.parser, 0, auth))
        while True:  # the gateway's `limits` event comes before its CONNECT packet
            kind, payload = self.next_socketio(timeout=10)
            if kind != 2:
                break
        assert kind == 0, f"connect refused: {payload}"

    def send(self, message: str | bytes) -> None:
        self.ws.send(message, opcode=BINARY if isinstance(message, bytes) else TEXT)

    def next_socketio(self, timeout: float) -> tuple[int | None, Any]:
        """The next Socket.IO packet (type, data), answering Engine.IO pings on the way;
        (None, "closed") when the connection closed, (None, "silent") when nothing came."""
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                return None, "silent"
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return None, "closed"
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None, "closed"
            if opcode == TEXT:
                text = data.decode()
                if text == "2":
                    self.ws.send("3")  # pong
                    continue
                if text.startswith("1"):
                    return None, "closed"  # Engine.IO close
                if text.startswith("4") and self.parser == "default":
                    return int(text[1]), json.loads(text[2:] or "null")
                continue
            if self.parser == "msgpack":
                packet = msgpack.unpackb(data, raw=False)
                return packet["type"], packet.get("data")

    def outcome(self, timeout: float = 3.0) -> tuple[str, Any]:
        """What the gateway did about the last packets: ("frame_error", payload), ("close", None) or
        ("ignored", None) after `timeout` of silence."""
        kind, payload = self.next_socketio(timeout)
        if kind is None:
            return ("close", None) if payload == "closed" else ("ignored", None)
        if kind == 2 and isinstance(payload, list) and payload[:1] == ["frame_error"]:
            return "frame_error", payload[1]
        return f"packet {kind}", payload

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - already closed by the gateway
            pass


def socketio_packet(parser: str, kind: int, data: Any = None, nsp: str = "/") -> str | bytes:
    """A well-formed Socket.IO packet of `kind` in `parser`'s encoding, as an Engine.IO message."""
    if parser == "msgpack":
        return msgpack.packb({"type": kind, "nsp": nsp, "data": data})
    return "4" + str(kind) + ("" if data is None else json.dumps(data))


def hostile_packets(parser: str, jpeg: bytes) -> list[Hostile]:
    """Every hostile case for one endpoint. `jpeg`: a real frame, for the cases that carry one."""
    frame_error = lambda name, packets, *codes: Hostile(name, packets, "frame_error", frozenset(codes))  # noqa: E731
    close = lambda name, packets: Hostile(name, packets, "close")  # noqa: E731
    other = "default" if parser == "msgpack" else "msgpack"
    cases = [
        # Engine.IO itself
        close("engineio_empty_text", [""]),
        close("engineio_unknown_type_text", ["hello"]),
        close("engineio_bad_base64", ["b!!!not base64"]),
        close("engineio_message_without_data", ["4"]),
        # Socket.IO, in the other parser's encoding
        close("other_encoding_event", [socketio_packet(other, 2, ["frame", {"frame_id": 1}])]),
        # malformed or hostile Socket.IO packets
        frame_error("unknown_event", [socketio_packet(parser, 2, ["dance", {"steps": 3}])], "unknown_event"),
        close("huge_event_name", [socketio_packet(parser, 2, ["x" * 200_000, {}])]),
        close("event_not_a_list", [socketio_packet(parser, 2, {"frame_id": 1})]),
        close("empty_event", [socketio_packet(parser, 2, [])]),
        close("event_name_not_a_string", [socketio_packet(parser, 2, [5, {}])]),
        close("client_connect_error", [socketio_packet(parser, 4, {"message": "no"})]),
        close("unknown_packet_type", [socketio_packet(parser, 9, ["frame"])]),
        Hostile("ack_never_asked_for", [msgpack.packb({"type": 3, "nsp": "/", "id": 12, "data": [1]})
                                        if parser == "msgpack" else "4312[1]"], "ignored"),
        frame_error("frame_without_payload", [socketio_packet(parser, 2, ["frame"])], "invalid_payload"),
        frame_error("image_as_text", [socketio_packet(parser, 2, ["frame", {"frame_id": 3, "image": "/9j/4AAQ"}])],
                    "invalid_image_type"),
    ]
    if parser == "default":
        placeholder = {"frame_id": 4, "image": {"_placeholder": True, "num": 0}}
        cases += [
            close("bad_json", ['42["frame", {"frame_id": 1,']),
            close("binary_where_text_expected", [b"\x00\x01binary"]),
            close("too_many_attachments", ["452-" + json.dumps(["frame", placeholder])]),
            close("attachment_count_overflow", ["4599999999-" + json.dumps(["frame", placeholder])]),
            close("placeholder_without_attachment",
                  ["451-" + json.dumps(["frame", {"frame_id": 4, "image": {"_placeholder": True, "num": 7}}]),
                   jpeg]),
            # One attachment announced, text sent instead: it stands in for the image, which is not bytes.
            frame_error("text_attachment", ["451-" + json.dumps(["frame", placeholder]), "4not an image"],
                        "invalid_image_type"),
            frame_error("attachment_ok_but_bad_jpeg", ["451-" + json.dumps(["frame", placeholder]), b"GIF89a" * 10],
                        "not_jpeg"),
        ]
    else:
        cases += [
            close("not_msgpack", [b"\xc1\xc1\xc1"]),
            close("text_where_binary_expected", ['42["frame",{}]']),
            close("map_without_namespace", [msgpack.packb({"type": 2, "data": ["frame", {}]})]),
            close("namespace_not_a_string", [msgpack.packb({"type": 2, "nsp": 5, "data": ["frame", {}]})]),
            close("type_not_an_integer", [msgpack.packb({"type": "2", "nsp": "/", "data": ["frame", {}]})]),
            close("negative_ack_id", [msgpack.packb({"type": 2, "nsp": "/", "id": -1, "data": ["frame", {}]})]),
            close("not_a_map", [msgpack.packb([2, "/", ["frame"]])]),
            close("truncated_msgpack", [msgpack.packb({"type": 2, "nsp": "/", "data": ["frame", {}]})[:-3]]),
        ]
    return cases


def hostile_polling(url: str, parser: str, timeout: float = 10.0) -> dict[str, int]:
    """Malformed long-polling requests on one endpoint, each in a fresh Engine.IO session: the HTTP
    status of each answer (400 expected: refused, the gateway unharmed)."""
    import requests

    base = f"{url.rstrip('/')}/{SOCKETIO_PATHS[parser]}/"

    def session() -> str:
        opened = requests.get(base, params={"EIO": "4", "transport": "polling"}, timeout=timeout)
        opened.raise_for_status()
        return json.loads(opened.text[1:])["sid"]

    def post(body: bytes, headers: dict[str, str] | None = None) -> int:
        sid = session()
        answer = requests.post(base, params={"EIO": "4", "transport": "polling", "sid": sid}, data=body,
                               headers=headers or {}, timeout=timeout)
        return answer.status_code

    return {
        "not_utf8": post(b"\xff\xfe\xfd"),
        "empty_packets": post(b"\x1e\x1e"),
        "not_a_packet": post(b"hello"),
        "bad_base64": post(b"b!!!"),
        "unknown_session": requests.post(base, params={"EIO": "4", "transport": "polling", "sid": "nope"},
                                         data=b"40", timeout=timeout).status_code,
        "old_protocol": requests.get(base, params={"EIO": "3", "transport": "polling"}, timeout=timeout).status_code,
        "unknown_transport": requests.get(base, params={"EIO": "4", "transport": "carrier-pigeon"},
                                          timeout=timeout).status_code,
    }
