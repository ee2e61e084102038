"""`python -m trainer train|evaluate|export|worker`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sentivis.jobs import PRECISIONS
from trainer.data import DataError
from trainer.onnx_io import ModelFileError, ParityError
from trainer.quantize import MAX_VALIDATION_DROP, QuantizationError


def _train(args: argparse.Namespace) -> int:
    from trainer.train import TrainConfig, train

    cfg = TrainConfig(data=args.data, output=args.output, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.learning_rate, num_workers=args.num_workers, device=args.device,
                      seed=args.seed, threads=args.threads, widths=args.widths, precision=args.precision)
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
    from trainer.export import export_model, float_path_for, sibling_paths

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
    from trainer.quantize import quantize_model

    return quantize_model(source, output, data=args.data, max_drop=args.max_drop, benchmark_runs=args.benchmark_runs)


def _print_quantized(card: dict, output: Path) -> None:
    from trainer.export import sibling_paths

    q, test = card["quantization"], card["metrics"]["test"]
    print(f"quantized {output} to int8: validation accuracy {q['validation_accuracy_float']:.4f} -> "
          f"{q['validation_accuracy_int8']:.4f} (top-1 agreement {q['top1_agreement']:.4f}); {test['split']} "
          f"accuracy {test['accuracy']:.4f}; {q['from']['ms_per_face']:.2f} -> "
          f"{card['speed']['ms_per_face']:.2f} ms/face; card {sibling_paths(output)['card']}")


def _quantize(args: argparse.Namespace) -> int:
    _print_quantized(_quantize_file(Path(args.model), Path(args.output), args), Path(args.output))
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
    p.add_argument("--precision", choices=PRECISIONS, default=PRECISIONS[0],
                   help="bf16: autocast forward and loss (faster on CPUs with AVX-512 bf16/AMX and recent GPUs)")
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
    except (ParityError, QuantizationError) as exc:
        print(f"error: export failed, no model written: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
