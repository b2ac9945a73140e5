import Crypto
import FoundationEssentials
import Glibc
import PayloadFormat

/// The toolkit a one-file `bundle` carries in its own file (layout: `ToolkitRecord`):
/// made by `bundle package-self` (Scripts/package) from a build folder, read at every
/// run straight from the file, nothing extracted. The runtime and base sections go into
/// outputs as they are, so that machine needs neither libnode nor the C libraries'
/// packages, and `bundle` prepares nothing.
public struct CarriedToolkit: Sendable {
    /// The file that carries it.
    public var path: String
    public var nodeVersion: String
    public var runtime: RuntimePack
    public var base: RuntimePack
    /// The libraries of the runtime section (native addons never need them packed).
    public var runtimeLibraries: [String]

    enum Name {
        static let launcher = "bundle-launcher"
        static let shim = "libBundleEmbed.so"
        static let stage = "bundle-stage"
        static let bootstrap = "bootstrap.js"
        static let codeCache = "code-cache.js"
        static let transpiler = "esbuild"
    }

    static let metadataHeader = "bundle-toolkit 1"
    static let toolsZstdLevel: Int32 = 19
    static let executableZstdLevel: Int32 = 19

    // MARK: Reading

    /// The toolkit `path` carries, or nil when it carries none (the file ends where its ELF
    /// image ends). Anything else after the image is damage, reported naming the file.
    static func read(_ path: String) throws -> Toolkit? {
        guard let (file, record) = try open(path) else { return nil }
        defer { file.close() }
        func damaged(_ why: String) -> BundleError { .damaged(path, why) }
        func section(_ section: Section, _ name: String) throws -> [UInt8] {
            let bytes = try file.read(at: section.offset, count: section.compressedSize)
            guard Checksum.crc32(bytes) == section.crc32 else { throw damaged("\(name) section checksum mismatch") }
            return bytes
        }
        let toolsCompressed = try section(record.tools, "tools")
        let tools: [UInt8]
        do {
            tools = try record.tools.codec.decompress(toolsCompressed, uncompressedSize: record.tools.uncompressedSize)
        } catch {
            throw damaged("tools section: \(error)")
        }
        var pieces: [String: [UInt8]] = [:]
        var libraries: [String] = []
        do {
            try tools.withUnsafeBytes { buffer in
                let archive = try ArchiveReader(buffer)
                for entry in archive.entries { pieces[entry.path] = Array(entry.data) }
                let lines = archive.metadataText.split(separator: "\n")
                guard lines.first == Substring(metadataHeader) else { throw FormatError.corrupt("tools metadata has no header") }
                for line in lines.dropFirst() {
                    guard line.hasPrefix("runtime-library ") else { throw FormatError.corrupt("tools metadata line \(line)") }
                    libraries.append(String(line.dropFirst(16)))
                }
            }
        } catch {
            throw damaged("tools section: \(error)")
        }
        func piece(_ name: String) throws -> [UInt8] {
            guard let data = pieces[name] else { throw damaged("tools section has no \(name)") }
            return data
        }
        let runtime = try section(record.runtime, "runtime")
        let base = try section(record.base, "base")
        let carried = CarriedToolkit(
            path: path, nodeVersion: record.nodeVersion,
            runtime: RuntimePack(compressed: runtime, uncompressedSize: record.runtime.uncompressedSize,
                                 digest: record.runtimeDigest, selfContained: true, codec: record.runtime.codec),
            base: RuntimePack(compressed: base, uncompressedSize: record.base.uncompressedSize,
                              digest: record.baseDigest, selfContained: true, codec: record.base.codec),
            runtimeLibraries: libraries)
        let transpiler = pieces[Name.transpiler].map { esbuild in Toolkit.Transpiler { try installedTranspiler(esbuild) } }
        return Toolkit(launcher: try piece(Name.launcher), embedShim: try piece(Name.shim), bootstrap: try piece(Name.bootstrap),
                       codeCacheScript: try piece(Name.codeCache), stage: try piece(Name.stage), origin: .carried(carried),
                       transpiler: transpiler)
    }

    /// The carried esbuild as a file that can run: written once into the cache, named by
    /// its digest, and used again only while it is ours, not writable by others and
    /// still those bytes (it is run). Without a cache directory, a private temporary
    /// folder holds it.
    static func installedTranspiler(_ esbuild: [UInt8]) throws -> String {
        let digest = hexString(SHA256.hash(data: esbuild).prefix(12))
        let folder = PackCache.standard().map { Path.dirname($0.directory) + "/tools" }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("bundle-tools-\(getuid())").path
        let path = folder + "/esbuild-" + digest
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid(), (info.st_mode & 0o022) == 0,
           let existing = FileManager.default.contents(atPath: path), Array(existing) == esbuild {
            return path
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var folderInfo = stat()
            guard lstat(folder, &folderInfo) == 0, (folderInfo.st_mode & S_IFMT) == S_IFDIR, folderInfo.st_uid == getuid(),
                  (folderInfo.st_mode & 0o022) == 0 else {
                throw BundleError.writeFailed(folder, "it is not a folder of this user's that only this user can write to")
            }
            // Close-on-exec: a child another thread forks meanwhile must not keep it open
            // for writing, which would make running it fail (ETXTBSY).
            let temporary = path + ".\(getpid()).tmp"
            unlink(temporary)
            let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
            guard fd >= 0 else { throw BundleError.writeFailed(temporary, String(cString: strerror(errno))) }
            let written = esbuild.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == esbuild.count else { throw BundleError.writeFailed(temporary, "short write") }
            guard rename(temporary, path) == 0 else { throw BundleError.writeFailed(path, String(cString: strerror(errno))) }
        } catch {
            throw BundleError.runtimeUnavailable("cannot write out the carried esbuild: \(error)")
        }
        return path
    }

    /// Only the record, for `bundle --version`: nil when `path` carries nothing.
    public static func record(of path: String) throws -> ToolkitRecord? {
        guard let (file, record) = try open(path) else { return nil }
        file.close()
        return record
    }

    /// The file and its toolkit record, checked; nil when nothing follows the ELF image
    /// that starts the file (a `bundle` that carries nothing).
    private static func open(_ path: String) throws -> (CheckedFile, ToolkitRecord)? {
        let file = try CheckedFile(path)
        do {
            guard let stageEnd = try ELFImage.end(of: file), stageEnd < file.size else {
                file.close()
                return nil
            }
            let record = try carriedRecord(file, path: path, after: stageEnd)
            return (file, record)
        } catch {
            file.close()
            throw error
        }
    }

    /// The records at the end of a one-file bundle (layout: `ToolkitRecord`), when they
    /// agree with each other and the first stage ends before `bundle` starts; anything
    /// else is damage. (The stage checks the compressed `bundle` ELF when it inflates it.)
    private static func carriedRecord(_ file: CheckedFile, path: String, after stageEnd: Int) throws -> ToolkitRecord {
        func damaged(_ why: String) -> BundleError { .damaged(path, why) }
        let footer = ToolkitRecord.size + StageRecord.size + Format.trailerSize
        guard file.size - stageEnd >= footer else {
            throw damaged("\(file.size - stageEnd) bytes follow the executable, too few for a toolkit")
        }
        let recordStart = file.size - footer
        let tail = try file.read(at: recordStart, count: footer)
        func decode<T>(_ range: Range<Int>, _ parse: (UnsafeRawBufferPointer) throws -> T) throws -> T {
            do {
                return try Array(tail[range]).withUnsafeBytes(parse)
            } catch let error as FormatError {
                throw damaged(error.description)
            }
        }
        let trailer = try decode((footer - Format.trailerSize)..<footer) { bytes in
            try Trailer(decoding: bytes, fileSize: file.size)
        }
        guard trailer.flags.contains(.portable) else { throw damaged("the trailer describes no first stage") }
        let stage = try decode(ToolkitRecord.size..<(footer - Format.trailerSize)) { bytes in
            try StageRecord(decoding: bytes, fileSize: file.size, trailer: trailer)
        }
        guard stageEnd <= stage.launcherOffset else { throw damaged("the first stage runs into the bundle executable") }
        let record = try decode(0..<ToolkitRecord.size) { bytes in
            try ToolkitRecord(decoding: bytes, sectionsFrom: stage.base.offset, to: recordStart)
        }
        guard record.base == stage.base, record.baseDigest == stage.baseDigest, record.runtime == trailer.runtime,
              record.runtimeDigest == trailer.runtimeDigest, record.tools == trailer.app else {
            throw damaged("the toolkit record and the trailer disagree")
        }
        return record
    }

    // MARK: Writing

    /// Writes the first stage, `executable` (a `bundle` that carries nothing, compressed),
    /// and `toolkit`'s pieces (from a build folder) with the runtime and base sections
    /// prepared from this system's libraries, atomically to `output`. Returns the size
    /// written.
    public static func write(executable: String, toolkit: Toolkit, to output: String, packCache: PackCache? = PackCache.standard(),
                             progress: (String) -> Void = { _ in }) throws -> Int {
        guard case .directory(let nodeRuntime, _) = toolkit.origin else {
            throw BundleError.runtimeUnavailable("a one-file bundle is made from a build folder, not from another one-file bundle")
        }
        guard let stage = toolkit.stage else { throw BundleError.toolkitMissing(Name.stage) }
        guard let codeCache = toolkit.codeCacheScript else { throw BundleError.toolkitMissing(Name.codeCache) }
        let elf = try LocalFileSystem().contents(of: executable)
        guard try read(executable) == nil else {
            throw BundleError.runtimeUnavailable("\(executable) already carries a toolkit; give a plain bundle executable")
        }

        let runtime = try RuntimePack.selfContained(toolkit: toolkit, cache: packCache, progress: progress)
        let start = try PortableStart.prepare(stage: stage, runtime: nodeRuntime,
                                              cache: packCache.map { PackCache(directory: $0.directory + "/base") })
        let base = start.base
        let libraries = try nodeRuntime.libraryClosure().map(\.name)

        let entries = [
            ArchiveEntry(path: Name.launcher, data: toolkit.launcher), ArchiveEntry(path: Name.shim, data: toolkit.embedShim),
            ArchiveEntry(path: Name.stage, data: stage), ArchiveEntry(path: Name.bootstrap, data: toolkit.bootstrap),
            ArchiveEntry(path: Name.codeCache, data: codeCache),
        ] + (try toolkit.transpiler.map { [ArchiveEntry(path: Name.transpiler, data: try LocalFileSystem().contents(of: try $0.locate()))] } ?? [])
        let metadata = ([metadataHeader] + libraries.map { "runtime-library " + $0 }).map { $0 + "\n" }.joined()
        let tools = try ArchiveWriter.write(entries: entries, metadata: Array(metadata.utf8))
        let toolsCompressed = RuntimePack.compressFrames(tools, level: toolsZstdLevel)

        // Laid out as a portable output with `bundle` for its launcher (ToolkitRecord),
        // compressed: 20 MB → 6 MB, inflated by the stage at every start.
        let compressedELF = elf.withUnsafeBytes { ZstdWriter.compress($0, level: executableZstdLevel, checksummed: true) }
        let stageRecord = start.record(launcherSize: compressedELF.count, storage: .zstd)
        let toolsSection = Section(offset: stageRecord.base.offset + base.compressed.count, compressedSize: toolsCompressed.count,
                                   uncompressedSize: tools.count, crc32: Checksum.crc32(toolsCompressed), codec: .zstd)
        let runtimeSection = Section(offset: toolsSection.offset + toolsCompressed.count, compressedSize: runtime.compressed.count,
                                     uncompressedSize: runtime.uncompressedSize, crc32: Checksum.crc32(runtime.compressed),
                                     codec: runtime.codec)
        let record = ToolkitRecord(tools: toolsSection, runtime: runtimeSection, base: stageRecord.base, runtimeDigest: runtime.digest,
                                   baseDigest: base.digest, nodeVersion: nodeRuntime.nodeVersion)
        let trailer = Trailer(flags: [.portable, .selfContained], runtime: runtimeSection, app: toolsSection,
                              runtimeDigest: runtime.digest)
        let parts = [start.stage, compressedELF, base.compressed, toolsCompressed, runtime.compressed,
                     record.encoded(), stageRecord.encoded(), trailer.encoded()]
        try OutputWriter.write(parts, to: output)
        return parts.reduce(0) { $0 + $1.count }
    }
}

/// The start of an ELF file tells where its image ends: past its program headers'
/// segments, its sections and both header tables. Whatever follows was appended.
enum ELFImage {
    /// Where the image of the ELF file `file` ends; nil when it does not start with a
    /// 64-bit little-endian ELF header, or its tables or segments lie past its end.
    static func end(of file: CheckedFile) throws -> Int? {
        guard file.size >= 64 else { return nil }
        let header = try file.read(at: 0, count: 64)
        guard header.starts(with: [0x7f, 0x45, 0x4c, 0x46, 2, 1]) else { return nil }
        func integer<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, _: T.Type) -> Int {
            Int(clamping: bytes.integer(T.self, at: offset))
        }
        let programHeaders = integer(header, 0x20, UInt64.self), sectionHeaders = integer(header, 0x28, UInt64.self)
        let programEntry = integer(header, 0x36, UInt16.self), programCount = integer(header, 0x38, UInt16.self)
        let sectionEntry = integer(header, 0x3a, UInt16.self), sectionCount = integer(header, 0x3c, UInt16.self)
        guard programEntry >= 56 || programCount == 0, sectionEntry >= 64 || sectionCount == 0,
              programHeaders <= file.size, sectionHeaders <= file.size else { return nil }
        var end = max(64, programHeaders + programEntry * programCount, sectionHeaders + sectionEntry * sectionCount)
        // Headers past the end: a cut-off executable, which carries nothing usable either.
        guard end <= file.size else { return nil }
        let programs = try file.read(at: programHeaders, count: programEntry * programCount)
        for index in 0..<programCount {
            let at = index * programEntry
            end = max(end, integer(programs, at + 8, UInt64.self) &+ integer(programs, at + 32, UInt64.self))
        }
        let sections = try file.read(at: sectionHeaders, count: sectionEntry * sectionCount)
        for index in 0..<sectionCount where integer(sections, index * sectionEntry + 4, UInt32.self) != 8 {  // SHT_NOBITS
            let at = index * sectionEntry
            end = max(end, integer(sections, at + 24, UInt64.self) &+ integer(sections, at + 32, UInt64.self))
        }
        return end <= file.size ? end : nil
    }
}
