/// The named colours of the scene record, and `#rrggbb` hex colours.
enum SceneColor {
    /// The record's palette, as sRGB hex values (what three.js's `Color.setHex` takes).
    static let palette: [String: Int] = [
        "red": 0xD62828, "green": 0x2A9D3F, "blue": 0x1F5FD6, "yellow": 0xF2C230,
        "purple": 0x8E3CC8, "cyan": 0x1FC8D6, "gray": 0x8A8A8A, "white": 0xF2F2F2,
    ]
    /// Palette names in a fixed order (for messages and generators).
    static let names = ["red", "green", "blue", "yellow", "purple", "cyan", "gray", "white"]

    /// The colour for a name or `#rrggbb`; nil when it is neither.
    static func parse(_ text: String) -> Int? {
        let lower = text.lowercased()
        if lower == "grey" { return palette["gray"] }
        if let named = palette[lower] { return named }
        guard lower.count == 7, lower.first == "#", let hex = Int(lower.dropFirst(), radix: 16) else { return nil }
        return hex
    }

    /// `#rrggbb` for a colour value.
    static func hex(_ rgb: Int) -> String {
        let digits = String(rgb, radix: 16)
        return "#" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
