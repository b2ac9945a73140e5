import FoundationEssentials

/// Which files of a package folder npm would publish (`npm publish`, `npm pack`), the
/// rule this bundler applies to the folders a developer owns: the app's own package and
/// local packages npm did not install from a registry. As documented by npm (the
/// package.json `files` section, npm-packlist's README, the npm cli wiki "Files &
/// Ignores"):
///
/// 1. With a package.json `files` list, only what it names: each entry is a glob relative
///    to the package folder, and stands for itself and everything below it (`lib` is
///    `lib` and `lib/**`); an entry starting with `!` leaves matches out. The root's
///    `.npmignore`/`.gitignore` do not apply; those in subfolders do.
/// 2. Otherwise, in every folder its `.npmignore`, or when it has none its `.gitignore`,
///    with git's pattern rules: `#` comments, `!` negation, a trailing `/` for folders
///    only, a pattern with a `/` before its end anchored to the ignore file's folder, one
///    without matching a name at any depth, `**` across folders; the last matching line
///    wins, deeper files after shallower ones.
/// 3. npm's never-published files (`.DS_Store`, `*.orig`, `npm-debug.log`, lockfiles,
///    the ignore files themselves, …) stay out unless a rule names them (not just a
///    folder above them); `.git`, `.svn`, `.hg`, `CVS` and `node_modules` folders always.
/// 4. Always in: the root's package.json, README*, LICENSE*/LICENCE*, COPYING*, and the
///    files `main` and `bin` name.
///
/// Where this differs from npm, on purpose: dot-folders (`.cache`, `.vscode`, `.next`)
/// are left out unless a `files` entry or a negation names them, as this bundler always
/// did; a negation re-includes a file even below an excluded folder (npm's walker does
/// the same for `files` entries; git would not), which is what someone writing one means.
struct PublishRules {
    /// The outcome for one file: published, or left out by the rule `origin` names.
    struct Decision: Equatable {
        var published: Bool
        /// Where the deciding rule is written (`.gitignore:3 'coverage/'`), nil when no rule matched.
        var origin: String?
        /// The deciding rule matched the file itself, and is a package.json `files` entry
        /// that names files (`namesFilesExplicitly`): enough to ship a secret.
        var namedByFilesEntry = false
    }

    /// The files of a package folder and what the rules decide for each.
    struct Selection {
        /// Published files, absolute, sorted.
        var published: [String]
        /// Every file looked at (absolute path) and its decision.
        var decisions: [String: Decision]
        /// Folders left out whole (absolute path → the rule's origin), not walked.
        var excludedFolders: [String: String]

        /// The decision for any file below the package folder, also one in a folder that
        /// was not walked.
        func decision(for file: String) -> Decision? {
            if let decision = decisions[file] { return decision }
            var folder = Path.dirname(file)
            while folder != "/" {
                if let origin = excludedFolders[folder] { return Decision(published: false, origin: origin) }
                folder = Path.dirname(folder)
            }
            return nil
        }
    }

    static let neverWalked: Set<String> = [".git", ".svn", ".hg", "CVS", "node_modules"]
    static let neverPublishedNames: Set<String> = [
        ".DS_Store", "npm-debug.log", ".npmrc", "config.gypi", ".lock-wscript", ".npmignore", ".gitignore",
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb",
    ]
    static let neverPublishedOrigin = "npm's never-published list"

    let fs: FileSystem
    let canonical: (String) -> String

    /// Walks `directory` (a package folder). `alwaysIncluded`: the files its `main` and
    /// `bin` name. FIFOs, sockets and devices go to `special`.
    func select(_ directory: String, alwaysIncluded: Set<String>, special: (String) -> Void = { _ in }) -> Selection {
        var selection = Selection(published: [], decisions: [:], excludedFolders: [:])
        var rules: [IgnoreRule] = []
        let filesList = Self.filesList(in: directory, fs: fs)
        if let filesList {
            rules.append(IgnoreRule.everything(origin: "package.json \"files\" (not listed)"))
            for entry in filesList { rules += IgnoreRule.filesEntry(entry) }
        } else {
            rules.append(IgnoreRule.dotFolders)
        }
        var visited: Set<String> = []

        /// `folderRule`: the index of the last rule matching this folder or one above it.
        func walk(_ relative: String, rules inherited: [IgnoreRule], folderRule: Int?) {
            let path = relative.isEmpty ? directory : directory + "/" + relative
            guard visited.insert(canonical(path)).inserted, let names = try? fs.children(of: path) else { return }
            var rules = inherited
            if !(relative.isEmpty && filesList != nil) { rules += ignoreFile(in: path, relative: relative) }
            for name in names {
                let childRelative = relative.isEmpty ? name : relative + "/" + name
                let child = path + "/" + name
                switch fs.kind(of: child) {
                case .directory:
                    if Self.neverWalked.contains(name) {
                        selection.excludedFolders[child] = Self.neverPublishedOrigin
                        continue
                    }
                    let deciding = Self.last(folderRule, rules.lastIndex { $0.matches(childRelative, isFolder: true) })
                    if let deciding, rules[deciding].effect == .exclude,
                       !rules.contains(where: { $0.effect == .include && $0.mayMatch(below: childRelative) }) {
                        selection.excludedFolders[child] = rules[deciding].origin
                        continue
                    }
                    walk(childRelative, rules: rules, folderRule: deciding)
                case .file:
                    let own = rules.lastIndex { !$0.directoryOnly && $0.matches(childRelative, isFolder: false) }
                    let deciding = Self.last(folderRule, own)
                    var decision = Decision(published: true)
                    if let deciding {
                        let rule = rules[deciding]
                        decision = Decision(published: rule.effect == .include, origin: rule.origin,
                                            namedByFilesEntry: deciding == own && rule.fromFiles && rule.namesFiles)
                    }
                    let namedItself = deciding.map { $0 == own && rules[$0].effect == .include && !rules[$0].expandsFolder } ?? false
                    if decision.published, !namedItself, Self.isNeverPublished(childRelative) {
                        decision = Decision(published: false, origin: Self.neverPublishedOrigin)
                    }
                    if alwaysIncluded.contains(child) || (relative.isEmpty && Self.isAlwaysPublished(name)) {
                        decision.published = true
                    }
                    selection.decisions[child] = decision
                    if decision.published { selection.published.append(child) }
                case .special: special(child)
                case nil: break
                }
            }
        }
        walk("", rules: rules, folderRule: nil)
        // `main` and `bin` are published even from a folder the rules leave out whole.
        for file in alwaysIncluded where selection.decisions[file] == nil && Path.isInside(file, directory) && fs.kind(of: file) == .file {
            selection.decisions[file] = Decision(published: true)
            selection.published.append(file)
        }
        selection.published.sort()
        return selection
    }

    /// The rules of the folder's `.npmignore`, or else its `.gitignore`.
    private func ignoreFile(in path: String, relative: String) -> [IgnoreRule] {
        for name in [".npmignore", ".gitignore"] {
            let file = path + "/" + name
            guard fs.kind(of: file) == .file, let bytes = try? fs.contents(of: file) else { continue }
            let shown = relative.isEmpty ? name : relative + "/" + name
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .compactMap { IgnoreRule(line: String($1), base: relative, origin: "\(shown):\($0 + 1)") }
        }
        return []
    }

    /// package.json's `files` (nil without one: then the ignore files decide).
    static func filesList(in directory: String, fs: FileSystem) -> [String]? {
        guard let bytes = try? fs.contents(of: directory + "/package.json"),
              let json = JSONValue.object(in: bytes),
              let files = json["files"] as? [Any] else { return nil }
        return files.compactMap { $0 as? String }
    }

    static func isAlwaysPublished(_ name: String) -> Bool {
        let lower = name.lowercased()
        return name == "package.json" || ["readme", "license", "licence", "copying"].contains { lower == $0 || lower.hasPrefix($0 + ".") }
    }

    static func isNeverPublished(_ relative: String) -> Bool {
        let name = Path.basename(relative)
        return neverPublishedNames.contains(name) || name.hasSuffix(".orig") || name.hasPrefix("._")
            || (name.hasPrefix(".") && name.hasSuffix(".swp")) || name.hasPrefix(".wafpickle-")
    }

    private static func last(_ a: Int?, _ b: Int?) -> Int? {
        switch (a, b) {
        case let (a?, b?): max(a, b)
        case let (a?, nil): a
        case let (nil, b): b
        }
    }
}

/// One line of a `.gitignore`/`.npmignore`, or a rule made from a package.json `files`
/// entry, with git's pattern semantics (see `PublishRules`).
struct IgnoreRule {
    enum Effect { case exclude, include }
    let effect: Effect
    let glob: Glob
    /// Matched against the path from `base` (the pattern had a `/` before its end), else
    /// against the last part of it.
    let anchored: Bool
    let directoryOnly: Bool
    /// The ignore file's folder relative to the package ("" at its root).
    let base: String
    /// For messages: `.gitignore:3 'coverage/'`.
    let origin: String
    let fromFiles: Bool
    /// The `x/**` made from a `files` entry `x`: takes in what is below without naming it.
    let expandsFolder: Bool

    var namesFiles: Bool { glob.namesFilesExplicitly }

    init(effect: Effect, glob: Glob, anchored: Bool, directoryOnly: Bool, base: String, origin: String,
         fromFiles: Bool = false, expandsFolder: Bool = false) {
        self.effect = effect
        self.glob = glob
        self.anchored = anchored
        self.directoryOnly = directoryOnly
        self.base = base
        self.origin = origin
        self.fromFiles = fromFiles
        self.expandsFolder = expandsFolder
    }

    /// Parses one line of an ignore file; nil for blank lines, comments and patterns
    /// that are not valid (git skips those too).
    init?(line: String, base: String, origin: String) {
        var text = Substring(line)
        if text.hasSuffix("\r") { text = text.dropLast() }
        while text.hasSuffix(" ") && !text.hasSuffix("\\ ") { text = text.dropLast() }
        guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
        var effect = Effect.exclude
        if text.hasPrefix("!") {
            effect = .include
            text = text.dropFirst()
        } else if text.hasPrefix("\\!") || text.hasPrefix("\\#") {
            text = text.dropFirst()
        }
        let directoryOnly = text.hasSuffix("/")
        while text.hasSuffix("/") { text = text.dropLast() }
        let anchored = text.contains("/")
        while text.hasPrefix("/") { text = text.dropFirst() }
        guard !text.isEmpty, let glob = try? Glob(String(text)) else { return nil }
        self.init(effect: effect, glob: glob, anchored: anchored, directoryOnly: directoryOnly, base: base,
                  origin: "\(origin) '\(line.trimmed)'")
    }

    /// A `files` entry: itself, and everything below it when it is a folder. `!x` leaves out.
    static func filesEntry(_ entry: String) -> [IgnoreRule] {
        var text = Substring(entry.trimmed)
        var effect = Effect.include
        if text.hasPrefix("!") {
            effect = .exclude
            text = text.dropFirst()
        }
        while text.hasPrefix("./") { text = text.dropFirst(2) }
        while text.hasPrefix("/") { text = text.dropFirst() }
        while text.hasSuffix("/") { text = text.dropLast() }
        guard !text.isEmpty, let glob = try? Glob(String(text)), let below = try? Glob(text + "/**") else { return [] }
        let origin = "package.json \"files\" '\(entry)'"
        return [
            IgnoreRule(effect: effect, glob: glob, anchored: true, directoryOnly: false, base: "", origin: origin, fromFiles: true),
            IgnoreRule(effect: effect, glob: below, anchored: true, directoryOnly: false, base: "", origin: origin, fromFiles: true,
                       expandsFolder: true),
        ]
    }

    /// With a `files` list, what it does not name is left out.
    static func everything(origin: String) -> IgnoreRule {
        IgnoreRule(effect: .exclude, glob: try! Glob("*"), anchored: false, directoryOnly: false, base: "", origin: origin)
    }

    static let dotFolders = IgnoreRule(effect: .exclude, glob: try! Glob(".*"), anchored: false, directoryOnly: true, base: "",
                                       origin: "the rule for dot-folders")

    /// `path` is relative to the package folder.
    func matches(_ path: String, isFolder: Bool) -> Bool {
        if directoryOnly && !isFolder { return false }
        guard base.isEmpty || path.hasPrefix(base + "/") else { return false }
        let rest = base.isEmpty ? path : String(path.dropFirst(base.count + 1))
        return glob.matches(anchored ? rest : Path.basename(rest))
    }

    /// Whether the rule could match something below `folder` (relative to the package),
    /// so an excluded folder is walked only when a later negation may take part of it back.
    func mayMatch(below folder: String) -> Bool {
        let literal = anchored ? glob.pattern.split(separator: "/").prefix { !$0.contains(where: { "*?[".contains($0) }) }.joined(separator: "/") : ""
        let prefix = [base, literal].filter { !$0.isEmpty }.joined(separator: "/")
        return prefix.isEmpty || Path.isInside("/" + prefix, "/" + folder) || Path.isInside("/" + folder, "/" + prefix)
    }
}
