"""Weight files from strangers (issue 28, "Security and data"): a crafted `.pth` cannot make the
torch-free reader (`cnnblocks.convert.read_torch_pickle`) read outside its buffers; it is
refused with a message that names the file and what is wrong.

- The crafted files are written byte by byte by `tests/torch_files.py` (no torch needed). The
  cases that reached memory before the reader checked its bounds (a tensor larger than its
  storage crashed the process with SIGSEGV, or returned bytes of unrelated memory) are read in
  a subprocess, so that a crash fails one test instead of killing pytest; the others, and the
  same ones for their messages, in this process.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnblocks import convert

import torch_files as tf_

# The reader and the checks are NumPy and h5py: the same on every backend.
pytestmark = pytest.mark.backend_independent

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def read(path):
    return convert.read_torch_pickle(str(path))


def refused(path, *words):
    """Reading `path` raises ConversionError naming the file and saying `words`."""
    with pytest.raises(convert.ConversionError) as info:
        read(path)
    text = str(info.value)
    assert repr(str(path)) in text, text
    for word in words:
        assert word in text, text
    assert "\n" not in text and len(text) < 400, text
    return text


# --- well-formed files: the reader still reads them exactly ----------------------------------

def test_handwritten_files_read_exactly(tmp_path):
    rng = np.random.RandomState(0)
    arrays = {"conv.weight": rng.normal(size=(4, 3, 3, 3)).astype("float32"),
              "half": rng.normal(size=6).astype("float16"),
              "double": rng.normal(size=(2, 3)),
              "counter": np.array(7, dtype="int64"),
              "mask": np.array([True, False, True]),
              "bytes": np.arange(5, dtype="uint8"),
              "empty": np.zeros((0, 4), "float32")}
    for writer in (tf_.zip_file, tf_.legacy_file):
        got = read(writer(tmp_path / f"{writer.__name__}.pth", *tf_.from_arrays(arrays)))
        assert list(got) == list(arrays)
        for key, value in arrays.items():
            assert got[key].dtype == value.dtype and np.array_equal(got[key], value), key


def test_views_offsets_and_broadcast_free_strides_read_exactly(tmp_path):
    data = np.arange(24, dtype="<f4")
    state = {"transposed": tf_.tensor("0", (4, 6), stride=(1, 4), numel=24),
             "sliced": tf_.tensor("0", (2, 3), stride=(6, 1), offset=7, numel=24),
             "last": tf_.tensor("0", (), stride=(), offset=23, numel=24),
             "size-1 dim, any stride": tf_.tensor("0", (1, 3), stride=(10**6, 2), numel=24)}
    got = read(tf_.zip_file(tmp_path / "views.pth", state, {"0": data.tobytes()}))
    assert np.array_equal(got["transposed"], data.reshape(6, 4).T)
    assert np.array_equal(got["sliced"], data[7:19].reshape(2, 6)[:, :3])
    assert got["last"].shape == () and got["last"] == 23
    assert np.array_equal(got["size-1 dim, any stride"], [[0, 2, 4]])


def test_a_memo_index_of_4_billion_allocates_nothing(tmp_path):
    """`LONG_BINPUT 2**32 - 1`: C's unpickler grows its memo array to that index (32 GB); the
    reader's memo is a dict."""
    memo = tf_.Raw(tf_.fragment("w") + b"r\xff\xff\xff\xff")
    pickle_bytes = b"\x80\x02}(" + memo.data + tf_.fragment(tf_.tensor("0", (2,))) + b"u."
    path = tf_.zip_file(tmp_path / "memo.pth", None, {"0": tf_._floats(2)},
                        pickle_bytes=pickle_bytes)
    assert np.array_equal(read(path)["w"], [0.0, 1.0])


# --- crafted files that reached memory: in a subprocess, which must not crash -------------------

def test_crafted_files_are_refused_without_a_crash():
    """Every case of `torch_files.CRAFTED` read in a fresh process (without torch: the reader
    is what runs without it): the process exits normally (no SIGSEGV) and each case raised a
    ConversionError that says what is wrong."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]),
               KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-X", "faulthandler", str(HERE / "torch_files.py")],
                         capture_output=True, text=True, env=env, timeout=300)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:], lines[-1:])
    assert [r["case"] for r in lines] == list(tf_.CRAFTED)
    for result in lines:
        words = tf_.CRAFTED[result["case"]][-1]
        assert result["error"] == "ConversionError", result
        assert "is not a valid PyTorch weight file" in result["message"], result
        assert words in result["message"], result


@pytest.mark.parametrize("case", list(tf_.CRAFTED))
def test_each_crafted_file_is_refused_with_what_is_wrong(tmp_path, case):
    path = tmp_path / "crafted.pth"
    words = tf_.write(case, path)
    refused(path, "is not a valid PyTorch weight file", words)


# --- the rest of the format: refused, one line each --------------------------------------------

def _nested(depth):
    inner = {}
    for _ in range(depth):
        inner = {"a": inner}
    return inner


def _float_tensor(n=4):
    return {"w": tf_.tensor("0", (n,))}, {"0": tf_._floats(n)}


MALFORMED = [
    # (id, writer, state, storages, options, words)
    ("unknown dtype", "zip", {"w": tf_.tensor("0", (2,), storage_type="ComplexFloatStorage")},
     {"0": tf_._floats(4)}, {}, "dtype torch.ComplexFloatStorage, which the reader does not"),
    ("big-endian mark", "zip", *_float_tensor(), {"byteorder": b"big"},
     "big-endian (byte order mark 'big')"),
    ("garbage byte order mark", "zip", *_float_tensor(), {"byteorder": b"middle"},
     "byte order mark is b'middle'"),
    ("legacy big-endian", "legacy", *_float_tensor(), {"little_endian": False},
     "big-endian (little_endian=False)"),
    ("legacy wrong magic", "legacy", *_float_tensor(), {"magic": 12345},
     "neither a zip archive (torch >= 1.6) nor in torch's legacy format"),
    ("storage type is a string", "zip",
     {"w": tf_.Call(tf_.Global("torch._utils", "_rebuild_tensor_v2"),
                    tf_.PersistentId(("storage", "FloatStorage", "0", "cpu", 4)), 0, (4,),
                    (1,))}, {"0": tf_._floats(4)}, {}, "has the type 'FloatStorage'"),
    ("storage key not a name", "zip",
     {"w": tf_.Call(tf_.Global("torch._utils", "_rebuild_tensor_v2"),
                    tf_.storage(7, 4), 0, (4,), (1,))}, {}, {}, "has the key 7"),
    ("tensor without a storage", "zip",
     {"w": tf_.Call(tf_.Global("torch._utils", "_rebuild_tensor_v2"), 5, 0, (1,), (1,))}, {},
     {}, "tensor 'w' has 5 where its storage should be"),
    ("tensor with too few arguments", "zip",
     {"w": tf_.Call(tf_.Global("torch._utils", "_rebuild_tensor_v2"), tf_.storage("0", 4))},
     {"0": tf_._floats(4)}, {}, "has 1 argument(s)"),
    ("parameter around a non-tensor", "zip",
     {"w": tf_.Call(tf_.Global("torch._utils", "_rebuild_parameter"), 3, False)}, {}, {},
     "a parameter holds 3, not a tensor"),
    ("pickled state set on a tensor", "zip",
     {"w": tf_.Raw(tf_.fragment(tf_.tensor("0", (4,))) + b"}b")}, {"0": tf_._floats(4)}, {},
     "sets the state of a Tensor"),
    ("out-of-band buffer of a terabyte", "zip",
     {"w": tf_.Raw(b"\x96" + (2**40).to_bytes(8, "little"))}, {}, {},
     "opcode b'\\x96', unknown or refused"),
    ("dicts nested 100 deep", "zip", {"a": _nested(100)}, {}, {}, "nest deeper than 32"),
]


@pytest.mark.parametrize("writer, state, storages, options, words", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_files_are_refused(tmp_path, writer, state, storages, options, words):
    path = tmp_path / "malformed.pth"
    (tf_.zip_file if writer == "zip" else tf_.legacy_file)(path, state, storages, **options)
    refused(path, words)


def test_damaged_and_truncated_zip_archives_are_refused(tmp_path):
    state, storages = tf_.from_arrays({"w": np.arange(4000, dtype="float32")})
    path = tf_.zip_file(tmp_path / "good.pth", state, storages)
    data = path.read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "truncated.pth", "damaged zip archive (torch's format)")
    flipped = bytearray(data)
    at = data.index(np.arange(4000, dtype="<f4")[1000:1002].tobytes())
    flipped[at] ^= 0xFF  # one byte of the tensor: the zip's CRC catches it
    (tmp_path / "flipped.pth").write_bytes(bytes(flipped))
    refused(tmp_path / "flipped.pth", "damaged zip archive", "Bad CRC-32")


def test_a_compressed_member_cannot_claim_gigabytes(tmp_path):
    """A 2**22-element storage of zeros, bzip2-compressed into a few hundred bytes: refused
    before anything is decompressed."""
    n = 2 ** 22
    path = tf_.zip_file(tmp_path / "bomb.pth", {"w": tf_.tensor("0", (n,))},
                        {"0": bytes(4 * n)}, compression=zipfile.ZIP_BZIP2)
    assert path.stat().st_size < 10_000
    refused(path, "claims to expand from")


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"PK\x03\x04" + b"\x00" * 60,
                                     bytes(range(256))],
                         ids=["empty", "zeros", "zip header only", "bytes 0-255"])
def test_files_that_are_no_pytorch_files(tmp_path, content):
    path = tmp_path / "nothing.pth"
    path.write_bytes(content)
    with pytest.raises(convert.ConversionError) as info:
        read(path)
    assert repr(str(path)) in str(info.value) and "\n" not in str(info.value)
