"""How every worker service runs: until SIGTERM or SIGINT asks it to stop after its current batch."""
import signal
from typing import Protocol


class StoppableService(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_until_signalled(service: StoppableService) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    service.run()
