import CLibc

/// Why the launcher could not start the app. Printed as one line, never a crash.
enum LauncherError: Error {
    /// The file itself is damaged: truncated, bit-flipped, appended to.
    case damaged(String)
    /// The runtime could not be made available or loaded.
    case runtime(String)
    /// Starting would do harm (`SelfSpawnGuard`).
    case refused(String)

    /// Distinct exit codes so scripts can tell "bad file" from "app failed".
    var exitCode: Int32 {
        switch self {
        case .damaged: return 65  // EX_DATAERR
        case .runtime: return 69  // EX_UNAVAILABLE
        case .refused: return 75  // EX_TEMPFAIL: fine once the loop above it ends
        }
    }

    func report(executable: String) {
        let line: String
        switch self {
        case .damaged(let why): line = "\(executable) is damaged: \(why)\n"
        case .runtime(let why): line = "\(executable): cannot start the node runtime: \(why)\n"
        case .refused(let why): line = "\(executable): \(why)\n"
        }
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

func systemError(_ what: String) -> String {
    "\(what): \(String(cString: strerror(errno)))"
}
