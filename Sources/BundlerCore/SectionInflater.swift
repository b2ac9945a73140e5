import CZlib
import CZstd
import PayloadFormat

/// Inflates a compressed section that arrives a piece at a time and hands on what it
/// inflates, in order: `bundle inspect` and `bundle extract` read apps this way, so even
/// an app with a 200 MB asset is never in memory whole. (The launcher inflates frames
/// in place instead: `PayloadFormat.Zstd`.)
final class SectionInflater {
    private enum State {
        case zstd(OpaquePointer)
        /// Heap-allocated: zlib's state points back at its z_stream, which must not move.
        case zlib(UnsafeMutablePointer<z_stream>)
    }

    private let state: State
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// zstd: the last frame was whole; zlib: the stream ended.
    private var complete = false

    init(codec: Codec) throws(FormatError) {
        switch codec {
        case .zstd:
            guard let stream = ZSTD_createDStream() else { throw .corrupt("zstd could not start") }
            state = .zstd(stream)
        case .zlib:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            guard inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                throw .corrupt("zlib could not start")
            }
            state = .zlib(stream)
        }
    }

    deinit {
        switch state {
        case .zstd(let stream): ZSTD_freeDStream(stream)
        case .zlib(let stream):
            inflateEnd(stream)
            stream.deallocate()
        }
        output.deallocate()
    }

    /// Inflates `input`, handing each piece of output to `emit`, which returns false to
    /// stop; then `feed` returns false too.
    func feed(_ input: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        switch state {
        case .zstd(let stream):
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            while true {
                var target = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let result = ZSTD_decompressStream(stream, &target, &source)
                guard ZSTD_isError(result) == 0 else {
                    throw FormatError.corrupt("zstd: \(String(cString: ZSTD_getErrorName(result)))")
                }
                complete = result == 0
                if target.pos > 0, try !emit(UnsafeRawBufferPointer(rebasing: output[..<target.pos])) { return false }
                // Done with this input once it is used up and the output had room to spare.
                if source.pos == source.size && target.pos < target.size { return true }
            }
        case .zlib(let stream):
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            while stream.pointee.avail_in > 0 || !complete {
                stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(output.count)
                let result = inflate(stream, Z_NO_FLUSH)
                let produced = output.count - Int(stream.pointee.avail_out)
                if result == Z_BUF_ERROR && produced == 0 { return true }  // needs more input
                guard result == Z_OK || result == Z_STREAM_END else { throw FormatError.corrupt("zlib: inflate failed (\(result))") }
                if result == Z_STREAM_END {
                    complete = true
                    guard stream.pointee.avail_in == 0 else { throw FormatError.corrupt("bytes after the end of the zlib stream") }
                }
                if produced > 0, try !emit(UnsafeRawBufferPointer(rebasing: output[..<produced])) { return false }
                if complete || (stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0) { return true }
            }
            return true
        }
    }

    /// Checks that the input ended where a stream may end.
    func finish() throws(FormatError) {
        guard complete else { throw .truncated("compressed data ends inside a frame") }
    }
}
