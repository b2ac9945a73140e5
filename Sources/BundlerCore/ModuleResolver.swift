import FoundationEssentials

/// Node's module resolution, done at bundle time over a `FileSystem`: relative and
/// absolute paths, extension and directory lookup, `node_modules` packages with
/// `main`, `exports` and `imports`. The runtime twin is in Templates/bootstrap/resolver.js.
public struct ModuleResolver {
    public enum Resolution: Equatable {
        case builtin
        case file(String)
        case notFound
    }

    static let builtins: Set<String> = [
        "_http_agent", "_http_client", "_http_common", "_http_incoming", "_http_outgoing", "_http_server",
        "_stream_duplex", "_stream_passthrough", "_stream_readable", "_stream_transform", "_stream_wrap",
        "_stream_writable", "_tls_common", "_tls_wrap", "assert", "assert/strict", "async_hooks", "buffer",
        "child_process", "cluster", "console", "constants", "crypto", "dgram", "diagnostics_channel", "dns",
        "dns/promises", "domain", "events", "fs", "fs/promises", "http", "http2", "https", "inspector", "module",
        "net", "os", "path", "path/posix", "path/win32", "perf_hooks", "process", "punycode", "querystring",
        "readline", "readline/promises", "repl", "stream", "stream/consumers", "stream/promises", "stream/web",
        "string_decoder", "sys", "timers", "timers/promises", "tls", "trace_events", "tty", "url", "util",
        "util/types", "v8", "vm", "wasi", "worker_threads", "zlib",
    ]

    /// Tried in this order after a path as written; .ts and .tsx after node's own, as
    /// the bootstrap registers them (commonjs.js).
    static let extensions = [".js", ".json", ".node", ".mjs", ".cjs", ".ts", ".tsx"]
    /// TypeScript's rule for a path to JavaScript that does not exist: the TypeScript
    /// file it is compiled from (`./util.js` means ./util.ts). The bootstrap's twin is
    /// resolver.js's typeScriptSource.
    static let typeScriptSources = [(".js", [".ts", ".tsx"]), (".mjs", [".mts"]), (".cjs", [".cts"]), (".jsx", [".tsx"])]

    let fs: FileSystem
    /// Parsed package.json files by directory (nil: none, or not a JSON object). Every
    /// scanned file asks for its package scope, so without this one bundle of express
    /// opened and parsed package.json files 1,132 times.
    private let packageJSONs = PackageJSONCache()

    public init(fileSystem: FileSystem) { fs = fileSystem }

    /// Resolves `specifier` as written in a file inside `directory`.
    public func resolve(_ specifier: String, from directory: String, esm: Bool) -> Resolution {
        if specifier.hasPrefix("node:") || Self.builtins.contains(specifier) { return .builtin }
        let conditions = esm ? ["import", "node", "default"] : ["require", "node", "default"]
        if specifier.hasPrefix("./") || specifier.hasPrefix("../") || specifier.hasPrefix("/") || specifier == "." || specifier == ".." {
            return resolvePath(Path.join(directory, specifier)).map(Resolution.file) ?? .notFound
        }
        if specifier.hasPrefix("#") {
            guard let scope = packageScope(of: directory), let imports = scope.json["imports"] else { return .notFound }
            return resolveTarget(map: imports, subpath: specifier, packageDirectory: scope.directory, conditions: conditions)
        }
        let (name, subpath) = Self.splitPackageSpecifier(specifier)
        if let scope = packageScope(of: directory), scope.json["name"] as? String == name, let exports = scope.json["exports"] {
            return resolveTarget(map: exports, subpath: subpath, packageDirectory: scope.directory, conditions: conditions)
        }
        var current = directory
        while true {
            if Path.basename(current) != "node_modules" {
                let packageDirectory = Path.join(current, "node_modules/" + name)
                if fs.kind(of: packageDirectory) == .directory {
                    return resolveInPackage(packageDirectory, subpath: subpath, conditions: conditions)
                }
            }
            if current == "/" { return .notFound }
            current = Path.dirname(current)
        }
    }

    /// The directory of the package named `name` as seen from `directory`.
    public func packageDirectory(named name: String, from directory: String) -> String? {
        var current = directory
        while true {
            let candidate = Path.join(current, "node_modules/" + name)
            if fs.kind(of: candidate) == .directory { return candidate }
            if current == "/" { return nil }
            current = Path.dirname(current)
        }
    }

    static func splitPackageSpecifier(_ specifier: String) -> (name: String, subpath: String) {
        let parts = specifier.split(separator: "/", omittingEmptySubsequences: false)
        let nameParts = specifier.hasPrefix("@") ? min(2, parts.count) : 1
        let name = parts.prefix(nameParts).joined(separator: "/")
        let rest = parts.dropFirst(nameParts).joined(separator: "/")
        return (name, rest.isEmpty ? "." : "./" + rest)
    }

    private func resolveInPackage(_ directory: String, subpath: String, conditions: [String]) -> Resolution {
        if let json = packageJSON(directory), let exports = json["exports"] {
            return resolveTarget(map: exports, subpath: subpath, packageDirectory: directory, conditions: conditions)
        }
        return resolvePath(Path.join(directory, subpath)).map(Resolution.file) ?? .notFound
    }

    /// `exports`/`imports` lookup: exact keys, then the longest matching `*` pattern.
    private func resolveTarget(map: Any, subpath: String, packageDirectory: String, conditions: [String]) -> Resolution {
        let table: [String: Any]
        if let object = map as? [String: Any], object.keys.contains(where: { $0.hasPrefix(".") || $0.hasPrefix("#") }) {
            table = object
        } else {
            table = ["." : map]  // sugar: a string, array or conditions object means ".".
        }
        if let target = table[subpath] {
            return resolveTargetValue(target, packageDirectory: packageDirectory, conditions: conditions, pattern: nil)
        }
        let patterns = table.keys.filter { $0.contains("*") }.sorted { $0.count > $1.count }
        for key in patterns {
            let star = key.firstIndex(of: "*")!
            let prefix = String(key[..<star]), suffix = String(key[key.index(after: star)...])
            if subpath.hasPrefix(prefix), subpath.hasSuffix(suffix), subpath.count >= prefix.count + suffix.count {
                let middle = String(subpath.dropFirst(prefix.count).dropLast(suffix.count))
                return resolveTargetValue(table[key]!, packageDirectory: packageDirectory, conditions: conditions, pattern: middle)
            }
        }
        return .notFound
    }

    private func resolveTargetValue(_ value: Any, packageDirectory: String, conditions: [String], pattern: String?) -> Resolution {
        switch value {
        case let target as String:
            let expanded = pattern.map { target.replacing("*", with: $0) } ?? target
            if !expanded.hasPrefix("./") { return resolve(expanded, from: packageDirectory, esm: conditions.first == "import") }
            let path = Path.join(packageDirectory, expanded)
            return fs.kind(of: path) == .file ? .file(path) : .notFound
        case let alternatives as [Any]:
            for alternative in alternatives {
                let result = resolveTargetValue(alternative, packageDirectory: packageDirectory, conditions: conditions, pattern: pattern)
                if result != .notFound { return result }
            }
            return .notFound
        case let object as [String: Any]:
            // Conditions apply in the object's own order; a Swift dictionary loses it, so
            // prefer ours in order: the first of our conditions present wins.
            for condition in conditions {
                if let next = object[condition] {
                    let result = resolveTargetValue(next, packageDirectory: packageDirectory, conditions: conditions, pattern: pattern)
                    if result != .notFound { return result }
                }
            }
            return .notFound
        default:
            return .notFound
        }
    }

    /// A file, a file with an extension added, or a directory's main/index.
    func resolvePath(_ path: String) -> String? {
        if fs.kind(of: path) == .file { return path }
        if let source = typeScriptSource(of: path) { return source }
        for ext in Self.extensions where fs.kind(of: path + ext) == .file { return path + ext }
        guard fs.kind(of: path) == .directory else { return nil }
        if let main = packageJSON(path)?["main"] as? String {
            let target = Path.join(path, main)
            if fs.kind(of: target) == .file { return target }
            for ext in Self.extensions where fs.kind(of: target + ext) == .file { return target + ext }
            for ext in Self.extensions where fs.kind(of: target + "/index" + ext) == .file { return target + "/index" + ext }
        }
        for ext in Self.extensions where fs.kind(of: path + "/index" + ext) == .file { return path + "/index" + ext }
        return nil
    }

    func typeScriptSource(of path: String) -> String? {
        for (javaScript, sources) in Self.typeScriptSources where path.hasSuffix(javaScript) {
            let stem = String(path.dropLast(javaScript.count))
            if let source = sources.map({ stem + $0 }).first(where: { fs.kind(of: $0) == .file }) { return source }
        }
        return nil
    }

    func packageJSON(_ directory: String) -> [String: Any]? {
        if let cached = packageJSONs.byDirectory[directory] { return cached }
        let bytes = try? fs.contents(of: directory + "/package.json")
        let json = bytes.flatMap { JSONValue.object(in: $0) }
        packageJSONs.byDirectory[directory] = .some(json)
        return json
    }

    /// The nearest directory at or above `directory` holding a package.json.
    func packageScope(of directory: String) -> (directory: String, json: [String: Any])? {
        var current = directory
        while true {
            if Path.basename(current) == "node_modules" { return nil }
            if let json = packageJSON(current) { return (current, json) }
            if current == "/" { return nil }
            current = Path.dirname(current)
        }
    }
}

/// Shared by the copies of a resolver, which is a value passed around by the collector.
private final class PackageJSONCache {
    var byDirectory: [String: [String: Any]?] = [:]
}
