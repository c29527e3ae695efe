#!/usr/bin/env python3
"""Data-parallel scaling side by side: Saddle on MPI against PyTorch DistributedDataParallel.

Each round runs, one after another on a quiet machine (through run_quiet.py):
  saddle-bench --only distributed --threads 1        one process, one thread, the global batch
  saddle-bench --only distributed --threads 2        one process, two threads
  mpirun -np 2 --bind-to core saddle-bench ...       two ranks x one thread (one core each), shares of the batch
  torch_ddp_bench.py --ranks 2                       PyTorch's three configurations (gloo)
for the 784-1024-1024-10 MLP at a global batch of 256 and the Fashion-MNIST CNN at 128. Every
round is kept in the output with the other-CPU fractions; per workload it prints the medians,
Saddle's speed-up of 2 ranks over 1 x 1 (target: at least 1.7) and the ratio of Saddle's 2 ranks
to PyTorch DDP's (target: at most 1), with the machine, the BLAS and the commit.

usage: scripts/compare_ddp.py [--rounds 5] [--bench-dir ../shared/bench]
                              [--saddle .build/release/saddle-bench] [--shim .build/mpi/libsaddle_mpi.so] [--json OUT]
"""
import argparse, json, os, platform, statistics, subprocess, sys

WORKLOADS = ["mlp_784_1024_1024_10_gb256", "cnn_fmnist_gb128"]


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    other = None
    for line in result.stderr.splitlines():
        if line.startswith("run_quiet:"):
            other = float(line.split("other_cpu_frac=")[1].split()[0])
    lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]), other


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bench-dir", default=os.path.join(os.path.dirname(__file__), "../../shared/bench"))
    ap.add_argument("--saddle", default=".build/release/saddle-bench")
    ap.add_argument("--shim", default=".build/mpi/libsaddle_mpi.so")
    ap.add_argument("--json")
    args = ap.parse_args()
    quiet = [sys.executable, os.path.join(args.bench_dir, "run_quiet.py"), "--"]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               SADDLE_MPI_SHIM=os.path.abspath(args.shim), SADDLE_NUM_THREADS="1")
    mpirun = ["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "core", "--mca", "btl_vader_single_copy_mechanism", "none",
              "-x", "SADDLE_MPI_SHIM", "-x", "SADDLE_NUM_THREADS"]
    rounds = []
    for k in range(args.rounds):
        one, o1 = run(quiet + [args.saddle, "--only", "distributed", "--threads", "1"])
        two_threads, o2 = run(quiet + [args.saddle, "--only", "distributed", "--threads", "2"])
        ranks, o3 = run(quiet + mpirun + [args.saddle, "--only", "distributed", "--threads", "1"], env=env)
        torch, o4 = run(quiet + [sys.executable, os.path.join(args.bench_dir, "torch_ddp_bench.py"), "--ranks", "2"])
        rounds.append({"saddle_1x1": one, "saddle_1x2": two_threads, "saddle_2x1": ranks, "torch": torch,
                       "other_cpu": [o1, o2, o3, o4]})
        print(f"round {k + 1}: " + ", ".join(
            f"{w}: saddle 1x1 {one[w + '_step_ms']:.1f} 1x2 {two_threads[w + '_step_ms']:.1f} 2x1 {ranks[w + '_step_ms']:.1f} ms, "
            f"torch 1x1 {torch[w]['single_1thread_step_ms']:.1f} 1x2 {torch[w]['single_2threads_step_ms']:.1f} ddp {torch[w]['ddp_2ranks_1thread_step_ms']:.1f} ms"
            for w in WORKLOADS), flush=True)
    summary = {}
    for w in WORKLOADS:
        med = lambda f: statistics.median(f(r) for r in rounds)
        row = {
            "saddle_1x1_ms": med(lambda r: r["saddle_1x1"][w + "_step_ms"]),
            "saddle_1x2_ms": med(lambda r: r["saddle_1x2"][w + "_step_ms"]),
            "saddle_2x1_ms": med(lambda r: r["saddle_2x1"][w + "_step_ms"]),
            "saddle_2x1_compute_ms": med(lambda r: r["saddle_2x1"][w + "_compute_ms"]),
            "saddle_2x1_fused_allreduce_ms": med(lambda r: r["saddle_2x1"][w + "_fused_allreduce_ms"]),
            "saddle_2x1_allreduce_ms": med(lambda r: r["saddle_2x1"][w + "_allreduce_ms"]),
            "torch_1x1_ms": med(lambda r: r["torch"][w]["single_1thread_step_ms"]),
            "torch_1x2_ms": med(lambda r: r["torch"][w]["single_2threads_step_ms"]),
            "torch_ddp_2x1_ms": med(lambda r: r["torch"][w]["ddp_2ranks_1thread_step_ms"]),
        }
        row["saddle_speedup_2x1_over_1x1"] = row["saddle_1x1_ms"] / row["saddle_2x1_ms"]
        row["saddle_2x1_over_torch_ddp"] = row["saddle_2x1_ms"] / row["torch_ddp_2x1_ms"]
        row["pairs_saddle_2x1_over_torch_ddp"] = [r["saddle_2x1"][w + "_step_ms"] / r["torch"][w]["ddp_2ranks_1thread_step_ms"] for r in rounds]
        summary[w] = row
        print(f"{w}: 2 ranks {row['saddle_2x1_ms']:.1f} ms = {row['saddle_speedup_2x1_over_1x1']:.2f}x of 1x1 "
              f"({row['saddle_1x1_ms']:.1f} ms; target 1.7x), {row['saddle_2x1_over_torch_ddp']:.2f} of DDP's {row['torch_ddp_2x1_ms']:.1f} ms "
              f"(target <= 1); step parts: compute {row['saddle_2x1_compute_ms']:.1f}, fused allreduce {row['saddle_2x1_fused_allreduce_ms']:.1f} ms")
    machine = {
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown"),
        "cores": os.cpu_count(), "kernel": platform.release(),
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "blas": rounds[0]["saddle_1x1"].get("blas_library"), "blas_core": rounds[0]["saddle_1x1"].get("blas_core"),
        "mpi": subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "torch": rounds[0]["torch"]["meta"]["torch"],
    }
    output = {"machine": machine, "summary": summary, "rounds": rounds}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(output, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
