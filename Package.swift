// swift-tools-version: 6.0
//
// MedCIL: medical images from raw hospital exports to incrementally trained models.
//
// Layers (dependencies point down only):
//   C shims        CDicom (DCMTK), CNIfTI (libnifti2), CBLAS (OpenBLAS)
//   readers, I/O   ArrayFiles (.npy, atomic files), DicomIO, NiftiIO
//   utilities      Console (progress and summaries)
//   tensor core    TensorCore (float tensors, reverse-mode autograd, ops on OpenBLAS)
//   networks       NeuralNet (modules with PyTorch keys, layers, model zoo, optimizers, checkpoints),
//                  DataLoading (shard datasets, augmentation, seeded batching with prefetch)
//   learning       Training (the epoch loop with resume, classifier training), Metrics (run ledger,
//                  predictions, evaluation), Reporting (HTML report of any method family)
//   methods        Incremental (the method protocol and registry, weighted experts and score fusion,
//                  the baselines, the experiment workflow)
//   ingestion      Ingest (site converters, label maps, splits, reports), Phantoms
//   workflows      Workflows (the demo: phantoms -> conversion -> experiment -> table)
//   commands       Commands (swift-argument-parser), and the thin `medcil` executable
import PackageDescription

let dcmtkLibraries: [LinkerSetting] = ["dcmimage", "dcmimgle", "dcmjpeg", "dcmjpls", "dcmdata", "oflog", "ofstd"]
    .map { .linkedLibrary($0) }

/// Numeric kernels: no overflow or exclusivity checks in release builds (their loops index
/// through unsafe pointers with bounds established up front).
let kernelSettings: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "MedCIL",
    products: [
        .executable(name: "medcil", targets: ["medcil"]),
        .library(name: "MedCILIngest", targets: ["Ingest", "Phantoms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // C shims
        .target(name: "CDicom", linkerSettings: dcmtkLibraries),
        .target(name: "CNIfTI"),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas"),

        // Readers and array I/O
        .target(name: "ArrayFiles"),
        .target(name: "DicomIO", dependencies: ["CDicom", "ArrayFiles"]),
        .target(name: "NiftiIO", dependencies: ["CNIfTI", "ArrayFiles"]),

        // Utilities
        .target(name: "Console"),

        // Tensor core and neural networks
        .target(name: "TensorCore", dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: kernelSettings),
        .target(name: "NeuralNet", dependencies: ["TensorCore", "ArrayFiles"], swiftSettings: kernelSettings),
        .target(name: "DataLoading", dependencies: ["TensorCore", "ArrayFiles"], swiftSettings: kernelSettings),

        // Learning: the training loop, metrics and reports every method family shares
        .target(name: "Training", dependencies: ["NeuralNet", "DataLoading", "TensorCore", "ArrayFiles"]),
        .target(name: "Metrics", dependencies: ["ArrayFiles"]),
        .target(name: "Reporting", dependencies: ["Metrics", "DataLoading", "ArrayFiles"]),

        // Incremental learning methods
        .target(name: "Incremental", dependencies: ["Training", "Metrics", "Reporting", "NeuralNet", "DataLoading", "TensorCore", "ArrayFiles",
                                                    .product(name: "Yams", package: "Yams")]),

        // Ingestion
        .target(name: "Ingest", dependencies: [
            "DicomIO", "NiftiIO", "ArrayFiles", "Console", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Phantoms", dependencies: ["DicomIO", "NiftiIO", "Ingest"]),

        // Workflows that span ingestion and learning (the demo)
        .target(name: "Workflows", dependencies: ["Phantoms", "Ingest", "Incremental", "Metrics", "Training", "Console"]),

        // Commands and the executable
        .target(name: "Commands", dependencies: [
            "Ingest", "Phantoms", "DicomIO", "NiftiIO", "ArrayFiles", "Console", "TensorCore", "NeuralNet", "DataLoading", "Training", "Metrics", "Reporting", "Incremental", "Workflows",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], resources: [.copy("Peers")]),
        .executableTarget(name: "medcil", dependencies: ["Commands"]),

        // Tests
        .testTarget(name: "ArrayFilesTests", dependencies: ["ArrayFiles", "TestSupport"]),
        .testTarget(name: "DicomIOTests", dependencies: ["DicomIO", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
        .testTarget(name: "NiftiIOTests", dependencies: ["NiftiIO", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorCore", "DataLoading", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "DataLoadingTests", dependencies: ["DataLoading", "Ingest", "Phantoms", "TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IncrementalTests", dependencies: ["Incremental", "Training", "Metrics", "Reporting", "Ingest", "Phantoms", "DataLoading", "NeuralNet", "TensorCore",
                                                            "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Phantoms", "DicomIO", "ArrayFiles", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["ArrayFiles", "DicomIO", "Console"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
