"""IR plumbing shared by the command line and the Python API: a context that
knows every dialect `xdsl-opt` knows, parsing and printing."""

from __future__ import annotations

import io
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute
from xdsl.printer import Printer
from xdsl.universe import Universe
from xdsl.utils.exceptions import ParseError, VerifyException

from cmswitch.fastparse import FastParser


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
    """Parses and verifies; raises IRError with a one-line located message
    (``file:line:col: what``)."""
    ctx = ctx or make_context()
    try:
        module = FastParser(ctx, text, source).parse_module()
        module.verify()
    except ParseError as err:
        raise IRError(f"{err.span.get_location()}: {_first_line(err.msg)}") from None
    except VerifyException as err:
        raise IRError(f"{source}: invalid IR: {_first_line(str(err))}") from None
    except RecursionError:
        raise IRError(f"{source}: nesting too deep to parse") from None
    return module


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "error"


def parse_file(path: str | Path) -> ModuleOp:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise IRError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise IRError(f"{path}: not UTF-8 text (byte {err.start})") from None
    if "\0" in text:
        raise IRError(f"{path}:{text.count(chr(10), 0, text.index(chr(0))) + 1}: NUL byte in text")
    return parse_module(text, str(path))


def print_module(module: ModuleOp, generic: bool = False) -> str:
    out = io.StringIO()
    _FastPrinter(stream=out, print_generic_format=generic).print_op(module)
    return out.getvalue() + "\n"


_TYPE_TEXT: dict[Attribute, str] = {}


class _FastPrinter(Printer):
    """xDSL's printer, producing the same text faster on large modules: one
    ``write`` per fragment instead of ``print(..., end="")``, and
    context-free attributes (tensor types, properties) rendered once per
    distinct value."""

    def print_string(self, text: str, *, indent: int | None = None) -> None:
        if "\n" not in text:
            self._current_column += len(text)
            self.stream.write(text)  # type: ignore[union-attr]
            return
        super().print_string(text, indent=indent)

    def print_attribute(self, attribute: Attribute) -> None:
        if type(attribute) not in _CONTEXT_FREE:
            super().print_attribute(attribute)
            return
        try:
            text = _TYPE_TEXT.get(attribute)
        except TypeError:  # an unhashable parameter: print as usual
            super().print_attribute(attribute)
            return
        if text is None:
            buf = io.StringIO()
            Printer(stream=buf).print_attribute(attribute)
            text = buf.getvalue()
            if len(_TYPE_TEXT) > 1 << 16:
                _TYPE_TEXT.clear()
            _TYPE_TEXT[attribute] = text
        self.print_string(text)


_CONTEXT_FREE: frozenset[type] = frozenset(
    {TensorType, DictionaryAttr, DenseArrayBase, FloatAttr, IntegerAttr, StringAttr}
)
"""Attribute kinds whose text depends on nothing but their value (printed
once per distinct value; a module repeats them thousands of times)."""
