import FoundationEssentials

/// tsconfig.json's `compilerOptions.paths` (with `baseUrl`): the aliases a TypeScript
/// project imports its own files by (`import { db } from '@/db'`). esbuild keeps such
/// imports as written when it transpiles a file alone, and node knows no tsconfig, so
/// the bundle decides them: the collector resolves each alias an imported name matches
/// to a file here, and the output carries what it found per importing file
/// (`AppMetadata.aliases`), which the bootstrap's resolver answers first.
final class TypeScriptPaths {
    let fs: FileSystem
    /// How many `extends` a tsconfig may chain through (a loop ends there).
    static let extendsLimit = 8
    /// Each tsconfig.json read once: by path (nil: no aliases in it).
    private var configs: [String: Config?] = [:]

    init(fileSystem: FileSystem) { fs = fileSystem }

    /// The file a bare `specifier` imported by the TypeScript file `importer` names
    /// through its tsconfig's paths, nil when no alias matches or none resolves.
    func resolve(_ specifier: String, from importer: String, _ resolvePath: (String) -> String?) -> String? {
        guard !specifier.hasPrefix("."), !specifier.hasPrefix("/"), !specifier.hasPrefix("node:"), let config = config(for: importer) else { return nil }
        return config.candidates(for: specifier).lazy.compactMap(resolvePath).first
    }

    /// The tsconfig that governs `file`: the nearest tsconfig.json above it, inside its
    /// package (not above a node_modules folder).
    func config(for file: String) -> Config? {
        var directory = Path.dirname(file)
        while true {
            let candidate = Path.join(directory, "tsconfig.json")
            if fs.kind(of: candidate) == .file {
                if let known = configs[candidate] { return known }
                let config = read(candidate, depth: 0)
                configs[candidate] = .some(config)
                return config
            }
            if directory == "/" || Path.basename(directory) == "node_modules" { return nil }
            directory = Path.dirname(directory)
        }
    }

    /// The aliases of one tsconfig: patterns ("@/*") with their targets as absolute
    /// patterns ("/app/src/*").
    struct Config {
        var patterns: [(pattern: String, targets: [String])]

        /// The candidate files for `specifier`, in the order TypeScript tries them: the
        /// exact pattern, else the one with the longest prefix before its `*`.
        func candidates(for specifier: String) -> [String] {
            var best: (prefixLength: Int, targets: [String], star: String)?
            for (pattern, targets) in patterns {
                guard let star = pattern.firstIndex(of: "*") else {
                    if pattern == specifier { return targets }
                    continue
                }
                let prefix = String(pattern[..<star]), suffix = String(pattern[pattern.index(after: star)...])
                guard specifier.hasPrefix(prefix), specifier.hasSuffix(suffix), specifier.count >= prefix.count + suffix.count,
                      prefix.count > (best?.prefixLength ?? -1) else { continue }
                let matched = String(specifier.dropFirst(prefix.count).dropLast(suffix.count))
                best = (prefix.count, targets, matched)
            }
            guard let best else { return [] }
            return best.targets.map { $0.replacing("*", with: best.star) }
        }
    }

    private func read(_ file: String, depth: Int) -> Config? {
        guard depth < Self.extendsLimit, let bytes = try? fs.contents(of: file),
              let json = JSONValue.object(in: Self.strippingComments(bytes)) else { return nil }
        let options = json["compilerOptions"] as? [String: Any] ?? [:]
        let directory = Path.dirname(file)
        // A relative `extends` (a package's shared tsconfig is not followed).
        let parent = (json["extends"] as? String).flatMap { extends -> Config? in
            guard extends.hasPrefix("./") || extends.hasPrefix("../") else { return nil }
            let path = Path.join(directory, extends)
            return read(path.hasSuffix(".json") ? path : path + ".json", depth: depth + 1)
        }
        guard let paths = options["paths"] as? [String: Any] else { return parent }
        // Targets are relative to baseUrl when there is one, else to this tsconfig.
        let base = (options["baseUrl"] as? String).map { Path.join(directory, $0) } ?? directory
        let patterns = paths.keys.sorted().map { pattern in
            (pattern, ((paths[pattern] as? [Any]) ?? []).compactMap { $0 as? String }.map { Path.join(base, $0) })
        }
        return Config(patterns: patterns)
    }

    /// tsconfig.json is JSON with comments and trailing commas: both removed (comments
    /// first, so a comment after a trailing comma hides nothing), strings left as they are.
    static func strippingComments(_ bytes: [UInt8]) -> [UInt8] {
        let slash = UInt8(ascii: "/"), star = UInt8(ascii: "*"), newline = UInt8(ascii: "\n")
        var code: [UInt8] = [], index = 0
        while index < bytes.count {
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            if bytes[index] == UInt8(ascii: "\"") {
                let end = stringEnd(bytes, from: index)
                code += bytes[index..<end]
                index = end
            } else if bytes[index] == slash && next == slash {
                while index < bytes.count && bytes[index] != newline { index += 1 }
            } else if bytes[index] == slash && next == star {
                index += 2
                while index < bytes.count && !(bytes[index] == star && index + 1 < bytes.count && bytes[index + 1] == slash) { index += 1 }
                index += 2
            } else {
                code.append(bytes[index])
                index += 1
            }
        }
        var out: [UInt8] = []
        index = 0
        while index < code.count {
            if code[index] == UInt8(ascii: "\"") {
                let end = stringEnd(code, from: index)
                out += code[index..<end]
                index = end
                continue
            }
            if code[index] == UInt8(ascii: ",") {
                var ahead = index + 1
                while ahead < code.count && [0x20, 0x09, 0x0a, 0x0d].contains(code[ahead]) { ahead += 1 }
                if ahead < code.count && (code[ahead] == UInt8(ascii: "}") || code[ahead] == UInt8(ascii: "]")) { index += 1; continue }
            }
            out.append(code[index])
            index += 1
        }
        return out
    }

    /// The index past the string that starts at `start` (a quote), escapes included.
    private static func stringEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
            if bytes[index] == UInt8(ascii: "\"") { return index + 1 }
            index += 1
        }
        return bytes.count
    }
}
