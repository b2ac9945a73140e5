import BundlerCore
import FoundationEssentials
import Glibc

/// Everything the CLI prints goes through here: messages on stderr (stdout stays for
/// what a script would read, like `inspect`), colours only on a terminal and never
/// when NO_COLOR is set.
enum Terminal {
    static let colors = isatty(2) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true

    static func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            written += count
        }
    }
    static func error(_ text: String) { line(paint("bundle: error: ", "31;1") + text) }
    /// A diagnostic already reads "file:line: warning: message".
    static func warning(_ text: String) { line(colors ? text.replacing("warning:", with: paint("warning:", "33;1")) : text) }
    static func progress(_ text: String) { line(dim("… " + text)) }
    static func bold(_ text: String) -> String { paint(text, "1") }
    static func dim(_ text: String) -> String { paint(text, "2") }

    static func paint(_ text: String, _ code: String) -> String {
        colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    static func size(_ bytes: Int) -> String { ByteCount.text(bytes) }
}
