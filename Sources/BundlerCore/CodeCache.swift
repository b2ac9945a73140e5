import FoundationEssentials
import PayloadFormat

/// V8 code caches for the app's CommonJS files, so a bundled app compiles them from
/// the cache instead of parsing their source at every start ("Code cache" in
/// Templates/bootstrap.js). They are made by Templates/code-cache.js run by the `node`
/// of the libnode `bundle` packs: V8 accepts a cache only from its own version and
/// flags, and rejects any other by itself (the app then compiles from source, as
/// without one). A node of another version (nvm's, first on PATH) is skipped, and
/// Debian's /usr/bin/node (the packed libnode's own) is tried after PATH. Without such
/// a node, outputs simply have no code cache; `bundle -v` says which nodes were skipped.
enum CodeCache {
    /// Archive path of the cache of the app file at `relative`.
    static func path(for relative: String) -> String { Format.codeCachePrefix + relative }

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

    /// What `compile` did: the compilation (nil when no suitable node ran), and a line
    /// for each node it tried and skipped, for `bundle -v`.
    struct Outcome {
        var compilation: Compilation?
        var skipped: [String] = []
    }

    /// Compiles `files` as node's CommonJS loader would; a cache for those that want one.
    /// No compilation when no suitable node was found (a one-file `bundle` runs the script with the
    /// runtime it carries instead: `runScriptBundled`).
    static func compile(_ files: [(relative: String, data: [UInt8], wantsCache: Bool)], toolkit: Toolkit) -> Outcome {
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
        case .directory(let runtime, let script?):
            var outcome = Outcome()
            // A node of that version on the machine, or the runtime's own started by its
            // loader (~0.1 s); else the runtime itself in a temporary output (~1 s).
            let own = runtime.ownNode.map { [(label: runtime.root + "/usr/bin/node", executable: $0.executable, arguments: $0.arguments)] } ?? []
            for node in nodeCandidates().map({ (label: $0, executable: $0, arguments: [String]()) }) + own {
                // A V8 code cache holds string hashes, which depend on a per-process random
                // seed: the same file would give other bytes at every bundle. V8 leaves
                // --random-seed out of the flag hash a cache is checked against (measured:
                // the caches are then byte-identical, and accepted by processes without it).
                let ran = run(node.executable, arguments: node.arguments + ["--random-seed=1", script, runtime.nodeVersion], input: input)
                if case .output(let output) = ran, let compilation = parse(output, files: files.map(\.relative)) {
                    outcome.compilation = compilation
                    return outcome
                }
                outcome.skipped.append("skipped \(node.label): " + (ran.failure(expected: runtime.nodeVersion) ?? "its output is not code-cache.js's"))
            }
            outcome.compilation = runScriptBundled(toolkit, input: input).flatMap { parse($0, files: files.map(\.relative)) }
            return outcome
        case .directory(_, nil):
            return Outcome()
        case .carried:
            return Outcome(compilation: runScriptBundled(toolkit, input: input).flatMap { parse($0, files: files.map(\.relative)) })
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

    /// `node` and `nodejs` on PATH, then in /usr/bin (where Debian's nodejs, the node of
    /// the libnode packed, lives; PATH may have another first, or leave it out). The
    /// script itself checks the version.
    static func nodeCandidates(path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") -> [String] {
        var seen: Set<String> = []
        var candidates: [String] = []
        for directory in path.split(separator: ":") + [Substring("/usr/bin")] where directory.hasPrefix("/") {
            for name in ["node", "nodejs"] {
                let file = "\(directory)/\(name)"
                guard FileManager.default.isExecutableFile(atPath: file), seen.insert(Bundler.canonical(file)).inserted else { continue }
                candidates.append(file)
            }
        }
        return candidates
    }

    /// Runs Templates/code-cache.js with the very runtime outputs get, so they get V8
    /// code caches where no node of that version is installed (a one-file `bundle`, node
    /// 24 on a machine with node 18): the script is bundled into a temporary portable
    /// output that gets `--random-seed=1`, run once and deleted. Its V8 is the one
    /// outputs run with, started the same way. Nil when it cannot run (no writable
    /// temporary directory that allows executing, say).
    static func runScriptBundled(_ toolkit: Toolkit, input: [UInt8]) -> [UInt8]? {
        guard let script = toolkit.codeCacheScript else { return nil }
        let environment = ProcessInfo.processInfo.environment
        let temporaryBase = environment["TMPDIR"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        guard let (directory, _, slot) = try? InterruptCleanup.createTemporary(temporaryBase + "/bundle-code-cache-", directory: true) else {
            return nil
        }
        let cleanup = [slot] + ["code-cache.js", "package.json", "code-cache"].map { InterruptCleanup.register(directory + "/" + $0) }
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            cleanup.forEach(InterruptCleanup.unregister)
        }
        var compiler = toolkit
        compiler.codeCacheScript = nil
        do {
            try OutputWriter.write([script], to: directory + "/code-cache.js", mode: 0o600)
            // The app's own folder ends here, whatever package.json lies above $TMPDIR.
            try OutputWriter.write([Array("{\"private\": true}\n".utf8)], to: directory + "/package.json", mode: 0o600)
            var request = BundleRequest(entry: directory + "/code-cache.js", output: directory + "/code-cache")
            request.trustedNodeOptions = ["--random-seed=1"]
            // The runtime pack prepared for the app is reused (PackCache).
            _ = try Bundler(toolkit: compiler).bundle(request)
        } catch {
            return nil
        }
        // Where the output keeps its runtime: the same cache directory as every output's.
        var childEnvironment = ["PATH": "/usr/bin:/bin"]
        for name in ["HOME", "XDG_CACHE_HOME", "TMPDIR"] { childEnvironment[name] = environment[name] }
        guard case .output(let output) = run(directory + "/code-cache", arguments: [toolkit.nodeVersion], input: input,
                                                      environment: childEnvironment) else { return nil }
        return output
    }

    /// How a run of the script ended.
    enum Run {
        case output([UInt8])
        /// Exit status 3 (code-cache.js: not the expected node version).
        case wrongVersion
        case failed(String)

        /// Why it gave no output, for `bundle -v`: `expected` is the version asked for.
        func failure(expected: String) -> String? {
            switch self {
            case .output: nil
            case .wrongVersion: "not node \(expected)"
            case .failed(let reason): reason
            }
        }
    }

    /// The script's output, or why there is none (wrong version, crash).
    static func run(_ executable: String, arguments: [String], input: [UInt8],
                    environment: [String: String] = ["PATH": "/usr/bin:/bin"]) -> Run {
        // Nothing from the environment may change how V8 compiles (NODE_OPTIONS could
        // add V8 flags, and the caches would then be rejected at every start).
        // A child that stops reading early ends the feeding: its exit status says why.
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(executable, arguments: arguments, environment: environment, input: input,
                                          collectErrors: false)
        } catch {
            return .failed("cannot start it")
        }
        switch result.termination {
        case .exited(0): return .output(result.output)
        case .exited(3): return .wrongVersion
        case .exited(let status): return .failed("exit status \(status)")
        case .signalled(let signal): return .failed("killed by signal \(signal)")
        }
    }
}
