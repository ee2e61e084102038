"""Reliability tooling: `python -m reliability chaos|soak|audit` (also `sentivis chaos|soak|audit`)."""


def verdict(name: str, failures: list[str], unanswered: int, answered: bool) -> int:
    """Print a run's failures and PASS/FAIL; the exit code. A frame never answered always fails."""
    if unanswered or not answered:
        failures = failures + [f"{unanswered} frames never answered"]
    for failure in failures:
        print("FAIL", failure)
    print(f"{name}: PASS" if not failures else f"{name}: FAIL")
    return 1 if failures else 0
