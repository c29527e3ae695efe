#!/usr/bin/env python3
"""Side-by-side benchmark: Saddle's saddle-bench against PyTorch's torch_bench.py.

Runs the two alternately (--rounds times each, at least 5) through run_quiet.py and keeps a
round only when other processes took at most --max-other of the CPUs during both runs. Every
round, kept or dropped, is saved with its other-CPU fractions. Per workload it prints every
kept pair, both medians and their ratio (Saddle / PyTorch; below 1 means Saddle is faster).

A workload is compared only when both sides report its parameter count and the counts agree;
otherwise the row is refused and says why. The result file records the machine: CPU model,
cores, operating-system kernel, the BLAS library Saddle loaded with its kernel family, PyTorch's
version, and the git commit Saddle was built from. `torch.mm`'s GFLOP/s is printed beside
Saddle's sgemm so that a difference of matrix libraries shows as such.

usage: scripts/compare_with_pytorch.py [--rounds 5] [--bench-dir ../shared/bench]
                                       [--saddle .build/release/saddle-bench] [--json OUT]
       scripts/compare_with_pytorch.py --summarize RESULT.json
"""
import argparse, json, os, re, statistics, subprocess, sys

MINIMUM_ROUNDS = 5

# row -> (saddle-bench time key, PyTorch time path, saddle-bench parameter-count key, PyTorch parameter-count path)
MLP_SMALL = ("a_mlp_sgd_momentum", "mlp_64_256_256_10_b128", "params")
CNN = ("f_conv", "cnn_fmnist_b128", "params")
ROWS = {
    "mlp_64_256_256_10_b128_step_ms": (
        "mlp_64_256_256_10_b128_step_ms", ("a_mlp_sgd_momentum", "mlp_64_256_256_10_b128", "step_ms"),
        "mlp_64_256_256_10_b128_params", MLP_SMALL),
    "mlp_784_1024_1024_10_b256_step_ms": (
        "mlp_784_1024_1024_10_b256_step_ms", ("a_mlp_sgd_momentum", "mlp_784_1024_1024_10_b256", "step_ms"),
        "mlp_784_1024_1024_10_b256_params", ("a_mlp_sgd_momentum", "mlp_784_1024_1024_10_b256", "params")),
    "mlp_64_256_256_10_b128_bn_step_ms": (
        "mlp_64_256_256_10_b128_bn_step_ms", ("b_mlp_batchnorm", "mlp_64_256_256_10_b128_bn", "step_ms"),
        "mlp_64_256_256_10_b128_bn_params", ("b_mlp_batchnorm", "mlp_64_256_256_10_b128_bn", "params")),
    "mlp_784_1024_1024_10_b256_bn_step_ms": (
        "mlp_784_1024_1024_10_b256_bn_step_ms", ("b_mlp_batchnorm", "mlp_784_1024_1024_10_b256_bn", "step_ms"),
        "mlp_784_1024_1024_10_b256_bn_params", ("b_mlp_batchnorm", "mlp_784_1024_1024_10_b256_bn", "params")),
    "lstm_i8_h128_t8_b128_step_ms": (
        "lstm_i8_h128_t8_b128_step_ms", ("c_lstm_i8_h128_t8_b128", "nn_LSTM_step_ms"),
        "lstm_i8_h128_t8_b128_params", ("c_lstm_i8_h128_t8_b128", "params")),
    "lstm2_i28_h256_t28_b128_step_ms": (
        "lstm2_i28_h256_t28_b128_step_ms", ("c2_lstm2_i28_h256_t28_b128", "nn_LSTM_step_ms"),
        "lstm2_i28_h256_t28_b128_params", ("c2_lstm2_i28_h256_t28_b128", "params")),
    "hessian_tiny_105_ms": (
        "hessian_tiny_105_ms", ("d_hessian", "full_hessian_autograd_ms"), "hessian_tiny_params", ("d_hessian", "tiny_params")),
    "hessian_tiny_105_ms_vs_vectorized": (
        "hessian_tiny_105_ms", ("d_hessian", "full_hessian_autograd_vectorize_ms"), "hessian_tiny_params", ("d_hessian", "tiny_params")),
    "hessian_tiny_105_ms_vs_torch_func": (
        "hessian_tiny_105_ms", ("d_hessian", "full_hessian_func_jacfwd_jacrev_ms"), "hessian_tiny_params", ("d_hessian", "tiny_params")),
    # JAX's jax.hessian under jit (../shared/bench/jax_bench.py), when --jax is given: a path
    # that starts with "@jax" is read from the round's JAX output rather than PyTorch's.
    "hessian_tiny_105_ms_vs_jax_jit": (
        "hessian_tiny_105_ms", ("@jax", "d_hessian", "full_hessian_jit_ms"), "hessian_tiny_params", ("@jax", "d_hessian", "tiny_params")),
    "hvp_mlp_64_256_256_10_b128_ms": (
        "hvp_mlp_64_256_256_10_b128_ms", ("d_hessian", "hvp_mlp_64_256_256_10_b128_ms"), "curvature_mlp_64_256_256_10_b128_params", MLP_SMALL),
    "grad_mlp_64_256_256_10_b128_ms": (
        "grad_mlp_64_256_256_10_b128_ms", ("d_hessian", "grad_only_same_mlp_ms"), "curvature_mlp_64_256_256_10_b128_params", MLP_SMALL),
    "cnn_fmnist_b128_step_ms": (
        "cnn_fmnist_b128_step_ms", ("f_conv", "cnn_fmnist_b128", "step_ms"), "cnn_fmnist_b128_params", CNN),
    "resnet8_fmnist_b128_step_ms": (
        "resnet8_fmnist_b128_step_ms", ("f_conv", "resnet8_fmnist_b128", "step_ms"),
        "resnet8_fmnist_b128_params", ("f_conv", "resnet8_fmnist_b128", "params")),
    "hvp_cnn_b32_ms": ("hvp_cnn_b32_ms", ("f_conv", "hvp_cnn_b32_ms"), "curvature_cnn_b32_params", CNN),
    "grad_cnn_b32_ms": ("grad_cnn_b32_ms", ("f_conv", "grad_cnn_b32_ms"), "curvature_cnn_b32_params", CNN),
}

# The machine as saddle-bench describes it.
MACHINE_KEYS = ["cpu_model", "cpu_cores", "os_kernel", "blas_library", "blas_build", "blas_core", "threads", "blas_threads"]


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


def reference(round_, path):
    """A reference figure of one round: PyTorch's, or JAX's for a path starting with "@jax"."""
    if path and path[0] == "@jax":
        return lookup(round_.get("jax"), path[1:])
    return lookup(round_["torch"], path)


def git_commit():
    def git(*args):
        p = subprocess.run(["git", *args], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=MINIMUM_ROUNDS)
    ap.add_argument("--bench-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
    ap.add_argument("--saddle", default=".build/release/saddle-bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-other", type=float, default=0.05)
    ap.add_argument("--json", help="write every round and the summary here")
    ap.add_argument("--jax", action="store_true", help="also run jax_bench.py in every round (needs jax[cpu])")
    ap.add_argument("--summarize", metavar="JSON", help="print the table for the rounds saved in JSON instead of running")
    a = ap.parse_args()
    if a.summarize:
        with open(a.summarize) as f:
            saved = json.load(f)
        summarize(saved["rounds"], saved["machine"], saved.get("max_other", a.max_other), a.json)
        return
    if a.rounds < MINIMUM_ROUNDS:
        sys.exit(f"--rounds {a.rounds}: a comparison takes at least {MINIMUM_ROUNDS} interleaved rounds")
    run_quiet = os.path.join(a.bench_dir, "run_quiet.py")
    torch_bench = os.path.join(a.bench_dir, "torch_bench.py")
    rounds = []
    for r in range(a.rounds):
        s, so = run([a.saddle, "--threads", str(a.threads)], run_quiet)
        t, to = run([sys.executable, torch_bench, "--threads", str(a.threads)], run_quiet)
        entry = {"round": r + 1, "saddle_other_cpu_frac": so, "torch_other_cpu_frac": to, "saddle": s, "torch": t}
        kept = so <= a.max_other and to <= a.max_other
        if a.jax:
            j, jo = run([sys.executable, os.path.join(a.bench_dir, "jax_bench.py"), "--threads", str(a.threads)], run_quiet)
            entry.update(jax=j, jax_other_cpu_frac=jo)
            kept = kept and jo <= a.max_other
        entry["kept"] = kept
        print(f"round {r + 1}: saddle other_cpu_frac={so:.3f}, torch other_cpu_frac={to:.3f}"
              + (f", jax other_cpu_frac={entry['jax_other_cpu_frac']:.3f}" if a.jax else "") + ("" if kept else " (dropped)"), file=sys.stderr)
        rounds.append(entry)
    machine = {key: rounds[0]["saddle"].get(key) for key in MACHINE_KEYS}
    machine["torch"] = lookup(rounds[0]["torch"], ("meta", "torch"))
    machine["torch_cpu_capability"] = lookup(rounds[0]["torch"], ("meta", "cpu_capability"))
    if a.jax:
        machine["jax"] = lookup(rounds[0]["jax"], ("meta", "jax"))
    machine["commit"] = git_commit()
    summarize(rounds, machine, a.max_other, a.json)


def summarize(rounds, machine, max_other, out):
    kept = [r for r in rounds if r["kept"]]
    if len(kept) < MINIMUM_ROUNDS:
        print(f"warning: {len(kept)} quiet rounds of {len(rounds)}; a ratio needs {MINIMUM_ROUNDS}", file=sys.stderr)
    if not kept:
        sys.exit("no quiet rounds; try again later")
    summary = {"rounds": len(rounds), "rounds_kept": len(kept), "workloads": {}, "refused": {}, "missing": {}}
    print(f"{'workload':40} {'saddle':>10} {'pytorch':>10} {'ratio':>7}  pairs (saddle/pytorch)")
    for row, (key, path, saddle_count_key, torch_count_path) in ROWS.items():
        if path[0] == "@jax" and not any("jax" in r for r in kept):
            continue
        pairs = [(r["saddle"][key], reference(r, path)) for r in kept
                 if key in r["saddle"] and isinstance(reference(r, path), (int, float))]
        if not pairs:
            sides = [side for side, present in (("saddle", any(key in r["saddle"] for r in kept)),
                                                ("pytorch", any(reference(r, path) is not None for r in kept))) if not present]
            summary["missing"][row] = sides
            print(f"{row:40} not compared: no figure from {' or '.join(sides)}")
            continue
        counts = (kept[0]["saddle"].get(saddle_count_key), reference(kept[0], torch_count_path))
        if None in counts or counts[0] != counts[1]:
            summary["refused"][row] = {"saddle_params": counts[0], "pytorch_params": counts[1]}
            print(f"{row:40} REFUSED: parameter counts differ or are missing (saddle {counts[0]}, pytorch {counts[1]})")
            continue
        ms = statistics.median(p[0] for p in pairs)
        mt = statistics.median(p[1] for p in pairs)
        summary["workloads"][row] = {"saddle_ms": ms, "pytorch_ms": mt, "ratio": ms / mt, "params": counts[0], "pairs": pairs}
        listing = ", ".join(f"{x:.3f}/{y:.3f}" for x, y in pairs)
        print(f"{row:40} {ms:10.3f} {mt:10.3f} {ms / mt:7.2f}  {listing}")
    sgemm = [r["saddle"]["sgemm_1024_gflops"] for r in kept if "sgemm_1024_gflops" in r["saddle"]]
    mm = [lookup(r["torch"], ("e_mm", "mm_1024_gflops")) for r in kept if lookup(r["torch"], ("e_mm", "mm_1024_gflops"))]
    summary["sgemm_1024_gflops"] = statistics.median(sgemm) if sgemm else None
    summary["torch_mm_1024_gflops"] = statistics.median(mm) if mm else None
    print(f"matrix library, 1024^3 GFLOP/s: Saddle's sgemm ({machine.get('blas_core')}) {summary['sgemm_1024_gflops'] or float('nan'):.1f}, "
          f"torch.mm {summary['torch_mm_1024_gflops'] or float('nan'):.1f}")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"rounds kept {len(kept)} of {len(rounds)} (other_cpu_frac <= {max_other})")
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"machine": machine, "max_other": max_other, "summary": summary, "rounds": rounds}, f, indent=1)
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
