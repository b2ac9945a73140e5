import Foundation
import PayloadFormat

public enum RuntimeMode: String, Sendable, CaseIterable {
    /// The output carries libnode and every library it needs beyond a bare glibc
    /// system (see `RuntimePack.baseLibraries`): it runs where no node is installed.
    case bundled
    /// The output uses the libnode installed on the machine it runs on (Debian's
    /// libnode108): a few MB instead of ~30.
    case system
}

public struct BundleRequest: Sendable {
    public var entry: String
    public var output: String
    public var runtime: RuntimeMode
    /// Overwrite an existing file that is not a bundled app.
    public var force: Bool

    public init(entry: String, output: String, runtime: RuntimeMode = .bundled, force: Bool = false) {
        self.entry = entry
        self.output = output
        self.runtime = runtime
        self.force = force
    }
}

public struct BundleResult: Sendable {
    public var output: String
    public var app: CollectedApp
    public var launcherSize: Int
    public var runtimeSize: Int
    public var appSize: Int
    /// Sizes of the bundled files, relative paths.
    public var fileSizes: [(path: String, size: Int)]

    public var totalSize: Int { launcherSize + runtimeSize + appSize + Format.trailerSize }
}

/// The metadata the app archive carries for the bootstrap.
public struct AppMetadata: Codable, Sendable {
    /// The entry file, relative to the virtual root.
    public var entry: String
}

public struct Bundler {
    public static let bootstrapPath = ".bundle-bootstrap.js"

    let fs: FileSystem
    let toolkit: Toolkit
    /// Where prepared self-contained runtime packs are kept between runs (nil: none).
    let packCache: PackCache?

    public init(toolkit: Toolkit, fileSystem: FileSystem = LocalFileSystem(), packCache: PackCache? = PackCache.standard()) {
        self.toolkit = toolkit
        fs = fileSystem
        self.packCache = packCache
    }

    public func bundle(_ request: BundleRequest) throws -> BundleResult {
        let entry = try resolveEntry(Self.absolute(request.entry))
        let output = Self.absolute(request.output)
        try checkOutput(output, force: request.force)

        let collector = AppCollector(fileSystem: fs, canonicalPath: Self.canonical)
        var app = try collector.collect(entry: entry)
        // An output inside the app's folder is either a previous build (left out) or
        // one of the app's own files (never overwritten, even with --force).
        let outputIdentity = Self.canonical(output)
        if let clash = app.files.first(where: { Self.canonical($0) == outputIdentity }) {
            guard OutputWriter.isBundledApp(output) else { throw BundleError.outputIsInput(output) }
            app.files.removeAll { $0 == clash }
        }

        var entries: [ArchiveEntry] = []
        var fileSizes: [(String, Int)] = []
        for file in app.files {
            let data = try fs.contents(of: file)
            if data.count >= Format.trailerSize, Array(data.suffix(8)) == Format.trailerEndMagic {
                app.diagnostics.append(Diagnostic(file: file, line: 1, message: "skipped: it is a bundled app itself"))
                continue
            }
            let relative = Path.relative(file, to: app.root)
            entries.append(ArchiveEntry(path: relative, data: data))
            fileSizes.append((relative, data.count))
        }
        entries.append(ArchiveEntry(path: Self.bootstrapPath, kind: .bootstrap, data: try fs.contents(of: toolkit.bootstrap)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let metadata = try encoder.encode(AppMetadata(entry: Path.relative(entry, to: app.root)))
        let archive = try ArchiveWriter.write(entries: entries, metadata: Array(metadata))
        let appCompressed = Zlib.compress(archive)

        let runtime = switch request.runtime {
        case .system: try RuntimePack.system(toolkit: toolkit, fileSystem: fs)
        case .bundled: try RuntimePack.selfContained(toolkit: toolkit, cache: packCache)
        }
        let launcher = try fs.contents(of: toolkit.launcher)
        let runtimeSection = Section(offset: launcher.count, compressedSize: runtime.compressed.count,
                                     uncompressedSize: runtime.uncompressedSize, crc32: Checksum.crc32(runtime.compressed),
                                     codec: runtime.codec)
        let appSection = Section(offset: launcher.count + runtime.compressed.count, compressedSize: appCompressed.count,
                                 uncompressedSize: archive.count, crc32: Checksum.crc32(appCompressed))
        let trailer = Trailer(flags: runtime.selfContained ? .selfContained : [], runtime: runtimeSection,
                              app: appSection, runtimeDigest: runtime.digest)
        try OutputWriter.write([launcher, runtime.compressed, appCompressed, trailer.encoded()], to: output)

        return BundleResult(output: output, app: app, launcherSize: launcher.count, runtimeSize: runtime.compressed.count,
                            appSize: appCompressed.count, fileSizes: fileSizes)
    }

    private func resolveEntry(_ path: String) throws -> String {
        switch fs.kind(of: path) {
        case nil: throw BundleError.entryMissing(path)
        case .directory:
            guard let file = ModuleResolver(fileSystem: fs).resolvePath(path) else { throw BundleError.entryIsDirectory(path) }
            return file
        case .file:
            _ = try fs.contents(of: path)  // unreadable → a clear error now, not later
            return path
        }
    }

    private func checkOutput(_ output: String, force: Bool) throws {
        guard fs.kind(of: Path.dirname(output)) == .directory else { throw BundleError.outputDirectoryMissing(Path.dirname(output)) }
        switch fs.kind(of: output) {
        case .directory: throw BundleError.outputIsDirectory(output)
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
