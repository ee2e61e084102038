"""`python -m trainer train|evaluate|export`."""
from __future__ import annotations

import argparse
import sys

from trainer.data import DataError


def _train(args: argparse.Namespace) -> int:
    from trainer.train import TrainConfig, train

    cfg = TrainConfig(data=args.data, output=args.output, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.learning_rate, num_workers=args.num_workers, device=args.device,
                      seed=args.seed, threads=args.threads)
    metrics = train(cfg, resume=args.resume)
    print(f"best validation accuracy {metrics['val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
          f"checkpoint {args.output}")
    return 0


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
    p.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
