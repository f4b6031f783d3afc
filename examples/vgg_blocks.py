"""VGG blocks: one block of two 64-filter convolutions, then a stack of three blocks.

    python examples/vgg_blocks.py out/examples
"""

from _show import out_dir, show

import keras
from cnnblocks.blocks import vgg_block


def one_block():
    inputs = keras.Input((256, 256, 3))
    outputs = vgg_block(inputs, 64, 2, name="block1")
    return keras.Model(inputs, outputs, name="vgg_one_block")


def three_blocks():
    inputs = keras.Input((256, 256, 3))
    x = vgg_block(inputs, 64, 2, name="block1")
    x = vgg_block(x, 128, 2, name="block2")
    x = vgg_block(x, 256, 4, name="block3")
    return keras.Model(inputs, x, name="vgg_three_blocks")


if __name__ == "__main__":
    folder = out_dir(__doc__)
    for build in (one_block, three_blocks):
        show(build(), folder)
