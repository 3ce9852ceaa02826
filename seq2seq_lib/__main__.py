"""Command line: `python -m seq2seq_lib train ...`, `evaluate CHECKPOINT`, `translate SENTENCE...` and `average`.

Examples:
  python -m seq2seq_lib train --profile full --epochs 10 --out runs/classic
  python -m seq2seq_lib train --profile full --model attention --out runs/attention
  python -m seq2seq_lib train --out runs/classic --resume          # carry on after an interruption
  python -m seq2seq_lib evaluate runs/classic/best.pt --beam 5
  python -m seq2seq_lib evaluate --pretrained attention --json attention.json
  python -m seq2seq_lib translate --pretrained attention "Zwei Hunde spielen im Schnee."

Exit status: 0 done, 1 training failed (e.g. the loss became NaN), 2 a value, file or folder that
cannot work (the message names the option to change), 130 interrupted (Ctrl-C), 141 the reader of
standard output went away (`... | head -1`; nothing is printed about it, as with other Unix tools).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .arguments import build_parser
from .data import BASE_URL, DataError
from .files import write_json
from .runs import BEST, HISTORY, LAST, SETTINGS

if TYPE_CHECKING:
    import torch

    from .config import ModelConfig, Profile, TrainConfig
    from .prepare import Prepared
    from .history import History

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141  # 141: what a shell reports for SIGPIPE
USAGE_ERRORS = (ValueError, DataError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                FileExistsError, PermissionError)  # ValueError covers CheckpointError and DeviceError
PRECISION_FIX = "use --precision fp32, or leave --precision out to use the fastest precision that runs here."
DEVICE_FIX = "use --device cpu, or leave --device out to use the best device available."
DATA_FIX = (f"To work offline, download train/val/test_2016_flickr.{{de,en}}.gz from {BASE_URL}/ on a machine "
            "with network, put the six files in one folder and pass --data-dir FOLDER.")
SAMPLE_FIX = " Or train on the bundled sample with --sample."


class UsageError(ValueError):
    """A command-line value, file or folder that cannot work; the message names the option to change."""


# Config fields as the command line names them, so a refused value names the option to change.
OPTION_OF_FIELD = {"emb_dim": "--emb-dim", "hidden_dim": "--hidden-dim", "n_layers": "--layers",
                   "dropout": "--dropout", "n_heads": "--heads", "rnn_type": "--rnn", "epochs": "--epochs",
                   "lr_decay_after": "--lr-decay-after", "lr_decay": "--lr-decay", "lr": "--lr", "seed": "--seed",
                   "teacher_forcing_ratio": "--teacher-forcing", "label_smoothing": "--label-smoothing",
                   "warmup_steps": "--warmup", "precision": "--precision", "batch_size": "--batch-size",
                   "min_freq": "--min-freq", "subwords": "--subwords"}
RUN_FILES = (BEST, LAST, HISTORY)  # what --overwrite replaces (run.json is rewritten)
CHANGEABLE_ON_RESUME = ("epochs", "precision", "fast", "data_dir", "keep_epochs")


def _check_folder(path: Path, option: str) -> None:
    """A folder that exists, or can be created: no part of the path may be a file."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"{option} {path}: {part} is a file, not a folder; choose a folder for "
                                 f"{option} (it is created if missing).")
            return


def _check_output_file(path: Path, option: str) -> None:
    """A file path that can be written: not a folder, and no file where a folder must be."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; name a file, e.g. {option} {path / 'results.json'}.")
    _check_folder(path.parent, f"{option}'s folder")


def _check_data_dir(path: Path | None) -> None:
    """--data-dir, when given, must be an existing folder."""
    if path is not None and not path.is_dir():
        raise UsageError(f"--data-dir {path} is not a folder; pass the folder that holds the six "
                         "Multi30k .gz files.")


def _restore_settings(args: argparse.Namespace) -> None:
    """Fill every train option not given again from OUT/run.json (options given win)."""
    path = args.out / SETTINGS
    if not path.is_file():
        return  # a run from an older version: the options must be repeated, and fit checks they match
    try:
        saved = json.loads(path.read_text())
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise UsageError(f"{path} is damaged ({error}); delete it and repeat the first run's options "
                         "together with --resume.") from None
    for key, value in saved.items():
        value = Path(value) if key == "data_dir" and value is not None else value
        given = getattr(args, key, None)
        if given is None:
            setattr(args, key, value)
        elif given != value and key not in CHANGEABLE_ON_RESUME:
            raise UsageError(f"{args.out} was trained with {key}={value!r}, not {given!r}. Resume with the same "
                             f"value (or leave the option out), or start a new run with another --out folder.")


def _check_resumable(out: Path) -> Path:
    """OUT/last.pt, which --resume continues from; fails before anything is read or written."""
    last = out / LAST
    if not last.is_file():
        where = "does not exist" if not out.exists() else "holds no last.pt"
        raise UsageError(f"--resume: {out} {where}, so there is no run to continue. Check --out, or start "
                         "a new run there without --resume.")
    return last


def _check_epochs_left(last: Path, epochs: int) -> None:
    """Refuse a --resume whose last.pt has already trained --epochs epochs."""
    from .checkpoint import load_checkpoint

    done = int(load_checkpoint(last, map_location="cpu")["epoch"])
    if done >= epochs:
        raise UsageError(f"{last} has already finished {done} epoch(s) and --epochs is {epochs}: nothing to "
                         f"resume. To train longer, pass a larger --epochs with --resume (e.g. --epochs "
                         f"{done + 5}).")


def _clear_run(out: Path) -> None:
    """Delete the previous run's checkpoints and history, so a later --resume never finds the old last.pt."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)


def _device(name: str | None, verbose: bool = True) -> torch.device:
    """The device for --device; one that is misspelt or missing here names the command-line fix."""
    from .utils import DeviceError, get_device

    try:
        return get_device(name, verbose=verbose)
    except DeviceError as error:
        raise UsageError(f"{error.problem}; {DEVICE_FIX}") from None


def run_train(args: argparse.Namespace) -> int:
    """`train`: check every option, load the data, then replace or continue the run in --out."""
    from .precision import resolve_precision
    from .prepare import prepare_data

    _check_folder(args.out, "--out")
    _check_data_dir(args.data_dir)
    if args.resume:
        last = _check_resumable(args.out)
        _restore_settings(args)
    elif not args.overwrite and any((args.out / name).exists() for name in (BEST, LAST)):
        raise UsageError(f"{args.out} already holds a run. Continue it with --resume, replace it with "
                         f"--overwrite, or choose another --out folder.")
    profile, model_config, train_config = _train_configs(args)
    print(profile.describe(), f"| model={args.model}", flush=True)
    device = _device(args.device)
    resolve_precision(train_config.precision, device)  # fails here, not after the data has loaded
    if args.resume:
        _check_epochs_left(last, train_config.epochs)
    data = prepare_data(profile, root=args.data_dir, use_sample=bool(args.sample))
    print(f"data: {data.source}, {len(data.examples['train']):,} training pairs, vocabularies "
          f"{len(data.src_field.vocab):,} (de) / {len(data.trg_field.vocab):,} (en)", flush=True)
    model = _build_model(model_config, data)
    if args.overwrite:  # only now that the options are valid and the data has loaded
        _clear_run(args.out)
    write_json(args.out / SETTINGS, _settings(args, profile, train_config))
    history = _fit_saving_history(model, data.iterator("train", device, seed=train_config.seed),
                                  data.iterator("val", device), train_config=train_config, device=device,
                                  out_dir=args.out, spec=data.spec(model_config), resume=args.resume,
                                  keep_epochs=bool(args.keep_epochs))
    best = history.best_epoch
    loss, kind = history.val_loss[best - 1], "teacher-forced"
    if loss != loss:  # NaN: epochs from a version that measured only the free-running loss
        loss, kind = history.val_loss_free_running[best - 1], "free-running"
    print(f"best epoch {best}: validation loss {loss:.3f} ({kind}) -> {args.out / BEST}")
    return 0


def _as_options(message: str) -> str:
    """A config's message in command-line words: `emb_dim=256` -> `--emb-dim 256`, `n_heads` -> `--heads`.

    Names with an underscore are renamed wherever they appear; plain words (epochs, dropout) only as
    the message's subject, since elsewhere they may be prose.
    """
    def option(match: re.Match) -> str:
        return OPTION_OF_FIELD[match[1]] + (" " if match[2] else "")

    names = sorted(OPTION_OF_FIELD, key=len, reverse=True)  # longest first: lr_decay before lr
    message = re.sub(rf"^({'|'.join(names)})\b(=?)", option, message)
    identifiers = "|".join(name for name in names if "_" in name)
    return re.sub(rf"(?<![-\w])({identifiers})\b(=?)", option, message)


def _train_configs(args: argparse.Namespace) -> tuple[Profile, ModelConfig, TrainConfig]:
    """The profile (with the data options), model and training configs the options ask for; validated."""
    try:
        return _configs_from_options(args)
    except UsageError:
        raise
    except ValueError as error:  # a config refused a value: say which option holds it
        raise UsageError(_as_options(str(error))) from None


def _configs_from_options(args: argparse.Namespace) -> tuple[Profile, ModelConfig, TrainConfig]:
    from .config import get_profile

    profile = get_profile(args.profile)
    args.model = args.model or "classic"
    if args.model == "gru" and args.rnn == "lstm":
        raise UsageError("--model gru is the classic model with GRUs; drop --rnn lstm, or use --model classic.")
    cho = args.model == "cho"  # Cho et al. (2014): one GRU layer unless --rnn / --layers say otherwise
    rnn_type = "gru" if args.model == "gru" or (cho and args.rnn is None) else args.rnn or profile.model.rnn_type
    layers = args.layers if args.layers is not None else 1 if cho else None
    transformer = args.model == "transformer"
    if not transformer and (args.heads is not None or args.post_norm):
        raise UsageError("--heads and --post-norm size the Transformer; add --model transformer or drop them.")
    sizes = {k: v for k, v in (("emb_dim", args.emb_dim), ("hidden_dim", args.hidden_dim),
                               ("n_layers", layers), ("dropout", args.dropout), ("n_heads", args.heads),
                               ("pre_norm", False if args.post_norm else None)) if v is not None}
    if transformer and "n_heads" not in sizes and (args.emb_dim or profile.model.emb_dim) % profile.model.n_heads:
        sizes["n_heads"] = 4 if (args.emb_dim or profile.model.emb_dim) % 4 == 0 else 1
    model_config = replace(profile.model, attention=args.model == "attention", feed_context=cho,
                           transformer=transformer, rnn_type=rnn_type, **sizes)
    ratio = args.teacher_forcing if args.teacher_forcing is not None else 1.0 if transformer else None
    overrides = {k: v for k, v in (("epochs", args.epochs), ("precision", args.precision), ("fast", args.fast),
                                   ("seed", args.seed), ("lr", args.lr), ("lr_decay", args.lr_decay),
                                   ("lr_decay_after", args.lr_decay_after), ("teacher_forcing_ratio", ratio),
                                   ("label_smoothing", args.label_smoothing), ("warmup_steps", args.warmup))
                 if v is not None}
    data_overrides = {k: v for k, v in (("reverse_src", args.reverse_src or None),
                                        ("batch_size", args.batch_size), ("min_freq", args.min_freq),
                                        ("subwords", args.subwords))
                      if v is not None}
    train_config = replace(profile.train, **overrides)
    profile = replace(profile, data=replace(profile.data, **data_overrides), model=model_config, train=train_config)
    return profile, model_config, train_config


def _build_model(model_config: ModelConfig, data: Prepared) -> torch.nn.Module:
    """A fresh model sized for the data's vocabularies."""
    from .models import build_model

    return build_model(model_config, len(data.src_field.vocab), len(data.trg_field.vocab), data.pad_idx, data.sos_idx)


def _settings(args: argparse.Namespace, profile: Profile, train_config: TrainConfig) -> dict:
    """What run.json keeps, so that --resume needs only --out."""
    return {"profile": profile.name, "model": args.model, "epochs": train_config.epochs,
            "precision": train_config.precision, "fast": train_config.fast, "lr": train_config.lr,
            "lr_decay": train_config.lr_decay, "lr_decay_after": train_config.lr_decay_after,
            "seed": train_config.seed, "batch_size": profile.data.batch_size,
            "reverse_src": profile.data.reverse_src, "min_freq": profile.data.min_freq,
            "subwords": profile.data.subwords,
            "emb_dim": profile.model.emb_dim, "hidden_dim": profile.model.hidden_dim,
            "layers": profile.model.n_layers, "rnn": profile.model.rnn_type, "dropout": profile.model.dropout,
            **({"heads": profile.model.n_heads, "post_norm": not profile.model.pre_norm}
               if profile.model.transformer else {}),
            "label_smoothing": train_config.label_smoothing, "warmup": train_config.warmup_steps,
            "teacher_forcing": train_config.teacher_forcing_ratio, "keep_epochs": bool(args.keep_epochs),
            "sample": bool(args.sample),
            "data_dir": None if args.data_dir is None else str(args.data_dir)}


def _fit_saving_history(*args: Any, out_dir: Path, **kwargs: Any) -> History:
    """`train.fit`, writing out_dir/history.json when it finishes, is interrupted or fails."""
    from .checkpoint import load_checkpoint
    from .train import NonFiniteLossError, TrainingInterrupted, fit

    try:
        history = fit(*args, out_dir=out_dir, **kwargs)
    except TrainingInterrupted as interrupted:
        write_json(out_dir / HISTORY, interrupted.history.to_dict())
        raise
    except NonFiniteLossError:  # the finished epochs' figures are in last.pt (absent if none finished)
        if (out_dir / LAST).is_file():
            write_json(out_dir / HISTORY, load_checkpoint(out_dir / LAST)["history"])
        raise
    write_json(out_dir / HISTORY, history.to_dict())
    return history


def _check_model_choice(args: argparse.Namespace) -> None:
    """Exactly one of a checkpoint or --pretrained; a checkpoint must be a file, a name must be shipped."""
    from .pretrained import available

    option = "CHECKPOINT" if args.command == "evaluate" else "--checkpoint PATH"
    if args.checkpoint is None and args.pretrained is None:
        raise UsageError(f"{args.command} needs a model: pass {option} (a best.pt written by train) or "
                         f"--pretrained NAME (one of: {', '.join(available())}).")
    if args.pretrained is not None and args.pretrained not in available():
        raise UsageError(f"--pretrained {args.pretrained}: no such model; choose one of: {', '.join(available())}.")
    if args.checkpoint is not None and not args.checkpoint.is_file():
        kind = "is a folder" if args.checkpoint.is_dir() else "does not exist"
        raise UsageError(f"The checkpoint {args.checkpoint} {kind}; pass a best.pt or last.pt written by "
                         "`train` (in its --out folder), or --pretrained NAME.")


def run_evaluate(args: argparse.Namespace) -> int:
    """`evaluate`: check the model and --json path first, then score the checkpoint or pretrained model."""
    from .evaluation import evaluate_checkpoint, evaluate_pretrained

    _check_model_choice(args)
    _check_data_dir(args.data_dir)
    if args.json is not None:
        _check_output_file(args.json, "--json")
        if args.checkpoint is not None and args.json.resolve() == args.checkpoint.resolve():
            raise UsageError(f"--json {args.json} would overwrite the checkpoint; name another file.")
    options = dict(split=args.split, beam_size=args.beam, bleu=not args.no_bleu, device=_device(args.device),
                   root=args.data_dir, precision=args.precision, fast=args.fast)
    results = (evaluate_pretrained(args.pretrained, **options) if args.pretrained is not None
               else evaluate_checkpoint(args.checkpoint, **options))
    for key, value in results.items():
        print(f"{key:>26s}: {value:.3f}" if isinstance(value, float) else f"{key:>26s}: {value}")
    if args.json is not None:
        write_json(args.json, results)
    return 0


def run_translate(args: argparse.Namespace) -> int:
    """`translate`: one English line per German sentence given, per line piped in, or per line typed."""
    from .translator import Translator

    _check_model_choice(args)
    typed = not args.sentences and sys.stdin.isatty()  # a person at a terminal: answer each line at once
    sentences = args.sentences or ([] if typed else [line.strip() for line in sys.stdin if line.strip()])
    if not sentences and not typed:
        raise UsageError('translate needs German text: pass sentences in quotes, e.g. "Ein Hund rennt.", or '
                         "pipe lines into standard input.")
    device = _device(args.device, verbose=False)  # standard output holds the translations only
    translator = (Translator.from_pretrained(args.pretrained, device=device) if args.pretrained is not None
                  else Translator.from_checkpoint(args.checkpoint, device=device))
    if typed:
        print("Type a German sentence and press Enter; Ctrl-D ends.", file=sys.stderr)
        for line in sys.stdin:
            if line.strip():
                print(translator.translate(line.strip(), beam_size=args.beam), flush=True)
        return 0
    for translation in translator.translate(sentences, beam_size=args.beam):
        print(translation)
    return 0


def run_average(args: argparse.Namespace) -> int:
    """`average`: check every input and the output first, then write the averaged checkpoint."""
    from .averaging import save_average

    for path in args.checkpoints:
        if not path.is_file():
            raise UsageError(f"{path} is not a checkpoint file; pass files such as runs/x/epoch_12.pt "
                             "(train --keep-epochs writes them).")
    _check_output_file(args.out, "--out")
    out = save_average(args.checkpoints, args.out)  # refuses an --out among the inputs before loading any
    print(f"averaged {len(args.checkpoints)} checkpoints -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors are raised as exceptions (`cli` turns them into messages and exit codes)."""
    return _run(build_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    commands = {"train": run_train, "evaluate": run_evaluate, "translate": run_translate, "average": run_average}
    return commands[args.command](args)


def cli(argv: list[str] | None = None) -> int:
    """`main` for a shell: every mistake ends with `error: ...` and an exit status, never a traceback."""
    args = build_parser().parse_args(argv)  # argparse itself reports a malformed option (exit status 2)
    try:
        status = _run(args)
        sys.stdout.flush()  # here, where a closed pipe is handled, not at the interpreter's exit
        return status
    except BrokenPipeError:  # the reader stopped reading (`... | head -1`): end quietly, as Unix tools do
        _send_stdout_nowhere()
        return EXIT_BROKEN_PIPE
    except (KeyboardInterrupt, Exception) as error:  # TrainingInterrupted too: fit has saved last.pt by then
        status = _exit_status(error)
        if status is None:
            raise  # a bug, not a mistake: its traceback is what a report needs
        print(f"error: {_explain(error, args)}", file=sys.stderr)
        return status


def _send_stdout_nowhere() -> None:
    """Point stdout at the null device, so Python's final flush of unwritten lines does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _explain(error: BaseException, args: argparse.Namespace) -> str:
    """The message for an error, with the command-line fix where the library names a Python one."""
    if isinstance(error, KeyboardInterrupt):
        return _interrupted(getattr(error, "history", None), args)
    from .precision import PrecisionUnavailableError
    from .train import NonFiniteLossError
    from .utils import DeviceError

    if isinstance(error, NonFiniteLossError):
        return ("training stopped: the loss became NaN or infinite, before the weights were changed. Start "
                "again with a lower --lr (e.g. --lr 3e-4) or --precision fp32 (with --overwrite, or another "
                "--out); the checkpoints of the finished epochs are kept.")
    if isinstance(error, DeviceError):
        return f"{error.problem}; {DEVICE_FIX}"
    if isinstance(error, PrecisionUnavailableError):
        return f"{error.problem}; {PRECISION_FIX}"
    if isinstance(error, DataError) and error.fix:
        return f"{error.problem} {DATA_FIX}" + (SAMPLE_FIX if args.command == "train" else "")
    return str(error)


def _interrupted(history: History | None, args: argparse.Namespace) -> str:
    """What Ctrl-C left behind; `history` is TrainingInterrupted's (fit saved last.pt) or None."""
    if history is None:
        return "interrupted (Ctrl-C)."
    out = args.out
    return (f"interrupted after {len(history.train_loss)} finished epoch(s). {out / 'last.pt'} holds the "
            f"weights at the interruption and {out / HISTORY} the finished epochs (best.pt is untouched). "
            f"Continue with: python -m seq2seq_lib train --out {out} --resume")


def _exit_status(error: BaseException) -> int | None:
    """130 for Ctrl-C, 2 for a value, file or folder that cannot work, 1 for a failed run, None for a bug."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, USAGE_ERRORS):
        return EXIT_USAGE
    from .train import NonFiniteLossError  # only now: importing torch after a Ctrl-C would be slow

    if isinstance(error, (NonFiniteLossError, OSError)):  # OSError: e.g. a full disk
        return EXIT_FAILED
    return None


if __name__ == "__main__":
    sys.exit(cli())
