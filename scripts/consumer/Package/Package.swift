// swift-tools-version:6.0
// A package of a Saddle user: depends on Saddle by version (scripts/consumer/run.sh fills in
// the URL and the version, and adds one program per DocC article made of the article's Swift code).
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [
        .package(url: "SADDLE_URL", from: "SADDLE_VERSION"),
    ],
    targets: [
        .executableTarget(name: "consumer", dependencies: [.product(name: "Saddle", package: "saddle")]),
        // ARTICLE_TARGETS
    ]
)
