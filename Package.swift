// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Saddle",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Saddle", targets: ["Saddle"]),
        .library(name: "SaddleExperiments", targets: ["SaddleExperiments"]),
        .executable(name: "saddle", targets: ["SaddleCLI"]),
        .executable(name: "saddle-bench", targets: ["SaddleBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C helpers: the run-time BLAS/LAPACK function table and vectorized element-wise kernels.
        .target(name: "CSaddleCore", path: "Sources/CSaddleCore"),
        .target(name: "SaddleCore", dependencies: ["CSaddleCore"], path: "Sources/Core"),
        .target(name: "SaddleLayers", dependencies: ["SaddleCore"], path: "Sources/Layers"),
        .target(name: "SaddleOptimizers", dependencies: ["SaddleCore"], path: "Sources/Optimizers"),
        .target(name: "SaddleTransforms", dependencies: ["SaddleCore"], path: "Sources/Transforms"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "SaddleData", dependencies: ["SaddleCore", "CZlib"], path: "Sources/Data", resources: [.copy("Resources/digits.csv.gz")]),
        .target(
            name: "SaddleTraining", dependencies: ["SaddleCore", "SaddleOptimizers", "SaddleData"],
            path: "Sources/Training"),
        // The plugin ABI: one C header (Plugins/ABI/include/saddle_plugin.h) shared with plugins.
        .target(name: "CSaddlePluginABI", path: "Plugins/ABI"),
        .target(
            name: "CSaddlePluginHost", path: "Sources/CSaddlePluginHost",
            linkerSettings: [.linkedLibrary("ffi")]),
        .target(
            name: "SaddleRegistry",
            dependencies: [
                "SaddleCore", "SaddleLayers", "SaddleOptimizers", "SaddleTransforms", "SaddleData", "SaddleTraining",
                "CSaddlePluginABI", "CSaddlePluginHost",
            ],
            path: "Sources/Registry"),
        // What the saddle commands do, as a library: runs (training, resume, preflight),
        // checkpoint analysis, interpolation reports, transform schedules and their replay.
        .target(
            name: "SaddleRuns",
            dependencies: [
                "SaddleCore", "SaddleLayers", "SaddleOptimizers", "SaddleTransforms", "SaddleData", "SaddleTraining", "SaddleRegistry",
            ],
            path: "Sources/Runs"),
        // The experiments of the talk and their report: a product of their own, not part of
        // `import Saddle`.
        .target(
            name: "SaddleExperiments",
            dependencies: [
                "SaddleCore", "SaddleLayers", "SaddleOptimizers", "SaddleTransforms", "SaddleData", "SaddleTraining", "SaddleRegistry",
                "SaddleRuns",
            ],
            path: "Sources/Experiments"),
        .target(
            name: "Saddle",
            dependencies: [
                "SaddleCore", "SaddleLayers", "SaddleOptimizers", "SaddleTransforms", "SaddleData", "SaddleTraining", "SaddleRegistry",
                "SaddleRuns",
            ],
            path: "Sources/Saddle"),
        .executableTarget(
            name: "SaddleCLI",
            dependencies: ["Saddle", "SaddleExperiments", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"),
        .executableTarget(name: "SaddleBench", dependencies: ["Saddle"], path: "Sources/Bench"),

        .target(name: "SaddleTestSupport", dependencies: ["Saddle"], path: "Tests/Support"),
        .executableTarget(name: "saddle-test-helper", dependencies: ["Saddle"], path: "Tests/Helper"),
        .testTarget(
            name: "SaddleCoreTests", dependencies: ["SaddleCore", "SaddleTestSupport"],
            path: "Tests/CoreTests"),
        .testTarget(
            name: "SaddleLayersTests", dependencies: ["Saddle", "SaddleTestSupport"],
            path: "Tests/LayersTests"),
        .testTarget(
            name: "SaddleOptimizersTests", dependencies: ["Saddle", "SaddleExperiments", "SaddleTestSupport"],
            path: "Tests/OptimizersTests"),
        .testTarget(
            name: "SaddleDataTests", dependencies: ["Saddle", "SaddleTestSupport"],
            path: "Tests/DataTests"),
        .testTarget(
            name: "SaddleTrainingTests", dependencies: ["Saddle", "SaddleTestSupport"],
            path: "Tests/TrainingTests"),
        .testTarget(
            name: "SaddleRegistryTests", dependencies: ["Saddle", "SaddleTestSupport"],
            path: "Tests/RegistryTests"),
        .testTarget(
            name: "SaddleTransformsTests", dependencies: ["Saddle", "SaddleExperiments", "SaddleTestSupport"],
            path: "Tests/TransformsTests"),
        .testTarget(
            name: "SaddleExperimentsTests", dependencies: ["Saddle", "SaddleExperiments", "SaddleTestSupport"],
            path: "Tests/ExperimentsTests"),
        // Hostile input through the saddle command and the library: the reproducers of
        // crashes found, and a seeded structure-aware mutator over every file format.
        .target(name: "SaddleFuzzHarness", dependencies: ["Saddle", "CSaddlePluginABI"], path: "Tests/FuzzHarness"),
        // The libFuzzer target of `make fuzz` (scripts/fuzz.sh); built plainly, a replayer.
        .target(name: "CSaddleFuzzDriver", path: "Tests/FuzzDriver"),
        .executableTarget(name: "saddle-fuzz", dependencies: ["SaddleFuzzHarness", "CSaddleFuzzDriver"], path: "Tests/FuzzTarget"),
        .testTarget(
            name: "SaddleReliabilityTests", dependencies: ["Saddle", "SaddleTestSupport", "SaddleFuzzHarness", "CSaddlePluginABI"],
            path: "Tests/ReliabilityTests", exclude: ["Corpus"]),
    ]
)
