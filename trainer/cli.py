"""`python -m trainer train|teacher|ensemble|evaluate|card|export|quantize|compact|round|worker`."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from sentivis.training import TrainConfig
from trainer import gpu_round
from trainer.data import DataError, load_dataset, save_compact
from trainer.evaluate import evaluate_file, format_report, per_class_markdown
from trainer.export import export_model, float_path_for, sibling_paths
from trainer.onnx_io import ModelFileError, ParityError
from trainer.quantize import MAX_VALIDATION_DROP, QuantizationError, quantize_model
from trainer.teacher import make_teacher
from trainer.teachers import TeacherFileError, report
from trainer.train import train


def _train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in train_fields()})


def _train(args: argparse.Namespace) -> int:
    metrics = train(_train_config(args), resume=args.resume)
    print(f"best validation accuracy {metrics['val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
          f"checkpoint {args.output}")
    return 0


def _teacher(args: argparse.Namespace) -> int:
    args.output = args.output or f"artifacts/teachers/{args.name}.pt"
    info = make_teacher(args.name, _train_config(args), checkpoint=args.checkpoint, resume=args.resume,
                        out_dir=args.out_dir)
    print(f"teacher {args.name}: PublicTest {info['val_accuracy']:.4f} single view, "
          f"{info['val_accuracy_views']:.4f} over ten views; {info['file']}")
    return 0


def _ensemble(args: argparse.Namespace) -> int:
    result = report(args.teachers)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for t in result["teachers"]:
        print(f"{t['name']:<24} PublicTest {t['val_accuracy']:.4f}")
    e = result["ensemble"]
    print(f"{'ensemble of ' + str(e['size']):<24} PublicTest {e['val_accuracy']:.4f}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    result = evaluate_file(args.model, args.data, split=args.split, ten_crop=args.ten_crop)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def _card(args: argparse.Namespace) -> int:
    path = Path(args.model)
    card_path = path if path.name.endswith(".card.json") else sibling_paths(path)["card"]
    if not card_path.is_file():
        raise ModelFileError(f"{card_path}: no such model card")
    test = json.loads(card_path.read_text())["metrics"]["test"]
    print(f"{test['split']}, {test['samples']:,} faces: accuracy {test['accuracy']:.4f}, "
          f"macro-F1 {test['macro_f1']:.4f}\n")
    print(per_class_markdown(test))
    return 0


def _export(args: argparse.Namespace) -> int:
    output = Path(args.output)
    float_output = float_path_for(output) if args.int8 else output
    card = export_model(args.checkpoint, float_output, data=args.data, parity_tolerance=args.parity_tolerance,
                        benchmark_runs=args.benchmark_runs, threads=args.threads,
                        mirror_average=args.mirror_average)
    test = card["metrics"]["test"]
    print(f"exported {float_output} (temperature {card['calibration']['temperature']:.3f}, parity max diff "
          f"{card['parity']['max_abs_diff']:.2g}); {test['split']} accuracy {test['accuracy']:.4f}, "
          f"macro-F1 {test['macro_f1']:.4f}, ECE {test['ece_before_calibration']:.4f} -> "
          f"{test['ece_after_calibration']:.4f}; {card['speed']['ms_per_face']:.2f} ms/face; "
          f"card {sibling_paths(float_output)['card']}")
    if args.int8:
        _print_quantized(_quantize_file(float_output, output, args), output)
    return 0


def _quantize_file(source: Path, output: Path, args: argparse.Namespace) -> dict:
    return quantize_model(source, output, data=args.data, max_drop=args.max_drop, benchmark_runs=args.benchmark_runs)


def _print_quantized(card: dict, output: Path) -> None:
    q, test = card["quantization"], card["metrics"]["test"]
    print(f"quantized {output} to int8: validation accuracy {q['validation_accuracy_float']:.4f} -> "
          f"{q['validation_accuracy_int8']:.4f} (top-1 agreement {q['top1_agreement']:.4f}); {test['split']} "
          f"accuracy {test['accuracy']:.4f}; {q['from']['ms_per_face']:.2f} -> "
          f"{card['speed']['ms_per_face']:.2f} ms/face; card {sibling_paths(output)['card']}")


def _quantize(args: argparse.Namespace) -> int:
    _print_quantized(_quantize_file(Path(args.model), Path(args.output), args), Path(args.output))
    return 0


def _compact(args: argparse.Namespace) -> int:
    data = load_dataset(args.data, seed=args.seed)
    path = save_compact(data, args.output)
    print(f"{path}: {len(data.train):,} {data.train.name} and {len(data.val):,} {data.val.name} faces, "
          f"{path.stat().st_size / 2**20:.1f} MiB; no {data.test.name}")
    return 0


def _round(args: argparse.Namespace) -> int:
    summary = gpu_round.run_round(args.data, args.out, device=args.device, minutes=args.minutes,
                                  teacher_minutes=args.teacher_minutes, count=args.teachers,
                                  committed=not args.no_committed, dry_run=args.dry_run, work=args.work)
    for t in summary["teachers"]:
        print(f"teacher {t['name']:<34} PublicTest {t.get('val_accuracy') or 0:.4f} one view, "
              f"{t['val_accuracy_views'] or 0:.4f} ten views; {t.get('epochs_run')} epochs in {t['seconds']} s")
    e, student = summary["ensemble"], summary["student"]
    print(f"ensemble of {', '.join(e['chosen']) or 'none'}: PublicTest {e['val_accuracy'] or 0:.4f}")
    if student:
        print(f"student {student['name']}: PublicTest {student.get('val_accuracy') or 0:.4f} after "
              f"{student.get('epochs_run')} of {student.get('epochs_planned')} epochs in {student['seconds']} s")
    print(f"{summary['seconds']} s in all; teachers.tar, student.pt, round.json and round.log in {args.out}")
    return 0 if student and student.get("epochs_run") else 1


def _worker(args: argparse.Namespace) -> int:
    from trainer.tasks import run_worker  # Celery and a Redis connection: only the worker needs them

    run_worker(loglevel=args.loglevel, pool=args.pool)
    return 0


def train_fields():
    return [f for f in fields(TrainConfig) if f.metadata["cli"]]


def _names(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The `train` flags, one per TrainConfig field (sentivis/training.py), with its default and help."""
    for f in train_fields():
        m = f.metadata
        if f.name == "data":
            p.add_argument("data", help=m["help"])
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.name == "widths":
            p.add_argument(flag, type=_widths, default=default,
                           help=f"{m['help']}; comma-separated (default {','.join(map(str, default))})")
        elif f.name == "teachers":
            p.add_argument(flag, type=_names, default=default, help=f"{m['help']}; comma-separated names or paths")
        else:
            kind = type(default)
            extra = {"choices": m["choices"]} if m["choices"] else {}
            p.add_argument(flag, type=kind, default=default, help=f"{m['help']} (default %(default)s)", **extra)
    p.add_argument("--resume", help="resume from OUTPUT's .resume.pt file")


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not widths or any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"widths must be positive integers, got {text!r}")
    return widths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer",
                                     description="Train, evaluate and export the emotion CNN.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on FER-2013 (CSV, CSV.GZ or class folders)")
    add_train_arguments(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("teacher", help="train a teacher (or take a checkpoint) and commit its predictions "
                                       "for Training and PublicTest to trainer/teachers/NAME.npz")
    p.add_argument("--name", required=True, help="the teacher's name: trainer/teachers/NAME.npz and NAME.json")
    p.add_argument("--checkpoint", help="predict with this checkpoint instead of training one")
    p.add_argument("--out-dir", help="where the prediction files go (default: trainer/teachers/)")
    add_train_arguments(p)
    p.set_defaults(func=_teacher, output=None)

    p = sub.add_parser("ensemble", help="each teacher's and the ensemble's PublicTest accuracy, from the files")
    p.add_argument("teachers", nargs="+", help="teacher names or .npz files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_ensemble)

    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class scores, confusion and ECE on one split")
    p.add_argument("model", help="a .pt checkpoint or an .onnx model file")
    p.add_argument("data", nargs="?", help="the data set (default for a checkpoint: the one it was trained on)")
    p.add_argument("--split", default="PrivateTest", help="Training, PublicTest or PrivateTest (default)")
    p.add_argument("--ten-crop", action="store_true", help="average 10 crops per face (reporting only)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("card", help="a model card's test figures, per class, as Markdown (docs/MODEL.md)")
    p.add_argument("model", help="an .onnx model with its card beside it, or the .card.json itself")
    p.set_defaults(func=_card)

    p = sub.add_parser("export", help="calibrate, export to ONNX, check parity, write the model card")
    p.add_argument("checkpoint", help="a .pt checkpoint written by `train`")
    p.add_argument("--output", default="emotion-net.onnx", help="the .onnx file; card and figures go beside it")
    p.add_argument("--data", help="the data set (default: the checkpoint's training data)")
    p.add_argument("--parity-tolerance", type=float, default=1e-4,
                   help="most allowed abs difference of probabilities, ONNX Runtime vs PyTorch")
    p.add_argument("--benchmark-runs", type=int, default=200, help="batch-1 runs timed for the card's ms/face")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for evaluation (0: all); timing uses 1")
    p.add_argument("--mirror-average", action="store_true",
                   help="average each crop with its mirror image inside the graph (2 passes per face)")
    p.add_argument("--int8", action="store_true",
                   help="also quantize to int8: the float model goes to STEM.float.onnx, the int8 one to OUTPUT")
    p.add_argument("--max-drop", type=float, default=MAX_VALIDATION_DROP,
                   help="with --int8: most validation accuracy int8 may lose, as a fraction (default %(default)s)")
    p.set_defaults(func=_export)

    p = sub.add_parser("quantize", help="int8-quantize an exported model, checked on the validation split")
    p.add_argument("model", help="an .onnx file written by `export` (its card beside it)")
    p.add_argument("--output", required=True, help="the int8 .onnx file; card and figures go beside it")
    p.add_argument("--data", help="the data set (default: the one in the model's card)")
    p.add_argument("--max-drop", type=float, default=MAX_VALIDATION_DROP,
                   help="most validation accuracy int8 may lose, as a fraction (default %(default)s)")
    p.add_argument("--benchmark-runs", type=int, default=200, help="batch-1 runs timed for the card's ms/face")
    p.set_defaults(func=_quantize)

    p = sub.add_parser("compact", help="Training and PublicTest alone in one small file, for a lent GPU "
                                       "(PrivateTest stays here)")
    p.add_argument("data", help="the full data set (CSV, CSV.GZ or class folders)")
    p.add_argument("--output", required=True, help="the .npz file to write, e.g. datasets/fer2013-train-val.npz")
    p.add_argument("--seed", type=int, default=0, help="class folders: the seed of the validation slice")
    p.set_defaults(func=_compact)

    p = sub.add_parser("round", help="on one GPU: train 3-5 teachers at once, then the distilled student, "
                                     "within --minutes; results in --out (docs/MODEL.md)")
    p.add_argument("data", help="a compact file (python -m trainer compact): Training and PublicTest only")
    p.add_argument("--out", required=True, help="where teachers.tar, student.pt, round.json and round.log go")
    p.add_argument("--device", default="cuda", help="torch device (default %(default)s)")
    p.add_argument("--minutes", type=float, default=9.0, help="the whole round ends within this (default %(default)s)")
    p.add_argument("--teacher-minutes", type=float, default=3.5,
                   help="each teacher's training budget; the student gets what is left (default %(default)s)")
    p.add_argument("--teachers", type=int, default=4, choices=range(1, len(gpu_round.TEACHERS) + 1),
                   help="how many of the round's teacher recipes to train (default %(default)s)")
    p.add_argument("--no-committed", action="store_true",
                   help="leave the committed teachers out of the student's ensemble")
    p.add_argument("--dry-run", action="store_true",
                   help="tiny networks (widths 4,8), one epoch each: checks the whole round in a minute on a CPU")
    p.add_argument("--work", help="where checkpoints and logs go (default: a new temporary folder)")
    p.set_defaults(func=_round)

    p = sub.add_parser("worker", help="the Celery worker that runs training jobs (one at a time)")
    p.add_argument("--loglevel", default=None, help="default: SENTIVIS_LOG_LEVEL")
    p.add_argument("--pool", default="solo", choices=("solo", "prefork"))
    p.set_defaults(func=_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ModelFileError, TeacherFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ParityError, QuantizationError) as exc:
        print(f"error: export failed, no model written: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
