import FoundationEssentials

/// The files an app needs, found from its entry.
public struct CollectedApp: Equatable, Sendable {
    /// The parent of the app's top folder (`Path.appRoot`); files appear under the
    /// virtual root relative to it, so the same project bundled from two places gives
    /// the same bytes, and the top folder keeps its name.
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
    /// Symbolic links the module graph passed through into a package store (pnpm's
    /// `node_modules/foo` → `node_modules/.pnpm/foo@1/node_modules/foo`), absolute link
    /// path → absolute real path: the files are bundled at their real paths, as node
    /// loads them, and the links are shown at run time (`AppMetadata.links`).
    public var links: [String: String] = [:]
    /// Imports of TypeScript files resolved through tsconfig `paths`: importing file →
    /// specifier → file, all absolute (`TypeScriptPaths`, `AppMetadata.aliases`).
    public var aliases: [String: [String: String]] = [:]
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
/// node_modules), together with the packages its package.json depends on; so are the
/// packages in the app's own `dependencies` and `optionalDependencies`, and files its
/// code reads through fs at paths built from its own location (`DependencyScanner.AssetRead`).
/// Of the folders a developer owns — the app's own package folder, and local packages npm
/// did not install from a registry (`isLocalPackage`) — only what npm would publish goes in
/// (`PublishRules`), never secrets or stray executables (`SensitiveFile`) unless the code
/// reaches them or they are named explicitly. The nearest package.json above the entry
/// makes its folder the app's only when the entry is its main or bin or lies directly in
/// it: a stray one in $HOME must not take in the whole home folder.
public struct AppCollector {
    let fs: FileSystem
    let resolver: ModuleResolver
    let canonical: (String) -> String
    /// What `--include` globs are relative to, so a warning can name the one to add.
    let currentDirectory: String

    /// Transpiles the TypeScript files the walk reaches; nil: `fileSystem` is read as it is.
    let typeScript: TypeScriptFiles?
    let typeScriptPaths: TypeScriptPaths

    public init(fileSystem: FileSystem, canonicalPath: @escaping (String) -> String = { $0 }, currentDirectory: String = "/") {
        self.init(fileSystem: fileSystem, typeScript: nil, canonicalPath: canonicalPath, currentDirectory: currentDirectory)
    }

    /// `typeScript` is also the file system read (it serves the transpiled files).
    init(typeScript: TypeScriptFiles, canonicalPath: @escaping (String) -> String, currentDirectory: String) {
        self.init(fileSystem: typeScript, typeScript: typeScript, canonicalPath: canonicalPath, currentDirectory: currentDirectory)
    }

    private init(fileSystem: FileSystem, typeScript: TypeScriptFiles?, canonicalPath: @escaping (String) -> String, currentDirectory: String) {
        self.typeScript = typeScript
        typeScriptPaths = TypeScriptPaths(fileSystem: fileSystem)
        fs = fileSystem
        resolver = ModuleResolver(fileSystem: fileSystem)
        canonical = canonicalPath
        self.currentDirectory = currentDirectory
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
        includeOwnDependencies(entry: entry, &state)
        let appFolder = appFolder(entry: entry)
        while let file = state.queue.popLast() {
            includePackage(containing: file, &state)
            let typeScriptFile = TypeScriptFiles.isTypeScript(file)
            if let typeScript, typeScriptFile {
                // With the other TypeScript files queued: one esbuild run for all of them.
                try typeScript.prepare(file, queued: state.queue, isESM: isESM)
            }
            guard Self.isJavaScript(file), let source = try? fs.contents(of: file) else { continue }
            let esmFile = isESM(file)
            let analysis = DependencyScanner.analyze(source)
            if !esmFile {
                state.reachedCommonJS.insert(file)
                if analysis.importsDynamically { state.dynamicImporters.insert(file) }
            }
            for read in analysis.assetReads { includeAsset(read, readBy: file, appFolder: appFolder, &state) }
            for reference in analysis.references {
                let esm = reference.kind == .require ? false : (reference.kind == .dynamicImport || esmFile)
                if typeScriptFile,
                   let aliased = typeScriptPaths.resolve(reference.specifier, from: file, resolver.resolvePath) {
                    let stored = storedPath(aliased, &state)
                    state.aliases[file, default: [:]][reference.specifier] = stored
                    state.add(stored, scan: true, reason: .reached)
                    continue
                }
                switch resolver.resolve(reference.specifier, from: Path.dirname(file), esm: esm) {
                case .builtin: break
                case .file(let path): state.add(storedPath(path, &state), scan: true, reason: .reached)
                case .notFound:
                    state.diagnostics.append(Diagnostic(file: file, line: reference.line,
                                                        message: unresolvedMessage(reference.specifier, from: file, esm: esm)))
                }
            }
        }
        checkReachedFiles(&state)
        if let ownFolder { checkOwnFolderSize(ownFolder, &state) }
        let files = state.reasons.keys.sorted()
        var app = CollectedApp(root: Path.appRoot(files), entry: entry, files: files, diagnostics: state.diagnostics,
                               reachedCommonJS: state.reachedCommonJS.intersection(files),
                               dynamicImporters: state.dynamicImporters.intersection(files))
        app.reasons = state.reasons
        app.leftOut = state.leftOut.values.filter { state.reasons[$0.path] == nil }.sorted { $0.path < $1.path }
        app.links = state.links
        app.aliases = state.aliases
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
        var links: [String: String] = [:]
        var aliases: [String: [String: String]] = [:]
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
        includeDependencies(declaredIn: directory, fields: ["dependencies", "optionalDependencies", "peerDependencies"], &state)
    }

    /// The packages the app's own package.json depends on, whether or not code names
    /// them literally (`require(name)`): npm installs them all for the app to run, so
    /// they ship like used packages. Never `devDependencies`.
    private func includeOwnDependencies(entry: String, _ state: inout State) {
        guard !entry.contains("/node_modules/"), let scope = resolver.packageScope(of: Path.dirname(entry)) else { return }
        let missing = includeDependencies(declaredIn: scope.directory, fields: ["dependencies", "optionalDependencies"], &state)
        let packageJSON = Path.join(scope.directory, "package.json")
        let lines = ((try? fs.contents(of: packageJSON)).map { String(decoding: $0, as: UTF8.self) } ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        // An optional dependency may be missing (npm skips one that fails to install).
        for name in missing where (scope.json["dependencies"] as? [String: Any])?[name] != nil {
            let section = lines.firstIndex { $0.contains("\"dependencies\"") } ?? 0
            let line = (lines[section...].firstIndex { $0.contains("\"\(name)\"") } ?? 0) + 1
            state.diagnostics.append(Diagnostic(file: packageJSON, line: line, message:
                "dependency '\(name)' is not installed, so it is not bundled (run npm install first)"))
        }
    }

    /// Each installed package that `fields` of the package.json in `directory` name: its
    /// main file is followed, which includes the package whole (`includePackage`).
    /// Returns the names that are not installed.
    @discardableResult
    private func includeDependencies(declaredIn directory: String, fields: [String], _ state: inout State) -> [String] {
        guard let json = resolver.packageJSON(directory) else { return [] }
        var missing: [String] = []
        for field in fields {
            for name in ((json[field] as? [String: Any]) ?? [:]).keys.sorted() {
                guard let dependency = resolver.packageDirectory(named: name, from: directory) else {
                    missing.append(name)
                    continue
                }
                if case .file(let main) = resolver.resolve(name, from: directory, esm: false) {
                    state.add(storedPath(main, &state), scan: true, reason: .package)
                } else if case .file(let main) = resolver.resolve(name, from: directory, esm: true) {
                    state.add(storedPath(main, &state), scan: true, reason: .package)
                } else {
                    state.add(storedPath(dependency + "/package.json", &state), scan: true, reason: .package)
                }
            }
        }
        return missing
    }

    /// Where a resolved file is bundled: at its real path when a symbolic link leads into
    /// a package store inside node_modules (pnpm), as node loads it from there and resolves
    /// its requires from there; the links passed through are recorded. Other links (a
    /// workspace package, `npm link`) keep the path the app reaches them by.
    private func storedPath(_ path: String, _ state: inout State) -> String {
        guard let real = fs.realPath(of: path), real != path, real.contains("/node_modules/") else { return path }
        var resolved = ""
        for component in path.split(separator: "/") {
            let candidate = resolved + "/" + component
            guard let target = fs.realPath(of: candidate) else { return path }
            if target != candidate { state.links[candidate] = target }
            resolved = target
        }
        return real
    }

    /// node resolves from a module's real path; a package reached through a symbolic
    /// link (pnpm's `node_modules/foo` → `.pnpm/foo@1/node_modules/foo`) finds its
    /// dependencies beside its real directory. The bundle has no links at run time, so
    /// such a require fails there: say why, and what layout works.
    private func unresolvedMessage(_ specifier: String, from file: String, esm: Bool) -> String {
        let directory = Path.dirname(file)
        if let real = fs.realPath(of: directory), real != directory,
           case .file = resolver.resolve(specifier, from: real, esm: esm) {
            return "'\(specifier)' resolves only from this package's real path \(displayed(real)), a linked folder outside node_modules; " +
                "the bundle keeps such a package where the app reaches it, so it will fail at run time. Give the package its own dependencies " +
                "(or install it into node_modules)"
        }
        return "cannot resolve '\(specifier)'; it will fail at run time if reached"
    }

    /// Where directories the app reads may lie to be bundled whole: its package
    /// directory, else the entry's directory (never a walk of a whole disk or home).
    private func appFolder(entry: String) -> String {
        if !entry.contains("/node_modules/"), let scope = resolver.packageScope(of: Path.dirname(entry)) { return scope.directory }
        return Path.dirname(entry)
    }

    /// A file or directory the code reads at a path built from its own location: bundled
    /// when the path is known and there; otherwise a warning naming the `--include` to
    /// add. Packages' own reads are not warned about: packages ship whole.
    private func includeAsset(_ read: DependencyScanner.AssetRead, readBy file: String, appFolder: String, _ state: inout State) {
        let target = Path.join(Path.dirname(file), read.path)
        // An absolute path (`path.resolve(__dirname, '/etc/x')`) is read from the machine.
        guard !read.path.hasPrefix("/") else { return }
        let ownFile = !file.contains("/node_modules/")
        func warn(_ message: String) {
            if ownFile { state.diagnostics.append(Diagnostic(file: file, line: read.line, message: message)) }
        }
        guard read.isComplete else {
            warn("reads a path built at run time; if it names files of the app, add them with --include \(includeGlob(target, directory: true))")
            return
        }
        switch fs.kind(of: target) {
        case .file: state.add(storedPath(target, &state), scan: false, reason: .asset)
        case .directory where Path.isInside(target, Self.packageDirectory(of: file) ?? appFolder):
            let found = fs.filesBelow(target, canonical: canonical, special: { state.skipSpecial($0) })
            guard found.count <= Self.directoryReadLimit || !ownFile else {
                warn("reads the directory \(displayed(target)), which holds \(found.count) files: too many to be sure they are the app's, " +
                     "so it is not bundled; add it with --include \(includeGlob(target, directory: true))")
                return
            }
            // A listing names no file in particular: secrets and stray executables in the
            // folder stay out (the summary names them, with the --include that ships them).
            for path in found {
                if let kind = SensitiveFile.classify(path, fs: fs) {
                    state.leaveOut(path, kind, size: fs.size(of: path) ?? 0)
                } else {
                    state.add(storedPath(path, &state), scan: false, reason: .asset)
                }
            }
        case .directory:
            warn("reads the directory \(displayed(target)), outside the app's folder, so it is not bundled; add it with --include \(includeGlob(target, directory: true))")
        case .special: state.skipSpecial(target)
        case nil where read.checksExistence: break  // false, or ENOENT, as under node here
        case nil:
            warn("reads \(displayed(target)), which does not exist; it will be missing at run time unless added with --include \(includeGlob(target, directory: false))")
        }
    }

    /// Above this many files, a directory the app lists is more likely a home or
    /// download folder around an entry without package.json than the app's assets.
    static let directoryReadLimit = 1000

    /// `path` as the user typed paths: relative to the current directory when inside it.
    private func displayed(_ path: String) -> String {
        path != currentDirectory && Path.isInside(path, currentDirectory) ? Path.relative(path, to: currentDirectory) : path
    }

    /// The `--include` argument, shell-quoted, that bundles `path` (a directory: all below it).
    private func includeGlob(_ path: String, directory: Bool) -> String {
        let relative = displayed(path)
        let glob = path == currentDirectory ? "**" : directory ? (relative.hasSuffix("/") ? relative : relative + "/") + "**" : relative
        return "'" + glob.replacing("'", with: "'\\''") + "'"
    }

    private func checkPackageJSON(in directory: String, _ state: inout State) {
        let path = Path.join(directory, "package.json")
        guard fs.kind(of: path) == .file, let bytes = try? fs.contents(of: path) else { return }
        if JSONValue.object(in: bytes) == nil {
            state.diagnostics.append(Diagnostic(file: path, line: 1, message: "not a valid JSON object; its main, exports and dependencies are ignored"))
        }
    }

    /// `/x/node_modules/pkg/lib/a.js` → `/x/node_modules/pkg`; scoped names keep the scope.
    static func packageDirectory(of file: String) -> String? {
        guard let range = file.lastRange(of: "/node_modules/") else { return nil }
        let rest = file[range.upperBound...].split(separator: "/")
        let count = rest.first?.hasPrefix("@") == true ? 2 : 1
        guard rest.count > count else { return nil }
        return String(file[..<range.upperBound]) + rest.prefix(count).joined(separator: "/")
    }

    static func isJavaScript(_ file: String) -> Bool {
        file.hasSuffix(".js") || file.hasSuffix(".mjs") || file.hasSuffix(".cjs") || !Path.basename(file).contains(".")
            || TypeScriptFiles.isTypeScript(file)
    }

    func isESM(_ file: String) -> Bool {
        if file.hasSuffix(".mjs") || file.hasSuffix(".mts") { return true }
        if file.hasSuffix(".cjs") || file.hasSuffix(".cts") { return false }
        return resolver.packageScope(of: Path.dirname(file))?.json["type"] as? String == "module"
    }
}
