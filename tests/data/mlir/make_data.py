"""Regenerates the MLIR frontend's test data (outputs are committed; CI does
not run this).

    python tests/data/mlir/make_data.py onnx     # needs torch (CPU): two exports
    python tests/data/mlir/make_data.py linalg   # needs torch-mlir (the mlir extra)

``onnx``: two more real exports next to ``tests/data/make_onnx.py``'s, made
with the legacy ``torch.onnx`` exporter (no transformers needed):

* ``grouped_cnn.onnx``: plain, grouped, dilated depthwise and pointwise
  convolutions, batch norm, a channel shuffle, global pooling, a linear;
* ``gpt2_tiny.onnx``: a GPT-2-style decoder written out as in GPT-2
  (``Conv1D`` layers as ``addmm``, fused QKV split into heads, causal mask,
  tanh GELU, tied LM head).

``linalg``: torch-mlir's linalg-on-tensors (generic form, named ops
generalised) of small exports, for the FileCheck tests of
``convert-linalg-to-cim`` (``tests/filecheck/passes/``).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONNX_DIR = HERE.parent / "onnx"

LINALG_MODELS = ("tiny_cnn", "grouped_cnn")
"""Exports whose linalg the FileCheck tests read (small: weights inline)."""


def _export(model: object, args: tuple[object, ...], name: str, input_name: str) -> None:
    import onnx
    import torch

    assert isinstance(model, torch.nn.Module)
    model.eval()
    path = ONNX_DIR / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), dynamo=False, opset_version=17,
                          input_names=[input_name], output_names=["y"])  # fmt: skip
    proto = onnx.load(str(path))
    onnx.save(proto, str(path), save_as_external_data=False)
    print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


def make_onnx() -> None:
    import torch
    from torch import nn

    class GroupedCnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, stride=1, padding=1)
            self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.dw = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16)
            self.pw = nn.Conv2d(16, 8, 1, groups=2)
            self.fc = nn.Linear(8, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.stem(x))
            x = torch.relu(self.bn(self.grouped(x)))
            n, c, h, w = x.shape  # channel shuffle (ShuffleNet)
            x = x.reshape(n, 4, c // 4, h, w).transpose(1, 2).reshape(n, c, h, w)
            x = nn.functional.silu(self.dw(x))
            x = self.pw(x)
            x = x.mean(dim=(2, 3))
            return self.fc(x)

    class Gpt2Block(nn.Module):
        def __init__(self, d: int, heads: int, seq: int) -> None:
            super().__init__()
            self.heads = heads
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            # GPT-2's Conv1D: weight [in, out], y = addmm(b, x, W)
            self.c_attn_w = nn.Parameter(torch.randn(d, 3 * d) * 0.2)
            self.c_attn_b = nn.Parameter(torch.randn(3 * d) * 0.1)
            self.c_proj_w = nn.Parameter(torch.randn(d, d) * 0.2)
            self.c_proj_b = nn.Parameter(torch.randn(d) * 0.1)
            self.fc_w = nn.Parameter(torch.randn(d, 4 * d) * 0.2)
            self.fc_b = nn.Parameter(torch.randn(4 * d) * 0.1)
            self.proj_w = nn.Parameter(torch.randn(4 * d, d) * 0.2)
            self.proj_b = nn.Parameter(torch.randn(d) * 0.1)
            self.register_buffer("bias", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))

        @staticmethod
        def conv1d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            shape = (*x.shape[:-1], w.shape[1])
            return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).reshape(shape)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, d = x.shape
            h = self.heads
            q, k, v = self.conv1d(self.ln_1(x), self.c_attn_w, self.c_attn_b).split(d, dim=2)
            q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)
            mask = self.bias[:, :, :t, :t]
            att = torch.where(mask.bool(), att, torch.tensor(torch.finfo(att.dtype).min))
            y = att.softmax(dim=-1) @ v
            y = y.transpose(1, 2).reshape(b, t, d)
            x = x + self.conv1d(y, self.c_proj_w, self.c_proj_b)
            m = nn.functional.gelu(
                self.conv1d(self.ln_2(x), self.fc_w, self.fc_b), approximate="tanh"
            )
            return x + self.conv1d(m, self.proj_w, self.proj_b)

    class Gpt2Tiny(nn.Module):
        def __init__(self, vocab: int = 64, d: int = 32, heads: int = 2, layers: int = 2,
                     seq: int = 8) -> None:  # fmt: skip
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(seq, d)
            self.blocks = nn.ModuleList(Gpt2Block(d, heads, seq) for _ in range(layers))
            self.ln_f = nn.LayerNorm(d)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            x = self.wte(ids) + self.wpe(pos)
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.t()  # tied LM head

    torch.manual_seed(0)
    cnn = GroupedCnn()
    with torch.no_grad():
        cnn.bn.running_mean.copy_(torch.randn(16) * 0.1)
        cnn.bn.running_var.copy_(torch.rand(16) + 0.5)
    _export(cnn, (torch.randn(1, 3, 12, 12),), "grouped_cnn", "x")
    torch.manual_seed(0)
    _export(Gpt2Tiny(), (torch.randint(0, 64, (1, 8)),), "gpt2_tiny", "input_ids")


def make_linalg() -> None:
    from cmswitch.frontend import upstream

    for name in LINALG_MODELS:
        path = ONNX_DIR / f"{name}.onnx"
        proto, _ = upstream.load_onnx(path, {})
        text = upstream.onnx_to_linalg(proto, path.name)
        out = HERE / f"{name}.linalg.mlir"
        out.write_text(text)
        print(f"{out.name}: {out.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    steps = {"onnx": make_onnx, "linalg": make_linalg}
    for step in sys.argv[1:] or list(steps):
        steps[step]()
