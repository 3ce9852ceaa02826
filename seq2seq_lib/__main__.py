"""Command line: `python -m seq2seq_lib train ...` and `python -m seq2seq_lib evaluate CHECKPOINT`.

Examples:
  python -m seq2seq_lib train --profile full --epochs 10 --out runs/classic
  python -m seq2seq_lib train --profile full --model attention --out runs/attention
  python -m seq2seq_lib train --out runs/classic --resume          # carry on after an interruption
  python -m seq2seq_lib evaluate runs/classic/best.pt --beam 5
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

MODELS = ("classic", "gru", "attention")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seq2seq_lib", description="Train and evaluate the series' German->English translators.",
        epilog=__doc__.split("Examples:")[1] and "Examples:" + __doc__.split("Examples:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate}")

    train = commands.add_parser("train", help="train a model on Multi30k and keep the best checkpoint",
                                description="Train on Multi30k. Writes OUT/best.pt (lowest validation loss) "
                                            "and OUT/last.pt (for --resume) after every epoch.")
    train.add_argument("--profile", choices=["ci", "full"], default=None,
                       help="data and model size: ci = small subset for a CPU in seconds, full = the real "
                            "recipe (default: $SEQ2SEQ_PROFILE, else ci)")
    train.add_argument("--model", choices=MODELS, default=None,
                       help="classic = 2-layer LSTM encoder-decoder; gru = the same with GRUs; "
                            "attention = Bahdanau attention (default: classic)")
    train.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the profile's)")
    train.add_argument("--out", type=Path, required=True, help="output folder for best.pt, last.pt, history.json")
    start = train.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from OUT/last.pt with the options saved in OUT/run.json; only --epochs "
                            "(a larger one trains longer), --precision and --data-dir may change")
    start.add_argument("--overwrite", action="store_true",
                       help="start afresh even though OUT already holds a run (its checkpoints are replaced)")
    train.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    train.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default=None,
                       help="auto = bf16 where supported, fp16 on older GPUs (default: the profile's)")
    train.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: the profile's)")
    train.add_argument("--lr-decay", type=float, default=None,
                       help="multiply the learning rate by this every epoch after --lr-decay-after epochs "
                            "(default: the profile's)")
    train.add_argument("--lr-decay-after", type=int, default=None,
                       help="epochs at the full learning rate before the decay starts (default: the profile's)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="sentence pairs per training batch (default: the profile's; 128 in full)")
    train.add_argument("--seed", type=int, default=None, help="random seed (default: the profile's)")
    train.add_argument("--data-dir", type=Path, default=None, help="folder with the Multi30k .gz files")
    train.add_argument("--sample", action="store_true", default=None,
                       help="use the bundled sample instead of Multi30k")
    train.add_argument("--reverse-src", action="store_true", default=None,
                       help="feed each German sentence backwards (Sutskever et al., 2014); off in the classic recipe")

    evaluate = commands.add_parser("evaluate", help="test loss, perplexity and BLEU of a checkpoint",
                                   description="Evaluate a checkpoint: loss and perplexity with teacher "
                                               "forcing off, and BLEU of greedy or beam-search output.")
    evaluate.add_argument("checkpoint", type=Path, help="a best.pt or last.pt written by train")
    evaluate.add_argument("--split", choices=["val", "test"], default="test", help="default: test")
    evaluate.add_argument("--beam", type=int, default=1, help="beam size for BLEU (1 = greedy)")
    evaluate.add_argument("--no-bleu", action="store_true", help="only loss and perplexity")
    evaluate.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    evaluate.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="fp32",
                          help="precision for decoding (loss is always fp32); bf16 decodes batches several "
                               "times faster on recent CPUs (default: fp32)")
    evaluate.add_argument("--data-dir", type=Path, default=None, help="folder with the Multi30k .gz files")
    evaluate.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    return parser


SETTINGS_FILE = "run.json"  # the resolved train options, so `--resume` needs only --out
CHANGEABLE_ON_RESUME = ("epochs", "precision", "data_dir")


def _restore_settings(args: argparse.Namespace) -> None:
    """Fill every train option not given again from OUT/run.json (options given win)."""
    path = args.out / SETTINGS_FILE
    if not path.is_file():
        return  # a run from an older version: the options must be repeated, and fit checks they match
    for key, value in json.loads(path.read_text()).items():
        value = Path(value) if key == "data_dir" and value is not None else value
        given = getattr(args, key, None)
        if given is None:
            setattr(args, key, value)
        elif given != value and key not in CHANGEABLE_ON_RESUME:
            raise ValueError(f"{args.out} was trained with {key}={value!r}, not {given!r}. Resume with the same "
                             f"value (or leave the option out), or start a new run with another --out folder.")


def _write_json(path: Path, value: dict) -> None:
    """Write atomically: an interrupted write leaves the previous file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=1))
    temporary.replace(path)


def run_train(args: argparse.Namespace) -> int:
    from .config import get_profile
    from .prepare import prepare_data
    from .train import fit
    from .utils import get_device

    if args.resume:
        _restore_settings(args)
    elif not args.overwrite and any((args.out / name).exists() for name in ("best.pt", "last.pt")):
        raise ValueError(f"{args.out} already holds a run. Continue it with --resume, replace it with "
                         f"--overwrite, or choose another --out folder.")
    profile = get_profile(args.profile)
    args.model = args.model or "classic"
    model_config = replace(profile.model, attention=args.model == "attention",
                           rnn_type="gru" if args.model == "gru" else profile.model.rnn_type)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("precision", args.precision),
                                   ("seed", args.seed), ("lr", args.lr), ("lr_decay", args.lr_decay),
                                   ("lr_decay_after", args.lr_decay_after)) if v is not None}
    train_config = replace(profile.train, **overrides)
    print(profile.describe(), f"| model={args.model}", flush=True)
    device = get_device(args.device)
    data_overrides = {k: v for k, v in (("reverse_src", args.reverse_src or None),
                                        ("batch_size", args.batch_size)) if v is not None}
    profile = replace(profile, data=replace(profile.data, **data_overrides))
    if args.overwrite:  # only now that the options are valid; and a later --resume never finds the old last.pt
        for name in ("best.pt", "last.pt", "history.json"):
            (args.out / name).unlink(missing_ok=True)
    settings = {"profile": profile.name, "model": args.model, "epochs": train_config.epochs,
                "precision": train_config.precision, "lr": train_config.lr,
                "lr_decay": train_config.lr_decay, "lr_decay_after": train_config.lr_decay_after,
                "seed": train_config.seed, "batch_size": profile.data.batch_size,
                "reverse_src": profile.data.reverse_src, "sample": bool(args.sample),
                "data_dir": None if args.data_dir is None else str(args.data_dir)}
    _write_json(args.out / SETTINGS_FILE, settings)
    data = prepare_data(profile, root=args.data_dir, use_sample=bool(args.sample))
    print(f"data: {data.source}, {len(data.examples['train']):,} training pairs, vocabularies "
          f"{len(data.src_field.vocab):,} (de) / {len(data.trg_field.vocab):,} (en)", flush=True)
    if model_config.attention:
        from .attention import build_attention_model as build
    else:
        from .models import build_model as build
    model = build(model_config, len(data.src_field.vocab), len(data.trg_field.vocab),
                  data.pad_idx, data.sos_idx)
    history = fit(model, data.iterator("train", device, seed=train_config.seed), data.iterator("val", device),
                  train_config=train_config, device=device, out_dir=args.out,
                  src_vocab=data.src_field.vocab, trg_vocab=data.trg_field.vocab,
                  model_config=model_config, data_config=data.config, resume=args.resume)
    _write_json(args.out / "history.json", history.to_dict())
    print(f"best validation loss {min(history.val_loss):.3f} -> {args.out / 'best.pt'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_checkpoint
    from .utils import get_device

    if args.beam < 1:
        raise SystemExit(f"--beam must be at least 1, got {args.beam}.")
    results = evaluate_checkpoint(args.checkpoint, split=args.split, beam_size=args.beam,
                                  bleu=not args.no_bleu, device=get_device(args.device), root=args.data_dir,
                                  precision=args.precision)
    for key, value in results.items():
        print(f"{key:>24s}: {value:.3f}" if isinstance(value, float) else f"{key:>24s}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_train(args) if args.command == "train" else run_evaluate(args)


def cli() -> int:
    """`main` for a shell: a bad value or a missing file ends with its message, not a traceback."""
    try:
        return main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
