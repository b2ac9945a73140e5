// The writer is the CLI's; the launcher only reads archives (and checks paths, `validate`).
// A streamed entry produces its bytes through closures with untyped throws (the errors of
// the file it reads pass through as they are): Embedded Swift has no untyped throws (no
// `any Error`, no existentials at all), so the launcher's build (Scripts/build-launcher)
// leaves the writer out.
#if !hasFeature(Embedded)
/// One file in an archive (layout in Format.swift).
public struct ArchiveEntry: Equatable, Sendable {
    public var path: String
    public var kind: EntryKind
    public var content: Content
    /// Permission bits of the file it came from (0o7777 at most; 0: not recorded).
    public var mode: UInt16 = 0

    public enum Content: Equatable, Sendable {
        case bytes([UInt8])
        /// Read only while the archive is written (`ArchiveWriter.stream`), so a large
        /// file is never held in memory whole.
        case streamed(StreamedBytes)
    }

    public init(path: String, kind: EntryKind = .file, data: [UInt8], mode: UInt16 = 0) {
        self.init(path: path, kind: kind, content: .bytes(data), mode: mode)
    }

    public init(path: String, kind: EntryKind = .file, content: Content, mode: UInt16 = 0) {
        self.path = path
        self.kind = kind
        self.content = content
        self.mode = mode & 0o7777
    }

    /// The bytes of an entry held in memory; nil for a streamed one.
    public var bytes: [UInt8]? {
        if case .bytes(let bytes) = content { bytes } else { nil }
    }

    public var size: Int {
        switch content {
        case .bytes(let bytes): bytes.count
        case .streamed(let streamed): streamed.count
        }
    }
}

/// Entry bytes that come from elsewhere (a large file), a piece at a time.
public struct StreamedBytes: Equatable, Sendable {
    public let count: Int
    /// Equal for equal bytes and different otherwise (a digest), so identical files
    /// are stored once without being compared.
    public let identity: [UInt8]
    /// Passes the bytes to `emit` in order, `count` in all; each piece is valid only
    /// during its call.
    public let produce: @Sendable (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public init(count: Int, identity: [UInt8],
                produce: @escaping @Sendable (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        self.count = count
        self.identity = identity
        self.produce = produce
    }

    public static func == (a: StreamedBytes, b: StreamedBytes) -> Bool {
        a.count == b.count && a.identity == b.identity
    }
}

extension ArchiveWriter {
    /// The archive in memory (`stream` writes the same bytes a piece at a time).
    public static func write(entries: [ArchiveEntry], metadata: [UInt8]) throws(FormatError) -> [UInt8] {
        var out: [UInt8] = []
        do {
            try stream(entries: entries, metadata: metadata) { out.append(contentsOf: $0) }
        } catch let error as FormatError {
            throw error
        } catch {
            throw .corrupt("an entry could not be read: \(error)")
        }
        return out
    }

    /// Serializes entries sorted by path, so the same files always give the same bytes,
    /// handing them to `sink` in order; streamed entries are read only now. Paths must be
    /// unique and valid (`validate`). Entries with the same bytes share them. Errors of
    /// streamed entries and of `sink` pass through.
    public static func stream(entries: [ArchiveEntry], metadata: [UInt8],
                              to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let sorted = entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        for (index, entry) in sorted.enumerated() {
            try validate(path: entry.path, kind: entry.kind)
            if index > 0, sorted[index - 1].path == entry.path {
                throw FormatError.corrupt("duplicate path \(entry.path)")
            }
        }
        let recordsSize = sorted.reduce(0) { $0 + Format.entryRecordSize + $1.path.utf8.count }
        var dataOffset = Format.archiveHeaderSize + metadata.count + recordsSize

        var out = ByteWriter()
        out.append(Format.archiveMagic)
        out.append(Format.archiveVersion)
        out.append(UInt32(sorted.count))
        out.append(UInt32(metadata.count))
        out.append(metadata)
        // Identical files (license texts, copies of one module in two packages) are stored once.
        var stored: [SameBytes: Int] = [:]
        var unique: [ArchiveEntry] = []
        for entry in sorted {
            var offset = dataOffset
            let key = SameBytes(entry.content)
            if let earlier = stored[key] {
                offset = earlier
            } else if entry.size > 0 {
                stored[key] = dataOffset
                unique.append(entry)
                dataOffset += entry.size
            }
            out.append(entry.kind.rawValue)
            out.append(entry.mode)
            out.appendZeros(1)
            out.append(UInt32(entry.path.utf8.count))
            out.append(UInt64(offset))
            out.append(UInt64(entry.size))
            out.append(Array(entry.path.utf8))
        }
        try out.bytes.withUnsafeBytes(sink)
        for entry in unique {
            switch entry.content {
            case .bytes(let bytes):
                try bytes.withUnsafeBytes(sink)
            case .streamed(let streamed):
                var produced = 0
                try streamed.produce { piece in
                    produced += piece.count
                    guard produced <= streamed.count else { throw FormatError.corrupt("\(entry.path) grew while it was written") }
                    try sink(piece)
                }
                guard produced == streamed.count else { throw FormatError.corrupt("\(entry.path) shrank while it was written") }
            }
        }
    }

    /// What makes two entries' bytes the same: the bytes held, or a streamed identity.
    private enum SameBytes: Hashable {
        case bytes([UInt8])
        case streamed(count: Int, identity: [UInt8])

        init(_ content: ArchiveEntry.Content) {
            switch content {
            case .bytes(let bytes): self = .bytes(bytes)
            case .streamed(let streamed): self = .streamed(count: streamed.count, identity: streamed.identity)
            }
        }
    }
}
#endif

public enum ArchiveWriter {
    /// Relative paths with no empty, "." or ".." parts, so no entry can name a place
    /// outside the folder it is extracted to. Builtin entries name absolute paths.
    public static func validate(path: String, kind: EntryKind) throws(FormatError) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if kind == .builtin {
            guard parts.first == "" else { throw .corrupt("builtin path \(path) is not absolute") }
            parts.removeFirst()
        }
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              !path.utf8.contains(0)
        else { throw .corrupt("invalid entry path \(path)") }
    }
}

/// The start of an archive: header, metadata and entry records, which say where each
/// entry's bytes lie. Parsed without the bytes, so a reader can act on it before (or
/// without) inflating the rest.
public struct ArchiveIndex {
    public struct Record {
        public let path: String
        public let kind: EntryKind
        /// Where the entry's bytes lie in the archive (within `archiveSize`).
        public let data: Range<Int>
        /// Permission bits (0: not recorded).
        public let mode: UInt16
    }

    /// Where the metadata lies in the archive.
    public let metadata: Range<Int>
    public let records: [Record]
    /// Bytes of the archive's start the index takes.
    public let size: Int

    /// `buffer` holds the archive's first bytes, at least the whole index (else
    /// `FormatError.truncated`); data ranges are checked against `archiveSize`.
    public init(_ buffer: UnsafeRawBufferPointer, archiveSize: Int) throws(FormatError) {
        let reader = ByteReader(buffer: buffer, what: "archive")
        guard matches(try reader.bytes(at: 0, count: 8), Format.archiveMagic) else {
            throw .corrupt("archive has no magic")
        }
        let version = try reader.integer(UInt32.self, at: 8)
        guard version == Format.archiveVersion else { throw .unsupportedVersion(version) }
        let count = Int(try reader.integer(UInt32.self, at: 12))
        let metadataLength = Int(try reader.integer(UInt32.self, at: 16))
        _ = try reader.bytes(at: Format.archiveHeaderSize, count: metadataLength)
        metadata = Format.archiveHeaderSize..<Format.archiveHeaderSize + metadataLength

        // Every record takes at least 24 bytes: a count larger than that can hold is a lie.
        guard count <= archiveSize / Format.entryRecordSize else { throw .corrupt("entry count \(count)") }
        var records: [Record] = []
        records.reserveCapacity(count)
        var cursor = Format.archiveHeaderSize + metadataLength
        for _ in 0..<count {
            guard let kind = EntryKind(rawValue: try reader.integer(UInt8.self, at: cursor)) else {
                throw .corrupt("unknown entry kind")
            }
            let mode = try reader.integer(UInt16.self, at: cursor + 1) & 0o7777
            let pathLength = Int(try reader.integer(UInt32.self, at: cursor + 4))
            let dataOffset = try reader.offset(try reader.integer(UInt64.self, at: cursor + 8), "data offset")
            let dataLength = try reader.offset(try reader.integer(UInt64.self, at: cursor + 16), "data length")
            let pathBytes = try reader.bytes(at: cursor + Format.entryRecordSize, count: pathLength)
            guard let path = String(validating: pathBytes, as: UTF8.self) else {
                throw .corrupt("entry path is not UTF-8")
            }
            guard dataOffset <= archiveSize, dataLength <= archiveSize - dataOffset else {
                throw .corrupt("the bytes of \(path) lie outside the archive")
            }
            try ArchiveWriter.validate(path: path, kind: kind)
            if let previous = records.last, !previous.path.utf8.lexicographicallyPrecedes(path.utf8) {
                throw .corrupt("entries out of order at \(path)")
            }
            records.append(Record(path: path, kind: kind, data: dataOffset..<dataOffset + dataLength, mode: mode))
            cursor += Format.entryRecordSize + pathLength
        }
        self.records = records
        size = cursor
    }
}

/// A parsed archive. Entry data stays in the caller's buffer: nothing is copied.
public struct ArchiveReader {
    public struct Entry {
        public let path: String
        public let kind: EntryKind
        public let data: UnsafeRawBufferPointer
    }

    public let metadata: UnsafeRawBufferPointer
    public let entries: [Entry]

    /// The buffer must outlive the reader.
    public init(_ buffer: UnsafeRawBufferPointer) throws(FormatError) {
        let index = try ArchiveIndex(buffer, archiveSize: buffer.count)
        metadata = UnsafeRawBufferPointer(rebasing: buffer[index.metadata])
        entries = index.records.map { Entry(path: $0.path, kind: $0.kind, data: UnsafeRawBufferPointer(rebasing: buffer[$0.data])) }
    }

    public var metadataText: String { String(decoding: metadata, as: UTF8.self) }

    public func entry(_ path: String) -> Entry? {
        entries.first { $0.path == path }
    }
}
