import CLauncherSupport
import Glibc
import PayloadFormat

/// The app archive, inflated frame by frame on first use instead of all at start.
///
/// The app section is a zstd stream of independent frames (`Bundler.appFrameSize` of
/// archive each). The archive gets an address range of its full size at once
/// (anonymous memory the kernel backs only where written), the index frames are
/// inflated at start, and a file's frames when the bootstrap first reads it (through
/// `ensure`, which the shim exposes to JavaScript as `ensureArchive`). An app that reads
/// 11 MB of a 69 MB archive (TypeScript's transpileModule) inflates and keeps 11 MB.
final class LazyArchive: @unchecked Sendable {
    /// The archive of the running app, for `ensureArchive` (set once, before node starts).
    nonisolated(unsafe) static var current: LazyArchive?

    let bytes: UnsafeRawBufferPointer
    private let input: UnsafeRawBufferPointer
    private let frames: [(input: Range<Int>, output: Range<Int>)]
    private var inflated: [Bool]
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    /// Nil when the section is not a multi-frame zstd stream (then inflate it whole).
    init?(_ section: Section, of image: SelfImage) throws(LauncherError) {
        guard section.codec == .zstd, let found = try? Zstd.frames(image.compressed(section)), found.count > 1 else { return nil }
        let source = try image.checkedCompressed(section, name: "app")
        Self.release(source)
        var frames: [(input: Range<Int>, output: Range<Int>)] = []
        var offset = 0
        for frame in found {
            frames.append((frame.input, offset..<offset + frame.size))
            offset += frame.size
        }
        guard offset == section.uncompressedSize else { throw .damaged("app section: frames do not add up to its size") }
        guard let memory = mmap(nil, max(offset, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              memory != MAP_FAILED else {
            throw .runtime(systemError("cannot reserve memory for the app archive"))
        }
        bytes = UnsafeRawBufferPointer(start: memory, count: offset)
        input = source
        self.frames = frames
        inflated = Array(repeating: false, count: frames.count)
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        try inflateIndex()
    }

    /// Makes bytes `range` of the archive readable. False when they lie outside it or a
    /// frame does not inflate (damage the checksum did not catch).
    func ensure(_ range: Range<Int>) -> Bool {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return false }
        guard !range.isEmpty else { return true }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        var low = 0, high = frames.count - 1
        while low < high {  // the first frame that ends after range.lowerBound
            let middle = (low + high) / 2
            if frames[middle].output.upperBound <= range.lowerBound { low = middle + 1 } else { high = middle }
        }
        var index = low
        while index < frames.count, frames[index].output.lowerBound < range.upperBound {
            if !inflated[index] {
                let frame = frames[index]
                let target = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: bytes[frame.output]))
                do {
                    try Zstd.decompress(UnsafeRawBufferPointer(rebasing: input[frame.input]), into: target)
                } catch {
                    return false
                }
                inflated[index] = true
                Self.release(UnsafeRawBufferPointer(rebasing: input[frame.input]))
            }
            index += 1
        }
        return true
    }

    func ensure(_ data: UnsafeRawBufferPointer) -> Bool {
        guard let start = data.baseAddress, let base = bytes.baseAddress else { return data.isEmpty }
        let offset = start - base
        return ensure(offset..<offset + data.count)
    }

    /// Drops the pages of `bytes` (of the mapped executable, so read again from the file
    /// if ever needed) from this process's memory: checking the section's checksum reads
    /// all of it, and an app should not carry its compressed archive in its RSS.
    private static func release(_ bytes: UnsafeRawBufferPointer) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let start = bytes.baseAddress, bytes.count >= page else { return }
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes.count) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    }

    /// The header, the metadata and the entry records (what `ArchiveReader` reads).
    private func inflateIndex() throws(LauncherError) {
        func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) throws(LauncherError) -> T {
            guard ensure(offset..<offset + MemoryLayout<T>.size) else { throw .damaged("app section: truncated archive index") }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let count = Int(try integer(UInt32.self, at: 12))
        let metadataLength = Int(try integer(UInt32.self, at: 16))
        var cursor = Format.archiveHeaderSize + metadataLength
        guard ensure(0..<min(cursor, bytes.count)) else { throw .damaged("app section: truncated archive index") }
        for _ in 0..<min(count, bytes.count / Format.entryRecordSize) {
            let pathLength = Int(try integer(UInt32.self, at: cursor + 4))
            let end = cursor + Format.entryRecordSize + pathLength
            guard ensure(cursor..<min(end, bytes.count)) else { throw .damaged("app section: truncated archive index") }
            cursor = end
        }
    }
}
