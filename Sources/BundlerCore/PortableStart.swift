import Crypto
import FoundationEssentials
import PayloadFormat

/// What makes an output portable ("Portable outputs" in Format.swift): the first stage
/// in front of the launcher, and the base libraries after it, so the output uses none of
/// the host's userland and runs where the C library is older than the runtime needs
/// (Debian 11, Ubuntu 20.04, RHEL 8) or absent (a container `FROM scratch`).
struct PortableStart {
    /// The stage program, then zeros up to the page boundary where the launcher starts.
    var stage: [UInt8]
    /// The base section: `RuntimePack.baseLibraries` of the runtime's own Debian release
    /// (its packages: libnode was built against that C library), in an archive of
    /// `library` entries named by file name.
    var base: RuntimePack

    static let zstdLevel: Int32 = 19
    /// Bump when the base section's content or layout changes.
    static let revision = 1

    /// The stage read from the toolkit, and the base section, prepared once per set of
    /// base libraries (zstd-19 of 5.5 MB takes a few seconds) and kept in `cache`.
    static func prepare(stage: [UInt8], runtime: NodeRuntime, cache: PackCache?) throws -> PortableStart {
        let stage = padded(stage)

        let resolver = runtime.libraryResolver
        let nobody = ELFObject(path: "/", soname: nil, needed: [], runpath: [], rpath: [], buildID: [])
        var libraries: [(name: String, path: String)] = []
        var inputs = "bundle-base-pack \(revision)\ncodec zstd \(zstdLevel) \(Zstd.libraryVersion)\n"
        for name in RuntimePack.baseLibraries.sorted() {
            guard let found = resolver.resolve(name, neededBy: nobody) else {
                throw BundleError.runtimeUnavailable("\(name), which portable outputs carry, is not in \(runtime.name)'s packages (\(runtime.root))")
            }
            libraries.append((name, found))
            inputs += "library \(name) \(found) \(RuntimePack.fileIdentity(found))\n"
        }
        let key = hexString(Array(SHA256.hash(data: Array(inputs.utf8))))
        if let cached = cache?.load(key: key) { return PortableStart(stage: stage, base: cached.pack) }

        let entries = try libraries.map { ArchiveEntry(path: $0.name, kind: .library, data: try LocalFileSystem().contents(of: $0.path)) }
        let archive = try ArchiveWriter.write(entries: entries, metadata: [])
        let compressed = archive.withUnsafeBytes { ZstdWriter.compress($0, level: zstdLevel) }
        let base = RuntimePack.make(archive: archive, compressed: compressed, codec: .zstd, selfContained: true)
        cache?.store(key: key, pack: base, builtinPaths: [], builtins: [])
        return PortableStart(stage: stage, base: base)
    }

    /// The stage followed by zeros up to the next page boundary.
    static func padded(_ stage: [UInt8]) -> [UInt8] {
        stage + [UInt8](repeating: 0, count: (StageRecord.pageSize - stage.count % StageRecord.pageSize) % StageRecord.pageSize)
    }

    /// The record the stage reads, for a launcher of `launcherSize` bytes (stored as
    /// `storage` says) placed right after the stage and followed by the base section.
    func record(launcherSize: Int, storage: StageRecord.LauncherStorage = .mapped) -> StageRecord {
        StageRecord(launcherOffset: stage.count, launcherStorage: storage,
                    base: Section(offset: stage.count + launcherSize, compressedSize: base.compressed.count,
                                  uncompressedSize: base.uncompressedSize, crc32: Checksum.crc32(base.compressed), codec: .zstd),
                    baseDigest: base.digest)
    }
}
