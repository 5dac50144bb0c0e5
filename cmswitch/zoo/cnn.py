"""Convolutional networks of the model zoo, with torchvision's exact shapes.

Batch normalisation is folded into the preceding convolution (so every conv
carries a bias and there is no BN op); dropout is omitted (inference). Labels
follow torchvision's parameter names where that reads well (``layer1.0.conv1``,
``features.3.dw``, ``classifier.0``). Weights are declared without data.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import SSAValue

from cmswitch.builder import GraphBuilder
from cmswitch.dialects.cim import (
    Conv2dOp,
    ElementwiseFn,
    ElementwiseOp,
    LinearOp,
    PoolKind,
    PoolOp,
    ReshapeOp,
    shape_of,
)


class _Net:
    """Small helpers over a GraphBuilder for NCHW conv nets."""

    def __init__(self, b: GraphBuilder):
        self.b = b

    def conv(
        self,
        x: SSAValue,
        name: str,
        out_ch: int,
        kernel: int,
        stride: int = 1,
        pad: int | None = None,
        group: int = 1,
    ) -> SSAValue:
        in_ch = shape_of(x)[1]
        pad = kernel // 2 if pad is None else pad
        w = self.b.weight(f"{name}.weight", (out_ch, in_ch // group, kernel, kernel))
        bias = self.b.weight(f"{name}.bias", (out_ch,))
        op = Conv2dOp(x, w, bias, strides=(stride, stride), pads=(pad, pad, pad, pad), group=group)
        return self.b.add(op, label=name)

    def relu(self, x: SSAValue) -> SSAValue:
        return self.b.add(ElementwiseOp(ElementwiseFn.RELU, [x]))

    def relu6(self, x: SSAValue) -> SSAValue:
        return self.b.add(ElementwiseOp(ElementwiseFn.CLIP, [x], alpha=0.0, beta=6.0))

    def add(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.b.add(ElementwiseOp(ElementwiseFn.ADD, [x, y]))

    def maxpool(self, x: SSAValue, kernel: int, stride: int, pad: int = 0) -> SSAValue:
        return self.b.add(
            PoolOp(PoolKind.MAX, x, (kernel, kernel), (stride, stride), (pad, pad, pad, pad))
        )

    def global_avgpool_flat(self, x: SSAValue) -> SSAValue:
        n, c, h, w = shape_of(x)
        y = self.b.add(PoolOp(PoolKind.AVG, x, (h, w), (1, 1)))
        return self.b.add(ReshapeOp(y, (n, c)))

    def fc(self, x: SSAValue, name: str, out: int) -> SSAValue:
        w = self.b.weight(f"{name}.weight", (shape_of(x)[-1], out))
        bias = self.b.weight(f"{name}.bias", (out,))
        return self.b.add(LinearOp(x, w, bias), label=name)


# ------------------------------------------------------------------ ResNet


def _basic_block(net: _Net, x: SSAValue, name: str, width: int, stride: int) -> SSAValue:
    y = net.relu(net.conv(x, f"{name}.conv1", width, 3, stride))
    y = net.conv(y, f"{name}.conv2", width, 3)
    skip = x
    if stride != 1 or shape_of(x)[1] != width:
        skip = net.conv(x, f"{name}.downsample.0", width, 1, stride, pad=0)
    return net.relu(net.add(y, skip))


def _bottleneck(net: _Net, x: SSAValue, name: str, width: int, stride: int) -> SSAValue:
    # torchvision ResNet v1.5: the stride sits on the 3x3 conv.
    out = width * 4
    y = net.relu(net.conv(x, f"{name}.conv1", width, 1, pad=0))
    y = net.relu(net.conv(y, f"{name}.conv2", width, 3, stride))
    y = net.conv(y, f"{name}.conv3", out, 1, pad=0)
    skip = x
    if stride != 1 or shape_of(x)[1] != out:
        skip = net.conv(x, f"{name}.downsample.0", out, 1, stride, pad=0)
    return net.relu(net.add(y, skip))


def _resnet(b: GraphBuilder, batch: int, blocks: tuple[int, ...], bottleneck: bool) -> None:
    net = _Net(b)
    x = b.input("input", (batch, 3, 224, 224))
    y = net.relu(net.conv(x, "conv1", 64, 7, 2, pad=3))
    y = net.maxpool(y, 3, 2, 1)
    block = _bottleneck if bottleneck else _basic_block
    for stage, count in enumerate(blocks):
        width = 64 << stage
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            y = block(net, y, f"layer{stage + 1}.{i}", width, stride)
    b.output(net.fc(net.global_avgpool_flat(y), "fc", 1000), names=["logits"])


def resnet18(b: GraphBuilder, batch: int) -> None:
    _resnet(b, batch, (2, 2, 2, 2), bottleneck=False)


def resnet50(b: GraphBuilder, batch: int) -> None:
    _resnet(b, batch, (3, 4, 6, 3), bottleneck=True)


# ------------------------------------------------------------------ VGG16

_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M")  # fmt: skip


def vgg16(b: GraphBuilder, batch: int) -> None:
    net = _Net(b)
    y = b.input("input", (batch, 3, 224, 224))
    index = 0  # torchvision's `features.<index>` numbering (conv, relu, pool)
    for item in _VGG16:
        if item == "M":
            y = net.maxpool(y, 2, 2)
            index += 1
            continue
        y = net.relu(net.conv(y, f"features.{index}", int(item), 3))
        index += 2
    # AdaptiveAvgPool2d((7, 7)) is the identity on the 7x7 map of a 224 input.
    n, c, h, w = shape_of(y)
    y = b.add(ReshapeOp(y, (n, c * h * w)))
    y = net.relu(net.fc(y, "classifier.0", 4096))
    y = net.relu(net.fc(y, "classifier.3", 4096))
    b.output(net.fc(y, "classifier.6", 1000), names=["logits"])


# ------------------------------------------------------------- MobileNetV2

# (expansion t, output channels c, repeats n, first stride s), torchvision.
_MOBILENETV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def _inverted_residual(
    net: _Net, x: SSAValue, name: str, expand: int, out: int, stride: int
) -> SSAValue:
    in_ch = shape_of(x)[1]
    hidden = in_ch * expand
    y = x
    if expand != 1:
        y = net.relu6(net.conv(y, f"{name}.expand", hidden, 1, pad=0))
    y = net.relu6(net.conv(y, f"{name}.dw", hidden, 3, stride, group=hidden))
    y = net.conv(y, f"{name}.project", out, 1, pad=0)
    if stride == 1 and in_ch == out:
        y = net.add(y, x)
    return y


def mobilenetv2(b: GraphBuilder, batch: int) -> None:
    net = _Net(b)
    x = b.input("input", (batch, 3, 224, 224))
    y = net.relu6(net.conv(x, "features.0", 32, 3, 2))
    index = 1
    for t, c, n, s in _MOBILENETV2:
        for i in range(n):
            y = _inverted_residual(net, y, f"features.{index}", t, c, s if i == 0 else 1)
            index += 1
    y = net.relu6(net.conv(y, f"features.{index}", 1280, 1, pad=0))
    b.output(net.fc(net.global_avgpool_flat(y), "classifier.1", 1000), names=["logits"])


# ---------------------------------------------------------------- tiny-cnn


def tiny_cnn(b: GraphBuilder, batch: int) -> None:
    """A small net with every CNN feature the compiler must handle: strided
    conv, depthwise conv, residual add, max and average pooling, an FC."""
    net = _Net(b)
    x = b.input("input", (batch, 3, 32, 32))
    y = net.relu(net.conv(x, "conv1", 16, 3))  # 16x32x32
    y = net.maxpool(y, 2, 2)  # 16x16x16
    z = net.relu6(net.conv(y, "block.dw", 16, 3, group=16))
    z = net.conv(z, "block.pw", 16, 1, pad=0)
    y = net.add(y, z)
    y = net.relu(net.conv(y, "conv2", 32, 3, 2))  # 32x8x8
    b.output(net.fc(net.global_avgpool_flat(y), "fc", 10), names=["logits"])


BUILDERS: dict[str, Callable[[GraphBuilder, int], None]] = {
    "mobilenetv2": mobilenetv2,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "tiny-cnn": tiny_cnn,
}
