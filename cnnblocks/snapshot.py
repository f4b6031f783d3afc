"""Architecture snapshots: record a model's block table once, compare it on every test run.

A snapshot is a small JSON file holding what `cnnblocks.summarize` says about a model: per block
its name, kind, arguments, output shape, parameters (total and trainable), multiply-adds and
weight depth, with the model's name, input shape and totals (optionally every layer too). The
first `assert_architecture(model, path)` writes it; every later call compares the model with
it and fails with a diff a person reads in seconds (here GoogLeNet with 96 instead of 128
filters in `inception_3a`'s 3x3 branch)::

    block `inception_3a` (inception_module): f3 128 → 96; params 163,696 → 136,016 (-27,680);
    output (28, 28, 256) → (28, 28, 224); MACs 128,049,152 → 106,373,120 (-21,676,032)

listing added, removed, renamed and moved blocks too. Accept a change on purpose by rerunning
with pytest's `--cnnblocks-update` option (the `cnnblocks` pytest plugin), or with the
environment variable `CNNBLOCKS_UPDATE_SNAPSHOTS=1` (any test runner), or by deleting the file.

The file is made for `git diff`: keys in a fixed order, one block (and one layer) per line,
integers, shapes as lists, a format version (`cnnblocks_snapshot`). This is the same workflow
as syrupy's and pytest-regressions' snapshots, for architectures.
"""

import difflib
import json
import os
import pathlib

from cnnblocks import analysis
from cnnblocks import graph as graphs

#: Version of the snapshot file format (the `cnnblocks_snapshot` key).
FORMAT = 1
#: Environment variable that makes `assert_architecture` rewrite differing snapshots.
UPDATE_ENV = "CNNBLOCKS_UPDATE_SNAPSHOTS"
#: At most this many difference lines in a failure message.
MAX_LINES = 40
#: Keys of a block row, in file order.
BLOCK_KEYS = ("name", "kind", "args", "output_shape", "params", "trainable_params", "macs",
              "depth")
#: Keys of a layer row (layer-level mode), in file order.
LAYER_KEYS = ("name", "type", "output_shape", "params")
_TOTAL_KEYS = ("params", "trainable_params", "macs", "depth", "blocks")

#: `(action, path)` of every snapshot written in this process ("created" / "updated").
written = []


def update_requested():
    """Whether snapshots should be rewritten: the environment variable
    `CNNBLOCKS_UPDATE_SNAPSHOTS` set to 1/true/yes (pytest's `--cnnblocks-update` sets it)."""
    return os.environ.get(UPDATE_ENV, "").strip().lower() in ("1", "true", "yes")


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def _layer_rows(resolved):
    rows = []
    for call in resolved.calls:
        op = call.op
        rows.append({"name": call.name, "type": type(op).__name__,
                     "output_shape": _shape(call.output_shapes[0][1:]),
                     "params": int(op.count_params()) if hasattr(op, "count_params") else 0})
    return rows


def snapshot(model, *, layers=False, input_shape=None):
    """The snapshot of a model's architecture, as a JSON-ready dict.

    Args:
        model: a functional or built Sequential `keras.Model`.
        layers: bool, whether to add one row per layer call (name, type, output shape,
            parameters) besides the block rows. Default False.
        input_shape: None or a shape without the batch dimension, as in
            `cnnblocks.summarize`. Default None.

    Returns:
        dict with `cnnblocks_snapshot` (format version), `model`, `input_shape`, `totals`,
        `blocks` (rows with `BLOCK_KEYS`) and, with `layers`, `layers` (rows with
        `LAYER_KEYS`).

    Example:
        >>> import keras
        >>> from cnnblocks import snapshot
        >>> from cnnblocks.blocks import vgg_block
        >>> inputs = keras.Input((32, 32, 3))
        >>> model = keras.Model(inputs, vgg_block(inputs, 16, 2, name="block1"), name="tiny")
        >>> snap = snapshot.snapshot(model)
        >>> snap["blocks"][0]["params"], snap["blocks"][0]["output_shape"]
        (2768, [16, 16, 16])
    """
    if not isinstance(layers, bool):
        raise TypeError(f"`layers` must be a bool, received {layers!r}.")
    resolved = graphs.resolve(model, input_shape=input_shape)
    summary = analysis.summarize(resolved)
    blocks = [{"name": r.name, "kind": r.kind, "args": dict(r.args),
               "output_shape": _shape(r.output_shape), "params": int(r.params),
               "trainable_params": int(r.trainable_params), "macs": int(r.macs),
               "depth": int(r.depth)} for r in summary]
    result = {
        "cnnblocks_snapshot": FORMAT,
        "model": summary.model_name,
        "input_shape": _shape(summary.input_shape),
        "totals": {"params": int(summary.params),
                   "trainable_params": int(summary.trainable_params),
                   "macs": int(summary.macs), "depth": int(summary.depth),
                   "blocks": len(blocks)},
        "blocks": blocks,
    }
    if layers:
        result["layers"] = _layer_rows(resolved)
    return result


def _line(row, keys):
    ordered = {k: row[k] for k in keys if k in row}
    ordered.update({k: v for k, v in row.items() if k not in ordered})
    if isinstance(ordered.get("args"), dict):
        ordered["args"] = dict(sorted(ordered["args"].items()))
    return json.dumps(ordered, ensure_ascii=False)


def dumps(snap):
    """The snapshot's file text: stable key order, one block (and one layer) per line."""
    head = [f'  "cnnblocks_snapshot": {json.dumps(snap["cnnblocks_snapshot"])},',
            f'  "model": {json.dumps(snap["model"], ensure_ascii=False)},',
            f'  "input_shape": {json.dumps(snap["input_shape"])},',
            f'  "totals": {_line(snap["totals"], _TOTAL_KEYS)},']
    sections = [("blocks", BLOCK_KEYS)] + ([("layers", LAYER_KEYS)] if "layers" in snap else [])
    body = []
    for i, (key, keys) in enumerate(sections):
        rows = [f"    {_line(row, keys)}" for row in snap[key]]
        end = "]" if i == len(sections) - 1 else "],"
        body.append(f'  "{key}": [\n' + ",\n".join(rows) + f"\n  {end}")
    return "{\n" + "\n".join(head) + "\n" + "\n".join(body) + "\n}\n"


def load(path):
    """Reads a snapshot file; ValueError (naming the file) if it is not one."""
    path = pathlib.Path(path)
    try:
        snap = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable architecture snapshot ({err}); delete it "
                         "or rewrite it with --cnnblocks-update.") from None
    if not isinstance(snap, dict) or "cnnblocks_snapshot" not in snap or not isinstance(
            snap.get("blocks"), list):
        raise ValueError(f"{path} is not a cnnblocks architecture snapshot (no "
                         "'cnnblocks_snapshot' version or 'blocks' list); delete it or rewrite "
                         "it with --cnnblocks-update.")
    return snap


# --- differences ------------------------------------------------------------------------------

def _number(value):
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else repr(value)


def _value(value):
    """An argument value as a person reads it: 96, 'same', [1, 3], None."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _shape_text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _count_change(what, old, new):
    if old == new:
        return []
    if isinstance(old, int) and isinstance(new, int):
        return [f"{what} {old:,} → {new:,} ({new - old:+,})"]
    return [f"{what} {_number(old)} → {_number(new)}"]


def _row_changes(old, new):
    """The differences of one block, in reading order: kind, arguments, parameters, output,
    multiply-adds, depth."""
    parts = []
    old_args, new_args = old.get("args") or {}, new.get("args") or {}
    if old.get("kind") != new.get("kind"):  # another block: its arguments as a whole
        parts.append(f"kind {old.get('kind')} → {new.get('kind')}")
        if old_args != new_args:
            parts.append(f"arguments {_args_text(old_args)} → {_args_text(new_args)}")
        old_args = new_args = {}
    for key in sorted(set(old_args) | set(new_args)):
        if key not in new_args:
            parts.append(f"{key} {_value(old_args[key])} → (no argument)")
        elif key not in old_args:
            parts.append(f"{key} (no argument) → {_value(new_args[key])}")
        elif old_args[key] != new_args[key]:
            parts.append(f"{key} {_value(old_args[key])} → {_value(new_args[key])}")
    parts += _count_change("params", old.get("params"), new.get("params"))
    old_frozen = (old.get("params") or 0) - (old.get("trainable_params") or 0)
    new_frozen = (new.get("params") or 0) - (new.get("trainable_params") or 0)
    if old_frozen != new_frozen:
        parts += _count_change("trainable params", old.get("trainable_params"),
                               new.get("trainable_params"))
    if old.get("output_shape") != new.get("output_shape"):
        parts.append(f"output {_shape_text(old.get('output_shape') or [])} → "
                     f"{_shape_text(new.get('output_shape') or [])}")
    parts += _count_change("MACs", old.get("macs"), new.get("macs"))
    parts += _count_change("depth", old.get("depth"), new.get("depth"))
    return parts


def _args_text(args):
    return ", ".join(f"{k} {_value(v)}" for k, v in sorted(args.items())) or "none"


def _describe(row):
    parts = [f"{k} {_value(v)}" for k, v in sorted((row.get("args") or {}).items())]
    parts.append(f"params {_number(row.get('params'))}")
    parts.append(f"output {_shape_text(row.get('output_shape') or [])}")
    return "; ".join(parts)


def _kind(row):
    return row.get("kind") or row.get("type")


def _after(names, i):
    return f"after `{names[i - 1]}`" if i else "first"


def _diff_rows(old_rows, new_rows, noun, changes, describe):
    """Lines for added, removed, renamed, moved and changed rows, matched by name."""
    old_names = [r["name"] for r in old_rows]
    new_names = [r["name"] for r in new_rows]
    old_by, new_by = dict(zip(old_names, old_rows)), dict(zip(new_names, new_rows))
    lines = []
    matcher = difflib.SequenceMatcher(a=old_names, b=new_names, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for name in new_names[j1:j2]:
                parts = changes(old_by[name], new_by[name])
                if parts:
                    lines.append(f"{noun} `{name}` ({_kind(new_by[name])}): " + "; ".join(parts))
            continue
        gone = [n for n in old_names[i1:i2] if n not in new_by]
        came = [n for n in new_names[j1:j2] if n not in old_by]
        # A removed and an added row of the same kind at the same place: a rename.
        renamed = {}
        if len(gone) == len(came):
            renamed = {a: b for a, b in zip(gone, came) if _kind(old_by[a]) == _kind(new_by[b])}
        for name in gone:
            row = old_by[name]
            kind = _kind(row)
            if name in renamed:
                new = renamed[name]
                parts = changes(row, new_by[new])
                lines.append(f"{noun} `{name}` ({kind}) renamed to `{new}`"
                             + (": " + "; ".join(parts) if parts else ""))
            else:
                lines.append(f"{noun} `{name}` ({kind}) removed (was "
                             f"{_after(old_names, old_names.index(name))}): {describe(row)}")
        for name in came:
            if name in renamed.values():
                continue
            row = new_by[name]
            lines.append(f"{noun} `{name}` ({_kind(row)}) added "
                         f"({_after(new_names, new_names.index(name))}): {describe(row)}")
        for name in new_names[j1:j2]:
            if name in old_by:  # in both lists, out of order: moved
                parts = changes(old_by[name], new_by[name])
                lines.append(f"{noun} `{name}` ({_kind(new_by[name])}) moved: now "
                             f"{_after(new_names, new_names.index(name))}, was "
                             f"{_after(old_names, old_names.index(name))}"
                             + ("; " + "; ".join(parts) if parts else ""))
    return lines


def _layer_changes(old, new):
    parts = []
    if old.get("type") != new.get("type"):
        parts.append(f"type {old.get('type')} → {new.get('type')}")
    if old.get("output_shape") != new.get("output_shape"):
        parts.append(f"output {_shape_text(old.get('output_shape') or [])} → "
                     f"{_shape_text(new.get('output_shape') or [])}")
    parts += _count_change("params", old.get("params"), new.get("params"))
    return parts


def _describe_layer(row):
    return (f"output {_shape_text(row.get('output_shape') or [])}; "
            f"params {_number(row.get('params'))}")


def diff(expected, actual):
    """The differences between two snapshots, one line each (empty if they are equal).

    Args:
        expected: the recorded snapshot (dict, as `load` returns).
        actual: the model's snapshot now (as `snapshot` returns).

    Returns:
        list of str, e.g. `"block `inception_3a` (inception_module): f3 128 → 96; params
        163,696 → 136,016 (-27,680); output (28, 28, 256) → (28, 28, 224); ..."`; block
        lines first, then
        layer lines, then the totals. The model's name is not compared (Keras numbers the
        names of unnamed models: `functional_1`); it is in the file to say what it holds.
    """
    lines = []
    if expected.get("cnnblocks_snapshot") != actual.get("cnnblocks_snapshot"):
        lines.append(f"snapshot format {expected.get('cnnblocks_snapshot')!r} → "
                     f"{actual.get('cnnblocks_snapshot')!r} (written by another cnnblocks)")
    if expected.get("input_shape") != actual.get("input_shape"):
        lines.append(f"input {_shape_text(expected.get('input_shape') or [])} → "
                     f"{_shape_text(actual.get('input_shape') or [])}")
    lines += _diff_rows(expected.get("blocks", []), actual.get("blocks", []), "block",
                        _row_changes, _describe)
    if ("layers" in expected) != ("layers" in actual):
        lines.append("layer rows: " + ("recorded in the snapshot but not asked for (pass "
                                       "layers=True, or update the snapshot)"
                                       if "layers" in expected else
                                       "asked for (layers=True) but not in the snapshot; "
                                       "update it"))
    elif "layers" in expected:
        lines += _diff_rows(expected["layers"], actual["layers"], "layer", _layer_changes,
                            _describe_layer)
    old_totals, new_totals = expected.get("totals", {}), actual.get("totals", {})
    totals = _count_change("params", old_totals.get("params"), new_totals.get("params"))
    if (old_totals.get("params", 0) - old_totals.get("trainable_params", 0)
            != new_totals.get("params", 0) - new_totals.get("trainable_params", 0)):
        totals += _count_change("trainable params", old_totals.get("trainable_params"),
                                new_totals.get("trainable_params"))
    for key, label in (("macs", "MACs"), ("depth", "depth"), ("blocks", "blocks")):
        totals += _count_change(label, old_totals.get(key), new_totals.get(key))
    if totals:
        lines.append("total: " + "; ".join(totals))
    return lines


# --- the assertion ----------------------------------------------------------------------------

def _write(path, snap, action):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(snap), encoding="utf-8")
    written.append((action, str(path)))


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"`path` must be a file path (str or os.PathLike), received {path!r}.")
    return pathlib.Path(path)


def assert_architecture(model, path, *, layers=False, input_shape=None, update=None,
                        create=True):
    """Asserts that a model's architecture equals its recorded snapshot (recording it first).

    The first call writes the model's snapshot (see `snapshot`) to `path`; later calls compare
    the model with it and raise `AssertionError` listing, per block, what changed (arguments by
    name, parameters, output shape, multiply-adds, depth) and the blocks added, removed, renamed
    or moved, then the totals. In a pytest suite, the `architecture_snapshot` fixture names the
    file after the test.

    Args:
        model: a functional or built Sequential `keras.Model`.
        path: the snapshot file (str or path), e.g. `"tests/snapshots/my_net.json"`; folders
            are created.
        layers: bool, whether to record and compare every layer too (name, type, output shape,
            parameters). Default False.
        input_shape: None or a shape without the batch dimension, as in `summarize`.
        update: None (rewrite when pytest runs with `--cnnblocks-update` or the environment
            variable `CNNBLOCKS_UPDATE_SNAPSHOTS=1` is set), True (rewrite a differing
            snapshot) or False. Default None.
        create: bool, whether a missing snapshot is written (True) or fails the assertion
            (False, for suites where every snapshot must be committed). Default True.

    Raises:
        AssertionError: the model differs from the snapshot, or (with `create=False`) there is
            no snapshot.
        TypeError / ValueError: bad arguments, a model `summarize` rejects, or a file that is
            not a snapshot.

    Example:
        >>> import os, tempfile
        >>> import keras
        >>> from cnnblocks.testing import assert_architecture
        >>> from cnnblocks.blocks import vgg_block
        >>> def build(filters):
        ...     inputs = keras.Input((32, 32, 3))
        ...     return keras.Model(inputs, vgg_block(inputs, filters, 2, name="block1"))
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> assert_architecture(build(16), path)  # records
        >>> assert_architecture(build(16), path)  # compares: equal
        >>> try:
        ...     assert_architecture(build(8), path, update=False)
        ... except AssertionError as err:
        ...     print(str(err).splitlines()[1])
          block `block1` (vgg_block): filters 16 → 8; params 2,768 → 808 (-1,960); output ...
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's
    path = _check_path(path)
    if not isinstance(create, bool):
        raise TypeError(f"`create` must be a bool, received {create!r}.")
    if update is not None and not isinstance(update, bool):
        raise TypeError(f"`update` must be None or a bool, received {update!r}.")
    snap = snapshot(model, layers=layers, input_shape=input_shape)
    update = update_requested() if update is None else update
    if not path.exists():
        if not (create or update):
            raise AssertionError(
                f"No architecture snapshot for model {snap['model']!r} at {path}: run pytest "
                "with --cnnblocks-update (or set CNNBLOCKS_UPDATE_SNAPSHOTS=1) to create it.")
        _write(path, snap, "created")
        return
    try:
        expected = load(path)
    except ValueError:
        if update:
            _write(path, snap, "updated")
            return
        raise
    lines = diff(expected, snap)
    if not lines:
        return
    if update:
        _write(path, snap, "updated")
        return
    shown = lines[:MAX_LINES]
    more = len(lines) - len(shown)
    raise AssertionError("\n".join(
        [f"Model {snap['model']!r} differs from its architecture snapshot {path} "
         "(snapshot → model):"]
        + [f"  {line}" for line in shown]
        + ([f"  ... and {more:,} more difference(s)"] if more else [])
        + ["Rerun with --cnnblocks-update (pytest) or CNNBLOCKS_UPDATE_SNAPSHOTS=1 to accept "
           "the new architecture."]))
