import ArrayFiles
import Support

/// Converts decoded frames (`FrameDecoder` output) to 8-bit grey over a pixel box.
///
/// RGB uses ITU-R 601-2 luma in the fixed point Pillow's `convert("L")` uses:
/// `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`. 16-bit data is scaled linearly from
/// its stored range to 0...255 (signed data shifted to start at 0 first).
public struct Greyscale: Sendable {
    public let columns: Int
    public let samples: Int
    public let type: NpyDType
    public let bitsStored: Int

    public init(columns: Int, samples: Int, type: NpyDType, bitsStored: Int) {
        self.columns = columns
        self.samples = samples
        self.type = type
        self.bitsStored = bitsStored
    }

    /// Grey values of the box `x0...x1, y0...y1` (inclusive) of a decoded frame, row-major.
    public func grey(_ frame: UnsafeRawBufferPointer, box: PixelBox, into out: UnsafeMutableBufferPointer<UInt8>) {
        let width = box.width
        switch type {
        case .uint8:
            let src = frame.bindMemory(to: UInt8.self)
            for y in 0..<box.height {
                let row = (box.y0 + y) * columns
                let dst = y * width
                if samples == 1 {
                    (out.baseAddress! + dst).update(from: src.baseAddress! + row + box.x0, count: width)
                } else {
                    for x in 0..<width {
                        let p = (row + box.x0 + x) * 3
                        let l = 19595 * UInt32(src[p]) + 38470 * UInt32(src[p + 1]) + 7471 * UInt32(src[p + 2]) + 32768
                        out[dst + x] = UInt8(truncatingIfNeeded: l >> 16)
                    }
                }
            }
        case .uint16, .int16:
            let shift = type == .int16 ? Int32(1) << Int32(max(bitsStored - 1, 0)) : 0
            let maxValue = Float((1 << bitsStored) - 1)
            let src = frame.bindMemory(to: UInt16.self)
            for y in 0..<box.height {
                let row = (box.y0 + y) * columns
                for x in 0..<width {
                    var value: Float
                    let p = row + box.x0 + x
                    if samples == 1 {
                        let raw = type == .int16 ? Int32(Int16(bitPattern: src[p])) + shift : Int32(src[p])
                        value = Float(raw)
                    } else {
                        let r = Float(src[p * 3]), g = Float(src[p * 3 + 1]), b = Float(src[p * 3 + 2])
                        value = 0.299 * r + 0.587 * g + 0.114 * b
                    }
                    let scaled = samples == 1 ? value * 255 / maxValue : value * 255 / 65535
                    out[y * width + x] = UInt8(max(0, min(255, scaled.rounded())))
                }
            }
        default:
            preconditionFailure("decoded frames are uint8, uint16 or int16")
        }
    }

    /// Marks pixels of the box whose colour is clearly not grey (ECG traces, colour
    /// annotations): the largest difference between channels exceeds `threshold`.
    public func colourful(_ frame: UnsafeRawBufferPointer, box: PixelBox, threshold: Int, into out: inout [Bool]) {
        guard samples == 3, type == .uint8 else { return }
        let src = frame.bindMemory(to: UInt8.self)
        for y in 0..<box.height {
            let row = (box.y0 + y) * columns
            for x in 0..<box.width {
                let p = (row + box.x0 + x) * 3
                let r = Int(src[p]), g = Int(src[p + 1]), b = Int(src[p + 2])
                if max(abs(r - g), abs(g - b), abs(r - b)) > threshold { out[y * box.width + x] = true }
            }
        }
    }
}

/// An inclusive pixel rectangle.
public struct PixelBox: Equatable, Sendable, Codable, CustomStringConvertible {
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }

    public var width: Int { x1 - x0 + 1 }
    public var height: Int { y1 - y0 + 1 }
    public var area: Int { width * height }

    public var description: String { "x \(x0)-\(x1), y \(y0)-\(y1)" }
}
