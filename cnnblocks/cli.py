"""The `cnnblocks` command (the console script, and `python -m cnnblocks`): the argument parser
and `main`.

Parsing, `--help` and `--version` import neither Keras nor TensorFlow (well under a second):
this module imports only the standard library and the package's lazy top level. A command
runs in `cnnblocks.commands`, imported (with Keras, TensorFlow and the registry) with
TensorFlow's start-up log lines silenced. No input gives a traceback: an error is one line on
stderr (exit status 2 for bad arguments, 1 otherwise, 130 when interrupted); `--debug` shows
the traceback and TensorFlow's log lines. `main(["verify", "resnet50"])` runs a command
in-process.
"""

import argparse
import contextlib
import os
import sys

from cnnblocks import __version__

#: `cnnblocks plot`'s choices and defaults: those of `cnnblocks.plot` (tests/test_cli.py checks
#: they agree; they are written out here so that `--help` needs no Keras).
PLOT_LEVELS = ("layer", "module", "block")
#: `cnnblocks design`'s spaces: `cnnblocks.design.SPACES` (tests/test_cli.py checks).
DESIGN_SPACES = ("regnet_x", "regnet_y", "efficientnet", "resnet")
PLOT_RANKDIRS = ("TB", "LR", "BT", "RL")
#: `cnnblocks export`'s formats: `cnnblocks.deploy.FORMATS` (tests/test_cli.py checks).
EXPORT_FORMATS = ("onnx", "litert", "saved_model", "openvino")
#: `cnnblocks export --quantize`: `cnnblocks.quantization.QUANTIZE` (tests/test_cli.py checks).
QUANTIZE = ("int8", "float16")
PLOT_DEFAULTS = {"level": "layer", "rankdir": "TB", "show_shapes": True,
                 "collapse_repeats": True, "dpi": 96}


def _input_shape(text):
    """argparse type for `--input-shape 224,224,3`."""
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise argparse.ArgumentTypeError(
            f"--input-shape must be three positive integers H,W,C; received {text!r}")
    return shape


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="cnnblocks", description="Milestone CNN building blocks and architectures.")
    parser.add_argument("--version", action="version", version=f"cnnblocks {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks and TensorFlow's log lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("list", help="list the registered architectures (parameters, input "
                       "size, published weights) and the blocks")
    p.add_argument("pattern", nargs="?", default=None, metavar="PATTERN",
                   help="only the names matching this shell-style pattern, e.g. 'resnet*'")
    p.add_argument("--weights", action="store_true",
                   help="only the architectures with published weights")
    model_help = ("a registered model (e.g. resnet50) or a saved model file (e.g. my.keras; "
                  "loaded with safe_mode=True)")
    p = sub.add_parser("verify", help="build every registered architecture (or load a saved "
                       "one) and compare its parameters, depth and multiply-adds with the "
                       "published numbers")
    p.add_argument("names", nargs="*", metavar="NAME|FILE",
                   help="models to verify (default: all registered): names, or saved "
                   "cnnblocks architectures")
    shape_help = "build a registered model for this input size (default: its own)"
    p = sub.add_parser("summary", help="per-block summary of a registered or saved model: "
                       "output shape, depth, parameters, multiply-adds (--layers: per layer)")
    p.add_argument("name", metavar="NAME|FILE", help=model_help)
    p.add_argument("--layers", action="store_true", help="one row per layer instead of per "
                   "block")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help=shape_help)
    p = sub.add_parser("table", help="per-block summary, beside the paper's table (its own "
                       "columns) where there is one")
    p.add_argument("name", metavar="NAME|FILE", help=model_help + "; a saved cnnblocks "
                   "architecture is shown beside its paper's table")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help="build the model for this input size (default: the paper table's)")
    p = sub.add_parser("rf", help="receptive field size, effective stride and effective "
                       "padding per block of a registered or saved model")
    p.add_argument("name", metavar="NAME|FILE", help=model_help)
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help="the input size (default: the model's own); the effective padding of "
                   "strided 'same' layers depends on it")
    p.add_argument("--layers", action="store_true", help="one row per layer instead of per "
                   "block")
    p = sub.add_parser("plot", help="draw a registered or saved model to an SVG, PNG or PDF "
                       "file (the options and defaults of cnnblocks.plot)")
    p.add_argument("name", metavar="NAME|FILE", help=model_help)
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the file to write: .svg, .png, .pdf, or .dot/.gv for the DOT source")
    p.add_argument("--level", choices=PLOT_LEVELS, default=PLOT_DEFAULTS["level"],
                   help="one box per layer (default), each block as the paper draws it "
                   "(module), or one box per block")
    p.add_argument("--rankdir", choices=PLOT_RANKDIRS, default=PLOT_DEFAULTS["rankdir"],
                   help="direction of the edges: top to bottom (default), left to right, ...")
    p.add_argument("--show-shapes", action=argparse.BooleanOptionalAction,
                   default=PLOT_DEFAULTS["show_shapes"], help="show output shapes (default)")
    p.add_argument("--collapse-repeats", action=argparse.BooleanOptionalAction,
                   default=PLOT_DEFAULTS["collapse_repeats"],
                   help="draw chains of identical blocks once, with a count (default)")
    p.add_argument("--dpi", type=int, default=PLOT_DEFAULTS["dpi"],
                   help="resolution of a PNG (default 96)")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help=shape_help)
    p = sub.add_parser("classify", help="classify images with a registered model (top-k "
                       "labels with probabilities; progress on stderr)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any PIL format)")
    p.add_argument("--model", required=True, metavar="NAME", help="a registered model, e.g. "
                   "resnet50; its family's preprocessing and input size (224 or 299) are used")
    p.add_argument("--weights", default="imagenet", metavar="imagenet|torchvision|PATH",
                   help="'imagenet' (default; the Keras cache, $KERAS_HOME/models, downloading "
                   "what is missing), 'torchvision' (torchvision's weights, found the same "
                   "way, converted, with their own resize, crop and normalization) or a weight "
                   "file for the model with its top")
    p.add_argument("--top", type=int, default=5, metavar="K", help="labels per image (5)")
    p.add_argument("--labels", default=None, metavar="FILE", help="class labels: keras' "
                   "imagenet_class_index.json layout or one label per line (default: the "
                   "ImageNet class index from the Keras cache)")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help="build the model for this input size (not with ImageNet weights)")
    p = sub.add_parser("convert", help="convert a PyTorch state dict (torchvision .pth, timm "
                       ".safetensors) into a Keras weight file for the model's torchvision "
                       "variant")
    p.add_argument("name", metavar="NAME", help="a registered model, e.g. resnet50")
    p.add_argument("file", metavar="FILE", help="the .pth or .safetensors file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.weights.h5",
                   help="the Keras weight file to write")
    p.add_argument("--no-top", action="store_true", help="leave the classifier out")
    p.add_argument("--classes", type=int, default=None, metavar="N",
                   help="classifier size (default: read from the file)")
    p.add_argument("--aux", action="store_true",
                   help="keep the auxiliary classifiers (GoogLeNet, Inception-V3)")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help="build the model for this input size (default: its own)")
    p = sub.add_parser("export", help="write a registered or saved model as ONNX, LiteRT, a "
                       "TensorFlow SavedModel or OpenVINO IR, read it back in its runtime and "
                       "compare with Keras (max relative error; fails above 1e-5)")
    p.add_argument("name", metavar="NAME|FILE", help=model_help)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="the format")
    p.add_argument("-o", "--output", default=None, metavar="OUT",
                   help="the file (a folder for saved_model; default: the model's name with "
                   "the format's suffix, in the current folder)")
    p.add_argument("--weights", default=None, metavar="imagenet|torchvision|PATH",
                   help="a registered model's weights (default: none, random initial values)")
    p.add_argument("--no-verify", action="store_true", help="write only; do not read back")
    p.add_argument("--quantize", default=None, choices=QUANTIZE,
                   help="ONNX with int8 weights and activations (calibrated) or float16 "
                   "weights; prints each block's error")
    p.add_argument("--calibration", default=None, metavar="DIR|random",
                   help="images that calibrate int8 (a folder, read at the model's input size "
                   "and preprocessed as the registered model's family; or 'random')")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help=shape_help)
    p = sub.add_parser("design", help="design spaces: 'design sweep' draws designs, costs "
                       "them without building, keeps those in budget and writes the table "
                       "and the Pareto front (CSV, plot); 'design build FILE.csv:ROW' builds "
                       "a row")
    p.add_argument("action", choices=("sweep", "build"), help="sweep or build")
    p.add_argument("row", nargs="?", default=None, metavar="FILE.csv:ROW",
                   help="build: the sweep table and the row to build, e.g. front.csv:12")
    p.add_argument("--space", default=None, choices=DESIGN_SPACES,
                   help="sweep: the design space")
    p.add_argument("-n", type=int, default=100, metavar="N",
                   help="sweep: the designs to draw (default 100)")
    p.add_argument("--macs", default=None, metavar="LO..HI",
                   help="sweep: keep designs with LO to HI multiply-adds, e.g. 400M..800M "
                   "(K, M, G; either end may be left out)")
    p.add_argument("--params", default=None, metavar="LO..HI",
                   help="sweep: keep designs with LO to HI parameters, e.g. ..5M")
    p.add_argument("--seed", type=int, default=0, help="sweep: the draws' seed (default 0)")
    p.add_argument("--out", default=None, metavar="FILE.csv",
                   help="sweep: write the table here (a row per design in budget)")
    p.add_argument("--plot", default=None, metavar="FILE.svg|png|pdf",
                   help="sweep: draw parameters against multiply-adds with the front and "
                   "the registered models (needs matplotlib)")
    p.add_argument("-o", "--output", default=None, metavar="OUT.keras",
                   help="build: the model file to write")
    p = sub.add_parser("completion", help="print a shell completion script: eval \"$(cnnblocks "
                       "completion bash)\" in ~/.bashrc (zsh: the same, in ~/.zshrc)")
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell")
    p.set_defaults(parser=parser)  # the script is written from this parser
    return parser


@contextlib.contextmanager
def _quiet_stderr(quiet):
    """File descriptor 2 to /dev/null while TensorFlow starts (its C++ start-up lines bypass
    Python and TF_CPP_MIN_LOG_LEVEL)."""
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def main(argv=None):
    """Entry point of the `cnnblocks` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _quiet_stderr(not args.debug and "keras" not in sys.modules):
            from cnnblocks import commands  # Keras and TensorFlow start here
        return commands.COMMANDS[args.command](args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"cnnblocks {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI never prints a traceback without --debug
        if args.debug:
            raise
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"cnnblocks {args.command}: error: {type(err).__name__}: {text[:500]} "
              "(--debug shows the traceback)", file=sys.stderr)
        return 2 if isinstance(err, (ValueError, TypeError)) else 1
