// swift-tools-version: 6.0
//
// MedCIL: medical images from raw hospital exports to incrementally trained models.
//
// Layers (dependencies point down only; siblings do not depend on each other):
//   C shims        CDicom (DCMTK), CNIfTI (libnifti2), CBLAS (OpenBLAS), CZlib (zlib)
//   foundations    ArrayFiles (.npy, safetensors, atomic files), Console (progress, tables, subprocesses),
//                  Support (seeded generator, SHA-256, parallelMap, glob, CSV, YAML configs),
//                  Datasets (the dataset.json types that Ingest writes and DataLoading reads)
//   readers        DicomIO, NiftiIO                   | tensor core  TensorCore (tensors, autograd, ops on OpenBLAS)
//   ingestion      Ingest (site converters, label     | networks     NeuralNet (modules with PyTorch keys, layers, model
//                  maps, splits, reports, NIfTI       |              zoo, optimizers, checkpoints), DataLoading (shard
//                  prediction on the input grid),     |              datasets, augmentation, seeded batching)
//                  Phantoms (synthetic exports)       | learning     Training (the epoch loop with resume), Metrics (run
//                                                     |              ledger, predictions, evaluation), Reporting (HTML
//                                                     |              report of any method family)
//                                                     | methods      Incremental (method protocol and registry, weighted
//                                                     |              experts, baselines, the experiment), Segmentation
//                                                     |              (Ozdemir et al. 2018 building blocks), ClassIncremental
//                                                     |              (data-free class increments: CCSI, Class Impression)
//   workflows      Workflows (the demo: phantoms -> conversion -> experiment -> table), over both sides;
//                  Benchmarks (`bench train`: training, inference, per-layer and memory against PyTorch)
//   commands       Commands (swift-argument-parser), and the thin `medcil` executable
//
// Ingestion and learning are siblings: Ingest writes shard datasets, DataLoading reads them, and
// neither imports the other. No target uses unsafe build flags, so other packages can depend on
// MedCIL's library products by version (scripts/test-dependency.sh checks this).
import PackageDescription

/// The library products: the layers a user imports, each with all of its modules (a product's
/// modules are the ones its users may import). Extend a list when a layer gains a module.
let libraryProducts: [(name: String, targets: [String])] = [
    // Reading DICOM and NIfTI, converting a site's export to shards, phantom exports.
    ("MedCILIngestion", ["ArrayFiles", "Console", "Support", "Datasets", "DicomIO", "NiftiIO", "Ingest", "Phantoms"]),
    // Tensors and autograd, networks and checkpoints, shard loading, training, metrics, reports, methods.
    ("MedCILLearning", ["ArrayFiles", "Support", "Datasets", "TensorCore", "NeuralNet", "DataLoading", "Training", "Metrics",
                        "Reporting", "Incremental", "Segmentation", "ClassIncremental"]),
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
        .systemLibrary(name: "CZlib"),

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
            "DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support", "Datasets",
        ]),
        .target(name: "Phantoms", dependencies: ["DicomIO", "NiftiIO", "ArrayFiles", "Console", "Support"]),

        // Tensor core and networks
        .target(name: "TensorCore", dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "NeuralNet", dependencies: ["TensorCore", "ArrayFiles"]),
        .target(name: "DataLoading", dependencies: ["TensorCore", "ArrayFiles", "Datasets"]),

        // Learning: the training loop, metrics and reports every method family shares
        .target(name: "Training", dependencies: ["NeuralNet", "DataLoading", "TensorCore", "ArrayFiles"]),
        .target(name: "Metrics", dependencies: ["ArrayFiles"]),
        .target(name: "Reporting", dependencies: ["Metrics", "DataLoading", "ArrayFiles"]),

        // Methods: weighted experts (Bransby et al. 2024) and their baselines; segmentation blocks (Ozdemir et al. 2018)
        .target(name: "Incremental", dependencies: ["Training", "Metrics", "Reporting", "NeuralNet", "DataLoading", "TensorCore", "ArrayFiles",
                                                    "Support"]),
        .target(name: "Segmentation", dependencies: ["Training", "NeuralNet", "TensorCore", "DataLoading", "Datasets", "ArrayFiles", "Support"]),
        // Data-free class-incremental learning (Class Impression, CCSI) and its baselines
        .target(name: "ClassIncremental", dependencies: ["CZlib", "Training", "Metrics", "Reporting", "NeuralNet", "DataLoading", "TensorCore", "ArrayFiles", "Support", "Datasets"]),

        // Workflows that span ingestion and learning (the demo)
        .target(name: "Workflows", dependencies: ["Phantoms", "Ingest", "Incremental", "ClassIncremental", "Segmentation", "Datasets", "DataLoading",
                                                  "TensorCore", "Metrics", "Training", "Console", "Support"]),

        .target(name: "Benchmarks", dependencies: ["Incremental", "NeuralNet", "TensorCore", "Console", "Metrics"]),

        // Commands and the executable
        .target(name: "Commands", dependencies: [
            "Ingest", "Phantoms", "Support", "DicomIO", "NiftiIO", "ArrayFiles", "Console", "TensorCore", "NeuralNet", "DataLoading",
            "Training", "Metrics", "Reporting", "Incremental", "ClassIncremental", "Segmentation", "Workflows", "Benchmarks",
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
        .testTarget(name: "IncrementalTests", dependencies: ["Incremental", "Training", "Metrics", "Reporting", "Ingest", "Support", "Phantoms",
                                                            "DataLoading", "NeuralNet", "TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "NeuralNet", "TensorCore", "TestSupport"]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "NeuralNet", "TensorCore", "DataLoading", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "ClassIncrementalTests", dependencies: ["ClassIncremental", "NeuralNet", "TensorCore", "ArrayFiles", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Phantoms", "Support", "DicomIO", "NiftiIO", "ArrayFiles", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["DicomIO", "Console"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
