"""The fast reader (cmswitch/fastparse.py) gives exactly xDSL's IR: on every
tiny zoo model's `cim_meta` program and on every FileCheck input (each
``// -----`` chunk), the two parses print the same generic text, or both fail
with the same message."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from xdsl.dialects.builtin import DenseArrayBase, TensorType, f32, i64
from xdsl.parser import Parser
from xdsl.printer import Printer

from cmswitch.compile import compile_model, parse_policy
from cmswitch.fastparse import FastParser
from cmswitch.ir import make_context, print_module
from cmswitch.models import load_model
from cmswitch.passes.cim_schedule import ScheduleOptions
from cmswitch.simulate import meta_of

FILECHECK = sorted((Path(__file__).parent / "filecheck").rglob("*.mlir"))


def _generic(text: str, parser: type[Parser]) -> str:
    try:
        module = parser(make_context(), text, "<test>").parse_module()
    except Exception as err:  # both parsers must fail alike
        return f"error {type(err).__name__}: {err}"
    out = io.StringIO()
    Printer(stream=out, print_generic_format=True).print_op(module)
    return out.getvalue()


@pytest.mark.parametrize("model", ["tiny-cnn", "tiny-bert", "tiny-opt", "tiny-llama"])
def test_same_ir_as_xdsl_on_zoo_programs(model: str) -> None:
    result = compile_model(load_model(model, seq=16), parse_policy("cmswitch", ScheduleOptions()))
    text = print_module(meta_of(result))
    assert "array<i64: " in text and "tensor<" in text  # the fast paths are exercised
    want = _generic(text, Parser)
    assert not want.startswith("error")
    assert _generic(text, FastParser) == want


@pytest.mark.parametrize("path", FILECHECK, ids=[p.name for p in FILECHECK])
def test_same_ir_as_xdsl_on_filecheck_inputs(path: Path) -> None:
    for chunk in path.read_text().split("// -----"):
        assert _generic(chunk, FastParser) == _generic(chunk, Parser)


def test_values_and_fallbacks() -> None:
    text = (
        '"test.op"() {a = array<i64: 3, -4,5>, b = array<i64>, c = array<i32: 7>, '
        "d = array<i64: 1234567890123456789>, e = array<i64: 3, -4,5>} : () -> "
        "(tensor<2x3xf32>, tensor<2x3xf32>, tensor<?x3xf32>)"
    )
    ctx = make_context()
    ctx.allow_unregistered = True
    op = FastParser(ctx, text).parse_op()
    attrs = op.attributes
    assert isinstance(attrs["a"], DenseArrayBase) and attrs["a"].get_values() == (3, -4, 5)
    assert attrs["a"].elt_type == i64
    assert attrs["a"] is attrs["e"]  # cached by its text
    assert attrs["b"] == DenseArrayBase.from_list(i64, [])
    slow = Parser(ctx, text).parse_op()
    for key in "abcd":
        assert attrs[key] == slow.attributes[key]
    types = [r.type for r in op.results]
    assert types[0] == TensorType(f32, [2, 3]) and types[0] is types[1]
    assert types == [r.type for r in slow.results]


def test_out_of_range_fails_as_xdsl_does() -> None:
    text = '"test.op"() {d = array<i64: 123456789012345678901>} : () -> ()'
    fast, slow = _generic(text, FastParser), _generic(text, Parser)
    assert "out of range" in slow and fast == slow
