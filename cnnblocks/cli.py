"""The `cnnblocks` command line."""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cnnblocks  # noqa: E402


def _cmd_list(args):
    from cnnblocks import blocks
    print("architectures:")
    for name in cnnblocks.list_models():
        print(f"  {name}")
    print("blocks:")
    for name in blocks.__all__:
        print(f"  {name}")
    return 0


# --- analysis commands: verify, summary, table ------------------------------------------------
# keras, the registry and the analysis module are imported inside the commands.


def _table(header, rows, right=()):
    """Aligned text table; columns whose index is in `right` are right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    lines = [fmt(header), "-" * len(fmt(header))]
    return "\n".join(lines + [fmt(r) for r in rows])


def _giga(value):
    return f"{value / 1e9:,.3f} G"


def _cell(figure, measured, fmt=lambda v: f"{v:,}"):
    """'✓ 25,636,712' or '✗ 25,636,713 (+1; expected 25,636,712)'; '-' without a figure."""
    if figure is None:
        return f"  {fmt(measured)} (no reference)", True
    if figure.rel_tol:
        dev = f"{figure.deviation(measured):+.2%}"
    else:
        dev = f"{int(measured - figure.value):+,}"
    if figure.matches(measured):
        return (f"✓ {fmt(measured)}" + (f" ({dev})" if figure.rel_tol else "")), True
    return f"✗ {fmt(measured)} ({dev}; expected {fmt(figure.value)})", False


def _build(name, **kwargs):
    from cnnblocks import registry
    return registry.create_model(name, weights=None, **kwargs)


def _cmd_verify(args):
    import time

    import keras

    from cnnblocks import analysis, published, registry
    names = args.names or registry.list_models()
    rows, failures = [], 0
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        print(f"[{i}/{len(names)}] {name}: building ...", end="", file=sys.stderr, flush=True)
        try:
            model = _build(name)
            summary = analysis.summarize(model)
        except Exception as err:  # noqa: BLE001 - reported in the table, exit status 1
            print(f" failed ({type(err).__name__})", file=sys.stderr)
            rows.append((name, f"✗ {type(err).__name__}: {err}"[:60], "", "", ""))
            failures += 1
            continue
        print(f" done ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
        del model
        keras.backend.clear_session()  # free the weights before the next build
        ref = published.MODELS.get(name.lower().replace("-", "_"))
        cells = [_cell(ref and ref.params, summary.params),
                 _cell(ref and ref.trainable_params, summary.trainable_params),
                 _cell(ref and ref.depth, summary.depth),
                 _cell(ref and ref.macs, summary.macs, _giga)]
        failures += not all(ok for _, ok in cells)
        rows.append((name, *(text for text, _ in cells)))
    print(_table(("model", "parameters", "trainable", "depth", "multiply-adds"), rows))
    print(f"\n{len(names)} models: {len(names) - failures} match the published numbers, "
          f"{failures} differ.")
    return 1 if failures else 0


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


def _build_or_exit(args):
    kwargs = {} if args.input_shape is None else {"input_shape": args.input_shape}
    try:
        return _build(args.name, **kwargs)
    except (TypeError, ValueError) as err:
        print(f"cnnblocks {args.command}: {err}", file=sys.stderr)
        return None


def _cmd_summary(args):
    from cnnblocks import analysis
    model = _build_or_exit(args)
    if model is None:
        return 2
    graph = analysis._check_model(model)
    rows = []
    for call in analysis._trace(graph):
        params = call.op.count_params() if hasattr(call.op, "count_params") else 0
        shapes = ", ".join(analysis._format_shape(s) for s in call.output_shapes)
        rows.append((call.op.name, type(call.op).__name__, shapes, f"{params:,}",
                     f"{analysis._call_macs(call):,}"))
    print(_table(("layer", "type", "output", "params", "MACs"), rows, right=(3, 4)))
    summary = analysis.summarize(model)
    print(f"\n{model.name}: {summary.params:,} parameters ({summary.trainable_params:,} "
          f"trainable), {summary.depth} weight layers deep, {summary.macs:,} multiply-adds "
          f"({_giga(summary.macs)}) at batch 1.")
    return 0


def _paper_table(summary, ref):
    """Rows of the paper's table beside ours, with the relative deviation per row."""
    import re
    rows = []
    for row in ref.table:
        ours = ([r for r in summary if re.fullmatch(row.blocks, r.name)]
                if row.blocks is not None else None)
        if ours == []:
            rows.append((row.label, row.output or "", "-", "", "-", "", "", "-", ""))
            continue
        params = summary.params if ours is None else sum(r.params for r in ours)
        macs = summary.macs if ours is None else sum(r.macs for r in ours)
        output = "" if ours is None else "x".join(map(str, ours[-1].output_shape))
        cells = []
        for figure, value, fmt in ((row.params, params, lambda v: f"{v:,.0f}"),
                                   (row.macs, macs, lambda v: f"{v:,.0f}")):
            if figure is None:
                cells += ["", fmt(value), ""]
            else:
                mark = "✓" if figure.matches(value) else "✗"
                cells += [fmt(figure.value), fmt(value), f"{mark} {figure.deviation(value):+.1%}"]
        rows.append((row.label, row.output or "", output, *cells))
    header = ("paper row", "paper output", "our output", "paper params", "our params", "dev",
              "paper MACs", "our MACs", "dev")
    return _table(header, rows, right=(3, 4, 5, 6, 7, 8))


def _cmd_table(args):
    from cnnblocks import analysis, published
    model = _build_or_exit(args)
    if model is None:
        return 2
    summary = analysis.summarize(model)
    print(summary.to_text())
    ref = published.MODELS.get(args.name.lower().replace("-", "_"))
    if ref is not None and ref.table and args.input_shape is None:
        print(f"\n{ref.table_source} beside {model.name} (dev: ours relative to the paper; "
              "✓ within the figure's tolerance, see cnnblocks.published):")
        print(_paper_table(summary, ref))
    return 0


def _cmd_plot(args):
    import warnings

    from cnnblocks.plot import FORMATS
    if os.path.splitext(args.output)[1].lower() not in FORMATS:  # before the slow build
        print(f"cnnblocks plot: -o/--output must end in one of {', '.join(FORMATS)}; "
              f"received {args.output!r}.", file=sys.stderr)
        return 2
    model = _build_or_exit(args)
    if model is None:
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            path = cnnblocks.plot(model, args.output, level=args.level)
        except (TypeError, ValueError, ImportError, RuntimeError) as err:
            print(f"cnnblocks plot: {err}", file=sys.stderr)
            return 2
    for warning in caught:
        print(f"cnnblocks plot: warning: {warning.message}", file=sys.stderr)
    print(f"{model.name} ({args.level} level): {path}")
    return 0


def _cmd_classify(args):
    """`cnnblocks classify`: the logic is `cnnblocks.apps.classify`; exit 1 when ImageNet files
    are missing offline, 2 for bad arguments or unreadable files."""
    from cnnblocks import apps
    try:
        results = apps.classify(args.images, args.model, weights=args.weights, top=args.top,
                                labels=args.labels, input_shape=args.input_shape)
    except apps.MissingFilesError as err:
        print(f"cnnblocks classify: {err}", file=sys.stderr)
        return 1
    except (TypeError, ValueError, OSError) as err:
        print(f"cnnblocks classify: {err}", file=sys.stderr)
        return 2
    print(apps.format_results(args.images, results))
    return 0


def _cmd_convert(args):
    """`cnnblocks convert NAME FILE -o OUT.weights.h5`: a PyTorch state dict (torchvision `.pth`,
    timm `.safetensors`) into a Keras weight file for the model's torchvision variant. Exit 2
    for bad arguments or a file that does not fit (the message names the tensor)."""
    from cnnblocks import convert
    kwargs = {} if args.input_shape is None else {"input_shape": args.input_shape}
    if args.aux:
        kwargs["aux_classifiers"] = True
    try:
        model = convert.convert_file(args.name, args.file, args.output,
                                     include_top=not args.no_top, classes=args.classes,
                                     **kwargs)
    except (TypeError, ValueError, OSError, ImportError) as err:
        print(f"cnnblocks convert: {err}", file=sys.stderr)
        return 2
    print(f"{model.name} (variant='torchvision', {model.count_params():,} parameters) with the "
          f"weights of {args.file}: {args.output}\nLoad it with cnnblocks.create_model("
          f"{args.name!r}, variant='torchvision', weights={args.output!r}"
          f"{', include_top=False' if args.no_top else ''}).")
    return 0


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="cnnblocks", description="Milestone CNN building blocks and architectures.")
    parser.add_argument("--version", action="version", version=f"cnnblocks {cnnblocks.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("list", help="list the blocks and the registered architectures")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("verify", help="build every registered architecture and compare its "
                       "parameters, depth and multiply-adds with the published numbers")
    p.add_argument("names", nargs="*", metavar="NAME", help="models to verify (default: all)")
    p.set_defaults(func=_cmd_verify)
    for command, help_text, func in (
            ("summary", "layer-level summary: output shape, parameters, multiply-adds",
             _cmd_summary),
            ("table", "per-block summary, beside the paper's table where there is one",
             _cmd_table)):
        p = sub.add_parser(command, help=help_text)
        p.add_argument("name", metavar="NAME", help="a registered model, e.g. resnet50")
        p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                       help="build the model for this input size (default: its own)")
        p.set_defaults(func=func)
    p = sub.add_parser("plot", help="draw a registered model to an SVG, PNG or PDF file")
    p.add_argument("name", metavar="NAME", help="a registered model, e.g. resnet50")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the file to write: .svg, .png, .pdf, or .dot for the DOT source")
    p.add_argument("--level", choices=("block", "layer"), default="block",
                   help="one box per block (default) or per layer")
    p.add_argument("--input-shape", type=_input_shape, default=None, metavar="H,W,C",
                   help="build the model for this input size (default: its own)")
    p.set_defaults(func=_cmd_plot)
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
    p.set_defaults(func=_cmd_classify)
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
    p.set_defaults(func=_cmd_convert)
    return parser


def main(argv=None):
    """Entry point of the `cnnblocks` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
