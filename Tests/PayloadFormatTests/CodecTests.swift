import CZstd
import Testing
@testable import PayloadFormat

/// Per-section codecs: the trailer flag bits and zstd streams of several frames.
@Suite struct CodecTests {
    func zstdFrame(_ input: [UInt8], level: Int32 = 3) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = output.withUnsafeMutableBytes { destination in
            input.withUnsafeBytes { ZSTD_compress(destination.baseAddress, destination.count, $0.baseAddress, $0.count, level) }
        }
        precondition(ZSTD_isError(written) == 0)
        return Array(output[..<written])
    }

    let input: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) & 0x3f }

    /// The input cut into frames of `size` bytes, each compressed on its own.
    func frames(of size: Int) -> [UInt8] {
        stride(from: 0, to: input.count, by: size).flatMap { zstdFrame(Array(input[$0..<min($0 + size, input.count)])) }
    }

    @Test(arguments: [1, 2, 4])
    func multiFrameStreamsInflateOnAnyNumberOfThreads(threads: Int) throws {
        for stream in [zstdFrame(input), frames(of: 70_000), frames(of: 1 << 20)] {
            var output = [UInt8](repeating: 0, count: input.count)
            try stream.withUnsafeBytes { source in
                try output.withUnsafeMutableBytes { try Codec.zstd.decompress(source, into: $0, threads: threads) }
            }
            #expect(output == input)
        }
    }

    @Test func damageAndWrongSizesAreErrors() {
        let stream = frames(of: 70_000)
        #expect(throws: FormatError.self) { try Codec.zstd.decompress(stream, uncompressedSize: input.count - 1) }
        #expect(throws: FormatError.self) { try Codec.zstd.decompress(stream, uncompressedSize: input.count + 1) }
        #expect(throws: FormatError.self) { try Codec.zstd.decompress(Array(stream.dropLast(5)), uncompressedSize: input.count) }
        // Frames carry no checksum (the section's CRC-32 covers them): a flipped byte is
        // an error or different bytes, never a crash or an overrun.
        for index in stride(from: 0, to: stream.count, by: 997) {
            var flipped = stream
            flipped[index] ^= 0x55
            let output = try? Codec.zstd.decompress(flipped, uncompressedSize: input.count)
            #expect(output.map { $0 != input } ?? true, "flip at \(index)")
        }
        #expect(throws: FormatError.self) { try Codec.zstd.decompress(Array("not zstd".utf8), uncompressedSize: 8) }
        #expect((try? Codec.zstd.decompress([], uncompressedSize: 0)) == [])
    }

    @Test func codecsRoundTripThroughTheTrailerFlags() throws {
        for (runtime, app) in [(Codec.zlib, Codec.zlib), (.zstd, .zlib), (.zlib, .zstd), (.zstd, .zstd)] {
            let trailer = Trailer(
                flags: .selfContained,
                runtime: Section(offset: 10, compressedSize: 5, uncompressedSize: 20, crc32: 1, codec: runtime),
                app: Section(offset: 15, compressedSize: 5, uncompressedSize: 20, crc32: 2, codec: app),
                runtimeDigest: Array(repeating: 7, count: 32))
            let decoded = try trailer.encoded().withUnsafeBytes { try Trailer(decoding: $0, fileSize: 20 + Format.trailerSize) }
            #expect(decoded == trailer)
        }
    }

    @Test func unknownFlagBitsAreRefused() {
        var bytes = Trailer(flags: [], runtime: Section(offset: 0, compressedSize: 0, uncompressedSize: 0, crc32: 0),
                            app: Section(offset: 0, compressedSize: 0, uncompressedSize: 0, crc32: 0),
                            runtimeDigest: Array(repeating: 0, count: 32)).encoded()
        bytes[10] |= 1 << 4  // bits 0-3 are taken (bit 3: portable)
        let crc = Checksum.crc32(Array(bytes[0..<104]))
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(104..<108, with: $0) }
        #expect(throws: FormatError.corrupt("unknown trailer flags")) {
            try bytes.withUnsafeBytes { try Trailer(decoding: $0, fileSize: Format.trailerSize) }
        }
    }
}
