"""Bounds on the builders' scaling arguments (issue 28): `classes`, `alpha` and
`depth_multiplier` far beyond any published model (`classes=99999999999`, also through
`cnnblocks convert --classes`) ran into TensorFlow's out-of-memory error; now each is refused
above its bound, stated once in `cnnblocks._validation` (`MAX_CLASSES`, `MAX_ALPHA`,
`MAX_DEPTH_MULTIPLIER`), with one line naming the argument, the bound and the value. And
EfficientNet's scaling helpers refuse coefficients that are not finite and > 0
(`round_repeats(3, -1)` was -3 blocks).

Every refusal happens before anything is built: the builders are called with
`common.model_input` replaced by a function that raises `Built` (as in
tests/test_fuzz_builders.py), so an accepted value at the bound costs nothing either.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnnblocks
from cnnblocks import _validation as check
from cnnblocks import convert, registry
from cnnblocks.architectures import common, efficientnet

pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]


class Built(Exception):
    """The builder accepted its arguments and started building."""


def _refuse_to_build(*args, **kwargs):
    raise Built


def outcome(builder, **kwargs):
    """The message of the error `builder(**kwargs)` raises before building, or "built"."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "model_input", _refuse_to_build)
        try:
            builder(weights=None, **kwargs)
        except Built:
            return "built"
        except (ValueError, TypeError) as exc:
            return str(exc)
    raise AssertionError("the builder returned without building")


BOUNDS = [
    # (argument, bound, over it, its message, builders that take it)
    ("classes", check.MAX_CLASSES, 99_999_999_999,
     "`classes` must be at most 1,000,000 (above every public label set); received "
     "99999999999.", registry.list_models()),
    ("alpha", check.MAX_ALPHA, 1e9,
     "`alpha` must be at most 10 (published widths are 0.25 to 1.4); received 1000000000.0.",
     ["mobilenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]),
    ("depth_multiplier", check.MAX_DEPTH_MULTIPLIER, 10**6,
     "`depth_multiplier` must be at most 64 (the published models use 1); received 1000000.",
     ["mobilenet"]),
]
CASES = [(arg, bound, over, message, model) for arg, bound, over, message, models in BOUNDS
         for model in models]


def test_the_bounds():
    assert (check.MAX_CLASSES, check.MAX_ALPHA, check.MAX_DEPTH_MULTIPLIER) == (
        1_000_000, 10.0, 64)


@pytest.mark.parametrize("arg, bound, over, message, model", CASES,
                         ids=[f"{c[4]}-{c[0]}" for c in CASES])
def test_above_the_bound_is_refused_at_the_bound_is_built(arg, bound, over, message, model):
    builder = registry.entry(model).builder
    assert outcome(builder, **{arg: over}) == message
    assert outcome(builder, **{arg: bound + (1 if isinstance(bound, int) else 1e-9)}).startswith(
        f"`{arg}` must be at most")
    assert outcome(builder, **{arg: bound}) == "built"


@pytest.mark.parametrize("arg, model", [("classes", "resnet18"), ("alpha", "mobilenet_v2"),
                                        ("depth_multiplier", "mobilenet")])
def test_the_bound_is_read_from_one_place(monkeypatch, arg, model):
    """Lowering the constant in `cnnblocks._validation` lowers what the builders take."""
    name = {"classes": "MAX_CLASSES", "alpha": "MAX_ALPHA",
            "depth_multiplier": "MAX_DEPTH_MULTIPLIER"}[arg]
    monkeypatch.setattr(check, name, 2)
    text = outcome(registry.entry(model).builder, **{arg: 3})
    assert text.startswith(f"`{arg}` must be at most 2 ("), text
    assert outcome(registry.entry(model).builder, **{arg: 2}) == "built"


def test_create_model_passes_the_bound_on():
    with pytest.raises(ValueError, match=r"^`classes` must be at most 1,000,000"):
        cnnblocks.create_model("resnet18", classes=10**7)


def test_with_imagenet_weights_the_published_values_still_come_first():
    with pytest.raises(ValueError, match=r"^With `weights='imagenet'`, `alpha` must be one of"):
        cnnblocks.MobileNet(alpha=2.0)


def test_convert_file_refuses_classes_before_reading_the_file(tmp_path):
    """The file does not exist: the bound is checked first (FileNotFoundError otherwise)."""
    with pytest.raises(ValueError, match=r"^`classes` must be at most 1,000,000 \(above every "
                                         r"public label set\); received 99999999999\.$"):
        convert.convert_file("resnet18", tmp_path / "missing.pth",
                             tmp_path / "out.weights.h5", classes=99_999_999_999)
    with pytest.raises(ValueError, match=r"^`classes` must be a positive integer"):
        convert.convert_file("resnet18", tmp_path / "missing.pth",
                             tmp_path / "out.weights.h5", classes=0)


def test_cli_convert_prints_the_one_line_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                  "")]),
               TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-m", "cnnblocks", "convert", "resnet18",
                          str(tmp_path / "missing.pth"), "-o", str(tmp_path / "o.weights.h5"),
                          "--classes", "99999999999"],
                         capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("cnnblocks")]
    assert lines == ["cnnblocks convert: `classes` must be at most 1,000,000 (above every "
                     "public label set); received 99999999999."], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and run.stdout == ""


# --- EfficientNet's scaling helpers ------------------------------------------------------------

def test_scaling_helpers_keep_keras_applications_numbers():
    # B3: width 1.2, depth 1.4 (EFFICIENTNET_SCALING); keras.applications' round_filters and
    # round_repeats give these
    assert [efficientnet.round_filters(c, 1.2) for c in (32, 16, 24, 1280)] == [40, 24, 32, 1536]
    assert [efficientnet.round_repeats(r, 1.4) for r in (1, 2, 3, 4)] == [2, 3, 5, 6]
    assert efficientnet.round_repeats(3, 1.0) == 3 and efficientnet.round_filters(32, 1.0) == 32


@pytest.mark.parametrize("coefficient", [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("helper, arg", [(efficientnet.round_repeats, "depth"),
                                         (efficientnet.round_filters, "width")])
def test_scaling_helpers_refuse_coefficients_not_finite_and_positive(helper, arg, coefficient):
    with pytest.raises(ValueError) as info:
        helper(3, coefficient)
    assert str(info.value) == (f"`{arg}` must be a finite number > 0, received "
                               f"{coefficient!r}.")


@pytest.mark.parametrize("helper, args, arg, error", [
    (efficientnet.round_repeats, (3, "1.4"), "depth", TypeError),
    (efficientnet.round_repeats, (3, True), "depth", TypeError),
    (efficientnet.round_repeats, (0, 1.4), "repeats", ValueError),
    (efficientnet.round_repeats, (2.5, 1.4), "repeats", TypeError),
    (efficientnet.round_filters, (32, None), "width", TypeError),
    (efficientnet.round_filters, (-8, 1.2), "filters", ValueError),
], ids=["depth-str", "depth-bool", "repeats-0", "repeats-float", "width-None", "filters-neg"])
def test_scaling_helpers_refuse_other_bad_arguments(helper, args, arg, error):
    with pytest.raises(error, match=rf"^`{arg}` must be"):
        helper(*args)
