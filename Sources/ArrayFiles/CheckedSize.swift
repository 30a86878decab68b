/// Size arithmetic on untrusted numbers (header fields of files from the outside).
///
/// A plain `a * b` on values a file chose traps on overflow and ends the process; these
/// return nil instead, so a reader can turn the overflow into a one-line error for that file.
public enum CheckedSize {
    /// The product of `factors`, or nil when any factor is negative or the product does not
    /// fit in `Int`. The empty product is 1.
    public static func product<S: Sequence>(_ factors: S) -> Int? where S.Element == Int {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    public static func product(_ factors: Int...) -> Int? { product(factors) }

    /// `a + b`, or nil on overflow.
    public static func sum(_ a: Int, _ b: Int) -> Int? {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : result
    }
}
