#!/usr/bin/env bash
# make fuzz: at least RUNS inputs per format (default 10^6).
#
# Coverage-guided with libFuzzer when the toolchain builds `saddle-fuzz` with -sanitize=fuzzer
# (Swift 6.3 on Linux does); otherwise the seeded mutator of the test suite with RUNS
# iterations per format. Findings (crashes, refusals that do not name the file) are left in
# .build-fuzz/findings/<format>/.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
FORMATS=${FORMATS:-"run_file checkpoint csv idx plugin_descriptor"}
SWIFT=${SWIFT:-swift}
root=$(pwd)
if $SWIFT build -c release --product saddle-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DSADDLE_LIBFUZZER -Xcc -DSADDLE_LIBFUZZER; then
    binary=$(find .build-fuzz -path '*release/saddle-fuzz' -type f | head -n 1)
    status=0
    for format in $FORMATS; do
        corpus=.build-fuzz/corpus/$format findings=.build-fuzz/findings/$format
        mkdir -p "$corpus" "$findings"
        cp -n Tests/ReliabilityTests/Corpus/$format/* "$corpus"/ 2>/dev/null
        echo "== $format: $RUNS inputs (libFuzzer)"
        start=$(date +%s)
        # Swift's own backtracer would take the crash signals libFuzzer needs to save the input.
        SWIFT_BACKTRACE=enable=no SADDLE_FUZZ_FORMAT=$format "$binary" -runs="$RUNS" -max_len=65536 -timeout=30 -rss_limit_mb=6144 \
            -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" 2>&1 | tee .build-fuzz/$format.log | grep -E "^#[0-9]+ +(DONE|pulse)|ERROR|stat::|problem" | tail -n 12
        result=${PIPESTATUS[0]}
        echo "== $format: exit $result after $(( $(date +%s) - start )) s; corpus $(ls "$corpus" | wc -l) files; findings $(ls "$findings" | wc -l)"
        [ "$result" = 0 ] || status=1
    done
    exit $status
fi
echo "libFuzzer build failed; running the seeded mutator with $RUNS inputs per format"
$SWIFT build --build-tests && SADDLE_FUZZ_ITERATIONS=$RUNS $SWIFT test --skip-build --filter FuzzTests
