/// Finds the module specifiers a JavaScript file names literally: `require('x')`,
/// `require.resolve('x')`, `import … from 'x'`, `import 'x'`, `export … from 'x'` and
/// `import('x')`. A tokenizer light enough for megabytes of code: it skips comments,
/// strings, template literals and regular expressions so their text is never mistaken
/// for code, and it does not build a syntax tree.
public struct DependencyScanner {
    public enum Kind: Equatable, Sendable { case require, staticImport, dynamicImport }

    public struct Reference: Equatable, Sendable {
        public var specifier: String
        public var kind: Kind
        public var line: Int
    }

    private let source: [UInt8]
    private var index = 0
    private var line = 1
    /// Whether a '/' here would start a regular expression rather than divide.
    private var regexAllowed = true
    private var references: [Reference] = []
    /// `import(` in code, in a string or in template text, and `eval`/`Function` in code.
    private var importInCode = false, importInText = false, evaluatesCode = false
    /// Open `${` expressions of template literals, each with its count of unclosed '{',
    /// so code inside them is scanned and the template resumes at the matching '}'.
    private var templateBraces: [Int] = []

    public static func scan(_ source: [UInt8]) -> [Reference] {
        analyze(source).references
    }

    /// The references, and whether the file may call `import()`: an `import(` in its
    /// code (whatever the argument), or in a string or template text of a file that
    /// uses `eval` or `Function` (the `new Function('s', 'return import(s)')` idiom).
    /// Such files get no V8 code cache (`CodeCache`).
    public static func analyze(_ source: [UInt8]) -> (references: [Reference], importsDynamically: Bool) {
        var scanner = DependencyScanner(source: source)
        scanner.run()
        return (scanner.references, scanner.importInCode || (scanner.importInText && scanner.evaluatesCode))
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

    /// `( 'literal' )` starting at '(' → the literal; anything else → nil.
    private mutating func literalArgument() -> String? {
        index += 1
        skipTrivia()
        guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "`") else { return nil }
        let text = readString()
        if quote == UInt8(ascii: "`"), text.contains("${") { return nil }
        skipTrivia()
        guard peek() == UInt8(ascii: ")") else { return nil }
        index += 1
        return text
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
