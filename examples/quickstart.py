"""The quickstart of the README and the documentation's front page: a small CNN of three blocks,
its per-block summary, and its diagram (`quick.svg`) with each block drawn as its paper draws it.

    python examples/quickstart.py
"""
import keras
import cnnblocks
from cnnblocks.blocks import inception_module, residual_module, vgg_block

inputs = keras.Input((64, 64, 3))
x = vgg_block(inputs, 32, 2, name="block1")             # two 3x3 convs, 2x2 pool
x = inception_module(x, 32, 48, 64, 8, 16, 16, name="inception")  # Table 1 columns
x = residual_module(x, 128, strides=2, name="residual")  # projection shortcut
model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="quick")
print(cnnblocks.summarize(model))                       # one row per block
cnnblocks.plot(model, "quick.svg", level="module")      # as the papers draw them
