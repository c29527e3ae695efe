#!/usr/bin/env bash
# `make docs`: the DocC catalog (Sources/Saddle/Saddle.docc) and every public symbol of the
# library, as static HTML in .build/docs (open .build/docs/documentation/saddle/index.html
# through a web server, or host the folder).
#
# The toolchain's docc is used directly: symbol graphs of the umbrella module `Saddle`, with the
# modules it re-exports included, then `docc convert`. No package dependency is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift="${SWIFT:-swift}"
bin="$(dirname "$(command -v "$swift")")"
"$swift" build --target Saddle
build="$("$swift" build --show-bin-path)"
graphs=.build/symbol-graphs
rm -rf "$graphs" && mkdir -p "$graphs"
maps=()
for module in CSaddleCore CSaddlePluginHost; do maps+=(-Xcc "-fmodule-map-file=$build/$module.build/module.modulemap"); done
"$bin/swift-symbolgraph-extract" -module-name Saddle -target "$(uname -m)-unknown-linux-gnu" -I "$build/Modules" "${maps[@]}" \
    -Xcc -fmodule-map-file=Plugins/ABI/include/module.modulemap -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
    -minimum-access-level public -skip-synthesized-members -output-dir "$graphs" \
    -experimental-allowed-reexported-modules=SaddleCore,SaddleLayers,SaddleOptimizers,SaddleData,SaddleTraining,SaddleRegistry,SaddleTransforms,SaddleRuns
"$bin/docc" convert Sources/Saddle/Saddle.docc --additional-symbol-graph-dir "$graphs" --output-dir .build/docs \
    --fallback-display-name Saddle --fallback-bundle-identifier org.saddle.Saddle --transform-for-static-hosting \
    --warnings-as-errors
echo "documentation: .build/docs/documentation/saddle/index.html"
