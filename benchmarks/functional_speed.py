"""Functional simulation speed: ResNet-50 (batch 1, 224 x 224, random
weights) through the `cim_meta` program vs ONNX Runtime, same thread count.

    python benchmarks/functional_speed.py [--threads 1] [--repeat 3] [--out results/functional_speed.json]

The ONNX graph is written here with `onnx.helper` (torchvision's ResNet-50
v1.5 layout, batch norm folded into the convolutions, He-initialised random
weights), so the script needs neither torch nor a download. Target (issue 7):
simulation within 20x ONNX Runtime's time, error under 1e-4
(max|sim - ref| / max|ref|). Timing excludes compilation; both sides are
timed on the same input after one warm-up run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _set_threads(n: int) -> None:
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[key] = str(n)


def resnet50_onnx(path: Path, seed: int = 0) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    count = [0]

    def name(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}{count[0]}"

    def conv(x: str, cin: int, cout: int, k: int, stride: int, relu: bool) -> str:
        w, b, y = name("w"), name("b"), name("conv")
        std = np.sqrt(2.0 / (cin * k * k))
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32), w))  # fmt: skip
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(cout) * 0.01).astype(np.float32), b))  # fmt: skip
        pad = k // 2
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[pad] * 4))  # fmt: skip
        if not relu:
            return y
        r = name("relu")
        nodes.append(helper.make_node("Relu", [y], [r]))
        return r

    x = conv("input", 3, 64, 7, 2, True)
    p = name("pool")
    nodes.append(helper.make_node("MaxPool", [x], [p], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))  # fmt: skip
    x, cin = p, 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            s = stride if i == 0 else 1
            y = conv(x, cin, width, 1, 1, True)
            y = conv(y, width, width, 3, s, True)
            y = conv(y, width, width * 4, 1, 1, False)
            short = conv(x, cin, width * 4, 1, s, False) if i == 0 else x
            a, r = name("add"), name("relu")
            nodes.append(helper.make_node("Add", [y, short], [a]))
            nodes.append(helper.make_node("Relu", [a], [r]))
            x, cin = r, width * 4
    g, f = name("gap"), name("flat")
    nodes.append(helper.make_node("GlobalAveragePool", [x], [g]))
    nodes.append(helper.make_node("Flatten", [g], [f], axis=1))
    w, b = name("fcw"), name("fcb")
    inits.append(numpy_helper.from_array(
        (rng.standard_normal((1000, 2048)) * np.sqrt(1 / 2048)).astype(np.float32), w))  # fmt: skip
    inits.append(numpy_helper.from_array(np.zeros(1000, np.float32), b))
    nodes.append(helper.make_node("Gemm", [f, w, b], ["output"], transB=1))
    graph = helper.make_graph(
        nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1000])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--policy", default="cmswitch")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    _set_threads(args.threads)

    import numpy as np
    import onnxruntime as ort

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import write_results

    from cmswitch.compile import compile_model, parse_policy
    from cmswitch.lowering.cim_to_meta import meta_program
    from cmswitch.models import load_model
    from cmswitch.passes.cim_schedule import ScheduleOptions
    from cmswitch.simulator.functional import run_functional

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.onnx"
        resnet50_onnx(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
        t = time.perf_counter()
        model = load_model(str(path))
        result = compile_model(model, parse_policy(args.policy, ScheduleOptions()))
        program = meta_program(result.module)
        compile_s = time.perf_counter() - t

    def best(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
        out = fn()  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    ort_s, ref = best(lambda: session.run(None, {"input": x})[0])
    sim_s, got = best(lambda: run_functional(program, {"input": x}, model.store)[0])
    ref_a, got_a = np.asarray(ref), np.asarray(got)
    error = float(np.abs(got_a - ref_a).max() / np.abs(ref_a).max())
    ratio = sim_s / ort_s
    print(f"resnet50 batch 1, {args.threads} thread(s), policy {args.policy}: "
          f"onnxruntime {ort_s * 1e3:.1f} ms, functional simulation {sim_s * 1e3:.1f} ms "
          f"({ratio:.1f}x; target <= 20x), error {error:.2e} (target < 1e-4); "
          f"compile + lower {compile_s:.1f} s, {len(result.schedule.segments)} segments")  # fmt: skip
    if args.out:
        write_results(args.out, "benchmarks/functional_speed.py", {
            "model": "resnet50 (onnx.helper, random weights)", "batch": 1,
            "policy": args.policy, "threads": args.threads,
            "onnxruntime_seconds": ort_s, "functional_seconds": sim_s, "ratio": ratio,
            "max_rel_error": error, "segments": len(result.schedule.segments),
        })  # fmt: skip
    return 0 if ratio <= 20 and error < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
