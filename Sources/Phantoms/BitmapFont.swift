/// A 5x7 pixel font for the text ultrasound machines burn into their images (patient
/// name, date, heart rate, depth). Each glyph is 35 bits, row-major from the top-left,
/// most significant bit first.
enum BitmapFont {
    static let width = 5
    static let height = 7

    static let glyphs: [Character: UInt64] = [
        " ": 0x000000000,
        "-": 0x0000F8000,
        ".": 0x00000018C,
        "/": 0x044222110,
        "0": 0x3A33AE62E,
        "1": 0x11842108E,
        "2": 0x3A211111F,
        "3": 0x78217043E,
        "4": 0x08CA97C42,
        "5": 0x7E1E0862E,
        "6": 0x1910F462E,
        "7": 0x7C2222108,
        "8": 0x3A317462E,
        "9": 0x3A317844C,
        ":": 0x018C03180,
        "A": 0x3A31FC631,
        "B": 0x7A31F463E,
        "C": 0x3A308422E,
        "D": 0x72518C65C,
        "E": 0x7E10F421F,
        "F": 0x7E10F4210,
        "G": 0x3A30BC62F,
        "H": 0x4631FC631,
        "I": 0x38842108E,
        "J": 0x1C4210A4C,
        "K": 0x4654C5251,
        "L": 0x42108421F,
        "M": 0x4775AC631,
        "N": 0x4639ACE31,
        "O": 0x3A318C62E,
        "P": 0x7A31F4210,
        "Q": 0x3A318D64D,
        "R": 0x7A31F5251,
        "S": 0x3E107043E,
        "T": 0x7C8421084,
        "U": 0x46318C62E,
        "V": 0x46318C544,
        "W": 0x4631AD6AA,
        "X": 0x462A22A31,
        "Y": 0x463151084,
        "Z": 0x7C222221F,
        "^": 0x115100000,
    ]

    /// Calls `plot(x, y)` for every lit pixel of `text` drawn at (x, y), `scale` pixels per dot.
    static func draw(_ text: String, x: Int, y: Int, scale: Int = 1, plot: (Int, Int) -> Void) {
        var cursor = x
        for character in text.uppercased() {
            let bits = glyphs[character] ?? glyphs[" "]!
            for row in 0..<height {
                for column in 0..<width where bits >> UInt64(34 - (row * width + column)) & 1 == 1 {
                    for dy in 0..<scale { for dx in 0..<scale { plot(cursor + column * scale + dx, y + row * scale + dy) } }
                }
            }
            cursor += (width + 1) * scale
        }
    }
}
