import Foundation
import PayloadFormat

/// V8 code caches for the app's CommonJS files, so a bundled app compiles them from
/// the cache instead of parsing their source at every start ("Code cache" in
/// Templates/bootstrap.js). They are made by Templates/code-cache.js run by the `node`
/// of the libnode `bundle` packs: V8 accepts a cache only from its own version and
/// flags, and rejects any other by itself (the app then compiles from source, as
/// without one). Without that node on PATH, outputs simply have no code cache.
enum CodeCache {
    /// Archive path of the cache of the app file at `relative`.
    static func path(for relative: String) -> String { prefix + relative }
    static let prefix = ".bundle-code-cache/"

    /// Of the CommonJS files the app reaches (`CollectedApp.reachedCommonJS`: a file
    /// only loaded by a computed require gets none, so that packages bundled whole do
    /// not pay for caches nothing uses; nor does a file that may call `import()`, see
    /// below), those worth one: smaller files cost less to parse than their cache costs
    /// to store and check.
    ///
    /// V8 10.2 does not keep a script's host-defined options in a code cache, and node
    /// needs them to run `import()`: in a module compiled from a cache, `import()` (also
    /// in code it passes to eval or `new Function`) fails with "Invalid host defined
    /// options" (measured). Hence `DependencyScanner.analyze`'s `importsDynamically`.
    static func wanted(size: Int) -> Bool {
        size >= minimumSize
    }

    static let minimumSize = 1024

    /// What compiling the app's CommonJS files found.
    struct Compilation {
        /// Relative path → V8 code cache.
        var caches: [String: [UInt8]] = [:]
        /// Files node will refuse when it loads them, with V8's message.
        var syntaxErrors: [(relative: String, line: Int, message: String)] = []
    }

    /// Compiles `files` as node's CommonJS loader would; a cache for those that want one.
    /// Nil when no suitable node was found (a one-file `bundle` runs the script with the
    /// runtime it carries instead: `CarriedToolkit.runCodeCacheScript`).
    static func compile(_ files: [(relative: String, data: [UInt8], wantsCache: Bool)], toolkit: Toolkit) -> Compilation? {
        var input: [UInt8] = []
        func append(_ field: [UInt8]) {
            input.appendInteger(UInt32(field.count))
            input += field
        }
        for file in files {
            append(Array((Format.virtualRoot + "/" + file.relative).utf8))
            input.append(file.wantsCache ? 1 : 0)
            append(file.data)
        }
        switch toolkit.origin {
        case .directory(_, let script?):
            for node in nodeCandidates() {
                // A V8 code cache holds string hashes, which depend on a per-process random
                // seed: the same file would give other bytes at every bundle. V8 leaves
                // --random-seed out of the flag hash a cache is checked against (measured:
                // the caches are then byte-identical, and accepted by processes without it).
                guard let output = run(node, arguments: ["--random-seed=1", script, Versions.node], input: input) else { continue }
                return parse(output, files: files.map(\.relative))
            }
            return nil
        case .directory(_, nil):
            return nil
        case .carried(let carried):
            return carried.runCodeCacheScript(toolkit, input: input).flatMap { parse($0, files: files.map(\.relative)) }
        }
    }

    private static func parse(_ output: [UInt8], files: [String]) -> Compilation? {
        var compilation = Compilation()
        var offset = 0
        for relative in files {
            guard offset + 5 <= output.count else { return nil }
            let kind = output[offset]
            let length = Int(output.integer(UInt32.self, at: offset + 1))
            offset += 5
            guard offset + length <= output.count else { return nil }
            let payload = Array(output[offset..<offset + length])
            offset += length
            switch kind {
            case 1: compilation.caches[relative] = payload
            case 2:
                let text = String(decoding: payload, as: UTF8.self)
                let parts = text.split(separator: "\n", maxSplits: 1)
                compilation.syntaxErrors.append((relative, Int(parts.first ?? "") ?? 1, parts.count > 1 ? String(parts[1]) : text))
            default: break
            }
        }
        return compilation
    }

    /// `node` and `nodejs` on PATH (the script itself checks the version).
    static func nodeCandidates(path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") -> [String] {
        var seen: Set<String> = []
        var candidates: [String] = []
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            for name in ["node", "nodejs"] {
                let file = "\(directory)/\(name)"
                guard FileManager.default.isExecutableFile(atPath: file), seen.insert(Bundler.canonical(file)).inserted else { continue }
                candidates.append(file)
            }
        }
        return candidates
    }

    /// The script's output, or nil when it did not succeed (wrong version, crash).
    static func run(_ executable: String, arguments: [String], input: [UInt8],
                    environment: [String: String] = ["PATH": "/usr/bin:/bin"]) -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Nothing from the environment may change how V8 compiles (NODE_OPTIONS could
        // add V8 flags, and the caches would then be rejected at every start).
        process.environment = environment
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        // Feed stdin on another thread: the child writes its output only at the end, but
        // a pipe holds 64 KB, so writing everything first and reading after is safe only
        // in that order; a thread keeps it safe whatever the script does.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else { return nil }
        return [UInt8](output)
    }
}
