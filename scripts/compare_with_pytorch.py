#!/usr/bin/env python3
"""Side-by-side benchmark: Saddle's saddle-bench against PyTorch's torch_bench.py.

Runs the two alternately (--rounds times each) through run_quiet.py, drops runs during which
other processes took more than --max-other of the CPUs, and prints, per workload, every kept
pair, both medians and their ratio (Saddle / PyTorch; below 1 means Saddle is faster).

usage: scripts/compare_with_pytorch.py [--rounds 5] [--bench-dir ../shared/bench]
                                       [--saddle .build/release/saddle-bench] [--json OUT]
"""
import argparse, json, os, re, statistics, subprocess, sys

# row label -> (saddle-bench key, path to PyTorch's figure in torch_bench.py's JSON)
ROWS = {
    "mlp_64_256_256_10_b128_step_ms": ("mlp_64_256_256_10_b128_step_ms", ("a_mlp_sgd_momentum", "mlp_64_256_256_10_b128", "step_ms")),
    "mlp_784_1024_1024_10_b256_step_ms": ("mlp_784_1024_1024_10_b256_step_ms", ("a_mlp_sgd_momentum", "mlp_784_1024_1024_10_b256", "step_ms")),
    "mlp_64_256_256_10_b128_bn_step_ms": ("mlp_64_256_256_10_b128_bn_step_ms", ("b_mlp_batchnorm", "mlp_64_256_256_10_b128_bn", "step_ms")),
    "mlp_784_1024_1024_10_b256_bn_step_ms": ("mlp_784_1024_1024_10_b256_bn_step_ms", ("b_mlp_batchnorm", "mlp_784_1024_1024_10_b256_bn", "step_ms")),
    "lstm_i8_h128_t8_b128_step_ms": ("lstm_i8_h128_t8_b128_step_ms", ("c_lstm_i8_h128_t8_b128", "nn_LSTM_step_ms")),
    "hessian_tiny_105_ms": ("hessian_tiny_105_ms", ("d_hessian", "full_hessian_autograd_ms")),
    "hessian_tiny_105_ms_vs_vectorized": ("hessian_tiny_105_ms", ("d_hessian", "full_hessian_autograd_vectorize_ms")),
    "hvp_mlp_64_256_256_10_b128_ms": ("hvp_mlp_64_256_256_10_b128_ms", ("d_hessian", "hvp_mlp_64_256_256_10_b128_ms")),
    "grad_mlp_64_256_256_10_b128_ms": ("grad_mlp_64_256_256_10_b128_ms", ("d_hessian", "grad_only_same_mlp_ms")),
    "cnn_fmnist_b128_step_ms": ("cnn_fmnist_b128_step_ms", ("f_conv", "cnn_fmnist_b128", "step_ms")),
    "resnet8_fmnist_b128_step_ms": ("resnet8_fmnist_b128_step_ms", ("f_conv", "resnet8_fmnist_b128", "step_ms")),
    "hvp_cnn_b32_ms": ("hvp_cnn_b32_ms", ("f_conv", "hvp_cnn_b32_ms")),
    "grad_cnn_b32_ms": ("grad_cnn_b32_ms", ("f_conv", "grad_cnn_b32_ms")),
}

# Parameter counts printed beside the rows: saddle-bench key -> PyTorch path.
PARAMETERS = {
    "cnn_fmnist_b128_params": ("f_conv", "cnn_fmnist_b128", "params"),
    "resnet8_fmnist_b128_params": ("f_conv", "resnet8_fmnist_b128", "params"),
}


def run(command, run_quiet):
    p = subprocess.run([sys.executable, run_quiet, "--"] + command, capture_output=True, text=True)
    match = re.search(r"other_cpu_frac=([0-9.]+)", p.stderr)
    other = float(match.group(1)) if match else 1.0
    if p.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1]), other


def lookup(data, path):
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bench-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
    ap.add_argument("--saddle", default=".build/release/saddle-bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-other", type=float, default=0.05)
    ap.add_argument("--json", help="write the kept runs and medians here")
    ap.add_argument("--summarize", metavar="JSON", help="print the table for the runs saved in JSON instead of running")
    a = ap.parse_args()
    if a.summarize:
        with open(a.summarize) as f:
            saved = json.load(f)
        summarize(saved["saddle_runs"], saved["torch_runs"], a.json)
        return
    run_quiet = os.path.join(a.bench_dir, "run_quiet.py")
    torch_bench = os.path.join(a.bench_dir, "torch_bench.py")
    saddle_runs, torch_runs = [], []
    for r in range(a.rounds):
        s, so = run([a.saddle, "--threads", str(a.threads)], run_quiet)
        t, to = run([sys.executable, torch_bench, "--threads", str(a.threads)], run_quiet)
        print(f"round {r + 1}: saddle other_cpu_frac={so:.3f}, torch other_cpu_frac={to:.3f}", file=sys.stderr)
        if so <= a.max_other and to <= a.max_other:
            saddle_runs.append(s)
            torch_runs.append(t)
    if not saddle_runs:
        sys.exit("no quiet rounds; try again later")
    summarize(saddle_runs, torch_runs, a.json)


def summarize(saddle_runs, torch_runs, out):
    summary = {"rounds_kept": len(saddle_runs), "blas_core": saddle_runs[0].get("blas_core"),
               "sgemm_1024_gflops": statistics.median(r["sgemm_1024_gflops"] for r in saddle_runs if "sgemm_1024_gflops" in r),
               "workloads": {}}
    print(f"{'workload':40} {'saddle':>10} {'pytorch':>10} {'ratio':>7}  pairs (saddle/pytorch)")
    for row, (key, path) in ROWS.items():
        pairs = [(s[key], lookup(t, path)) for s, t in zip(saddle_runs, torch_runs) if key in s and lookup(t, path) is not None]
        if not pairs:
            continue
        ms = statistics.median(p[0] for p in pairs)
        mt = statistics.median(p[1] for p in pairs)
        summary["workloads"][row] = {"saddle_ms": ms, "pytorch_ms": mt, "ratio": ms / mt, "pairs": pairs}
        listing = ", ".join(f"{x:.3f}/{y:.3f}" for x, y in pairs)
        print(f"{row:40} {ms:10.3f} {mt:10.3f} {ms / mt:7.2f}  {listing}")
    for key, path in PARAMETERS.items():
        counts = [(s.get(key), lookup(t, path)) for s, t in zip(saddle_runs, torch_runs)]
        if counts and counts[0][0] is not None:
            summary.setdefault("parameters", {})[key] = {"saddle": counts[0][0], "pytorch": counts[0][1]}
            print(f"{key:40} saddle {counts[0][0]}, pytorch {counts[0][1]}")
    print(f"blas_core {summary['blas_core']}, sgemm_1024_gflops {summary['sgemm_1024_gflops']:.1f}, rounds kept {len(saddle_runs)}")
    if out:
        with open(out, "w") as f:
            json.dump({"summary": summary, "saddle_runs": saddle_runs, "torch_runs": torch_runs}, f, indent=1)


if __name__ == "__main__":
    main()
