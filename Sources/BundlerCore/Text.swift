/// The few string operations the bundler needs beyond the standard library's, which
/// Foundation's NSString bridge would otherwise give (`bundle` links FoundationEssentials only).
extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line ends.
    public var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }

    /// The range of the last occurrence of `text`.
    func lastRange(of text: String) -> Range<Index>? {
        guard !text.isEmpty, count >= text.count else { return nil }
        var start = index(endIndex, offsetBy: -text.count)
        while true {
            if self[start...].hasPrefix(text) { return start..<index(start, offsetBy: text.count) }
            if start == startIndex { return nil }
            start = index(before: start)
        }
    }
}

public enum DecimalText {
    /// `value` rounded to `places` decimal places, as "%.Nf" prints it ("0.52", "34.8").
    public static func fixed(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale), fraction = Int(scaled - Double(whole) * scale)
        let digits = String(fraction)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return places == 0 ? sign + String(whole)
            : sign + String(whole) + "." + String(repeating: "0", count: places - digits.count) + digits
    }
}
