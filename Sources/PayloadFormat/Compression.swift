import CZlib
import CZstd
#if hasFeature(Embedded)
import CLibc  // the launcher's build (Scripts/build-launcher): Embedded Swift has no Glibc
#else
import Glibc
#endif

public enum Checksum {
    /// `continuing` is the CRC-32 of the bytes before these, so a stream can be
    /// checksummed a piece at a time.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = UInt(previous)
        var rest = bytes
        // zlib takes 32-bit lengths.
        while !rest.isEmpty {
            let chunk = min(rest.count, 1 << 30)
            crc = CZlib.crc32(crc, rest.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(chunk))
            rest = UnsafeRawBufferPointer(rebasing: rest[chunk...])
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }
}

/// zlib streams (RFC 1950). Deterministic for a given zlib version and level.
public enum Zlib {
    public static func compress(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit failed: \(status)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(destination.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "zlib deflate did not finish: \(result)")
            }
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Inflates `input` into `output`, which must be exactly the uncompressed size.
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        guard input.count < Int(UInt32.max), output.count < Int(UInt32.max) else {
            throw .corrupt("section larger than 4 GiB")
        }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let result = inflate(&stream, Z_FINISH)
        guard result == Z_STREAM_END, Int(stream.total_out) == output.count, stream.avail_in == 0 else {
            throw .corrupt("compressed data does not inflate to its recorded size")
        }
    }

}

/// How a section is compressed. Recorded per section in the trailer flags.
public enum Codec: UInt8, Sendable, CaseIterable {
    /// One zlib stream (RFC 1950).
    case zlib = 0
    /// One zstd stream (RFC 8878) of one or more frames, each recording its content
    /// size, so a reader can inflate the frames in parallel.
    case zstd = 1

    /// Inflates `input` into `output`, which must be exactly the uncompressed size.
    /// `threads` is a hint; only zstd streams of several frames use more than one.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                           threads: Int = 1) throws(FormatError) {
        switch self {
        case .zlib: try Zlib.decompress(input, into: output)
        case .zstd: try Zstd.decompress(input, into: output, threads: threads)
        }
    }

    public func decompress(_ input: [UInt8], uncompressedSize: Int) throws(FormatError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: uncompressedSize)
        let failure: FormatError? = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                do throws(FormatError) { try decompress(source, into: destination) } catch { return error }
                return nil
            }
        }
        if let failure { throw failure }
        return output
    }
}

/// Reading zstd streams (RFC 8878); libzstd is linked statically so the launcher needs
/// no libzstd. The writer (BundlerCore's `ZstdWriter`) lives apart so the launcher
/// does not carry the compressor.
public enum Zstd {
    /// The libzstd version linked in, e.g. "10504" for 1.5.4 (output bytes may differ
    /// between versions, so caches of compressed data are keyed by it).
    public static var libraryVersion: String { String(ZSTD_versionNumber()) }

    /// The frames of a zstd stream: where each lies in the input and how many bytes it
    /// inflates to. Every frame must record its content size; skippable frames (a frame
    /// index) are left out. `walked` gets each frame's bytes once they were read (the
    /// launcher drops their pages from memory).
    public static func frames(_ input: UnsafeRawBufferPointer,
                              walked: (UnsafeRawBufferPointer) -> Void = { _ in }) throws(FormatError) -> [(input: Range<Int>, size: Int)] {
        var frames: [(input: Range<Int>, size: Int)] = []
        var offset = 0
        while offset < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
            let length = ZSTD_findFrameCompressedSize(rest.baseAddress, rest.count)
            guard ZSTD_isError(length) == 0, length > 0, length <= rest.count else {
                throw .corrupt("zstd frame at byte \(offset) is damaged")
            }
            if rest.count >= 4, UInt32(littleEndian: rest.loadUnaligned(as: UInt32.self)) & 0xFFFF_FFF0 == UInt32(ZSTD_MAGIC_SKIPPABLE_START) {
                walked(UnsafeRawBufferPointer(rebasing: rest[..<length]))
                offset += length
                continue
            }
            let size = ZSTD_getFrameContentSize(rest.baseAddress, length)
            guard size != ZSTD_CONTENTSIZE_UNKNOWN, size != ZSTD_CONTENTSIZE_ERROR, size <= UInt64(Int.max / 2) else {
                throw .corrupt("zstd frame at byte \(offset) has no content size")
            }
            frames.append((offset..<offset + length, Int(size)))
            walked(UnsafeRawBufferPointer(rebasing: rest[..<length]))
            offset += length
        }
        return frames
    }

    /// Whether the zstd frame starting `frame` ends with a content checksum (RFC 8878:
    /// bit 2 of the frame header descriptor, after the 4-byte magic). zstd's decoder then
    /// checks it, and a frame that inflates to other bytes than were compressed fails.
    public static func hasContentChecksum(_ frame: UnsafeRawBufferPointer) -> Bool {
        frame.count > 4 && UInt32(littleEndian: frame.loadUnaligned(as: UInt32.self)) == UInt32(ZSTD_MAGICNUMBER) && frame[4] & 0x04 != 0
    }

    /// Inflates `input` into `output`, which must be exactly the uncompressed size,
    /// using up to `threads` threads (frames are independent).
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                  threads: Int = 1) throws(FormatError) {
        let frames = try frames(input)
        guard frames.reduce(0, { $0 + $1.size }) == output.count else {
            throw .corrupt("compressed data does not inflate to its recorded size")
        }
        var jobs: [Job] = []
        var outputOffset = 0
        for frame in frames {
            jobs.append(Job(input: UnsafeRawBufferPointer(rebasing: input[frame.input]),
                            output: UnsafeMutableRawBufferPointer(rebasing: output[outputOffset..<outputOffset + frame.size])))
            outputOffset += frame.size
        }
        let batch = Batch(jobs: jobs)
        let helpers = max(0, min(threads, jobs.count, 8) - 1)
        var started: [pthread_t] = []
        for _ in 0..<helpers {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(batch).toOpaque()
            if pthread_create(&thread, nil, { context in
                let batch = Unmanaged<Batch>.fromOpaque(context!).takeRetainedValue()
                batch.work()
                return nil
            }, context) == 0 {
                started.append(thread)
            } else {
                Unmanaged<Batch>.fromOpaque(context).release()
            }
        }
        batch.work()
        for thread in started { pthread_join(thread, nil) }
        if batch.failed { throw .corrupt("compressed data does not inflate to its recorded size") }
    }

    private struct Job {
        let input: UnsafeRawBufferPointer
        let output: UnsafeMutableRawBufferPointer
    }

    /// Frames handed out to threads one at a time. Each thread owns its context.
    private final class Batch: @unchecked Sendable {
        let jobs: [Job]
        private var next = 0
        private(set) var failed = false
        /// Heap-allocated: a mutex must not move, and a stored property may.
        private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

        init(jobs: [Job]) {
            self.jobs = jobs
            lock.initialize(to: pthread_mutex_t())
            pthread_mutex_init(lock, nil)
        }

        deinit {
            pthread_mutex_destroy(lock)
            lock.deallocate()
        }

        private func take() -> Int? {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            guard !failed, next < jobs.count else { return nil }
            next += 1
            return next - 1
        }

        private func fail() {
            pthread_mutex_lock(lock)
            failed = true
            pthread_mutex_unlock(lock)
        }

        func work() {
            guard let context = ZSTD_createDCtx() else { return fail() }
            defer { ZSTD_freeDCtx(context) }
            while let index = take() {
                let job = jobs[index]
                let written = ZSTD_decompressDCtx(context, job.output.baseAddress, job.output.count,
                                                  job.input.baseAddress, job.input.count)
                if ZSTD_isError(written) != 0 || written != job.output.count { return fail() }
            }
        }
    }
}
