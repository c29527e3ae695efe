#!/usr/bin/env python3
"""Writes Tests/Fixtures/lstm_head.safetensors: the state dict of a torch module with named
submodules (an LSTM and a Linear head, PyTorch's own names `lstm.*` and `head.*`), an input
batch and the module's logits on it, all in float64. Needs torch (tested with 2.13.0+cpu).

    python3 scripts/pytorch_named_golden.py
"""
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LSTMHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size=3, hidden_size=4, batch_first=True)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def main():
    torch.manual_seed(11)
    model = LSTMHead().double()
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        logits = model(x)
    tensors = {name: value.detach().clone() for name, value in model.state_dict().items()}
    tensors["input"] = x
    tensors["logits"] = logits
    path = os.path.join(ROOT, "Tests", "Fixtures", "lstm_head.safetensors")
    save_file(tensors, path, metadata={"torch": torch.__version__, "module": "LSTMHead: lstm = LSTM(3, 4, batch_first), head = Linear(4, 2)"})
    print(path, sorted(tensors))


if __name__ == "__main__":
    main()
