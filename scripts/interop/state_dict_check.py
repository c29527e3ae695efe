#!/usr/bin/env python3
"""Checks a state dict exported by `saddle export --pytorch` against PyTorch's keys.

Usage: state_dict_check.py FIXTURE.json MODEL FILE.safetensors [--torch]

Reads FILE with the safetensors package (numpy), compares its keys and shapes with the entry
MODEL of the fixture (made with torch by make_pytorch_keys.py; BatchNorm's num_batches_tracked,
which torch fills in when absent, is not required) and prints one JSON object: missing and
unexpected keys, shape mismatches and non-finite tensors. With --torch (where torch is installed)
it also builds the torch module and loads the file with strict=True.
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def main():
    fixture_path, model, path = sys.argv[1:4]
    expected = json.load(open(fixture_path))[model]["keys"]
    tensors = load_file(path)
    required = {k: v for k, v in expected.items() if not k.endswith("num_batches_tracked")}
    result = {
        "model": model,
        "missing": sorted(set(required) - set(tensors)),
        "unexpected": sorted(set(tensors) - set(expected)),
        "shape_mismatches": sorted(k for k in required if k in tensors and list(tensors[k].shape) != required[k]),
        "non_finite": sorted(k for k, v in tensors.items() if not np.all(np.isfinite(v))),
        "count": len(tensors),
    }
    if "--torch" in sys.argv:
        import torch
        sys.path.insert(0, __file__.rsplit("/", 1)[0])
        import make_pytorch_keys as m
        module = {"fashion_resnet": m.fashion_resnet, "fashion_resnet_named": m.NamedResNet,
                  "digits_batchnorm": m.digits_batchnorm, "digits_lstm": m.digits_lstm}[model]()
        state = {k: torch.from_numpy(v) for k, v in tensors.items()}
        result["torch_strict_load"] = str(module.load_state_dict(state, strict=True))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
