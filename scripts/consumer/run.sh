#!/usr/bin/env bash
# The consumer test: a package outside this repository depends on Saddle by version and trains a
# model through `import Saddle`, as a user's Package.swift would (README, "Use Saddle in your
# package").
#
# The committed HEAD is cloned into a temporary folder, tagged there with the version of
# Sources/Core/Version.swift (a tag may not travel with every copy of the repository), and the
# consumer in scripts/consumer/Package resolves it through a file:// URL with `from:`. Uncommitted
# changes are not part of the clone. Run by `make test` after the unit tests, and by
# `make consumer` alone.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
swift="${SWIFT:-swift}"
version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$repo/Sources/Core/Version.swift")"
[ -n "$version" ] || { echo "consumer test: no version in Sources/Core/Version.swift" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/saddle-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks "$repo" "$work/saddle"
git -C "$work/saddle" tag -f "$version" >/dev/null
cp -R "$repo/scripts/consumer/Package" "$work/consumer"
sed -i "s|SADDLE_URL|file://$work/saddle|; s|SADDLE_VERSION|$version|" "$work/consumer/Package.swift"

cd "$work/consumer"
echo "consumer test: building a package that depends on Saddle $version (file://, from: \"$version\")"
"$swift" build -c debug 2>&1 | tail -n 3
output="$(.build/debug/consumer)"
echo "$output"
grep -q "^consumer: trained" <<<"$output" || { echo "consumer test: the consumer did not report training" >&2; exit 1; }
# The library must not pull MPI, ONNX tooling or Python into a user's binary.
if ldd .build/debug/consumer | grep -Ei 'libmpi|onnx|python'; then
    echo "consumer test: the consumer links MPI, ONNX or Python" >&2
    exit 1
fi
echo "consumer test: passed"
