"""Architecture snapshots: record a model's block table once, compare it on every test run.

A snapshot is a small JSON file holding what `cnnblocks.summarize` says about a model: per block
its name, kind, arguments, its layers' settings (activations, kernel sizes, strides, dilation,
padding, groups), output shape, parameters (total and trainable), multiply-adds, weight depth
and a fingerprint of the rest of its layers' configuration and wiring, with the model's name,
input shape and totals (optionally every layer too). The
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
import functools
import hashlib
import inspect
import json
import os
import pathlib
import re
import tempfile

import keras

from cnnblocks import analysis
from cnnblocks import graph as graphs

#: Version of the snapshot file format (the `cnnblocks_snapshot` key). 2: block rows have
#: `settings` and `fingerprint`; the model's name is compared.
FORMAT = 2
#: Environment variable that makes `assert_architecture` rewrite differing snapshots.
UPDATE_ENV = "CNNBLOCKS_UPDATE_SNAPSHOTS"
#: At most this many difference lines in a failure message.
MAX_LINES = 40
#: Keys of a block row, in file order.
BLOCK_KEYS = ("name", "kind", "args", "settings", "output_shape", "params", "trainable_params",
              "macs", "depth", "fingerprint")
#: Layer settings a block row lists readably (`settings`): each key's distinct values over
#: the block's layers. Everything else that changes a layer's computation changes the row's
#: `fingerprint`.
SETTINGS = ("activation", "kernel_size", "strides", "dilation_rate", "padding", "groups",
            "depth_multiplier", "pool_size")
#: Layer-config keys that do not change what a layer computes from its weights: naming,
#: dtype policy, trainability, and how weights are initialized, regularized or constrained.
_IGNORED_CONFIG = ("name", "dtype", "trainable", "seed", "cnnblocks_blocks", "cnnblocks_model")
_IGNORED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
#: Activation layers whose type is their activation.
_ACTIVATION_LAYERS = ("ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")
#: Names Keras gives unnamed models (`functional_3`): numbered as a session goes on.
_AUTO_NAME = re.compile(r"(functional|sequential|model)(_\d+)?")
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


def _plain(value):
    """A config value as JSON data: tuples as lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


@functools.lru_cache(maxsize=None)
def _defaults(cls):
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: _plain(p.default) for p in parameters
            if p.default is not inspect.Parameter.empty}


def _same(value, default):
    """Whether a config value is its constructor default (`(1, 1)` is `strides=1`)."""
    if value == default:
        return True
    return (isinstance(value, list) and isinstance(default, int) and not isinstance(default, bool)
            and bool(value) and all(v == default for v in value))


def _config(op):
    """What defines the computation of a layer or operation besides its weights: its config
    without names, dtype, initializers, regularizers, constraints, and without the values
    equal to its constructor's defaults (so a Keras release that adds an argument with a
    default does not change snapshots)."""
    if isinstance(op, keras.Model):
        return {}
    try:
        config = op.get_config()
    except (NotImplementedError, AttributeError, TypeError):
        return {}
    defaults = _defaults(type(op))
    result = {}
    for key, value in config.items():
        if key in _IGNORED_CONFIG or key.endswith(_IGNORED_SUFFIXES):
            continue
        value = _plain(value)
        if key in defaults and _same(value, defaults[key]):
            continue
        result[key] = value
    return result


def _setting(key, value):
    if key in ("kernel_size", "strides", "dilation_rate", "pool_size") and isinstance(
            value, list) and value and all(v == value[0] for v in value):
        return value[0]  # square: 3, not [3, 3]
    return value


def _settings(calls):
    """Per `SETTINGS` key, the distinct values the block's layers use (one value, or a sorted
    list of several), from their full configs (defaults included)."""
    found = {}
    for call in calls:
        if not call.is_layer or call.is_input or isinstance(call.op, keras.Model):
            continue
        try:
            config = call.op.get_config()
        except (NotImplementedError, AttributeError, TypeError):
            continue
        if type(call.op).__name__ in _ACTIVATION_LAYERS:
            config = dict(config, activation=type(call.op).__name__.lower())
        for key in SETTINGS:
            value = config.get(key)
            if value is None or (key == "activation" and value == "linear"):
                continue
            value = _setting(key, _plain(value))
            found.setdefault(key, {})[json.dumps(value, sort_keys=True)] = value
    return {key: (list(values.values())[0] if len(values) == 1
                  else [values[k] for k in sorted(values)])
            for key, values in sorted(found.items())}


def _fingerprint(resolved, block, place):
    """A short hash of what the block computes: its calls' types and configs (`_config`) and
    its wiring (each input as a position in this block, a block name and position there, or
    the model input's position; not layer names, which Keras numbers for unnamed layers)."""
    own = {i: n for n, i in enumerate(block.calls)}
    rows = []
    for i in block.calls:
        call = resolved.calls[i]
        reads = [["", own[p]] if p in own else list(place.get(p, ("?", resolved.calls[p].name)))
                 for p in call.parents]
        rows.append([type(call.op).__name__, _config(call.op), reads])
    text = json.dumps(rows, sort_keys=True, default=repr, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


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
        `blocks` (rows with `BLOCK_KEYS`: `settings` holds the distinct values of each
        `SETTINGS` key over the block's layers, `fingerprint` a hash of its layers' types,
        configurations and wiring) and, with `layers`, `layers` (rows with `LAYER_KEYS`).

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
    found = resolved.blocks
    place = {i: (b.name, n) for b in found for n, i in enumerate(b.calls)}
    place.update({i: ("input", n) for n, i in enumerate(resolved.input_calls)})
    blocks = [{"name": r.name, "kind": r.kind, "args": dict(r.args),
               "settings": _settings([resolved.calls[i] for i in b.calls]),
               "output_shape": _shape(r.output_shape), "params": int(r.params),
               "trainable_params": int(r.trainable_params), "macs": int(r.macs),
               "depth": int(r.depth), "fingerprint": _fingerprint(resolved, b, place)}
              for r, b in zip(summary, found)]
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
    if "settings" in old and "settings" in new:  # not in format-1 files
        old_set, new_set = old.get("settings") or {}, new.get("settings") or {}
        for key in sorted(set(old_set) | set(new_set)):
            if old_set.get(key) != new_set.get(key):
                parts.append(f"{key} {_setting_text(old_set, key)} → "
                             f"{_setting_text(new_set, key)}")
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
    if (not parts and "fingerprint" in old and "fingerprint" in new
            and old["fingerprint"] != new["fingerprint"]):
        parts.append(f"layers changed (a layer's type, setting or wiring; fingerprint "
                     f"{old['fingerprint']} → {new['fingerprint']}; layers=True lists the "
                     "layers)")
    return parts


def _setting_text(settings, key):
    return _value(settings[key]) if key in settings else "(none)"


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
        layer lines, then the totals. The model's name is compared, except between two names
        Keras gives unnamed models (`functional`, `functional_1`: numbered as a session goes
        on).
    """
    lines = []
    if expected.get("cnnblocks_snapshot") != actual.get("cnnblocks_snapshot"):
        lines.append(f"snapshot format {expected.get('cnnblocks_snapshot')!r} → "
                     f"{actual.get('cnnblocks_snapshot')!r} (written by another cnnblocks; "
                     "rewrite it with --cnnblocks-update)")
    old_name, new_name = expected.get("model"), actual.get("model")
    if old_name != new_name and not (isinstance(old_name, str) and isinstance(new_name, str)
                                     and _AUTO_NAME.fullmatch(old_name)
                                     and _AUTO_NAME.fullmatch(new_name)):
        lines.append(f"model name {old_name!r} → {new_name!r}")
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
    """Writes the file atomically: a temporary file in the same folder, then `os.replace`, so
    an interrupted run or a parallel reader never sees half a snapshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(dumps(snap))
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
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
