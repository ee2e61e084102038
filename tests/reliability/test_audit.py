"""The dependency audit's verdict on real-format pip-audit and npm audit reports.

The advisory services cannot be reached from this build machine (`make audit` says so loudly),
so the decision logic is tested on reports in the tools' own JSON formats.
"""
from __future__ import annotations

from reliability.audit import Findings, judge_npm_audit, judge_pip_audit, verdict

PIP_AUDIT_REPORT = {  # pip-audit 2.x --format json
    "dependencies": [
        {"name": "flask", "version": "3.0.0", "vulns": [
            {"id": "PYSEC-2099-1", "fix_versions": ["3.0.9"], "aliases": ["CVE-2099-1"], "description": "..."}]},
        {"name": "numpy", "version": "1.26.4", "vulns": [
            {"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": [], "aliases": [], "description": "..."}]},
        {"name": "msgpack", "version": "1.2.4", "vulns": []},
        {"name": "local-thing", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ],
    "fixes": [],
}

NPM_AUDIT_REPORT = {  # npm 7+ audit --json
    "auditReportVersion": 2,
    "vulnerabilities": {
        "vite": {"name": "vite", "severity": "high", "range": "<8.3.5", "fixAvailable": True,
                 "via": [{"source": 1101, "name": "vite", "title": "path traversal", "severity": "high"}]},
        "semver": {"name": "semver", "severity": "critical", "range": "*", "fixAvailable": False,
                   "via": [{"source": 1102, "name": "semver", "severity": "critical"}]},
        "tar": {"name": "tar", "severity": "moderate", "range": "<7", "fixAvailable": True,
                "via": [{"source": 1103, "name": "tar", "severity": "moderate"}]},
        "undici": {"name": "undici", "severity": "high", "range": "<9", "fixAvailable": True,
                   "via": [{"source": 1104, "name": "undici", "severity": "high"}]},
    },
    "metadata": {"vulnerabilities": {"high": 2, "critical": 1, "moderate": 1}},
}


def test_a_python_vulnerability_with_a_fix_fails_the_audit_and_one_without_is_reported():
    found = Findings()
    judge_pip_audit(PIP_AUDIT_REPORT, "gateway.txt", found)
    assert found.fixable == ["gateway.txt: flask==3.0.0 PYSEC-2099-1 (fixed in 3.0.9)"]
    assert found.unfixed == ["gateway.txt: numpy==1.26.4 GHSA-xxxx-yyyy-zzzz (fixed in no release)"]
    assert found.not_audited == ["gateway.txt: Dependency not found on PyPI and could not be audited"]
    assert verdict([found]) == 1


def test_npm_high_and_critical_with_a_fix_fail_moderate_and_ignored_ones_do_not(capsys):
    found = Findings()
    judge_npm_audit(NPM_AUDIT_REPORT, ignore={"1104"}, found=found)
    assert [line.split()[1] for line in found.fixable] == ["vite"]  # undici is an accepted risk, tar moderate
    assert [line.split()[1] for line in found.unfixed] == ["semver"]
    assert verdict([found]) == 1
    assert "VULNERABLE (a fix exists): frontend: vite high" in capsys.readouterr().out


def test_a_clean_report_passes():
    found = Findings()
    judge_pip_audit({"dependencies": [{"name": "redis", "version": "8.1.0", "vulns": []}]}, "common.txt", found)
    judge_npm_audit({"vulnerabilities": {}, "metadata": {}}, set(), found)
    assert found == Findings() and verdict([found]) == 0


def test_an_unreachable_advisory_service_warns_and_fails_only_when_strict(capsys):
    found = Findings()
    judge_npm_audit({}, set(), found, stderr="npm error code E405 Method Not Allowed")
    assert found.not_audited and "E405" in found.not_audited[0]
    assert verdict([found]) == 0
    assert "could not be audited" in capsys.readouterr().out
    assert verdict([found], strict=True) == 1
