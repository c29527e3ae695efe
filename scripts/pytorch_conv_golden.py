#!/usr/bin/env python3
"""Writes the conv-net golden fixtures Tests/Fixtures/conv_small.safetensors and
Tests/Fixtures/resnet8.safetensors, all float64:

- the state dict before training (PyTorch's own names),
- `input`, `labels`, the training-mode `logits` (batch statistics), the mean cross-entropy
  `loss` and its gradient for every parameter (`grad.<name>`),
- the BatchNorm running statistics after that one training-mode forward (`after.<name>`),
- the inference-mode logits with those statistics (`eval_logits`).

conv_small covers stride, padding, dilation, groups, "same" padding of an even kernel, max and
average pooling, BatchNorm2d, Flatten and Linear; resnet8 is the module of
../shared/bench/torch_bench.py (section f). Needs torch and safetensors.

    python3 scripts/pytorch_conv_golden.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv_small():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), nn.BatchNorm2d(6), nn.Tanh(),
        nn.AvgPool2d(2), nn.Conv2d(6, 6, (2, 4), padding="same", bias=False),
        nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(8, 3))


class Block(nn.Module):
    """The basic block of torch_bench.py: conv3x3-BN-ReLU-conv3x3-BN (+ 1x1 conv-BN shortcut), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


def resnet8():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def write(name, model, x, classes):
    model = model.double()
    labels = torch.arange(x.shape[0]) % classes
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    for k, p in model.named_parameters():
        tensors["grad." + k] = p.grad.detach().clone()
    for k, v in model.state_dict().items():
        if "running_" in k:
            tensors["after." + k] = v.detach().clone()
    model.eval()
    with torch.no_grad():
        tensors["eval_logits"] = model(x)
    tensors.update(input=x, labels=labels.double(), logits=logits.detach(), loss=loss.detach().reshape(1))
    path = os.path.join(ROOT, "Tests", "Fixtures", name + ".safetensors")
    save_file(tensors, path, metadata={"torch": torch.__version__, "module": name})
    print(path, len(tensors), "tensors")


def main():
    torch.manual_seed(7)
    write("conv_small", conv_small(), torch.randn(5, 1, 8, 8, dtype=torch.float64), 3)
    torch.manual_seed(8)
    write("resnet8", resnet8(), torch.randn(4, 1, 12, 12, dtype=torch.float64), 10)


if __name__ == "__main__":
    main()
