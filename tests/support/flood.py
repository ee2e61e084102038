"""A client flooding a gateway, as a process of its own: `python -m tests.support.flood URL --rate 1000
--seconds 5` sends the astronaut that fast (as fast as it can, if slower), waits for every answer and
prints one JSON line: frames sent, answers by code, and when the last answer came (seconds after the
first send).

A process so that a test can run it at a lower priority than the stack: on a shared 2-core machine
an in-process flooder takes the CPU the stack needs, which an attacker's own machine would not."""
from __future__ import annotations

import argparse
import json
import time

from toolkit.client import FrameClient
from toolkit.samples import astronaut_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    client = FrameClient(args.url)
    try:
        started = time.monotonic()
        client.start([astronaut_frame()[0]], rate=args.rate, duration=args.seconds).join(timeout=args.seconds + 25)
        answered = client.wait_answered(timeout=60)
        done = [r.done for r in client.records.values() if r.done is not None]
        print(json.dumps({"sent": len(client.records), "answered": answered, "codes": dict(client.codes()),
                          "last_answer_s": (max(done) - started) if done else None}))
    finally:
        client.close()


if __name__ == "__main__":
    main()
