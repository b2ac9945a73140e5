import FoundationEssentials

/// The `"bundle"` section of an app's package.json: the build settings a project keeps
/// with its code, under the same names and with the same meaning as the flags.
///
///     "bundle": { "entry": "src/server.ts", "output": "dist/server", "node": 24,
///                 "include": ["public/**"], "nodeOptions": ["--max-old-space-size=4096"] }
///
/// Paths and globs in it are relative to the package folder (a flag's to the current
/// directory). A flag given on the command line wins over the same setting here; a list
/// flag (`--include`, `--exclude`, `--node-option`) replaces the list.
public struct ProjectConfig: Equatable, Sendable {
    /// The package.json it was read from.
    public var file: String
    public var entry: String?
    public var output: String?
    public var node: String?
    public var runtime: RuntimeMode?
    public var include: [String]?
    public var exclude: [String]?
    public var nodeOptions: [String]?
    public var allowNodeOptions: Bool?
    public var portable: Bool?

    /// The settings, in the section's order, that came from `source` (the build summary
    /// and `bundle inspect` list them so).
    public static func settings(from source: SettingSource, in sources: [String: SettingSource]) -> [String] {
        settingNames.filter { sources[$0] == source }
    }

    /// The folder that paths and globs in the section are relative to.
    public var directory: String { Path.dirname(file) }

    /// Every setting the section may hold, as the error for an unknown one lists them.
    public static let settingNames = ["entry", "output", "node", "runtime", "include", "exclude", "nodeOptions",
                                      "allowNodeOptions", "portable"]

    /// The section of a package.json's text, nil when it has none. Throws
    /// `BundleError.invalidConfig` for an unknown key or a value of the wrong type.
    public static func read(_ json: [UInt8], from packageJSON: String) throws -> ProjectConfig? {
        guard let document = JSONValue.parse(json) else { throw BundleError.invalidPackageJSON(packageJSON, "cannot parse it") }
        guard case .object(let object) = document, let value = object["bundle"] else { return nil }
        guard case .object(let section) = value else {
            throw BundleError.invalidConfig(packageJSON, "\"bundle\" must be an object of build settings (\(settingNames.joined(separator: ", ")))")
        }
        for key in section.keys.sorted() where !settingNames.contains(key) {
            throw BundleError.invalidConfig(packageJSON, "\"bundle.\(key)\" is not a setting (allowed: \(settingNames.joined(separator: ", ")))")
        }
        func fail(_ key: String, _ allowed: String) -> BundleError {
            BundleError.invalidConfig(packageJSON, "\"bundle.\(key)\" must be \(allowed)")
        }
        func string(_ key: String, _ allowed: String = "a path (a string) relative to the package folder") throws -> String? {
            guard let value = section[key] else { return nil }
            guard case .string(let text) = value, !text.isEmpty else { throw fail(key, allowed) }
            return text
        }
        func strings(_ key: String, _ allowed: String) throws -> [String]? {
            guard let value = section[key] else { return nil }
            guard case .array(let list) = value else { throw fail(key, allowed) }
            return try list.map { item in
                guard case .string(let text) = item, !text.isEmpty else { throw fail(key, allowed) }
                return text
            }
        }
        func flag(_ key: String) throws -> Bool? {
            guard let value = section[key] else { return nil }
            guard case .bool(let flag) = value else { throw fail(key, "true or false") }
            return flag
        }
        var config = ProjectConfig(file: packageJSON)
        config.entry = try string("entry")
        config.output = try string("output")
        switch section["node"] {
        case nil: break
        case .number(let major) where major == major.rounded() && major > 0 && major < 1000: config.node = String(Int(major))
        case .string(let text) where !text.isEmpty: config.node = text
        default: throw fail("node", "a node major version such as 24 or \"18\"")
        }
        if let runtime = try string("runtime", "\"bundled\" or \"system\"") {
            guard let mode = RuntimeMode(rawValue: runtime) else { throw fail("runtime", "\"bundled\" or \"system\"") }
            config.runtime = mode
        }
        config.include = try strings("include", "an array of globs (strings), relative to the package folder")
        config.exclude = try strings("exclude", "an array of globs (strings), relative to the package folder")
        config.nodeOptions = try strings("nodeOptions", "an array of node flags (strings), e.g. [\"--max-old-space-size=4096\"]")
        config.allowNodeOptions = try flag("allowNodeOptions")
        config.portable = try flag("portable")
        return config
    }

    /// The section of the package.json in `directory`, nil when there is none or it has no
    /// section. A package.json that is not JSON is an error here: the build starts from it.
    public static func load(packageDirectory directory: String, fileSystem fs: FileSystem = LocalFileSystem()) throws -> ProjectConfig? {
        let file = Path.join(directory, "package.json")
        guard fs.kind(of: file) == .file else { return nil }
        return try read(try fs.contents(of: file), from: file)
    }
}

/// The settings of one build as the command line gives them: nil (or empty) where a flag
/// was not given, so that package.json's section can fill it in.
public struct BuildFlags: Sendable {
    public var entry: String?
    public var output: String?
    public var node: String?
    public var runtime: RuntimeMode?
    public var includes: [String] = []
    public var excludes: [String] = []
    public var nodeOptions: [String] = []
    public var allowNodeOptions = false
    public var portable: Bool?

    public init() {}
}

/// Where a build's setting came from, as `bundle inspect` shows it.
public enum SettingSource: String, Codable, Sendable, CaseIterable {
    case flag, packageJSON = "package.json", defaulted = "default"
}

/// One build's settings once the flags and the project's package.json are put together.
public struct BuildSettings: Sendable {
    public var request: BundleRequest
    /// The node runtime's name (`node24`), nil for the default.
    public var node: String?
    /// Setting name (as in package.json's section) → where its value came from.
    public var sources: [String: SettingSource]
    public var config: ProjectConfig?

    /// Reads the section of the package the build starts from — the folder named as the
    /// entry (the current one when none is), or the package that holds the entry file —
    /// and lets every flag given win over it.
    public static func resolve(_ flags: BuildFlags, currentDirectory: String = FileManager.default.currentDirectoryPath,
                               fileSystem fs: FileSystem = LocalFileSystem()) throws -> BuildSettings {
        let named = Path.join(currentDirectory, flags.entry ?? ".")
        let packageDirectory: String? = switch fs.kind(of: named) {
        case .directory: named
        case .file: ModuleResolver(fileSystem: fs).packageScope(of: Path.dirname(named))?.directory
        default: nil
        }
        let config = try packageDirectory.flatMap { try ProjectConfig.load(packageDirectory: $0, fileSystem: fs) }
        var sources: [String: SettingSource] = [:]
        func pick<Value>(_ name: String, _ flag: Value?, _ configured: Value?) -> Value? {
            if let flag { sources[name] = .flag; return flag }
            if let configured { sources[name] = .packageJSON; return configured }
            sources[name] = .defaulted
            return nil
        }
        let base = config?.directory ?? currentDirectory
        // A folder named as the entry is the package whose section says which file it is.
        let entry: String
        if fs.kind(of: named) == .directory, let configured = config?.entry {
            entry = Path.join(base, configured)
            sources["entry"] = .packageJSON
        } else {
            entry = named
            sources["entry"] = flags.entry != nil ? .flag : .defaulted
        }
        let output = pick("output", flags.output.map { Path.join(currentDirectory, $0) }, config?.output.map { Path.join(base, $0) })
        let node = pick("node", flags.node, config?.node).map(NodeRuntime.name(forOption:))
        let runtime = pick("runtime", flags.runtime, config?.runtime) ?? .bundled
        let includes = pick("include", flags.includes.isEmpty ? nil : flags.includes, config?.include)
        let excludes = pick("exclude", flags.excludes.isEmpty ? nil : flags.excludes, config?.exclude)
        let nodeOptions = pick("nodeOptions", flags.nodeOptions.isEmpty ? nil : flags.nodeOptions, config?.nodeOptions) ?? []
        let allowNodeOptions = pick("allowNodeOptions", flags.allowNodeOptions ? true : nil, config?.allowNodeOptions) ?? false
        let portable = pick("portable", flags.portable, config?.portable)
        if portable == true && runtime == .system {
            throw BundleError.invalidConfig(config?.file ?? "the options", "portable needs the bundled runtime (\"runtime\": \"bundled\")")
        }
        var request = BundleRequest(entry: entry, output: output, runtime: runtime, nodeOptions: nodeOptions,
                                    allowNodeOptions: allowNodeOptions, includes: includes ?? [], excludes: excludes ?? [],
                                    portable: portable ?? true)
        if sources["include"] == .packageJSON { request.includeBase = base }
        if sources["exclude"] == .packageJSON { request.excludeBase = base }
        request.settingSources = sources
        request.configFile = config?.file
        return BuildSettings(request: request, node: node, sources: sources, config: config)
    }
}
