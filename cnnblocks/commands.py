"""The `cnnblocks` command's commands: one function per command, `(args) -> exit status`, in
`COMMANDS`.

`cnnblocks.cli.main` parses the arguments and imports this module only when a command runs
(it imports Keras, TensorFlow and the registry), with TensorFlow's start-up log lines
silenced.
"""

import argparse
import fnmatch
import os
import re
import sys
import textwrap
import time
import warnings

import keras

from cnnblocks import analysis, apps, blocks, convert, identity, registry
from cnnblocks import graph as graphs
from cnnblocks.plot import FORMATS, plot
from cnnblocks.receptive import receptive_field


def _progress(message):
    print(f"[cnnblocks] {message}", file=sys.stderr, flush=True)


# --- analysis commands: verify, summary, table ------------------------------------------------


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
    """'✓ 25,636,712' or '✗ 25,636,713 (+1; expected 25,636,712)'; a missing figure fails."""
    if figure is None:
        return f"✗ {fmt(measured)} (no reference)", False
    if figure.rel_tol:
        dev = f"{figure.deviation(measured):+.2%}"
    else:
        dev = f"{int(measured - figure.value):+,}"
    if figure.matches(measured):
        return (f"✓ {fmt(measured)}" + (f" ({dev})" if figure.rel_tol else "")), True
    return f"✗ {fmt(measured)} ({dev}; expected {fmt(figure.value)})", False


def _build(name, **kwargs):
    return registry.create_model(name, weights=None, **kwargs)


def _reference(name):
    """The published `Reference` of a model (any spelling), or None."""
    return registry.entry(name).reference


def _weights_text(name):
    sets = registry.list_weights(name)
    return ", ".join(sets) if sets else "-"


def _cmd_list(args):
    """`cnnblocks list [PATTERN] [--weights]`: the architectures (published parameters, input
    size, weight sets; no model is built) and the blocks."""
    try:
        names = registry.list_models(args.pattern, pretrained=args.weights)
    except (TypeError, ValueError) as err:
        print(f"cnnblocks list: {err}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        found = registry.entry(name)
        params = found.reference.params if found.reference is not None else None
        rows.append((name, f"{params.value:,}" if params is not None else "-",
                     f"{found.default_size}x{found.default_size}", _weights_text(name)))
    print(f"architectures ({len(rows)}):")
    if rows:
        print(textwrap.indent(_table(("model", "params", "input", "weights"), rows,
                                     right=(1,)), "  "))
    kinds = [n for n in blocks.__all__ if hasattr(getattr(blocks, n), "block_kind")]
    if args.pattern is not None:
        kinds = [n for n in kinds if fnmatch.fnmatchcase(n, args.pattern.lower())]
    if not args.weights:  # blocks have no weights to publish
        print(f"blocks ({len(kinds)}):")
        for name in kinds:
            print(f"  {name}")
    if not rows and not (kinds and not args.weights):
        print(f"cnnblocks list: nothing matches {args.pattern!r}.", file=sys.stderr)
        return 1
    return 0


def _saved_reference(model):
    """The registry name and published `Reference` of a saved cnnblocks architecture (its
    model record names it), or `(None, None)`."""
    record = identity.model_record(model) or {}
    name = record.get("model")
    if name is None or registry.canonical(name) not in map(registry.canonical,
                                                           registry.list_models()):
        return None, None
    return registry.entry(name).name, registry.entry(name).reference


def _cmd_verify(args):
    """`cnnblocks verify [NAME|FILE ...]`: each model's parameters, depth and multiply-adds
    beside the published numbers; a saved file is compared with those of the architecture its
    model record names."""
    names = args.names or registry.list_models()
    for name in names:
        if not _is_file(name):
            try:
                registry.entry(name)
            except (TypeError, ValueError) as err:
                print(f"cnnblocks verify: {err}", file=sys.stderr)
                return 2
    rows, failures = [], 0
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        saved = _is_file(name)
        print(f"[{i}/{len(names)}] {name}: {'loading' if saved else 'building'} ...", end="",
              file=sys.stderr, flush=True)
        try:
            if saved:
                model = keras.models.load_model(name, compile=False, safe_mode=True)
                _, ref = _saved_reference(model)
            else:
                name = registry.entry(name).name
                model = _build(name)
                ref = registry.entry(name).reference
            summary = analysis.summarize(model)
        except Exception as err:  # noqa: BLE001 - reported in the table, exit status 1
            print(f" failed ({type(err).__name__})", file=sys.stderr)
            rows.append((name, f"✗ {type(err).__name__}: {err}"[:60], "", "", ""))
            failures += 1
            continue
        print(f" done ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
        del model
        keras.backend.clear_session()  # free the weights before the next build
        if ref is None:  # nothing to compare with is a failure, never a pass
            rows.append((name, "✗ no published reference", "", "", ""))
            failures += 1
            continue
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


def _is_file(name):
    """Whether a NAME|FILE argument names a file (it exists, or it looks like a path)."""
    return os.path.isfile(name) or os.sep in name or name.endswith((".keras", ".h5"))


def _load(path, command, input_shape):
    """A saved model (`.keras`, loaded with safe_mode=True; cnnblocks' layers and block records
    are registered), or None after printing why not."""
    if input_shape is not None:
        print(f"cnnblocks {command}: --input-shape applies to registered models, not to a "
              f"saved file ({path!r}).", file=sys.stderr)
        return None
    if not os.path.isfile(path):
        print(f"cnnblocks {command}: no such file: {path!r} (nor a registered model name; "
              "`cnnblocks list` lists them).", file=sys.stderr)
        return None
    _progress(f"loading {path} ...")
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file: one line, exit status 2
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"cnnblocks {command}: cannot load {path!r}: {type(err).__name__}: "
              f"{text[:300]}", file=sys.stderr)
        return None


def _build_or_exit(args):
    """The model a command names: a registered name (built without weights) or a saved file."""
    if _is_file(args.name):
        return _load(args.name, args.command, args.input_shape)
    kwargs = {} if args.input_shape is None else {"input_shape": args.input_shape}
    try:
        name = registry.entry(args.name).name
        _progress(f"building {name} ...")
        return _build(name, **kwargs)
    except (TypeError, ValueError) as err:
        print(f"cnnblocks {args.command}: {err}", file=sys.stderr)
        return None


def _cmd_summary(args):
    """`cnnblocks summary NAME|FILE`: one row per block, as `cnnblocks.summarize` prints it;
    `--layers`: one row per layer (output shape, parameters, multiply-adds)."""
    model = _build_or_exit(args)
    if model is None:
        return 2
    resolved = graphs.resolve(model)
    summary = analysis.summarize(resolved)
    if not args.layers:
        print(summary.to_text())
        return 0
    rows = []
    for call in resolved.calls:
        params = call.op.count_params() if call.is_layer else 0
        shapes = ", ".join(graphs.format_shape(s) for s in call.output_shapes)
        rows.append((call.name, type(call.op).__name__, shapes, f"{params:,}",
                     f"{analysis.call_macs(call):,}"))
    print(_table(("layer", "type", "output", "params", "MACs"), rows, right=(3, 4)))
    print(f"\n{model.name}: {summary.params:,} parameters ({summary.trainable_params:,} "
          f"trainable), {summary.depth} weight layers deep, {summary.macs:,} multiply-adds "
          f"({_giga(summary.macs)}) at batch 1.")
    return 0


#: Width of `cnnblocks table`'s lines.
TABLE_WIDTH = 100
#: Widest a text cell grows before it wraps (the row label; the paper's own columns).
_LABEL_WIDTH, _TEXT_WIDTH = 24, 30
#: A paper row's columns that hold the figures the paper prints where they are an erratum
#: (`PaperRow.erratum`): shown in the paper's cells, not as columns.
_PRINTED = {"params": "printed params", "macs": "printed ops"}


def _compact(value):
    """A figure as papers print it: `159K`, `1.5G`, `34M`; exact counts in full (`9,472`)."""
    value = float(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale and (value / scale * 10).is_integer():
            return f"{value / scale:g}{suffix}"
    return f"{value:,.0f}"


def _wrap_cell(text, width):
    """A cell's lines: `text` wrapped to `width`, after a `;` where it can."""
    text = str(text)
    if len(text) <= width:
        return [text]
    lines = []
    for chunk in text.replace("; ", ";\0").split("\0"):
        if lines and len(lines[-1]) + 1 + len(chunk) <= width:
            lines[-1] += " " + chunk
        else:
            lines += textwrap.wrap(chunk, width, break_on_hyphens=False)
    return lines or [""]


def _check(figure, value, note):
    """The check cell: `✓ +3.0%` within a rounded figure's tolerance, `✓` for an exact match,
    `✗ ...` otherwise; `[n]` points to the erratum note of the row."""
    mark = "✓" if figure.matches(value) else "✗"
    if figure.rel_tol:
        text = f"{mark} {figure.deviation(value):+.1%}"
    else:
        diff = int(round(value - figure.value))
        text = mark if diff == 0 else f"{mark} {diff:+,}"
    return f"{text} erratum [{note}]" if note else text


def _paper_table(summary, ref, width=TABLE_WIDTH):
    """The paper's table (`ref.table`, its own columns) beside ours, as text within `width`.

    One row per `PaperRow`: the paper's label and columns (`PaperRow.columns`: the paper's
    own, e.g. GoogLeNet's #1x1 ... pool proj, ResNet's layer specs), its output size beside
    ours, and each published figure (params, multiply-adds) beside ours with a check. Where
    the paper's figure is an erratum (`PaperRow.erratum`), the printed figure is shown, ours
    is checked against the exact value, and a numbered note below gives that value and the
    reason. Columns that do not fit in `width` go to a second block (the row labels repeat);
    long cells wrap. Columns no row fills are left out.
    """
    rows, notes = [], []
    keys = []  # the paper's columns in its order: each row's keys kept in their order
    for row in ref.table:
        previous = -1
        for key in row.columns:
            if key in _PRINTED.values():
                continue
            if key not in keys:
                keys.insert(previous + 1, key)
            previous = keys.index(key)
    quantities = [q for q in ("params", "macs") if any(getattr(r, q) for r in ref.table)]
    for row in ref.table:
        ours = ([r for r in summary if re.fullmatch(row.blocks, r.name)]
                if row.blocks is not None else None)
        note = None
        if row.erratum:
            notes.append(row)
            note = len(notes)
        cells = {"paper row": row.label, "paper output": row.output or ""}
        cells.update({k: "" if row.columns.get(k) is None else row.columns[k] for k in keys})
        cells["our output"] = ("-" if ours == [] else "" if ours is None
                               else "x".join(map(str, ours[-1].output_shape)))
        for q in quantities:
            figure = getattr(row, q)
            value = (None if ours == [] else getattr(summary, q) if ours is None
                     else sum(getattr(r, q) for r in ours))
            printed = row.columns.get(_PRINTED[q]) if row.erratum else None
            paper = printed if printed is not None else (figure.value if figure else None)
            rounded = printed is not None or (figure is not None and figure.rel_tol > 0)
            cells[f"paper {q}"] = ("" if paper is None else _compact(paper) if rounded
                                   else f"{paper:,.0f}")
            cells[f"our {q}"] = "-" if value is None else f"{value:,.0f}"
            cells[f"{q} check"] = ("" if figure is None or value is None
                                   else _check(figure, value, note))
        rows.append(cells)
    # Bundles of columns that stay together, each column as (heading, key, right-aligned).
    names = {"params": "params", "macs": "MACs"}
    ours = {"paper row", "paper output", "our output"} | {
        f"{w} {names[q]}" for q in quantities for w in ("paper", "our")} | {
        f"{names[q]} check" for q in quantities}
    bundles = [[("paper output", "paper output", False), ("our output", "our output", False)]]
    bundles += [[(f"{k} (paper)" if k in ours else k, k,
                  all(isinstance(r[k], int) or r[k] == "" for r in rows))] for k in keys]
    for q in quantities:
        bundles.append([(f"paper {names[q]}", f"paper {q}", True),
                        (f"our {names[q]}", f"our {q}", True),
                        (f"{names[q]} check", f"{q} check", False)])
    label = ("paper row", "paper row", False)
    return "\n".join(_blocks_of_columns(rows, label, bundles, width) + _notes(notes, width))


def _column(rows, heading, key, limit):
    """`(width, heading lines, cell lines per row)` of one column."""
    cells = [_wrap_cell(r.get(key, ""), limit) for r in rows]
    content = max((len(line) for lines in cells for line in lines), default=0)
    words = max(len(word) for word in heading.split())
    size = max(content, words)
    return size, _wrap_cell(heading, size), cells


def _blocks_of_columns(rows, label, bundles, width):
    """Text lines of the table, its bundles of columns packed into blocks within `width`."""
    first = _column(rows, label[0], label[1], _LABEL_WIDTH)
    columns = [[(*_column(rows, h, k, _TEXT_WIDTH), right) for h, k, right in bundle]
               for bundle in bundles]
    groups, current, used = [], [], first[0]
    for bundle in columns:
        extra = sum(size + 2 for size, *_ in bundle)
        if current and used + extra > width:
            groups.append(current)
            current, used = [], first[0]
        current += bundle
        used += extra
    if current:
        groups.append(current)
    lines = []
    for g, group in enumerate(groups):
        cols = [(*first, False), *group]
        height = max(len(c[1]) for c in cols)

        def fmt(parts):
            return "  ".join(p.rjust(c[0]) if c[3] else p.ljust(c[0])
                             for p, c in zip(parts, cols)).rstrip()

        if g:
            lines.append("")
        for i in range(height):  # headings bottom-aligned
            lines.append(fmt([(c[1][i - height + len(c[1])] if i >= height - len(c[1])
                               else "") for c in cols]))
        lines.append("-" * max(len(line) for line in lines[-height:]))
        for r in range(len(rows)):
            tall = max(len(c[2][r]) for c in cols)
            for i in range(tall):
                lines.append(fmt([c[2][r][i] if i < len(c[2][r]) else "" for c in cols]))
    return lines


def _notes(rows, width):
    """The erratum notes: exact values and the reason, wrapped to `width`."""
    lines = []
    for n, row in enumerate(rows, 1):
        exact = "; ".join(f"{name} {getattr(row, q).value:,.0f}"
                          for q, name in (("params", "params"), ("macs", "multiply-adds"))
                          if getattr(row, q) is not None)
        text = (f"[{n}] {row.label}: the paper's figure is an erratum; exact: {exact}. "
                f"{row.erratum}.")
        lines += textwrap.wrap(text, width, subsequent_indent="    ")
    return ([""] + lines) if lines else []


def _cmd_table(args):
    """`cnnblocks table NAME|FILE`: the per-block summary, beside the paper's table where the
    model (a registered name, or a saved architecture's model record) has one."""
    ref = None
    if not _is_file(args.name):
        try:
            ref = _reference(args.name)
        except (TypeError, ValueError) as err:
            print(f"cnnblocks table: {err}", file=sys.stderr)
            return 2
        if args.input_shape is None and ref is not None and ref.table_input is not None:
            args.input_shape = ref.table_input  # the input the paper's table is printed for
    model = _build_or_exit(args)
    if model is None:
        return 2
    if _is_file(args.name):
        _, ref = _saved_reference(model)
    summary = analysis.summarize(model)
    print(summary.to_text())
    if ref is not None and ref.table:
        print("\n" + textwrap.fill(
            f"{ref.table_source} beside {model.name} (check: ours relative to the paper's "
            "figure; ✓ within its printed rounding; erratum: a figure the paper prints wrong, "
            "see the note):", TABLE_WIDTH) + "\n")
        print(_paper_table(summary, ref))
    return 0


def _cmd_plot(args):
    if os.path.splitext(args.output)[1].lower() not in FORMATS:  # before the slow build
        print(f"cnnblocks plot: -o/--output must end in one of {', '.join(FORMATS)}; "
              f"received {args.output!r}.", file=sys.stderr)
        return 2
    model = _build_or_exit(args)
    if model is None:
        return 2
    start = time.perf_counter()
    _progress(f"drawing {model.name} ({len(model.layers):,} layers) at the {args.level} level "
              f"with Graphviz ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            path = plot(model, args.output, level=args.level, rankdir=args.rankdir,
                        show_shapes=args.show_shapes, dpi=args.dpi,
                        collapse_repeats=args.collapse_repeats)
        except (TypeError, ValueError, ImportError, RuntimeError) as err:
            print(f"cnnblocks plot: {err}", file=sys.stderr)
            return 2
    for warning in caught:
        print(f"cnnblocks plot: warning: {warning.message}", file=sys.stderr)
    _progress(f"drawn in {time.perf_counter() - start:.1f} s")
    print(f"{model.name} ({args.level} level): {path}")
    return 0


def _cmd_export(args):
    """`cnnblocks export NAME|FILE --format F [-o OUT]`: `cnnblocks.deploy.export`; exit 1 when
    the file's outputs differ from Keras' or a runtime is missing, 2 for bad arguments or a
    model the format cannot express."""
    from cnnblocks import deploy, quantization
    suffix = deploy.FORMATS[args.format][0]
    try:                                                # before the slow build
        quantization.check_options(args.quantize, args.calibration, args.format)
    except ValueError as err:
        print(f"cnnblocks export: {_flags(err)}", file=sys.stderr)
        return 2
    if args.output is not None:
        try:
            deploy.check_path(args.output, args.format)
        except (TypeError, ValueError) as err:
            print(f"cnnblocks export: -o/--output: {err}", file=sys.stderr)
            return 2
    if _is_file(args.name):
        if args.weights is not None:
            print("cnnblocks export: --weights applies to registered models, not to a saved "
                  f"file ({args.name!r}).", file=sys.stderr)
            return 2
        model = _load(args.name, args.command, args.input_shape)
    else:
        kwargs = {} if args.input_shape is None else {"input_shape": args.input_shape}
        try:
            name = registry.entry(args.name).name
            _progress(f"building {name} ({'no weights' if args.weights is None else args.weights}"
                      ") ...")
            model = registry.create_model(name, weights=args.weights, **kwargs)
        except (TypeError, ValueError, OSError) as err:
            print(f"cnnblocks export: {err}", file=sys.stderr)
            return 2
    if model is None:
        return 2
    output = args.output or f"{model.name}{suffix}"
    _progress(f"writing {output} ({deploy.FORMATS[args.format][1]}"
              f"{'' if args.quantize is None else ' ' + args.quantize})"
              f"{'' if args.no_verify else ' and reading it back'} ...")
    try:
        calibration = args.calibration
        if calibration not in (None, "random") and not _is_file(args.name):
            calibration, _ = quantization.calibration_images(
                calibration, model, preprocess=apps.preprocessing_for(args.name))
        result = deploy.export(model, output, args.format, verify=not args.no_verify,
                               quantize=args.quantize, calibration=calibration)
    except (deploy.VerificationError, ImportError) as err:
        print(f"cnnblocks export: {err}", file=sys.stderr)
        return 1
    except (TypeError, ValueError) as err:
        print(f"cnnblocks export: {_flags(err)}", file=sys.stderr)
        return 2
    print(result)
    if result.report is not None:
        print(result.report)
    return 0


def _flags(err):
    """An export error's message with the API's argument names as the command's flags."""
    return (str(err).replace("`quantize`", "--quantize").replace("`calibration`", "--calibration")
            .replace("format=", "--format "))


def _cmd_classify(args):
    """`cnnblocks classify`: the logic is `cnnblocks.apps.classify`; exit 1 when ImageNet files
    are missing offline, 2 for bad arguments or unreadable files."""
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


def _cmd_rf(args):
    """`cnnblocks rf NAME|FILE`: receptive fields per block (or per layer)."""
    saved = _is_file(args.name)
    model = _build_or_exit(argparse.Namespace(
        name=args.name, command=args.command, input_shape=None if saved else args.input_shape))
    if model is None:
        return 2
    try:
        fields = receptive_field(model, input_shape=args.input_shape if saved else None)
    except (TypeError, ValueError) as err:
        print(f"cnnblocks rf: {err}", file=sys.stderr)
        return 2
    if not args.layers:
        print(fields.to_text())
        return 0

    def axes(values):  # 212, or 211x212 where the axes differ
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    rows = []
    for name, field in fields.layers.items():
        if field.is_global:
            rows.append((name, field.kind, "global", "-", "-"))
        else:
            rows.append((name, field.kind, axes(field.size), axes(field.stride),
                         axes(field.padding)))
    print(_table(("layer", "type", "RF", "stride", "padding"), rows, right=(2, 3, 4)))
    return 0


def _completion_words(action, models):
    """What the completion offers for an argument: a `compgen` word list or `-f` (files)."""
    if action.choices:
        return f"-W '{' '.join(action.choices)}'"
    if "NAME" in str(action.metavar or ""):
        words = f"-W '{' '.join(models)}'"
        return f"{words} -f" if "FILE" in action.metavar else words
    if action.type is None:
        return "-f"
    return None  # a number, a shape: nothing to offer


def completion_script(parser, shell, models):
    """A bash (or zsh, through bashcompinit) completion script for `parser`: the commands,
    each command's options, and for a value or argument its choices, the registered `models`
    (a NAME), files, or nothing (a number)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    top = [o for a in parser._actions for o in a.option_strings]
    cases = []
    for name, command in sub.choices.items():
        actions = [a for a in command._actions if not isinstance(a, argparse._HelpAction)]
        options = ["--help", *(o for a in actions for o in a.option_strings)]
        case = [f'    {name}) opts="{" ".join(options)}"']
        values = [(a, _completion_words(a, models)) for a in actions
                  if a.option_strings and a.nargs != 0]
        if values:
            case.append('      case "$prev" in')
            case += [f'        {"|".join(a.option_strings)}) '
                     + (f'COMPREPLY=($(compgen {w} -- "$cur")); return;;' if w else "return;;")
                     for a, w in values]
            case.append("      esac")
        positional = [_completion_words(a, models) for a in actions if not a.option_strings]
        case.append(f'      args="{positional[0] or ""}";;' if positional else '      args="";;')
        cases.append("\n".join(case))
    lines = [
        "# cnnblocks completion (cnnblocks completion " + shell + ")",
        *(["autoload -U +X bashcompinit && bashcompinit"] if shell == "zsh" else []),
        "_cnnblocks() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" opts args',
        '  if [ "$COMP_CWORD" -eq 1 ]; then',
        f'    COMPREPLY=($(compgen -W "{" ".join(sub.choices)} {" ".join(top)}" -- "$cur"))',
        "    return",
        "  fi",
        '  case "${COMP_WORDS[1]}" in',
        *cases,
        "    *) return;;",
        "  esac",
        '  if [[ "$cur" == -* ]]; then',
        '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        '  elif [ -n "$args" ]; then',
        '    COMPREPLY=($(eval "compgen $args -- \\"\\$cur\\""))',
        "  fi",
        "}",
        "complete -o filenames -F _cnnblocks cnnblocks",
    ]
    return "\n".join(lines) + "\n"


def _cmd_completion(args):
    """`cnnblocks completion bash|zsh`: the completion script (commands, options, model
    names) of the parser that read the command line."""
    print(completion_script(args.parser, args.shell, registry.list_models()), end="")
    return 0


_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}


def _amount(text, option):
    """`400M` -> 400000000 (K, M, G; a plain number as it is)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([KMGkmg]?)\s*", text)
    if not match:
        raise ValueError(f"{option} must be LO..HI with numbers such as 400M or 2.5G; "
                         f"received {text!r}.")
    return float(match.group(1)) * _SUFFIXES[match.group(2).upper()]


def _range(text, option):
    """`LO..HI` (either end empty) -> `(lo, hi)` with None for an open end; None for None."""
    if text is None:
        return None
    if text.count("..") != 1:
        raise ValueError(f"{option} must be LO..HI, e.g. 400M..800M; received {text!r}.")
    lo, hi = text.split("..")
    return (_amount(lo, option) if lo.strip() else None,
            _amount(hi, option) if hi.strip() else None)


def _sweep_progress(done, n):
    step = max(1, n // 50)
    if done % step == 0 or done == n:
        width = 30
        filled = width * done // n
        print(f"\r[cnnblocks] sweep [{'#' * filled}{'.' * (width - filled)}] {done}/{n}",
              end="\n" if done == n else "", file=sys.stderr, flush=True)


def _design_sweep(args):
    from cnnblocks import design
    if args.space is None:
        raise ValueError("design sweep needs --space (regnet_x, regnet_y, efficientnet or "
                         "resnet).")
    if args.out is None and args.plot is None:
        raise ValueError("design sweep needs --out FILE.csv or --plot FILE.svg (or both).")
    if args.plot is not None and os.path.splitext(args.plot)[1].lower() not in (
            ".svg", ".png", ".pdf"):
        raise ValueError(f"--plot must end in .svg, .png or .pdf; received {args.plot!r}.")
    found = design.sweep(args.space, args.n, macs=_range(args.macs, "--macs"),
                         params=_range(args.params, "--params"), seed=args.seed,
                         progress=_sweep_progress)
    if found.interrupted:
        print(file=sys.stderr)
    print(f"{args.space}: {found.drawn} designs drawn, {len(found.rows)} in budget, "
          f"{len(found.front)} on the Pareto front"
          + (" (interrupted: what was computed is kept)" if found.interrupted else ""))
    rows = [(r.row, f"{r.params:,}", f"{r.macs:,}") for r in found.front]
    if rows:
        print(_table(("row", "params", "MACs"), rows, right=(0, 1, 2)))
    if args.out is not None:
        print(f"table: {found.to_csv(args.out)}")
    if args.plot is not None and found.rows:
        print(f"plot: {found.plot(args.plot)}")
    return 130 if found.interrupted else 0


def _design_build(args):
    import csv
    from cnnblocks import design
    if args.row is None or ":" not in args.row or args.output is None:
        raise ValueError("design build needs FILE.csv:ROW and -o OUT.keras, e.g. "
                         "cnnblocks design build front.csv:12 -o m.keras.")
    path, _, number = args.row.rpartition(":")
    if not os.path.isfile(path):
        raise ValueError(f"FILE.csv:ROW: no file {path!r}.")
    with open(path, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    chosen = [r for r in table if r.get("row") == number.strip()]
    if not chosen:
        raise ValueError(f"FILE.csv:ROW: {path} has no row {number!r} (rows "
                         f"{table[0]['row'] if table else '-'} to "
                         f"{table[-1]['row'] if table else '-'}).")
    point = design.design_of(chosen[0])
    model = point.build()
    model.save(args.output)
    print(f"{point.name} (row {number} of {path}): {model.count_params():,} parameters, "
          f"{analysis.count_macs(model):,} multiply-adds: {args.output}")
    return 0


def _cmd_design(args):
    """`cnnblocks design sweep --space S [-n N] [--macs LO..HI] [--params LO..HI] [--seed K]
    [--out F.csv] [--plot F.svg]` and `cnnblocks design build F.csv:ROW -o OUT.keras`."""
    return (_design_sweep if args.action == "sweep" else _design_build)(args)


#: Command name -> its function.
COMMANDS = {"list": _cmd_list, "verify": _cmd_verify, "summary": _cmd_summary,
            "table": _cmd_table, "rf": _cmd_rf, "plot": _cmd_plot, "classify": _cmd_classify,
            "convert": _cmd_convert, "export": _cmd_export, "design": _cmd_design, "completion": _cmd_completion}
