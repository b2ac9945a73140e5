import CLibc

/// Stops an app that starts itself without end: a start is refused when this very
/// executable is already running `limit` times among the process's ancestors.
///
/// A child of the app reads its command line as node would (embed.cc, "Children of
/// the app"), so the shapes that used to loop (a shell mangling a path, a missing
/// script) now end like under node. This guard is for what remains: an app whose code
/// starts itself unconditionally, a command line that reaches the app again through
/// other programs (`sh -c 'app …'` naming it by its PATH name), anything not foreseen.
/// It counts ancestors that are alive, not generations, so a daemon that restarts itself
/// (the new copy outlives the old one) is never refused. Without /proc it cannot look,
/// and lets the app start.
enum SelfSpawnGuard {
    /// Far above any real nesting (a fork of a fork of a cluster worker is 3), far
    /// below what exhausts a machine.
    static let limit = 32
    /// How far up the ancestor chain to look: the chain ends at pid 1 long before.
    static let maximumDepth = 4096

    static func check() throws(LauncherError) {
        var own = stat()
        guard stat("/proc/self/exe", &own) == 0 else { return }
        var copies = 0
        var pid = getppid()
        for _ in 0..<maximumDepth where pid > 1 {
            var info = stat()
            if stat("/proc/\(pid)/exe", &info) == 0, info.st_dev == own.st_dev, info.st_ino == own.st_ino {
                copies += 1
                if copies >= limit {
                    throw .refused("it is already running \(limit) times among its own parent processes "
                        + "(it keeps starting itself); not starting again")
                }
            }
            guard let parent = parentPid(of: pid) else { return }
            pid = parent
        }
    }

    /// Field 4 of /proc/<pid>/stat, after the command name in parentheses (which may
    /// itself hold spaces and parentheses: the last ')' ends it).
    static func parentPid(of pid: pid_t) -> pid_t? {
        guard let text = Disk.readSmallFile("/proc/\(pid)/stat", limit: 4096),
              let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }
}
