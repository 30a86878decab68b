// swift-tools-version: 6.0
//
// A site's own tooling that depends on MedCIL's libraries by version, the way any outside
// package would: it runs a site converter and reads the shards it wrote.
//
// MEDCIL_URL names the MedCIL repository (scripts/test-dependency.sh points it at a tagged
// snapshot of the working tree); without it, the checkout this example sits in, which then
// needs a version tag.
import Foundation
import PackageDescription

let checkout = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let medcilURL = Context.environment["MEDCIL_URL"] ?? "file://\(checkout.path)"
// SwiftPM names a dependency after the last component of its URL, without ".git".
let medcilPackage = (URL(string: medcilURL) ?? URL(fileURLWithPath: medcilURL)).deletingPathExtension().lastPathComponent

let package = Package(
    name: "ShardReader",
    dependencies: [
        .package(url: medcilURL, from: "1.0.0"),
    ],
    targets: [
        .executableTarget(name: "shard-reader", dependencies: [
            .product(name: "MedCILIngestion", package: medcilPackage),
            .product(name: "MedCILLearning", package: medcilPackage),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
