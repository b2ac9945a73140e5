import Crypto
import FoundationEssentials
import Glibc
import PayloadFormat

/// What the bundler needs from the disk. Tests use `InMemoryFileSystem`.
public protocol FileSystem: Sendable {
    func kind(of path: String) -> FileKind?
    func contents(of path: String) throws -> [UInt8]
    /// Passes the file's bytes to `body` in pieces of at most `pieceSize` bytes, so a
    /// large file is never in memory whole; each piece is valid only during its call.
    func read(_ path: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
    /// The file's size in bytes (nil if it cannot be found).
    func size(of path: String) -> Int?
    /// Names in a directory, sorted, so every walk is deterministic.
    func children(of path: String) throws -> [String]
    /// The path with every symbolic link resolved, as node sees a module (nil if it
    /// cannot be found).
    func realPath(of path: String) -> String?
    /// Whether the file has an executable bit (the only permission the archive keeps).
    func isExecutable(_ path: String) -> Bool
}

extension FileSystem {
    public func isExecutable(_ path: String) -> Bool { false }
}

public enum FileKind: Sendable {
    case file, directory
    /// A FIFO, socket or device: never read (reading it may block, or never end).
    case special
}

public struct LocalFileSystem: FileSystem {
    public init() {}

    public func kind(of path: String) -> FileKind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .special
        }
    }

    public func contents(of path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleError.unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        // The size is a hint (the file may change while it is read): read to the end.
        var bytes = [UInt8](repeating: 0, count: fstat(fd, &info) == 0 ? max(Int(info.st_size), 0) + 1 : 65536)
        var filled = 0
        while true {
            if filled == bytes.count { bytes += [UInt8](repeating: 0, count: bytes.count) }
            let count = bytes[filled...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw BundleError.unreadable(path, String(cString: strerror(errno))) }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    public func read(_ path: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleError.unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, pieceSize)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw BundleError.unreadable(path, String(cString: strerror(errno))) }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    public func size(of path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    public func children(of path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    public func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & 0o111 != 0
    }

    public func realPath(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Files in memory, keyed by absolute path; directories are implied. `links` are
/// symbolic links (absolute path → target, relative to the link's directory or absolute),
/// followed as the kernel does.
public struct InMemoryFileSystem: FileSystem {
    public var files: [String: [UInt8]]
    public var links: [String: String]

    public init(_ files: [String: String], links: [String: String] = [:]) {
        self.files = files.mapValues { Array($0.utf8) }
        self.links = links
    }

    public func kind(of path: String) -> FileKind? {
        guard let path = realPath(of: path) else { return nil }
        if files[path] != nil { return .file }
        return path == "/" || files.keys.contains { $0.hasPrefix(path + "/") } ? .directory : nil
    }

    public func contents(of path: String) throws -> [UInt8] {
        guard let data = realPath(of: path).flatMap({ files[$0] }) else { throw BundleError.unreadable(path, "no such file") }
        return data
    }

    public func read(_ path: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try contents(of: path).forEachPiece(of: pieceSize, body)
    }

    public func size(of path: String) -> Int? { realPath(of: path).flatMap { files[$0]?.count } }

    public func children(of path: String) throws -> [String] {
        guard let real = realPath(of: path) else { return [] }
        let prefix = real.hasSuffix("/") ? real : real + "/"
        let names = (Array(files.keys) + Array(links.keys)).filter { $0.hasPrefix(prefix) }.compactMap {
            $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init)
        }
        return Set(names).sorted()
    }

    /// Resolves links part by part; nil for a loop (after 40 links, as Linux gives ELOOP).
    public func realPath(of path: String) -> String? {
        var resolved = "/"
        var pending = Path.normalize(path).split(separator: "/").map(String.init)
        var followed = 0
        while !pending.isEmpty {
            let candidate = Path.join(resolved, pending.removeFirst())
            guard let target = links[candidate] else { resolved = candidate; continue }
            followed += 1
            guard followed <= 40 else { return nil }
            let absolute = Path.join(resolved, target)
            pending = absolute.split(separator: "/").map(String.init) + pending
            resolved = "/"
        }
        return files[resolved] != nil || resolved == "/" || files.keys.contains(where: { $0.hasPrefix(resolved + "/") }) ? resolved : nil
    }
}

/// Pure path arithmetic on '/'-separated absolute paths.
enum Path {
    static func join(_ base: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") ? relative : base + "/" + relative)
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "/"
    }

    /// `path` relative to `root` (which must contain it).
    static func relative(_ path: String, to root: String) -> String {
        root == "/" ? String(path.dropFirst()) : String(path.dropFirst(root.count + 1))
    }

    /// The relative path a symbolic link in `directory` needs to name `target` (both absolute).
    static func relativeLink(from directory: String, to target: String) -> String {
        let from = directory.split(separator: "/"), to = target.split(separator: "/")
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        let parts = Array(repeating: "..", count: from.count - common) + to[common...].map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    static func isInside(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// The folder the app's files are shown relative to: the parent of their top folder,
    /// so that folder's own name is kept (`<virtual root>/<name>/…`). When the files
    /// share no folder outside `node_modules` (an entry inside a package), the top
    /// folder is the one holding the outermost `node_modules`, so the package keeps its
    /// place in it and can require itself by name as under node.
    static func appRoot(_ paths: [String]) -> String {
        var top = commonAncestor(paths)
        if let range = (top + "/").firstRange(of: "/node_modules/") { top = String(top[..<range.lowerBound]) }
        return top.isEmpty || top == "/" ? "/" : dirname(top)
    }

    static func commonAncestor(_ paths: [String]) -> String {
        guard var common = paths.first.map(dirname) else { return "/" }
        for path in paths.dropFirst() {
            while !isInside(path, common) { common = dirname(common) }
        }
        return common
    }
}

extension FileSystem {
    /// Every file below `directory`, skipping dot-directories such as .git, symlink
    /// loops and, unless `packages`, `node_modules` (packages are collected on their own).
    /// FIFOs, sockets and devices are left out and passed to `special`.
    func filesBelow(_ directory: String, canonical: (String) -> String, packages: Bool = false,
                    special: (String) -> Void = { _ in }) -> [String] {
        var result: [String] = []
        var visited: Set<String> = []
        func walk(_ path: String) {
            guard visited.insert(canonical(path)).inserted, let names = try? children(of: path) else { return }
            for name in names {
                let child = path + "/" + name
                switch kind(of: child) {
                case .file: result.append(child)
                case .directory where (packages || name != "node_modules") && !name.hasPrefix("."): walk(child)
                case .special: special(child)
                default: break
                }
            }
        }
        walk(directory)
        return result
    }
}

/// A file read with `pread`, bounds-checked: a bundled app, or the one-file `bundle`
/// itself, which anyone may have truncated or appended to.
final class CheckedFile {
    let path: String
    let size: Int
    private var fd: Int32

    init(_ path: String) throws {
        self.path = path
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleError.unreadable(path, String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            Glibc.close(fd)
            throw BundleError.unreadable(path, String(cString: strerror(errno)))
        }
        size = Int(info.st_size)
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw BundleError.damaged(path, "truncated (it ends before byte \(offset + count))")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw BundleError.unreadable(path, got == 0 ? "unexpected end of file" : String(cString: strerror(errno))) }
            done += got
        }
        return bytes
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

extension FileSystem {
    /// A file as archive bytes that are read while the output is written
    /// (`StreamedBytes`), so a large asset is never held in memory whole. It is read once
    /// now for its digest (identical files are stored once) and its last bytes; the
    /// second read checks that nothing changed in between.
    func streamed(_ path: String) throws -> (bytes: StreamedBytes, ending: [UInt8]) {
        /// Reads the file once, handing each piece to `each`: its size, digest and last bytes.
        @Sendable func readOnce(_ each: (UnsafeRawBufferPointer) throws -> Void) throws -> (count: Int, digest: [UInt8], ending: [UInt8]) {
            var hasher = SHA256()
            var count = 0
            var ending: [UInt8] = []
            try read(path, pieceSize: 1 << 20) { piece in
                hasher.update(bufferPointer: piece)
                count += piece.count
                ending = Array((ending + piece.suffix(8)).suffix(8))
                try each(piece)
            }
            return (count, Array(hasher.finalize()), ending)
        }
        let first = try readOnce { _ in }
        let bytes = StreamedBytes(count: first.count, identity: first.digest) { emit in
            var count = 0
            let again = try readOnce { piece in
                count += piece.count
                guard count <= first.count else { throw BundleError.inputChanged(path) }
                try emit(piece)
            }
            guard again.count == first.count, again.digest == first.digest else { throw BundleError.inputChanged(path) }
        }
        return (bytes, first.ending)
    }
}

extension [UInt8] {
    /// Hands the bytes to `body` in order, `size` at a time (the last piece may be shorter).
    func forEachPiece(of size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try withUnsafeBytes { buffer in
            for start in stride(from: 0, to: buffer.count, by: size) {
                try body(UnsafeRawBufferPointer(rebasing: buffer[start..<Swift.min(start + size, buffer.count)]))
            }
        }
    }
}
