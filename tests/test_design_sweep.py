"""`cnnblocks.design.sweep` and `cnnblocks design sweep|build`: seeded draws of a design space,
costed without building, the budgets, the Pareto front, the table, the plot, Ctrl-C, a row
built back into the model its row describes, and the bad-input messages.

Counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import csv

import pytest

import keras

import cnnblocks
from cnnblocks import cli, design

pytestmark = pytest.mark.backend_independent


def test_one_seed_one_sweep_and_the_budgets():
    first = design.sweep("regnet_y", 60, macs=(400e6, 800e6), seed=3)
    again = design.sweep("regnet_y", 60, macs=(400e6, 800e6), seed=3)
    assert first.drawn == 60 and not first.interrupted
    assert [(r.params, r.macs) for r in first.rows] == [(r.params, r.macs) for r in again.rows]
    assert first.rows and all(400e6 <= r.macs <= 800e6 for r in first.rows)
    everything = design.sweep("regnet_y", 60, seed=3)
    assert len(everything.rows) == 60 > len(first.rows)
    small = design.sweep("resnet", 40, params=(None, 20e6), seed=1)
    assert small.rows and all(r.params <= 20e6 for r in small.rows)


def test_the_front_is_the_undominated_rows():
    found = design.sweep("regnet_x", 80, seed=5)
    front = set(id(r) for r in found.front)
    for r in found.rows:
        dominated = any(o.macs <= r.macs and o.params <= r.params
                        and (o.macs, o.params) != (r.macs, r.params) for o in found.rows)
        assert (id(r) in front) == (not dominated)


@pytest.mark.parametrize("space", sorted(design.SPACES))
def test_a_row_is_its_design(space):
    """The estimate of a row equals the built model of its design (the RegNet Y row also
    through its CSV line)."""
    found = design.sweep(space, 6, seed=2)
    row = min(found.rows, key=lambda r: r.params)
    point = design.design_of(row)
    model = point.build(weights=None)
    assert (model.count_params(), cnnblocks.count_macs(model)) == (row.params, row.macs)
    keras.backend.clear_session()


def test_ctrl_c_keeps_what_was_computed():
    def progress(done, n):
        if done == 7:
            raise KeyboardInterrupt
    found = design.sweep("efficientnet", 50, seed=0, progress=progress)
    assert found.interrupted and found.drawn == 7 and len(found.rows) == 7


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(space="regnet_z", n=5), ValueError, "`space`"),
    (dict(space="regnet_y", n=0), ValueError, "`n`"),
    (dict(space="regnet_y", n=5, macs=(8e8, 4e8)), ValueError, "`macs`"),
    (dict(space="regnet_y", n=5, params=(-1, 4e8)), ValueError, "`params`"),
    (dict(space="regnet_y", n=5, macs=(1, float("nan"))), ValueError, "`macs`"),
    (dict(space="regnet_y", n=5, macs=400e6), ValueError, "`macs`"),
    (dict(space="regnet_y", n=5, seed="x"), TypeError, "`seed`"),
])
def test_bad_input_is_named(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        design.sweep(**kwargs)
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


def test_the_command_sweeps_plots_and_builds(tmp_path, capsys):
    table, figure, built = tmp_path / "front.csv", tmp_path / "front.svg", tmp_path / "m.keras"
    status = cli.main(["design", "sweep", "--space", "regnet_y", "--macs", "400M..800M",
                       "-n", "120", "--out", str(table), "--plot", str(figure)])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "120 designs drawn" in out.out and "120/120" in out.err
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == list(design.COLUMNS)
    assert all(4e8 <= int(r["macs"]) <= 8e8 for r in rows)
    svg = figure.read_text()
    assert svg.startswith("<?xml") and "Pareto front" in svg and "regnet_y_400mf" in svg
    chosen = next(r for r in rows if r["front"] == "True")
    assert cli.main(["design", "build", f"{table}:{chosen['row']}", "-o", str(built)]) == 0
    model = keras.saving.load_model(built)
    assert model.count_params() == int(chosen["params"])
    assert cnnblocks.count_macs(model) == int(chosen["macs"])
    keras.backend.clear_session()


@pytest.mark.parametrize("argv, match", [
    (["design", "sweep", "--out", "x.csv"], "needs --space"),
    (["design", "sweep", "--space", "resnet"], "needs --out"),
    (["design", "sweep", "--space", "resnet", "--out", "x.csv", "--macs", "8G..1G"],
     "lo is above hi"),
    (["design", "sweep", "--space", "resnet", "--out", "x.csv", "--macs", "lots"], "LO..HI"),
    (["design", "sweep", "--space", "resnet", "--plot", "x.gif"], "--plot"),
    (["design", "build", "nothing.csv:3", "-o", "m.keras"], "no file"),
    (["design", "build", "-o", "m.keras"], "FILE.csv:ROW"),
])
def test_bad_commands_say_why(argv, match, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_cli_spaces_are_the_library_s():
    assert cli.DESIGN_SPACES == tuple(design.SPACES)
