/// Finds the module specifiers a JavaScript file names literally: `require('x')`,
/// `require.resolve('x')`, `import … from 'x'`, `import 'x'`, `export … from 'x'` and
/// `import('x')`; and the paths it reads through fs relative to its own location
/// (`AssetRead`). A tokenizer light enough for megabytes of code: it skips comments,
/// strings, template literals and regular expressions so their text is never mistaken
/// for code, and it does not build a syntax tree.
public struct DependencyScanner {
    public enum Kind: Equatable, Sendable { case require, staticImport, dynamicImport }

    public struct Reference: Equatable, Sendable {
        public var specifier: String
        public var kind: Kind
        public var line: Int
    }

    /// The path argument of an fs call built from the file's own location, the shapes
    /// pkg finds: `path.join(__dirname, 'lit', …)`, `path.resolve(__dirname, …)`,
    /// `__dirname + '/lit'`, `` `${__dirname}/lit` `` and `new URL('./lit', import.meta.url)`.
    public struct AssetRead: Equatable, Sendable {
        /// Relative to the file's directory (or absolute, from `path.resolve`). When
        /// `isComplete`, the file or directory read; otherwise part of the path is computed
        /// at run time and this is the directory below which it lies.
        public var path: String
        public var isComplete: Bool
        /// `existsSync`, `access`, `stat`…: the code may expect the path to be missing.
        public var checksExistence: Bool
        public var line: Int
    }

    public struct Analysis: Sendable {
        public var references: [Reference]
        /// Whether the file may call `import()`: an `import(` in its code (whatever the
        /// argument), or in a string or template text of a file that uses `eval` or
        /// `Function` (the `new Function('s', 'return import(s)')` idiom). Such files get
        /// no V8 code cache (`CodeCache`).
        public var importsDynamically: Bool
        public var assetReads: [AssetRead]
    }

    /// fs functions whose first argument is a path the code reads, lists or checks.
    private static let fsReads: Set<String> = fsChecks.union([
        "readFileSync", "readFile", "createReadStream", "readdirSync", "readdir", "openSync", "open", "opendirSync",
        "opendir", "realpathSync", "realpath", "copyFileSync", "copyFile", "cpSync", "cp", "openAsBlob",
    ])
    private static let fsChecks: Set<String> = ["existsSync", "exists", "statSync", "stat", "lstatSync", "lstat", "accessSync", "access"]

    private let source: [UInt8]
    private var index = 0
    private var line = 1
    /// Whether a '/' here would start a regular expression rather than divide.
    private var regexAllowed = true
    private var references: [Reference] = []
    private var assetReads: [AssetRead] = []
    /// `import(` in code, in a string or in template text, and `eval`/`Function` in code.
    private var importInCode = false, importInText = false, evaluatesCode = false
    /// Open `${` expressions of template literals, each with its count of unclosed '{',
    /// so code inside them is scanned and the template resumes at the matching '}'.
    private var templateBraces: [Int] = []

    public static func scan(_ source: [UInt8]) -> [Reference] {
        analyze(source).references
    }

    public static func analyze(_ source: [UInt8]) -> Analysis {
        var scanner = DependencyScanner(source: source)
        scanner.run()
        return Analysis(references: scanner.references,
                        importsDynamically: scanner.importInCode || (scanner.importInText && scanner.evaluatesCode),
                        assetReads: scanner.assetReads)
    }

    private static let importCall = Array("import(".utf8), spacedImportCall = Array("import (".utf8)

    /// Whether `bytes` holds `import(` or `import (`.
    private static func mentionsImportCall<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        let array = Array(bytes)
        guard array.count >= importCall.count else { return false }
        for start in 0...(array.count - importCall.count) where array[start] == UInt8(ascii: "i") {
            if array[start..<start + importCall.count].elementsEqual(importCall) { return true }
            if start + spacedImportCall.count <= array.count,
               array[start..<start + spacedImportCall.count].elementsEqual(spacedImportCall) { return true }
        }
        return false
    }

    private init(source: [UInt8]) { self.source = source }

    /// The next byte that is not a space or line break (comments are not skipped).
    private func nextSignificant() -> UInt8? {
        var position = index
        while position < source.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n")].contains(source[position]) {
            position += 1
        }
        return position < source.count ? source[position] : nil
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < source.count ? source[index + offset] : nil
    }

    private mutating func run() {
        if peek() == UInt8(ascii: "#"), peek(1) == UInt8(ascii: "!") { skipLine() }
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\n"): line += 1; index += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"): skipLine()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"): skipBlockComment()
            case UInt8(ascii: "/"):
                if regexAllowed { skipRegex() } else { index += 1 }
                regexAllowed = !regexAllowed
            case UInt8(ascii: "`"):
                index += 1
                skipTemplateText()
                regexAllowed = false
            case UInt8(ascii: "{") where !templateBraces.isEmpty:
                templateBraces[templateBraces.count - 1] += 1
                index += 1
                regexAllowed = true
            case UInt8(ascii: "}") where templateBraces.last == 0:
                templateBraces.removeLast()
                index += 1
                skipTemplateText()
                regexAllowed = false
            case UInt8(ascii: "}") where !templateBraces.isEmpty:
                templateBraces[templateBraces.count - 1] -= 1
                index += 1
                regexAllowed = true
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let text = readString()
                if !importInText, Self.mentionsImportCall(text.utf8) { importInText = true }
                regexAllowed = false
            case _ where isIdentifierByte(byte):
                let start = index
                let word = readIdentifier()
                let afterDot = start > 0 && previousSignificant(before: start) == UInt8(ascii: ".")
                if !afterDot { handle(word) }
                if Self.fsReads.contains(word), nextSignificant() == UInt8(ascii: "(") {
                    assetRead(line: line, checksExistence: Self.fsChecks.contains(word))
                }
                // `eval` however used (`(0, eval)(code)`), `Function(` and `new Function(`
                // (also as globalThis.Function): code from text.
                if word == "eval" || (word == "Function" && nextSignificant() == UInt8(ascii: "(")) { evaluatesCode = true }
                regexAllowed = ["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "instanceof", "yield", "await"].contains(word)
            default:
                index += 1
                // After ')' or ']' a '/' divides; after other punctuation it starts a regex.
                regexAllowed = byte != UInt8(ascii: ")") && byte != UInt8(ascii: "]") && byte != UInt8(ascii: "}")
            }
        }
    }

    private mutating func handle(_ word: String) {
        switch word {
        case "require":
            let save = (index, line)
            skipTrivia()
            if peek() == UInt8(ascii: "."), matchWord(at: index + 1, "resolve") {
                index += 8
                skipTrivia()
            }
            if peek() == UInt8(ascii: "("), let specifier = literalArgument() {
                references.append(Reference(specifier: specifier, kind: .require, line: save.1))
            } else {
                (index, line) = save
            }
        case "import":
            let save = (index, line)
            skipTrivia()
            if peek() == UInt8(ascii: "(") {
                importInCode = true
                if let specifier = literalArgument() {
                    references.append(Reference(specifier: specifier, kind: .dynamicImport, line: save.1))
                } else {
                    (index, line) = save
                }
            } else if peek() != UInt8(ascii: ".") {
                (index, line) = save
                moduleClause(line: save.1)
            }
        case "export":
            moduleClause(line: line)
        default:
            break
        }
    }

    /// After `import`/`export`: the specifier is the string right after the keyword
    /// (`import 'x'`) or after `from`. Declarations (`export const x = '…'`) end the search.
    private mutating func moduleClause(line startLine: Int) {
        let save = (index, line)
        defer { (index, line) = save }
        var expectsSpecifier = true
        while true {
            skipTrivia()
            guard let current = peek() else { return }
            if current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") {
                let text = readString()
                if expectsSpecifier { references.append(Reference(specifier: text, kind: .staticImport, line: startLine)) }
                return
            }
            if isIdentifierByte(current) {
                let word = readIdentifier()
                if ["const", "let", "var", "function", "class", "default", "async"].contains(word) { return }
                expectsSpecifier = word == "from"
            } else if [UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: "*")].contains(current) {
                index += 1
                expectsSpecifier = false
            } else {
                return
            }
        }
    }

    /// `( 'literal' )` or `( 'literal', …` starting at '(' → the literal (node ignores
    /// further arguments, which are scanned as code after it); anything else → nil.
    private mutating func literalArgument() -> String? {
        index += 1
        skipTrivia()
        guard let text = literal() else { return nil }
        skipTrivia()
        if peek() == UInt8(ascii: ",") { return text }
        guard peek() == UInt8(ascii: ")") else { return nil }
        index += 1
        return text
    }

    /// A string literal, or a template literal without `${`, at the current position.
    private mutating func literal() -> String? {
        guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "`") else { return nil }
        let text = readString()
        return quote == UInt8(ascii: "`") && text.contains("${") ? nil : text
    }

    /// After the name of an fs call: records its first argument when it is a path built
    /// from the file's location. Only looks ahead; the main loop scans the call as usual.
    private mutating func assetRead(line callLine: Int, checksExistence: Bool) {
        let save = (index, line)
        defer { (index, line) = save }
        skipTrivia()
        index += 1  // '('
        skipTrivia()
        guard var read = anchoredPath() else { return }
        skipTrivia()
        if read.isComplete, peek() != UInt8(ascii: ","), peek() != UInt8(ascii: ")") {
            read = (Self.directoryPart(read.path), false)  // `path.join(__dirname, 'a').replace(…)`
        }
        assetReads.append(AssetRead(path: read.path, isComplete: read.isComplete, checksExistence: checksExistence, line: callLine))
    }

    /// One of the path shapes of `AssetRead` at the current position, else nil.
    private mutating func anchoredPath() -> (path: String, isComplete: Bool)? {
        guard let first = peek() else { return nil }
        if first == UInt8(ascii: "`") { return templatePath() }
        guard isIdentifierByte(first) else { return nil }
        switch readIdentifier() {
        case "__dirname": return concatenatedPath()
        case "path":
            skipTrivia()
            guard peek() == UInt8(ascii: ".") else { return nil }
            index += 1
            skipTrivia()
            let method = readIdentifier()
            return method == "join" || method == "resolve" ? joinedPath(resolves: method == "resolve") : nil
        case "join": return joinedPath(resolves: false)
        case "resolve": return joinedPath(resolves: true)
        case "new": return urlPath()
        default: return nil
        }
    }

    /// `__dirname` (already read) `+ '/lit' + …`.
    private mutating func concatenatedPath() -> (path: String, isComplete: Bool)? {
        var text = ""
        while true {
            skipTrivia()
            guard peek() == UInt8(ascii: "+"), peek(1) != UInt8(ascii: "+"), peek(1) != UInt8(ascii: "=") else { break }
            index += 1
            skipTrivia()
            guard let part = literal() else { return Self.suffixPath(text, isComplete: false) }
            text += part
        }
        return Self.suffixPath(text, isComplete: true)
    }

    /// `` `${__dirname}/lit` `` at its opening '`'.
    private mutating func templatePath() -> (path: String, isComplete: Bool)? {
        index += 1
        guard peek() == UInt8(ascii: "$"), peek(1) == UInt8(ascii: "{") else { return nil }
        index += 2
        skipTrivia()
        guard readIdentifier() == "__dirname" else { return nil }
        skipTrivia()
        guard peek() == UInt8(ascii: "}") else { return nil }
        index += 1
        var text: [UInt8] = []
        while let byte = peek() {
            index += 1
            switch byte {
            case UInt8(ascii: "`"): return Self.suffixPath(String(decoding: text, as: UTF8.self), isComplete: true)
            case UInt8(ascii: "$") where peek() == UInt8(ascii: "{"): return Self.suffixPath(String(decoding: text, as: UTF8.self), isComplete: false)
            case UInt8(ascii: "\\"):
                if let next = peek() { text.append(next); index += 1 }
            default: text.append(byte)
            }
        }
        return nil
    }

    /// `(__dirname, 'a', 'b')` after `path.join` or `path.resolve`.
    private mutating func joinedPath(resolves: Bool) -> (path: String, isComplete: Bool)? {
        skipTrivia()
        guard peek() == UInt8(ascii: "(") else { return nil }
        index += 1
        skipTrivia()
        guard let first = peek(), isIdentifierByte(first), readIdentifier() == "__dirname" else { return nil }
        var parts: [String] = []
        func joined() -> String {
            // path.resolve starts again at an absolute part; path.join keeps appending.
            let start = resolves ? (parts.lastIndex { $0.hasPrefix("/") } ?? 0) : 0
            let path = parts[start...].filter { !$0.isEmpty }.joined(separator: "/")
            return path.isEmpty ? "." : resolves || !path.hasPrefix("/") ? path : "." + path
        }
        while true {
            skipTrivia()
            if peek() == UInt8(ascii: ")") { index += 1; return (joined(), true) }
            guard peek() == UInt8(ascii: ",") else { return (joined(), false) }
            index += 1
            skipTrivia()
            if peek() == UInt8(ascii: ")") { index += 1; return (joined(), true) }
            guard let part = literal() else { return (joined(), false) }
            skipTrivia()
            guard peek() == UInt8(ascii: ",") || peek() == UInt8(ascii: ")") else {
                parts.append(Self.directoryPart(part))  // `'views/' + name`
                return (joined(), false)
            }
            parts.append(part)
        }
    }

    /// `URL('./lit', import.meta.url)` after `new`.
    private mutating func urlPath() -> (path: String, isComplete: Bool)? {
        skipTrivia()
        guard readIdentifier() == "URL" else { return nil }
        skipTrivia()
        guard peek() == UInt8(ascii: "(") else { return nil }
        index += 1
        skipTrivia()
        guard let text = literal(), !text.isEmpty, !text.contains(":"), !text.contains("%"), !text.contains("?"), !text.contains("#") else { return nil }
        skipTrivia()
        guard peek() == UInt8(ascii: ",") else { return nil }
        index += 1
        for (position, word) in ["import", "meta", "url"].enumerated() {
            skipTrivia()
            if position > 0 {
                guard peek() == UInt8(ascii: ".") else { return nil }
                index += 1
                skipTrivia()
            }
            guard readIdentifier() == word else { return nil }
        }
        skipTrivia()
        guard peek() == UInt8(ascii: ")") else { return nil }
        index += 1
        return (text, true)
    }

    /// A path written as text appended to `__dirname`: only one that starts a new part
    /// ('/lit') names something inside the directory.
    private static func suffixPath(_ text: String, isComplete: Bool) -> (path: String, isComplete: Bool)? {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        return ("." + (isComplete ? text : directoryPart(text)), isComplete)
    }

    /// The directory part of an incomplete path: 'views/page-' → 'views/'.
    private static func directoryPart(_ text: String) -> String {
        guard let slash = text.lastIndex(of: "/") else { return "" }
        return String(text[...slash])
    }

    private mutating func readString() -> String {
        let quote = source[index]
        index += 1
        var bytes: [UInt8] = []
        while let byte = peek() {
            index += 1
            if byte == quote { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                if quote != UInt8(ascii: "`") { break }
            }
            if byte == UInt8(ascii: "\\"), let next = peek() {
                index += 1
                if next == UInt8(ascii: "\n") { line += 1 }
                bytes.append(next)
                continue
            }
            if quote == UInt8(ascii: "`"), byte == UInt8(ascii: "$"), peek() == UInt8(ascii: "{") {
                bytes.append(contentsOf: [byte])
                bytes.append(contentsOf: skipTemplateExpression())
                continue
            }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Skips `{ … }` inside a template literal, minding nested braces and strings.
    private mutating func skipTemplateExpression() -> [UInt8] {
        var depth = 0
        while let byte = peek() {
            if byte == UInt8(ascii: "{") { depth += 1 }
            if byte == UInt8(ascii: "}") { depth -= 1; if depth == 0 { index += 1; return Array("{}".utf8) } }
            if byte == UInt8(ascii: "\n") { line += 1 }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "`") {
                _ = readString()
                continue
            }
            index += 1
        }
        return []
    }

    /// Skips template text up to the closing '`' or into a `${` expression.
    private mutating func skipTemplateText() {
        let start = index
        defer {
            if !importInText, Self.mentionsImportCall(source[start..<min(index, source.count)]) { importInText = true }
        }
        while let byte = peek() {
            index += 1
            switch byte {
            case UInt8(ascii: "\\"): if peek() == UInt8(ascii: "\n") { line += 1 }; index += 1
            case UInt8(ascii: "\n"): line += 1
            case UInt8(ascii: "`"): return
            case UInt8(ascii: "$") where peek() == UInt8(ascii: "{"):
                index += 1
                templateBraces.append(0)
                return
            default: break
            }
        }
    }

    private mutating func skipRegex() {
        index += 1
        var inClass = false
        while let byte = peek() {
            index += 1
            if byte == UInt8(ascii: "\\") { index += 1; continue }
            if byte == UInt8(ascii: "\n") { line += 1; return }
            if byte == UInt8(ascii: "[") { inClass = true }
            if byte == UInt8(ascii: "]") { inClass = false }
            if byte == UInt8(ascii: "/") && !inClass { break }
        }
        while let byte = peek(), isIdentifierByte(byte) { index += 1 }
    }

    private mutating func skipLine() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { index += 1 }
    }

    private mutating func skipBlockComment() {
        index += 2
        while let byte = peek() {
            if byte == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") { index += 2; return }
            if byte == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }
    }

    private mutating func skipTrivia() {
        while let byte = peek() {
            if byte == UInt8(ascii: "\n") { line += 1; index += 1 }
            else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") { index += 1 }
            else if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "/") { skipLine() }
            else if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") { skipBlockComment() }
            else { return }
        }
    }

    private mutating func readIdentifier() -> String {
        let start = index
        while let byte = peek(), isIdentifierByte(byte) { index += 1 }
        return String(decoding: source[start..<index], as: UTF8.self)
    }

    private func matchWord(at position: Int, _ word: String) -> Bool {
        let bytes = Array(word.utf8)
        guard position + bytes.count <= source.count, Array(source[position..<position + bytes.count]) == bytes else { return false }
        return position + bytes.count == source.count || !isIdentifierByte(source[position + bytes.count])
    }

    private func previousSignificant(before position: Int) -> UInt8? {
        var cursor = position - 1
        while cursor >= 0, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(source[cursor]) { cursor -= 1 }
        return cursor >= 0 ? source[cursor] : nil
    }

    private func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
    }
}
