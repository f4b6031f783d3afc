"""The naive Inception module: parallel 1x1 (64), 3x3 (128), 5x5 (32) and 3x3 max pool.

    python examples/naive_inception.py out/examples
"""

from _show import out_dir, show

import keras
from cnnblocks.blocks import naive_inception_module


def naive_module():
    inputs = keras.Input((256, 256, 3))
    outputs = naive_inception_module(inputs, 64, 128, 32, name="naive")
    return keras.Model(inputs, outputs, name="naive_inception")


if __name__ == "__main__":
    show(naive_module(), out_dir(__doc__))
