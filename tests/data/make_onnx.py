"""Regenerates the ONNX test models in tests/data/onnx/ with real exporters.

Run with a Python that has torch, torchvision, transformers and onnxscript
(not needed in CI; the outputs are committed):

    python tests/data/make_onnx.py [name ...]

The two torchvision models are saved with external data and the ``.data``
files are *not* shipped: they stand for "weights absent" and still give the
real-architecture MAC check. Everything else is small and self-contained.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import onnx
import torch
from torch import nn

OUT = Path(__file__).resolve().parent / "onnx"


def _torchvision_without_c_ops() -> None:
    """PyPI's torchvision wheels are CUDA builds; next to a CPU torch their
    compiled ops (nms, roi_align...) fail to load and ``import torchvision``
    dies registering fake kernels for them. None of the exported models uses
    those ops, so skip the registrations."""
    import types

    try:
        import torchvision  # noqa: F401
    except RuntimeError:
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations"
        )


class TinyCnn(nn.Module):
    """conv+bn+relu, depthwise conv+bn+relu6, pools, flatten, two linears."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.bn2 = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.nn.functional.relu6(self.bn2(self.dw(x)))
        x = torch.nn.functional.hardswish(self.pw(x))
        x = self.avg(self.pool(x))
        x = torch.flatten(x, 1)
        x = torch.nn.functional.gelu(self.fc1(x))
        return torch.softmax(self.fc2(x), dim=-1)


class TinyOps(nn.Module):
    """A grab bag of operators beyond the common CNN/transformer set."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1d = nn.Conv1d(4, 6, 3, stride=2, padding=1)
        self.prelu = nn.PReLU(6)
        self.norm = nn.LayerNorm([6, 4])
        self.fc = nn.Linear(4, 5)
        self.v = nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = nn.functional
        y = self.prelu(self.conv1d(x))  # [1, 6, 4]
        y = f.mish(y) + f.selu(y) + f.elu(y, 0.5) + f.leaky_relu(y, 0.2) + f.softplus(y)
        y = self.norm(y) + f.hardsigmoid(y) * torch.tanh(y)
        a, b = torch.chunk(y, 2, dim=1)  # Split
        y = torch.cat([b, f.pad(a, (1, 0)).narrow(2, 0, 4)], dim=1)  # Pad, Slice, Concat
        img = y.reshape(1, 2, 3, 4)
        pooled = torch.cat([
            f.max_pool2d(img, 2, stride=2, ceil_mode=True).flatten(),
            f.avg_pool2d(img, 3, stride=2, padding=1, ceil_mode=True,
                         count_include_pad=False).flatten(),
        ])  # fmt: skip
        z = self.fc(pooled.reshape(-1, 4))  # [5, 5]
        z = f.gelu(z, approximate="tanh") @ self.v  # 1-D right operand
        z = torch.where(z > 0, z, z * 0.5)
        return torch.log_softmax(z, dim=0) + z.amax() + z.sum(dim=0, keepdim=True)


def _randomise_bn(model: nn.Module) -> None:
    # Non-trivial running statistics so BN folding is actually exercised.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def _export(
    model: nn.Module,
    args: tuple[torch.Tensor, ...],
    name: str,
    *,
    input_names: list[str],
    dynamo: bool,
    opset: int,
    external: bool = False,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
    raw: bool = False,
) -> None:
    model.eval()
    path = OUT / f"{name}.onnx"
    for stale in (path, path.with_suffix(".onnx.data")):
        stale.unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            prog = torch.onnx.export(
                model,
                args,
                dynamo=True,
                opset_version=opset,
                input_names=input_names,
                optimize=not raw,
            )
            assert prog is not None
            prog.save(str(path), external_data=external)
        else:
            torch.onnx.export(
                model, args, str(path), dynamo=False, opset_version=opset,
                input_names=input_names, dynamic_axes=dynamic_axes,
                # raw: keep BatchNormalization etc. as the graph has them
                do_constant_folding=not raw,
                training=torch.onnx.TrainingMode.PRESERVE if raw else torch.onnx.TrainingMode.EVAL,
            )  # fmt: skip
    proto = onnx.load(str(path))
    if external:
        onnx.save(
            proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
            location=f"{name}.onnx.data", size_threshold=1024,
        )  # fmt: skip
    else:
        # Inline every tensor so the file is self-contained.
        onnx.save(proto, str(path), save_as_external_data=False)
        path.with_suffix(".onnx.data").unlink(missing_ok=True)
    print(
        f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, opset "
        f"{[o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')]}"
    )


def resnet18() -> None:
    import torchvision

    torch.manual_seed(0)
    _export(torchvision.models.resnet18(), (torch.randn(1, 3, 64, 64),), "resnet18",
            input_names=["x"], dynamo=False, opset=17, external=True)  # fmt: skip


def mobilenet_v2() -> None:
    import torchvision

    torch.manual_seed(0)
    _export(torchvision.models.mobilenet_v2(), (torch.randn(1, 3, 64, 64),), "mobilenet_v2",
            input_names=["x"], dynamo=True, opset=18, external=True)  # fmt: skip


def tiny_cnn() -> None:
    torch.manual_seed(0)
    m = TinyCnn()
    _randomise_bn(m)
    x = torch.randn(1, 3, 16, 16)
    _export(m, (x,), "tiny_cnn", input_names=["x"], dynamo=False, opset=17)
    _export(m, (x,), "tiny_cnn_dynamo", input_names=["x"], dynamo=True, opset=18)
    _export(m, (x,), "tiny_cnn_dynbatch", input_names=["x"], dynamo=False, opset=17,
            dynamic_axes={"x": {0: "batch"}})  # fmt: skip
    # Unoptimised exports keep BatchNormalization (the importer folds it).
    _export(m, (x,), "tiny_cnn_bn", input_names=["x"], dynamo=False, opset=17, raw=True)
    _export(m, (x,), "tiny_cnn_dynamo_raw", input_names=["x"], dynamo=True, opset=18, raw=True)


def tiny_ops() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8)
    _export(TinyOps(), (x,), "tiny_ops", input_names=["x"], dynamo=False, opset=17)
    _export(TinyOps(), (x,), "tiny_ops_opset20", input_names=["x"], dynamo=False, opset=20)
    try:
        _export(TinyOps(), (x,), "tiny_ops_dynamo", input_names=["x"], dynamo=True, opset=18)
    except Exception as err:  # torch 2.14's dynamo exporter rejects part of this graph
        print(f"tiny_ops_dynamo: dynamo exporter failed: {type(err).__name__}"[:300])


class _HiddenOnly(nn.Module):
    """Returns the last hidden state only (no cache objects in the graph)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.inner(input_ids=ids, use_cache=False, return_dict=True)
        return out.logits if hasattr(out, "logits") else out.last_hidden_state


def bert() -> None:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=32)  # fmt: skip
    m = _HiddenOnly(BertModel(cfg, add_pooling_layer=False))
    ids = torch.randint(0, 64, (1, 8))
    _export(m, (ids,), "bert_tiny", input_names=["input_ids"], dynamo=False, opset=17)
    _export(m, (ids,), "bert_tiny_dynamo", input_names=["input_ids"], dynamo=True, opset=20)


def llama() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=64, max_position_embeddings=32)  # fmt: skip
    m = _HiddenOnly(LlamaForCausalLM(cfg))
    ids = torch.randint(0, 64, (1, 8))
    _export(m, (ids,), "llama_tiny", input_names=["input_ids"], dynamo=True, opset=18)
    try:
        _export(m, (ids,), "llama_tiny_legacy", input_names=["input_ids"], dynamo=False,
                opset=17)  # fmt: skip
    except Exception as err:  # the legacy exporter may not trace new transformers
        print(f"llama_tiny_legacy: legacy exporter failed: {type(err).__name__}: {err}"[:300])


def opt() -> None:
    from transformers import OPTConfig, OPTModel

    torch.manual_seed(0)
    cfg = OPTConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    ffn_dim=64, max_position_embeddings=32, word_embed_proj_dim=32)  # fmt: skip
    m = _HiddenOnly(OPTModel(cfg))
    ids = torch.randint(0, 64, (1, 8))
    _export(m, (ids,), "opt_tiny", input_names=["input_ids"], dynamo=False, opset=17)


class NewOps(nn.Module):
    """The operators added for issue 10 in one small graph: ConvTranspose,
    GroupNorm, InstanceNorm, PixelShuffle (DepthToSpace), PixelUnshuffle,
    Upsample (Resize nearest / linear), triu, round, sign, cumsum, topk,
    argmax, einsum, gather (GatherElements) and a scatter (ScatterND)."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 8, 3, stride=2, padding=1, output_padding=1)
        self.gn = nn.GroupNorm(2, 8)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.proj = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.inorm(self.gn(self.up(x)))  # [1, 8, 8, 8]
        y = torch.nn.functional.pixel_unshuffle(torch.nn.functional.pixel_shuffle(y, 2), 2)
        y = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
        y = torch.nn.functional.interpolate(y, size=(12, 12), mode="bilinear", align_corners=False)
        z = y.mean(1).reshape(1, 12, 12)  # [1, 12, 12]
        z = torch.triu(z, 1) + torch.round(z * 4) / 4 + torch.sign(z)
        c = torch.cumsum(z, dim=-1)
        v, i = torch.topk(c, 3, dim=-1)
        a = torch.argmax(c, dim=1)
        e = torch.einsum("bij,bkj->bik", z, c)
        g = torch.gather(c, 2, i)
        s = c.clone()
        s[:, 0] = v.sum(-1)
        w = self.proj(z[..., :16] if z.shape[-1] >= 16 else torch.cat([z, z[..., :4]], -1))
        return e, g, a, s, w


def new_ops() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 4, 4, 4)
    _export(NewOps(), (x,), "new_ops", input_names=["x"], dynamo=False, opset=17)
    _export(NewOps(), (x,), "new_ops_dynamo", input_names=["x"], dynamo=True, opset=18)


class Sdpa(nn.Module):
    """Self-attention through F.scaled_dot_product_attention: at opset 23 the
    dynamo exporter emits the fused ONNX Attention op (causal, and with a
    boolean padding mask)."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(32, 96)
        self.o = nn.Linear(32, 32)
        self.register_buffer("keep", torch.arange(6).expand(6, 6) < 5)  # last key: padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, s, 3, 4, 8).permute(2, 0, 3, 1, 4)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = torch.nn.functional.scaled_dot_product_attention(y, k, v, attn_mask=self.keep)
        return self.o(y.transpose(1, 2).reshape(b, s, 32))


def sdpa() -> None:
    torch.manual_seed(0)
    _export(Sdpa(), (torch.randn(1, 6, 32),), "sdpa_opset23", input_names=["x"], dynamo=True,
            opset=23)  # fmt: skip


def efficientnet() -> None:
    _torchvision_without_c_ops()
    from functools import partial

    from torchvision.models.efficientnet import EfficientNet, MBConvConfig

    torch.manual_seed(0)
    cfg = partial(MBConvConfig, width_mult=0.25, depth_mult=0.25)
    setting = [cfg(1, 3, 1, 32, 16, 1), cfg(6, 3, 2, 16, 24, 2), cfg(6, 5, 2, 24, 40, 2)]
    m = EfficientNet(setting, dropout=0.2, num_classes=10)
    _export(m, (torch.randn(1, 3, 32, 32),), "efficientnet_tiny", input_names=["x"],
            dynamo=False, opset=17)  # fmt: skip


def convnext() -> None:
    _torchvision_without_c_ops()
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    torch.manual_seed(0)
    m = ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10)
    _export(m, (torch.randn(1, 3, 32, 32),), "convnext_tiny", input_names=["x"],
            dynamo=False, opset=17)  # fmt: skip


def swin() -> None:
    _torchvision_without_c_ops()
    from torchvision.models.swin_transformer import SwinTransformer

    torch.manual_seed(0)
    m = SwinTransformer([4, 4], 16, [1, 1], [1, 2], [4, 4], num_classes=10)
    _export(m, (torch.randn(1, 3, 32, 32),), "swin_tiny", input_names=["x"],
            dynamo=False, opset=17)  # fmt: skip
    _export(m, (torch.randn(1, 3, 32, 32),), "swin_tiny_dynamo", input_names=["x"],
            dynamo=True, opset=18)  # fmt: skip


def vit() -> None:
    _torchvision_without_c_ops()
    import timm

    torch.manual_seed(0)
    m = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8,
                          embed_dim=32, depth=2, num_heads=2, num_classes=10)  # fmt: skip
    _export(m, (torch.randn(1, 3, 32, 32),), "vit_tiny", input_names=["x"], dynamo=False,
            opset=17)  # fmt: skip


def t5() -> None:
    _torchvision_without_c_ops()  # transformers imports it
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=64, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2)
    m = _HiddenOnly(T5EncoderModel(cfg))
    # (torch 2.13's dynamo exporter fails to decompose this graph)
    _export(m, (torch.randint(0, 64, (1, 8)),), "t5_encoder_tiny", input_names=["input_ids"],
            dynamo=False, opset=17)  # fmt: skip


class _Features(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.inner(feats, return_dict=True).last_hidden_state


def whisper() -> None:
    _torchvision_without_c_ops()  # transformers imports it
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(0)
    cfg = WhisperConfig(num_mel_bins=8, d_model=32, encoder_layers=2, encoder_attention_heads=2,
                        encoder_ffn_dim=64, max_source_positions=8)  # fmt: skip
    m = _Features(WhisperEncoder(cfg))
    _export(m, (torch.randn(1, 8, 16),), "whisper_encoder_tiny", input_names=["features"],
            dynamo=True, opset=18)  # fmt: skip


def mistral() -> None:
    _torchvision_without_c_ops()  # transformers imports it
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2, intermediate_size=64, max_position_embeddings=32,
                        sliding_window=None)  # fmt: skip
    m = _HiddenOnly(MistralForCausalLM(cfg))
    _export(m, (torch.randint(0, 64, (1, 8)),), "mistral_tiny", input_names=["input_ids"],
            dynamo=True, opset=18)  # fmt: skip


def phi() -> None:
    _torchvision_without_c_ops()  # transformers imports it
    from transformers import PhiConfig, PhiForCausalLM

    torch.manual_seed(0)
    cfg = PhiConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=64, max_position_embeddings=32)  # fmt: skip
    m = _HiddenOnly(PhiForCausalLM(cfg))
    _export(m, (torch.randint(0, 64, (1, 8)),), "phi_tiny", input_names=["input_ids"],
            dynamo=True, opset=18)  # fmt: skip


MODELS: dict[str, Callable[[], None]] = {
    "tiny_cnn": tiny_cnn,
    "tiny_ops": tiny_ops,
    "resnet18": resnet18,
    "mobilenet_v2": mobilenet_v2,
    "bert": bert,
    "llama": llama,
    "opt": opt,
    "new_ops": new_ops,
    "sdpa": sdpa,
    "efficientnet": efficientnet,
    "convnext": convnext,
    "swin": swin,
    "vit": vit,
    "t5": t5,
    "whisper": whisper,
    "mistral": mistral,
    "phi": phi,
}

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for key in sys.argv[1:] or list(MODELS):
        try:
            MODELS[key]()
        except Exception as err:
            print(f"{key}: FAILED: {type(err).__name__}: {err}"[:500])
