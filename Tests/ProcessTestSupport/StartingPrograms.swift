import Foundation

extension Process {
    /// `run()`, retried while the kernel says the program is busy (ETXTBSY).
    ///
    /// A test that writes an executable itself (a damaged copy of an output) holds a
    /// write descriptor for a moment; a fork on another test's thread in that moment
    /// inherits it, and until that child calls exec the file counts as open for
    /// writing, so starting it fails. The window closes within milliseconds.
    public func runOnceNotBusy() throws {
        var attempt = 0
        while true {
            do { return try run() } catch let error as NSError {
                let cause = error.userInfo[NSUnderlyingErrorKey] as? NSError
                guard cause?.domain == NSPOSIXErrorDomain, cause?.code == Int(ETXTBSY), attempt < 100 else { throw error }
                attempt += 1
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }
}
