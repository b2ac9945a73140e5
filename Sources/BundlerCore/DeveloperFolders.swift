import FoundationEssentials

/// The folders a developer owns — the app's own package folder and local packages — ship
/// what npm would publish from them (`PublishRules`), minus secrets and stray executables
/// (`SensitiveFile`); what the code reaches is bundled whatever the rules say, with a
/// warning when they would drop it.
extension AppCollector {
    /// Above either, the files the app's own folder adds beyond what the code reaches get
    /// a warning: more likely a folder that is not the app's than an app's assets.
    static let ownFolderWarningCount = 1000
    static let ownFolderWarningBytes = 50_000_000

    /// The nearest package folder above the entry is the app's only when the entry is its
    /// main or bin or lies directly in it: a stray package.json in $HOME must not take in
    /// the home folder. Otherwise a warning says so.
    func isOwnFolder(_ directory: String, of entry: String, _ state: inout State) -> Bool {
        if Path.dirname(entry) == directory || mainAndBin(of: directory).contains(entry) { return true }
        state.diagnostics.append(Diagnostic(file: directory + "/package.json", line: 1, message:
            "its folder is not taken as the app's: the entry is not its main or bin and not directly in it, so only files the code reaches are bundled (add others with --include)"))
        return false
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
    func addDeveloperFolder(_ directory: String, _ state: inout State) {
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
    func mainAndBin(of directory: String) -> Set<String> {
        guard let json = resolver.packageJSON(directory) else { return [] }
        var targets: [String] = []
        if let main = json["main"] as? String { targets.append(main) }
        // The entry a project names for `bundle` in package.json declares the folder its app's.
        if let section = json["bundle"] as? [String: Any], let entry = section["entry"] as? String { targets.append(entry) }
        if let bin = json["bin"] as? String { targets.append(bin) }
        if let bins = json["bin"] as? [String: Any] { targets += bins.values.compactMap { $0 as? String } }
        return Set(targets.compactMap { resolver.resolvePath(Path.join(directory, $0)) })
    }

    /// What the code reaches is bundled whatever the rules say, but the developer hears
    /// when a rule would leave it out (once per rule), or when it looks like a secret.
    func checkReachedFiles(_ state: inout State) {
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

    func warnIfSecret(_ file: String, _ state: inout State) {
        // A reached ELF file is an addon the code requires: only secrets are worth a word.
        guard case .secret(let kind)? = SensitiveFile.secret(file, fs: fs) else { return }
        state.diagnostics.append(Diagnostic(file: file, line: 1, message:
            "looks like \(kind) but the code reaches it, so it is bundled: anyone who has the executable can read it"))
    }

    /// Whether `file` is a file of the package folder `directory` itself, not of a package below it.
    static func belongs(_ file: String, to directory: String) -> Bool {
        Path.isInside(file, directory) && !Path.relative(file, to: directory).split(separator: "/").contains("node_modules")
    }

    func checkOwnFolderSize(_ directory: String, _ state: inout State) {
        let added = state.reasons.filter { $0.value == .package && Self.belongs($0.key, to: directory) }.keys
        let bytes = added.reduce(0) { $0 + (fs.size(of: $1) ?? 0) }
        guard added.count > Self.ownFolderWarningCount || bytes > Self.ownFolderWarningBytes else { return }
        state.diagnostics.append(Diagnostic(file: directory + "/package.json", line: 1, message:
            "its folder adds \(added.count) files (\(ByteCount.text(bytes))) the code does not reach; if they are not the app's, limit them with a \"files\" list or .npmignore (bundle --dry-run lists them)"))
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
