"""The ``hf-lecture`` command: one sub-command per job, each a thin layer over a recipe.

    hf-lecture demo --quick                                  a tour of all three models
    hf-lecture pretrain-bert --data-files notes.txt          BERT's MLM + NSP pre-training
    hf-lecture finetune --model-dir runs/pretrain-bert/model --data-file reviews.csv
    hf-lecture translate --data-file pairs.csv               the encoder-decoder Transformer
    hf-lecture train-vit --data-dir my_images/               ViT image classification
    hf-lecture convert bert-folder/ lecture-bert/            transformers' BERT / ViT / Marian -> ours
    hf-lecture push runs/translate/model user/numbers        a saved model -> the hub
    hf-lecture viz positions --output-dir figures/           PNG pictures

Every option is declared here, once; ``scripts/*.py`` call ``main(["<sub-command>", ...])``. The training
sub-commands print the recipe's measured figures as a table and write them to OUTPUT_DIR/results.json.
A user's mistake (a missing file, a malformed data file, a folder that is not a model) ends with one
line ``hf-lecture <sub-command>: error: ...`` and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from pathlib import Path

# Exceptions that mean "the input is wrong", not "the code is wrong": shown as one line, not a traceback.
USER_ERRORS = (ValueError, OSError)
TABLE_FILES = (".csv", ".tsv", ".json", ".jsonl")  # data files that hold named columns


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (where it has one), and keeps the line breaks of the epilog's examples."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None or action.default is False else super()._get_help_string(action)


class UserError(Exception):
    """A problem with the command's input, found before any work starts."""


# ---------------------------------------------------------------- checking inputs early


def check_file(path: str | None, what: str, suffixes: tuple[str, ...] = ()) -> None:
    """``path`` must be an existing UTF-8 file (ending in one of ``suffixes`` when given)."""
    if path is None:
        return
    file = Path(path)
    if not file.exists():
        raise UserError(f"{what} {path!r} does not exist")
    if not file.is_file():
        raise UserError(f"{what} {path!r} is not a file")
    if suffixes and file.suffix.lower() not in suffixes:
        raise UserError(f"{what} {path!r} must end in one of {', '.join(suffixes)}, got {file.suffix or 'no suffix'!r}")
    with open(file, "rb") as stream:  # the first MiB: enough to tell text from a binary file
        try:
            codecs.getincrementaldecoder("utf-8")().decode(stream.read(1 << 20), final=False)
        except UnicodeDecodeError as error:
            raise UserError(f"{what} {path!r} is not UTF-8 text (byte {error.start})") from None


def check_folder(path: str | None, what: str, needs: tuple[str, ...] = (), hint: str = "") -> None:
    """``path`` must be an existing folder holding at least one of the files in ``needs``."""
    if path is None:
        return
    folder = Path(path)
    if not folder.exists():
        raise UserError(f"{what} {path!r} does not exist")
    if not folder.is_dir():
        raise UserError(f"{what} {path!r} is not a folder")
    if needs and not any((folder / name).is_file() for name in needs):
        raise UserError(f"{what} {path!r} has no {' or '.join(needs)}{hint}")


def check_saved_dataset(path: str | None, what: str) -> None:
    """A folder written by ``datasets``' save_to_disk (a Dataset or a DatasetDict)."""
    check_folder(path, what, ("dataset_info.json", "dataset_dict.json"), ": not a folder written by save_to_disk")


def check_data(path: str | None, what: str) -> None:
    """A data file (csv / tsv / json / jsonl) or a folder written by save_to_disk."""
    if path is not None and Path(path).is_dir():
        check_saved_dataset(path, what)
    else:
        check_file(path, what, TABLE_FILES)


def model_type_of(folder: str, what: str) -> str:
    """The ``model_type`` in ``folder/config.json``, after checking that the folder is a saved model."""
    check_folder(folder, what, ("config.json",), ": not a folder written by save_pretrained")
    config_file = Path(folder) / "config.json"
    try:
        return json.loads(config_file.read_text(encoding="utf-8")).get("model_type", "")
    except (ValueError, AttributeError) as error:
        raise UserError(f"{what} {str(config_file)!r} is not a JSON object: {error}") from None


def resume_value(args: argparse.Namespace) -> str | bool | None:
    """``--resume``: None (start fresh), True (the newest checkpoint under --output-dir) or a checkpoint path."""
    if args.resume is True:
        if not any(Path(args.output_dir).glob("**/checkpoint-*/trainer_state.json")):
            raise UserError(f"--resume: no checkpoint-* folder under {args.output_dir!r} to resume from")
    elif args.resume is not None:
        check_folder(args.resume, "--resume", ("trainer_state.json",), ": not a Trainer checkpoint")
    return args.resume


# ---------------------------------------------------------------- the sub-commands


def run_demo(args: argparse.Namespace) -> None:
    from .recipes.demo import run_demo as demo

    demo(args.output_dir, quick=args.quick)  # prints its own results table and writes results.json
    print(f"results written to {Path(args.output_dir) / 'results.json'}")


def run_pretrain_bert(args: argparse.Namespace) -> dict:
    for path in args.data_files or []:
        check_file(path, "--data-files")
    check_saved_dataset(args.dataset_dir, "--dataset-dir")
    from .recipes.bert import pretrain_bert

    return pretrain_bert(
        args.output_dir, data_files=args.data_files, dataset_dir=args.dataset_dir, vocab_size=args.vocab_size,
        hidden_size=args.hidden_size, layers=args.layers, heads=args.heads, intermediate_size=args.intermediate_size,
        max_length=args.max_length, dropout=args.dropout, **training_kwargs(args),
    )  # fmt: skip


def run_finetune(args: argparse.Namespace) -> dict:
    model_type = model_type_of(args.model_dir, "--model-dir")
    if model_type != "lecture_bert":
        raise UserError(
            f"--model-dir {args.model_dir!r} holds a {model_type or 'unknown'} model, not lecture_bert "
            "(pre-train one with pretrain-bert, or convert a transformers BERT with convert)"
        )
    check_file(args.data_file, "--data-file", (".csv", ".json", ".jsonl"))
    from .recipes.bert import finetune

    return finetune(
        args.output_dir, model_dir=args.model_dir, data_file=args.data_file, text_column=args.text_column,
        text_pair_column=args.text_pair_column, label_column=args.label_column, pooling=args.pooling,
        position_embedding_type=args.position_embedding_type, **training_kwargs(args),
    )  # fmt: skip


def run_translate(args: argparse.Namespace) -> dict:
    check_data(args.data_file, "--data-file")
    from .recipes.translate import train_translation

    return train_translation(
        args.output_dir, data_file=args.data_file, source_column=args.source_column,
        target_column=args.target_column, d_model=args.d_model, layers=args.layers, heads=args.heads,
        ffn_dim=args.ffn_dim, dropout=args.dropout, label_smoothing=args.label_smoothing, num_beams=args.num_beams,
        **training_kwargs(args),
    )  # fmt: skip


def run_train_vit(args: argparse.Namespace) -> dict:
    check_folder(args.data_dir, "--data-dir")
    from .recipes.vit import cnn_vs_vit, train_vit

    shared = dict(batch_size=args.batch_size, learning_rate=args.learning_rate, weight_decay=args.weight_decay,
                  seed=args.seed, data_dir=args.data_dir, quick=args.quick)  # fmt: skip
    if args.cnn_vs_vit:
        if args.resume is not None:
            raise UserError("--resume does not apply to --cnn-vs-vit (its runs keep no checkpoints)")
        return cnn_vs_vit(args.output_dir, fractions=tuple(args.fractions), steps=args.steps, **shared)
    return train_vit(
        args.output_dir, epochs=args.epochs, image_size=args.image_size, patch_size=args.patch_size,
        hidden_size=args.hidden_size, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=args.intermediate_size, resume_from_checkpoint=resume_value(args), **shared,
    )  # fmt: skip


def training_kwargs(args: argparse.Namespace) -> dict:
    """The options every training recipe takes."""
    return dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                resume_from_checkpoint=resume_value(args), quick=args.quick)  # fmt: skip


# The transformers model types `convert` takes, and the files that carry a folder's preprocessor.
CONVERTIBLE = ("bert", "marian", "vit")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")


def run_convert(args: argparse.Namespace) -> None:
    model_type = model_type_of(args.src, "SRC")
    if model_type not in CONVERTIBLE:
        kinds = ", ".join(CONVERTIBLE)
        raise UserError(f"SRC {args.src!r} holds a {model_type or 'unknown'} model; convert takes {kinds}")
    check_folder(args.src, "SRC", ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"))
    import transformers

    from .convert import from_transformers
    from .hub import save_for_hub

    config = transformers.AutoConfig.from_pretrained(args.src)
    name = next((a for a in config.architectures or [] if hasattr(transformers, a)), None)
    theirs = getattr(transformers, name) if name else transformers.AutoModel
    model = from_transformers(theirs.from_pretrained(args.src))
    source = Path(args.src)
    has_tokenizer = any((source / f).is_file() for f in TOKENIZER_FILES)
    has_processor = (source / "preprocessor_config.json").is_file()
    save_for_hub(
        model, args.dst, datasets=[], metrics={},
        tokenizer=transformers.AutoTokenizer.from_pretrained(args.src) if has_tokenizer else None,
        image_processor=transformers.AutoImageProcessor.from_pretrained(args.src) if has_processor else None,
        trained_on=f"Converted from the transformers {theirs.__name__} checkpoint "
        f"{source.resolve().name!r} with `hf-lecture convert`: the same weights, the same outputs.",
    )  # fmt: skip
    print(f"converted {args.src} ({name or model_type}) -> {args.dst} ({type(model).__name__})")


def run_push(args: argparse.Namespace) -> None:
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    from .hub import push_folder

    # The hub client's HTTP errors and its connection failures share the HTTP library's HTTPError base.
    network_errors = tuple(base for base in HfHubHTTPError.__mro__ if base.__name__ == "HTTPError")
    try:
        commit = push_folder(args.folder, args.repo_id, token=args.token, private=args.private,
                             commit_message=args.commit_message)  # fmt: skip
    except network_errors as error:
        raise UserError(f"could not push {args.folder!r} to {args.repo_id} at {constants.ENDPOINT}: {error}") from None
    print(f"pushed {args.folder} to {args.repo_id}: {commit.commit_url}")


def run_viz_command(args: argparse.Namespace) -> None:
    from .viz import run_viz

    for path in run_viz(args):
        print(path)


# ---------------------------------------------------------------- the parser


def add_training_options(parser, *, epochs: float, batch_size: int, learning_rate: float, output_dir: str):
    group = parser.add_argument_group("training")
    group.add_argument("--output-dir", default=output_dir, help="folder for the model, checkpoints and results.json")
    group.add_argument("--epochs", type=positive(float), default=epochs, help="passes over the training data")
    group.add_argument("--batch-size", type=positive(int), default=batch_size, help="examples per optimizer step")
    group.add_argument("--learning-rate", type=positive(float), default=learning_rate, help="peak AdamW learning rate")
    group.add_argument("--seed", type=int, default=0, help="seed for initialisation, data order and splits")
    group.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                       help="continue a run: from CHECKPOINT, or without a value from the newest one in --output-dir")
    group.add_argument("--quick", action="store_true", help="a small, short smoke run (for tests and a first look)")
    return group


def add_size_options(parser, **sizes: tuple[int, str]):
    group = parser.add_argument_group("model")
    for name, (default, text) in sizes.items():
        group.add_argument(f"--{name.replace('_', '-')}", type=positive(int), default=default, help=text)
    return group


def positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-lecture", formatter_class=Formatter,
        description="The lecture's Transformer, BERT and ViT: train, convert, push and picture them.",
        epilog="examples:\n  hf-lecture demo --quick\n  hf-lecture translate --help",
    )  # fmt: skip
    debug_help = "show the full traceback of any error"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, text: str, example: str):
        sub = commands.add_parser(name, help=text, description=text, formatter_class=Formatter,
                                  epilog=f"example:\n  {example}")  # fmt: skip
        sub.set_defaults(func=func)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)  # here too
        return sub

    demo = command("demo", run_demo, "a short tour: train and try each of the lecture's models",
                   "hf-lecture demo --quick --output-dir demo-output")  # fmt: skip
    demo.add_argument("--output-dir", default="demo-output", help="folder for the models and results.json")
    demo.add_argument("--quick", action="store_true", help="tiny models, a few steps each (a minute on a CPU)")

    bert = command("pretrain-bert", run_pretrain_bert, "pre-train BERT with masked-LM and next-sentence prediction",
                   "hf-lecture pretrain-bert --data-files a.txt b.txt --epochs 3 --output-dir runs/bert")  # fmt: skip
    data = bert.add_argument_group("data (default: the built-in lecture corpus)").add_mutually_exclusive_group()
    data.add_argument("--data-files", nargs="+", metavar="FILE", help="UTF-8 text files; a blank line "
                      "separates documents (NSP pairs come from within one document)")  # fmt: skip
    data.add_argument("--dataset-dir", help="a datasets folder (save_to_disk) with a 'text' column, one row "
                      "per document")
    add_size_options(bert, vocab_size=(8000, "WordPiece vocabulary trained on the data"),
                     hidden_size=(128, "d_model"), layers=(2, "encoder layers"), heads=(2, "attention heads h"),
                     intermediate_size=(512, "feed-forward width d_ff"), max_length=(128, "tokens per example"))
    bert.add_argument("--dropout", type=float, default=0.1, help="dropout on hidden states and attention weights")
    add_training_options(bert, epochs=1.0, batch_size=32, learning_rate=5e-4, output_dir="runs/pretrain-bert")

    tune = command("finetune", run_finetune, "fine-tune a pre-trained BERT as a text (pair) classifier",
                   "hf-lecture finetune --model-dir runs/bert/model --data-file reviews.csv --epochs 3")  # fmt: skip
    tune.add_argument("--model-dir", required=True, help="a lecture_bert folder (from pretrain-bert or convert)")
    data = tune.add_argument_group("data (default: the lecture's word-order task on the built-in corpus)")
    data.add_argument("--data-file", help="a csv / json / jsonl file with text and label columns")
    data.add_argument("--text-column", default="text", help="column with the text")
    data.add_argument("--text-pair-column", help="column with a second text (sentence-pair tasks)")
    data.add_argument("--label-column", default="label", help="column with the class label")
    tune.add_argument("--pooling", choices=["cls", "mean"], default="cls", help="sentence vector: [CLS] or the mean")
    tune.add_argument("--position-embedding-type", choices=["absolute", "none"],
                      help="'none' drops the pre-trained positions (the lecture's baseline; default: keep them)")
    add_training_options(tune, epochs=3.0, batch_size=32, learning_rate=5e-5, output_dir="runs/finetune")

    translate = command("translate", run_translate, "train the encoder-decoder Transformer on translation pairs",
                        "hf-lecture translate --data-file pairs.csv --epochs 20 --output-dir runs/en-ko")  # fmt: skip
    data = translate.add_argument_group("data (default: English number words -> Korean number words)")
    data.add_argument("--data-file", help="a csv / tsv / json / jsonl file or a save_to_disk folder of pairs")
    data.add_argument("--source-column", default="source", help="column with the text to translate")
    data.add_argument("--target-column", default="target", help="column with its translation")
    model = add_size_options(translate, d_model=(128, "d_model"), layers=(3, "encoder and decoder layers"),
                             heads=(4, "attention heads h"), ffn_dim=(512, "feed-forward width d_ff"),
                             num_beams=(4, "beams for beam search at evaluation"))  # fmt: skip
    model.add_argument("--dropout", type=float, default=0.1, help="dropout probability P_drop")
    model.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing epsilon_ls of the loss")
    add_training_options(translate, epochs=12, batch_size=64, learning_rate=1e-3, output_dir="runs/translate")

    vit = command("train-vit", run_train_vit, "train the ViT image classifier (or compare it with a CNN)",
                  "hf-lecture train-vit --data-dir my_images/ --image-size 32 --patch-size 4")  # fmt: skip
    vit.add_argument("--data-dir", help="an image folder (one sub-folder per class) or a save_to_disk folder "
                     "with 'image' and 'label' columns (default: scikit-learn's 8x8 digits)")  # fmt: skip
    add_size_options(vit, image_size=(8, "images are resized to this square size"), patch_size=(2, "patch side P"),
                     hidden_size=(64, "d_model"), layers=(4, "encoder layers"), heads=(4, "attention heads h"),
                     intermediate_size=(128, "feed-forward width d_ff"))  # fmt: skip
    training = add_training_options(vit, epochs=30, batch_size=64, learning_rate=2e-3, output_dir="runs/train-vit")
    training.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    compare = vit.add_argument_group("CNN vs ViT (the lecture's claim: a CNN needs less data)")
    compare.add_argument("--cnn-vs-vit", action="store_true", help="instead: train a small CNN and the ViT on "
                         "growing shares of the data and plot accuracy against training images")  # fmt: skip
    compare.add_argument("--fractions", type=positive(float), nargs="+", default=[0.05, 0.1, 0.25, 0.5, 1.0],
                         help="shares of the training split, each in (0, 1]")  # fmt: skip
    compare.add_argument("--steps", type=positive(int), default=600, help="optimizer steps per run")

    convert = command("convert", run_convert, "convert a transformers BERT / ViT / Marian folder to hf_lecture's",
                      "hf-lecture convert ./all-MiniLM-L6-v2 ./lecture-minilm")  # fmt: skip
    convert.add_argument("src", metavar="SRC", help="a transformers save_pretrained folder (BERT, ViT or Marian)")
    convert.add_argument("dst", metavar="DST", help="the folder the hf_lecture model (+ tokenizer) is written to")

    push = command("push", run_push, "push a saved model folder to the Hugging Face hub",
                   "hf-lecture push runs/translate/model your-name/lecture-numbers --private")  # fmt: skip
    push.add_argument("folder", metavar="DIR", help="a folder written by a recipe, convert or save_pretrained")
    push.add_argument("repo_id", metavar="REPO_ID", help="'name' or 'user/name'; created when missing")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--token", help="a write token (default: HF_TOKEN or the one saved by `hf auth login`)")
    push.add_argument("--commit-message", default="Upload model with hf_lecture", help="the commit's message")

    from .viz import add_viz_arguments

    viz = add_viz_arguments(commands)
    viz.set_defaults(func=run_viz_command)
    for sub in [viz, *_subparsers(viz)]:
        sub.formatter_class = Formatter
    viz.epilog = "example:\n  hf-lecture viz positions --output-dir figures"
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [sub for action in actions for sub in action.choices.values()]


# ---------------------------------------------------------------- running


def print_table(results: dict) -> None:
    """The measured figures, one per line; nested dicts flattened to ``a.b``."""
    rows = list(_flatten(results))
    width = max((len(key) for key, _ in rows), default=0)
    for key, value in rows:
        text = _format(value)
        print(f"{key:<{width}}  {text if len(text) <= 100 else text[:97] + '...'}")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(map(_format, value)) + "]"
    return str(value)


def _flatten(values: dict, prefix: str = ""):
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def main(argv: list[str] | None = None) -> int:
    """Run ``hf-lecture`` with ``argv`` (default: the command line). Returns 0; exits with 2 on a user error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = next(sub for sub in _subparsers(parser) if sub.prog.split()[-1] == args.command)
    try:
        results = args.func(args)
    except (UserError, *USER_ERRORS) as error:
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        command.exit(2, f"{command.prog}: error: {message}\n")
    if isinstance(results, dict) and int(os.environ.get("RANK", "0")) == 0:  # under accelerate launch: rank 0 reports
        print_table(results)
        output = Path(args.output_dir) / "results.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
