import Console
import Foundation

/// Paths and helpers shared by the test targets.
public enum TestPaths {
    /// The checkout root (the folder holding Package.swift).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("cannot find the package root from \(#filePath)")
    }()

    /// A public test file fetched by scripts/fetch-testdata.sh. Missing data is a test failure,
    /// never a skip: the caller records the error.
    public static func testData(_ relative: String) throws -> URL {
        let url = root.appendingPathComponent(".testdata").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestSupportError("missing test data \(relative): run scripts/fetch-testdata.sh (scripts/test.sh does)")
        }
        return url
    }

    public static func pydicomFile(_ name: String) throws -> URL { try testData("pydicom/pydicom/data/test_files/\(name)") }
    public static func pydicomDataFile(_ name: String) throws -> URL { try testData("pydicom-data/data_store/data/\(name)") }

    public static var converters: URL { root.appendingPathComponent("converters") }
    public static var oracles: URL { root.appendingPathComponent("Tests/Oracles") }

    /// A fresh empty folder, removed by the caller's `defer`.
    public static func temporaryDirectory(_ label: String = "medcil-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a command; returns its exit status and combined output.
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], cwd: URL? = nil) throws -> (status: Int32, output: String) {
    try Subprocess.run(executable, arguments, cwd: cwd)
}

/// Runs a Python oracle script from Tests/Oracles; throws with its output when it fails.
@discardableResult
public func runOracle(_ script: String, _ arguments: [String]) throws -> String {
    let result = try runProcess("python3", [TestPaths.oracles.appendingPathComponent(script).path] + arguments)
    guard result.status == 0 else {
        throw TestSupportError("oracle \(script) \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)")
    }
    return result.output
}
