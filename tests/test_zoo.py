"""Model zoo: every model verifies, and its CIM work equals closed-form MAC
counts written here from the published architecture tables (not from zoo
code), with the well-known published totals as anchors."""

from __future__ import annotations

import math
from io import StringIO

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, DenseIntOrFPElementsAttr, ModuleOp
from xdsl.dialects.func import Func, FuncOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from cmswitch import zoo
from cmswitch.builder import module_hardware
from cmswitch.dialects.cim import CIM, ComputeOp, ConstantOp, shape_of
from cmswitch.hardware import Hardware
from cmswitch.weights import WeightStore
from cmswitch.workload import Workload

HW = Hardware.preset("dynaplasia")

# ------------------------------------------------------------ closed forms


def conv_macs(out_hw: int, cin: int, cout: int, kernel: int, groups: int = 1) -> int:
    return out_hw * out_hw * cout * (cin // groups) * kernel * kernel


def resnet_macs(blocks: tuple[int, ...], bottleneck: bool) -> int:
    """He et al. Table 1 (torchvision v1.5 placement of the stride)."""
    total = conv_macs(112, 3, 64, 7)  # conv1
    cin, size = 64, 56  # after the 3x3/2 max pool
    for stage, count in enumerate(blocks):
        width = 64 * 2**stage
        out = width * 4 if bottleneck else width
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            osize = size // stride
            if bottleneck:
                total += conv_macs(size, cin, width, 1)
                total += conv_macs(osize, width, width, 3)
                total += conv_macs(osize, width, out, 1)
            else:
                total += conv_macs(osize, cin, width, 3)
                total += conv_macs(osize, width, width, 3)
            if stride != 1 or cin != out:
                total += conv_macs(osize, cin, out, 1)
            cin, size = out, osize
    return total + cin * 1000  # fc


def vgg16_macs() -> int:
    """Simonyan & Zisserman configuration D at 224x224."""
    stages = [(224, [(3, 64), (64, 64)]), (112, [(64, 128), (128, 128)]),
              (56, [(128, 256), (256, 256), (256, 256)]),
              (28, [(256, 512), (512, 512), (512, 512)]),
              (14, [(512, 512), (512, 512), (512, 512)])]  # fmt: skip
    total = sum(conv_macs(s, a, b, 3) for s, convs in stages for a, b in convs)
    return total + 512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 1000


def mobilenetv2_macs() -> int:
    """Sandler et al. Table 2, width 1.0, 224x224."""
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
    total = conv_macs(112, 3, 32, 3)
    cin, size = 32, 112
    for t, c, n, s in table:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                total += conv_macs(size, cin, hidden, 1)
            size //= stride
            total += conv_macs(size, hidden, hidden, 3, groups=hidden)
            total += conv_macs(size, hidden, c, 1)
            cin = c
    total += conv_macs(7, 320, 1280, 1)
    return total + 1280 * 1000


def tiny_cnn_macs() -> int:
    return (conv_macs(32, 3, 16, 3) + conv_macs(16, 16, 16, 3, groups=16)
            + conv_macs(16, 16, 16, 1) + conv_macs(8, 16, 32, 3) + 32 * 10)  # fmt: skip


# name: (layers, d, ffn, vocab, ffn matrices, extra d x d head layer)
TRANSFORMERS: dict[str, tuple[int, int, int, int, int, bool]] = {
    "bert-large": (24, 1024, 4096, 30522, 2, True),
    "opt-6.7b": (32, 4096, 16384, 50272, 2, False),
    "opt-13b": (40, 5120, 20480, 50272, 2, False),
    "llama2-7b": (32, 4096, 11008, 32000, 3, False),
    "tiny-bert": (2, 64, 256, 100, 2, True),
    "tiny-opt": (2, 64, 256, 100, 2, False),
    "tiny-llama": (2, 64, 172, 100, 3, False),
}
HEADS = {"bert-large": 16, "opt-6.7b": 32, "opt-13b": 40, "llama2-7b": 32,
         "tiny-bert": 4, "tiny-opt": 4, "tiny-llama": 4}  # fmt: skip


def transformer_macs(name: str, batch: int, seq: int, phase: str) -> int:
    layers, d, ffn, vocab, nffn, head_dense = TRANSFORMERS[name]
    tokens, keys = (seq, seq) if phase == "prefill" else (1, seq + 1)
    rows = batch * tokens
    per_layer = 4 * rows * d * d + 2 * rows * keys * d + nffn * rows * d * ffn
    head = rows * d * vocab + (rows * d * d if head_dense else 0)
    return layers * per_layer + head


CNN_MACS = {
    "resnet18": resnet_macs((2, 2, 2, 2), bottleneck=False),
    "resnet50": resnet_macs((3, 4, 6, 3), bottleneck=True),
    "vgg16": vgg16_macs(),
    "mobilenetv2": mobilenetv2_macs(),
    "tiny-cnn": tiny_cnn_macs(),
}


def expected_macs(name: str, batch: int, seq: int, phase: str) -> int:
    if name in CNN_MACS:
        return batch * CNN_MACS[name]
    return transformer_macs(name, batch, seq, phase)


def phases(name: str) -> list[str]:
    return ["prefill"] if name in CNN_MACS or "bert" in name else ["prefill", "decode"]


# --------------------------------------------------------------- helpers


def build_checked(name: str, batch: int, seq: int, phase: str) -> tuple[ModuleOp, Workload]:
    module = zoo.build(name, batch=batch, seq=seq, phase=phase, hardware=HW)
    module.verify()
    assert module_hardware(module) == HW
    wl = Workload.from_module(module, HW)
    assert wl.macs == expected_macs(name, batch, seq, phase)
    for op in module.walk():
        if isinstance(op, ComputeOp):
            assert "label" in op.attributes, f"unlabelled {op.name}"
    return module, wl


def roundtrip(module: ModuleOp) -> None:
    text = StringIO()
    Printer(stream=text).print_op(module)
    ctx = Context()
    for dialect in (Builtin, Func, CIM):
        ctx.load_dialect(dialect)
    parsed = Parser(ctx, text.getvalue(), "zoo.mlir").parse_module()
    parsed.verify()
    again = StringIO()
    Printer(stream=again).print_op(parsed)
    assert again.getvalue() == text.getvalue()


# ------------------------------------------------------------------ tests


def test_published_anchors() -> None:
    # torchvision / paper figures, in GMACs per 224x224 image.
    assert CNN_MACS["resnet18"] / 1e9 == pytest.approx(1.814, abs=0.001)
    assert CNN_MACS["resnet50"] / 1e9 == pytest.approx(4.09, abs=0.01)
    assert CNN_MACS["vgg16"] / 1e9 == pytest.approx(15.47, abs=0.01)
    assert CNN_MACS["mobilenetv2"] / 1e9 == pytest.approx(0.30, abs=0.005)
    # ~2 * parameters MACs per token for a decoder at short context: the
    # stationary weights of the LM are its parameter count (minus embeddings).
    _, wl = build_checked("llama2-7b", 1, 64, "decode")
    assert (wl.weight_bytes + 32000 * 4096) / HW.weight_bytes / 1e9 == pytest.approx(6.74, abs=0.01)


def test_list_models() -> None:
    models = zoo.list_models()
    names = [m.name for m in models]
    assert names[:8] == ["mobilenetv2", "resnet18", "resnet50", "vgg16",
                         "bert-large", "opt-6.7b", "opt-13b", "llama2-7b"]  # fmt: skip
    assert {m.name for m in models if m.tiny} == {"tiny-cnn", "tiny-bert", "tiny-opt", "tiny-llama"}
    assert set(names) == set(CNN_MACS) | set(TRANSFORMERS)
    for m in models:
        assert m.family == ("cnn" if m.name in CNN_MACS else "transformer")
        assert m.description


TINY = [m.name for m in zoo.list_models() if m.tiny]


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("batch,seq", [(1, 1), (1, 7), (3, 16), (2, 33)])
def test_tiny_models(name: str, batch: int, seq: int) -> None:
    for phase in phases(name):
        module, _ = build_checked(name, batch, seq, phase)
        if batch == 2:
            roundtrip(module)


BIG = [m.name for m in zoo.list_models() if not m.tiny]


@pytest.mark.parametrize("name", BIG)
@pytest.mark.parametrize("batch", [1, 4])
def test_big_models(name: str, batch: int) -> None:
    for phase in phases(name):
        module, _ = build_checked(name, batch, 64, phase)
        # 7B-class models are printed and parsed once (llama2-7b decode, batch 1).
        if batch == 1 and (name in CNN_MACS or name == "bert-large"):
            roundtrip(module)
        if batch == 1 and name == "llama2-7b" and phase == "decode":
            roundtrip(module)


@pytest.mark.parametrize("name", [n for n in TRANSFORMERS if "bert" not in n])
def test_transformer_structure(name: str) -> None:
    layers, d, ffn, vocab, nffn, _ = TRANSFORMERS[name]
    heads = HEADS[name]
    batch, seq = 2, 5
    for phase in ("prefill", "decode"):
        module = zoo.build(name, batch=batch, seq=seq, phase=phase)
        tokens, keys = (seq, seq) if phase == "prefill" else (1, seq + 1)
        wl = Workload.from_module(module, HW)
        assert len(wl) == layers * (6 + nffn) + 1
        by_name = {op.name: op for op in wl}
        q = by_name["h.0.attn.q_proj"].shape
        assert (q.m, q.n, q.k, q.stationary) == (batch * tokens, d, d, True)
        s = by_name["h.1.attn.scores"].shape
        assert (s.m, s.n, s.k, s.groups, s.stationary) == (
            tokens,
            d // heads,
            keys,
            batch * heads,
            False,
        )
        c = by_name["h.1.attn.context"].shape
        assert (c.m, c.n, c.k, c.groups) == (tokens, keys, d // heads, batch * heads)
        up = by_name["h.0.mlp.up_proj" if nffn == 3 else "h.0.mlp.fc1"].shape
        down = by_name["h.0.mlp.down_proj" if nffn == 3 else "h.0.mlp.fc2"].shape
        assert (up.n, up.k, down.n, down.k) == (d, ffn, ffn, d)
        head = by_name["lm_head"].shape
        assert (head.m, head.n, head.k) == (batch * tokens, d, vocab)
        func = next(op for op in module.ops if isinstance(op, FuncOp))
        ins = [shape_of(a) for a in func.body.block.args]
        outs = [shape_of(t) for t in func.function_type.outputs]
        assert outs[0] == (batch * tokens, vocab)
        if phase == "decode":
            cache = (batch, heads, seq, d // heads)
            assert ins == [(batch, 1)] + [cache] * (2 * layers)
            assert outs[1:] == [(batch, heads, 1, d // heads)] * (2 * layers)
        else:
            assert ins == [(batch, seq)] and len(outs) == 1


def test_shape_constants() -> None:
    store = WeightStore()
    zoo.build("tiny-llama", batch=1, seq=6, store=store)
    mask = store["attn.causal_mask"][0, 0]
    assert mask.shape == (6, 6)
    assert (mask[np.triu_indices(6, 1)] < -1e8).all() and (mask[np.tril_indices(6)] == 0).all()
    # Hugging Face LLaMA rotary tables: theta_i = 10000^(-2i/dh), duplicated halves.
    dh = 16
    theta = 10000.0 ** (-np.arange(0, dh, 2) / dh)
    angles = np.arange(6)[:, None] * np.concatenate([theta, theta])[None, :]
    np.testing.assert_allclose(store["rope.cos"], np.cos(angles), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(store["rope.sin"], np.sin(angles), rtol=1e-6, atol=1e-6)
    store = WeightStore()
    module = zoo.build("tiny-llama", batch=1, seq=6, phase="decode", store=store)
    assert "attn.causal_mask" not in store  # one query sees the whole cache
    # The new token sits at position 6; its 16-element tables are inline.
    consts = {op.sym.data: op for op in module.walk() if isinstance(op, ConstantOp)}
    for sym, fn in (("rope.cos", np.cos), ("rope.sin", np.sin)):
        value = consts[sym].value
        assert isinstance(value, DenseIntOrFPElementsAttr)
        got = np.array(value.get_values()).reshape(1, dh)
        np.testing.assert_allclose(
            got, fn(6 * np.concatenate([theta, theta]))[None], rtol=1e-6, atol=1e-6
        )


def test_llama_decode_build_has_every_operator() -> None:
    """The full-size decode graph (no wall-clock assertion: the build's speed
    is measured by benchmarks/compile_time.py). Hand count per layer: q, k,
    v, o 4 x 4096^2; gate, up, down 3 x 4096 x 11008; scores and context
    32 heads x 128 x 65 each (KV cache of 64 plus the new token)."""
    wl = Workload.from_module(
        zoo.build("llama2-7b", batch=1, seq=64, phase="decode", hardware=HW), HW
    )
    per_layer = 4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 32 * 128 * 65
    assert len(wl) == 32 * 9 + 1
    assert wl.macs == 32 * per_layer + 4096 * 32000


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"name": "resnet-18"}, "zoo models: mobilenetv2, resnet18"),
        ({"name": "bert-large", "phase": "decode"}, "encoder"),
        ({"name": "resnet18", "phase": "decode"}, "CNN"),
        ({"name": "tiny-opt", "phase": "generate"}, "phase must be one of"),
        ({"name": "tiny-opt", "batch": 0}, "batch must be a positive integer"),
        ({"name": "tiny-opt", "seq": -3}, "seq must be a positive integer"),
    ],
)
def test_errors(kwargs: dict[str, object], fragment: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(zoo.ZooError, match=fragment) as err:
        zoo.build(str(name), **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_min_arrays_mobilenet_depthwise_packing() -> None:
    # Depthwise 3x3 kernels are 9 x 1 matrices: an array holds
    # min(rows // 9, weights_per_row // 1) of them.
    _, wl = build_checked("mobilenetv2", 1, 64, "prefill")
    dw = next(op for op in wl if op.name == "features.1.dw")
    per_array = min(HW.rows // 9, HW.cols * HW.cell_bits // HW.weight_bits)
    assert dw.shape.groups == 32 and dw.min_arrays == math.ceil(32 / per_array)
