#!/usr/bin/env python3
"""One runtime at one precision in its own process, driven by compare.py over stdin/stdout.

    worker.py RUNTIME PRECISION MODEL_DIR THREADS INPUTS.npz [SPEEDUP]

Commands, one a line: "run SEQ BATCH" runs the inputs of that shape once and answers the wall
time in ms; "rss" answers the process's peak resident memory in KiB; "quit".
RUNTIME: lat | onnxruntime | torch | ctranslate2 | openvino; PRECISION: fp32 | bf16 | int8, and
int8-static for lat and onnxruntime, as each runtime offers them (compare.py prepares the quantized
models).
"""
import ctypes
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def make_runner(runtime, precision, model_dir, threads, speedup):
    if runtime == "lat":
        lib = ctypes.CDLL(str(ROOT / "build" / "benchmarks" / "liblat_peer.so"))
        lib.lat_peer_open.restype = ctypes.c_void_p
        lib.lat_peer_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_double, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_int]
        lib.lat_peer_run.restype = ctypes.c_double
        lib.lat_peer_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        error = ctypes.create_string_buffer(1024)
        handle = lib.lat_peer_open(str(model_dir).encode(), threads, speedup, precision.encode(), error, 1024)
        if not handle:
            raise RuntimeError(error.value.decode())

        def run(ids):
            ids = np.ascontiguousarray(ids, dtype=np.int32)
            ms = lib.lat_peer_run(handle, ids.ctypes.data, ids.shape[0], ids.shape[1])
            if ms < 0:
                raise RuntimeError("lat run failed")
            return ms
        return run

    if runtime == "onnxruntime":
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        name = {"fp32": "model_optimized.onnx", "int8": "model_optimized_int8.onnx",
                "int8-static": "model_int8_static.onnx"}[precision]
        session = ort.InferenceSession(str(model_dir / "onnx" / name), opts, providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}

        def run(ids):
            feed = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids, dtype=np.int64)}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids, dtype=np.int64)
            start = time.perf_counter()
            session.run(None, feed)
            return (time.perf_counter() - start) * 1e3
        return run

    if runtime == "torch":
        import torch
        from compare import encoder_model
        assert precision == "fp32"
        torch.set_num_threads(threads)
        try:
            model = encoder_model(model_dir, attn_implementation="sdpa")
        except ValueError:  # a family without SDPA in transformers (MPNet) runs its own attention
            model = encoder_model(model_dir)

        def run(ids):
            t = torch.from_numpy(ids.astype(np.int64))
            start = time.perf_counter()
            with torch.inference_mode():
                model(input_ids=t)
            return (time.perf_counter() - start) * 1e3
        return run

    if runtime == "ctranslate2":
        import ctranslate2
        encoder = ctranslate2.Encoder(str(model_dir / "ct2"), device="cpu", intra_threads=threads, inter_threads=1,
                                      compute_type={"fp32": "float32", "int8": "int8"}[precision])

        def run(ids):
            tokens = ids.tolist()
            start = time.perf_counter()
            encoder.forward_batch(tokens)
            return (time.perf_counter() - start) * 1e3
        return run

    if runtime == "openvino":
        import openvino as ov
        core = ov.Core()
        path = model_dir / "openvino" / ("model_int8.xml" if precision == "int8" else "model.xml")
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  # fp32 means fp32: on CPUs with AVX512_BF16 OpenVINO otherwise runs bf16.
                  "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        compiled = core.compile_model(core.read_model(path), "CPU", config)
        request = compiled.create_infer_request()
        names = {i.get_any_name() for i in compiled.inputs}

        def run(ids):
            feed = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids, dtype=np.int64)}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids, dtype=np.int64)
            start = time.perf_counter()
            request.infer(feed)
            return (time.perf_counter() - start) * 1e3
        return run

    raise ValueError(runtime)


def main():
    runtime, precision, model_dir, threads, inputs = (sys.argv[1], sys.argv[2], Path(sys.argv[3]),
                                                      int(sys.argv[4]), sys.argv[5])
    speedup = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    data = np.load(inputs)
    run = make_runner(runtime, precision, model_dir, threads, speedup)
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "run":
            seq, batch = int(cmd[1]), int(cmd[2])
            ids = data[f"seq{seq}"][:batch]
            print(f"{run(ids):.4f}", flush=True)
        elif cmd[0] == "rss":  # VmHWM: this process's own peak (ru_maxrss can carry the parent's)
            status = Path("/proc/self/status").read_text()
            print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), flush=True)


if __name__ == "__main__":
    main()
