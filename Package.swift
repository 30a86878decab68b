// swift-tools-version: 6.0
//
// MedCIL: medical images from raw hospital exports to incrementally trained models.
//
// Layers (dependencies point down only):
//   C shims        CDicom (DCMTK), CNIfTI (libnifti2), CBLAS (OpenBLAS)
//   readers, I/O   ArrayFiles (.npy, atomic files), DicomIO, NiftiIO
//   utilities      Console (progress and summaries), Support (seeded generator, SHA-256, parallelMap, glob,
//                  CSV, YAML configs), Datasets (the dataset.json types shared by writers and readers)
//   tensor core    TensorCore (float tensors, reverse-mode autograd, ops on OpenBLAS)
//   networks       NeuralNet (modules with PyTorch keys, layers, model zoo, optimizers, checkpoints),
//                  DataLoading (shard datasets, augmentation, seeded batching with prefetch)
//   methods        Incremental (weighted experts and score fusion, baselines, metrics, reports)
//   ingestion      Ingest (site converters, label maps, splits, reports), Phantoms
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
        .target(name: "Support", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Datasets"),

        // Tensor core and neural networks
        .target(name: "TensorCore", dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: kernelSettings),
        .target(name: "NeuralNet", dependencies: ["TensorCore", "ArrayFiles"], swiftSettings: kernelSettings),
        .target(name: "DataLoading", dependencies: ["TensorCore", "ArrayFiles", "Datasets"], swiftSettings: kernelSettings),

        // Incremental learning methods
        .target(name: "Incremental", dependencies: ["NeuralNet", "DataLoading", "TensorCore", "ArrayFiles", "Console",
                                                    .product(name: "Yams", package: "Yams")]),

        // Ingestion
        .target(name: "Ingest", dependencies: [
            "DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support", "Datasets",
        ]),
        .target(name: "Phantoms", dependencies: ["DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support"]),

        // Commands and the executable
        .target(name: "Commands", dependencies: [
            "Ingest", "Phantoms", "Support", "DicomIO", "NiftiIO", "ArrayFiles", "Console", "TensorCore", "NeuralNet", "DataLoading", "Incremental",
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
        .testTarget(name: "DataLoadingTests", dependencies: ["DataLoading", "Ingest", "Support", "Phantoms", "TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IncrementalTests", dependencies: ["Incremental", "Ingest", "Support", "Phantoms", "DataLoading", "NeuralNet", "TensorCore",
                                                            "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Phantoms", "Support", "DicomIO", "ArrayFiles", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["ArrayFiles", "DicomIO", "Console"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
