"""The `cnnblocks` command line: version and list (more commands have their own tests)."""

import subprocess
import sys

import cnnblocks
from cnnblocks import cli


def test_version_in_a_subprocess():
    result = subprocess.run([sys.executable, "-m", "cnnblocks.cli", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cnnblocks {cnnblocks.__version__}"


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("vgg16", "residual_module", "inception_module", "xception_module"):
        assert name in out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().out
