"""Under overload the detector drops a connection's older frames when a newer one waits behind."""
from __future__ import annotations

import time

from detector.service import DetectorService, newest_per_connection
from sentivis.protocol import FrameMessage, decode, encode
from sentivis.settings import Settings
from toolkit.samples import astronaut_frame


def entry(entry_id: bytes, sid: str, frame_id: int, gateway: str = "gw") -> tuple[bytes, dict[bytes, bytes]]:
    message = FrameMessage(gateway=gateway, sid=sid, frame_id=frame_id, received_at=time.time())
    fields = encode(message, b"")
    return entry_id, {k.encode(): v for k, v in fields.items()}


def test_the_newest_entry_of_each_connection_is_kept():
    """Each entry decoded once (unreadable ones are None): the newest of each connection, by stream order."""
    entries = [entry(b"1-0", "a", 1), entry(b"2-0", "b", 7), entry(b"3-0", "a", 2), entry(b"4-0", "a", 3),
               entry(b"5-0", "a", 1, gateway="other-gw")]
    decoded = [(entry_id, decode(fields)[0], b"") for entry_id, fields in entries] + [(b"6-0", None, b"")]
    assert newest_per_connection(decoded) == {b"2-0", b"4-0", b"5-0"}
    assert newest_per_connection([]) == set()


def test_an_old_superseded_frame_is_dropped_as_expired_and_a_fresh_one_is_not():
    # Ages far from both limits, so that no pause of a busy machine changes the outcome.
    service = DetectorService(Settings(superseded_after_ms=10_000, max_frame_age_ms=100_000))
    jpeg, _ = astronaut_frame()
    try:
        old = FrameMessage(gateway="gw", sid="a", frame_id=1, received_at=time.time() - 30)
        assert service.process(old, jpeg, superseded=True) == b""
        assert old.error == "expired" and old.faces == [] and old.stamps.decode_done is None

        fresh = FrameMessage(gateway="gw", sid="a", frame_id=2, received_at=time.time())
        crops = service.process(fresh, jpeg, superseded=True)  # newer one waiting, but this is not late yet
        assert fresh.error is None and len(fresh.faces) == 1 and len(crops) == 48 * 48

        newest = FrameMessage(gateway="gw", sid="a", frame_id=3, received_at=time.time() - 30)
        service.process(newest, jpeg, superseded=False)  # the newest frame is worth processing
        assert newest.error is None and len(newest.faces) == 1
        assert service.counters.expired == 1 and service.counters.processed == 2
    finally:
        service.detector.close()
