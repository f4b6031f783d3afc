"""`cnnblocks.design`: RegNet's quantized linear rule (`regnet_stages`), stage for stage equal to
torchvision's `BlockParams.from_init_params` on every RegNet torchvision ships and on random
draws of the paper's design space; its bad input."""

import math
import random

import pytest

from cnnblocks import design
from cnnblocks.design import regnet_stages

pytestmark = pytest.mark.backend_independent

#: torchvision's RegNet configurations: (depth, w0, wa, wm, group_width).
TORCHVISION_REGNETS = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168),
}


def _random_designs(n, seed=0):
    """`n` draws of the paper's design space (AnyNetX/RegNet ranges: d <= 64, w0 a multiple of
    8 up to 256, 0 < wa <= 256, 1.5 <= wm <= 3, g a power of two or a published group width,
    b in {1, 1/2, 1/4})."""
    rng = random.Random(seed)
    return [(rng.randint(1, 64), 8 * rng.randint(1, 32), round(rng.uniform(0.1, 256), 2),
             round(rng.uniform(1.5, 3.0), 2), rng.choice([1, 2, 4, 8, 16, 24, 32, 48, 64, 128]),
             rng.choice([1.0, 0.5, 0.25])) for _ in range(n)]


def test_regnet_y_400mf_is_the_papers():
    """RegNetY-400MF: stages 48/104/208/440 wide, 1/3/6/6 deep, group width 8 (the paper's
    Table/Figure of the RegNetY models; torchvision's num_params follows from them)."""
    stages = regnet_stages(*TORCHVISION_REGNETS["regnet_y_400mf"])
    assert stages.widths == (48, 104, 208, 440)
    assert stages.depths == (1, 3, 6, 6)
    assert stages.group_widths == (8, 8, 8, 8)
    assert stages.strides == (2, 2, 2, 2)
    assert stages.groups == (6, 13, 26, 55)
    assert list(stages) == [(48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)]
    assert len(stages) == 4 and sum(stages.depths) == 16


def test_a_group_width_wider_than_the_bottleneck_is_capped():
    """RegNetY-32GF's group width 232 equals its first stage; a narrower first stage caps it."""
    stages = regnet_stages(20, 232, 115.89, 2.53, 232)
    assert stages.widths == (232, 696, 1392, 3712) and stages.depths == (2, 5, 12, 1)
    assert stages.group_widths == (232, 232, 232, 232)
    capped = regnet_stages(4, 8, 8.0, 2.0, 64)
    assert capped.group_widths[0] == capped.widths[0] < 64
    for width, group in zip(capped.bottleneck_widths, capped.group_widths):
        assert width % group == 0


@pytest.fixture(scope="module")
def block_params():
    pytest.importorskip("torch")
    from torch_oracle import import_torchvision
    import_torchvision()
    from torchvision.models.regnet import BlockParams
    return BlockParams


def _torchvision(block_params, depth, w0, wa, wm, group_width, ratio=1.0):
    params = block_params.from_init_params(depth, w0, wa, wm, group_width,
                                           bottleneck_multiplier=ratio)
    return tuple(params.widths), tuple(params.depths), tuple(params.group_widths)


@pytest.mark.parametrize("name", sorted(TORCHVISION_REGNETS))
def test_every_torchvision_regnet(block_params, name):
    stages = regnet_stages(*TORCHVISION_REGNETS[name])
    expected = _torchvision(block_params, *TORCHVISION_REGNETS[name])
    assert (stages.widths, stages.depths, stages.group_widths) == expected


def test_random_designs_equal_torchvision(block_params):
    """500 random designs, bottleneck ratios 1, 1/2 and 1/4 included."""
    for design_args in _random_designs(500):
        stages = regnet_stages(*design_args)
        assert (stages.widths, stages.depths, stages.group_widths) == \
            _torchvision(block_params, *design_args), design_args
        assert sum(stages.depths) == design_args[0]
        for width, group in zip(stages.bottleneck_widths, stages.group_widths):
            assert width % group == 0, design_args


@pytest.mark.parametrize("kwargs, error, match", [
    ({"depth": 0}, ValueError, "`depth` must be a positive integer, received 0"),
    ({"depth": -3}, ValueError, "`depth`.*-3"),
    ({"depth": 2.5}, TypeError, "`depth`.*2.5"),
    ({"depth": design.MAX_DEPTH + 1}, ValueError, "`depth` must be at most 1,000"),
    ({"w0": 0}, ValueError, "`w0` must be a positive multiple of 8, received 0"),
    ({"w0": -48}, ValueError, "`w0`.*-48"),
    ({"w0": 44}, ValueError, "`w0` must be a positive multiple of 8, received 44"),
    ({"w0": 48.5}, ValueError, "`w0`.*48.5"),
    ({"w0": math.inf}, ValueError, "`w0`.*inf"),
    ({"w0": "48"}, TypeError, "`w0`.*'48'"),
    ({"wa": 0}, ValueError, "`wa` must be a finite number > 0, received 0"),
    ({"wa": -1.5}, ValueError, "`wa`.*-1.5"),
    ({"wa": math.nan}, ValueError, "`wa` must be a finite number > 0, received nan"),
    ({"wa": None}, TypeError, "`wa` must be a number, received None"),
    ({"wm": 1.0}, ValueError, "`wm` must be > 1.*received 1.0"),
    ({"wm": 0.5}, ValueError, "`wm`.*0.5"),
    ({"wm": math.inf}, ValueError, "`wm` must be a finite number > 0, received inf"),
    ({"group_width": 0}, ValueError, "`group_width` must be a positive integer, received 0"),
    ({"group_width": 8.0}, TypeError, "`group_width`.*8.0"),
    ({"bottleneck_ratio": 0}, ValueError, "`bottleneck_ratio` must be a finite number > 0, received 0"),
    ({"bottleneck_ratio": -0.5}, ValueError, "`bottleneck_ratio`.*-0.5"),
    ({"bottleneck_ratio": math.nan}, ValueError, "`bottleneck_ratio` must be a finite number"),
    ({"bottleneck_ratio": 0.01}, ValueError,
     "`bottleneck_ratio` 0.01 leaves a stage of width 48 with a bottleneck of 0 channels"),
    ({"depth": True}, TypeError, "`depth`.*True"),
])
def test_bad_input(kwargs, error, match):
    args = dict(zip(("depth", "w0", "wa", "wm", "group_width"),
                    TORCHVISION_REGNETS["regnet_y_400mf"]))
    with pytest.raises(error, match=match):
        regnet_stages(**{**args, **kwargs})


def test_design_imports_no_keras():
    import subprocess
    import sys
    out = subprocess.run(
        [sys.executable, "-c", "import sys, cnnblocks.design as d; d.regnet_stages(16, 48, 27.89,"
         " 2.09, 8); print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', "
         "'tensorflow', 'jax', 'torch')))"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
