"""Packaging for cnnblocks (metadata lives here; pyproject.toml declares the build backend)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^__version__ = "([^"]+)"',
                    (HERE / "cnnblocks" / "__init__.py").read_text(), re.M).group(1)

setup(
    name="cnnblocks",
    version=VERSION,
    description="The milestone CNN building blocks and architectures on the Keras 3 functional "
                "API, exactly equal to the papers and to keras.applications.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",  # SPDX expression (no license classifier: setuptools >= 77)
    license_files=["LICENSE"],
    python_requires=">=3.10",
    packages=find_packages(include=["cnnblocks", "cnnblocks.*"]),
    # The pytest plugin, beside the package: pytest loads it without importing cnnblocks.
    py_modules=["cnnblocks_pytest"],
    package_data={"cnnblocks": ["data/*.json", "py.typed"]},  # py.typed: PEP 561
    install_requires=[
        "keras>=3.8,<4",
        "numpy>=1.26",
        "pydot>=3.0.2",
        "pillow>=10",
        "h5py>=3.10",
    ],
    extras_require={
        "tf": ["tensorflow>=2.18"],
        "tf-cpu": ["tensorflow-cpu>=2.18"],
        # The other Keras backends (KERAS_BACKEND=jax / torch). JAX's CPU build; for torch,
        # install a CPU build first (dev.sh: torch==2.13.0, on disk on the project's machines)
        # or pip takes PyPI's CUDA build (several GB, also runs on the CPU). torch also brings
        # the oracles of tests/test_convert.py (torchvision, timm) and `.safetensors` reading
        # (a `.pth` needs nothing: cnnblocks has a restricted reader).
        "jax": ["jax[cpu]>=0.4.30"],
        # `cnnblocks design sweep --plot` and `cnnblocks.design.Sweep.plot`
        "design": ["matplotlib>=3.7"],
        # `cnnblocks.export` / `cnnblocks export`: the ONNX converter and the runtimes that read
        # each format back (ONNX, LiteRT, OpenVINO; a SavedModel is read by TensorFlow)
        "export": ["onnx>=1.16", "onnxruntime>=1.18", "tf2onnx>=1.16", "ai-edge-litert>=1.2",
                   "openvino>=2024.4"],
        "torch": [
            "torch>=2.1",
            "torchvision>=0.16",
            "timm>=1.0",
            "safetensors>=0.4",
            "scikit-image>=0.22",
        ],
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",  # tests/test_fuzz_blocks.py, tests/test_fuzz_builders.py
            "scikit-learn>=1.4",
            "sphinx>=7.2",
            "myst-parser>=3",
            "furo>=2024.1",  # the documentation's theme
            "build>=1.0",    # tests/test_wheel.py builds the wheel
            "matplotlib>=3.7",  # tests/test_design_sweep.py draws a sweep
            # tests/test_export.py writes and reads back every format (the export extra)
            "onnx>=1.16", "onnxruntime>=1.18", "tf2onnx>=1.16", "ai-edge-litert>=1.2",
            "openvino>=2024.4",
        ],
    },
    entry_points={"console_scripts": ["cnnblocks=cnnblocks.cli:main"],
                  # a module beside the package: pytest loads it without importing Keras
                  "pytest11": ["cnnblocks = cnnblocks_pytest"]},
    keywords=["keras", "cnn", "deep learning", "inception", "resnet", "vgg", "xception",
              "googlenet", "squeezenet", "mobilenet", "efficientnet", "densenet",
              "model diagrams", "receptive field"],
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Developers",
        "Intended Audience :: Education",
        "Intended Audience :: Science/Research",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Image Recognition",
        "Topic :: Scientific/Engineering :: Visualization",
    ],
)
