import Foundation

/// What identifies one phantom patient in the exports the phantom generator writes: the
/// values a privacy check must never find in a conversion's outputs.
public struct PhantomIdentity: Sendable, Equatable {
    /// Name parts as written in headers and folder names (e.g. `BERG`, `ZOE`, `BERG^ZOE`).
    public var names: [String]
    /// Patient and subject IDs.
    public var ids: [String]
    /// Dates as DICOM writes them, `YYYYMMDD` (birth, study).
    public var dates: [String]
    /// Study, series and SOP instance UIDs.
    public var uids: [String]
}

extension EchoPhantomExporter {
    /// The patients of `export(site:to:perView:seed:faults:)` with the same arguments, their
    /// cines' UIDs included (the fault files' patients too, when `faults`).
    public static func identities(site: EchoPhantomSite, perView: Int, seed: UInt64, faults: Bool) -> [PhantomIdentity] {
        var result = (0..<perView).map { index -> PhantomIdentity in
            let person = patient(site: site, index: index, seed: seed)
            var uids = [uid(seed, "\(site.name):\(person.id)", "study")]
            for (viewIndex, view) in site.views.enumerated() {
                let base = "\(site.name):\(person.id):\(view.canonical):\(viewIndex)"
                uids += [uid(seed, base, "sop"), uid(seed, base, "series")]
            }
            return PhantomIdentity(names: [person.first, person.last, "\(person.last)^\(person.first)"], ids: [person.id],
                                   dates: [person.birthDate, person.studyDate], uids: uids)
        }
        if faults {
            for person in faultPatients(site: site) {
                result.append(PhantomIdentity(names: [person.first, person.last, "\(person.last)^\(person.first)"], ids: [person.id],
                                              dates: [person.birthDate, person.studyDate], uids: []))
            }
        }
        return result
    }
}

extension MRPhantomExporter {
    /// The subjects of `export(site:to:subjects:seed:faults:)` with the same arguments, as far
    /// as their files identify them: at a clinic-layout site the names and dates the folders
    /// carry. BIDS (`sub-A001`) and nnU-Net (`shoulderB_001`) case labels are study
    /// pseudonyms, as in any shared dataset of those layouts, and identify no one.
    public static func identities(site: MRPhantomSite, subjects: Int, seed: UInt64) -> [PhantomIdentity] {
        guard site.layout == .clinic else { return [] }
        return (0..<subjects).map { subject in
            let person = clinicPerson(site: site, subject: subject, seed: seed)
            return PhantomIdentity(names: [person.first, person.last], ids: [], dates: [person.birthDate, person.studyDate], uids: [])
        }
    }
}
