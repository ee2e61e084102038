"""`python tests/compose/people.py HOST PORT FRAME.jpg ADDRESS...`: one person per source address.

Run inside a network namespace holding those addresses (People in tests/compose/support.py makes it):
each person is a python-socketio client (default parser, WebSocket) whose socket is bound to its own
address, as browsers on different machines behind the stack's nginx would be. All connect; then,
all still open, each in turn sends one frame and waits for its answer; then all leave. Prints a
JSON report.
"""
import json
import socket
import sys
import threading

import socketio

host, port, frame_path, *addresses = sys.argv[1:]
frame = open(frame_path, "rb").read()
report = {"connected": [], "refused": {}, "answers": {}}
answered = threading.Condition()
clients = []

for address in addresses:
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(address, 0))
    sio = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})
    reasons = []
    sio.on("connect_error", lambda data=None, reasons=reasons: reasons.append(data))

    def on_answer(payload, address=address):
        with answered:
            report["answers"][address] = payload.get("code") or len(payload.get("faces", []))
            answered.notify_all()

    sio.on("inference", on_answer)
    sio.on("frame_error", on_answer)
    try:
        sio.connect(f"http://{host}:{port}", transports=["websocket"], wait_timeout=15)
    except socketio.exceptions.ConnectionError as exc:
        report["refused"][address] = (reasons[0] or {}).get("message") if reasons else str(exc)
        continue
    clients.append(sio)
    report["connected"].append(address)

for i, sio in enumerate(clients):  # every one open at once; each in turn sends a frame (not a burst)
    sio.emit("frame", {"frame_id": i, "image": frame})
    with answered:
        answered.wait_for(lambda i=i: len(report["answers"]) == i + 1, timeout=30)
for sio in clients:
    sio.disconnect()
print(json.dumps(report))
