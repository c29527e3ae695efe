#!/usr/bin/env python3
"""Writes the seed corpus of the fuzzers (Tests/ReliabilityTests/Corpus/<format>/).

Seeds are valid inputs of each format, so that mutations explore past the first check. Run
files and checkpoints name the tiny CSV data set the fuzz harness writes to
/tmp/saddle-fuzz-data/tiny.csv; checkpoints are trained with the saddle command given as the
first argument (default .build/release/saddle).

    python3 scripts/make_fuzz_corpus.py [SADDLE]
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Tests", "ReliabilityTests", "Corpus")
TINY = "/tmp/saddle-fuzz-data/tiny.csv"


def tiny_rows():
    # The same 40 rows as FuzzHarness writes.
    def number(x):
        return repr(float(x))
    return "".join(f"{number((i % 7) * 0.5)},{number(i % 5 - 2)},{number(i % 3)},{i % 3}\n" for i in range(40))


def write(format_name, name, data):
    folder = os.path.join(CORPUS, format_name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def run(name, model, optimizer=None, data=None, train=None, **extra):
    value = {"format_version": 1, "name": name, "seed": 3,
             "data": data or {"name": "csv", "path": TINY, "validation": 0.25},
             "model": model, "optimizer": optimizer or {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
             "train": dict({"epochs": 2, "batch_size": 8, "progress": "silent"}, **(train or {}))}
    value.update(extra)
    return value


RUNS = [
    run("mlp", [{"layer": "dense", "units": 6}, {"layer": "relu"}, {"layer": "dense", "units": 3}]),
    run("adam_batchnorm", [{"layer": "dense", "units": 6}, {"layer": "batchnorm"}, {"layer": "tanh"}, {"layer": "dense", "units": 3}],
        optimizer={"name": "adam", "learning_rate": 0.01}, schedule={"name": "cosine"}),
    run("residual", [{"layer": "dense", "units": 5}, {"layer": "residual", "layers": [{"layer": "dense", "units": 5}, {"layer": "relu"}]},
                     {"layer": "dropout", "rate": 0.1}, {"layer": "dense", "units": 3}]),
    run("maxout", [{"layer": "maxout", "units": 4, "pieces": 3}, {"layer": "dense", "units": 3}],
        optimizer={"name": "sgd", "learning_rate": 0.1, "nesterov": True, "momentum": 0.5, "weight_decay": 0.001, "max_gradient_norm": 5}),
    run("grown", [{"layer": "dense", "units": 4}, {"layer": "relu"}, {"layer": "dense", "units": 3}],
        transforms=[{"at_epoch": 1, "name": "net2wider", "layer": "0", "units": 7, "split": 0.5}]),
    run("factored", [{"layer": "factored_linear", "units": 3, "rank": 4, "depth": 3}], loss="softmax_cross_entropy",
        schedule={"name": "warmup", "steps": 3, "then": {"name": "step", "step_size": 1, "gamma": 0.5}}),
    run("digits_lstm", [{"layer": "lstm", "hidden_size": 6}, {"layer": "dense", "units": 10}],
        data={"name": "digits", "format": "rows", "validation": 0.2}),
    run("digits_newton", [{"layer": "dense", "units": 3}, {"layer": "tanh"}, {"layer": "dense", "units": 10}],
        optimizer={"name": "saddle_free_newton", "learning_rate": 1}, data={"name": "digits", "standardize": "scalar"},
        train={"batch_size": 200, "evaluation_batch_size": 100}),
]


def main():
    saddle = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "saddle")
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(os.path.dirname(TINY), exist_ok=True)
    with open(TINY, "w") as f:
        f.write(tiny_rows())
    # Run files, and checkpoints trained from the CSV ones.
    scratch = tempfile.mkdtemp()
    for value in RUNS:
        text = json.dumps(value, indent=1)
        write("run_file", value["name"] + ".json", text)
        if value["data"]["name"] != "csv":
            continue
        value = json.loads(text)
        value["train"]["checkpoint_dir"] = os.path.join(scratch, value["name"])
        path = os.path.join(scratch, value["name"] + ".json")
        with open(path, "w") as f:
            json.dump(value, f)
        subprocess.run([saddle, "train", path], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(scratch, value["name"], "last.safetensors"), "rb") as f:
            write("checkpoint", value["name"] + ".safetensors", f.read())
    shutil.rmtree(scratch)
    # CSV files.
    rows = tiny_rows()
    write("csv", "tiny.csv", rows)
    write("csv", "header_crlf.csv", "a,b,c,label\r\n" + rows.replace("\n", "\r\n"))
    write("csv", "regression.csv", "".join(f"{i * 0.1},{i % 4},{(i * 0.37) % 1:.3f}\n" for i in range(30)))
    write("csv", "tiny.csv.gz", gzip.compress(rows.encode(), mtime=0))
    # IDX image files: 6 images of 4 x 4, plain and gzip.
    header = bytes([0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 4, 0, 0, 0, 4])
    pixels = bytes((i * 37) % 256 for i in range(6 * 16))
    write("idx", "images.idx", header + pixels)
    write("idx", "images.idx.gz", gzip.compress(header + pixels, mtime=0))
    write("idx", "vectors.idx", bytes([0, 0, 8, 2, 0, 0, 0, 6, 0, 0, 0, 5]) + bytes(range(30)))
    # Plugin descriptors, in the byte encoding of Tests/FuzzHarness/DescriptorDecoder.swift.
    names = "abcdefghijklmnopqrstuvwxyz_.0123AZ- é"
    roles = "nxyhebioXWgdDwspltc?IOmuUrkGPS"

    def text(s, alphabet=names):
        return [len(s)] + [alphabet.index(c) for c in s]

    def kernel(signature, present=True):
        return [0] + text(signature, roles) + ([0, 0] if present else [1, 1])

    # struct size, major, minor, name, version, summary, flags (ABI 1.1).
    info = [0, 0, 0, 0] + text("1.0") + text("") + [0]
    activation = [0] + text("abc") + text("") + [0] + [0, 0] + kernel("nxy") + kernel("nxy") + kernel("nxy")
    learning_rate = [1] + [0] + text("learning_rate") + [1, 0, 1, 0, 4] + text("")
    def optimizer(name):
        # name, summary, parameters, kind 2, one state name, struct size, update kernel.
        # ... then no string parameters (ABI 1.1), struct size, update kernel.
        return [0] + text(name) + text("") + learning_rate + [2] + [1] + text("v") + [0] + [0] + kernel("npgs")
    # name, summary, no parameters, kind 1, no weights, no buffers, no string parameters, struct
    # size, the three functions, kernels, then the nine ABI 1.1 fields at their defaults.
    layer = ([0] + text("scale") + text("") + [0] + [1, 0, 1, 0] + [0] + [0, 0, 0]
             + kernel("bxy") + kernel("bgd") + kernel("", False) + kernel("", False) + [0] * 9)
    write("plugin_descriptor", "activation.bin", bytes(info + [0] + activation))
    write("plugin_descriptor", "optimizer.bin", bytes(info + [0] + optimizer("step")))
    write("plugin_descriptor", "layer.bin", bytes(info + [0] + layer))
    write("plugin_descriptor", "three.bin", bytes(info + [2] + activation + optimizer("other") + layer))
    for k in range(2):
        write("plugin_descriptor", f"random{k}.bin", bytes((k * 89 + i * 31) % 256 for i in range(96)))


if __name__ == "__main__":
    main()
