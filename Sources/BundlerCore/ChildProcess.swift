import Glibc

/// Runs a program to its end: node for code caches, esbuild for TypeScript. Its stdin is
/// fed from bytes, its stdout and stderr collected or sent to /dev/null, all in one
/// poll loop, so no pipe can fill up and stall either side whatever the program does.
/// (Foundation's Process is not in FoundationEssentials, which is all `bundle` links.)
struct ChildProcess {
    enum Termination: Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    struct Result {
        var termination: Termination
        var output: [UInt8]
        var errors: [UInt8]
    }

    /// Why the program could not be started (`strerror` of posix_spawn's answer).
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// How the program ended and what it wrote; throws when it could not start.
    /// `input` nil means /dev/null on stdin; a program that stops reading early only ends
    /// the feeding (EPIPE, not SIGPIPE: `bundle` ignores SIGPIPE).
    static func run(_ executable: String, arguments: [String], environment: [String: String], input: [UInt8]? = nil,
                    collectOutput: Bool = true, collectErrors: Bool = true) throws(StartFailure) -> Result {
        ignoreBrokenPipes
        // Until the pipes are close-on-exec, another thread's child would inherit them
        // (and a reader here would wait for that child too): pipes are made and programs
        // started one thread at a time.
        var (pid, parentEnds) = try spawning.withLock { () throws(StartFailure) in
            try spawn(executable, arguments, environment, input != nil, collectOutput, collectErrors)
        }
        var output: [UInt8] = [], errors: [UInt8] = []
        exchange(input: input ?? [], with: &parentEnds, output: &output, errors: &errors)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termination: Termination = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        return Result(termination: termination, output: output, errors: errors)
    }

    private static let spawning = Lock()

    /// The started program and this side's ends of its descriptors 0, 1 and 2 (-1 where
    /// it has /dev/null).
    private static func spawn(_ executable: String, _ arguments: [String], _ environment: [String: String], _ feedInput: Bool,
                              _ collectOutput: Bool, _ collectErrors: Bool) throws(StartFailure) -> (pid_t, [Int32]) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Parent ends, in the order of the child's descriptors 0, 1, 2 (-1: /dev/null).
        var parentEnds: [Int32] = [-1, -1, -1]
        var childEnds: [Int32] = []
        var started = false
        defer { for fd in childEnds + (started ? [] : parentEnds) where fd >= 0 { close(fd) } }
        for (target, wanted) in [(Int32(0), feedInput), (1, collectOutput), (2, collectErrors)] {
            guard wanted else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                continue
            }
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { throw StartFailure(description: String(cString: strerror(errno))) }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            let (childEnd, parentEnd) = target == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
            childEnds.append(childEnd)
            parentEnds[Int(target)] = parentEnd
            posix_spawn_file_actions_adddup2(&actions, childEnd, target)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // SIGPIPE is ignored here and an ignored signal stays ignored across exec; a
        // signal mask a thread of ours has is not the program's either.
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let answer = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard answer == 0 else { throw StartFailure(description: String(cString: strerror(answer))) }
        started = true
        return (pid, parentEnds)
    }

    /// Writes `input` to descriptor 0's end and reads 1's and 2's until all three are
    /// done, closing each as it ends.
    private static func exchange(input: [UInt8], with ends: inout [Int32], output: inout [UInt8], errors: inout [UInt8]) {
        if ends[0] >= 0 {
            _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
            if input.isEmpty { close(ends[0]); ends[0] = -1 }
        }
        var written = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ends.contains(where: { $0 >= 0 }) {
            var polled = ends.enumerated().map { index, fd in
                pollfd(fd: fd, events: Int16(index == 0 ? POLLOUT : POLLIN), revents: 0)
            }
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for (index, entry) in polled.enumerated() where entry.fd >= 0 && entry.revents != 0 {
                if index == 0 {
                    let count = input[written...].withUnsafeBytes { write(entry.fd, $0.baseAddress, $0.count) }
                    if count > 0 { written += count }
                    if written == input.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                        close(entry.fd)
                        ends[0] = -1
                    }
                } else {
                    let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                    if count > 0 {
                        if index == 1 { output += buffer[..<count] } else { errors += buffer[..<count] }
                    } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        close(entry.fd)
                        ends[index] = -1
                    }
                }
            }
        }
    }

    /// Writing into the pipe of a child that exited without reading it must fail with
    /// EPIPE, not kill `bundle` with SIGPIPE: ignored once for the whole process.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()
}
