"""The plain residual module (no batch norm), 64 filters on a 3-channel image: the shortcut
becomes a 1x1 projection because the channel counts differ.

    python examples/residual_module.py out/examples
"""

from _show import out_dir, show

import keras
from cnnblocks.blocks import residual_module


def plain_residual():
    inputs = keras.Input((256, 256, 3))
    outputs = residual_module(inputs, 64, batch_norm=False, name="res")
    return keras.Model(inputs, outputs, name="plain_residual")


if __name__ == "__main__":
    show(plain_residual(), out_dir(__doc__))
