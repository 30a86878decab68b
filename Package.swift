// swift-tools-version: 6.0
//
// MedCIL: medical images from raw hospital exports to incrementally trained models.
//
// Layers (dependencies point down only; siblings do not depend on each other):
//   C shims        CDicom (DCMTK), CNIfTI (libnifti2), CBLAS (OpenBLAS)
//   foundations    ArrayFiles (.npy, safetensors, atomic files), Console (progress, tables, subprocesses),
//                  Support (seeded generator, SHA-256, parallelMap, glob, CSV, YAML configs),
//                  Datasets (the dataset.json types that Ingest writes and DataLoading reads)
//   readers        DicomIO, NiftiIO                          | tensor core  TensorCore (tensors, autograd, ops on OpenBLAS)
//   ingestion      Ingest (site converters, label maps,      | learning     NeuralNet (modules with PyTorch keys, layers,
//                  splits, reports), Phantoms (synthetic     |              model zoo, optimizers, checkpoints),
//                  hospital exports)                         |              DataLoading (shard datasets, augmentation,
//                                                            |              seeded batching), Incremental (methods,
//                                                            |              training, metrics, reports)
//   commands       Commands (swift-argument-parser) over both sides, and the thin `medcil` executable
//
// Ingestion and learning are siblings: Ingest writes shard datasets, DataLoading reads them, and
// neither imports the other. No target uses unsafe build flags, so other packages can depend on
// MedCIL's library products by version (scripts/test-dependency.sh checks this).
import PackageDescription

/// The library products: the layers a user imports, each with all of its modules (a product's
/// modules are the ones its users may import). Extend a list when a layer gains a module.
let libraryProducts: [(name: String, targets: [String])] = [
    // Reading DICOM and NIfTI, converting a site's export to shards, phantom exports.
    ("MedCILIngestion", ["ArrayFiles", "Console", "DicomIO", "NiftiIO", "Ingest", "Phantoms"]),
    // Tensors and autograd, networks and checkpoints, shard loading, incremental methods.
    ("MedCILLearning", ["ArrayFiles", "TensorCore", "NeuralNet", "DataLoading", "Incremental"]),
]

let dcmtkLibraries: [LinkerSetting] = ["dcmimage", "dcmimgle", "dcmjpeg", "dcmjpls", "dcmdata", "oflog", "ofstd"]
    .map { .linkedLibrary($0) }

let package = Package(
    name: "MedCIL",
    products: [.executable(name: "medcil", targets: ["medcil"])]
        + libraryProducts.map { .library(name: $0.name, targets: $0.targets) },
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

        // Foundations
        .target(name: "ArrayFiles"),
        .target(name: "Console"),
        .target(name: "Support", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Datasets"),

        // Readers
        .target(name: "DicomIO", dependencies: ["CDicom", "ArrayFiles"]),
        .target(name: "NiftiIO", dependencies: ["CNIfTI", "ArrayFiles"]),

        // Ingestion
        .target(name: "Ingest", dependencies: [
            "DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support", "Datasets", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Phantoms", dependencies: ["DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support"]),

        // Tensor core and learning
        .target(name: "TensorCore", dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "NeuralNet", dependencies: ["TensorCore", "ArrayFiles"]),
        .target(name: "DataLoading", dependencies: ["TensorCore", "ArrayFiles", "Datasets"]),
        .target(name: "Incremental", dependencies: ["NeuralNet", "DataLoading", "TensorCore", "ArrayFiles"]),
        // Incremental segmentation building blocks (3D metrics, exemplar selection, losses, NIfTI prediction)
        .target(name: "Segmentation", dependencies: ["NeuralNet", "TensorCore", "DataLoading", "NiftiIO", "Ingest", "ArrayFiles"]),

        // Commands and the executable
        .target(name: "Commands", dependencies: [
            "Ingest", "Phantoms", "Support", "DicomIO", "NiftiIO", "ArrayFiles", "Console", "TensorCore", "NeuralNet", "DataLoading", "Incremental",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "medcil", dependencies: ["Commands"]),

        // Tests
        .testTarget(name: "ArrayFilesTests", dependencies: ["ArrayFiles", "TestSupport"]),
        .testTarget(name: "DicomIOTests", dependencies: ["DicomIO", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
        .testTarget(name: "NiftiIOTests", dependencies: ["NiftiIO", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorCore", "DataLoading", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "DataLoadingTests", dependencies: ["DataLoading", "Ingest", "Support", "Phantoms", "TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IncrementalTests", dependencies: ["Incremental", "Ingest", "Support", "Phantoms", "DataLoading", "NeuralNet", "TensorCore",
                                                            "ArrayFiles", "TestSupport"]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "NeuralNet", "TensorCore", "DataLoading", "NiftiIO", "Ingest",
                                                             "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Phantoms", "Support", "DicomIO", "NiftiIO", "ArrayFiles", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["DicomIO", "Console"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
