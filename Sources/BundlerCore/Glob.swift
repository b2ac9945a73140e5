import FoundationEssentials

/// A shell-style pattern over '/'-separated relative paths: `*` and `?` stay within one
/// path part, `**` crosses parts (`assets/**` is everything below assets), `[abc]` is a
/// class (`[!abc]` its complement). Used by `--include`, `--exclude` and the ignore
/// patterns of `PublishRules`.
/// (Sendable by hand: a Regex is an immutable value whose compiled program is made once,
/// atomically, but the standard library does not declare it Sendable.)
public struct Glob: @unchecked Sendable {
    public let pattern: String
    private let regex: Regex<AnyRegexOutput>

    public init(_ pattern: String) throws {
        self.pattern = pattern
        var expression = "^"
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*" where characters.first == "*":
                characters.removeFirst()
                if characters.first == "/" {
                    characters.removeFirst()
                    expression += "(?:.*/)?"
                } else {
                    expression += ".*"
                }
            case "*": expression += "[^/]*"
            case "?": expression += "[^/]"
            case "[":
                guard let close = characters.firstIndex(of: "]") else { throw BundleError.invalidGlob(pattern) }
                var members = characters[..<close]
                let complement = members.first == "!"
                if complement { members = members.dropFirst() }
                expression += (complement ? "[^" : "[") + members.map { "\\[&~".contains($0) ? "\\" + String($0) : String($0) }.joined() + "]"
                characters = characters[characters.index(after: close)...]
            case _ where "\\^$.|?*+()[]{}".contains(character): expression += "\\" + String(character)
            default: expression += String(character)
            }
        }
        do {
            // Unicode scalars, as a path's bytes are compared, not grapheme clusters.
            regex = try Regex(expression + "$").matchingSemantics(.unicodeScalar)
        } catch {
            throw BundleError.invalidGlob(pattern)
        }
    }

    public func matches(_ relativePath: String) -> Bool {
        (try? regex.wholeMatch(in: relativePath)) != nil
    }

    /// Whether the pattern names files rather than a kind of file: its last part starts
    /// with a literal character (`.env`, `.env.*`, `keys/server.pem`, but not `*`, `**`,
    /// `*.pem` or `config/*`). Secrets and executables are bundled only when named so.
    public var namesFilesExplicitly: Bool {
        guard let last = pattern.split(separator: "/").last, let first = last.first else { return false }
        return !"*?[".contains(first)
    }

    /// The directory below which matches can lie: the pattern's parts before the first
    /// wildcard, so a walk need not start at the root.
    public var literalPrefix: String {
        var parts: [Substring] = []
        for part in pattern.split(separator: "/") {
            if part.contains(where: { "*?[".contains($0) }) { break }
            parts.append(part)
        }
        if parts.count == pattern.split(separator: "/").count { parts.removeLast() }
        return parts.joined(separator: "/")
    }
}
