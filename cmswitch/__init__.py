"""cmswitch: a dual-mode-aware DNN compiler for computing-in-memory chips.

``cmswitch.simulate(...)`` compiles, lowers and simulates a model (see
:mod:`cmswitch.simulate`).
"""

from cmswitch.simulate import simulate

__all__ = ["simulate"]
