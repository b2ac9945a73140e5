import CLauncherSupport
import CLibc
import PayloadFormat

/// The app archive, inflated frame by frame on first use instead of all at start.
///
/// The app section is a zstd stream of independent frames (`Bundler.appFrameSize` of
/// archive each). The archive gets an address range of its full size at once
/// (anonymous memory the kernel backs only where written), the index frames are
/// inflated at start, and a file's frames when the bootstrap first reads it (through
/// `ensure`, which the shim exposes to JavaScript as `ensureArchive`). An app that reads
/// 11 MB of a 69 MB archive (TypeScript's transpileModule) inflates and keeps 11 MB.
///
/// The bundler's frames carry zstd content checksums, which the decoder checks as each
/// frame is inflated: damage is found before any of its bytes is used. Where they lie
/// comes from the frame index at the section's end (`FrameIndex`). So a start reads
/// neither the whole section (to checksum it) nor every frame's block headers (to find
/// the frames): a never-read 100 MB asset cost ~60 ms of CPU at every start (README).
/// A section without an index is walked, and checked whole first unless every frame
/// has a checksum.
final class LazyArchive: @unchecked Sendable {
    /// The archive of the running app, for `ensureArchive` (set once, before node starts).
    nonisolated(unsafe) static var current: LazyArchive?

    let bytes: UnsafeRawBufferPointer
    private let input: UnsafeRawBufferPointer
    private let frames: [(input: Range<Int>, output: Range<Int>)]
    private var inflated: [Bool]
    /// Frames from a frame index, which must carry checksums (Format.swift): the section
    /// was not checked whole.
    private let checksumsRequired: Bool
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    /// Nil when the section is not a multi-frame zstd stream (then inflate it whole).
    init?(_ section: Section, of image: SelfImage) throws(LauncherError) {
        guard section.codec == .zstd else { return nil }
        let compressed = image.compressed(section)
        let found: [(input: Range<Int>, size: Int)]
        let source: UnsafeRawBufferPointer
        let indexed: [(input: Range<Int>, size: Int)]?
        do {
            indexed = try FrameIndex.frames(of: compressed)
        } catch {
            throw .damaged("app section: \(error.description)")
        }
        if let indexed {
            found = indexed
            source = compressed
        } else {
            // No index: walk the frames. An app should not carry its compressed archive in
            // its memory: the walks over it drop what they read (the kernel maps pages
            // around each one touched, so even reading block headers maps much of it).
            var checksummed = true
            guard let walked = try? Zstd.frames(compressed, walked: { frame in
                checksummed = checksummed && Zstd.hasContentChecksum(frame)
                SelfImage.dropPages(frame)
            }) else { return nil }
            found = walked
            source = checksummed ? compressed : try image.checkedCompressed(section, name: "app", droppingPages: true)
        }
        guard found.count > 1 else { return nil }
        checksumsRequired = indexed != nil
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
    /// frame does not inflate (damaged: its checksum, or the section's, does not match).
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
                let source = UnsafeRawBufferPointer(rebasing: input[frame.input])
                let target = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: bytes[frame.output]))
                guard !checksumsRequired || Zstd.hasContentChecksum(source) else { return false }
                do {
                    try Zstd.decompress(source, into: target)
                } catch {
                    return false
                }
                inflated[index] = true
                SelfImage.dropPages(source)
            }
            index += 1
        }
        return true
    }

    /// Gives back the memory of the frames that lie wholly inside `file` and end inside
    /// `passed` (bytes a reader has just gone past), so an app that streams a large
    /// asset holds a frame of it at a time, not all of it. They are inflated again if
    /// read again. Only for bytes no one holds a view of (the bootstrap copies what it
    /// hands to the app, and stops releasing once threads share the archive).
    func release(_ file: Range<Int>, passed: Range<Int>) {
        guard file.lowerBound >= 0, file.upperBound <= bytes.count else { return }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for (index, frame) in frames.enumerated() where inflated[index] && frame.output.lowerBound >= file.lowerBound
            && frame.output.upperBound <= file.upperBound && passed.lowerBound < frame.output.upperBound
            && frame.output.upperBound <= passed.upperBound {
            // Whole pages only (the bundler's frames are): they read as zeros until
            // inflated again, and a page shared with the next frame must stay.
            guard frame.output.lowerBound % SelfImage.pageSize == 0,
                  frame.output.upperBound % SelfImage.pageSize == 0 || frame.output.upperBound == bytes.count else { continue }
            madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress! + frame.output.lowerBound), frame.output.count, MADV_DONTNEED)
            inflated[index] = false
        }
    }

    func ensure(_ data: UnsafeRawBufferPointer) -> Bool {
        guard let start = data.baseAddress, let base = bytes.baseAddress else { return data.isEmpty }
        let offset = start - base
        return ensure(offset..<offset + data.count)
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
