import ArrayFiles
import Foundation
import Testing
import TestSupport

@Suite struct NpyHeaderTests {
    /// Expected bytes written by numpy 2.4.6: `np.save(f, np.zeros((2, 3), np.float32))`
    /// gives a 128-byte header (data 64-byte aligned) with this dict and space padding.
    @Test func headerMatchesNumpyByteForByte() {
        let header = NpyHeader(dtype: .float32, shape: [2, 3]).encoded()
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        var expected = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00])
        expected.append(Data(dict.utf8))
        expected.append(Data(String(repeating: " ", count: 128 - 10 - dict.utf8.count - 1).utf8))
        expected.append(0x0A)
        #expect(header == expected)
        #expect(header.count % 64 == 0)
    }

    @Test(arguments: [
        ([5], "(5,)"), ([], "()"), ([2, 3, 4], "(2, 3, 4)"),
    ] as [([Int], String)])
    func shapeTuples(shape: [Int], text: String) throws {
        let header = NpyHeader(dtype: .uint8, shape: shape).encoded()
        let string = String(decoding: header.dropFirst(10), as: UTF8.self)
        #expect(string.contains("'shape': \(text)"))
        let parsed = try header.withUnsafeBytes { try NpyHeader.decode($0) }
        #expect(parsed.shape == shape)
        #expect(parsed.dataOffset == header.count)
    }

    @Test func rejectsNonNpy() {
        let data = Data("hello world, not numpy".utf8)
        #expect(throws: ArrayFileError.self) { try NpyArray.decode(data) }
    }

    @Test func truncatedDataIsAnError() throws {
        var bytes = try NpyArray([1, 2, 3, 4] as [Float], shape: [4]).encoded()
        bytes.removeLast(3)
        #expect(throws: ArrayFileError.self) { try NpyArray.decode(bytes) }
    }
}

@Suite struct NpyInteropTests {
    /// numpy writes arrays of every supported dtype (big endian among them); MedCIL reads the
    /// same values. Values are the ones the oracle script writes: arange(n) cast to the dtype.
    @Test func readsWhatNumpyWrites() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try runOracle("npy_interop.py", ["write", folder.path])
        let cases: [(String, NpyDType)] = [("u1", .uint8), ("i1", .int8), ("u2", .uint16), ("i2", .int16), ("be_i2", .int16),
                                           ("u4", .uint32), ("i4", .int32), ("i8", .int64), ("f4", .float32), ("be_f4", .float32),
                                           ("f8", .float64), ("b1", .bool)]
        for (name, dtype) in cases {
            let array = try NpyArray.read(from: folder.appendingPathComponent("\(name).npy"))
            #expect(array.dtype == dtype, "\(name)")
            #expect(array.shape == [2, 3], "\(name)")
            let values = array.floatValues()
            let expected: [Float] = dtype == .bool ? [0, 1, 0, 1, 0, 1] : [0, 1, 2, 3, 4, 5]
            #expect(values == expected, "\(name): \(values)")
        }
    }

    /// MedCIL writes; numpy.load reads the same shape, dtype and values.
    @Test func numpyReadsWhatMedCILWrites() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try NpyArray([0, 1, 2, 3, 4, 5] as [UInt8], shape: [2, 3]).write(to: folder.appendingPathComponent("u1.npy"))
        try NpyArray([0, 1, 2, 3, 4, 5] as [Float], shape: [2, 3]).write(to: folder.appendingPathComponent("f4.npy"))
        try NpyArray([0, 1, 2, 3, 4, 5] as [Int64], shape: [2, 3]).write(to: folder.appendingPathComponent("i8.npy"))
        try NpyArray([0, 1, 2, 3, 4, 5] as [UInt16], shape: [2, 3]).write(to: folder.appendingPathComponent("u2.npy"))
        let output = try runOracle("npy_interop.py", ["check", folder.path])
        #expect(output.contains("ok 4"))
    }
}

@Suite struct AtomicWriteTests {
    @Test func writesWithoutLeavingTemporaries() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("nested/a.npy")
        try AtomicFile.write(Data([1, 2, 3]), to: target)
        try AtomicFile.write(Data([4, 5]), to: target)
        #expect(try Data(contentsOf: target) == Data([4, 5]))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nested").path)
        #expect(names == ["a.npy"])
    }

    @Test func staleTemporariesAreRemoved() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([1]).write(to: folder.appendingPathComponent(".tmp-123-4-x.npy"))
        try Data([1]).write(to: folder.appendingPathComponent("keep.npy"))
        #expect(AtomicFile.removeStaleTemporaries(in: folder) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["keep.npy"])
    }

    @Test func streamWriterCommitsOnlyComplete() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("s.npy")
        let short = try NpyStreamWriter(url: url, dtype: .uint8, shape: [2, 2])
        try short.append([1, 2, 3] as [UInt8])
        #expect(throws: ArrayFileError.self) { try short.finish() }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)

        let full = try NpyStreamWriter(url: url, dtype: .uint8, shape: [2, 2])
        #expect(throws: ArrayFileError.self) { try full.append([1, 2, 3, 4, 5] as [UInt8]) }
        try full.append([1, 2] as [UInt8])
        try full.append([3, 4] as [UInt8])
        try full.finish()
        let array = try NpyArray.read(from: url)
        #expect(array.values(as: UInt8.self) == [1, 2, 3, 4])
    }

    @Test func mappedItemsAreRowsOfTheFirstAxis() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("m.npy")
        try NpyArray(Array(0..<12) as [Int32], shape: [3, 2, 2]).write(to: url)
        let mapped = try MappedNpy(url: url)
        #expect(mapped.header.shape == [3, 2, 2])
        #expect(Array(mapped.item(1).bindMemory(to: Int32.self)) == [4, 5, 6, 7])
    }
}
