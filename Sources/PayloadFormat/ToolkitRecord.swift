/// The footer of a one-file `bundle` (made by Scripts/package): the toolkit every output
/// is made from, carried in the `bundle` executable's own file, so it produces outputs on
/// a machine without libnode-dev, node or the build folder.
///
/// # One-file bundle
///
///     first stage | bundle ELF, zstd | base section | tools section | runtime section
///         | toolkit record (208 bytes) | stage record | trailer
///
/// It is laid out as a portable output is ("Portable outputs" in Format.swift), with the
/// `bundle` executable where an output has its launcher, stored as one checksummed zstd
/// frame (launcher storage 1 in the stage record: 19.8 MB → 5.9 MB, for ~40 ms per
/// start): the kernel starts the first stage, which inflates `bundle` into a memory file
/// and loads it with the C and C++ libraries of the base section, so
/// `bundle` runs where outputs run (an older C library, an empty root). The trailer has
/// the portable and self-contained flags; its runtime section is the runtime section and
/// its app section the tools section. The stage reads only the trailer and the stage
/// record; `bundle` reads the toolkit record, which says what each section is.
///
/// - The *tools section* is one zstd stream of an archive (layout in Format.swift) of
///   `file` entries: `bundle-launcher`, `libBundleEmbed.so`, `bundle-stage`,
///   `bootstrap.js`, `code-cache.js` and `esbuild` when it was found. Its metadata is
///   UTF-8 lines:
///
///       bundle-toolkit 1
///       runtime-library <name>   one per library of the runtime section (what native
///                                addons never need packed), in load order
///
/// - The *runtime section* and the *base section* are byte for byte the runtime
///   section of a self-contained output and the base section of a portable one
///   (Format.swift), prepared once when the file was made; `bundle` copies them into
///   every output, so their digests (and the cache directories they name) are shared:
///   the `base-<digest>` directory the first output's launcher makes serves the one-file
///   `bundle`'s own start too.
///
/// Toolkit record (little-endian, 208 bytes, the last bytes of the file):
///
///     offset size field
///          0    8 magic "BNDLKIT\0"
///          8    4 toolkit format version (1)
///         12    4 reserved, 0
///         16   32 tools section   \  each: u64 offset from the start of the file,
///         48   32 runtime section  > u64 compressed size, u64 uncompressed size,
///         80   32 base section    /  u32 CRC-32 of the compressed bytes, u8 codec, 3 bytes 0
///        112   32 runtime digest: SHA-256 of the runtime section
///        144   32 base digest: SHA-256 of the base section
///        176   16 node version of the runtime ("v18.20.4"), ASCII, NUL-padded
///        192    4 CRC-32 of record bytes 0..<192
///        196    4 reserved, 0
///        200    8 magic "BNDLKEND"
///
/// The sections lie in the order base, tools, runtime between the end of the `bundle` ELF
/// and the record. Every offset is checked against the file before use; bytes after the
/// first ELF image that do not end in valid records mean the file is damaged, never that
/// it carries nothing.
public struct ToolkitRecord: Equatable, Sendable {
    public static let size = 208
    public static let version: UInt32 = 1
    public static let magic: [UInt8] = Array("BNDLKIT\0".utf8)
    public static let endMagic: [UInt8] = Array("BNDLKEND".utf8)
    static let nodeVersionSize = 16

    public var tools: Section
    public var runtime: Section
    public var base: Section
    public var runtimeDigest: [UInt8]
    public var baseDigest: [UInt8]
    public var nodeVersion: String

    public init(tools: Section, runtime: Section, base: Section, runtimeDigest: [UInt8], baseDigest: [UInt8], nodeVersion: String) {
        self.tools = tools
        self.runtime = runtime
        self.base = base
        self.runtimeDigest = runtimeDigest
        self.baseDigest = baseDigest
        self.nodeVersion = nodeVersion
    }

    public func encoded() -> [UInt8] {
        precondition(runtimeDigest.count == 32 && baseDigest.count == 32, "digests are SHA-256")
        let version = Array(nodeVersion.utf8)
        precondition(version.count < Self.nodeVersionSize && version.allSatisfy { $0 > 32 && $0 < 127 }, "node version")
        var out = ByteWriter()
        out.append(Self.magic)
        out.append(Self.version)
        out.append(UInt32(0))
        for section in [tools, runtime, base] {
            out.append(UInt64(section.offset))
            out.append(UInt64(section.compressedSize))
            out.append(UInt64(section.uncompressedSize))
            out.append(section.crc32)
            out.append(section.codec.rawValue)
            out.appendZeros(3)
        }
        out.append(runtimeDigest)
        out.append(baseDigest)
        out.append(version)
        out.appendZeros(Self.nodeVersionSize - version.count)
        out.append(Checksum.crc32(out.bytes))
        out.append(UInt32(0))
        out.append(Self.endMagic)
        return out.bytes
    }

    /// Parses the record of `size` bytes that starts at `end`, and checks the sections
    /// fill the bytes from `start` (where the `bundle` ELF ends) to `end` in order.
    public init(decoding buffer: UnsafeRawBufferPointer, sectionsFrom start: Int, to end: Int) throws(FormatError) {
        let reader = ByteReader(buffer: buffer, what: "toolkit record")
        guard buffer.count == Self.size, matches(try reader.bytes(at: 200, count: 8), Self.endMagic) else {
            throw .truncated("no toolkit record at the end of the file")
        }
        guard matches(try reader.bytes(at: 0, count: 8), Self.magic) else { throw .corrupt("toolkit record magic is wrong") }
        let version = try reader.integer(UInt32.self, at: 8)
        guard version == Self.version else { throw .unsupportedVersion(version) }
        guard try reader.integer(UInt32.self, at: 192) == Checksum.crc32(try reader.bytes(at: 0, count: 192)) else {
            throw .corrupt("toolkit record checksum mismatch")
        }
        var sections: [Section] = []
        for (index, name) in ["tools", "runtime", "base"].enumerated() {
            let at = 16 + 32 * index
            guard let codec = Codec(rawValue: try reader.integer(UInt8.self, at: at + 28)) else {
                throw .corrupt("\(name) section codec is unknown")
            }
            sections.append(Section(
                offset: try reader.offset(try reader.integer(UInt64.self, at: at), "\(name) offset"),
                compressedSize: try reader.offset(try reader.integer(UInt64.self, at: at + 8), "\(name) size"),
                uncompressedSize: try reader.offset(try reader.integer(UInt64.self, at: at + 16), "\(name) size"),
                crc32: try reader.integer(UInt32.self, at: at + 24), codec: codec))
        }
        (tools, runtime, base) = (sections[0], sections[1], sections[2])
        runtimeDigest = Array(try reader.bytes(at: 112, count: 32))
        baseDigest = Array(try reader.bytes(at: 144, count: 32))
        let versionBytes = Array(try reader.bytes(at: 176, count: Self.nodeVersionSize)).prefix { $0 != 0 }
        guard !versionBytes.isEmpty, versionBytes.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .corrupt("node version is not text") }
        nodeVersion = String(decoding: versionBytes, as: UTF8.self)

        var next = start
        for (name, section) in [("base", base), ("tools", tools), ("runtime", runtime)] {
            guard section.offset == next, next <= end, section.compressedSize <= end - next else {
                throw .truncated("\(name) section is not where the record says")
            }
            next = section.offset + section.compressedSize
        }
        guard next == end else { throw .corrupt("unexpected bytes before the toolkit record") }
    }
}
