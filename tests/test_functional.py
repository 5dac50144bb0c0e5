"""Functional simulation of `cim_meta` programs (cmswitch.simulator.functional).

References are independent: NumPy products written here, the `cim`
reference executor on the unsplit model, ONNX Runtime on real exports. The
rule-breaking programs are written by hand, each breaking one rule, and the
error must name the op that broke it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cmswitch.compile import DEFAULT_POLICIES, compile_model, parse_policy
from cmswitch.dialects import cim_meta as meta
from cmswitch.ir import parse_module, print_module
from cmswitch.lowering.cim_to_meta import meta_program
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulator.errors import SimulationError
from cmswitch.simulator.functional import random_store, run_functional
from cmswitch.simulator.reference import np_dtype, run_reference
from cmswitch.weights import WeightStore

# arrays of 32 rows x 16 8-bit weights (512 bytes in memory mode), a
# 128-byte buffer: small enough that capacity is easy to exceed by hand
HW = (
    '#cim.hardware<"t", arrays = 8, rows = 32, cols = 128, cell_bits = 1, weight_bits = 8, '
    "act_bits = 8, buffer_bytes = 128, internal_bw_bits = 32, external_bw_bytes = 16, "
    "switch_c2m_cycles = 1, switch_m2c_cycles = 1, write_cycles_per_row = 1, "
    "vector_elems_per_cycle = 4, clock_hz = 1.0e9>"
)


def program(body: str, m: int = 4, ret: str = "%y") -> str:
    """A one-segment program computing y = relu(x @ W + b), x: [m, 8], W: [8, 16]."""
    return f"""
builtin.module attributes {{cim.hardware = {HW}}} {{
  func.func @main(%x: tensor<{m}x8xf32> {{cim.name = "x"}}) -> tensor<{m}x16xf32> {{
    %w = cim.constant "w" : tensor<8x16xf32>
    %b = cim.constant "b" : tensor<16xf32>
    %w2 = cim.constant "w2" : tensor<8x16xf32>
    %out = cim_meta.segment {{index = 0 : i64}} -> tensor<{m}x16xf32> {{
{body}
      cim_meta.yield {ret} : tensor<{m}x16xf32>
    }}
    func.return %out : tensor<{m}x16xf32>
  }}
}}
"""


PROGRAM = '      cim_meta.program %w, %b {label = "fc", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 144 : i64} : tensor<8x16xf32>, tensor<16xf32>'
SWITCH_1 = "      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode memory>}"


def compute(place: str = "#cim_meta.place<arrays [1] = 64>", arrays: str = "0", m: int = 4) -> str:
    return (
        f'      %h = cim_meta.compute %x {{label = "fc", kind = "linear", arrays = array<i64: {arrays}>, '
        f"weight_shape = array<i64: 8, 16>, place = {place}, has_bias = 1 : i64}} : "
        f"tensor<{m}x8xf32> -> tensor<{m}x16xf32>"
    )


def relu(place: str = "#cim_meta.place<buffer = 64>", m: int = 4) -> str:
    return f"""      %r = cim_meta.vector %h {{place = {place}}} : (tensor<{m}x16xf32>) -> tensor<{m}x16xf32> {{
      ^bb0(%a: tensor<{m}x16xf32>):
        %e = cim.elementwise relu %a : tensor<{m}x16xf32> -> tensor<{m}x16xf32>
        cim_meta.yield %e : tensor<{m}x16xf32>
      }}"""


STORE = "      %y = cim_meta.store %r {place = #cim_meta.place<dram = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>"

RNG = np.random.default_rng(7)
WEIGHTS = WeightStore(
    {
        "w": RNG.standard_normal((8, 16)).astype(np.float32),
        "b": RNG.standard_normal(16).astype(np.float32),
        "w2": RNG.standard_normal((8, 16)).astype(np.float32),
    }
)


def run(text: str, m: int = 4) -> np.ndarray:
    x = np.random.default_rng(1).standard_normal((m, 8)).astype(np.float32)
    return run_functional(parse_module(text), {"x": x}, WEIGHTS)[0]


def expect_error(text: str, op: str, fragment: str) -> None:
    with pytest.raises(SimulationError) as info:
        run(text)
    message = str(info.value)
    assert message.startswith(op), message
    assert fragment in message, message


def test_hand_written_program_computes_the_product() -> None:
    text = program("\n".join([SWITCH_1, PROGRAM, compute(), relu(), STORE]))
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    want = np.maximum(x.astype(np.float64) @ WEIGHTS["w"] + WEIGHTS["b"], 0)
    np.testing.assert_allclose(run(text), want, rtol=1e-6, atol=1e-6)


def test_split_weight_is_assembled_from_the_arrays_tiles() -> None:
    # W split into two column tiles on arrays 3 and 5 (in the compute's
    # order), programmed in the opposite order: the product must still be
    # x @ W + b, taken from what the arrays hold
    body = "\n".join([
        SWITCH_1,
        '      cim_meta.program %w, %b {label = "fc", arrays = array<i64: 5, 3>, tiles = array<i64: 0, 1, 0, 8, 8, 16, 0, 1, 0, 8, 0, 8>, bytes = 144 : i64} : tensor<8x16xf32>, tensor<16xf32>',
        compute(arrays="3, 5"), relu(), STORE,
    ])  # fmt: skip
    text = program(body)
    # with a 16-weight row, W fits one array: give the chip 8-weight rows
    text = text.replace("cols = 128", "cols = 64")
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    want = np.maximum(x.astype(np.float64) @ WEIGHTS["w"] + WEIGHTS["b"], 0)
    np.testing.assert_allclose(run(text), want, rtol=1e-6, atol=1e-6)
    # the same program with the compute's two arrays swapped multiplies with
    # the wrong tiles: it must not give the product
    swapped = text.replace("arrays = array<i64: 3, 5>", "arrays = array<i64: 5, 3>")
    got = run(swapped)
    assert not np.allclose(got, want, atol=1e-3)


def test_unprogrammed_arrays() -> None:
    expect_error(
        program("\n".join([SWITCH_1, compute(), relu(), STORE])),
        'cim_meta.compute "fc" (segment 0)',
        "array 0 holds no weights (never programmed)",
    )


def test_overwritten_weights() -> None:
    other = '      cim_meta.program %w2 {label = "fc2", arrays = array<i64: 0>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 128 : i64} : tensor<8x16xf32>'
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, other, compute(), relu(), STORE])),
        'cim_meta.compute "fc" (segment 0)',
        "array 0: 'fc' overwritten by program 'fc2'",
    )


def test_compute_on_memory_arrays() -> None:
    to_memory = "      cim_meta.switch {arrays = array<i64: 0>, mode = #cim<mode memory>}"
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, to_memory, compute(), relu(), STORE])),
        'cim_meta.compute "fc" (segment 0)',
        "arrays [0] are in memory mode",
    )


def test_output_into_compute_arrays() -> None:
    # array 1 was never switched to memory mode
    expect_error(
        program("\n".join([PROGRAM, compute(), relu(), STORE])),
        'cim_meta.compute "fc" (segment 0)',
        "arrays [1] are in compute mode (writing a memory place needs memory mode)",
    )


def test_more_arrays_than_the_chip() -> None:
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, compute(arrays="8"), relu(), STORE])),
        'cim_meta.compute "fc" (segment 0)',
        "array 8 does not exist: the chip has 8 arrays",
    )


def test_array_capacity() -> None:
    # [64, 16] at 8 bits is 1024 bytes; an array holds 512
    m = 64
    body = "\n".join([
        SWITCH_1, PROGRAM, compute("#cim_meta.place<arrays [1] = 1024>", m=m),
        relu("#cim_meta.place<dram = 1024>", m=m),
    ])  # fmt: skip
    with pytest.raises(SimulationError) as info:
        run(program(body, m=m, ret="%r"), m=m)
    assert str(info.value) == (
        'cim_meta.compute "fc" (segment 0): array 1 would hold 1024 bytes, capacity 512 (0 in use)'
    )


def test_buffer_capacity() -> None:
    m = 64
    body = "\n".join([
        SWITCH_1, PROGRAM, compute("#cim_meta.place<arrays [1] = 512, dram = 512>", m=m),
        relu("#cim_meta.place<buffer = 1024>", m=m),
    ])  # fmt: skip
    with pytest.raises(SimulationError) as info:
        run(program(body, m=m, ret="%r"), m=m)
    assert "cim_meta.vector (segment 0): the buffer would hold 1024 bytes, capacity 128" in str(
        info.value
    )


def test_capacity_is_given_back_after_the_last_reader() -> None:
    # h (512 bytes) fills array 1; relu is its last reader and writes its
    # result over it: legal. Reading h again afterwards keeps it alive and
    # the second result does not fit.
    m = 32
    body = "\n".join([
        SWITCH_1, PROGRAM, compute("#cim_meta.place<arrays [1] = 512>", m=m),
        relu("#cim_meta.place<arrays [1] = 512>", m=m),
    ])  # fmt: skip
    run(program(body, m=m, ret="%r"), m=m)
    again = (
        body
        + "\n"
        + (
            f"      %r2 = cim_meta.vector %h {{place = #cim_meta.place<dram = 512>}} : "
            f"(tensor<{m}x16xf32>) -> tensor<{m}x16xf32> {{\n"
            f"      ^bb0(%a2: tensor<{m}x16xf32>):\n"
            f"        %e2 = cim.elementwise relu %a2 : tensor<{m}x16xf32> -> tensor<{m}x16xf32>\n"
            f"        cim_meta.yield %e2 : tensor<{m}x16xf32>\n      }}"
        )
    )
    with pytest.raises(SimulationError, match="array 1 would hold 1024 bytes"):
        run(program(again, m=m, ret="%r"), m=m)


def test_read_of_data_no_longer_stored() -> None:
    # h sits in memory array 1; array 1 is switched to compute and
    # programmed with other weights before relu reads h
    clobber = "\n".join([
        "      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode compute>}",
        '      cim_meta.program %w2 {label = "fc2", arrays = array<i64: 1>, tiles = array<i64: 0, 1, 0, 8, 0, 16>, bytes = 128 : i64} : tensor<8x16xf32>',
        "      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode memory>}",
    ])  # fmt: skip
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, compute(), clobber, relu(), STORE])),
        "cim_meta.vector (segment 0)",
        "reads data that is no longer stored: cim_meta.compute wrote it into array 1, "
        "reprogrammed by cim_meta.program 'fc2'",
    )


def test_read_from_memory_arrays_in_compute_mode() -> None:
    back = "      cim_meta.switch {arrays = array<i64: 1>, mode = #cim<mode compute>}"
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, compute(), back, relu(), STORE])),
        "cim_meta.vector (segment 0)",
        "arrays [1] are in compute mode (reading a memory place needs memory mode)",
    )


def test_load_of_data_never_stored_in_dram() -> None:
    load = "      %l = cim_meta.load %h {place = #cim_meta.place<buffer = 64>, bytes = 64 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>"
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, compute(), load, relu(), STORE])),
        "cim_meta.load (segment 0)",
        "loads a tensor with no part in dram",
    )


def test_movement_bytes_must_match_the_places() -> None:
    bad = STORE.replace("bytes = 64", "bytes = 60")
    expect_error(
        program("\n".join([SWITCH_1, PROGRAM, compute(), relu(), bad])),
        "cim_meta.store (segment 0)",
        "moves 60 bytes, its on-chip part is 64",
    )


def test_switch_to_the_mode_an_array_has() -> None:
    expect_error(
        program("\n".join([SWITCH_1, SWITCH_1, PROGRAM, compute(), relu(), STORE])),
        "cim_meta.switch (segment 0)",
        "arrays [1] are already in memory mode",
    )


def test_attention_operand_in_place() -> None:
    # K^T [8, 16] is produced into memory array 1, the array is switched to
    # compute and Q K^T runs on it with no data movement
    text = f"""
builtin.module attributes {{cim.hardware = {HW}}} {{
  func.func @main(%x: tensor<4x8xf32> {{cim.name = "x"}}, %q: tensor<4x8xf32> {{cim.name = "q"}}) -> tensor<4x4x16xf32> {{
    %w = cim.constant "w" : tensor<8x16xf32>
    %b = cim.constant "b" : tensor<16xf32>
    %0 = cim_meta.segment {{index = 0 : i64}} -> tensor<4x16xf32> {{
{SWITCH_1}
{PROGRAM}
{compute()}
      cim_meta.yield %h : tensor<4x16xf32>
    }}
    %1 = cim_meta.segment {{index = 1 : i64}} -> tensor<4x4x16xf32> {{
      %k = cim_meta.vector %0 {{place = #cim_meta.place<arrays [1] = 64>}} : (tensor<4x16xf32>) -> tensor<4x16xf32> {{
      ^bb0(%a: tensor<4x16xf32>):
        %e = cim.elementwise relu %a : tensor<4x16xf32> -> tensor<4x16xf32>
        cim_meta.yield %e : tensor<4x16xf32>
      }}
      %kt = cim_meta.vector %k {{place = #cim_meta.place<arrays [1] = 64>}} : (tensor<4x16xf32>) -> tensor<8x8xf32> {{
      ^bb0(%a2: tensor<4x16xf32>):
        %e2 = cim.reshape %a2 : tensor<4x16xf32> -> tensor<8x8xf32>
        cim_meta.yield %e2 : tensor<8x8xf32>
      }}
      cim_meta.switch {{arrays = array<i64: 1>, mode = #cim<mode compute>}}
      cim_meta.program %kt {{label = "qk", arrays = array<i64: 1>, tiles = array<i64: 0, 1, 0, 8, 0, 8>, bytes = 0 : i64, in_place = 1 : i64}} : tensor<8x8xf32>
      %s = cim_meta.compute %q {{label = "qk", kind = "matmul", arrays = array<i64: 1>, weight_shape = array<i64: 8, 8>, place = #cim_meta.place<dram = 32>}} : tensor<4x8xf32> -> tensor<4x8xf32>
      %t = cim_meta.vector %s {{place = #cim_meta.place<dram = 256>}} : (tensor<4x8xf32>) -> tensor<4x4x16xf32> {{
      ^bb0(%a3: tensor<4x8xf32>):
        %e3 = cim.broadcast %a3 : tensor<4x8xf32> -> tensor<4x4x16xf32>
        cim_meta.yield %e3 : tensor<4x4x16xf32>
      }}
      cim_meta.yield %t : tensor<4x4x16xf32>
    }}
    func.return %1 : tensor<4x4x16xf32>
  }}
}}
"""
    if "cim.broadcast" in text:  # keep the tail simple: return Q K^T directly
        text = re.sub(r"      %t = .*?\n      }\n", "", text, flags=re.S)
        text = text.replace("tensor<4x4x16xf32>", "tensor<4x8xf32>").replace(
            "cim_meta.yield %t", "cim_meta.yield %s"
        )
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    q = rng.standard_normal((4, 8)).astype(np.float32)
    got = run_functional(parse_module(text), {"x": x, "q": q}, WEIGHTS)[0]
    k = np.maximum(x.astype(np.float64) @ WEIGHTS["w"] + WEIGHTS["b"], 0).reshape(8, 8)
    np.testing.assert_allclose(got, q.astype(np.float64) @ k, rtol=1e-5, atol=1e-5)
    # the operand must really be in those arrays
    moved = text.replace(
        "%kt = cim_meta.vector %k {place = #cim_meta.place<arrays [1] = 64>}",
        "%kt = cim_meta.vector %k {place = #cim_meta.place<buffer = 64>}",
    )
    with pytest.raises(SimulationError, match=r'cim_meta.program "qk" \(segment 1\): an in-place'):
        run_functional(parse_module(moved), {"x": x, "q": q}, WEIGHTS)


# ------------------------------------------------------------------ zoo

TINY = ("tiny-cnn", "tiny-bert", "tiny-opt", "tiny-llama")


def _inputs(module, seed: int = 1) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    from cmswitch.dialects.cim import shape_of

    fn = next(iter(module.ops))
    rng = np.random.default_rng(seed)
    out = []
    for arg in fn.body.block.args:
        shape, dtype = shape_of(arg), np_dtype(arg.type)
        if dtype == np.int64:
            out.append(rng.integers(0, 50, shape))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("policy", DEFAULT_POLICIES)
def test_tiny_zoo_matches_the_reference(name: str, policy: str) -> None:
    model = load_model(name, seq=16)
    store = random_store(model.module, seed=0)
    result = compile_model(model, parse_policy(policy, ScheduleOptions(jobs=1)))
    program_ = meta_program(result.module)
    inputs = _inputs(model.module)
    want = run_reference(model.module, inputs, store)
    got = run_functional(program_, inputs, store)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        err = float(np.abs(g - w).max() / np.abs(w).max())
        assert err < 1e-5, err


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("tiny-llama", {"phase": "decode", "batch": 2, "seq": 16}), ("tiny-cnn", {"batch": 3})],
)
def test_decode_and_batches_match_the_reference(name: str, kwargs: dict[str, object]) -> None:
    model = load_model(name, **kwargs)  # type: ignore[arg-type]
    store = random_store(model.module, seed=0)
    result = compile_model(model, ScheduleOptions(jobs=1))
    inputs = _inputs(model.module)
    want = run_reference(model.module, inputs, store)
    got = run_functional(meta_program(result.module), inputs, store)
    for g, w in zip(got, want, strict=True):
        assert float(np.abs(g - w).max() / np.abs(w).max()) < 1e-5


def test_swapping_two_array_ids_of_a_program_breaks_it() -> None:
    model = load_model("tiny-bert", seq=16)
    store = random_store(model.module, seed=0)
    result = compile_model(model, ScheduleOptions(jobs=1))
    text = print_module(meta_program(result.module))
    inputs = _inputs(model.module)
    want = run_reference(model.module, inputs, store)[0]
    np.testing.assert_allclose(run_functional(parse_module(text), inputs, store)[0], want,
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    # swap the first two arrays of lm_head's program (two 64 x 40 tiles)
    match = re.search(
        r'(cim_meta.program [^\n]*label = "lm_head", arrays = array<i64: )(\d+), (\d+)', text
    )
    assert match is not None
    swapped = text.replace(match.group(0), f"{match.group(1)}{match.group(3)}, {match.group(2)}")
    got = run_functional(parse_module(swapped), inputs, store)[0]
    assert not np.allclose(got, want, atol=1e-3)


def test_inputs_by_exact_onnx_name(tmp_path: Path) -> None:
    """`input.1` style names are used as they are (not as SSA hints)."""
    text = program("\n".join([SWITCH_1, PROGRAM, compute(), relu(), STORE]))
    text = text.replace('cim.name = "x"', 'cim.name = "input.1"')
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    got = run_functional(parse_module(text), {"input.1": x}, WEIGHTS)[0]
    want = np.maximum(x.astype(np.float64) @ WEIGHTS["w"] + WEIGHTS["b"], 0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_place_helpers() -> None:
    module = parse_module(program("\n".join([SWITCH_1, PROGRAM, compute(), relu(), STORE])))
    ops = [op for _, op in meta.meta_ops(next(iter(module.ops)))]  # type: ignore[arg-type]
    vec = next(op for op in ops if isinstance(op, meta.VectorOp))
    assert meta.place_of(vec.inputs[0]) == meta.PlaceAttr([1], 64)
    assert vec.work() == 64


# ------------------------------------------------------------------ real exports

SIM = Path(__file__).parent / "data" / "onnx" / "sim"
EXPORTS = ("resnet_s", "mobilenetv2_s", "vit_s", "convnext_s", "bert_s", "gpt2_s", "opt_s",
           "llama_s")  # fmt: skip


def _small_chip():  # type: ignore[no-untyped-def]
    """48 arrays of 64 x 64 cells and a 4 KiB buffer: the exports' layers are
    split and spread over many segments, tensors spill and are written back."""
    import dataclasses

    from cmswitch.hardware import Hardware

    return dataclasses.replace(
        Hardware.preset("dynaplasia"), arrays=48, rows=64, cols=64, buffer_bytes=4096
    )


def _ort_case(name: str) -> tuple[str, np.ndarray, np.ndarray]:
    import onnxruntime as ort

    path = SIM / f"{name}.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    rng = np.random.default_rng(0)
    if "int" in inp.type:
        x = rng.integers(0, 96, (1, 16))
    else:
        x = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    return inp.name, x, session.run(None, {inp.name: x})[0]


# every policy on the small chip, the default policy on the paper's
EXPORT_CASES = [("small", n, p) for n in EXPORTS for p in DEFAULT_POLICIES] + [
    ("dynaplasia", n, "cmswitch") for n in EXPORTS
]


@pytest.mark.parametrize(("chip", "name", "policy"), EXPORT_CASES)
def test_real_exports_match_onnx_runtime(chip: str, name: str, policy: str) -> None:
    key, x, want = _ort_case(name)
    hw = _small_chip() if chip == "small" else None
    model = load_model(str(SIM / f"{name}.onnx"), hardware=hw)
    result = compile_model(model, parse_policy(policy, ScheduleOptions(jobs=1)))
    got = run_functional(meta_program(result.module), {key: x}, model.store)[0]
    assert got.shape == want.shape
    error = float(np.abs(got - want).max() / np.abs(want).max())
    assert error < 1e-4, error


def _conv_loops(x, w, b, strides, pads, dilations, group):  # type: ignore[no-untyped-def]
    """A convolution written as its definition (slow, obvious)."""
    n = x.shape[0]
    o, ci, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (xp.shape[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, o, oh, ow))
    per = o // group
    for oc in range(o):
        g = oc // per
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * ci : (g + 1) * ci,
                           i * strides[0] : i * strides[0] + dilations[0] * (kh - 1) + 1 : dilations[0],
                           j * strides[1] : j * strides[1] + dilations[1] * (kw - 1) + 1 : dilations[1]]  # fmt: skip
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    return y + (0 if b is None else b.reshape(1, o, 1, 1))


@pytest.mark.parametrize(
    ("c", "o", "k", "strides", "pads", "dilations", "group"),
    [
        (3, 5, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
        (4, 6, 3, (2, 1), (0, 1, 2, 0), (1, 2), 1),
        (4, 6, 1, (2, 2), (0, 0, 0, 0), (1, 1), 1),
        (6, 6, 3, (2, 2), (1, 1, 1, 1), (1, 1), 6),
        (6, 6, 5, (1, 2), (2, 1, 2, 3), (2, 2), 6),
        (6, 4, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2),
    ],
)
def test_fast_convolution_is_the_definition(c, o, k, strides, pads, dilations, group) -> None:  # type: ignore[no-untyped-def]
    from cmswitch.simulator.functional import conv2d_fast

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, c, 9, 8)).astype(np.float32)
    w = rng.standard_normal((o, c // group, k, k)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    got = conv2d_fast(x, w, b, strides, pads, dilations, group)
    want = _conv_loops(x, w, b, strides, pads, dilations, group)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


K_IN_PLACE = """
builtin.module attributes {cim.hardware = HW_PLACEHOLDER} {
  func.func @main(%x: tensor<4x8xf32> {cim.name = "x"}, %q: tensor<4x8xf32> {cim.name = "q"}) -> tensor<4x8xf32> {
    %wk = cim.constant "wk" : tensor<8x8xf32>
    %wo = cim.constant "wo" : tensor<4x8xf32>
    %0 = cim.segment {index = 0 : i64, compute_arrays = 1 : i64, memory_arrays = 1 : i64} -> tensor<8x4xf32> {
      %k = cim.linear %x, %wk {label = "k_proj", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 1>} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %kt = cim.transpose %k {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
      cim.yield %kt : tensor<8x4xf32>
    }
    %1 = cim.segment {index = 1 : i64, compute_arrays = 8 : i64, memory_arrays = 0 : i64} -> tensor<4x8xf32> {
      %s = cim.matmul %q, %0 {label = "scores", alloc = #cim.alloc<compute = 1, mem_in = 0, mem_out = 0>} : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
      %y = cim.linear %s, %wo {label = "o_proj", alloc = #cim.alloc<compute = 7, mem_in = 0, mem_out = 0>} : tensor<4x4xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
      cim.yield %y : tensor<4x8xf32>
    }
    func.return %1 : tensor<4x8xf32>
  }
}
""".replace("HW_PLACEHOLDER", HW)


def test_lowered_attention_runs_on_k_in_place() -> None:
    """K^T is written into memory array 0 in segment 0; segment 1 computes on
    all 8 arrays (one memory -> compute switch charged), and Q K^T runs on
    array 0 after its switch: an in-place program moving no bytes, no
    write-back of K."""
    from cmswitch.ir import make_context
    from cmswitch.lowering.cim_to_meta import CimToMetaPass
    from cmswitch.passes.cim_assign_arrays import CimAssignArraysPass

    module = parse_module(K_IN_PLACE)
    ctx = make_context()
    CimAssignArraysPass().apply(ctx, module)
    CimToMetaPass().apply(ctx, module)
    module.verify()
    ops = [op for _, op in meta.meta_ops(next(iter(module.ops)))]  # type: ignore[arg-type]
    programs = {op.label.data: op for op in ops if isinstance(op, meta.ProgramOp)}
    assert programs["scores"].is_in_place and programs["scores"].nbytes == 0
    assert not any(isinstance(op, meta.StoreOp) and op.output.type == op.input.type
                   and meta.shape_of(op.input) == (8, 4) for op in ops)  # fmt: skip
    rng = np.random.default_rng(5)
    x, q = (rng.standard_normal((4, 8)).astype(np.float32) for _ in range(2))
    store = WeightStore({"wk": rng.standard_normal((8, 8)).astype(np.float32),
                         "wo": rng.standard_normal((4, 8)).astype(np.float32)})  # fmt: skip
    got = run_functional(module, {"x": x, "q": q}, store)[0]
    k = x.astype(np.float64) @ store["wk"]
    want = (q.astype(np.float64) @ k.T) @ store["wo"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
