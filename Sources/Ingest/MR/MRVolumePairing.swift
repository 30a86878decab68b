import Foundation
import Support

/// Finds image volumes and their label volumes among a site's files (`pairing.image` and
/// `pairing.label`, each with a named group `volume`) and pairs them by that group. Every
/// file that does not end up in a pair gets a reason: matched by neither pattern, an image
/// without a label volume (or the reverse), or a volume key claimed twice.
public struct MRVolumePairing: Sendable {
    public struct Pair: Sendable {
        /// The `volume` group both paths share.
        public var key: String
        public var image: InputFile
        public var label: InputFile
        /// The `subject` group of the image path, when `pairing.subject` is set and matches.
        public var subject: String?
    }

    public enum Unpaired: Sendable, Equatable {
        case excluded(String)
        case unpaired(String)
        case failed(String)
    }

    public var pairs: [Pair] = []
    /// Index into the scanned files -> why the file is not part of a pair.
    public var unpaired: [Int: Unpaired] = [:]
    /// Index into the scanned files -> (role, index of its partner).
    public var roles: [Int: (role: MRInputFate.Role, partner: Int)] = [:]

    public init(files: [InputFile], spec: MRPairingSpec) throws {
        let imagePattern = try NSRegularExpression(pattern: spec.image)
        let labelPattern = try NSRegularExpression(pattern: spec.label)
        let subjectPattern = try spec.subject.map { try NSRegularExpression(pattern: $0) }
        var images: [String: [Int]] = [:]
        var labels: [String: [Int]] = [:]
        for (index, file) in files.enumerated() {
            if let reason = file.excludedBecause {
                unpaired[index] = .excluded(reason)
                continue
            }
            if let key = Self.group("volume", of: imagePattern, in: file.relativePath) {
                images[key, default: []].append(index)
            } else if let key = Self.group("volume", of: labelPattern, in: file.relativePath) {
                labels[key, default: []].append(index)
            } else {
                unpaired[index] = .excluded("matches neither pairing.image nor pairing.label")
            }
        }
        for key in images.keys.sorted() {
            let imageIndices = images[key]!
            let labelIndices = labels[key] ?? []
            if imageIndices.count > 1 || labelIndices.count > 1 {
                let all = (imageIndices + labelIndices).map { files[$0].relativePath }
                for index in imageIndices + labelIndices {
                    unpaired[index] = .failed("volume key '\(key)' is claimed by \(all.count) files (\(all.joined(separator: ", "))): rename them or tighten pairing.image / pairing.label")
                }
                continue
            }
            let imageIndex = imageIndices[0]
            guard let labelIndex = labelIndices.first else {
                unpaired[imageIndex] = .unpaired("no label volume matches pairing.label for volume '\(key)'")
                continue
            }
            let image = files[imageIndex]
            let subject = subjectPattern.flatMap { Self.group("subject", of: $0, in: image.relativePath) }
            if subjectPattern != nil && subject == nil {
                unpaired[imageIndex] = .failed("pairing.subject does not match the image path, so the volume's subject is unknown")
                unpaired[labelIndex] = .failed("its image's subject is unknown (pairing.subject does not match \(image.relativePath))")
                continue
            }
            pairs.append(Pair(key: key, image: image, label: files[labelIndex], subject: subject))
            roles[imageIndex] = (.image, labelIndex)
            roles[labelIndex] = (.label, imageIndex)
        }
        for (key, labelIndices) in labels where images[key] == nil {
            for index in labelIndices {
                unpaired[index] = labelIndices.count > 1
                    ? .failed("volume key '\(key)' is claimed by \(labelIndices.count) label volumes and no image")
                    : .unpaired("no image volume matches pairing.image for volume '\(key)'")
            }
        }
    }

    /// The named group's text in the first match of `pattern` in `path`, or nil.
    static func group(_ name: String, of pattern: NSRegularExpression, in path: String) -> String? {
        guard let match = pattern.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) else { return nil }
        let range = match.range(withName: name)
        guard range.location != NSNotFound, let swiftRange = Range(range, in: path) else { return nil }
        let value = String(path[swiftRange])
        return value.isEmpty ? nil : value
    }
}
