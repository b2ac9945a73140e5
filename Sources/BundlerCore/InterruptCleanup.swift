import FoundationEssentials
import Glibc

/// Files and (empty once those are gone) directories removed if `bundle` is interrupted
/// (SIGINT, SIGTERM, SIGHUP) while they are registered, so a Ctrl-C while a large output
/// is written leaves no half-written temporary file behind. The process then ends by the same signal, as it would have.
enum InterruptCleanup {
    private static let capacity = 16
    /// Read by the signal handler: C strings that are never freed (a handler must not
    /// see freed memory), in slots that are set and cleared under `lock`.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        // The handler reads `slots`: run on this thread before this initializer returned,
        // it would wait for the initializer forever. So the signals stay blocked here
        // until `slots` exists (`installedSlots` unblocks them).
        var handled = handledSignals
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                // Files first, then directories (emptied by then), whatever the order of
                // registration.
                for index in 0..<InterruptCleanup.capacity {
                    if let path = InterruptCleanup.slots[index] { unlink(path) }
                }
                for index in 0..<InterruptCleanup.capacity {
                    if let path = InterruptCleanup.slots[index] { rmdir(path) }
                }
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        return slots
    }()
    private static var handledSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, signal) }
        return set
    }
    /// A parent may hand its signal mask down by accident (a test runner's threads block
    /// these), and `slots` blocks them while it is made; node unblocks them too. A signal
    /// that was pending meanwhile is handled now, with `slots` there.
    private static let unblocked: Void = {
        var handled = handledSignals
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }()

    private static func installedSlots() -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let made = slots
        _ = unblocked
        return made
    }
    private static let lock = Lock()

    /// Creates a new file (opened for writing, mode 0600) or directory (mode 0700) named
    /// `prefix` and a random suffix, as mkstemp and mkdtemp do, but registered before it
    /// exists, so that no interrupt, on whichever thread it lands, can fall between its
    /// creation and its registration. The slot unregisters it; `fd` is -1 for a directory.
    static func createTemporary(_ prefix: String, directory: Bool) throws(CreateError) -> (path: String, fd: Int32, slot: Int?) {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        while true {
            let path = prefix + String((0..<10).map { _ in letters.randomElement()! })
            let slot = register(path)
            if directory {
                if mkdir(path, 0o700) == 0 { return (path, -1, slot) }
            } else {
                let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                if fd >= 0 { return (path, fd, slot) }
            }
            let error = errno
            unregister(slot)
            guard error == EEXIST else { throw CreateError(errno: error) }
        }
    }

    struct CreateError: Error {
        let errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }

    /// Registers `path`; the returned slot unregisters it. Nil when every slot is taken
    /// (then the file is simply not cleaned up).
    static func register(_ path: String) -> Int? {
        let slots = installedSlots()
        lock.lock()
        defer { lock.unlock() }
        guard let index = (0..<capacity).first(where: { slots[$0] == nil }) else { return nil }
        slots[index] = strdup(path)
        return index
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        slots[slot] = nil
        lock.unlock()
    }
}
