import ArrayFiles
import DicomIO
import Foundation
import Support

/// Turns one echo cine into samples: chooses the imaging region (ultrasound region or
/// detected sector), masks everything outside the sector, converts to grey, resizes and
/// picks frames. Only the frames it needs are decoded, each once.
public struct EchoCineProcessor: Sendable {
    public let geometry: GeometrySpec
    public let frames: FrameSpec
    public let limits: DicomLimits

    public init(geometry: GeometrySpec, frames: FrameSpec, limits: DicomLimits = .standard) {
        self.geometry = geometry
        self.frames = frames
        self.limits = limits
    }

    /// What became of one cine.
    public struct Output: Sendable {
        /// Frame indices per sample.
        public var sampleFrames: [[Int]]
        /// Per sample, `frames_per_sample x height x width` grey values.
        public var samples: [[UInt8]]
        /// How the crop was chosen, e.g. "ultrasound-region[0] x 32-335, y 24-415".
        public var region: String
        /// "sector (61% of the region)" or "none".
        public var mask: String
        public var frameCount: Int
        public var framesDecoded: Int
        public var rows: Int
        public var columns: Int
    }

    /// A cine that cannot be converted under this configuration (not a decoding error).
    public struct Skip: Error, CustomStringConvertible {
        public let description: String
    }

    /// Frames sampled to find the sector.
    static let sectorProbeFrames = 16

    public func process(path: String, innerWorkers: Int = 1) throws -> Output {
        let file = try DicomFile(path: path)
        let decoder = try FrameDecoder(file: file, limits: limits)
        let selection = FrameSampler.samples(frameCount: decoder.frameCount, spec: frames)
        guard !selection.isEmpty else {
            let span = (frames.framesPerSample - 1) * frames.stride + 1
            throw Skip(description: "the cine has \(decoder.frameCount) frame\(decoder.frameCount == 1 ? "" : "s"); clips need \(span)")
        }
        let rows = decoder.rows, columns = decoder.columns
        let grey = Greyscale(columns: columns, samples: decoder.outputSamples, type: decoder.outputType,
                             bitsStored: decoder.pixels.bitsStored)
        let pool = DecoderPool(primary: decoder, path: path, limits: limits, workers: innerWorkers)

        // 1. Where to look: the ultrasound region, or the whole image.
        let fullImage = PixelBox(x0: 0, y0: 0, x1: columns - 1, y1: rows - 1)
        var searchBox = fullImage
        var regionText = "full image"
        var usedRegion = false
        if geometry.region == .auto || geometry.region == .ultrasoundRegion {
            let regions = UltrasoundRegion.regions(in: file.dataset)
            let usable = regions.enumerated().filter { $0.element.isTissue2D && $0.element.isInside(rows: rows, columns: columns) }
            if let best = usable.max(by: { $0.element.width * $0.element.height < $1.element.width * $1.element.height }) {
                let r = best.element
                searchBox = PixelBox(x0: r.minX0, y0: r.minY0, x1: r.maxX1, y1: r.maxY1)
                regionText = "ultrasound-region[\(best.offset)] \(searchBox)"
                usedRegion = true
            } else if geometry.region == .ultrasoundRegion {
                let outside = regions.filter { $0.isTissue2D && !$0.isInside(rows: rows, columns: columns) }.count
                throw Skip(description: "no usable ultrasound region (\(regions.count) region\(regions.count == 1 ? "" : "s")" +
                    (outside > 0 ? ", \(outside) tissue region\(outside == 1 ? "" : "s") outside the \(rows)x\(columns) image" : "") + ")")
            }
        }

        // 2. The sector: from what changes across frames within the search box.
        var cropBox = searchBox
        var mask: [Bool]? = nil
        var maskText = "none"
        var probeCache: [Int: [UInt8]] = [:]
        let needsSector = geometry.mask == .sector || (!usedRegion && geometry.region != .full)
        if needsSector {
            let probeCount = min(Self.sectorProbeFrames, decoder.frameCount)
            let probes = (0..<probeCount).map { k in min(decoder.frameCount - 1, (2 * k + 1) * decoder.frameCount / (2 * probeCount)) }
            let uniqueProbes = Array(Set(probes)).sorted()
            var colourful = [Bool](repeating: false, count: searchBox.area)
            let colourLock = NSLock()
            let greys = try pool.map(uniqueProbes) { frameBytes in
                var out = [UInt8](repeating: 0, count: searchBox.area)
                out.withUnsafeMutableBufferPointer { grey.grey(frameBytes, box: searchBox, into: $0) }
                var local = [Bool](repeating: false, count: searchBox.area)
                grey.colourful(frameBytes, box: searchBox, threshold: 24, into: &local)
                colourLock.lock()
                for k in 0..<local.count where local[k] { colourful[k] = true }
                colourLock.unlock()
                return out
            }
            for (k, frame) in uniqueProbes.enumerated() { probeCache[frame] = greys[k] }
            let detected = SectorDetector.detect(frames: greys, width: searchBox.width, height: searchBox.height,
                                                 excluded: decoder.outputSamples == 3 ? colourful : [])
            if let detected, detected.coverage >= (usedRegion ? 0.15 : 0.02) {
                if usedRegion {
                    // Keep the region as the crop; mask what lies outside the sector inside it.
                    mask = geometry.mask == .sector ? detected.mask : nil
                } else {
                    let b = detected.box
                    cropBox = PixelBox(x0: searchBox.x0 + b.x0, y0: searchBox.y0 + b.y0, x1: searchBox.x0 + b.x1, y1: searchBox.y0 + b.y1)
                    regionText = geometry.region == .full ? "full image" : "moving sector \(cropBox)"
                    if geometry.mask == .sector {
                        var sub = [Bool](repeating: false, count: cropBox.area)
                        for y in 0..<cropBox.height {
                            for x in 0..<cropBox.width {
                                sub[y * cropBox.width + x] = detected.mask[(b.y0 + y) * searchBox.width + b.x0 + x]
                            }
                        }
                        mask = sub
                        if geometry.region == .full { cropBox = searchBox; mask = detected.mask }
                    }
                }
                if mask != nil { maskText = "sector (\(Int((detected.coverage * 100).rounded()))% of the searched area)" }
            } else if geometry.region == .motion {
                throw Skip(description: "no moving sector found (the cine does not change enough across frames)")
            } else if !usedRegion && geometry.mask == .sector {
                // Nothing bounds the image: kept whole, its burned-in name, ID and dates
                // would reach the samples.
                throw Skip(description: "no usable ultrasound region and no moving sector found: the whole image, with any burned-in " +
                    "text, would be kept (mask: sector skips such cines; mask: none keeps them)")
            } else if !usedRegion && geometry.region == .auto {
                regionText = "full image (no ultrasound region, no moving sector found)"
            }
        }

        // 3. Resample plan from the crop to the target size.
        let (plan, offsetX, offsetY) = Self.plan(crop: cropBox, geometry: geometry)
        let frameSize = geometry.height * geometry.width
        let perSample = frames.framesPerSample * frameSize
        var slot: [Int: (sample: Int, position: Int)] = [:]
        for (s, indices) in selection.enumerated() { for (p, f) in indices.enumerated() { slot[f] = (s, p) } }
        let needed = slot.keys.sorted()

        // Every needed frame lands in its own place of one buffer, so workers write without locks.
        let canvas = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: selection.count * perSample)
        canvas.initialize(repeating: 0)
        defer { canvas.deallocate() }
        try pool.map(needed, cached: { frame in
            // Reuse a probe frame when the crop lies inside the searched box.
            probeCache[frame].map { Self.subImage($0, of: searchBox, box: cropBox) }
        }, transform: { frameBytes -> [UInt8] in
            var out = [UInt8](repeating: 0, count: cropBox.area)
            out.withUnsafeMutableBufferPointer { grey.grey(frameBytes, box: cropBox, into: $0) }
            return out
        }, consume: { frame, cropGrey in
            var image = cropGrey
            if let mask { for k in 0..<image.count where !mask[k] { image[k] = 0 } }
            let (s, p) = slot[frame]!
            let start = s * perSample + p * frameSize + offsetY * geometry.width + offsetX
            let target = UnsafeMutableBufferPointer(rebasing: canvas[start..<(s * perSample + (p + 1) * frameSize)])
            image.withUnsafeBufferPointer { plan.apply($0, into: target, outStride: geometry.width) }
        })
        let samples = (0..<selection.count).map { Array(canvas[($0 * perSample)..<(($0 + 1) * perSample)]) }

        return Output(sampleFrames: selection, samples: samples, region: regionText, mask: maskText,
                      frameCount: decoder.frameCount, framesDecoded: pool.decodedCount, rows: rows, columns: columns)
    }

    /// The resampling from the crop to the target canvas and where it lands on the canvas.
    static func plan(crop: PixelBox, geometry: GeometrySpec) -> (ResamplePlan, Int, Int) {
        let w = Double(crop.width), h = Double(crop.height)
        let W = geometry.width, H = geometry.height
        switch geometry.fit {
        case .stretch:
            return (ResamplePlan(sourceWidth: crop.width, sourceHeight: crop.height, box: (0, 0, w, h), outWidth: W, outHeight: H), 0, 0)
        case .pad:
            let scale = min(Double(W) / w, Double(H) / h)
            let rw = max(1, min(W, Int((w * scale).rounded()))), rh = max(1, min(H, Int((h * scale).rounded())))
            let plan = ResamplePlan(sourceWidth: crop.width, sourceHeight: crop.height, box: (0, 0, w, h), outWidth: rw, outHeight: rh)
            return (plan, (W - rw) / 2, (H - rh) / 2)
        case .crop:
            let scale = max(Double(W) / w, Double(H) / h)
            let sw = Double(W) / scale, sh = Double(H) / scale
            let x0 = (w - sw) / 2, y0 = (h - sh) / 2
            return (ResamplePlan(sourceWidth: crop.width, sourceHeight: crop.height, box: (x0, y0, x0 + sw, y0 + sh), outWidth: W, outHeight: H), 0, 0)
        }
    }

    static func subImage(_ image: [UInt8], of outer: PixelBox, box: PixelBox) -> [UInt8] {
        if outer == box { return image }
        var out = [UInt8](repeating: 0, count: box.area)
        for y in 0..<box.height {
            let src = (box.y0 - outer.y0 + y) * outer.width + (box.x0 - outer.x0)
            for x in 0..<box.width { out[y * box.width + x] = image[src + x] }
        }
        return out
    }
}

/// Decodes a set of frames of one file on several threads, each with its own open handle
/// (a DCMTK file handle is not shared between threads). Frames are split into contiguous
/// runs, so JPEG fragments are read in order within each run.
final class DecoderPool {
    private let path: String
    private let limits: DicomLimits
    private let workers: Int
    private var decoders: [FrameDecoder?]
    private let lock = NSLock()
    private(set) var decodedCount = 0

    init(primary: FrameDecoder, path: String, limits: DicomLimits, workers: Int) {
        self.path = path
        self.limits = limits
        self.workers = max(1, workers)
        decoders = [primary] + [FrameDecoder?](repeating: nil, count: max(0, workers - 1))
    }

    private func decoder(_ worker: Int) throws -> FrameDecoder {
        lock.lock()
        defer { lock.unlock() }
        if let existing = decoders[worker] { return existing }
        let created = try FrameDecoder(file: DicomFile(path: path), limits: limits)
        decoders[worker] = created
        return created
    }

    /// Decodes `frames`, transforms each with `transform` (on the worker thread), and
    /// returns the results in order.
    func map<T>(_ frames: [Int], transform: (UnsafeRawBufferPointer) -> T) throws -> [T] {
        var results = [T?](repeating: nil, count: frames.count)
        var position: [Int: Int] = [:]
        for (k, frame) in frames.enumerated() { position[frame] = k }
        let resultLock = NSLock()
        try map(frames, cached: { _ in nil }, transform: transform) { frame, value in
            resultLock.lock()
            results[position[frame]!] = value
            resultLock.unlock()
        }
        return results.map { $0! }
    }

    /// Decodes and transforms each frame (or takes `cached`'s value), then hands it to
    /// `consume`. `consume` runs under a lock only when it must touch shared state; here it
    /// writes to disjoint output regions, so it runs on the worker threads.
    @discardableResult
    func map<T>(_ frames: [Int], cached: (Int) -> T?, transform: (UnsafeRawBufferPointer) -> T,
                consume: (Int, T) -> Void) throws -> Int {
        let runs = min(workers, max(1, frames.count / 4))
        var failure: Error?
        let failureLock = NSLock()
        func body(_ run: Int) {
            let lo = run * frames.count / runs, hi = (run + 1) * frames.count / runs
            guard lo < hi else { return }
            do {
                var buffer: [UInt8] = []
                var decoded = 0
                for index in lo..<hi {
                    let frame = frames[index]
                    if let value = cached(frame) {
                        consume(frame, value)
                        continue
                    }
                    let decoder = try self.decoder(run)
                    if buffer.count != decoder.outputFrameBytes { buffer = [UInt8](repeating: 0, count: decoder.outputFrameBytes) }
                    try buffer.withUnsafeMutableBytes { try decoder.decode(frame: frame, into: $0) }
                    decoded += 1
                    let value = buffer.withUnsafeBytes { transform($0) }
                    consume(frame, value)
                }
                self.lock.lock()
                self.decodedCount += decoded
                self.lock.unlock()
            } catch {
                failureLock.lock()
                if failure == nil { failure = error }
                failureLock.unlock()
            }
        }
        if runs == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: runs) { body($0) } }
        if let failure { throw failure }
        return frames.count
    }
}
