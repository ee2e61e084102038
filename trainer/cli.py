"""`python -m trainer train|evaluate|export|worker`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trainer.data import DataError
from trainer.onnx_io import ModelFileError, ParityError


def _train(args: argparse.Namespace) -> int:
    from trainer.train import TrainConfig, train

    cfg = TrainConfig(data=args.data, output=args.output, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.learning_rate, num_workers=args.num_workers, device=args.device,
                      seed=args.seed, threads=args.threads, widths=args.widths)
    metrics = train(cfg, resume=args.resume)
    print(f"best validation accuracy {metrics['val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
          f"checkpoint {args.output}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from trainer.evaluate import evaluate_file, format_report

    report = evaluate_file(args.model, args.data, split=args.split, ten_crop=args.ten_crop)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _export(args: argparse.Namespace) -> int:
    from trainer.export import export_model, sibling_paths

    card = export_model(args.checkpoint, args.output, data=args.data, parity_tolerance=args.parity_tolerance,
                        benchmark_runs=args.benchmark_runs, threads=args.threads,
                        mirror_average=args.mirror_average)
    test = card["metrics"]["test"]
    print(f"exported {args.output} (temperature {card['calibration']['temperature']:.3f}, parity max diff "
          f"{card['parity']['max_abs_diff']:.2g}); {test['split']} accuracy {test['accuracy']:.4f}, "
          f"macro-F1 {test['macro_f1']:.4f}, ECE {test['ece_before_calibration']:.4f} -> "
          f"{test['ece_after_calibration']:.4f}; {card['speed']['ms_per_face']:.2f} ms/face; "
          f"card {sibling_paths(Path(args.output))['card']}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from trainer.tasks import run_worker

    run_worker(loglevel=args.loglevel, pool=args.pool)
    return 0


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not widths or any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"widths must be positive integers, got {text!r}")
    return widths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description="Train, evaluate and export the emotion CNN.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on FER-2013 (CSV, CSV.GZ or class folders)")
    p.add_argument("data", help="fer2013.csv[.gz] or a folder with train/<class>/ and test/<class>/")
    p.add_argument("--output", default="artifacts/emotion-net.pt", help="checkpoint path (best validation epoch)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--num-workers", type=int, default=0, help="data loading workers (batches are built in memory)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--resume", help="resume from OUTPUT's .resume.pt file")
    p.add_argument("--widths", type=_widths, default=(16, 32, 64, 128, 256),
                   help="channels of each conv stage, comma-separated (default 16,32,64,128,256)")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class scores, confusion and ECE on one split")
    p.add_argument("model", help="a .pt checkpoint or an .onnx model file")
    p.add_argument("data", nargs="?", help="the data set (default for a checkpoint: the one it was trained on)")
    p.add_argument("--split", default="PrivateTest", help="Training, PublicTest or PrivateTest (default)")
    p.add_argument("--ten-crop", action="store_true", help="average 10 crops per face (reporting only)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=_evaluate)

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
    p.set_defaults(func=_export)

    p = sub.add_parser("worker", help="the Celery worker that runs training jobs (one at a time)")
    p.add_argument("--loglevel", default=None, help="default: SENTIVIS_LOG_LEVEL")
    p.add_argument("--pool", default="solo", choices=("solo", "prefork"))
    p.set_defaults(func=_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ModelFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ParityError as exc:
        print(f"error: export failed, no model written: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
