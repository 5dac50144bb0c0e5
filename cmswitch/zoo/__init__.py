"""The built-in model zoo: the paper's evaluation models as `cim` IR, offline.

Every model is written with :class:`cmswitch.builder.GraphBuilder` from the
public architecture's exact shapes, with every MVM/MMM of the network
(classifier and LM head included), and weights declared without data (the
compiler needs shapes, not values)::

    module = zoo.build("llama2-7b", batch=4, seq=64, phase="decode",
                       hardware=Hardware.preset("dynaplasia"))

CNNs take a ``batch x 3 x 224 x 224`` input (``tiny-cnn``: 32 x 32) and ignore
`seq`; they have no decode phase. Transformers take token ids; see
:mod:`cmswitch.zoo.transformer` for the prefill / decode forms. ``tiny-*``
models are small stand-ins of each family for fast tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xdsl.dialects.builtin import ModuleOp

from cmswitch.builder import GraphBuilder
from cmswitch.hardware import Hardware
from cmswitch.weights import WeightStore
from cmswitch.zoo import cnn, transformer

PHASES = ("prefill", "decode")
MAX_BATCH = 1 << 16
MAX_SEQ = 1 << 20
"""Upper bounds of the build parameters: every tensor of every zoo model
(attention scores are batch x heads x seq x seq) stays below 2**63 elements,
the largest dimension the IR's i64 shapes hold."""


class ZooError(ValueError):
    """An unknown model or bad build parameters. The message is user-facing."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: Literal["cnn", "transformer"]
    description: str
    tiny: bool


_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("mobilenetv2", "cnn", "torchvision MobileNetV2 (width 1.0), 224x224", False),
    ModelInfo("resnet18", "cnn", "torchvision ResNet-18, 224x224", False),
    ModelInfo("resnet50", "cnn", "torchvision ResNet-50 (v1.5), 224x224", False),
    ModelInfo("vgg16", "cnn", "torchvision VGG-16 (no BN), 224x224", False),
    ModelInfo("bert-large", "transformer",
              "BERT-large encoder, 24 x d1024, 16 heads, MLM head (no decode)", False),
    ModelInfo("opt-6.7b", "transformer", "OPT-6.7B decoder, 32 x d4096, 32 heads", False),
    ModelInfo("opt-13b", "transformer", "OPT-13B decoder, 40 x d5120, 40 heads", False),
    ModelInfo("llama2-7b", "transformer",
              "LLaMA-2-7B decoder, 32 x d4096, 32 heads, SwiGLU 11008", False),
    ModelInfo("tiny-cnn", "cnn", "4 convs (one depthwise), pools, FC; 32x32 input", True),
    ModelInfo("tiny-bert", "transformer", "2-layer BERT, d64, 4 heads, FFN 256", True),
    ModelInfo("tiny-opt", "transformer", "2-layer OPT, d64, 4 heads, FFN 256", True),
    ModelInfo("tiny-llama", "transformer", "2-layer LLaMA, d64, 4 heads, SwiGLU 172", True),
)  # fmt: skip


def list_models() -> list[ModelInfo]:
    """All zoo models, full-size first, in a stable order."""
    return list(_MODELS)


def info(name: str) -> ModelInfo:
    for model in _MODELS:
        if model.name == name:
            return model
    raise ZooError(f"unknown model {name!r}; zoo models: {', '.join(m.name for m in _MODELS)}")


def build(
    name: str,
    *,
    batch: int = 1,
    seq: int = 64,
    phase: str = "prefill",
    hardware: Hardware | None = None,
    store: WeightStore | None = None,
) -> ModuleOp:
    """The model as a module with one function ``main``.

    `seq` is the prompt length (prefill) or the KV-cache length (decode);
    CNNs ignore it. Shape-derived constants (attention scale, causal mask,
    rotary tables) go to `store` when one is given.
    """
    model = info(name)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise ZooError(f"batch must be a positive integer <= {MAX_BATCH}, got {batch!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise ZooError(f"seq must be a positive integer <= {MAX_SEQ}, got {seq!r}")
    if phase not in PHASES:
        raise ZooError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    b = GraphBuilder("main", store)
    if model.family == "cnn":
        if phase != "prefill":
            raise ZooError(f"model {name!r} is a CNN: it has no {phase} phase")
        cnn.BUILDERS[name](b, batch)
    else:
        cfg = transformer.CONFIGS[name]
        if phase == "decode" and not cfg.causal:
            raise ZooError(f"model {name!r} is an encoder: it has no decode phase")
        transformer.build_transformer(b, cfg, batch, seq, phase == "decode")
    return b.module(hardware, model=name)


__all__ = [
    "MAX_BATCH",
    "MAX_SEQ",
    "PHASES",
    "ModelInfo",
    "ZooError",
    "build",
    "info",
    "list_models",
]
