import Foundation
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

/// Reads bundled apps back: for `bundle inspect` and `bundle extract`.
public enum BundleInspector {
    public static func inspect(_ path: String) throws -> Inspection {
        try withApp(path) { trailer, archive in
            let metadata = try JSONDecoder().decode(AppMetadata.self, from: Data(archive.metadata))
            return Inspection(
                path: path, formatVersion: Format.version, selfContained: trailer.flags.contains(.selfContained),
                portable: trailer.flags.contains(.portable), launcherSize: trailer.runtime.offset, runtimeSize: trailer.runtime.compressedSize,
                appSize: trailer.app.compressedSize, metadata: metadata,
                files: archive.entries.filter { $0.kind.isAppFile }.map { ($0.path, $0.data.count) })
        }
    }

    /// Writes the app's files into `directory`, which must not exist yet or be empty,
    /// so no link already inside it can redirect a write elsewhere.
    public static func extract(_ path: String, to directory: String) throws -> [String] {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory) {
            guard (try? manager.contentsOfDirectory(atPath: directory))?.isEmpty == true else {
                throw BundleError.extractTargetNotEmpty(directory)
            }
        } else {
            do { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw BundleError.writeFailed(directory, error.localizedDescription)
            }
        }
        return try withApp(path) { _, archive in
            var written: [String] = []
            for entry in archive.entries where entry.kind.isAppFile {
                // Archive paths are relative with no '..' (checked by the reader).
                let target = directory + "/" + entry.path
                try manager.createDirectory(atPath: Path.dirname(target), withIntermediateDirectories: true)
                guard manager.createFile(atPath: target, contents: Data(entry.data)) else {
                    throw BundleError.writeFailed(target, "cannot create file")
                }
                written.append(entry.path)
            }
            return written
        }
    }

    private static func withApp<T>(_ path: String, _ body: (Trailer, ArchiveReader) throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else { throw BundleError.inputMissing(path) }
        guard OutputWriter.isBundledApp(path) else { throw BundleError.notABundle(path) }
        let bytes = try LocalFileSystem().contents(of: path)
        do {
            let trailer = try bytes.withUnsafeBytes {
                try Trailer(decoding: UnsafeRawBufferPointer(rebasing: $0[($0.count - Format.trailerSize)...]), fileSize: $0.count)
            }
            let section = Array(bytes[trailer.app.offset..<trailer.app.offset + trailer.app.compressedSize])
            guard Checksum.crc32(section) == trailer.app.crc32 else { throw FormatError.corrupt("app section checksum mismatch") }
            var archive = [UInt8](repeating: 0, count: trailer.app.uncompressedSize)
            try section.withUnsafeBytes { source in
                try archive.withUnsafeMutableBytes { try trailer.app.codec.decompress(source, into: $0) }
            }
            return try archive.withUnsafeBytes { try body(trailer, try ArchiveReader($0)) }
        } catch let error as FormatError {
            throw BundleError.damaged(path, error.description)
        }
    }
}
