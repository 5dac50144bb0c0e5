"""lit configuration of the FileCheck suite (run by tests/test_filecheck.py)."""

import os
import sys

import lit.formats

config.name = "cmswitch"  # noqa: F821 (config is injected by lit)
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir", ".py"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
config.excludes = ["lit.cfg.py", "inputs"]  # noqa: F821
# The tools of the interpreter running lit (venv bin), even when not activated.
bindir = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])  # noqa: F821
config.substitutions.append(("%python", sys.executable))  # noqa: F821
# lit passes no environment through by default: keep PYTHONPATH, so that a
# copy of the package on it (benchmarks/mutation.py, tests/faults) is the one tested.
if "PYTHONPATH" in os.environ:
    config.environment["PYTHONPATH"] = os.environ["PYTHONPATH"]  # noqa: F821
