"""`python -m reliability audit` (`make audit`): known vulnerabilities in the pinned dependencies.

- Python: pip-audit over every requirements/*.txt, package by package as pinned (`--no-deps`:
  the files pin every direct dependency; resolving torch and mediapipe again in a scratch venv
  would take many minutes). PyPI's advisories carry no severity, so any known vulnerability
  that has a fixed version fails the audit (stricter than "high").
- Browser app: `npm audit` in frontend/ when frontend/package-lock.json exists; high or critical
  advisories that have a fix fail the audit.

An advisory service that cannot be reached is reported loudly but does not fail the audit, so
that CI without that service still runs; `--strict` makes it fail.
IDs listed in reliability/audit-ignore.txt (one per line, with a reason) are accepted risks.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IGNORE_FILE = Path(__file__).with_name("audit-ignore.txt")
NPM_FAILING = ("high", "critical")


@dataclass
class Findings:
    fixable: list[str] = field(default_factory=list)  # these fail the audit
    unfixed: list[str] = field(default_factory=list)  # known, no fix yet: reported only
    not_audited: list[str] = field(default_factory=list)  # the service could not tell


def ignored_ids() -> set[str]:
    if not IGNORE_FILE.is_file():
        return set()
    return {line.split()[0] for line in IGNORE_FILE.read_text().splitlines() if line.strip() and
            not line.lstrip().startswith("#")}


def audit_python(requirements: list[Path], ignore: set[str]) -> Findings:
    found = Findings()
    for req in requirements:
        cmd = [sys.executable, "-m", "pip_audit", "-r", str(req), "--no-deps", "--disable-pip", "--format", "json",
               "--progress-spinner", "off"]
        for vuln_id in sorted(ignore):
            cmd += ["--ignore-vuln", vuln_id]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            found.not_audited.append(f"{req.name}: pip-audit failed: {proc.stderr.strip()[-300:]}")
            continue
        judge_pip_audit(report, req.name, found)
    return found


def judge_pip_audit(report: dict, source: str, found: Findings) -> None:
    """Sort one `pip-audit --format json` report into found (ignored IDs were passed to pip-audit)."""
    for dep in report.get("dependencies", []):
        name = f"{dep['name']}=={dep.get('version', '?')}"
        if dep.get("skip_reason"):
            found.not_audited.append(f"{source}: {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            line = f"{source}: {name} {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or 'no release'})"
            (found.fixable if vuln.get("fix_versions") else found.unfixed).append(line)


def audit_npm(frontend: Path, ignore: set[str]) -> Findings:
    found = Findings()
    if not (frontend / "package-lock.json").is_file():
        return found
    npm = shutil.which("npm")
    if npm is None:
        found.not_audited.append("frontend: npm is not installed")
        return found
    proc = subprocess.run([npm, "audit", "--json", "--audit-level=high"], capture_output=True, text=True,
                          cwd=frontend, timeout=600)
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    judge_npm_audit(report, ignore, found, proc.stderr)
    return found


def judge_npm_audit(report: dict, ignore: set[str], found: Findings, stderr: str = "") -> None:
    """Sort one `npm audit --json` report (npm 7+) into found: high and critical only."""
    if "vulnerabilities" not in report:
        reason = report.get("message") or stderr.strip()[-300:] or "no report"
        found.not_audited.append(f"frontend: npm audit could not reach its advisory service ({reason})")
        return
    for name, vuln in report["vulnerabilities"].items():
        ids = {str(v.get("source")) for v in vuln.get("via", []) if isinstance(v, dict)}
        if ids and ids <= ignore:
            continue
        line = f"frontend: {name} {vuln.get('severity')} {vuln.get('range', '')} (advisories {', '.join(sorted(ids))})"
        if vuln.get("severity") in NPM_FAILING:
            (found.fixable if vuln.get("fixAvailable") else found.unfixed).append(line)


def main(strict: bool = False) -> int:
    ignore = ignored_ids()
    requirements = sorted(p for p in (REPO / "requirements").glob("*.txt") if p.name != "dev.txt")
    results = [audit_python(requirements, ignore), audit_npm(REPO / "frontend", ignore)]
    return verdict(results, strict, len(requirements))


def verdict(results: list[Findings], strict: bool = False, requirement_files: int = 0) -> int:
    """Print the findings; 1 when a known vulnerability has a fix (or, strict, when anything went unaudited)."""
    fixable = [x for r in results for x in r.fixable]
    unfixed = [x for r in results for x in r.unfixed]
    not_audited = [x for r in results for x in r.not_audited]
    for line in fixable:
        print("VULNERABLE (a fix exists):", line)
    for line in unfixed:
        print("known, no fix yet:", line)
    if not_audited:
        print(f"WARNING: {len(not_audited)} dependencies or tools could not be audited:")
        for line in not_audited:
            print("  ", line)
    print(f"audit: {len(fixable)} fixable, {len(unfixed)} without a fix, {len(not_audited)} not audited "
          f"({requirement_files} requirements files)")
    return 1 if fixable or (strict and not_audited) else 0
