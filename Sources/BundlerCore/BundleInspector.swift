import FoundationEssentials
import Glibc
import PayloadFormat

/// What `bundle inspect` shows about a bundled app.
public struct Inspection: Sendable {
    public var path: String
    public var formatVersion: UInt16
    public var selfContained: Bool
    /// Starts through the first stage with the base libraries it carries.
    public var portable: Bool
    public var launcherSize: Int
    public var runtimeSize: Int
    public var appSize: Int
    public var metadata: AppMetadata
    /// App files (relative to the virtual root) and their sizes, sorted by path.
    public var files: [(path: String, size: Int)]
}

/// Reads bundled apps back: for `bundle inspect` and `bundle extract`. The app section is
/// read from the file a piece at a time and inflated as it streams by (`SectionInflater`),
/// so memory does not grow with the app: inspect inflates only the archive's index.
public enum BundleInspector {
    public static func inspect(_ path: String) throws -> Inspection {
        var inspection: Inspection?
        try readApp(path) { trailer, index, start in
            let metadata: AppMetadata
            do {
                metadata = try JSONDecoder().decode(AppMetadata.self, from: Data(start[index.metadata]))
            } catch {
                throw FormatError.corrupt("the app's metadata is not readable")
            }
            inspection = Inspection(
                path: path, formatVersion: Format.version, selfContained: trailer.flags.contains(.selfContained),
                portable: trailer.flags.contains(.portable), launcherSize: trailer.runtime.offset, runtimeSize: trailer.runtime.compressedSize,
                appSize: trailer.app.compressedSize, metadata: metadata,
                files: index.records.filter { $0.kind.isAppFile }.map { ($0.path, $0.data.count) })
        }
        return inspection!
    }

    /// Writes the app's files into `directory`, which must not exist yet or be empty,
    /// so no link already inside it can redirect a write elsewhere.
    public static func extract(_ path: String, to directory: String) throws -> [String] {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory),
           (try? manager.contentsOfDirectory(atPath: directory))?.isEmpty != true {
            throw BundleError.extractTargetNotEmpty(directory)
        }
        var files: ExtractedFiles?
        var links: [String: String] = [:]
        try readApp(path, index: { _, index, start in
            // Only now: a damaged app leaves no directory behind.
            do { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw BundleError.writeFailed(directory, "\(error)")
            }
            files = try ExtractedFiles(index.records.filter { $0.kind.isAppFile }, in: directory)
            links = (try? JSONDecoder().decode(AppMetadata.self, from: Data(start[index.metadata])))?.links ?? [:]
        }, data: { offset, piece in
            try files!.write(piece, at: offset)
        })
        // The links the app passed through (pnpm's), as relative links beside the files.
        for (link, target) in links.sorted(by: { $0.key < $1.key }) {
            guard (try? ArchiveWriter.validate(path: link, kind: .file)) != nil, (try? ArchiveWriter.validate(path: target, kind: .file)) != nil else { continue }
            let linkPath = directory + "/" + link
            let relativeTarget = Path.relativeLink(from: Path.dirname("/" + link), to: "/" + target)
            try? manager.createDirectory(atPath: Path.dirname(linkPath), withIntermediateDirectories: true)
            guard symlink(relativeTarget, linkPath) == 0 else { throw BundleError.writeFailed(linkPath, String(cString: strerror(errno))) }
        }
        return files!.paths + links.keys.sorted()
    }

    /// Reads the app section of the bundled app at `path`: checks its checksum (nothing
    /// is taken from a damaged app), then inflates it in order. `index` gets the archive's
    /// index and the archive's first bytes (at least the index); `data`, when given, then
    /// every piece of the archive from its start with its offset. Without `data` the
    /// rest is not inflated.
    private static func readApp(_ path: String, index onIndex: (Trailer, ArchiveIndex, UnsafeRawBufferPointer) throws -> Void,
                                data onData: ((Int, UnsafeRawBufferPointer) throws -> Void)? = nil) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw BundleError.inputMissing(path) }
        guard OutputWriter.isBundledApp(path) else { throw BundleError.notABundle(path) }
        let file = try CheckedFile(path)
        defer { file.close() }
        do {
            let end = try file.read(at: file.size - Format.trailerSize, count: Format.trailerSize)
            let trailer = try end.withUnsafeBytes { buffer throws(FormatError) in try Trailer(decoding: buffer, fileSize: file.size) }
            let section = trailer.app
            var crc: UInt32 = 0
            try readSection(file, section) { piece in
                crc = Checksum.crc32(piece, continuing: crc)
                return true
            }
            guard crc == section.crc32 else { throw FormatError.corrupt("app section checksum mismatch") }

            let inflater = try SectionInflater(codec: section.codec)
            var start: [UInt8] = []
            var index: ArchiveIndex?
            var offset = 0
            let finished = try readSection(file, section) { compressed in
                try inflater.feed(compressed) { piece in
                    guard piece.count <= section.uncompressedSize - offset else {
                        throw FormatError.corrupt("app section inflates to more than its recorded size")
                    }
                    defer { offset += piece.count }
                    if index != nil {
                        try onData?(offset, piece)
                        return true
                    }
                    start.append(contentsOf: piece)
                    index = try Self.index(in: start, archiveSize: section.uncompressedSize)
                    if index == nil { return true }
                    try start.withUnsafeBytes { try onIndex(trailer, index!, $0) }
                    guard let onData else { return false }
                    try start.withUnsafeBytes { try onData(0, $0) }
                    start = []
                    return true
                }
            }
            guard finished else { return }
            try inflater.finish()
            guard offset == section.uncompressedSize, index != nil else {
                throw FormatError.corrupt("app section inflates to \(offset) bytes, not its recorded \(section.uncompressedSize)")
            }
        } catch let error as FormatError {
            throw BundleError.damaged(path, error.description)
        }
    }

    /// The archive's index once `start` (its first bytes) holds all of it; nil while the
    /// index goes on in bytes still to come.
    private static func index(in start: [UInt8], archiveSize: Int) throws(FormatError) -> ArchiveIndex? {
        let parsed = start.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try ArchiveIndex(buffer, archiveSize: archiveSize) }
        }
        if case .failure(.truncated) = parsed, start.count < archiveSize { return nil }
        return try parsed.get()
    }

    /// Hands the compressed bytes of `section` to `body` a megabyte at a time, until it
    /// returns false (then this returns false).
    @discardableResult
    private static func readSection(_ file: CheckedFile, _ section: Section,
                                    _ body: (UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        var offset = section.offset
        let end = section.offset + section.compressedSize
        while offset < end {
            let piece = try file.read(at: offset, count: min(1 << 20, end - offset))
            guard try piece.withUnsafeBytes(body) else { return false }
            offset += piece.count
        }
        return true
    }
}

/// The files `bundle extract` writes, filled in as the archive streams by. Each record's
/// bytes are a range of the archive; ranges may be shared (identical files are stored
/// once) and, in a hand-made archive, overlap anyhow: every piece goes to each file
/// whose range it meets.
private final class ExtractedFiles {
    let directory: String
    /// By where their bytes start.
    private let records: [ArchiveIndex.Record]
    private var next = 0
    /// Files whose range has begun and not ended, with their open descriptors.
    private var writing: [(record: ArchiveIndex.Record, fd: Int32)] = []
    /// Relative paths, in archive order.
    let paths: [String]

    /// Creates every file, empty, so empty ones exist too and no name is taken twice.
    init(_ records: [ArchiveIndex.Record], in directory: String) throws {
        self.directory = directory
        paths = records.map(\.path)
        for record in records {
            let target = directory + "/" + record.path  // relative, no '..' (checked by ArchiveIndex)
            do {
                try FileManager.default.createDirectory(atPath: Path.dirname(target), withIntermediateDirectories: true)
            } catch {
                throw BundleError.writeFailed(target, "cannot create its directory")
            }
            // The permission bits the archive recorded (0644 or 0755), under the umask as any new file.
            let fd = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, record.mode == 0 ? 0o644 : mode_t(record.mode))
            guard fd >= 0 else { throw BundleError.writeFailed(target, String(cString: strerror(errno))) }
            close(fd)
        }
        self.records = records.filter { !$0.data.isEmpty }.sorted { $0.data.lowerBound < $1.data.lowerBound }
    }

    func write(_ piece: UnsafeRawBufferPointer, at offset: Int) throws {
        let end = offset + piece.count
        while next < records.count, records[next].data.lowerBound < end {
            let target = directory + "/" + records[next].path
            let fd = Glibc.open(target, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw BundleError.writeFailed(target, String(cString: strerror(errno))) }
            writing.append((records[next], fd))
            next += 1
        }
        for (record, fd) in writing {
            let overlap = max(offset, record.data.lowerBound)..<min(end, record.data.upperBound)
            guard !overlap.isEmpty else { continue }
            var done = 0
            while done < overlap.count {
                let written = pwrite(fd, piece.baseAddress! + overlap.lowerBound - offset + done, overlap.count - done,
                                     off_t(overlap.lowerBound - record.data.lowerBound + done))
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw BundleError.writeFailed(directory + "/" + record.path, String(cString: strerror(errno))) }
                done += written
            }
        }
        for (record, fd) in writing where record.data.upperBound <= end { close(fd) }
        writing.removeAll { $0.record.data.upperBound <= end }
    }

    deinit {
        for (_, fd) in writing { close(fd) }
    }
}
