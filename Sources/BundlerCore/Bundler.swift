import Dispatch
import FoundationEssentials
import Glibc
import PayloadFormat

public enum RuntimeMode: String, Sendable, CaseIterable, Codable {
    /// The output carries libnode and every library it needs beyond a bare glibc
    /// system (see `RuntimePack.baseLibraries`): it runs where no node is installed.
    case bundled
    /// The output uses the libnode installed on the machine it runs on (Debian's
    /// libnode108): a few MB instead of ~30.
    case system
}

public struct BundleRequest: Sendable {
    /// A file, or a package directory (its `bin` when it has one, else `main`).
    public var entry: String
    /// Nil: named after the package's bin or the entry file, in the current directory.
    public var output: String?
    public var runtime: RuntimeMode
    /// Overwrite an existing file that is not a bundled app.
    public var force: Bool
    /// Node flags applied at every start (checked by `NodeOptionPolicy`).
    public var nodeOptions: [String]
    /// Let NODE_OPTIONS from the environment apply (off: a shipped app cannot be
    /// changed by the environment it runs in).
    public var allowNodeOptions: Bool
    /// Globs relative to the current directory: files to add, files to leave out.
    public var includes: [String]
    public var excludes: [String]
    /// The folders `includes` and `excludes` are relative to instead (package.json's
    /// section: its package folder); nil: the current directory.
    public var includeBase: String?
    public var excludeBase: String?
    /// Where each build setting came from (`BuildSettings`), recorded for `bundle inspect`,
    /// and the package.json whose "bundle" section gave some of them.
    public var settingSources: [String: SettingSource]?
    public var configFile: String?
    /// With `runtime` bundled: start through the first stage with the base libraries
    /// carried too, so nothing of the host's userland is used (`PortableStart`).
    public var portable: Bool
    /// Node flags baked in without `NodeOptionPolicy`'s check: only for outputs `bundle`
    /// makes for itself (`CodeCache.runScriptBundled`).
    var trustedNodeOptions: [String] = []

    public init(entry: String, output: String? = nil, runtime: RuntimeMode = .bundled, force: Bool = false,
                nodeOptions: [String] = [], allowNodeOptions: Bool = false, includes: [String] = [], excludes: [String] = [],
                portable: Bool = true) {
        self.entry = entry
        self.output = output
        self.runtime = runtime
        self.force = force
        self.nodeOptions = nodeOptions
        self.allowNodeOptions = allowNodeOptions
        self.includes = includes
        self.excludes = excludes
        self.portable = portable
    }
}

public struct BundleResult: Sendable {
    public var output: String
    public var app: CollectedApp
    public var launcherSize: Int
    public var runtimeSize: Int
    public var appSize: Int
    /// Sizes of the bundled files, relative to the virtual root, sorted by path.
    public var fileSizes: [(path: String, size: Int)]
    /// Bytes of V8 code cache stored (before compression), or nil when none could be
    /// made (no node of the packed version found: see `CodeCache`).
    public var codeCacheSize: Int?
    /// The nodes tried for the code cache and skipped, and why (`CodeCache.Outcome`).
    public var codeCacheNotes: [String] = []

    /// The first stage, the base libraries and the stage record (portable outputs), else 0.
    public var portableSize = 0

    public var totalSize: Int { launcherSize + runtimeSize + appSize + portableSize + Format.trailerSize }
}

/// What the app archive records about how it was made (JSON, the archive metadata).
/// The bootstrap reads `entry`; `bundle inspect` shows the rest.
public struct AppMetadata: Codable, Sendable, Equatable {
    /// The entry file, relative to the virtual root.
    public var entry: String
    public var nodeVersion: String?
    public var runtime: RuntimeMode?
    public var nodeOptions: [String]?
    public var allowNodeOptions: Bool?
    /// Why files are in (`FileReason` raw value → paths relative to the virtual root,
    /// sorted); files not listed are `package`. Nil in outputs made before it was recorded.
    public var reasons: [String: [String]]?
    /// Symbolic links the bootstrap shows (`CollectedApp.links`): link path → the path it
    /// points to, both relative to the virtual root. Nil when there are none.
    public var links: [String: String]?
    /// Where each build setting came from: "flag", "package.json" or "default" by the
    /// setting's name in package.json's "bundle" section. Nil in outputs made before.
    public var settingSources: [String: SettingSource]?
    /// Set when files were transpiled from TypeScript: the bootstrap turns node's source
    /// maps on, for node_modules too only when the TypeScript was there.
    public var sourceMaps: SourceMapScope?
    /// Imports resolved at bundle time through tsconfig `paths` (`CollectedApp.aliases`):
    /// importing file → specifier → file, relative to the virtual root. Nil when none.
    public var aliases: [String: [String: String]]?

    public enum SourceMapScope: String, Codable, Sendable {
        case app, all
    }
    /// The node flags a worker thread gets from the process, never in its execArgv
    /// (`NodeOptionPolicy.processWide`), sorted. Nil in outputs made before it was recorded.
    public var processWideNodeOptions: [String]?

    /// Why each file (relative to the virtual root) is in; nil when not recorded. Files not
    /// listed are `package`.
    public var reasonsByPath: [String: FileReason]? {
        reasons.map { reasons in
            var byPath: [String: FileReason] = [:]
            for (name, paths) in reasons {
                guard let reason = FileReason(rawValue: name) else { continue }
                for path in paths { byPath[path] = reason }
            }
            return byPath
        }
    }
}

public struct Bundler {
    public static let bootstrapPath = ".bundle-bootstrap.js"
    public static let launchOptionsPath = ".bundle-launch"
    static let appZstdLevel: Int32 = 9
    /// The launcher inflates the app section a frame at a time, when the app first reads
    /// a file in it (Sources/Launcher/LazyArchive.swift): smaller frames inflate less that
    /// the app does not read, and compress a little worse. Measured on the TypeScript
    /// app (69 MB archive): 8 MiB frames 45.03 MB output, 164 MB peak RSS; 2 MiB 45.42 MB,
    /// 122 MB; 1 MiB 45.75 MB, 121 MB; 512 KiB 46.20 MB, 120 MB.
    static let appFrameSize = 2 << 20
    /// Files from this size on are not read into memory but streamed into the output
    /// (`FileSystem.streamed`), at the cost of reading them twice; smaller ones are
    /// cheaper to hold than to read again.
    static let streamedFileSize = 1 << 20

    /// The app's files as bundled: the disk's, TypeScript transpiled (`TypeScriptFiles`).
    let fs: FileSystem
    let typeScript: TypeScriptFiles
    let toolkit: Toolkit
    /// Where prepared self-contained runtime packs are kept between runs (nil: none).
    let packCache: PackCache?
    let progress: (String) -> Void

    public init(toolkit: Toolkit, fileSystem: FileSystem = LocalFileSystem(), packCache: PackCache? = PackCache.standard(),
                progress: @escaping (String) -> Void = { _ in }) {
        self.toolkit = toolkit
        typeScript = TypeScriptFiles(over: fileSystem, transpiler: toolkit.transpiler, nodeMajor: NodeRuntime.major(of: toolkit.nodeVersion))
        fs = typeScript
        self.packCache = packCache
        self.progress = progress
    }

    /// This machine's glibc version ("2.36"), from confstr(_CS_GNU_LIBC_VERSION).
    static let libcVersion: String = {
        var buffer = [CChar](repeating: 0, count: 64)
        guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return "0" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: " ").last.map(String.init) ?? "0"
    }()

    public func bundle(_ request: BundleRequest) throws -> BundleResult {
        for option in request.nodeOptions {
            if let problem = NodeOptionPolicy.problem(with: option, nodeMajor: NodeRuntime.major(of: toolkit.nodeVersion)) {
                if request.settingSources?["nodeOptions"] == .packageJSON, let config = request.configFile {
                    throw BundleError.invalidConfig(config, "\"bundle.nodeOptions\": \(problem)")
                }
                throw BundleError.invalidNodeOption(problem)
            }
        }
        let includes = try request.includes.map(Glob.init)
        let excludes = try request.excludes.map(Glob.init)
        let (entry, defaultName) = try resolveEntry(Self.absolute(request.entry))
        let output = Self.absolute(request.output ?? defaultName)
        try checkOutput(output, force: request.force)
        var app = try collect(entry: entry, includes: includes, excludes: excludes, output: output, request: request)

        var entries = try fileEntries(&app)
        let fileSizes = entries.map { ($0.path, $0.size) }
        var codeCaches: [String: [UInt8]]?
        // Compiling with node (0.1–0.2 s) overlaps with loading the runtime below.
        let compilation = toolkit.codeCacheScript == nil ? nil : Pending { [app, entries, toolkit] in
            Self.compileCommonJS(app, entries: entries, toolkit: toolkit)
        }
        // Native addons (.node) and the libraries they need: see NativeAddons.swift.
        try NativeAddons.pack(&entries, root: app.root, toolkit: toolkit, diagnostics: &app.diagnostics)
        entries.append(ArchiveEntry(path: Self.bootstrapPath, kind: .bootstrap, data: toolkit.bootstrap))
        var launch = (request.nodeOptions + request.trustedNodeOptions).map { "node-option \($0)\n" }.joined()
        if request.allowNodeOptions { launch += "allow-node-options\n" }
        // node 24's shim starts from node's built-in snapshot: the launcher need not make one.
        if NodeRuntime.major(of: toolkit.nodeVersion) >= 24 { launch += "builtin-snapshot\n" }
        if !(request.portable && request.runtime == .bundled), case .directory(let runtime, _) = toolkit.origin,
           let required = try runtime.requiredGlibc() {
            // The launcher checks it before loading anything, to say so in one line.
            launch += "requires-glibc \(required)\n"
            let here = Self.libcVersion
            if GlibcVersion.precedes(here, required) {
                app.diagnostics.append(Diagnostic(file: output, line: 0, message:
                    "node \(runtime.nodeVersion) needs glibc \(required) or newer and this machine has \(here): the output will not start here (a portable output, the default, carries its own C library)"))
            }
        }
        entries.append(ArchiveEntry(path: Self.launchOptionsPath, kind: .launchOptions, data: Array(launch.utf8)))

        let runtime = switch request.runtime {
        case .system: try RuntimePack.system(toolkit: toolkit)
        case .bundled: try RuntimePack.selfContained(toolkit: toolkit, cache: packCache, progress: progress)
        }
        let launcher = toolkit.launcher
        let portable = try portableStart(request)
        let stage = portable?.stage ?? [], baseLibraries = portable?.base.compressed ?? []
        let runtimeOffset = stage.count + launcher.count + baseLibraries.count
        let compiledOutcome = compilation?.wait()
        if let compiled = compiledOutcome?.compilation {
            codeCaches = compiled.caches
            for (relative, cache) in compiled.caches {
                entries.append(ArchiveEntry(path: CodeCache.path(for: relative), kind: .codeCache, data: cache))
            }
            for error in compiled.syntaxErrors {
                app.diagnostics.append(Diagnostic(file: Path.join(app.root, error.relative), line: error.line,
                                                  message: "SyntaxError: \(error.message) (node will throw it when it loads this file)"))
            }
        }

        var metadata = AppMetadata(entry: Path.relative(entry, to: app.root), nodeVersion: toolkit.nodeVersion, runtime: request.runtime,
                                   nodeOptions: request.nodeOptions, allowNodeOptions: request.allowNodeOptions)
        let written = Set(fileSizes.map(\.0))
        metadata.reasons = Self.recordedReasons(app, written: written)
        metadata.settingSources = request.settingSources
        let transpiled = typeScript.transpiledFiles.filter { written.contains(Path.relative($0, to: app.root)) }
        if !transpiled.isEmpty {
            metadata.sourceMaps = transpiled.contains { $0.contains("/node_modules/") } ? .all : .app
        }
        let aliases = app.aliases.filter { written.contains(Path.relative($0.key, to: app.root)) }
        if !aliases.isEmpty {
            metadata.aliases = Dictionary(uniqueKeysWithValues: aliases.map { importer, names in
                (Path.relative(importer, to: app.root), names.mapValues { Path.relative($0, to: app.root) })
            })
        }
        metadata.processWideNodeOptions = NodeOptionPolicy.processWide.sorted()
        let links = app.links.filter { Path.isInside($0.key, app.root) && Path.isInside($0.value, app.root) && $0.key != app.root }
        if !links.isEmpty {
            metadata.links = Dictionary(uniqueKeysWithValues: links.map { (Path.relative($0.key, to: app.root), Path.relative($0.value, to: app.root)) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var flags: Trailer.Flags = runtime.selfContained ? .selfContained : []
        if portable != nil { flags.insert(.portable) }
        let record = portable?.record(launcherSize: launcher.count).encoded() ?? []
        var appSize = 0
        try OutputWriter.write(to: output) { file in
            for part in [stage, launcher, baseLibraries, runtime.compressed] { try file.append(part) }
            // zstd level 9 in independent frames: measured on the TypeScript package (69 MB),
            // 9.5 MB in 1.5 s of one core where zlib-9 gives 11.8 MB in 8.9 s, and it
            // inflates about 4× faster at every start, on several threads.
            // Checksummed frames and a frame index: the launcher finds and checks each frame
            // when it inflates it, not the whole section at every start (Format.swift).
            let app = FrameCompressor(level: Self.appZstdLevel, frameSize: Self.appFrameSize, indexed: true) { try file.append($0) }
            try ArchiveWriter.stream(entries: entries, metadata: Array(try encoder.encode(metadata)), to: app.append)
            try app.finish()
            let runtimeSection = Section(offset: runtimeOffset, compressedSize: runtime.compressed.count,
                                         uncompressedSize: runtime.uncompressedSize, crc32: Checksum.crc32(runtime.compressed),
                                         codec: runtime.codec)
            let appSection = Section(offset: runtimeOffset + runtime.compressed.count, compressedSize: app.outputSize,
                                     uncompressedSize: app.inputSize, crc32: app.crc32, codec: .zstd)
            let trailer = Trailer(flags: flags, runtime: runtimeSection, app: appSection, runtimeDigest: runtime.digest)
            try file.append(record)
            try file.append(trailer.encoded())
            appSize = app.outputSize
        }

        var result = BundleResult(output: output, app: app, launcherSize: launcher.count, runtimeSize: runtime.compressed.count,
                                  appSize: appSize, fileSizes: fileSizes,
                                  codeCacheSize: codeCaches.map { $0.values.reduce(0) { $0 + $1.count } },
                                  codeCacheNotes: compiledOutcome?.skipped ?? [])
        result.portableSize = stage.count + baseLibraries.count + record.count
        return result
    }

    /// The files a bundle of `request` would hold, and why, found without writing anything
    /// (`--dry-run`). Sizes are the files' on disk.
    public func plan(_ request: BundleRequest) throws -> CollectedApp {
        let includes = try request.includes.map(Glob.init)
        let excludes = try request.excludes.map(Glob.init)
        let (entry, defaultName) = try resolveEntry(Self.absolute(request.entry))
        return try collect(entry: entry, includes: includes, excludes: excludes, output: Self.absolute(request.output ?? defaultName),
                           request: request)
    }

    /// The app's files from its entry and the options, with a warning for each executable
    /// left out. `output`: the file to write, which a previous build in the app's folder
    /// is (left out silently: it is being replaced).
    private func collect(entry: String, includes: [Glob], excludes: [Glob], output: String, request: BundleRequest) throws -> CollectedApp {
        let base = request.includeBase ?? FileManager.default.currentDirectoryPath
        let excludeBase = request.excludeBase ?? FileManager.default.currentDirectoryPath
        let collector = AppCollector(typeScript: typeScript, canonicalPath: Self.canonical, currentDirectory: FileManager.default.currentDirectoryPath)
        let included = try matchingFiles(includes, under: base, configuredIn: request.includeBase == nil ? nil : request.configFile)
        var app = try collector.collect(entry: entry, including: included.files, named: included.named)
        let excluded = Set(app.files.filter { file in file != entry && excludes.contains { $0.matches(Path.relative(file, to: excludeBase)) } })
        app.files.removeAll { excluded.contains($0) }
        for file in excluded { app.reasons[file] = nil }
        // An output inside the app's folder is either a previous build (left out) or
        // one of the app's own files (never overwritten, even with --force).
        let outputIdentity = Self.canonical(output)
        if let clash = app.files.first(where: { Self.canonical($0) == outputIdentity }) {
            guard OutputWriter.isBundledApp(output) else { throw BundleError.outputIsInput(output) }
            app.files.removeAll { $0 == clash }
            app.reasons[clash] = nil
        }
        app.leftOut.removeAll { Self.canonical($0.path) == outputIdentity }
        for file in app.leftOut {
            guard case .executable(let kind) = file.kind else { continue }
            app.diagnostics.append(Diagnostic(file: file.path, line: 1, message:
                "left out: \(kind) of \(ByteCount.text(file.size)), not code the app loads; to ship it: \(file.includeOption(from: base))"))
        }
        return app
    }

    /// The non-`package` reasons of the files written, for the archive's metadata.
    private static func recordedReasons(_ app: CollectedApp, written: Set<String>) -> [String: [String]] {
        var reasons: [String: [String]] = [:]
        for (file, reason) in app.reasons where reason != .package {
            let relative = Path.relative(file, to: app.root)
            if written.contains(relative) { reasons[reason.rawValue, default: []].append(relative) }
        }
        return reasons.mapValues { $0.sorted() }
    }

    /// The app's files as archive entries, paths relative to the app's root. Code
    /// compiled here and addons parsed here are read whole; other files from
    /// `streamedFileSize` on are read only while the output is written.
    private func fileEntries(_ app: inout CollectedApp) throws -> [ArchiveEntry] {
        var entries: [ArchiveEntry] = []
        for file in app.files {
            let relative = Path.relative(file, to: app.root)
            let entry: ArchiveEntry, ending: [UInt8]
            // As npm packs files: the build machine's umask does not change the output.
            let mode: UInt16 = fs.isExecutable(file) ? 0o755 : 0o644
            if let size = fs.size(of: file), size >= Self.streamedFileSize, !app.reachedCommonJS.contains(file), !file.hasSuffix(".node") {
                let streamed = try fs.streamed(file)
                (entry, ending) = (ArchiveEntry(path: relative, content: .streamed(streamed.bytes), mode: mode), streamed.ending)
            } else {
                let data = try fs.contents(of: file)
                (entry, ending) = (ArchiveEntry(path: relative, data: data, mode: mode), Array(data.suffix(8)))
            }
            if entry.size >= Format.trailerSize, ending == Format.trailerEndMagic {
                app.diagnostics.append(Diagnostic(file: file, line: 1, message: "skipped: it is a bundled app itself"))
                continue
            }
            entries.append(entry)
        }
        return entries
    }

    /// The stage and base libraries when the output is to be portable (only a bundled
    /// runtime can be: a system one needs the host's libraries).
    private func portableStart(_ request: BundleRequest) throws -> PortableStart? {
        guard request.portable, request.runtime == .bundled else { return nil }
        guard let stage = toolkit.stage else { throw BundleError.toolkitMissing("bundle-stage") }
        if let carried = toolkit.carried { return PortableStart(stage: PortableStart.padded(stage), base: carried.base) }
        guard case .directory(let runtime, _) = toolkit.origin else { throw BundleError.toolkitMissing("node runtime") }
        return try PortableStart.prepare(stage: stage, runtime: runtime, cache: packCache.map { PackCache(directory: $0.directory + "/base") })
    }

    /// The app's reached CommonJS files compiled at bundle time (`CodeCache`): syntax
    /// errors, and code caches for those that can use one.
    private static func compileCommonJS(_ app: CollectedApp, entries: [ArchiveEntry], toolkit: Toolkit) -> CodeCache.Outcome {
        let reached = Set(app.reachedCommonJS.map { Path.relative($0, to: app.root) })
        let importers = Set(app.dynamicImporters.map { Path.relative($0, to: app.root) })
        // Reached CommonJS files are never streamed (`bundle`): their bytes are here.
        let files = entries.compactMap { entry in
            entry.bytes.flatMap { data in
                entry.kind == .file && reached.contains(entry.path)
                    ? (relative: entry.path, data: data, wantsCache: !importers.contains(entry.path) && CodeCache.wanted(size: data.count)
                        // TypeScript compiles node's way, which reads its source map (code-cache.js).
                        && !TypeScriptFiles.isTypeScript(entry.path))
                    : nil
            }
        }
        return files.isEmpty ? CodeCache.Outcome(compilation: CodeCache.Compilation()) : CodeCache.compile(files, toolkit: toolkit)
    }

    /// The entry file and the output name to use when -o is not given.
    private func resolveEntry(_ path: String) throws -> (file: String, defaultName: String) {
        switch fs.kind(of: path) {
        case nil: throw BundleError.entryMissing(path)
        case .special: throw BundleError.notARegularFile("entry", path)
        case .file:
            _ = try fs.contents(of: path)  // unreadable → a clear error now, not later
            let name = Path.basename(path)
            return (path, name.split(separator: ".").count > 1 ? String(name[..<name.lastIndex(of: ".")!]) : name + ".app")
        case .directory:
            let resolver = ModuleResolver(fileSystem: fs)
            let json = resolver.packageJSON(path)
            let packageName = (json?["name"] as? String).map { Path.basename($0) } ?? Path.basename(path)
            if let bin = json?["bin"] {
                let bins: [String: String] = (bin as? String).map { [packageName: $0] } ?? (bin as? [String: String] ?? [:])
                guard bins.count == 1, let (name, target) = bins.first else {
                    throw BundleError.ambiguousBin(path, bins.keys.sorted())
                }
                guard let file = resolver.resolvePath(Path.join(path, target)) else { throw BundleError.entryMissing(Path.join(path, target)) }
                return (file, name)
            }
            guard let file = resolver.resolvePath(path) else { throw BundleError.entryIsDirectory(path) }
            return (file, packageName)
        }
    }

    /// The files `--include` patterns match, and those of them a pattern names explicitly
    /// (`Glob.namesFilesExplicitly`: enough to ship a secret or an executable).
    private func matchingFiles(_ globs: [Glob], under base: String, configuredIn config: String?) throws -> (files: [String], named: Set<String>) {
        var files: [String] = []
        var named: Set<String> = []
        for glob in globs {
            let start = glob.literalPrefix.isEmpty ? base : Path.join(base, glob.literalPrefix)
            let candidates = fs.kind(of: start) == .file ? [start] : fs.filesBelow(start, canonical: Self.canonical, packages: true)
            let matched = candidates.filter { glob.matches(Path.relative($0, to: base)) }
            guard !matched.isEmpty else {
                if let config { throw BundleError.invalidConfig(config, "\"bundle.include\" pattern '\(glob.pattern)' matches no file in \(base)") }
                throw BundleError.includeMatchedNothing(glob.pattern)
            }
            files += matched
            if glob.namesFilesExplicitly { named.formUnion(matched) }
        }
        return (files, named)
    }

    private func checkOutput(_ output: String, force: Bool) throws {
        guard fs.kind(of: Path.dirname(output)) == .directory else { throw BundleError.outputDirectoryMissing(Path.dirname(output)) }
        switch fs.kind(of: output) {
        case .directory: throw BundleError.outputIsDirectory(output)
        case .special: throw BundleError.notARegularFile("output", output)
        case .file where !force && !OutputWriter.isBundledApp(output): throw BundleError.outputExists(output)
        default: break
        }
    }

    static func absolute(_ path: String) -> String {
        Path.join(FileManager.default.currentDirectoryPath, path)
    }

    static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A value computed on another thread; `wait()` returns it once it is there.
final class Pending<Value>: @unchecked Sendable {
    private var value: Value?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }

    func wait() -> Value {
        done.wait()
        done.signal()  // a second wait returns at once
        return value!
    }
}
