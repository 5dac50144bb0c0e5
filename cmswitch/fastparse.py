"""A faster reader for large programs: xDSL's parser with fast paths for
``array<i64: ...>`` attributes and tensor types.

A `cim_meta` program of an LLM holds millions of integers in dense arrays
(``arrays = array<i64: ...>``, explicit ``tiles``), and xDSL's lexer spends
most of a parse on them, one token at a time. :class:`FastParser` reads such
an array with one regular expression over the source text and caches the
attribute by its text (the same lists repeat across the split layers of a
model); anything the expression does not recognise (another element type, a
comment, an integer too long to be certainly in range) goes to xDSL's own
code. Attributes are immutable values, so sharing one object between ops is
the same IR. Tensor types are parsed by xDSL the first time their text
appears and reused after. ``tests/test_fastparse.py`` checks the result equals xDSL's
parse on every zoo model's program and on the FileCheck inputs.
"""

from __future__ import annotations

import re

from xdsl.dialects.builtin import DenseArrayBase, i64
from xdsl.ir import TypeAttribute
from xdsl.parser import Parser

_I64_ARRAY = re.compile(r"<\s*i64\s*:\s*(-?\d{1,18}(?:\s*,\s*-?\d{1,18})*)\s*>")
"""``<i64: 1, -2, 3>`` (the part after ``array``). At most 18 digits: every
such integer is in i64's range, so xDSL's range check cannot fail."""

_TENSOR_TYPE = re.compile(r"tensor<(?:\d+x)*[a-z][a-z0-9]*>")
"""A static tensor type with a plain element type and no encoding."""


class FastParser(Parser):
    """xDSL's :class:`Parser`, with dense ``i64`` arrays read in one step."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._arrays: dict[str, DenseArrayBase] = {}
        self._types: dict[str, TypeAttribute] = {}

    def _parse_builtin_densearray_attr(self) -> DenseArrayBase | None:
        start = self.pos
        match = _I64_ARRAY.match(self.lexer.input.content, start)
        if match is None:
            return super()._parse_builtin_densearray_attr()
        text = match.group(1)
        found = self._arrays.get(text)
        if found is None:
            found = DenseArrayBase.from_list(i64, [int(x) for x in text.split(",")])
            self._arrays[text] = found
        self._resume_from(match.end())
        return found

    def _parse_optional_builtin_parametrized_type(self) -> TypeAttribute | None:
        match = _TENSOR_TYPE.match(self.lexer.input.content, self.pos)
        if match is None:
            return super()._parse_optional_builtin_parametrized_type()
        text = match.group(0)
        found = self._types.get(text)
        if found is not None:
            self._resume_from(match.end())
            return found
        found = super()._parse_optional_builtin_parametrized_type()
        if found is not None:  # xDSL's own result, reused wherever the text repeats
            self._types[text] = found
        return found


__all__ = ["FastParser"]
