"""The command line's options: `build_parser` for `train` and `evaluate`, and the value types it checks.

Examples:
  python -m seq2seq_lib train --profile full --epochs 10 --out runs/classic
  python -m seq2seq_lib train --profile full --model attention --out runs/attention
  python -m seq2seq_lib train --profile full --model transformer --emb-dim 256 --hidden-dim 512 --layers 3 --out runs/tr
  python -m seq2seq_lib train --out runs/classic --resume          # carry on after an interruption
  python -m seq2seq_lib evaluate runs/classic/best.pt --beam 5
  python -m seq2seq_lib evaluate --pretrained attention --json attention.json
  python -m seq2seq_lib translate --pretrained attention "Zwei Hunde spielen im Schnee."
  python -m seq2seq_lib average runs/tr/epoch_2[6-9].pt runs/tr/epoch_30.pt --out runs/tr/average.pt
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from .config import PRECISION_CHOICES

MODELS = ("classic", "gru", "cho", "attention", "transformer")


def _number(text: str, kind: type) -> float | int:
    """`kind(text)`, or the argparse error that names the expected kind."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None


def _finite_float(text: str) -> float:
    """argparse type: a float that is neither NaN nor infinite."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _seed(text: str) -> int:
    """argparse type: an integer seed in [0, 2**32), checked before anything is read or written."""
    value = _number(text, int)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32), got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seq2seq_lib", description="Train and evaluate the series' German->English translators.",
        epilog=__doc__.split("Examples:")[1] and "Examples:" + __doc__.split("Examples:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate,translate,average}")

    train = commands.add_parser("train", help="train a model on Multi30k and keep the best checkpoint",
                                description="Train on Multi30k. Writes OUT/best.pt (lowest validation loss) "
                                            "and OUT/last.pt (for --resume) after every epoch.")
    train.add_argument("--profile", choices=["ci", "full"], default=None,
                       help="data and model size: ci = small subset for a CPU in seconds, full = the real "
                            "recipe (default: $SEQ2SEQ_PROFILE, else ci)")
    train.add_argument("--model", choices=MODELS, default=None,
                       help="classic = 2-layer LSTM encoder-decoder; gru = the same with GRUs; cho = a 1-layer "
                            "GRU encoder-decoder that feeds the encoder's summary to every decoder step (Cho et "
                            "al., 2014); attention = Bahdanau attention; transformer = the Transformer (Vaswani et al., "
                            "2017), trained with teacher forcing at ratio 1 (default: classic)")
    train.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the profile's)")
    train.add_argument("--out", type=Path, required=True, help="output folder for best.pt, last.pt, history.json")
    start = train.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from OUT/last.pt with the options saved in OUT/run.json; only --epochs "
                            "(a larger one trains longer), --precision and --data-dir may change")
    start.add_argument("--overwrite", action="store_true",
                       help="start afresh even though OUT already holds a run (its checkpoints are replaced)")
    train.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    train.add_argument("--precision", choices=PRECISION_CHOICES, default=None,
                       help="auto = bf16 on a CPU where it runs and is faster, else fp32 (default: the profile's)")
    train.add_argument("--fast", action=argparse.BooleanOptionalAction, default=None,
                       help="train with the engine (default), or with --no-fast the textbook code: the same "
                            "losses and gradients, more slowly")
    train.add_argument("--lr", type=_finite_float, default=None, help="Adam learning rate (default: the profile's)")
    train.add_argument("--lr-decay", type=_finite_float, default=None,
                       help="multiply the learning rate by this every epoch after --lr-decay-after epochs "
                            "(default: the profile's)")
    train.add_argument("--lr-decay-after", type=int, default=None,
                       help="epochs at the full learning rate before the decay starts (default: the profile's)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="sentence pairs per training batch (default: the profile's; 128 in full)")
    train.add_argument("--seed", type=_seed, default=None, help="random seed (default: the profile's)")
    train.add_argument("--data-dir", type=Path, default=None, help="folder with the Multi30k .gz files")
    train.add_argument("--sample", action="store_true", default=None,
                       help="use the bundled sample instead of Multi30k")
    train.add_argument("--reverse-src", action="store_true", default=None,
                       help="feed each German sentence backwards (Sutskever et al., 2014); off in the classic recipe")
    sizes = train.add_argument_group("model and vocabulary sizes (default: the profile's)")
    sizes.add_argument("--emb-dim", type=_positive_int, default=None, help="embedding size (full: 256)")
    sizes.add_argument("--hidden-dim", type=_positive_int, default=None, help="RNN hidden size (full: 512)")
    sizes.add_argument("--layers", type=_positive_int, default=None, help="stacked RNN layers (full: 2)")
    sizes.add_argument("--rnn", choices=("lstm", "gru"), default=None,
                       help="the recurrent cell (full: lstm; --model gru is --model classic --rnn gru)")
    sizes.add_argument("--dropout", type=_finite_float, default=None, help="dropout probability in [0, 1) (full: 0.5)")
    sizes.add_argument("--min-freq", type=_positive_int, default=None,
                       help="keep training-set words seen at least this often (full: 2)")
    sizes.add_argument("--subwords", type=_positive_int, default=None, metavar="N",
                       help="BPE pieces instead of words: one joint German+English subword vocabulary of N "
                            "entries learned on the training data, e.g. 8000 (default: words)")
    sizes.add_argument("--heads", type=_positive_int, default=None,
                       help="Transformer: attention heads per layer (default 8; must divide --emb-dim, its width)")
    sizes.add_argument("--post-norm", action="store_true", default=None,
                       help="Transformer: LayerNorm after each residual sum, as in 2017 (default: before each sublayer)")
    train.add_argument("--label-smoothing", type=_finite_float, default=None,
                       help="spread this share of each target's probability over the vocabulary while "
                            "training (the Transformer's 0.1); validation loss is never smoothed (default: 0)")
    train.add_argument("--warmup", type=int, default=None,
                       help="warm-up steps of the Transformer's schedule: the rate rises to --lr, then "
                            "falls as 1/sqrt(step); replaces the epoch decay (default: 0, off)")
    train.add_argument("--keep-epochs", action="store_true", default=None,
                       help="also keep every epoch's weights as OUT/epoch_NN.pt, for the average command")
    train.add_argument("--teacher-forcing", type=_finite_float, default=None,
                       help="teacher-forcing ratio in [0, 1] (default: the profile's 0.5; 1 for the transformer)")

    evaluate = commands.add_parser("evaluate", help="test loss, perplexity, BLEU and chrF of a checkpoint",
                                   description="Evaluate a checkpoint or a shipped pretrained model: loss and "
                                               "perplexity with teacher forcing on and off, and BLEU and chrF "
                                               "of greedy or beam-search output.")
    _add_model_choice(evaluate)
    evaluate.add_argument("--split", choices=["val", "test"], default="test", help="default: test")
    evaluate.add_argument("--beam", type=_positive_int, default=1, help="beam size for BLEU (1 = greedy)")
    evaluate.add_argument("--no-bleu", action="store_true", help="only loss and perplexity")
    evaluate.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    evaluate.add_argument("--precision", choices=PRECISION_CHOICES, default="fp32",
                          help="precision for decoding (loss is always fp32); bf16 decodes batches several "
                               "times faster on recent CPUs (default: fp32)")
    evaluate.add_argument("--fast", action=argparse.BooleanOptionalAction, default=True,
                          help="decode with the engine (default), or with --no-fast the textbook decoder")
    evaluate.add_argument("--data-dir", type=Path, default=None, help="folder with the Multi30k .gz files")
    evaluate.add_argument("--json", type=Path, default=None, help="also write the results to this file")

    translate = commands.add_parser("translate", help="translate German sentences with a checkpoint or a "
                                                      "shipped pretrained model",
                                    description="Translate each SENTENCE (or, with none, each line of standard "
                                                "input, answered as soon as it is typed at a terminal) from "
                                                "German to English; one translation per line.")
    _add_model_choice(translate, positional=False)
    translate.add_argument("sentences", nargs="*", metavar="SENTENCE", help="German text (quote each sentence)")
    translate.add_argument("--beam", type=_positive_int, default=1, help="beam size (1 = greedy)")
    translate.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")

    average = commands.add_parser("average", help="average the weights of several epochs of one run",
                                  description="Write one checkpoint whose weights are the mean of the given "
                                              "checkpoints of one run (e.g. the epoch_NN.pt files that train "
                                              "--keep-epochs writes); evaluate and translate take it like any other.")
    average.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints of one run, e.g. runs/t/epoch_2*.pt")
    average.add_argument("--out", type=Path, required=True, help="the averaged checkpoint to write")
    return parser


def _add_model_choice(command: argparse.ArgumentParser, positional: bool = True) -> None:
    """A checkpoint (positional, or --checkpoint) or --pretrained NAME: exactly one is needed."""
    choice = command.add_mutually_exclusive_group()
    help_checkpoint = "a best.pt or last.pt written by train"
    if positional:
        choice.add_argument("checkpoint", type=Path, nargs="?", default=None, help=help_checkpoint)
    else:
        choice.add_argument("--checkpoint", type=Path, default=None, help=help_checkpoint)
    choice.add_argument("--pretrained", metavar="NAME", default=None,
                        help="a model shipped with the package, trained on all of Multi30k (attention, classic, transformer)")


__all__ = ["MODELS", "build_parser"]
