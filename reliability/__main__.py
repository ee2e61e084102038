"""`python -m reliability chaos|soak|audit` (or `sentivis chaos|soak|audit`): fault injection, a
long run, the dependency audit."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None, prog: str = "python -m reliability") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    chaos = sub.add_parser("chaos", help="kill -9 services in turn while clients stream; time the recovery")
    chaos.add_argument("--minutes", type=float, default=3.0)
    chaos.add_argument("--interval", type=float, default=8.0, help="seconds between faults (default 8)")
    chaos.add_argument("--clients", type=int, default=2)
    chaos.add_argument("--rate", type=float, default=5.0, help="frames per second per client (default 5)")

    soak = sub.add_parser("soak", help="a long run at 70%% of saturation: errors, memory, stream lengths")
    soak.add_argument("--minutes", type=float, default=10.0)
    soak.add_argument("--saturation", type=float, default=None,
                      help="the stack's saturation in frames per second (default: measure it first, 20 s)")
    soak.add_argument("--clients", type=int, default=4)
    soak.add_argument("--warmup", type=float, default=120.0, help="seconds before memory is compared (default 120)")
    soak.add_argument("--sample", type=float, default=10.0, help="seconds between samples (default 10)")
    soak.add_argument("--detectors", type=int, default=1)
    soak.add_argument("--classifiers", type=int, default=1)

    audit = sub.add_parser("audit", help="known vulnerabilities in requirements/*.txt and frontend/")
    audit.add_argument("--strict", action="store_true", help="also fail when an advisory service is unreachable")

    for p in (chaos, soak):
        p.add_argument("--logs", type=Path, default=None, metavar="DIR",
                       help="where the stack's processes log, a file each (default: a temporary folder)")

    args = parser.parse_args(argv)
    if args.command == "audit":
        from reliability import audit as audit_module

        return audit_module.main(args.strict)
    log = args.logs or Path(tempfile.mkdtemp(prefix=f"sentivis-{args.command}-"))
    print(f"stack logs: {log}", flush=True)
    if args.command == "chaos":
        from reliability import chaos as chaos_module

        return chaos_module.run(args.minutes, args.interval, args.clients, args.rate, log)
    from reliability import soak as soak_module

    rate = None if args.saturation is None else 0.7 * args.saturation
    return soak_module.run(args.minutes, rate, args.clients, args.warmup, args.sample, args.detectors,
                           args.classifiers, log)


if __name__ == "__main__":
    sys.exit(main())
