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

/// A file of the developer's folders that was left out though the publish rules keep it.
public struct LeftOutFile: Equatable, Sendable {
    public var path: String
    public var kind: SensitiveFile
    public var size: Int

    /// The `--include` that would ship it, for a bundle run in `base`.
    public func includeOption(from base: String) -> String {
        guard Path.isInside(path, base), path != base else { return "--include naming it, run from a folder that holds it" }
        return "--include '\(Path.relative(path, to: base))'"
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
    /// Above either, the files the app's own folder adds beyond what the code reaches get
    /// a warning: more likely a folder that is not the app's than an app's assets.
    static let ownFolderWarningCount = 1000
    static let ownFolderWarningBytes = 50_000_000

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
            if Path.dirname(entry) == scope.directory || mainAndBin(of: scope.directory).contains(entry) {
                addDeveloperFolder(scope.directory, &state)
                ownFolder = scope.directory
            } else {
                state.diagnostics.append(Diagnostic(file: scope.directory + "/package.json", line: 1, message:
                    "its folder is not taken as the app's: the entry is not its main or bin and not directly in it, so only files the code reaches are bundled (add others with --include)"))
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

    private struct State {
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

    /// A package inside node_modules that npm did not unpack from a registry tarball, so
    /// npm's publish rules never ran over it: its real path lies outside every
    /// node_modules folder (`npm link`, workspaces, `file:` folders, yarn/pnpm `link:`:
    /// all symlinks to the developer's folder; pnpm's own links stay inside
    /// node_modules/.pnpm), or it holds a `.git` (a checkout; npm never publishes one).
    func isLocalPackage(_ directory: String) -> Bool {
        !canonical(directory).contains("/node_modules/") || fs.kind(of: directory + "/.git") != nil
    }

    /// Adds what a developer's folder publishes (`PublishRules`), minus secrets and
    /// executables that no `files` entry names.
    private func addDeveloperFolder(_ directory: String, _ state: inout State) {
        let rules = PublishRules(fs: fs, canonical: canonical)
        let selection = rules.select(directory, alwaysIncluded: mainAndBin(of: directory), special: { state.skipSpecial($0) })
        for file in selection.published {
            if selection.decisions[file]?.namedByFilesEntry != true, let kind = SensitiveFile.classify(file, fs: fs) {
                state.leaveOut(file, kind, size: fs.size(of: file) ?? 0)
            } else {
                state.add(file, scan: false, reason: .package)
            }
        }
        state.developerFolders.append((directory, selection))
    }

    /// The files a package's `main` and `bin` name.
    private func mainAndBin(of directory: String) -> Set<String> {
        guard let json = resolver.packageJSON(directory) else { return [] }
        var targets: [String] = []
        if let main = json["main"] as? String { targets.append(main) }
        if let bin = json["bin"] as? String { targets.append(bin) }
        if let bins = json["bin"] as? [String: Any] { targets += bins.values.compactMap { $0 as? String } }
        return Set(targets.compactMap { resolver.resolvePath(Path.join(directory, $0)) })
    }

    /// What the code reaches is bundled whatever the rules say, but the developer hears
    /// when a rule would leave it out (once per rule), or when it looks like a secret.
    private func checkReachedFiles(_ state: inout State) {
        var droppedBy: [String: [String]] = [:]
        for (file, reason) in state.reasons.sorted(by: { $0.key < $1.key }) where reason == .reached || reason == .asset {
            guard let folder = state.developerFolders.first(where: { Self.belongs(file, to: $0.directory) }) else {
                if Self.packageDirectory(of: file) == nil { warnIfSecret(file, &state) }
                continue
            }
            if let decision = folder.selection.decision(for: file), !decision.published {
                droppedBy[decision.origin ?? PublishRules.neverPublishedOrigin, default: []].append(file)
            }
            warnIfSecret(file, &state)
        }
        for (origin, files) in droppedBy.sorted(by: { $0.key < $1.key }) {
            let others = files.count > 1 ? " (and \(files.count - 1) more the code reaches)" : ""
            state.diagnostics.append(Diagnostic(file: files[0], line: 1, message:
                "bundled because the code reaches it, though \(origin) leaves it out\(others); the app would break without it"))
        }
    }

    private func warnIfSecret(_ file: String, _ state: inout State) {
        guard case .secret(let kind)? = SensitiveFile.classify(file, fs: fs) else { return }
        state.diagnostics.append(Diagnostic(file: file, line: 1, message:
            "looks like \(kind) but the code reaches it, so it is bundled: anyone who has the executable can read it"))
    }

    /// Whether `file` is a file of the package folder `directory` itself, not of a package below it.
    private static func belongs(_ file: String, to directory: String) -> Bool {
        Path.isInside(file, directory) && !Path.relative(file, to: directory).split(separator: "/").contains("node_modules")
    }

    private func checkOwnFolderSize(_ directory: String, _ state: inout State) {
        let added = state.reasons.filter { $0.value == .package && Self.belongs($0.key, to: directory) }.keys
        let bytes = added.reduce(0) { $0 + (fs.size(of: $1) ?? 0) }
        guard added.count > Self.ownFolderWarningCount || bytes > Self.ownFolderWarningBytes else { return }
        state.diagnostics.append(Diagnostic(file: directory + "/package.json", line: 1, message:
            "its folder adds \(added.count) files (\(ByteCount.text(bytes))) the code does not reach; if they are not the app's, limit them with a \"files\" list or .npmignore (bundle --dry-run lists them)"))
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
