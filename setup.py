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
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["cnnblocks", "cnnblocks.*"]),
    install_requires=[
        "keras>=3.8",
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
        # or pip takes PyPI's CUDA build (several GB, also runs on the CPU).
        "jax": ["jax[cpu]>=0.4.30"],
        "torch": ["torch>=2.1"],
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "scikit-learn>=1.4",
            "sphinx>=7.2",
            "myst-parser>=3",
        ],
    },
    entry_points={"console_scripts": ["cnnblocks=cnnblocks.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
