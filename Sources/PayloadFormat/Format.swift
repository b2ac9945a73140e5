import CPayloadFormat

/// The on-disk format of a bundled app, shared by the `bundle` CLI (writer) and the
/// launcher (reader). No dependencies beyond zlib and zstd (linked statically) and the
/// header its numbers and magics are written in (CPayloadFormat, which the first stage
/// includes too), and no Foundation, so the launcher stays small.
/// Templates/bootstrap/archive.js parses the archive layout below in JavaScript, with
/// the constants the toolkit writes into it (`BootstrapFormat`).
///
/// # Output file
///
///     launcher ELF | runtime section | app section | trailer (120 bytes)
///
/// or, for a portable output (trailer flag bit 3; see "Portable outputs" below):
///
///     stage ELF | zeros to a page boundary | launcher ELF | base section |
///     runtime section | app section | stage record (88 bytes) | trailer (120 bytes)
///
/// Each section is one compressed stream of an *archive* (layout below): a zlib stream
/// (RFC 1950), or, when its trailer flag says so, a zstd stream (RFC 8878) of one or
/// more frames that each record their content size (independent frames can be inflated
/// in parallel). The app section's frames also carry zstd's content checksum, and the
/// section ends with a frame index (below): the launcher inflates frames as the app
/// reads them, each checked by its checksum, and reads neither the whole section (the
/// section's CRC-32 is for `bundle inspect`) nor every frame's blocks to find where
/// frames lie. A zstd app section without an index is walked, and checked whole at
/// start unless every frame has a checksum. The launcher finds the sections by reading
/// the fixed-size trailer at the very end of its own file, so appending the sections
/// never touches the ELF.
///
/// # Frame index (the end of the app section)
///
/// A zstd skippable frame (every zstd decoder skips it), little-endian:
///
///     offset size field
///          0    4 magic 0x184D2A5E (a skippable frame's)
///          4    4 length of what follows: 8 N + 16
///          8  8 N for each frame before this one, in order: its compressed size (4)
///                 and the size it inflates to (4); they fill the section before the index
///      8+8N   4 frame count N
///     12+8N   4 CRC-32 of bytes 8..<12+8N
///     16+8N   8 magic "BNDLFRM\0", the section's last bytes
///
/// Frames listed in an index must carry a content checksum; the launcher refuses one
/// that does not when it inflates it.
///
/// # Trailer (little-endian, 120 bytes, the last bytes of the file)
///
///     offset size field
///          0    8 magic "BNDLTRL\0"
///          8    2 format version (1)
///         10    2 flags (bit 0: the runtime section carries libnode and its libraries;
///                 bit 1: the runtime section is zstd, else zlib; bit 2: the app
///                 section is zstd, else zlib; bit 3: portable, a stage record
///                 precedes the trailer; other bits 0, a reader refuses them)
///         12    4 reserved, 0
///         16    8 runtime section offset from the start of the file
///         24    8 runtime section size (compressed)
///         32    8 runtime archive size (uncompressed)
///         40    4 CRC-32 of the runtime section's compressed bytes
///         44    4 CRC-32 of the app section's compressed bytes
///         48    8 app section offset from the start of the file
///         56    8 app section size (compressed)
///         64    8 app archive size (uncompressed)
///         72   32 runtime digest: SHA-256 of the runtime section, names its cache directory
///        104    4 CRC-32 of trailer bytes 0..<104
///        108    4 reserved, 0
///        112    8 magic "BNDLEND\0"
///
/// # Archive (little-endian; what a section inflates to)
///
///     offset size field
///          0    8 magic "BNDLARC\0"
///          8    4 archive version (1)
///         12    4 entry count N
///         16    4 metadata length M
///         20    M metadata (UTF-8; the app archive: a JSON object, see `AppMetadata`
///                 in BundlerCore; the runtime archive: library paths in load order,
///                 one per line)
///     then N entry records, sorted by path bytes, paths unique:
///          0    1 kind (see `EntryKind`)
///          1    2 permission bits of the file it came from (mode & 0o7777), 0: not
///                 recorded (readers then show 0444 for files)
///          3    1 reserved, 0
///          4    4 path length P
///          8    8 data offset from the start of the archive
///         16    8 data length
///         24    P path (UTF-8, relative, '/'-separated, no empty, '.' or '..' parts;
///                 `builtin` entries: absolute)
///     then the entries' data, in record order; entries with identical bytes share one
///     copy (the same data offset).
///
/// Every offset and length is checked against the buffer before use; a reader never
/// trusts its input.
///
/// # Portable outputs
///
/// A portable output carries the base libraries (the dynamic loader, libc, libm,
/// libstdc++, libgcc_s, libz and glibc's libpthread/libdl/librt/libutil stubs, from the
/// machine that built `bundle`) and starts through a first stage (Sources/Stage), so
/// nothing of the host's userland is used. The kernel starts the stage, a static
/// program at the start of the file; it reads the stage record and the trailer, maps
/// the launcher ELF (at a page-aligned offset, so it can be mapped from the file; or
/// compressed, inflated into a memory file first: the one-file `bundle`, `ToolkitRecord`) and
/// the carried loader into its own process, points the launcher's library references at
/// the carried libraries, and jumps into the loader as the kernel would have.
///
/// The base section is an archive (below) of `library` entries named by file name
/// (`libc.so.6`), one zstd stream. The loader opens libraries by path, so the launcher
/// extracts the section once into the cache directory `base-<digest>`, with the runtime's
/// rules (Launcher/CacheDirectory.swift); the stage only reads that directory, and uses
/// memory files (memfd, through /proc/self/fd) until it exists or where it cannot.
///
/// Stage record (little-endian, 88 bytes, right before the trailer):
///
///     offset size field
///          0    8 magic "BNDLSTG\0"
///          8    8 launcher ELF offset from the start of the file (a multiple of 4096)
///         16    8 base section offset from the start of the file
///         24    8 base section size (compressed)
///         32    8 base archive size (uncompressed)
///         40    4 CRC-32 of the base section's compressed bytes
///         44    4 launcher storage: 0 the ELF as it is (mapped from the file), 1 one zstd
///                 frame with its content size and checksum (inflated into a memory file)
///         48   32 base digest: SHA-256 of the base section, names its cache directory
///         80    4 CRC-32 of record bytes 0..<80
///         84    4 reserved, 0
///
/// Every section lies between the launcher and the stage record. Offsets in the
/// trailer stay absolute from the start of the file.
///
/// # Native addons (app archive)
///
/// A native addon of the app (an x86-64 ELF `.node` file) is an `addon` entry at its
/// own path, so the virtual file system shows it like any file. The shared libraries
/// the addons need beyond the base set and libnode's own closure are `library` entries
/// under `.bundle-native/lib/`, named by the SONAME their dependents ask for. When there
/// is at least one addon, the entry `.bundle-native` (kind `nativeIndex`, `NativeIndex`)
/// tells the launcher, without JSON, where to put them and in which order to load them:
///
///     bundle-native 1
///     digest <64 hex digits>   SHA-256 of the addon and library entries (kind, path,
///                              size and bytes, in path order): names the cache directory
///     library <path>           one line per `library` entry, in load order (every
///                              library after the ones it needs)
///
/// The launcher makes each addon and library a real file (the runtime cache, or a
/// memfd) and answers node's `dlopen` of the addon's virtual path with it, after loading
/// the libraries.
public enum Format {
    /// Where a bundled app sees its files: `<virtualRoot>/<app folder>/<path>`, the app
    /// folder being the top folder of the app's files, named as on the build machine (so
    /// `require('../app/x')` and a package requiring itself by name resolve as under
    /// node). Under /proc/self, which the kernel owns: no real file can ever be there, so
    /// a path is either bundled or not, on any machine; and nothing in it means anything
    /// to a shell (`$`, spaces, quotes, globs), so the path survives `exec(cmd)`, a shell
    /// script or a Makefile unquoted. The one place this string is written: the launcher
    /// hands it to the shim and the bootstrap, the bundler to code-cache.js.
    public static let virtualRoot = "/proc/self/bundle"
    public static let version = UInt16(BUNDLE_FORMAT_VERSION)
    public static let archiveVersion = UInt32(BUNDLE_ARCHIVE_VERSION)
    public static let trailerMagic = magic(BUNDLE_TRAILER_MAGIC)
    public static let trailerEndMagic = magic(BUNDLE_TRAILER_END_MAGIC)
    public static let archiveMagic = magic(BUNDLE_ARCHIVE_MAGIC)
    public static let trailerSize = Int(BUNDLE_TRAILER_SIZE)
    public static let archiveHeaderSize = Int(BUNDLE_ARCHIVE_HEADER_SIZE)
    public static let entryRecordSize = Int(BUNDLE_ENTRY_RECORD_SIZE)
    /// Where the code cache of an app file lies: this, then the file's path (`EntryKind.codeCache`).
    public static let codeCachePrefix = BUNDLE_CODE_CACHE_PREFIX

    /// An 8-byte magic as the header writes it: 7 characters and the string's NUL
    /// (payload_format.c checks the lengths).
    static func magic(_ characters: String) -> [UInt8] { Array(characters.utf8) + [0] }
}

/// What an archive entry is for. The raw values are also in payload_format.h
/// (BUNDLE_KIND_…), for the bootstrap; PayloadFormatTests checks they agree.
public enum EntryKind: UInt8, Sendable, CaseIterable {
    /// A file of the app (app archive), served under the virtual root.
    case file = 0
    /// The bootstrap script the launcher runs first (app archive, path ".bundle-bootstrap.js").
    case bootstrap = 1
    /// A shared library the launcher loads, in the order the metadata lists (runtime
    /// archive). The last one loaded exports `bundle_embed_run`. In the app archive: a
    /// library native addons need, loaded before the first addon in the order the
    /// native index lists.
    case library = 2
    /// A file libnode reads from a fixed absolute path (runtime archive). The launcher
    /// never writes it there: it serves opens of that path from its runtime cache (or
    /// from memory).
    case builtin = 3
    /// How the launcher starts node (app archive, path ".bundle-launch"): UTF-8 lines,
    /// `node-option <flag>` for each flag baked in at bundle time,
    /// `allow-node-options` when the author lets NODE_OPTIONS apply,
    /// `requires-glibc <version>` when the output uses the host's C library (not portable,
    /// or the system runtime): the newest glibc the runtime's libraries need, which the
    /// launcher checks before loading them (`GlibcVersion`), and `builtin-snapshot` when
    /// the runtime starts from node's own startup snapshot (node 24), so the launcher
    /// makes none where it extracts the runtime.
    case launchOptions = 4
    /// A native addon (app archive): a file of the app, served under the virtual root
    /// like `file`, that the launcher also makes a real file so `dlopen` can load it.
    case addon = 5
    /// The native index (app archive, path ".bundle-native", only when there are
    /// addons): see "Native addons" above and `NativeIndex`.
    case nativeIndex = 6
    /// A V8 code cache for the app's file at the rest of the path (app archive, path
    /// ".bundle-code-cache/<file>"): made at bundle time by the packed libnode, used by
    /// the bootstrap when that file is compiled as CommonJS ("Code cache" in
    /// Templates/bootstrap.js). V8 rejects it by itself when its version or flags differ.
    case codeCache = 7

    /// Whether the entry is one of the app's files (shown under the virtual root).
    public var isAppFile: Bool { self == .file || self == .addon }
}

/// The text of the app archive's `.bundle-native` entry (see "Native addons").
public struct NativeIndex: Equatable, Sendable {
    public static let path = ".bundle-native"
    /// Where the libraries addons need live in the app archive.
    public static let libraryDirectory = ".bundle-native/lib/"
    static let header = "bundle-native 1"

    /// SHA-256 of the addon and library entries, 32 bytes.
    public var digest: [UInt8]
    /// Paths of the `library` entries, in load order.
    public var libraries: [String]

    public init(digest: [UInt8], libraries: [String]) {
        self.digest = digest
        self.libraries = libraries
    }

    public var hexDigest: String { hexString(digest) }

    public func encoded() -> [UInt8] {
        Array(([Self.header, "digest " + hexDigest] + libraries.map { "library " + $0 }).map { $0 + "\n" }.joined().utf8)
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(FormatError) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, lines[0] == Substring(Self.header), lines.last == "" else {
            throw .corrupt("native index has no header")
        }
        guard lines[1].hasPrefix("digest "), lines[1].utf8.count == 7 + 64 else { throw .corrupt("native index has no digest") }
        var digest: [UInt8] = []
        var high: UInt8?
        for character in lines[1].utf8.dropFirst(7) {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            default: throw .corrupt("native index digest is not hex")
            }
            if let first = high {
                digest.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        var libraries: [String] = []
        for line in lines[2..<(lines.count - 1)] {
            guard line.hasPrefix("library ") else { throw .corrupt("native index line \(line)") }
            let path = String(line.dropFirst(8))
            try ArchiveWriter.validate(path: path, kind: .library)
            libraries.append(path)
        }
        self.digest = digest
        self.libraries = libraries
    }
}

/// Why a bundled file cannot be read. The text names what is wrong; the caller adds
/// which file.
public enum FormatError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case corrupt(String)
    case unsupportedVersion(UInt32)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated (\(what))"
        case .corrupt(let what): return "corrupt (\(what))"
        case .unsupportedVersion(let v): return "written by a newer bundle (format version \(v))"
        }
    }
}

/// glibc versions as `requires-glibc` writes them and gnu_get_libc_version() reports
/// them ("2.36"): compared by the bundler (warning) and the launcher (refusal) alike.
public enum GlibcVersion {
    /// "2.9" before "2.38": dotted numbers compared part by part.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.split(separator: ".").map { Int($0) ?? 0 }.lexicographicallyPrecedes(b.split(separator: ".").map { Int($0) ?? 0 })
    }
}
