// swift-tools-version: 6.0
//
// A site's own tooling that depends on MedCIL's libraries by version, the way any outside
// package would: it runs a site converter and reads the shards it wrote.
//
// MEDCIL_URL names the MedCIL repository (scripts/test-dependency.sh points it at a tagged
// snapshot of the working tree); without it, the checkout this example sits in.
import PackageDescription

let medcilURL = Context.environment["MEDCIL_URL"] ?? "file://\(Context.packageDirectory)/../.."

let package = Package(
    name: "ShardReader",
    dependencies: [
        .package(url: medcilURL, from: "1.0.0"),
    ],
    targets: [
        .executableTarget(name: "shard-reader", dependencies: [
            .product(name: "MedCILIngestion", package: "medcil"),
            .product(name: "MedCILLearning", package: "medcil"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
