import FoundationEssentials
import Glibc
import PayloadFormat

/// Writes the output atomically: a temporary file in the same directory, made
/// executable (or given `mode`), then renamed over the target. A failure leaves
/// nothing behind.
enum OutputWriter {
    static func write(_ parts: [[UInt8]], to path: String, mode: mode_t = 0o755) throws {
        try write(to: path, mode: mode) { file in
            for part in parts { try file.append(part) }
        }
    }

    /// `body` appends the output's bytes in order; nothing appears at `path` unless it
    /// returns. Bytes go to the disk as they come, so the output is never in memory whole.
    static func write(to path: String, mode: mode_t = 0o755, _ body: (OutputFile) throws -> Void) throws {
        let directory = Path.dirname(path)
        let (temporary, fd, cleanup): (String, Int32, Int?)
        do {
            (temporary, fd, cleanup) = try InterruptCleanup.createTemporary(directory + "/.\(Path.basename(path)).bundle-", directory: false)
        } catch {
            throw BundleError.writeFailed(path, error.description)
        }
        defer { InterruptCleanup.unregister(cleanup) }
        do {
            try body(OutputFile(fd: fd, path: path))
            guard fchmod(fd, mode) == 0, fsync(fd) == 0 else { throw BundleError.writeFailed(path, String(cString: strerror(errno))) }
            close(fd)
            guard rename(temporary, path) == 0 else { throw BundleError.writeFailed(path, String(cString: strerror(errno))) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// The output being written (`write(to:)`): bytes are appended in order.
    final class OutputFile {
        let fd: Int32
        /// The final path, for error messages.
        let path: String

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        func append(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try append($0) }
        }

        func append(_ buffer: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw BundleError.writeFailed(path, String(cString: strerror(errno))) }
                offset += written
            }
        }
    }

    /// Whether the file at `path` ends like a bundled app, so overwriting it is a rebuild.
    static func isBundledApp(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= Format.trailerSize else { return false }
        var end = [UInt8](repeating: 0, count: 8)
        return pread(fd, &end, 8, info.st_size - 8) == 8 && end == Format.trailerEndMagic
    }
}
