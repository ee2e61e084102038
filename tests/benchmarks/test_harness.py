"""The benchmark harness, run for a few seconds at a low rate: it starts its own stack, drives
it with real frames and writes a well-formed JSON report, in both CPU modes (shared, and pinned:
the stack and the load generator on different cores). Figures are printed, never asserted."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from sentivis.settings import REPO_ROOT


def test_a_short_low_rate_run_writes_a_complete_report(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--scenarios", "stream", "--stream-fps", "4", "--seconds", "3",
         "--json", str(out), "--log-dir", str(tmp_path / "logs")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the harness stops the stack it started
        stdout, stderr = proc.communicate(timeout=60)
        raise AssertionError("the harness did not finish in 200 s:\n" + stdout[-2000:] + stderr[-2000:]) from None
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    report = json.loads(out.read_text())

    assert report["machine"]["cores"] >= 1 and report["machine"]["load_avg_start"]
    shared, pinned = report["scenarios"]
    assert (shared["mode"], pinned["mode"]) == ("shared", "pinned")
    cores = sorted(os.sched_getaffinity(0))
    assert report["modes"]["shared"]["stack_cpus"] == report["modes"]["shared"]["load_cpus"] == cores
    # Pinned: the load generator on the last core, the stack on the others, apart.
    pinned_cpus = report["modes"]["pinned"]
    assert pinned_cpus["load_cpus"] == cores[-1:] and pinned_cpus["stack_cpus"] == cores[:-1]
    for step in (shared, pinned):
        check_step(step)
    assert report["targets"] == []  # targets are judged only on the scenarios that ran
    # The table went to the terminal too.
    assert "stream-4fps" in stdout and "pinned" in stdout


def check_step(step: dict) -> None:
    assert step["stack"] == "sentivis-d1-c1" and step["label"] == "stream-4fps"
    assert step["clients"] == 1 and step["offered_fps"] == 4
    # 3 s at 4 fps, less the warm-up second: every frame sent is accounted for.
    assert 6 <= step["sent"] <= 10
    assert step["answered"] + step["dropped"] == step["sent"]
    assert step["answered"] >= 1 and len(step["rtt_samples_ms"]) == step["answered"]
    assert step["late_events"] == 0
    assert step["rtt_ms"]["p50"] > 0 and step["stages_ms"]["server_ms"]["n"] == step["answered"]
    assert {"detect_ms", "decode_ms", "queue_ms"} <= set(step["stages_ms"])
    assert step["streams"]["samples"] > 0 and step["streams"]["frames_backlog_max"] >= 0
    assert set(step["cpu"]["cpu_ms_per_frame"]) >= {"gateway", "detector-1", "classifier-1", "redis"}


def test_the_recorder_benchmark_drains_every_record_and_measures_the_database(tmp_path):
    out = tmp_path / "recorder.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.recorder", "--frames", "400", "--cameras", "2",
                           "--recorders", "1", "--json", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())["results"]
    assert [(r["engine"], r["recorders"], r["frames"], r["records"]) for r in results] == [
        ("sqlite", 1, 400, 402), ("postgresql", 1, 400, 402)]
    assert all(r["rows_per_s"] > 0 and 50 < r["bytes_per_row"] < 5000 for r in results)
    assert "rows/s" in proc.stdout and "MB per camera-hour" in proc.stdout


def test_the_recording_benchmark_stores_every_answered_frame_of_its_recorded_rounds(tmp_path):
    out = tmp_path / "recording.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.recording", "--fps", "10", "--seconds", "2",
                           "--rounds", "1", "--json", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert [r["recording"] for r in report["rounds"]] == [False, True]
    for r in report["rounds"]:
        assert r["answered"] == 20 and r["errors"] == {} and r["server_ms"]["n"] > 0
    assert report["rounds"][1]["stored_frames"] == report["rounds"][1]["answered"]
    assert set(report["median"]) == {"off", "on"} and "recording off -> on" in proc.stdout
