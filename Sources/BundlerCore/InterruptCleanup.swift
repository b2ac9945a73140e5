import Foundation

/// Files removed if `bundle` is interrupted (SIGINT, SIGTERM, SIGHUP) while they are
/// registered, so a Ctrl-C while a large output is written leaves no half-written
/// temporary file behind. The process then ends by the same signal, as it would have.
enum InterruptCleanup {
    private static let capacity = 16
    /// Read by the signal handler: C strings that are never freed (a handler must not
    /// see freed memory), in slots that are set and cleared under `lock`.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        // A parent may hand its signal mask down by accident (a test runner's threads
        // block these); node unblocks them too.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            sigaddset(&unblocked, signal)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                for index in 0..<InterruptCleanup.capacity {
                    if let path = InterruptCleanup.slots[index] { unlink(path) }
                }
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        return slots
    }()
    private static let lock = NSLock()

    /// Registers `path`; the returned slot unregisters it. Nil when every slot is taken
    /// (then the file is simply not cleaned up).
    static func register(_ path: String) -> Int? {
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
