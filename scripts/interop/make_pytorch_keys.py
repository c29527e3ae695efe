#!/usr/bin/env python3
"""Writes Tests/Fixtures/pytorch_state_dict_keys.json: the state-dict keys and shapes of torch.nn
modules built with the structure of Saddle's example models, as PyTorch names them.

The Swift test (PyTorchExportTests) exports the same Saddle models with PyTorchNames.exporting
and checks the keys and shapes against this file, without needing torch at test time. Each entry
lists the renames (saddle_prefix=pytorch_prefix) its Saddle export needs. Run by hand after a
change of the example models: python3 scripts/interop/make_pytorch_keys.py
"""
import json
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn


class Residual(nn.Module):
    """Saddle's residual block: branch, optional shortcut (`branch.*`, `shortcut.*`)."""

    def __init__(self, branch, shortcut=None):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.branch(x) + skip)


def basic_block(cin, cout, stride):
    branch = nn.Sequential(OrderedDict(
        c1=nn.Conv2d(cin, cout, 3, stride, 1, bias=False), b1=nn.BatchNorm2d(cout), relu=nn.ReLU(),
        c2=nn.Conv2d(cout, cout, 3, 1, 1, bias=False), b2=nn.BatchNorm2d(cout)))
    shortcut = None
    if stride != 1 or cin != cout:
        shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    return Residual(branch, shortcut)


def fashion_resnet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        basic_block(16, 16, 1), basic_block(16, 32, 2), basic_block(32, 64, 2),
        nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(64, 10))


class NamedResNet(nn.Module):
    """The same network as torchvision-style code names it: what names alone cannot express."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 16, 3, 1, 1, bias=False), bn=nn.BatchNorm2d(16), relu=nn.ReLU()))
        self.layer1 = basic_block(16, 16, 1)
        self.layer2 = basic_block(16, 32, 2)
        self.layer3 = basic_block(32, 64, 2)
        self.fc = nn.Linear(64, 10)


def digits_batchnorm():
    return nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
        Residual(nn.Sequential(nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU())), nn.Linear(128, 10))


def digits_lstm():
    return nn.Sequential(nn.LSTM(8, 64, batch_first=True), nn.Linear(64, 10))


def main():
    models = {
        "fashion_resnet": (fashion_resnet(), []),
        "fashion_resnet_named": (NamedResNet(), ["0=stem.conv", "1=stem.bn", "3=layer1", "4=layer2", "5=layer3", "7=fc"]),
        "digits_batchnorm": (digits_batchnorm(), []),
        "digits_lstm": (digits_lstm(), []),
    }
    fixture = OrderedDict()
    for name, (module, renames) in models.items():
        keys = OrderedDict((k, list(v.shape)) for k, v in module.state_dict().items())
        fixture[name] = {"example": name.removesuffix("_named"), "renames": renames, "keys": keys}
    fixture["torch_version"] = torch.__version__
    out = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "pytorch_state_dict_keys.json"
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
