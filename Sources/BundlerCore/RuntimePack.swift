import CZstd
import Crypto
import FoundationEssentials
import Glibc
import PayloadFormat

/// The runtime section: the libraries the launcher loads, in load order, and the files
/// libnode reads from fixed paths.
///
/// - `system`: only the embedding shim, which finds the installed libnode (small
///   output, runs only where Debian's libnode108 is installed).
/// - `selfContained`: libnode, every library it needs that a bare x86-64 glibc system
///   lacks, the shim, and libnode's externalized builtin JS files.
public struct RuntimePack: Sendable {
    public var compressed: [UInt8]
    public var uncompressedSize: Int
    public var digest: [UInt8]
    public var selfContained: Bool
    public var codec: Codec

    /// The shim's path in the runtime archive; it is always loaded last.
    static let shimPath = "lib/libBundleEmbed.so"

    public static func system(toolkit: Toolkit) throws -> RuntimePack {
        let shim = ArchiveEntry(path: shimPath, kind: .library, data: toolkit.embedShim)
        let archive = try archive(entries: [shim], loadOrder: [shim.path])
        return make(archive: archive, compressed: Zlib.compress(archive), codec: .zlib, selfContained: false)
    }

    // MARK: Self-contained

    /// Libraries every x86-64 glibc distribution has, so the pack leaves them out and
    /// the output uses the system's copies: the dynamic linker and the C library must
    /// be the system's anyway (one glibc per process), libm and the glibc stubs
    /// (libpthread, libdl, librt, libutil: empty since glibc 2.34 but still present) are
    /// glibc, libstdc++ and libgcc_s come with every C++ program, and zlib is in every
    /// base system (package managers need it). Measured with `readelf -d` on Debian 12:
    /// libnode.so.108 NEEDs libz, libuv, libbrotlidec, libbrotlienc, libcares,
    /// libnghttp2, libcrypto, libssl, libicui18n, libicuuc, libstdc++, libm, libgcc_s,
    /// libc, ld-linux; libbrotli{dec,enc} need libbrotlicommon; libssl needs libcrypto;
    /// libicui18n needs libicuuc, which needs libicudata; the rest need only base
    /// libraries. So the pack holds libuv, libbrotlicommon/dec/enc, libcares,
    /// libnghttp2, libcrypto, libssl, libicudata/uc/i18n and libnode (~92 MB raw).
    ///
    /// What the base libraries must provide (`readelf -V`): glibc ≥ 2.35 (the launcher;
    /// libnode needs 2.34) and libstdc++ ≥ GCC 12 (ICU 72 needs GLIBCXX_3.4.30):
    /// Debian 12, Ubuntu 22.04, Fedora 36 and later. On an older system dlopen fails
    /// with a message naming the missing version.
    public static let baseLibraries: Set<String> = [
        "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1",
        "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
    ]

    /// Debian's libnode reads some builtin modules from JS files under this directory
    /// (`--shared-builtin-*-path` at configure time: cjs-module-lexer, undici, acorn,
    /// acorn-walk) when the first context is created, and aborts without them. Their
    /// paths are found by scanning the packed libraries for strings with this prefix.
    static let builtinPrefix = "/usr/share/nodejs/"

    /// zstd level 19 in 8 MiB frames: see `Codec`. Measured on this pack (92 MB):
    /// zlib-9 32.1 MB (inflate ~0.5 s), zstd-19 24.7 MB (~0.18 s; 25.2 MB in 8 MiB
    /// frames, inflated on two threads), xz-9e 21.9 MB (~1.2 s).
    static let zstdLevel: Int32 = 19
    static let frameSize = 8 << 20
    /// Bump when the pack's content or layout changes, to invalidate cached packs.
    static let packRevision = 1

    /// Prepares the self-contained pack, or reuses the one prepared earlier from the
    /// same inputs (`PackCache`): preparing compresses ~92 MB at zstd-19, which takes
    /// tens of seconds; reusing reads 25 MB.
    /// A one-file `bundle` carries it ready made.
    public static func selfContained(toolkit: Toolkit, cache: PackCache? = PackCache.standard(),
                                     progress: (String) -> Void = { _ in }) throws -> RuntimePack {
        let runtime: NodeRuntime
        switch toolkit.origin {
        case .carried(let carried): return carried.runtime
        case .directory(let chosen, _): runtime = chosen
        }
        let libraries = try runtime.libraryClosure()
        let shimData = toolkit.embedShim

        var inputs = "bundle-runtime-pack \(packRevision) \(runtime.name) \(runtime.root)\ncodec zstd \(zstdLevel) \(frameSize) \(Zstd.libraryVersion)\n"
        inputs += "shim \(hexString(Array(SHA256.hash(data: shimData))))\n"
        for (name, library) in libraries {
            inputs += "library \(name) \(library.path) \(fileIdentity(library.path)) \(hexString(library.buildID))\n"
        }
        let key = hexString(Array(SHA256.hash(data: Array(inputs.utf8))))

        if let cache, let cached = cache.load(key: key), cached.builtins == builtinIdentities(cached.builtinPaths, root: runtime.root) {
            return cached.pack
        }
        progress("preparing the node \(runtime.nodeVersion) runtime pack (once per runtime version; takes about \(runtime.major >= 20 ? 40 : 20) s)")

        var entries = [ArchiveEntry(path: shimPath, kind: .library, data: shimData)]
        var builtinPaths: Set<String> = []
        for (name, library) in libraries {
            let data = try LocalFileSystem().contents(of: library.path)
            builtinPaths.formUnion(builtinReferences(in: data))
            entries.append(ArchiveEntry(path: "lib/" + name, kind: .library, data: data))
        }
        let sortedBuiltins = builtinPaths.sorted()
        for path in sortedBuiltins {
            // Served at `path` by the launcher; read from the runtime's own packages, never
            // the host's (another node's copies would silently change node's globals).
            guard let data = try? LocalFileSystem().contents(of: runtime.root + path) else {
                throw BundleError.runtimeUnavailable(
                    "libnode reads \(path) at startup, but \(runtime.name) has no \(runtime.root + path) (is its package in Runtimes/\(runtime.name).lock?)")
            }
            entries.append(ArchiveEntry(path: path, kind: .builtin, data: data))
        }
        let archive = try archive(entries: entries, loadOrder: libraries.map { "lib/" + $0.name } + [shimPath])
        let pack = make(archive: archive, compressed: compressFrames(archive), codec: .zstd, selfContained: true)
        cache?.store(key: key, pack: pack, builtinPaths: sortedBuiltins, builtins: builtinIdentities(sortedBuiltins, root: runtime.root))
        return pack
    }

    /// The libraries `root` needs, transitively, minus `baseLibraries`, in load order
    /// (every library after the ones it needs; ties in DT_NEEDED order), each with the
    /// name its dependents ask for. `root` itself is not included. A library that is not
    /// installed is an error, unless `missing` is given: then it is told and left out.
    static func closure(of root: ELFObject, resolver: LibraryResolver, base: Set<String> = baseLibraries,
                        missing: ((_ name: String, _ neededBy: ELFObject) -> Void)? = nil) throws -> [(name: String, object: ELFObject)] {
        var ordered: [(name: String, object: ELFObject)] = []
        var seen: Set<String> = []
        func visit(_ object: ELFObject) throws {
            for name in object.needed where !base.contains(name) && !seen.contains(name) {
                seen.insert(name)
                guard let path = resolver.resolve(name, neededBy: object) else {
                    if let missing {
                        missing(name, object)
                        continue
                    }
                    throw BundleError.runtimeUnavailable("\(name), needed by \(object.path), is not installed")
                }
                let library: ELFObject
                do {
                    library = try ELFObject.read(path)
                } catch {
                    throw BundleError.runtimeUnavailable(error.description)
                }
                if let soname = library.soname, soname != name {
                    throw BundleError.runtimeUnavailable(
                        "\(path) was found for \(name) but calls itself \(soname); the loader would not match it")
                }
                try visit(library)
                ordered.append((name, library))
            }
        }
        try visit(root)
        return ordered
    }

    /// Absolute paths of builtin JS files a library's bytes name (NUL-terminated
    /// strings starting with `builtinPrefix` and ending in ".js").
    static func builtinReferences(in data: [UInt8]) -> Set<String> {
        let prefix = Array(builtinPrefix.utf8)
        var found: Set<String> = []
        data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset + prefix.count <= buffer.count,
                  let hit = memchr(base + offset, Int32(prefix[0]), buffer.count - offset - prefix.count + 1) {
                let start = UnsafeRawPointer(hit) - base
                guard memcmp(hit, prefix, prefix.count) == 0 else {
                    offset = start + 1
                    continue
                }
                var end = start
                while end < buffer.count, buffer[end] != 0, end - start < 4096 { end += 1 }
                offset = end
                guard start == 0 || buffer[start - 1] == 0, end < buffer.count, buffer[end] == 0 else { continue }
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
                if text.hasSuffix(".js"), !text.contains("/../"), !text.contains("/./") { found.insert(text) }
            }
        }
        return found
    }

    /// The identity of the files a cached pack holds but its key does not cover.
    static func builtinIdentities(_ paths: [String], root: String) -> [String] {
        paths.map { "\($0) \(fileIdentity(root + $0))" }
    }

    /// Size, modification time and inode: changes whenever a package update replaces it.
    static func fileIdentity(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_dev):\(info.st_ino)"
    }

    /// zstd frames of `frameSize` input bytes (`FrameCompressor`), in memory.
    static func compressFrames(_ archive: [UInt8], level: Int32 = zstdLevel, frameSize: Int = frameSize) -> [UInt8] {
        var out: [UInt8] = []
        let compressor = FrameCompressor(level: level, frameSize: frameSize) { out.append(contentsOf: $0) }
        // Appending to an array cannot fail.
        try! archive.withUnsafeBytes { try compressor.append($0) }
        try! compressor.finish()
        return out
    }

    static func archive(entries: [ArchiveEntry], loadOrder: [String]) throws -> [UInt8] {
        try ArchiveWriter.write(entries: entries, metadata: Array(loadOrder.map { $0 + "\n" }.joined().utf8))
    }

    static func make(archive: [UInt8], compressed: [UInt8], codec: Codec, selfContained: Bool) -> RuntimePack {
        RuntimePack(compressed: compressed, uncompressedSize: archive.count,
                    digest: Array(SHA256.hash(data: compressed)), selfContained: selfContained, codec: codec)
    }
}

/// Prepared self-contained packs, one file per input key, under the user's cache
/// directory ($XDG_CACHE_HOME/bundle/packs, else ~/.cache/bundle/packs). Written to a
/// temporary file and renamed, so readers see a whole pack or none; checked (layout,
/// sizes, CRC-32) before reuse, so a damaged file is rebuilt, not shipped.
///
/// File layout (little-endian): magic "BNDLPACK", u32 revision, u32 text length T,
/// u64 uncompressed size, u64 compressed size, u32 CRC-32 of the compressed bytes,
/// u8 codec, 3 bytes 0, 32-byte digest, T bytes of text (builtin paths and their file
/// identities, one per line), then the compressed runtime section.
public struct PackCache: Sendable {
    public var directory: String

    static let magic = Array("BNDLPACK".utf8)
    static let headerSize = 72

    public init(directory: String) {
        self.directory = directory
    }

    /// The default location, or nil when the environment names none.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> PackCache? {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return PackCache(directory: xdg + "/bundle/packs")
        }
        if let home = environment["HOME"], home.hasPrefix("/") {
            return PackCache(directory: home + "/.cache/bundle/packs")
        }
        return nil
    }

    struct Entry {
        var pack: RuntimePack
        var builtinPaths: [String]
        var builtins: [String]
    }

    func path(key: String) -> String { directory + "/" + key + ".pack" }

    func load(key: String) -> Entry? {
        let path = path(key: key)
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid(),
              (info.st_mode & 0o022) == 0, let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic,
              bytes.integer(UInt32.self, at: 8) == UInt32(RuntimePack.packRevision) else { return nil }
        let textLength = Int(bytes.integer(UInt32.self, at: 12))
        let uncompressedSize = Int(clamping: bytes.integer(UInt64.self, at: 16))
        let compressedSize = Int(clamping: bytes.integer(UInt64.self, at: 24))
        guard textLength <= bytes.count - Self.headerSize,
              compressedSize == bytes.count - Self.headerSize - textLength,
              let codec = Codec(rawValue: bytes[36]) else { return nil }
        let compressed = Array(bytes[(Self.headerSize + textLength)...])
        guard Checksum.crc32(compressed) == bytes.integer(UInt32.self, at: 32) else { return nil }
        let lines = String(decoding: bytes[Self.headerSize..<Self.headerSize + textLength], as: UTF8.self)
            .split(separator: "\n").map(String.init)
        let pack = RuntimePack(compressed: compressed, uncompressedSize: uncompressedSize,
                               digest: Array(bytes[40..<72]), selfContained: true, codec: codec)
        utimensat(AT_FDCWD, path, nil, 0)  // recently used: kept by `prune`
        return Entry(pack: pack, builtinPaths: lines.map { String($0.split(separator: " ")[0]) }, builtins: lines)
    }

    /// Best effort: a cache that cannot be written only makes the next run slow.
    func store(key: String, pack: RuntimePack, builtinPaths: [String], builtins: [String]) {
        guard makeDirectories() else { return }
        let text = Array(builtins.map { $0 + "\n" }.joined().utf8)
        var header: [UInt8] = Self.magic
        header.appendInteger(UInt32(RuntimePack.packRevision))
        header.appendInteger(UInt32(text.count))
        header.appendInteger(UInt64(pack.uncompressedSize))
        header.appendInteger(UInt64(pack.compressed.count))
        header.appendInteger(Checksum.crc32(pack.compressed))
        header += [pack.codec.rawValue, 0, 0, 0]
        header += pack.digest
        try? OutputWriter.write([header, text, pack.compressed], to: path(key: key), mode: 0o600)
        prune(keeping: key)
    }

    /// Packs kept besides the one just stored: enough for a few libnode or bundle
    /// versions side by side; each is ~25 MB.
    static let kept = 3

    /// Removes all but the most recently used packs (and temporary files of writers
    /// that died more than an hour ago).
    func prune(keeping key: String) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return }
        var packs: [(path: String, used: Date)] = []
        for name in names {
            let path = directory + "/" + name
            guard let used = (try? manager.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
            if name.hasSuffix(".pack"), name != key + ".pack" {
                packs.append((path, used))
            } else if name.hasPrefix("."), name.contains(".pack.bundle-"), used.timeIntervalSinceNow < -3600 {
                try? manager.removeItem(atPath: path)
            }
        }
        for old in packs.sorted(by: { $0.used > $1.used }).dropFirst(Self.kept) {
            try? manager.removeItem(atPath: old.path)
        }
    }

    private func makeDirectories() -> Bool {
        var current = ""
        for part in directory.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}
