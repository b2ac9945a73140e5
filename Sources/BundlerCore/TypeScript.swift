import FoundationEssentials

/// TypeScript at bundle time: the app's .ts, .tsx, .mts and .cts files are transpiled
/// to JavaScript by esbuild (Tools/esbuild.lock says why esbuild), file by file, with no
/// type checking, as Bun and Deno do. What is bundled under the .ts path is the
/// JavaScript, with an inline source map back to the .ts text, so stack traces name the
/// .ts file and line (the bootstrap turns node's source maps on for such apps).
///
/// The module format is node's rule for the extension: .mts is an ES module, .cts
/// CommonJS, .ts and .tsx what the package's "type" says. In a CommonJS file, import and
/// export are turned into require and module.exports, as tsc does with
/// `"module": "commonjs"`; an ES module keeps them.
///
/// It is a `FileSystem` over the real one, so everything that reads the app's files —
/// the dependency scanner, the archive, the code cache — reads the JavaScript.
final class TypeScriptFiles: FileSystem, @unchecked Sendable {
    static let extensions = [".ts", ".tsx", ".mts", ".cts"]

    let base: FileSystem
    let transpiler: Toolkit.Transpiler?
    /// esbuild's --target: the node version outputs run ("node24").
    let target: String
    private let lock = Lock()
    private var transpiled: [String: [UInt8]] = [:]
    /// Package folders whose TypeScript files were all offered to esbuild once.
    private var walked: Set<String> = []
    /// A folder with more TypeScript files than this is not transpiled ahead.
    static let aheadLimit = 5000

    init(over base: FileSystem, transpiler: Toolkit.Transpiler?, nodeMajor: Int) {
        self.base = base
        self.transpiler = transpiler
        target = "node\(nodeMajor)"
    }

    /// `.d.ts` declaration files hold no code: node never loads them and they stay as
    /// they are.
    static func isTypeScript(_ path: String) -> Bool {
        extensions.contains { path.hasSuffix($0) } && !path.hasSuffix(".d.ts") && !path.hasSuffix(".d.mts") && !path.hasSuffix(".d.cts")
    }

    /// The files transpiled so far (an output with any turns source maps on).
    var transpiledFiles: [String] { lock.withLock { transpiled.keys.sorted() } }

    /// Transpiles `file`, which the collector has reached, unless it is done, with the
    /// TypeScript files queued after it. With them go the other TypeScript files of their
    /// packages (node_modules and hidden folders aside), which a project's imports are
    /// likely to reach next: one
    /// esbuild run for a whole project instead of one per step along a chain of imports
    /// (measured: 100 files importing each other in a chain took 7.4 s to bundle, one
    /// run per file; 1.2 s like this). When those others fail to transpile, only the
    /// files reached are, so an error is reported only in a file the app needs.
    func prepare(_ file: String, queued: [String], isESM: (String) -> Bool) throws {
        // Most files reached were transpiled ahead with the first: no walk of the queue then.
        guard lock.withLock({ transpiled[file] == nil }) else { return }
        let pending = Array(Set(lock.withLock { ([file] + queued).filter { Self.isTypeScript($0) && transpiled[$0] == nil } })).sorted()
        guard !pending.isEmpty else { return }
        var ahead = Set(pending)
        for folder in Set(pending.map(packageFolder)) where lock.withLock({ walked.insert(folder).inserted }) {
            let found = typeScriptFiles(below: folder)
            if found.count <= Self.aheadLimit { ahead.formUnion(found) }
        }
        let others = lock.withLock { ahead.filter { transpiled[$0] == nil } }
        if others.count > pending.count, (try? transpile(others.sorted(), isESM: isESM)) != nil { return }
        try transpile(pending, isESM: isESM)
    }

    /// In as many esbuild runs as there are module formats among the files.
    private func transpile(_ files: [String], isESM: (String) -> Bool) throws {
        for esm in [false, true] {
            let group = files.filter { isESM($0) == esm }
            if !group.isEmpty { try run(group, format: esm ? "esm" : "cjs") }
        }
    }

    /// The folder of the package that holds `file`: the nearest with a package.json,
    /// else the file's own.
    private func packageFolder(_ file: String) -> String {
        var directory = Path.dirname(file)
        while directory != "/" {
            if base.kind(of: directory + "/package.json") == .file { return directory }
            if Path.basename(directory) == "node_modules" { break }
            directory = Path.dirname(directory)
        }
        return Path.dirname(file)
    }

    private func typeScriptFiles(below folder: String) -> [String] {
        var found: [String] = [], pending = [folder]
        while let directory = pending.popLast(), found.count <= Self.aheadLimit {
            for name in (try? base.children(of: directory)) ?? [] where !name.hasPrefix(".") && name != "node_modules" {
                let path = Path.join(directory, name)
                switch base.kind(of: path) {
                case .directory: pending.append(path)
                case .file where Self.isTypeScript(path): found.append(path)
                default: break
                }
            }
        }
        return found
    }

    private func run(_ files: [String], format: String) throws {
        guard let transpiler else { throw BundleError.typeScriptUnavailable(files[0]) }
        let esbuild = try transpiler.locate()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-ts-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // outbase "/": each output sits at the scratch folder + its source's absolute path.
        let arguments = files + ["--outdir=\(scratch)", "--outbase=/", "--format=\(format)", "--platform=node",
                                     "--target=\(target)", "--sourcemap=external", "--log-level=error", "--color=false",
                                     "--log-limit=1"]
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(esbuild, arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], collectOutput: false)
        } catch {
            throw BundleError.typeScriptUnavailable("\(files[0]) (\(esbuild): \(error))")
        }
        guard result.termination == .exited(0) else {
            throw BundleError.typeScriptError(Self.firstError(String(decoding: result.errors, as: UTF8.self)))
        }
        var results: [String: [UInt8]] = [:]
        for file in files {
            let output = scratch + Self.outputPath(file)
            guard let code = FileManager.default.contents(atPath: output), let map = FileManager.default.contents(atPath: output + ".map") else {
                throw BundleError.typeScriptError("\(file): esbuild wrote no JavaScript for it")
            }
            results[file] = try Self.withInlineMap(code: code, map: map, source: file)
        }
        lock.withLock { transpiled.merge(results) { $1 } }
    }

    /// Where esbuild writes a file's JavaScript, below the output folder: .js for every
    /// extension (a.ts and a.mts side by side are then esbuild's one-line error).
    static func outputPath(_ file: String) -> String {
        String(file[..<file.lastIndex(of: ".")!]) + ".js"
    }

    /// The JavaScript with its map inline, the map's source named relative to the file
    /// itself (the JavaScript is bundled under the .ts file's own path), its text kept
    /// in the map for the line node prints above an uncaught error.
    static func withInlineMap(code: Data, map: Data, source: String) throws -> [UInt8] {
        guard case .object(var json)? = JSONValue.parse(Array(map)) else {
            throw BundleError.typeScriptError("\(source): esbuild wrote a source map that is not JSON")
        }
        json["sources"] = .array([.string(Path.basename(source))])
        json.removeValue(forKey: "sourceRoot")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let inline = try encoder.encode(JSONValue.object(json))
        var text = String(decoding: code, as: UTF8.self)
        // esbuild ends the file with a comment naming the .map file: replaced by the map.
        if let comment = text.lastRange(of: "//# sourceMappingURL=") {
            text = String(text[..<comment.lowerBound])
        }
        if !text.hasSuffix("\n") { text += "\n" }
        text += "//# sourceMappingURL=data:application/json;base64," + inline.base64EncodedString() + "\n"
        return Array(text.utf8)
    }

    /// esbuild's first error as one line: "file:line:column: message", the column
    /// counted from 1 as editors and node count it (esbuild's from 0).
    static func firstError(_ output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.contains("[ERROR] ") }) else {
            return lines.first { !$0.trimmed.isEmpty } ?? "esbuild failed"
        }
        let message = String(lines[start][lines[start].firstRange(of: "[ERROR] ")!.upperBound...])
        let location = lines[(start + 1)...].lazy.map { $0.trimmed }
            .first { $0.hasSuffix(":") && $0.split(separator: ":").count >= 3 }
        guard let location else { return message }
        var parts = location.dropLast().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if let column = Int(parts[parts.count - 1]) { parts[parts.count - 1] = String(column + 1) }
        return parts.joined(separator: ":") + ": " + message
    }

    // MARK: FileSystem

    func kind(of path: String) -> FileKind? { base.kind(of: path) }

    func contents(of path: String) throws -> [UInt8] {
        if let code = lock.withLock({ transpiled[path] }) { return code }
        return try base.contents(of: path)
    }

    func read(_ path: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let code = lock.withLock({ transpiled[path] }) else { return try base.read(path, pieceSize: pieceSize, body) }
        var start = 0
        while start < code.count {
            let end = min(start + pieceSize, code.count)
            try code[start..<end].withUnsafeBytes(body)
            start = end
        }
    }

    func size(of path: String) -> Int? { lock.withLock { transpiled[path]?.count } ?? base.size(of: path) }
    func children(of path: String) throws -> [String] { try base.children(of: path) }
    func realPath(of path: String) -> String? { base.realPath(of: path) }
    func isExecutable(_ path: String) -> Bool { base.isExecutable(path) }
}
