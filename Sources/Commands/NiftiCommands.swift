import ArgumentParser
import ArrayFiles
import Foundation
import NiftiIO

/// `medcil nifti`: inspect NIfTI files the way MedCIL reads them.
struct NiftiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nifti",
        abstract: "Show a NIfTI file's header, or write its voxels as .npy, exactly as MedCIL reads them.",
        subcommands: [NiftiInfo.self, NiftiVoxels.self]
    )
}

/// `medcil nifti info FILE [--json]`
struct NiftiInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print dims, datatype, pixdim, qform/sform codes and matrices, axis codes, slope/intercept, intent and extensions.",
        discussion: """
        Reads .nii and .nii.gz (NIfTI-1 and NIfTI-2, either byte order) through libnifti2. The affine MedCIL uses is \
        the sform when sform_code > 0, else the qform, else pixdim; the axis codes are nibabel's aff2axcodes of it. \
        The canonical section is what --canonical gives: axes permuted and flipped to RAS+ as nibabel's \
        as_closest_canonical does. The header's description field is shown as stored (it may name a subject).
        """
    )

    @Argument(help: "The NIfTI file (.nii or .nii.gz).")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct Canonical: Encodable {
        var shape: [Int]
        var affine: Affine
        var axisCodes: [String]
    }

    struct Output: Encodable {
        var file: String
        var header: NiftiHeader
        var canonical: Canonical?
    }

    func run() throws {
        let header: NiftiHeader
        do { header = try NiftiFile(path: file).header } catch {
            printError("medcil nifti info: \(file): \(error)")
            throw ExitCode(1)
        }
        let canonical: Canonical? = (try? AxisOrientation(affine: header.affine)).map { orientation in
            let plan = Reorientation(sourceShape: header.spatialShape, orientation: orientation)
            return Canonical(shape: plan.shape + Array(header.volumeShape.dropFirst(3)), affine: plan.canonicalAffine(header.affine),
                             axisCodes: ["R", "A", "S"])
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(Output(file: file, header: header, canonical: canonical)), as: UTF8.self))
            return
        }
        print(NiftiInfoText.render(file: file, header: header, canonical: canonical))
    }
}

enum NiftiInfoText {
    static func render(file: String, header h: NiftiHeader, canonical: NiftiInfo.Canonical?) -> String {
        func number(_ x: Double) -> String { String(format: "%g", x) }
        func matrix(_ a: Affine, indent: String) -> String {
            a.rows.prefix(3).map { indent + $0.map { String(format: "%11.5f", $0) }.joined(separator: " ") }.joined(separator: "\n")
        }
        var lines: [String] = []
        lines.append("File:           \(file)")
        lines.append("Format:         NIfTI-\(h.version.rawValue), \(h.byteOrder.rawValue) endian, voxels at byte \(h.voxOffset)")
        lines.append("Dims:           \(h.shape.map(String.init).joined(separator: " x "))   (dim \(h.dim.map(String.init).joined(separator: " ")))")
        lines.append("Datatype:       \(h.datatypeName) (code \(h.datatypeCode), \(h.bitsPerVoxel) bits)" +
                     (NiftiDatatype(rawValue: h.datatypeCode) == nil ? "  [not readable by MedCIL]" : ""))
        lines.append("Pixdim:         \(h.pixdim.map(number).joined(separator: " "))   units \(h.spatialUnits), \(h.timeUnits)")
        let slope = h.sclSlope.map(number) ?? "nan", inter = h.sclInter.map(number) ?? "nan"
        let applied = h.scaling.map { "applied: value * \(number($0.slope)) + \(number($0.intercept))" }
            ?? (h.scalingProblem.map { "not applicable: \($0)" } ?? "not applied (slope 0 or NaN)")
        lines.append("Scaling:        scl_slope \(slope), scl_inter \(inter)  (\(applied); never to label volumes)")
        lines.append("Cal min/max:    \(number(h.calMin)) / \(number(h.calMax))")
        lines.append("Intent:         \(h.intentName) (code \(h.intentCode))" + (h.intentLabel.isEmpty ? "" : " '\(h.intentLabel)'") +
                     "  p1 p2 p3 \(h.intentParameters.map(number).joined(separator: " "))")
        lines.append("Description:    \(h.description.isEmpty ? "-" : h.description)")
        lines.append("qform_code:     \(h.qformCode) (\(h.qformName))   quaternion b c d \(h.quaternion.map(number).joined(separator: " ")), qfac \(number(h.qfac))")
        if h.qformCode > 0 { lines.append(matrix(h.qform, indent: "                ")) }
        lines.append("sform_code:     \(h.sformCode) (\(h.sformName))")
        if h.sformCode > 0 { lines.append(matrix(h.sform, indent: "                ")) }
        lines.append("Affine used:    from \(h.affineSource.rawValue)")
        lines.append(matrix(h.affine, indent: "                "))
        lines.append("Axis codes:     \(h.axisCodes.isEmpty ? "none (degenerate affine)" : h.axisCodes.joined())")
        if let canonical {
            lines.append("Canonical:      \(canonical.shape.map(String.init).joined(separator: " x ")), RAS (medcil nifti voxels --canonical)")
            lines.append(matrix(canonical.affine, indent: "                "))
        }
        lines.append("Slice info:     freq/phase/slice dim \(h.frequencyDim)/\(h.phaseDim)/\(h.sliceDim), slice code \(h.sliceCode), " +
                     "slices \(h.sliceStart)...\(h.sliceEnd), duration \(number(h.sliceDuration)), toffset \(number(h.timeOffset))")
        lines.append("Extensions:     \(h.extensions.isEmpty ? "none" : h.extensions.map { "\($0.name) (code \($0.code), \($0.size) bytes)" }.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}

/// `medcil nifti voxels FILE --out X.npy [--canonical]`
struct NiftiVoxels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxels",
        abstract: "Write the scaled voxels as float32 .npy, C order [x, y, z(, t...)], stored or canonical (RAS+) orientation.",
        discussion: """
        The array is what nibabel's img.get_fdata() gives (cast to float32): array[i, j, k] is voxel (i, j, k), \
        scl_slope/scl_inter applied when the slope is neither 0 nor NaN. With --canonical, the axes are permuted and \
        flipped to RAS+ as nibabel.as_closest_canonical(img) does (no resampling). NaN values are kept.
        """
    )

    @Argument(help: "The NIfTI file (.nii or .nii.gz).")
    var file: String

    @Option(help: "Output .npy path.")
    var out: String

    @Flag(help: "Reorient to RAS+ (permutation and flips only) before writing.")
    var canonical = false

    func run() throws {
        var volume: Volume<Float>
        do {
            volume = try NiftiFile(path: file).readImage()
            if canonical { volume = try volume.canonical() }
        } catch {
            printError("medcil nifti voxels: \(file): \(error)")
            throw ExitCode(1)
        }
        try NpyArray(volume.cOrderValues(), shape: volume.shape).write(to: URL(fileURLWithPath: out))
        let codes = (try? volume.orientation().codes.joined()) ?? "?"
        print("wrote \(out): \(volume.shape.map(String.init).joined(separator: "x")) float32, axes \(codes)\(canonical ? " (canonical)" : "")")
    }
}
