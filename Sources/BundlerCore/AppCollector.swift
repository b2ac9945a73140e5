import Foundation

/// The files an app needs, found from its entry.
public struct CollectedApp: Equatable, Sendable {
    /// The deepest directory holding every file; files appear under the virtual root
    /// relative to it, so the same project bundled from two places gives the same bytes.
    public var root: String
    public var entry: String
    /// Absolute paths, sorted.
    public var files: [String]
    public var diagnostics: [Diagnostic]
    /// The CommonJS files the module graph reaches through literal requires and imports
    /// (a subset of `files`): the ones compiled at bundle time (`CodeCache`).
    public var reachedCommonJS: Set<String> = []
    /// Of those, the ones that may call `import()` (`DependencyScanner.analyze`).
    public var dynamicImporters: Set<String> = []
    /// Why each file of `files` is bundled.
    public var reasons: [String: FileReason] = [:]
    /// Secrets and executables of the developer's folders that were not bundled, by path.
    public var leftOut: [LeftOutFile] = []
}

/// Why a file is bundled (shown by `bundle inspect` and `--dry-run`).
public enum FileReason: String, Codable, Sendable, CaseIterable {
    /// The entry, or required or imported by a literal specifier; also a package.json
    /// node's loader reads (its `type`, `imports`).
    case reached
    /// Named by the code in a way found at bundle time, other than require or import.
    case asset
    /// Matched by `--include`.
    case included
    /// Part of a package: a used package whole, or a file the app's own folder (or a local
    /// package) publishes by npm's rules (`PublishRules`).
    case package

    /// When a file is in for two reasons, the first of `allCases` is shown.
    func outranks(_ other: FileReason) -> Bool {
        Self.allCases.firstIndex(of: self)! < Self.allCases.firstIndex(of: other)!
    }
}

/// Walks the module graph from the entry: every literal `require`/`import` is followed.
/// Because code also loads files it names at run time (non-literal requires, assets read
/// through fs), every package that is used is included whole (without its nested
/// node_modules), together with the packages its package.json depends on. Of the folders
/// a developer owns — the app's own package folder, and local packages npm did not
/// install from a registry (`isLocalPackage`) — only what npm would publish goes in
/// (`PublishRules`), never secrets or stray executables (`SensitiveFile`) unless the code
/// reaches them or they are named explicitly. The nearest package.json above the entry
/// makes its folder the app's only when the entry is its main or bin or lies directly in
/// it: a stray one in $HOME must not take in the whole home folder.
public struct AppCollector {
    let fs: FileSystem
    let resolver: ModuleResolver
    let canonical: (String) -> String

    public init(fileSystem: FileSystem, canonicalPath: @escaping (String) -> String = { $0 }) {
        fs = fileSystem
        resolver = ModuleResolver(fileSystem: fileSystem)
        canonical = canonicalPath
    }

    /// `extra` files (from --include) are added and followed like the entry; those that are
    /// secrets or executables only when also in `named` (the pattern named them explicitly).
    public func collect(entry: String, including extra: [String] = [], named: Set<String> = []) throws -> CollectedApp {
        var state = State()
        state.add(entry, scan: true, reason: .reached)
        for file in extra {
            if !named.contains(file), let kind = SensitiveFile.classify(file, fs: fs) {
                state.leaveOut(file, kind, size: fs.size(of: file) ?? 0)
            } else {
                state.add(file, scan: true, reason: .included)
            }
        }
        var directory = Path.dirname(entry)
        while true {  // node ignores a package.json it cannot parse; say so, with the path
            checkPackageJSON(in: directory, &state)
            if directory == "/" || resolver.packageJSON(directory) != nil { break }
            directory = Path.dirname(directory)
        }
        var ownFolder: String?
        if let scope = resolver.packageScope(of: Path.dirname(entry)), !entry.contains("/node_modules/") {
            state.add(scope.directory + "/package.json", scan: false, reason: .reached)
            if isOwnFolder(scope.directory, of: entry, &state) {
                addDeveloperFolder(scope.directory, &state)
                ownFolder = scope.directory
            }
        }
        while let file = state.queue.popLast() {
            includePackage(containing: file, &state)
            guard Self.isJavaScript(file), let source = try? fs.contents(of: file) else { continue }
            let esmFile = isESM(file)
            let (references, importsDynamically) = DependencyScanner.analyze(source)
            if !esmFile {
                state.reachedCommonJS.insert(file)
                if importsDynamically { state.dynamicImporters.insert(file) }
            }
            for reference in references {
                let esm = reference.kind == .require ? false : (reference.kind == .dynamicImport || esmFile)
                switch resolver.resolve(reference.specifier, from: Path.dirname(file), esm: esm) {
                case .builtin: break
                case .file(let path): state.add(path, scan: true, reason: .reached)
                case .notFound:
                    state.diagnostics.append(Diagnostic(
                        file: file, line: reference.line, message: "cannot resolve '\(reference.specifier)'; it will fail at run time if reached"))
                }
            }
        }
        checkReachedFiles(&state)
        if let ownFolder { checkOwnFolderSize(ownFolder, &state) }
        let files = state.reasons.keys.sorted()
        var app = CollectedApp(root: Path.commonAncestor(files), entry: entry, files: files, diagnostics: state.diagnostics,
                               reachedCommonJS: state.reachedCommonJS.intersection(files),
                               dynamicImporters: state.dynamicImporters.intersection(files))
        app.reasons = state.reasons
        app.leftOut = state.leftOut.values.filter { state.reasons[$0.path] == nil }.sorted { $0.path < $1.path }
        return app
    }

    struct State {
        /// Every file to bundle and why.
        var reasons: [String: FileReason] = [:]
        var scanned: Set<String> = []
        var queue: [String] = []
        var packages: Set<String> = []
        var diagnostics: [Diagnostic] = []
        var reachedCommonJS: Set<String> = []
        var dynamicImporters: Set<String> = []
        var leftOut: [String: LeftOutFile] = [:]
        /// The developer's folders and what the publish rules chose in each.
        var developerFolders: [(directory: String, selection: PublishRules.Selection)] = []

        mutating func add(_ file: String, scan: Bool, reason: FileReason) {
            if let known = reasons[file], !reason.outranks(known) {} else { reasons[file] = reason }
            if scan, scanned.insert(file).inserted { queue.append(file) }
        }

        mutating func leaveOut(_ file: String, _ kind: SensitiveFile, size: Int) {
            leftOut[file] = LeftOutFile(path: file, kind: kind, size: size)
        }

        mutating func skipSpecial(_ file: String) {
            diagnostics.append(Diagnostic(file: file, line: 1, message: "skipped: not a regular file (a FIFO, socket or device)"))
        }
    }

    /// Includes the package a file belongs to — whole, or what it publishes when it is a
    /// local package — and its declared dependencies.
    private func includePackage(containing file: String, _ state: inout State) {
        guard let directory = Self.packageDirectory(of: file), state.packages.insert(directory).inserted else { return }
        if isLocalPackage(directory) {
            addDeveloperFolder(directory, &state)
        } else {
            for path in fs.filesBelow(directory, canonical: canonical, special: { state.skipSpecial($0) }) {
                state.add(path, scan: false, reason: .package)
            }
        }
        checkPackageJSON(in: directory, &state)
        guard let json = resolver.packageJSON(directory) else { return }
        for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
            for name in ((json[field] as? [String: Any]) ?? [:]).keys.sorted() {
                guard let dependency = resolver.packageDirectory(named: name, from: directory) else { continue }
                if case .file(let main) = resolver.resolve(name, from: directory, esm: false) {
                    state.add(main, scan: true, reason: .package)
                } else if case .file(let main) = resolver.resolve(name, from: directory, esm: true) {
                    state.add(main, scan: true, reason: .package)
                } else {
                    state.add(dependency + "/package.json", scan: true, reason: .package)
                }
            }
        }
    }

    private func checkPackageJSON(in directory: String, _ state: inout State) {
        let path = Path.join(directory, "package.json")
        guard fs.kind(of: path) == .file, let bytes = try? fs.contents(of: path) else { return }
        if (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] == nil {
            state.diagnostics.append(Diagnostic(file: path, line: 1, message: "not a valid JSON object; its main, exports and dependencies are ignored"))
        }
    }

    /// `/x/node_modules/pkg/lib/a.js` → `/x/node_modules/pkg`; scoped names keep the scope.
    static func packageDirectory(of file: String) -> String? {
        guard let range = file.range(of: "/node_modules/", options: .backwards) else { return nil }
        let rest = file[range.upperBound...].split(separator: "/")
        let count = rest.first?.hasPrefix("@") == true ? 2 : 1
        guard rest.count > count else { return nil }
        return String(file[..<range.upperBound]) + rest.prefix(count).joined(separator: "/")
    }

    static func isJavaScript(_ file: String) -> Bool {
        file.hasSuffix(".js") || file.hasSuffix(".mjs") || file.hasSuffix(".cjs") || !Path.basename(file).contains(".")
    }

    private func isESM(_ file: String) -> Bool {
        if file.hasSuffix(".mjs") { return true }
        if file.hasSuffix(".cjs") { return false }
        return resolver.packageScope(of: Path.dirname(file))?.json["type"] as? String == "module"
    }
}
