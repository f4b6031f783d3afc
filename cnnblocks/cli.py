"""The `cnnblocks` command line: the commands' implementations.

The console script is `cnnblocks_cli.main` (a module beside the package), which parses the
arguments and answers `--help`, `--version` and `list` without importing Keras; the other
commands run the `_cmd_*` functions here. `main` and `build_parser` are re-exported, so
`cnnblocks.cli.main(["verify", "resnet50"])` runs a command in-process.
"""

import os
import sys

import cnnblocks
from cnnblocks_cli import build_parser, main  # noqa: F401  (the entry point and its parser)


def _progress(message):
    print(f"[cnnblocks] {message}", file=sys.stderr, flush=True)


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
    from cnnblocks import registry
    return registry.create_model(name, weights=None, **kwargs)


def _reference(name):
    """The published `Reference` of a model (any spelling), or None."""
    from cnnblocks import registry
    return registry.entry(name).reference


def _cmd_verify(args):
    import time

    import keras

    from cnnblocks import analysis, registry
    try:
        names = [registry.entry(n).name for n in args.names] or registry.list_models()
    except (TypeError, ValueError) as err:
        print(f"cnnblocks verify: {err}", file=sys.stderr)
        return 2
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
        ref = registry.entry(name).reference
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


def _build_or_exit(args):
    kwargs = {} if args.input_shape is None else {"input_shape": args.input_shape}
    try:
        from cnnblocks import registry
        name = registry.entry(args.name).name
        _progress(f"building {name} ...")
        return _build(name, **kwargs)
    except (TypeError, ValueError) as err:
        print(f"cnnblocks {args.command}: {err}", file=sys.stderr)
        return None


def _cmd_summary(args):
    from cnnblocks import _graph, analysis
    model = _build_or_exit(args)
    if model is None:
        return 2
    rows = []
    for call in _graph.trace(_graph.functional_graph(model)):
        params = call.op.count_params() if hasattr(call.op, "count_params") else 0
        shapes = ", ".join(analysis.format_shape(s) for s in call.output_shapes)
        rows.append((call.op.name, type(call.op).__name__, shapes, f"{params:,}",
                     f"{analysis.call_macs(call):,}"))
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
                note = " (paper erratum)" if row.erratum else ""
                cells += [fmt(figure.value), fmt(value),
                          f"{mark} {figure.deviation(value):+.1%}{note}"]
        rows.append((row.label, row.output or "", output, *cells))
    header = ("paper row", "paper output", "our output", "paper params", "our params", "dev",
              "paper MACs", "our MACs", "dev")
    return _table(header, rows, right=(3, 4, 5, 6, 7, 8))


def _cmd_table(args):
    from cnnblocks import analysis
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
    summary = analysis.summarize(model)
    print(summary.to_text())
    if ref is not None and ref.table:
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


def _cmd_rf(args):
    """`cnnblocks rf NAME|FILE.keras`: receptive fields per block (or per layer)."""
    import keras

    from cnnblocks import registry
    from cnnblocks.receptive import receptive_field
    source = args.model
    input_shape = args.input_shape
    try:
        if source.endswith(".keras"):
            # cnnblocks is imported: its registered classes load with safe_mode=True.
            model = keras.models.load_model(source, compile=False, safe_mode=True)
        else:
            registry.entry(source, "NAME")
            model = _build(source, **({} if input_shape is None else
                                      {"input_shape": input_shape}))
            input_shape = None
        fields = receptive_field(model, input_shape=input_shape)
    except (TypeError, ValueError, OSError) as err:
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


if __name__ == "__main__":
    sys.exit(main())
