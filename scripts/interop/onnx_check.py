#!/usr/bin/env python3
"""Checks ONNX files exported by Saddle with the onnx checker and ONNX Runtime.

Usage: onnx_check.py MANIFEST.json

The manifest lists cases: {"name", "onnx", "input", "input_shape", "expected",
"expected_shape", "dtype"}, where input and expected are raw little-endian arrays written by
Saddle (its inference output for the input). For each case this runs
onnx.checker.check_model(full_check=True), checks that the batch axis of the input and output is
symbolic, runs ONNX Runtime on the whole batch and on its first example alone, and prints one JSON
object per case: the largest absolute difference from Saddle's output and the largest absolute
output. The caller (a Swift test) applies the bound.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(case):
    model = onnx.load(case["onnx"])
    onnx.checker.check_model(model, full_check=True)
    dims = [model.graph.input[0].type.tensor_type.shape.dim[0], model.graph.output[0].type.tensor_type.shape.dim[0]]
    dynamic = all(d.dim_param and not d.dim_value for d in dims)
    dtype = np.float32 if case["dtype"] == "float32" else np.float64
    x = np.fromfile(case["input"], dtype=dtype).reshape(case["input_shape"])
    expected = np.fromfile(case["expected"], dtype=dtype).reshape(case["expected_shape"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(case["onnx"], options, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": x})
    (first,) = session.run(None, {"input": x[:1]})
    shape_ok = list(y.shape) == list(expected.shape) and list(first.shape) == [1] + list(expected.shape[1:])
    difference = float(max(np.max(np.abs(y - expected)), np.max(np.abs(first - expected[:1])))) if shape_ok else float("inf")
    finite = bool(np.all(np.isfinite(y)))
    return {
        "name": case["name"], "checker": True, "dynamic_batch": dynamic, "shape_ok": shape_ok, "finite": finite,
        "max_abs_difference": difference, "max_abs_output": float(np.max(np.abs(expected))),
        "output_dtype": str(y.dtype), "nodes": sorted({n.op_type for n in model.graph.node}),
    }


def main():
    cases = json.load(open(sys.argv[1]))
    for case in cases:
        try:
            result = check(case)
        except Exception as error:  # reported to the test, which fails on it
            result = {"name": case["name"], "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
