import Foundation
import Support

/// How one site's ultrasound machine acquires and draws its images. Real sites differ in
/// vendor, probe and preset; each of these settings changes how the converted frames look,
/// so a site's images are recognisable after conversion (the premise of weighted experts).
struct EchoMachineStyle: Sendable {
    var rows: Int
    var columns: Int
    /// Fan apex, as a fraction of the width, and its row.
    var apexX: Double
    var apexY: Int
    /// Fan radius in pixels and half opening angle in degrees (the preset's sector width).
    var radius: Double
    var halfAngle: Double
    /// Imaging depth in cm. The heart keeps its size in cm, so a deeper setting shows it
    /// smaller and higher in the fan: anatomy scale = `referenceDepth / depthCentimetres`.
    var depthCentimetres: Double
    /// Overall gain (a factor on the echo amplitude before compression).
    var gain: Double
    /// Depth attenuation per sector radius (exp(-k * depth)).
    var attenuation: Double
    /// Time-gain compensation: amplitude times exp(tgc * depth), partly undoing attenuation.
    var timeGainCompensation: Double
    /// Transmit frequency in MHz. Speckle cells scale with the pulse length and beam width,
    /// so a lower frequency gives coarser speckle (`speckleCell`).
    var probeMegahertz: Double
    /// Log compression: grey = clip(1 + 20 log10(amplitude / 2) / dynamicRange, 0, 1)^gamma;
    /// a small dynamic range gives contrasty images, a large one flat grey ones.
    var dynamicRange: Double
    /// The post-processing grey map's exponent (the "gain curve"): above 1 darkens mid-greys.
    var gamma: Double
    /// Spatial smoothing: box-filter radius in pixels (0 = none), applied before compression.
    var smoothing: Int
    /// Temporal persistence: each frame keeps this share of the previous one.
    var persistence: Double
    var colour: Bool
    var textColour: (UInt8, UInt8, UInt8)
    var ecgColour: (UInt8, UInt8, UInt8)
    var framesPerCine: ClosedRange<Int>
    var framesPerSecond: Double

    /// The depth at which the anatomy is drawn at scale 1.
    static let referenceDepth = 16.0

    var anatomyScale: Double { Self.referenceDepth / depthCentimetres }

    /// Speckle cell (axial, lateral) in pixels: about 7 / MHz pixels axially at these image
    /// sizes, and 1.5 times that laterally (beams are wider than pulses are long).
    var speckleCell: (axial: Int, lateral: Int) {
        let axial = max(1, Int((7 / probeMegahertz).rounded()))
        return (axial, max(1, Int((1.5 * 7 / probeMegahertz).rounded())))
    }
}

/// One synthetic patient's heart: size, pose and rhythm.
struct EchoSubject: Sendable {
    var scale: Double
    var rotation: Double   // degrees
    var shiftX: Double
    var shiftY: Double
    var heartRate: Double  // beats per minute
    var phase: Double      // radians at frame 0
    var blobJitter: [Double]

    static func random(using generator: inout SeededGenerator) -> EchoSubject {
        EchoSubject(scale: 0.88 + 0.24 * generator.nextUnit(), rotation: -8 + 16 * generator.nextUnit(),
                    shiftX: -0.04 + 0.08 * generator.nextUnit(), shiftY: -0.03 + 0.06 * generator.nextUnit(),
                    heartRate: 55 + 40 * generator.nextUnit(), phase: 2 * Double.pi * generator.nextUnit(),
                    blobJitter: (0..<16).map { _ in 0.92 + 0.16 * generator.nextUnit() })
    }
}

/// Renders a cine: a fan-shaped sector with speckle, the view's chambers moving over the
/// cardiac cycle, and outside the fan burned-in text and a scrolling ECG trace.
struct EchoCineRenderer {
    let style: EchoMachineStyle
    let view: String
    let subject: EchoSubject
    let textLines: [String]
    let rightLines: [String]

    /// The fan's bounding box (inclusive), for the Sequence of Ultrasound Regions.
    var sectorBox: (x0: Int, y0: Int, x1: Int, y1: Int) {
        let apexX = style.apexX * Double(style.columns)
        let half = style.halfAngle * Double.pi / 180
        let x0 = max(0, Int(apexX - style.radius * sin(half)) - 1)
        let x1 = min(style.columns - 1, Int(apexX + style.radius * sin(half)) + 1)
        return (x0, style.apexY, x1, min(style.rows - 1, style.apexY + Int(style.radius) + 1))
    }

    /// The ECG strip's box, below the fan.
    var ecgBox: (x0: Int, y0: Int, x1: Int, y1: Int) {
        let top = min(style.rows - 34, sectorBox.y1 + 6)
        return (10, top, style.columns - 11, min(style.rows - 3, top + 26))
    }

    /// All frames, `[frames, rows, columns, samples]` interleaved, 8-bit.
    func render(frames: Int, seed: UInt64) -> [UInt8] {
        let rows = style.rows, cols = style.columns
        let samples = style.colour ? 3 : 1
        let frameSize = rows * cols * samples
        var out = [UInt8](repeating: 0, count: frames * frameSize)
        var generator = SeededGenerator(seed: seed)
        let apexX = style.apexX * Double(cols), apexY = Double(style.apexY)
        let half = style.halfAngle * Double.pi / 180
        let R = style.radius

        // Geometry of the fan: depth of every pixel inside it.
        var depth = [Float](repeating: -1, count: rows * cols)
        for y in style.apexY..<rows {
            for x in 0..<cols {
                let dx = Double(x) + 0.5 - apexX, dy = Double(y) + 0.5 - apexY
                let r = (dx * dx + dy * dy).squareRoot()
                guard r <= R, r > 2, abs(atan2(dx, dy)) <= half else { continue }
                depth[y * cols + x] = Float(r / R)
            }
        }
        let cell = style.speckleCell
        let persistent = speckle(rows: rows, cols: cols, cell: cell, generator: &generator)
        let blobs = EchoAnatomy.blobs(for: view)
        let contrast = view.hasPrefix("contrast-")
        let framesPerBeat = style.framesPerSecond * 60 / subject.heartRate
        var anatomy = [Float](repeating: 0, count: rows * cols)
        var amplitude = [Float](repeating: 0, count: rows * cols)
        var previous: [Float]? = nil

        for t in 0..<frames {
            let phase = subject.phase + 2 * Double.pi * Double(t) / framesPerBeat
            let systole = (1 - cos(phase)) / 2  // 0 at end-diastole, 1 at end-systole
            // 1. Anatomy.
            for k in 0..<anatomy.count { anatomy[k] = depth[k] >= 0 ? 0.2 : 0 }
            for (index, blob) in blobs.enumerated() {
                paint(blob, jitter: subject.blobJitter[index % subject.blobJitter.count], systole: systole, contrast: contrast,
                      into: &anatomy, depth: depth, apex: (apexX, apexY), radius: R)
            }
            // 2. Echo amplitude: speckle (part tied to tissue, part new every frame),
            // attenuation and time-gain compensation, gain, electronic noise.
            let fresh = speckle(rows: rows, cols: cols, cell: cell, generator: &generator)
            for k in 0..<(rows * cols) {
                guard depth[k] >= 0 else { amplitude[k] = 0; continue }
                let d = Double(depth[k])
                let s = 0.55 * persistent[k] + 0.45 * fresh[k]
                let nearField = 1 + 0.6 * exp(-d * 14)
                let v = Double(anatomy[k]) * Double(s) * exp((style.timeGainCompensation - style.attenuation) * d) * nearField * style.gain
                amplitude[k] = Float(v + 0.012 * Double(fresh[(k * 7) % fresh.count]))
            }
            // 3. The machine's processing: spatial smoothing, persistence, log compression
            // and the grey map.
            if style.smoothing > 0 { boxBlur(&amplitude, rows: rows, cols: cols, radius: style.smoothing) }
            if let previous, style.persistence > 0 {
                let p = Float(style.persistence)
                for k in 0..<amplitude.count { amplitude[k] = p * previous[k] + (1 - p) * amplitude[k] }
            }
            previous = amplitude
            let base = t * frameSize
            for k in 0..<(rows * cols) where depth[k] >= 0 {
                let decibels = 20 * log10(max(Double(amplitude[k]), 1e-6) / 2)
                let grey = pow(max(0, min(1, 1 + decibels / style.dynamicRange)), style.gamma)
                let byte = UInt8(max(0, min(255, (255 * grey).rounded())))
                if samples == 1 {
                    out[base + k] = byte
                } else {
                    out[base + 3 * k] = byte; out[base + 3 * k + 1] = byte; out[base + 3 * k + 2] = byte
                }
            }
            // 4. Overlays outside the fan.
            drawText(into: &out, base: base)
            drawECG(into: &out, base: base, frame: t, framesPerBeat: framesPerBeat)
        }
        return out
    }

    /// Separable box filter of `radius` pixels (edges use the pixels that exist).
    private func boxBlur(_ image: inout [Float], rows: Int, cols: Int, radius: Int) {
        var temp = [Float](repeating: 0, count: image.count)
        for y in 0..<rows {
            let row = y * cols
            for x in 0..<cols {
                let lo = max(0, x - radius), hi = min(cols - 1, x + radius)
                var sum: Float = 0
                for xx in lo...hi { sum += image[row + xx] }
                temp[row + x] = sum / Float(hi - lo + 1)
            }
        }
        for x in 0..<cols {
            for y in 0..<rows {
                let lo = max(0, y - radius), hi = min(rows - 1, y + radius)
                var sum: Float = 0
                for yy in lo...hi { sum += temp[yy * cols + x] }
                image[y * cols + x] = sum / Float(hi - lo + 1)
            }
        }
    }

    private func paint(_ blob: EchoBlob, jitter: Double, systole: Double, contrast: Bool, into anatomy: inout [Float],
                       depth: [Float], apex: (Double, Double), radius: Double) {
        var a = blob.a * jitter, b = blob.b * (2 - jitter) * 0.5 + blob.b * 0.5
        switch blob.motion {
        case .ventricle: a *= 1 - 0.14 * systole; b *= 1 - 0.12 * systole
        case .atrium: a *= 0.9 + 0.14 * systole; b *= 0.9 + 0.14 * systole
        case .vein: b *= 0.75 + 0.35 * systole
        case .valve, .fixed: break
        }
        if blob.motion == .valve && systole > 0.35 && systole < 0.9 && blob.kind == .bright { return }  // valve open
        let value: Float
        switch blob.kind {
        case .muscle: value = 0.5
        case .liver: value = 0.36
        case .bright: value = 0.95
        case .blood: value = contrast && blob.side == .left ? 0.82 : 0.03
        }
        // Subject pose: rotate about the heart centre, scale, shift.
        let theta = subject.rotation * Double.pi / 180
        let cx = blob.x - 0.0, cy = blob.y - 0.55
        let rx = cx * cos(theta) - cy * sin(theta), ry = cx * sin(theta) + cy * cos(theta)
        // The imaging depth scales the whole heart about the apex (it keeps its size in cm).
        let zoom = style.anatomyScale
        let centerX = apex.0 + radius * zoom * (subject.scale * rx + subject.shiftX)
        let centerY = apex.1 + radius * zoom * (0.55 + subject.scale * ry + subject.shiftY)
        let A = radius * zoom * subject.scale * a, B = radius * zoom * subject.scale * b
        guard A > 0.5, B > 0.5 else { return }
        let angle = (blob.angle + subject.rotation) * Double.pi / 180
        let ca = cos(angle), sa = sin(angle)
        let extent = max(A, B) + 2
        let cols = style.columns, rows = style.rows
        let x0 = max(0, Int(centerX - extent)), x1 = min(cols - 1, Int(centerX + extent))
        let y0 = max(0, Int(centerY - extent)), y1 = min(rows - 1, Int(centerY + extent))
        guard x0 <= x1, y0 <= y1 else { return }
        let edge = 2.0 / min(A, B)
        for y in y0...y1 {
            for x in x0...x1 {
                let k = y * cols + x
                guard depth[k] >= 0 else { continue }
                let dx = Double(x) + 0.5 - centerX, dy = Double(y) + 0.5 - centerY
                let u = (dx * ca + dy * sa) / A, v = (-dx * sa + dy * ca) / B
                let q = (u * u + v * v).squareRoot()
                guard q < 1 + edge else { continue }
                let alpha = Float(max(0, min(1, (1 + edge - q) / (2 * edge))))
                anatomy[k] = anatomy[k] * (1 - alpha) + value * alpha
            }
        }
    }

    /// Rayleigh-distributed multiplicative speckle with mean about 1, in cells of
    /// `cell.axial` x `cell.lateral` pixels.
    private func speckle(rows: Int, cols: Int, cell: (axial: Int, lateral: Int), generator: inout SeededGenerator) -> [Float] {
        let gw = (cols + cell.lateral - 1) / cell.lateral, gh = (rows + cell.axial - 1) / cell.axial
        var coarse = [Float](repeating: 0, count: gw * gh)
        for k in 0..<coarse.count {
            let u = max(generator.nextUnit(), 1e-12)
            coarse[k] = Float((-2 * log(u)).squareRoot() * 0.7979)
        }
        var out = [Float](repeating: 0, count: rows * cols)
        for y in 0..<rows {
            for x in 0..<cols {
                // Lateral smear: speckle cells blur into their left neighbour.
                let gx = x / cell.lateral, gy = y / cell.axial
                let left = coarse[gy * gw + max(gx - 1, 0)], centre = coarse[gy * gw + gx]
                out[y * cols + x] = 0.3 * left + 0.7 * centre
            }
        }
        return out
    }

    private func put(_ out: inout [UInt8], base: Int, x: Int, y: Int, colour: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < style.columns, y < style.rows else { return }
        let k = y * style.columns + x
        if style.colour {
            out[base + 3 * k] = colour.0; out[base + 3 * k + 1] = colour.1; out[base + 3 * k + 2] = colour.2
        } else {
            let luma: Int = Int(colour.0) * 299 + Int(colour.1) * 587 + Int(colour.2) * 114
            out[base + k] = UInt8(luma / 1000)
        }
    }

    private func drawText(into out: inout [UInt8], base: Int) {
        for (line, text) in textLines.enumerated() {
            BitmapFont.draw(text, x: 6, y: 6 + line * 10) { put(&out, base: base, x: $0, y: $1, colour: style.textColour) }
        }
        for (line, text) in rightLines.enumerated() {
            let width = text.count * 6
            BitmapFont.draw(text, x: style.columns - 6 - width, y: 6 + line * 10) { put(&out, base: base, x: $0, y: $1, colour: style.textColour) }
        }
    }

    /// A sweeping ECG display: the trace is redrawn left to right, a gap marks the sweep.
    private func drawECG(into out: inout [UInt8], base: Int, frame: Int, framesPerBeat: Double) {
        let box = ecgBox
        let width = box.x1 - box.x0
        guard width > 20, box.y1 > box.y0 + 8 else { return }
        let pixelsPerBeat = Double(width) / 2.5
        let sweep = Int(Double(frame) / framesPerBeat * pixelsPerBeat) % width
        let mid = Double(box.y0 + box.y1) / 2, amplitude = Double(box.y1 - box.y0) * 0.45
        var previous: Int?
        for x in 0..<width {
            if x > sweep && x < sweep + 8 { previous = nil; continue }
            let beat = (Double(x) / pixelsPerBeat + subject.phase / (2 * Double.pi)).truncatingRemainder(dividingBy: 1)
            let y = Int((mid - amplitude * ecg(beat)).rounded())
            let from = previous ?? y
            for yy in min(from, y)...max(from, y) { put(&out, base: base, x: box.x0 + x, y: yy, colour: style.ecgColour) }
            previous = y
        }
    }

    /// One heartbeat of a stylised ECG: P wave, QRS complex, T wave; t in [0, 1).
    private func ecg(_ t: Double) -> Double {
        func bump(_ centre: Double, _ width: Double, _ height: Double) -> Double {
            height * exp(-pow((t - centre) / width, 2))
        }
        let p: Double = bump(0.12, 0.03, 0.15)
        let qrs: Double = bump(0.3, 0.012, 1.0) - bump(0.27, 0.008, 0.15) - bump(0.33, 0.01, 0.3)
        let t: Double = bump(0.55, 0.05, 0.3)
        return p + qrs + t
    }
}
