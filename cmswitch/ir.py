"""IR plumbing shared by the command line and the Python API: a context that
knows every dialect `xdsl-opt` knows, parsing and printing."""

from __future__ import annotations

import io
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.universe import Universe
from xdsl.utils.exceptions import ParseError, VerifyException


class IRError(ValueError):
    """A user-facing error about IR input (parse or verification)."""


def make_context() -> Context:
    """A context laid out like `xdsl-opt`'s: every dialect of every installed
    universe (ours included), registered lazily."""
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    return ctx


def parse_module(text: str, source: str = "<string>", ctx: Context | None = None) -> ModuleOp:
    """Parses and verifies; raises IRError with the located message."""
    ctx = ctx or make_context()
    try:
        module = Parser(ctx, text, source).parse_module()
        module.verify()
    except ParseError as err:
        raise IRError(str(err)) from None
    except VerifyException as err:
        raise IRError(f"{source}: invalid IR: {err}") from None
    return module


def parse_file(path: str | Path) -> ModuleOp:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise IRError(f"{path}: cannot read: {err.strerror}") from None
    return parse_module(text, str(path))


def print_module(module: ModuleOp, generic: bool = False) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    return out.getvalue() + "\n"
