import Foundation

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
}

/// Walks the module graph from the entry: every literal `require`/`import` is followed.
/// Because code also loads files it names at run time (non-literal requires, assets read
/// through fs), every package that is used is included whole (without its nested
/// node_modules), together with the packages its package.json depends on; so is the
/// app's own package directory when the entry has one.
public struct AppCollector {
    let fs: FileSystem
    let resolver: ModuleResolver
    let canonical: (String) -> String

    public init(fileSystem: FileSystem, canonicalPath: @escaping (String) -> String = { $0 }) {
        fs = fileSystem
        resolver = ModuleResolver(fileSystem: fileSystem)
        canonical = canonicalPath
    }

    /// `extra` files (from --include) are added and followed like the entry.
    public func collect(entry: String, including extra: [String] = []) throws -> CollectedApp {
        var state = State()
        state.add(entry, scan: true)
        for file in extra { state.add(file, scan: true) }
        var directory = Path.dirname(entry)
        while true {  // node ignores a package.json it cannot parse; say so, with the path
            checkPackageJSON(in: directory, &state)
            if directory == "/" || resolver.packageJSON(directory) != nil { break }
            directory = Path.dirname(directory)
        }
        if let scope = resolver.packageScope(of: Path.dirname(entry)), !entry.contains("/node_modules/") {
            for file in fs.filesBelow(scope.directory, canonical: canonical, special: { state.skipSpecial($0) }) { state.add(file, scan: false) }
            state.add(scope.directory + "/package.json", scan: false)
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
                case .file(let path): state.add(path, scan: true)
                case .notFound:
                    state.diagnostics.append(Diagnostic(
                        file: file, line: reference.line, message: "cannot resolve '\(reference.specifier)'; it will fail at run time if reached"))
                }
            }
        }
        let files = state.included.sorted()
        return CollectedApp(root: Path.appRoot(files), entry: entry, files: files, diagnostics: state.diagnostics,
                            reachedCommonJS: state.reachedCommonJS.intersection(files),
                            dynamicImporters: state.dynamicImporters.intersection(files))
    }

    private struct State {
        var included: Set<String> = []
        var scanned: Set<String> = []
        var queue: [String] = []
        var packages: Set<String> = []
        var diagnostics: [Diagnostic] = []
        var reachedCommonJS: Set<String> = []
        var dynamicImporters: Set<String> = []

        mutating func add(_ file: String, scan: Bool) {
            included.insert(file)
            if scan, scanned.insert(file).inserted { queue.append(file) }
        }

        mutating func skipSpecial(_ file: String) {
            diagnostics.append(Diagnostic(file: file, line: 1, message: "skipped: not a regular file (a FIFO, socket or device)"))
        }
    }

    /// Includes the whole package a file belongs to, and its declared dependencies.
    private func includePackage(containing file: String, _ state: inout State) {
        guard let directory = Self.packageDirectory(of: file), state.packages.insert(directory).inserted else { return }
        for path in fs.filesBelow(directory, canonical: canonical, special: { state.skipSpecial($0) }) { state.add(path, scan: false) }
        checkPackageJSON(in: directory, &state)
        guard let json = resolver.packageJSON(directory) else { return }
        for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
            for name in ((json[field] as? [String: Any]) ?? [:]).keys.sorted() {
                guard let dependency = resolver.packageDirectory(named: name, from: directory) else { continue }
                if case .file(let main) = resolver.resolve(name, from: directory, esm: false) {
                    state.add(main, scan: true)
                } else if case .file(let main) = resolver.resolve(name, from: directory, esm: true) {
                    state.add(main, scan: true)
                } else {
                    state.add(dependency + "/package.json", scan: true)
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
