import CPayloadFormat

/// Where one compressed section lies in the output file.
public struct Section: Equatable, Sendable {
    public var offset: Int
    public var compressedSize: Int
    public var uncompressedSize: Int
    public var crc32: UInt32
    /// How the section is compressed (trailer flags bits 1 and 2).
    public var codec: Codec

    public init(offset: Int, compressedSize: Int, uncompressedSize: Int, crc32: UInt32, codec: Codec = .zlib) {
        self.offset = offset
        self.compressedSize = compressedSize
        self.uncompressedSize = uncompressedSize
        self.crc32 = crc32
        self.codec = codec
    }
}

/// The fixed-size record at the end of every bundled app (layout in Format.swift).
public struct Trailer: Equatable, Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// The runtime section carries libnode and its libraries (not the system's).
        public static let selfContained = Flags(rawValue: UInt16(BUNDLE_FLAG_SELF_CONTAINED))
        /// The file starts with the first stage and carries the base libraries; a
        /// `StageRecord` precedes the trailer ("Portable outputs" in Format.swift).
        public static let portable = Flags(rawValue: UInt16(BUNDLE_FLAG_PORTABLE))
    }

    /// Flag bits that say a section is zstd rather than zlib. They live in the same
    /// 16-bit field on disk but are modelled as `Section.codec`, not as `flags`.
    static let runtimeZstdBit = UInt16(BUNDLE_FLAG_RUNTIME_ZSTD)
    static let appZstdBit = UInt16(BUNDLE_FLAG_APP_ZSTD)
    static let flagBits: UInt16 = Flags.selfContained.rawValue | Flags.portable.rawValue
    static let knownBits: UInt16 = flagBits | runtimeZstdBit | appZstdBit

    public var flags: Flags
    public var runtime: Section
    public var app: Section
    public var runtimeDigest: [UInt8]

    public init(flags: Flags, runtime: Section, app: Section, runtimeDigest: [UInt8]) {
        self.flags = flags
        self.runtime = runtime
        self.app = app
        self.runtimeDigest = runtimeDigest
    }

    public func encoded() -> [UInt8] {
        precondition(runtimeDigest.count == 32, "runtime digest is a SHA-256")
        var out = ByteWriter()
        out.append(Format.trailerMagic)
        out.append(Format.version)
        out.append(flags.rawValue & Self.flagBits
                   | (runtime.codec == .zstd ? Self.runtimeZstdBit : 0)
                   | (app.codec == .zstd ? Self.appZstdBit : 0))
        out.append(UInt32(0))
        out.append(UInt64(runtime.offset))
        out.append(UInt64(runtime.compressedSize))
        out.append(UInt64(runtime.uncompressedSize))
        out.append(runtime.crc32)
        out.append(app.crc32)
        out.append(UInt64(app.offset))
        out.append(UInt64(app.compressedSize))
        out.append(UInt64(app.uncompressedSize))
        out.append(runtimeDigest)
        out.append(Checksum.crc32(out.bytes))
        out.append(UInt32(0))
        out.append(Format.trailerEndMagic)
        return out.bytes
    }

    /// Parses the last `Format.trailerSize` bytes of a file of `fileSize` bytes and
    /// checks that both sections lie inside the file, before the trailer.
    public init(decoding buffer: UnsafeRawBufferPointer, fileSize: Int) throws(FormatError) {
        let reader = ByteReader(buffer: buffer, what: "trailer")
        guard buffer.count == Format.trailerSize,
              matches(try reader.bytes(at: 112, count: 8), Format.trailerEndMagic)
        else { throw .truncated("no bundle trailer at the end of the file") }
        guard matches(try reader.bytes(at: 0, count: 8), Format.trailerMagic) else {
            throw .corrupt("trailer start magic is wrong")
        }
        let version = try reader.integer(UInt16.self, at: 8)
        guard version == Format.version else { throw .unsupportedVersion(UInt32(version)) }
        guard try reader.integer(UInt32.self, at: 104) == Checksum.crc32(try reader.bytes(at: 0, count: 104)) else {
            throw .corrupt("trailer checksum mismatch")
        }
        let rawFlags = try reader.integer(UInt16.self, at: 10)
        guard rawFlags & ~Self.knownBits == 0 else { throw .corrupt("unknown trailer flags") }
        flags = Flags(rawValue: rawFlags & Self.flagBits)
        runtime = Section(
            offset: try reader.offset(try reader.integer(UInt64.self, at: 16), "runtime offset"),
            compressedSize: try reader.offset(try reader.integer(UInt64.self, at: 24), "runtime size"),
            uncompressedSize: try reader.offset(try reader.integer(UInt64.self, at: 32), "runtime size"),
            crc32: try reader.integer(UInt32.self, at: 40),
            codec: rawFlags & Self.runtimeZstdBit != 0 ? .zstd : .zlib)
        app = Section(
            offset: try reader.offset(try reader.integer(UInt64.self, at: 48), "app offset"),
            compressedSize: try reader.offset(try reader.integer(UInt64.self, at: 56), "app size"),
            uncompressedSize: try reader.offset(try reader.integer(UInt64.self, at: 64), "app size"),
            crc32: try reader.integer(UInt32.self, at: 44),
            codec: rawFlags & Self.appZstdBit != 0 ? .zstd : .zlib)
        runtimeDigest = Array(try reader.bytes(at: 72, count: 32))

        let payloadEnd = fileSize - Format.trailerSize
        for (name, section) in [("runtime", runtime), ("app", app)] {
            guard section.offset <= payloadEnd, section.compressedSize <= payloadEnd - section.offset else {
                throw .truncated("\(name) section extends past the end of the file")
            }
        }
    }
}
