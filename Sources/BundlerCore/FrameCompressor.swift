import CZstd
import Dispatch
import FoundationEssentials
import PayloadFormat

/// zstd frames of `frameSize` input bytes each, made from input that arrives a piece at
/// a time and handed on in order, so an archive of any size is compressed while it is
/// written and never held whole. A batch of frames is compressed at once on all cores;
/// the frames depend neither on how the input was split nor on the number of cores:
/// same input, same bytes.
final class FrameCompressor {
    let level: Int32
    let frameSize: Int
    /// Each frame carries zstd's checksum of its content (`ZstdWriter.compress`), and
    /// `finish` ends the stream with a frame index (`FrameIndex`): a stream for reading
    /// a frame at a time (the app section).
    let indexed: Bool
    /// Compressed and inflated size of each frame so far (when `indexed`).
    private var frameSizes: [(compressed: Int, size: Int)] = []
    private let emit: ([UInt8]) throws -> Void
    /// Input not compressed yet: at most `batchFrames` whole frames.
    private var pending: [UInt8] = []
    private let batchFrames = max(2, ProcessInfo.processInfo.activeProcessorCount) * 2

    private(set) var inputSize = 0
    private(set) var outputSize = 0
    /// CRC-32 of everything handed to `emit`.
    private(set) var crc32: UInt32 = 0

    init(level: Int32, frameSize: Int, indexed: Bool = false, emit: @escaping ([UInt8]) throws -> Void) {
        self.level = level
        self.frameSize = frameSize
        self.indexed = indexed
        self.emit = emit
        pending.reserveCapacity(batchFrames * frameSize)
    }

    func append(_ piece: UnsafeRawBufferPointer) throws {
        var rest = piece
        while !rest.isEmpty {
            let taken = min(rest.count, batchFrames * frameSize - pending.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<taken]))
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
            inputSize += taken
            if pending.count == batchFrames * frameSize { try compressPending() }
        }
    }

    /// Compresses what is left. Empty input still gives one (empty) frame, so every
    /// section is a valid zstd stream.
    func finish() throws {
        if !pending.isEmpty || outputSize == 0 { try compressPending() }
        if indexed { try write(FrameIndex.encoded(frameSizes)) }
    }

    private func compressPending() throws {
        let count = max(1, (pending.count + frameSize - 1) / frameSize)
        let frames = FrameResults(count: count)
        pending.withUnsafeBytes { buffer in
            let shared = SendableBuffer(buffer: buffer)
            let (frameSize, level, checksummed) = (frameSize, level, indexed)
            DispatchQueue.concurrentPerform(iterations: count) { index in
                let start = index * frameSize
                let slice = UnsafeRawBufferPointer(rebasing: shared.buffer[start..<min(start + frameSize, shared.buffer.count)])
                frames.set(index, ZstdWriter.compress(slice, level: level, checksummed: checksummed))
            }
        }
        let sizes = (0..<count).map { min(frameSize, pending.count - $0 * frameSize) }
        pending.removeAll(keepingCapacity: true)
        for (frame, size) in zip(frames.all, sizes) {
            if indexed { frameSizes.append((frame.count, size)) }
            try write(frame)
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        crc32 = bytes.withUnsafeBytes { Checksum.crc32($0, continuing: crc32) }
        outputSize += bytes.count
        try emit(bytes)
    }
}

/// zstd compression (the launcher only reads zstd: `PayloadFormat.Zstd`).
enum ZstdWriter {
    /// Compresses `input` as one frame that records its content size, so readers can
    /// size their output and inflate frames in parallel. Concatenated frames are one
    /// valid zstd stream. Deterministic for a given libzstd version and level.
    /// `checksummed`: the frame ends with zstd's content checksum (32 bits of XXH64),
    /// which every decoder checks, so damage to a frame is found when it is inflated.
    static func compress(_ input: UnsafeRawBufferPointer, level: Int32, checksummed: Bool = false) -> [UInt8] {
        guard let context = ZSTD_createCCtx() else { fatalError("zstd: out of memory") }
        defer { ZSTD_freeCCtx(context) }
        for (parameter, value) in [(ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, checksummed ? 1 : 0)] {
            precondition(ZSTD_isError(ZSTD_CCtx_setParameter(context, parameter, value)) == 0, "zstd: bad parameter \(parameter)")
        }
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = output.withUnsafeMutableBytes { destination in
            ZSTD_compress2(context, destination.baseAddress, destination.count, input.baseAddress, input.count)
        }
        precondition(ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        output.removeSubrange(written...)
        return output
    }
}

private struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeRawBufferPointer
}

private final class FrameResults: @unchecked Sendable {
    private var frames: [[UInt8]]
    private let lock = Lock()

    init(count: Int) { frames = Array(repeating: [], count: count) }

    func set(_ index: Int, _ frame: [UInt8]) {
        lock.lock()
        frames[index] = frame
        lock.unlock()
    }

    var all: [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return frames
    }
}
