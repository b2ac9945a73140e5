import CPayloadFormat

/// What the first stage of a portable output reads before anything else runs: where the
/// launcher ELF starts and where the base section lies (layout: "Portable outputs" in
/// Format.swift). It sits right before the trailer, whose flag bit 3 says it is there.
public struct StageRecord: Equatable, Sendable {
    public static let size = Int(BUNDLE_STAGE_RECORD_SIZE)
    public static let magic = Format.magic(BUNDLE_STAGE_RECORD_MAGIC)
    /// The launcher starts on a page boundary, so the stage can map it from the file.
    public static let pageSize = 4096

    /// How the launcher ELF lies between `launcherOffset` and the base section (raw
    /// values: BUNDLE_LAUNCHER_* in payload_format.h, checked by StageRecordTests).
    public enum LauncherStorage: UInt32, Sendable, CaseIterable {
        /// As it is, mapped from the file: an output's launcher (0.5 MB).
        case mapped = 0
        /// One zstd frame recording its content size and checksum, which the stage
        /// inflates into a memory file and maps from there: the one-file `bundle`'s
        /// executable (19.8 MB, 5.9 MB compressed; each start pays ~40 ms for it).
        case zstd = 1
    }

    public var launcherOffset: Int
    public var launcherStorage: LauncherStorage
    /// The base libraries' archive, one zstd stream.
    public var base: Section
    /// SHA-256 of the base section's bytes: names its cache directory (`base-<digest>`).
    public var baseDigest: [UInt8]

    public init(launcherOffset: Int, launcherStorage: LauncherStorage = .mapped, base: Section, baseDigest: [UInt8]) {
        self.launcherOffset = launcherOffset
        self.launcherStorage = launcherStorage
        self.base = base
        self.baseDigest = baseDigest
    }

    public func encoded() -> [UInt8] {
        precondition(baseDigest.count == 32, "the base digest is a SHA-256")
        var out = ByteWriter()
        out.append(Self.magic)
        out.append(UInt64(launcherOffset))
        out.append(UInt64(base.offset))
        out.append(UInt64(base.compressedSize))
        out.append(UInt64(base.uncompressedSize))
        out.append(base.crc32)
        out.append(launcherStorage.rawValue)
        out.append(baseDigest)
        out.append(Checksum.crc32(out.bytes))
        out.append(UInt32(0))
        return out.bytes
    }

    /// Parses the `size` bytes before the trailer of a file of `fileSize` bytes, and
    /// checks that every section lies between the launcher and this record.
    public init(decoding buffer: UnsafeRawBufferPointer, fileSize: Int, trailer: Trailer) throws(FormatError) {
        let reader = ByteReader(buffer: buffer, what: "stage record")
        guard buffer.count == Self.size else { throw .truncated("no stage record before the trailer") }
        guard matches(try reader.bytes(at: 0, count: 8), Self.magic) else { throw .corrupt("stage record magic is wrong") }
        guard try reader.integer(UInt32.self, at: 80) == Checksum.crc32(try reader.bytes(at: 0, count: 80)) else {
            throw .corrupt("stage record checksum mismatch")
        }
        launcherOffset = try reader.offset(try reader.integer(UInt64.self, at: 8), "launcher offset")
        guard let storage = LauncherStorage(rawValue: try reader.integer(UInt32.self, at: 44)) else {
            throw .corrupt("launcher storage is unknown")
        }
        launcherStorage = storage
        base = Section(
            offset: try reader.offset(try reader.integer(UInt64.self, at: 16), "base offset"),
            compressedSize: try reader.offset(try reader.integer(UInt64.self, at: 24), "base size"),
            uncompressedSize: try reader.offset(try reader.integer(UInt64.self, at: 32), "base size"),
            crc32: try reader.integer(UInt32.self, at: 40),
            codec: .zstd)
        baseDigest = Array(try reader.bytes(at: 48, count: 32))

        let end = fileSize - Format.trailerSize - Self.size
        guard launcherOffset % Self.pageSize == 0, launcherOffset < base.offset else {
            throw .corrupt("launcher offset out of range")
        }
        for (name, section) in [("base", base), ("runtime", trailer.runtime), ("app", trailer.app)] {
            guard section.offset >= base.offset, section.offset <= end, section.compressedSize <= end - section.offset else {
                throw .truncated("\(name) section extends past the end of the file")
            }
        }
    }
}
