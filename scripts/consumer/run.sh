#!/usr/bin/env bash
# The consumer test: a package outside this repository depends on Saddle by version and trains a
# model through `import Saddle`, as a user's Package.swift would (README, "Use Saddle in your
# package").
#
# The DocC articles' Swift code compiles and runs there too, one program per article.
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
# Each DocC article's Swift code blocks, in order, become one program: the articles compile and run.
articles=()
for article in "$work"/saddle/Sources/Saddle/Saddle.docc/*.md; do
    name="article_$(basename "$article" .md)"
    mkdir -p "$work/consumer/Sources/$name"
    awk '/^```swift$/ {inside = 1; next} /^```/ {inside = 0} inside' "$article" > "$work/consumer/Sources/$name/main.swift"
    [ -s "$work/consumer/Sources/$name/main.swift" ] || { rm -r "$work/consumer/Sources/$name"; continue; }
    articles+=("$name")
    sed -i "s|// ARTICLE_TARGETS|.executableTarget(name: \"$name\", dependencies: [.product(name: \"Saddle\", package: \"saddle\")]),\n        // ARTICLE_TARGETS|" "$work/consumer/Package.swift"
done
[ "${#articles[@]}" -ge 5 ] || { echo "consumer test: found ${#articles[@]} articles with Swift code, expected at least 5" >&2; exit 1; }

cd "$work/consumer"
echo "consumer test: building a package that depends on Saddle $version (file://, from: \"$version\")"
"$swift" build -c debug > "$work/build.log" 2>&1 || { tail -n 60 "$work/build.log" >&2; echo "consumer test: the build failed" >&2; exit 1; }
tail -n 1 "$work/build.log"
output="$(.build/debug/consumer)"
echo "$output"
grep -q "^consumer: trained" <<<"$output" || { echo "consumer test: the consumer did not report training" >&2; exit 1; }
for name in "${articles[@]}"; do
    echo "consumer test: running the code of $name"
    ".build/debug/$name" > "$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; echo "consumer test: $name failed" >&2; exit 1; }
    head -n 12 "$work/$name.out" | cut -c 1-160 | sed 's/^/    /'
done
# The library must not pull MPI, ONNX tooling or Python into a user's binary.
if ldd .build/debug/consumer | grep -Ei 'libmpi|onnx|python'; then
    echo "consumer test: the consumer links MPI, ONNX or Python" >&2
    exit 1
fi
echo "consumer test: passed"
