#!/usr/bin/env python3
"""Times the matrix products of recorded benchmark traces in several BLAS libraries.

usage: scripts/blas/compare_libraries.py OUT.json TRACE... [--rounds N]

Each TRACE (from scripts/blas/trace.c) is replayed by .build/blas-shapes in every library
listed below that exists on this machine, interleaved over N rounds (default 3), two threads at
once (Saddle's split on two cores), each call on one BLAS thread. Writes OUT.json atomically:
the machine, every round's per-shape timings, and per trace and library the median total
milliseconds and its ratio to Debian's OpenBLAS with the kernels Saddle picks (Haswell here).
"""
import glob, json, os, platform, statistics, subprocess, sys, tempfile

args = [a for a in sys.argv[1:] if not a.startswith("--")]
rounds = 3
if "--rounds" in sys.argv:
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    args = [a for a in args if a != str(rounds)]
if len(args) < 2:
    sys.exit(__doc__)
out, traces = args[0], args[1:]

site = glob.glob(os.path.expanduser("~/.pyenv/versions/*/lib/python3*/site-packages")) + glob.glob("/usr/local/lib/python3*/dist-packages")
def first(patterns):
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return None

one = {"OPENBLAS_NUM_THREADS": "1", "BLIS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
libraries = [
    ("openblas-0.3.21-haswell", "libopenblas.so.0", "-", {"OPENBLAS_CORETYPE": "Haswell"}),
    ("openblas-0.3.21-zen", "libopenblas.so.0", "-", {"OPENBLAS_CORETYPE": "Zen"}),
    ("scipy-openblas32-0.3.x", first([s + "/scipy_openblas32/lib/libscipy_openblas.so" for s in site]), "scipy_", {}),
    ("blis-0.9.0-serial", first(["/usr/lib/x86_64-linux-gnu/blis-serial/libblis.so.4"]), "-", {}),
    ("mkl", first([os.path.expanduser("~/.pyenv/versions/*/lib/libmkl_rt.so.*"), "/usr/lib/x86_64-linux-gnu/libmkl_rt.so*"]), "-", {}),
]
libraries = [lib for lib in libraries if lib[1]]
tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/blas-shapes")

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()

commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
result = {"machine": {"cpu_model": cpu_model(), "cpu_cores": os.cpu_count(), "os_kernel": platform.release(), "commit": commit},
          "libraries": {name: {"path": path, "prefix": prefix, "environment": env} for name, path, prefix, env in libraries},
          "rounds": [], "summary": {}}
for r in range(rounds):
    runs = {}
    for trace in traces:
        for name, path, prefix, env in libraries:
            proc = subprocess.run([tool, trace, path, prefix, "2"], capture_output=True, text=True, env={**os.environ, **one, **env})
            if proc.returncode != 0:
                print(f"{name} on {trace}: {proc.stderr.strip()}", file=sys.stderr)
                continue
            runs.setdefault(os.path.basename(trace), {})[name] = json.loads(proc.stdout)
            print(f"round {r + 1} {os.path.basename(trace)} {name}: {runs[os.path.basename(trace)][name]['total_ms']:.1f} ms", file=sys.stderr)
    result["rounds"].append(runs)
for trace in traces:
    key = os.path.basename(trace)
    base = None
    for name, *_ in libraries:
        totals = [round_[key][name]["total_ms"] for round_ in result["rounds"] if name in round_.get(key, {})]
        if not totals:
            continue
        median = statistics.median(totals)
        base = base if base is not None else median
        result["summary"].setdefault(key, {})[name] = {"total_ms": median, "ratio_to_openblas_haswell": median / base, "totals": totals}
directory = os.path.dirname(os.path.abspath(out))
with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as handle:
    json.dump(result, handle, indent=1)
os.replace(handle.name, out)
for key, libs in result["summary"].items():
    print(key, "  ".join(f"{n} {v['ratio_to_openblas_haswell']:.2f}" for n, v in libs.items()))
