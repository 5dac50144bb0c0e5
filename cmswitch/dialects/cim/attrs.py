"""`cim` attributes: array modes (`#cim<mode ...>`), an operator's arrays
(`#cim.alloc`) and the chip (`#cim.hardware`)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import auto
from typing import cast

from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatData,
    IntAttr,
    StringAttr,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    ParametrizedAttribute,
    SpacedOpaqueSyntaxAttribute,
)
from xdsl.irdl import (
    irdl_attr_definition,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from cmswitch.hardware import Hardware, HardwareError

# --------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------


class Mode(StrEnum):
    """What a dual-mode array does within a segment."""

    COMPUTE = auto()
    MEMORY = auto()


@irdl_attr_definition
class ModeAttr(EnumAttribute[Mode], SpacedOpaqueSyntaxAttribute):
    """An array mode: ``#cim<mode compute>`` or ``#cim<mode memory>``."""

    name = "cim.mode"


@irdl_attr_definition
class AllocationAttr(ParametrizedAttribute):
    """Arrays given to one CIM operator inside a segment.

    ``#cim.alloc<compute = 4, mem_in = 1, mem_out = 2>``: `compute` arrays hold
    the operator's weights (more than the minimum is weight duplication),
    `mem_in` / `mem_out` memory-mode arrays buffer its input and output.
    """

    name = "cim.alloc"

    compute: IntAttr
    mem_in: IntAttr
    mem_out: IntAttr

    def __init__(self, compute: int, mem_in: int = 0, mem_out: int = 0):
        super().__init__(IntAttr(compute), IntAttr(mem_in), IntAttr(mem_out))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: dict[str, int] = {}
        with parser.in_angle_brackets():
            for i, key in enumerate(("compute", "mem_in", "mem_out")):
                if i:
                    parser.parse_punctuation(",")
                parser.parse_keyword(key)
                parser.parse_punctuation("=")
                values[key] = parser.parse_integer(allow_negative=False)
        return (IntAttr(values["compute"]), IntAttr(values["mem_in"]), IntAttr(values["mem_out"]))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f"<compute = {self.compute.data}, mem_in = {self.mem_in.data}, "
            f"mem_out = {self.mem_out.data}>"
        )

    def verify(self) -> None:
        for key in ("compute", "mem_in", "mem_out"):
            if getattr(self, key).data < 0:
                raise VerifyException(f"#cim.alloc: {key} must be >= 0")

    @property
    def memory(self) -> int:
        return self.mem_in.data + self.mem_out.data


@irdl_attr_definition
class HardwareAttr(ParametrizedAttribute):
    """The chip, carried in the IR so a `.mlir` file is self-contained.

    ``#cim.hardware<"dynaplasia", arrays = 96, rows = 320, ...>`` lists every
    field of :class:`cmswitch.hardware.Hardware`; it verifies exactly like a
    hardware file does. Convert with :meth:`from_hardware` / :meth:`hardware`.
    """

    name = "cim.hardware"

    chip: StringAttr
    fields: DictionaryAttr

    @staticmethod
    def from_hardware(hw: Hardware) -> HardwareAttr:
        values: dict[str, Attribute] = {}
        for key in Hardware.field_names():
            value = getattr(hw, key)
            values[key] = FloatData(value) if isinstance(value, float) else IntAttr(value)
        return HardwareAttr(StringAttr(hw.name), DictionaryAttr(values))

    def hardware(self) -> Hardware:
        data: dict[str, object] = {"name": self.chip.data}
        for key, value in self.fields.data.items():
            data[key] = cast(IntAttr | FloatData, value).data
        return Hardware.from_dict(data, f"#cim.hardware<{self.chip.data!r}>")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: dict[str, Attribute] = {}
        start = parser.pos
        with parser.in_angle_brackets():
            chip = parser.parse_str_literal("hardware name")
            while parser.parse_optional_punctuation(",") is not None:
                key = parser.parse_identifier("hardware field name")
                parser.parse_punctuation("=")
                number = parser.parse_number()
                values[key] = FloatData(number) if isinstance(number, float) else IntAttr(number)
        attr = (StringAttr(chip), DictionaryAttr(values))
        try:
            HardwareAttr(*attr).hardware()
        except (HardwareError, VerifyException) as err:
            # A located parse error instead of a traceback from verify().
            parser.raise_error(str(err), start, parser.pos)
        return attr

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f'<"{self.chip.data}"')
        for key, value in self.fields.data.items():
            number = cast(IntAttr | FloatData, value).data
            printer.print_string(f", {key} = {number!r}")
        printer.print_string(">")

    def verify(self) -> None:
        for key, value in self.fields.data.items():
            if not isinstance(value, IntAttr | FloatData):
                raise VerifyException(f"#cim.hardware: field {key!r} must be a number")
        try:
            self.hardware()
        except HardwareError as err:
            raise VerifyException(str(err)) from None
