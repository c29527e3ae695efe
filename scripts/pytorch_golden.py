#!/usr/bin/env python3
"""Golden reference numbers and fixtures from PyTorch for Saddle's Swift tests.

Produces:
  * float64 reference values for an LSTM (full-sequence loss and last-hidden-state loss,
    with gradients) and for BatchNorm1d (training and inference mode, with gradients),
    printed as Swift array literals with full precision;
  * Tests/Fixtures/mlp_batchnorm.safetensors and Tests/Fixtures/lstm.safetensors
    (float32 state_dicts, num_batches_tracked kept as int64) plus their expected outputs;
  * Tests/Fixtures/pytorch_golden.txt, an exact copy of everything printed.

Fully deterministic: no random numbers; every value comes from sin/cos formulas.
Requires torch and safetensors (pip install safetensors).

usage: python3 scripts/pytorch_golden.py
"""
import math
import os

import torch
from torch import nn
from safetensors.torch import save_file

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
LINES = []  # everything printed, so it can also be written to pytorch_golden.txt


def out(text=""):
    print(text)
    LINES.append(text)


def seq(n, a, c, s):
    """[s * sin(a*j + c) for j < n], the formula every test value is built from."""
    return [s * math.sin(a * j + c) for j in range(n)]


def tensor(values, shape, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype).reshape(shape)


def swift(name, t):
    """Print a tensor (flattened, row-major) as a Swift [Double] literal, 4 values a line."""
    vals = [repr(float(v)) for v in t.detach().reshape(-1).tolist()]
    rows = [", ".join(vals[i:i + 4]) for i in range(0, len(vals), 4)]
    out(f"let {name}: [Double] = [  // shape {list(t.shape)}")
    out(",\n".join("    " + r for r in rows))
    out("]")


def fill_lstm(lstm, dtype):
    """Set the LSTM's parameters (PyTorch gate order i, f, g, o) from the seq formulas."""
    values = {"weight_ih_l0": seq(48, 0.7, 1.0, 0.3), "weight_hh_l0": seq(64, 0.7, 2.0, 0.3),
              "bias_ih_l0": seq(16, 0.7, 3.0, 0.3), "bias_hh_l0": seq(16, 0.7, 4.0, 0.3)}
    with torch.no_grad():
        for name, v in values.items():
            p = getattr(lstm, name)
            p.copy_(tensor(v, p.shape, dtype))


# ---------------------------------------------------------------- Part 1: LSTM (float64)
out("// ===== Part 1: LSTM(input 3, hidden 4), float64, batch_first, zero initial state =====")
lstm = nn.LSTM(3, 4, num_layers=1, batch_first=True, dtype=torch.float64)
fill_lstm(lstm, torch.float64)
x_lstm = seq(30, 0.37, 0.0, 1.0)

# (a) loss over the full output sequence
x = tensor(x_lstm, (2, 5, 3)).requires_grad_()
output, (h_n, c_n) = lstm(x)
R = tensor([math.cos(0.11 * j) for j in range(40)], (2, 5, 4))
(output * R).sum().backward()
out("// L = sum(output * R), R[j] = cos(0.11 j)")
swift("lstmOutput", output)
swift("lstmGradX", x.grad)
for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
    swift("lstmGrad_" + name, getattr(lstm, name).grad)

# (b) loss on the last hidden state only
lstm.zero_grad()
x = tensor(x_lstm, (2, 5, 3)).requires_grad_()
output, (h_n, c_n) = lstm(x)
R2 = tensor([math.cos(0.23 * j) for j in range(8)], (2, 4))
(h_n[0] * R2).sum().backward()
out("// L2 = sum(h_n[0] * R2), R2[j] = cos(0.23 j)")
swift("lstmHn", h_n[0])
swift("lstmHnGradX", x.grad)
swift("lstmHnGrad_weight_hh_l0", lstm.weight_hh_l0.grad)

# ---------------------------------------------------------------- Part 2: BatchNorm1d (float64)
out()
out("// ===== Part 2: BatchNorm1d(3, eps 1e-5, momentum 0.1), float64 =====")
bn = nn.BatchNorm1d(3, eps=1e-5, momentum=0.1, dtype=torch.float64)
with torch.no_grad():
    bn.weight.copy_(tensor([1.0, 0.5, -1.5], (3,)))
    bn.bias.copy_(tensor([0.1, -0.2, 0.3], (3,)))
x_bn = [math.sin(0.5 * j) * (1 + j % 3) for j in range(18)]
R = tensor([math.cos(0.3 * j) for j in range(18)], (6, 3))

# training mode: batch statistics, running stats updated (running_var uses unbiased variance)
bn.train()
x = tensor(x_bn, (6, 3)).requires_grad_()
y = bn(x)
(y * R).sum().backward()
out("// training mode; L = sum(y * R), R[j] = cos(0.3 j)")
swift("bnTrainY", y)
swift("bnRunningMean", bn.running_mean)
swift("bnRunningVar", bn.running_var)
swift("bnTrainGradX", x.grad)
swift("bnGradWeight", bn.weight.grad)
swift("bnGradBias", bn.bias.grad)
swift("bnTrainGradXSumOverBatch", x.grad.sum(dim=0))

# inference mode: explicit running statistics
bn.eval()
bn.zero_grad()
with torch.no_grad():
    bn.running_mean.copy_(tensor([0.2, -0.1, 0.4], (3,)))
    bn.running_var.copy_(tensor([1.5, 0.7, 2.0], (3,)))
x = tensor(x_bn, (6, 3)).requires_grad_()
y = bn(x)
(y * R).sum().backward()
out("// inference mode, running_mean [0.2, -0.1, 0.4], running_var [1.5, 0.7, 2.0]; same L")
swift("bnEvalY", y)
swift("bnEvalGradX", x.grad)

# ---------------------------------------------------------------- Part 3: fixtures (float32)
os.makedirs(FIXTURES, exist_ok=True)
out()
out("// ===== Part 3: safetensors fixtures (float32) =====")

# (a) Linear -> BatchNorm1d -> ReLU -> Linear. k is the entry's 0-based position in
# state_dict() order (counting every entry); non-floating entries (num_batches_tracked) are skipped.
mlp = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3))
with torch.no_grad():
    for k, (name, t) in enumerate(mlp.state_dict().items()):
        if not t.is_floating_point():
            continue
        v = seq(t.numel(), 0.9, k, 0.4)
        if name.endswith("running_var"):
            v = [1 + 0.5 * abs(a) for a in v]  # keep variances positive
        t.copy_(tensor(v, t.shape, torch.float32))
    mlp.train()
    mlp(tensor(seq(40, 0.3, 0.5, 1.0), (10, 4), torch.float32))  # one step: moves running stats
    mlp.eval()
    state = {k: v.contiguous() for k, v in mlp.state_dict().items()}
    save_file(state, os.path.join(FIXTURES, "mlp_batchnorm.safetensors"))
    y = mlp(tensor(seq(8, 0.45, 0.2, 1.5), (2, 4), torch.float32))
out("// mlp_batchnorm.safetensors: Sequential(Linear(4,5), BatchNorm1d(5), ReLU, Linear(5,3))")
for k, v in state.items():
    out(f"//   {k}: {str(v.dtype).replace('torch.', '')} {list(v.shape)}")
out("// eval-mode output for x_eval = seq(8, 0.45, 0.2, 1.5) as [2, 4], computed in float32")
swift("mlpBatchNormEvalOutput", y)

# (b) LSTM(3, 4) with Part 1's parameters, float32
lstm32 = nn.LSTM(3, 4, batch_first=True)
fill_lstm(lstm32, torch.float32)
state = {k: v.contiguous() for k, v in lstm32.state_dict().items()}
save_file(state, os.path.join(FIXTURES, "lstm.safetensors"))
with torch.no_grad():
    output, _ = lstm32(tensor(x_lstm, (2, 5, 3), torch.float32))
out("// lstm.safetensors: LSTM(3, 4, batch_first) with Part 1's parameters")
for k, v in state.items():
    out(f"//   {k}: {str(v.dtype).replace('torch.', '')} {list(v.shape)}")
out("// output sequence for x = seq(30, 0.37, 0.0, 1.0) as [2, 5, 3], computed in float32")
swift("lstmFloat32Output", output)

with open(os.path.join(FIXTURES, "pytorch_golden.txt"), "w") as f:
    f.write("\n".join(LINES) + "\n")
