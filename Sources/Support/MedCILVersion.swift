/// The toolkit's version, recorded in every dataset description and checkpoint.
public enum MedCILVersion {
    public static let string = "0.1.0"
}
