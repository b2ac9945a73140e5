import Foundation

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
    /// Where the bootstrap shows the app's files (VIRTUAL_ROOT in Templates/bootstrap.js).
    static let virtualRoot = "/$bundle/"

    /// Of the CommonJS files the app reaches (`CollectedApp.cacheableCommonJS`: a file
    /// only loaded by a computed require gets none, so that packages bundled whole do
    /// not pay for caches nothing uses; nor does a file that may call `import()`, see
    /// below), those worth one: smaller files cost less to parse than their cache costs
    /// to store and check.
    ///
    /// V8 10.2 does not keep a script's host-defined options in a code cache, and node
    /// needs them to run `import()`: in a module compiled from a cache, `import()` (also
    /// in code it passes to eval or `new Function`) fails with "Invalid host defined
    /// options" (measured). Hence `DependencyScanner.analyze`'s `importsDynamically`.
    static func wanted(_ relative: String, size: Int) -> Bool {
        (relative.hasSuffix(".js") || relative.hasSuffix(".cjs") || !Path.basename(relative).contains("."))
            && size >= minimumSize
    }

    static let minimumSize = 1024

    /// The caches of `files` (relative path → cache), or nil when no suitable node
    /// was found. Files V8 cannot compile as a CommonJS body (ES modules) get none.
    static func make(for files: [(relative: String, data: [UInt8])], script: String) -> [String: [UInt8]]? {
        var input: [UInt8] = []
        for file in files {
            for field in [Array((virtualRoot + file.relative).utf8), file.data] {
                withUnsafeBytes(of: UInt32(field.count).littleEndian) { input += $0 }
                input += field
            }
        }
        for node in nodeCandidates() {
            guard let output = run(node, script: script, input: input) else { continue }
            var caches: [String: [UInt8]] = [:]
            var offset = 0
            for file in files {
                guard offset + 4 <= output.count else { return nil }
                let length = Int(output[offset..<offset + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
                offset += 4
                guard offset + length <= output.count else { return nil }
                if length > 0 { caches[file.relative] = Array(output[offset..<offset + length]) }
                offset += length
            }
            return caches
        }
        return nil
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
    private static func run(_ node: String, script: String, input: [UInt8]) -> [UInt8]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node)
        process.arguments = [script, Versions.node]
        // Nothing from the environment may change how V8 compiles (NODE_OPTIONS could
        // add V8 flags, and the caches would then be rejected at every start).
        process.environment = ["PATH": "/usr/bin:/bin"]
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
