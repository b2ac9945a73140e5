import Foundation

extension Process {
    /// `run()`, retried while the kernel says the program is busy (ETXTBSY).
    ///
    /// A test that writes an executable itself (a damaged copy of an output) holds a
    /// write descriptor for a moment; a fork on another test's thread in that moment
    /// inherits it, and until that child calls exec the file counts as open for
    /// writing, so starting it fails. With `writeExecutable` (close-on-exec) the window
    /// closes within milliseconds; a descriptor without it would stay open in that child
    /// for as long as it runs.
    public func runOnceNotBusy() throws {
        var attempt = 0
        while true {
            do { return try run() } catch let error as NSError {
                let cause = error.userInfo[NSUnderlyingErrorKey] as? NSError
                guard cause?.domain == NSPOSIXErrorDomain, cause?.code == Int(ETXTBSY), attempt < 500 else { throw error }
                attempt += 1
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }
}

/// Writes an executable the test made itself (a damaged copy of an output) through a
/// close-on-exec descriptor, so no child another test starts meanwhile keeps it open
/// for writing (ETXTBSY for as long as that child runs).
public func writeExecutable(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        if result < 0 && errno == EINTR { continue }
        guard result > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        written += result
    }
}

/// Copies an executable (an output installed into a test root) the way `writeExecutable`
/// writes one: FileManager's copy writes through a descriptor a child started meanwhile
/// could inherit.
public func copyExecutable(_ source: String, to destination: String) throws {
    guard let data = FileManager.default.contents(atPath: source) else { throw POSIXError(.ENOENT) }
    try writeExecutable([UInt8](data), to: destination)
}
