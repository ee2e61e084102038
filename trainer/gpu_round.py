"""`python -m trainer round`: teachers and a distilled student on one lent GPU, inside one command.

A lent GPU comes for minutes, bare, and PrivateTest must never reach it. So the round takes a
compact file of Training and PublicTest (`python -m trainer compact`), and in one process tree:

1. trains 3-5 teachers at once (separate processes share the GPU: small networks leave it idle
   between kernel launches), each differing in what it sees: architecture family, widths, seed,
   mixup or CutMix; each writes its ten-view predictions (`python -m trainer teacher`);
2. picks the teachers, new and committed, whose ensemble scores best on PublicTest (greedy);
3. trains the student on the ensemble (`train --teachers`, EMA), for whatever time is left;
4. leaves in OUT: teachers.tar (the new prediction files), student.pt (the best checkpoint),
   round.json (what ran, for how long, every PublicTest figure) and round.log.

Time is planned, not hoped for: every training run gets a `--minutes` budget (epochs set from its
measured step time) and a deadline; a run still going at its deadline is stopped and its best
checkpoint so far is used, so the round always ends inside `--minutes`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sentivis.training import committed_teachers
from trainer import teachers
from trainer.data import DataError, load_dataset
from trainer.model import build_network, count_parameters

REPO = Path(__file__).resolve().parent.parent
MAX_RETURNED_BYTES = 15 * 2**20  # a lent machine returns files of up to 16 MiB
STARTUP_S = 30  # a child's imports, the compact file's decompression, cuDNN's first timings
PREDICT_S = 30  # a teacher's ten views of 32,000 faces, and its files


@dataclass
class Recipe:
    """One network of the round: a name and the `train` flags that make it."""

    name: str
    flags: dict[str, str | int | float] = field(default_factory=dict)

    def argv(self, dry_run: bool) -> list[str]:
        flags = {**self.flags, **(DRY_RUN if dry_run else {})}
        return [part for key, value in flags.items() for part in (f"--{key.replace('_', '-')}", str(value))]


# Teachers that differ from the committed emotionnet-32-512-s1 (VGG, plain augmentation, seed 1) in
# what they see; 149-388 M multiply-adds each. Batch 256 at twice the CPU recipe's rate (0.1).
COMMON = {"batch_size": 256, "learning_rate": 0.1, "ema_decay": 0.999, "precision": "bf16"}
TEACHERS = [
    Recipe("resemotionnet-24-384-s11", {**COMMON, "arch": "resnet", "widths": "24,48,96,192,384", "seed": 11}),
    Recipe("emotionnet-40-640-s12-mixup", {**COMMON, "widths": "40,80,160,320,640", "seed": 12, "mixup": 0.2}),
    Recipe("resemotionnet-32-256-s13-cutmix", {**COMMON, "arch": "resnet", "widths": "32,64,128,256", "seed": 13,
                                               "cutmix": 1.0}),
    Recipe("emotionnet-32-512-s14-mix", {**COMMON, "widths": "32,64,128,256,512", "seed": 14, "mixup": 0.4,
                                         "cutmix": 1.0}),
    Recipe("resemotionnet-32-512-s15", {**COMMON, "arch": "resnet", "widths": "32,64,128,256,512", "seed": 15}),
]
# The shipped network's size (0.47 ms per face int8): room for the mirror view inside 1 ms.
STUDENT = Recipe("student-24-384-s21", {**COMMON, "widths": "24,48,96,192,384", "seed": 21,
                                        "distill_weight": 0.7, "distill_temperature": 2.0})
DRY_RUN = {"widths": "4,8", "epochs": 1, "minutes": 0, "batch_size": 32}


@dataclass
class Child:
    """A training process of the round and where its output goes."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    stopped_at_deadline: bool = False

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "30"}  # progress bars: a line per 30 s in the log
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "trainer", *self.argv], cwd=REPO, env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        """SIGTERM its process group (a run killed mid-epoch keeps its best checkpoint), then wait."""
        if self.process is not None and self.process.poll() is None:
            self.stopped_at_deadline = True
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_all(children: list[Child], deadline: float, poll_s: float = 0.5) -> None:
    """Wait for every child until `deadline` (time.monotonic()), noting when each ends; stop the
    ones still running then."""
    running = list(children)
    while running:
        for child in [c for c in running if c.process.poll() is not None or time.monotonic() >= deadline]:
            child.stop()  # nothing to stop when it has ended
            child.seconds = round(time.monotonic() - child.started, 1)
            running.remove(child)
        if running:
            time.sleep(poll_s)


def run_children(children: list[Child], deadline: float) -> None:
    for child in children:
        child.start()
    wait_all(children, deadline)


def log_summary(path: Path, lines: int = 200) -> str:
    """A child's log without progress bars: its epoch lines, plans and errors, the last `lines`."""
    text = path.read_text(errors="replace").replace("\r", "\n") if path.is_file() else ""
    kept = [line for line in text.splitlines() if line.strip() and not re.search(r"\d+/\d+ \[", line)]
    return "\n".join(kept[-lines:])


def check_data(data_path: str) -> dict:
    """The data must hold no PrivateTest (a compact file): it is what travels to the lent machine."""
    data = load_dataset(data_path)
    if len(data.test):
        raise DataError(f"{data_path} holds PrivateTest ({len(data.test)} faces), which never leaves this "
                        f"machine: make a compact file of Training and PublicTest with `python -m trainer compact`")
    return {"source": data.source, "layout": data.layout, "train": len(data.train), "val": len(data.val),
            "fingerprints": {key: getattr(data, key).fingerprint() for key in teachers.SPLITS}}


def committed_for(fingerprints: dict[str, str]) -> list[Path]:
    """The committed teachers that predicted exactly this Training and PublicTest."""
    files = [teachers.committed_file(name) for name in committed_teachers()]
    return [f for f in files if teachers.load(f).fingerprints == fingerprints]


def check_student_returns(recipe: Recipe, dry_run: bool) -> None:
    """The student's checkpoint must fit in one returned file; refuse before any GPU time is spent."""
    flags = {**recipe.flags, **(DRY_RUN if dry_run else {})}
    widths = tuple(int(w) for w in str(flags["widths"]).split(","))
    size = count_parameters(build_network(str(flags.get("arch", "vgg")), widths, 0.0)) * 4
    if size > MAX_RETURNED_BYTES:
        raise ValueError(f"the student {recipe.name} ({size / 2**20:.1f} MiB of weights) would not come back "
                         f"from the lent machine (at most {MAX_RETURNED_BYTES / 2**20:.0f} MiB a file)")


def predict_late(children: list[Child], work: Path, data_path: str, device: str, deadline: float) -> list[Child]:
    """A teacher stopped at its deadline still has its best checkpoint: write its predictions from that."""
    late = [Child(f"{c.name} (predictions)", ["teacher", data_path, "--name", c.name, "--out-dir",
                                              str(work / "teachers"), "--checkpoint", str(work / f"{c.name}.pt"),
                                              "--device", device], work / f"{c.name}.predict.log")
            for c in children if not (work / "teachers" / f"{c.name}.npz").is_file()
            and (work / f"{c.name}.pt").is_file()]
    run_children(late, deadline)
    return late


def choose_teachers(files: list[Path]) -> tuple[list[Path], list[dict]]:
    """Greedy forward selection on PublicTest: start from the best teacher, add the one that raises the
    ensemble's accuracy most, stop when none does. Returns the chosen files and each step."""
    loaded = {path: teachers.load(path) for path in files}
    labels = next(iter(loaded.values())).labels["val"]

    def accuracy(chosen: list[Path]) -> float:
        return float((teachers.ensemble([loaded[p] for p in chosen])["val"].argmax(1) == labels).mean())

    chosen: list[Path] = []
    steps: list[dict] = []
    best = -1.0
    while len(chosen) < len(files):
        score, pick = max((accuracy(chosen + [p]), str(p)) for p in files if p not in chosen)
        if score <= best:
            break
        chosen.append(Path(pick))
        best = score
        steps.append({"added": Path(pick).stem, "ensemble_val_accuracy": score})
    return chosen, steps


def pack(out: Path, made: list[Path], student: Path | None, summary: dict, children: list[Child]) -> None:
    """What comes back from the lent machine: four files, each under its 16 MiB limit."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "teachers.tar", "w") as tar:
        for npz in made:
            for path in (npz, npz.with_suffix(".json")):
                tar.add(path, arcname=path.name)
    if student is not None and student.is_file():
        shutil.copyfile(student, out / "student.pt")
    (out / "round.json").write_text(json.dumps(summary, indent=2) + "\n")
    logs = [f"== {c.name}: {c.seconds} s{', stopped at its deadline' if c.stopped_at_deadline else ''}, "
            f"exit {c.process.returncode if c.process else None}\n{log_summary(c.log)}" for c in children]
    (out / "round.log").write_text("\n\n".join(logs) + "\n")


def run_round(data_path: str, out: str | Path, device: str = "cuda", minutes: float = 9.0,
              teacher_minutes: float = 3.5, count: int = 4, committed: bool = True, dry_run: bool = False,
              work: str | Path | None = None) -> dict:
    """The whole round; returns the summary also written to OUT/round.json."""
    started = time.monotonic()
    end = started + minutes * 60 - 20  # the last 20 s: stopping, choosing, packing
    if not 1 <= count <= len(TEACHERS):
        raise ValueError(f"teachers: 1 to {len(TEACHERS)}, not {count}")
    data = check_data(data_path)
    check_student_returns(STUDENT, dry_run)
    work = Path(work or tempfile.mkdtemp(prefix="sentivis-round-"))
    (work / "teachers").mkdir(parents=True, exist_ok=True)
    threads = str(max(1, (os.cpu_count() or 1) // count))
    recipes = TEACHERS[:count]

    # 1. The teachers, all at once; each writes its predictions when its training ends.
    teacher_deadline = min(end - 90, started + teacher_minutes * 60 + STARTUP_S + PREDICT_S)
    budget = [] if dry_run else ["--minutes", str(teacher_minutes)]
    children = [Child(r.name, ["teacher", data_path, "--name", r.name, "--out-dir", str(work / "teachers"),
                               "--output", str(work / f"{r.name}.pt"), "--device", device, "--threads", threads,
                               *r.argv(dry_run), *budget], work / f"{r.name}.log") for r in recipes]
    run_children(children, teacher_deadline)
    late = predict_late(children, work, data_path, device, end - 60)
    made = [work / "teachers" / f"{r.name}.npz" for r in recipes if (work / "teachers" / f"{r.name}.npz").is_file()]

    # 2. The ensemble: the new teachers and the committed ones made for the same faces, chosen on PublicTest.
    candidates = made + (committed_for(data["fingerprints"]) if committed else [])
    chosen, steps = choose_teachers(candidates) if candidates else ([], [])

    def finish(student: Child | None) -> dict:
        summary = {"data": {k: v for k, v in data.items() if k != "fingerprints"}, "device": device,
                   "gpu": torch.cuda.get_device_name() if device.startswith("cuda") and torch.cuda.is_available()
                   else None, "dry_run": dry_run, "minutes": minutes, "teacher_minutes": teacher_minutes,
                   "teachers": [_teacher_summary(r, c, work) for r, c in zip(recipes, children, strict=True)],
                   "ensemble": {"candidates": [p.stem for p in candidates], "steps": steps,
                                "chosen": [p.stem for p in chosen],
                                "val_accuracy": steps[-1]["ensemble_val_accuracy"] if steps else None},
                   "student": _student_summary(student, student_path),
                   "seconds": round(time.monotonic() - started, 1)}
        pack(Path(out), made, student_path if student else None, summary,
             children + late + ([student] if student else []))
        return summary

    # The teachers come back even if the command is cut short while the student trains.
    student_path = work / f"{STUDENT.name}.pt"
    finish(None)

    # 3. The student, in the time left (planned on 90 % of it: its epochs end before the deadline).
    left_minutes = (end - time.monotonic() - STARTUP_S) / 60 * 0.9
    student = None
    if chosen and (dry_run or left_minutes >= 1):
        budget = [] if dry_run else ["--minutes", f"{left_minutes:.2f}"]
        student = Child(STUDENT.name, ["train", data_path, "--teachers", ",".join(map(str, chosen)), "--output",
                                       str(student_path), "--device", device, *STUDENT.argv(dry_run), *budget],
                        work / f"{STUDENT.name}.log")
        run_children([student], end)
    return finish(student)


def _metrics(checkpoint: Path) -> dict | None:
    if not checkpoint.is_file():
        return None
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    history = ckpt["metrics"]["history"]
    return {"epochs_planned": ckpt["config"]["epochs"], "epochs_run": len(history),
            "best_epoch": ckpt["metrics"]["best_epoch"], "val_accuracy": ckpt["metrics"]["val_accuracy"],
            "training_seconds": round(sum(h["seconds"] for h in history), 1)}


def _teacher_summary(recipe: Recipe, child: Child, work: Path) -> dict:
    card = work / "teachers" / f"{recipe.name}.json"
    info = json.loads(card.read_text()) if card.is_file() else {}
    return {"name": recipe.name, "flags": recipe.flags, "seconds": child.seconds,
            "stopped_at_deadline": child.stopped_at_deadline, "predictions": card.is_file(),
            "multiply_adds": info.get("multiply_adds"), "val_accuracy_views": info.get("val_accuracy_views"),
            **(_metrics(work / f"{recipe.name}.pt") or {})}


def _student_summary(child: Child | None, checkpoint: Path) -> dict | None:
    if child is None:
        return None
    return {"name": STUDENT.name, "flags": STUDENT.flags, "seconds": child.seconds,
            "stopped_at_deadline": child.stopped_at_deadline, **(_metrics(checkpoint) or {})}
