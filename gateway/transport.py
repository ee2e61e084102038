"""The gateway's two Socket.IO endpoints, one per parser, and the checks every packet passes first.

    /socket.io/           the default parser (JSON text, binary attachments), where every Socket.IO
                          client lands with its library's defaults, on long-polling or WebSocket
    /socket.io-msgpack/   MessagePack (python-socketio's `msgpack` serializer, socket.io-msgpack-parser):
                          a frame is one binary message; the page and toolkit.client use it

Both serve the same events (gateway/sockets.py); `sentivis.protocol.SOCKETIO_PATHS` names them.

python-socketio and python-engineio trust what they decode: a packet in the other parser's encoding,
a JSON packet that announces attachments it never sends (or a million of them), a placeholder
pointing at no attachment, an event that is not a list, an Engine.IO message that is not one... end
in an exception and a logged traceback, sometimes with the connection's writer left running or an
HTTP error page written into the WebSocket. So:
  - each endpoint decodes Socket.IO packets with a checked packet class that turns anything it cannot
    use into `PacketRejected`, which the server answers with one log line and a clean close (a client
    that came to the wrong endpoint is first told, in its own encoding, where to go);
  - an Engine.IO message over WebSocket that Engine.IO cannot decode ends the session as the client
    closing it would (`_checked_websocket`), and an unreadable long-polling request gets a 400.
These hook into the libraries' internals (pinned in requirements/gateway.txt); tests/reliability/
test_packets.py sends every case to both endpoints and counts tracebacks in the gateway's log.
"""
from __future__ import annotations

import binascii
import io
import json
import logging
import urllib.parse
from typing import Any

import msgpack
import msgspec
import socketio
from socketio import msgpack_packet, packet

from sentivis.errors import SentivisError
from sentivis.protocol import SOCKETIO_PATHS

log = logging.getLogger("gateway")

MAX_ATTACHMENTS = 1  # a frame's image is the only binary a client sends
MAX_EVENT_NAME = 64  # longer than any event of ours
MAX_NAMESPACE = 64
PACKET_TYPES = range(packet.CONNECT, packet.BINARY_ACK + 1)


class PacketRejected(SentivisError, ValueError):
    """A Socket.IO packet this endpoint cannot use; the message says why, for the log."""


class _Checked:
    """What both parsers' packets must satisfy once decoded (a mixin over the library's packet class)."""

    wire_type: type = str

    def __init__(self, *args, encoded_packet=None, **kwargs):
        if encoded_packet is not None and not encoded_packet:  # the library would skip decoding it
            raise PacketRejected("an empty packet")
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)

    def decode(self, encoded_packet):
        if not isinstance(encoded_packet, self.wire_type):
            raise PacketRejected(f"a {type(encoded_packet).__name__} packet where this endpoint reads "
                                 f"{self.wire_type.__name__}")
        try:
            attachments = super().decode(encoded_packet)
        except Exception as exc:  # noqa: BLE001 - whatever the library's parser raises, the packet is unreadable
            raise PacketRejected(f"unreadable packet ({type(exc).__name__}: {exc})") from None
        self._check(attachments or 0)
        return attachments

    def _check(self, attachments: int) -> None:
        if not isinstance(self.packet_type, int) or self.packet_type not in PACKET_TYPES:
            raise PacketRejected(f"unknown packet type {self.packet_type!r}")
        if self.packet_type == packet.CONNECT_ERROR:
            raise PacketRejected("a CONNECT_ERROR packet from a client")
        if self.namespace is not None and (not isinstance(self.namespace, str) or len(self.namespace) > MAX_NAMESPACE):
            raise PacketRejected("the namespace must be a short string")
        if self.id is not None and (not isinstance(self.id, int) or isinstance(self.id, bool) or self.id < 0):
            raise PacketRejected("the ack id must be a non-negative integer")
        if attachments > MAX_ATTACHMENTS:
            raise PacketRejected(f"{attachments} binary attachments announced; at most {MAX_ATTACHMENTS}")
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data or not isinstance(data[0], str):
                raise PacketRejected("an event must be a list that starts with the event's name")
            if len(data[0]) > MAX_EVENT_NAME:
                raise PacketRejected(f"an event name of {len(data[0])} characters")

    @classmethod
    def _reconstruct_binary_internal(cls, data, attachments):
        if isinstance(data, dict) and data.get("_placeholder"):
            num = data.get("num")
            if not isinstance(num, int) or isinstance(num, bool) or not 0 <= num < len(attachments):
                raise PacketRejected(f"a placeholder for attachment {num!r} of {len(attachments)}")
        return super()._reconstruct_binary_internal(data, attachments)


class _MsgspecJSON:
    """The default parser's JSON: msgspec encodes the events' Structs (sentivis.protocol) as they
    are defined, the standard library reads what clients send."""

    _encoder = msgspec.json.Encoder()

    @classmethod
    def dumps(cls, obj: Any, **_: Any) -> str:
        return cls._encoder.encode(obj).decode()

    loads = staticmethod(json.loads)


class CheckedPacket(_Checked, packet.Packet):
    wire_type = str
    json = _MsgspecJSON


class CheckedMsgPackPacket(_Checked, msgpack_packet.MsgPackPacket):
    wire_type = bytes
    _encoder = msgspec.msgpack.Encoder()

    def encode(self):
        """The packet in MessagePack, the events' Structs as they are defined (sentivis.protocol)."""
        return self._encoder.encode(self._to_dict())

    def _check(self, attachments: int) -> None:
        if self.namespace is None:  # the msgpack parser always names it; the library reads it unchecked
            raise PacketRejected("a packet without a namespace")
        super()._check(attachments)


PACKETS = {"default": CheckedPacket, "msgpack": CheckedMsgPackPacket}


def _wrong_endpoint(parser: str, data: Any) -> str | bytes | None:
    """A CONNECT_ERROR in the other parser's encoding when `data` is that parser's CONNECT packet: a
    client that came to the wrong endpoint learns where to go instead of seeing its connection drop."""
    other = "msgpack" if parser == "default" else "default"
    message = {"message": f"wrong_parser: this endpoint (/{SOCKETIO_PATHS[parser]}/) speaks the {parser} parser; "
                          f"a client with the {other} parser connects to path /{SOCKETIO_PATHS[other]}/"}
    if other == "msgpack" and isinstance(data, bytes):
        try:
            decoded = msgpack.unpackb(data, raw=False)
        except Exception:  # noqa: BLE001 - not msgpack: nothing to answer in it
            return None
        if isinstance(decoded, dict) and decoded.get("type") == packet.CONNECT:
            return msgpack.packb({"type": packet.CONNECT_ERROR, "nsp": "/", "data": message})
    if other == "default" and isinstance(data, str) and data[:1] == str(packet.CONNECT):
        return f"{packet.CONNECT_ERROR}{json.dumps(message, separators=(',', ':'))}"
    return None


def engineio_readable(message: str | bytes) -> bool:
    """Whether python-engineio can decode this WebSocket message (binary always can)."""
    if isinstance(message, bytes):
        return True
    if not message:
        return False
    if message[0] == "b":  # base64 binary, from old clients
        try:
            binascii.a2b_base64(message[1:], strict_mode=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return message[0] in "0123456789"


def _checked_websocket(base: type) -> type:
    """The async driver's WebSocket class, whose wait() reports an undecodable message as the end of
    the connection: python-engineio then closes the session and its writer as for a client's close."""

    class CheckedWebSocket(base):
        def wait(self):
            message = super().wait()
            if message is None or engineio_readable(message):
                return message
            log.warning("closing a WebSocket: not an Engine.IO message (%r)", message[:40])
            return None

    return CheckedWebSocket


class SocketServer(socketio.Server):
    """python-socketio's server for one parser ("default" or "msgpack"), refusing unusable packets cleanly.

    The library calls `_handle_eio_message` for every Engine.IO message; it is wrapped, not rewritten
    (python-socketio is pinned, and tests/gateway/test_packets.py covers each case on both parsers).
    """

    def __init__(self, parser: str, session_limit: int = 0, sessions_open=None, **kwargs: Any):
        """session_limit: Engine.IO sessions past which a handshake is refused (0: none), counted by
        sessions_open() (default: this endpoint's)."""
        super().__init__(serializer=PACKETS[parser], **kwargs)
        self.session_limit = session_limit or float("inf")
        self.sessions_open = sessions_open or (lambda: len(self.eio.sockets))
        self.parser = parser
        self.path = SOCKETIO_PATHS[parser]
        self.rejected_packets = 0
        drivers = self.eio._async
        self.eio._async = {**drivers, "websocket": _checked_websocket(drivers["websocket"])}

    def handle_request(self, environ, start_response):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        sid = query.get("sid", [None])[0]
        if sid is None and self.sessions_open() >= self.session_limit:
            # A handshake past what the gateway holds: refused at once, never left waiting. (Socket.IO's
            # own connect refuses past max_connections with `server_full`; this bounds sessions that
            # never get that far.)
            log.warning("refusing a new session on /%s/: %d sessions open", self.path, self.sessions_open())
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json"), ("Retry-After", "5")])
            return [json.dumps({"code": "server_full", "message": "the gateway holds all the connections it can; "
                                                                  "try again later"}).encode()]
        if environ.get("REQUEST_METHOD") == "POST":
            problem, environ = self._read_post(environ)
            if problem:
                self.rejected_packets += 1
                log.warning("refusing a long-polling request on /%s/ and closing its session: %s", self.path,
                            problem)
                if sid in self.eio.sockets:
                    self.eio.start_background_task(self.eio.disconnect, sid)
                start_response("400 BAD REQUEST", [("Content-Type", "text/plain")])
                return [f"unreadable Engine.IO request: {problem}".encode()]
        return super().handle_request(environ, start_response)

    def _read_post(self, environ: dict) -> tuple[str | None, dict]:
        """A long-polling POST's packets, checked before python-engineio decodes them (it would log a
        traceback for each bad one and answer 200); returns (problem or None, the environ to serve)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "a Content-Length that is not a number", environ
        if length > self.eio.max_http_buffer_size or "j=" in environ.get("QUERY_STRING", ""):
            return None, environ  # python-engineio refuses the first itself; JSONP is left to it
        body = environ["wsgi.input"].read(length)
        try:
            packets = body.decode("utf-8").split("\x1e") if body else []
        except UnicodeDecodeError:
            return "a body that is not UTF-8", environ
        if not all(engineio_readable(p) for p in packets):
            return "a body that is not Engine.IO packets", environ
        return None, {**environ, "wsgi.input": io.BytesIO(body)}

    def _handle_eio_message(self, eio_sid, data):
        try:
            super()._handle_eio_message(eio_sid, data)
        except ValueError as exc:
            # The library's own refusal of a binary packet before the client connected is a ValueError
            # too; any other one comes from an event handler, a bug to see in full.
            if not isinstance(exc, PacketRejected) and str(exc) != "Unexpected binary packet":
                raise
            self._binary_packet.pop(eio_sid, None)
            self.rejected_packets += 1
            answer = _wrong_endpoint(self.parser, data)
            log.warning("closing a connection on /%s/: %s", self.path,
                        "it speaks the other parser" if answer is not None else exc)
            if answer is not None:
                self.eio.send(eio_sid, answer)
            # In the background: closing a long-polling session waits for its next GET, and this may be
            # the handler of its POST.
            self.eio.start_background_task(self.eio.disconnect, eio_sid)
        finally:
            # One message, then the other connections' turn: a client flooding the gateway must not keep
            # its greenlet running from one buffered message to the next while everyone else waits.
            self.eio.sleep(0)
