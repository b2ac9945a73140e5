import CLauncherSupport
import CLibc

/// Thin, throwing wrappers over the POSIX calls the runtime cache needs.
enum Disk {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func lstatus(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// A directory only we can write: not a symlink, owned by us, no group/other write.
    static func isPrivateDirectory(_ path: String) -> Bool {
        guard let info = lstatus(path) else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR && info.st_uid == getuid() && (info.st_mode & 0o022) == 0
    }

    /// Creates `path` (0700) unless it exists, then insists it is private to us.
    static func makePrivateDirectory(_ path: String) -> Bool {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { return false }
        return isPrivateDirectory(path)
    }

    /// Whether `path` is on a file system mounted noexec, where dlopen cannot map code.
    static func isNoExec(_ path: String) -> Bool {
        launcher_is_noexec(path) != 0
    }

    /// Takes an exclusive lock on `path` (created 0600, never a symlink), waiting for
    /// it. Returns the descriptor, or -1 when locking is impossible (then the caller
    /// goes on unlocked: extraction is atomic anyway, only possibly repeated).
    static func lock(_ path: String) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return -1 }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                close(fd)
                return -1
            }
        }
        return fd
    }

    static func unlock(_ fd: Int32) {
        if fd >= 0 { close(fd) }
    }

    static func makeParents(of path: String, under root: String) -> Bool {
        var current = root
        let relative = path.dropFirst(root.count + 1).split(separator: "/").dropLast()
        for part in relative {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    static func writeFile(_ path: String, _ data: UnsafeRawBufferPointer, mode: mode_t) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return writeAll(fd, data)
    }

    /// In pieces of at most `writeChunk` bytes: the kernel sizes the page cache's folios
    /// by the writes that fill them, and a library written in one 73 MB write sits in
    /// large folios, which are mapped whole when any page of them is touched: every
    /// process loading it then counts far more resident memory (hello's peak RSS right
    /// after the runtime was extracted: 82.7 MB, against 59.1 MB once the page cache had
    /// been dropped and read back).
    static let writeChunk = 64 << 10

    static func writeAll(_ fd: Int32, _ data: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < data.count {
            let written = write(fd, data.baseAddress! + offset, min(data.count - offset, writeChunk))
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    static func readSmallFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
            if result.count > limit { return nil }
        }
    }

    /// The names in a directory, without "." and "..".
    static func names(in path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a directory tree without following symlinks.
    static func removeTree(_ path: String) {
        if let info = lstatus(path), (info.st_mode & S_IFMT) == S_IFDIR {
            for name in names(in: path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
