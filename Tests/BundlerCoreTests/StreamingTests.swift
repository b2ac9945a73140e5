import Foundation
import Testing
@testable import BundlerCore
@testable import PayloadFormat

/// The pieces that let `bundle` write an output without holding a large file in memory.
@Suite struct StreamingTests {
    /// Compressible but not trivially so: a few frames' worth of varied text.
    let input = Array((0..<60_000).map { "line \($0) of the asset \($0 % 7 == 0 ? "seven" : "other")\n" }.joined().utf8)

    @Test func framesDoNotDependOnHowTheInputArrives() throws {
        let whole = RuntimePack.compressFrames(input, level: 3, frameSize: 64 << 10)
        for pieceSize in [1 << 20, 65_536, 4097, 1000] {
            var out: [UInt8] = []
            let compressor = FrameCompressor(level: 3, frameSize: 64 << 10) { out.append(contentsOf: $0) }
            try input.forEachPiece(of: pieceSize, compressor.append)
            try compressor.finish()
            #expect(out == whole)
            #expect(compressor.inputSize == input.count && compressor.outputSize == out.count)
            #expect(compressor.crc32 == Checksum.crc32(out))
        }
        #expect(try Codec.zstd.decompress(whole, uncompressedSize: input.count) == input)
        let frames = try whole.withUnsafeBytes { buffer throws(FormatError) in try Zstd.frames(buffer) }
        #expect(frames.count == (input.count + (64 << 10) - 1) / (64 << 10))
    }

    /// The app section's frames carry checksums and are listed in an index at its end,
    /// which zstd readers skip; damage to the index is an error, never other frames.
    @Test func anIndexedStreamListsItsChecksummedFramesAtTheEnd() throws {
        var out: [UInt8] = []
        let compressor = FrameCompressor(level: 3, frameSize: 64 << 10, indexed: true) { out.append(contentsOf: $0) }
        try input.forEachPiece(of: 10_000, compressor.append)
        try compressor.finish()
        #expect(compressor.outputSize == out.count && compressor.crc32 == Checksum.crc32(out))
        let walked = try out.withUnsafeBytes { buffer throws(FormatError) in try Zstd.frames(buffer) }
        let listed = try #require(try Self.frameIndex(out))
        #expect(listed.count == (input.count + (64 << 10) - 1) / (64 << 10))
        #expect(listed.map(\.input) == walked.map(\.input) && listed.map(\.size) == walked.map(\.size))
        #expect(out.withUnsafeBytes { buffer in listed.allSatisfy { Zstd.hasContentChecksum(UnsafeRawBufferPointer(rebasing: buffer[$0.input])) } })
        #expect(try Codec.zstd.decompress(out, uncompressedSize: input.count) == input)
        var inflated: [UInt8] = []
        let inflater = try SectionInflater(codec: .zstd)
        _ = try out.withUnsafeBytes { buffer in try inflater.feed(buffer) { piece in inflated.append(contentsOf: piece); return true } }
        try inflater.finish()
        #expect(inflated == input)

        let plain = RuntimePack.compressFrames(input, level: 3, frameSize: 64 << 10)
        #expect(try Self.frameIndex(plain) == nil)
        let indexStart = listed.last!.input.upperBound
        for offset in indexStart..<out.count {
            var flipped = out
            flipped[offset] ^= 0x01
            // Only a flip in the end magic leaves no index to read; any other is an error.
            if offset >= out.count - 8 {
                #expect(try Self.frameIndex(flipped) == nil, "flip at \(offset)")
            } else {
                #expect(throws: FormatError.self, "flip at \(offset)") { try Self.frameIndex(flipped) }
            }
        }
        for cut in 1..<(out.count - indexStart) {
            #expect(try Self.frameIndex(Array(out.dropLast(cut))) == nil, "cut \(cut)")
        }
    }

    /// `FrameIndex.frames` of `bytes`.
    static func frameIndex(_ bytes: [UInt8]) throws -> [(input: Range<Int>, size: Int)]? {
        var frames: [(input: Range<Int>, size: Int)]?
        var failure: (any Error)?
        bytes.withUnsafeBytes { buffer in
            do { frames = try FrameIndex.frames(of: buffer) } catch { failure = error }
        }
        if let failure { throw failure }
        return frames
    }

    @Test func emptyInputIsOneEmptyFrame() throws {
        let compressed = RuntimePack.compressFrames([], level: 3, frameSize: 1 << 20)
        #expect(!compressed.isEmpty)
        #expect(try Codec.zstd.decompress(compressed, uncompressedSize: 0) == [])
    }

    @Test func aStreamedFileReadsItsBytesAndNamesItIfTheyChange() throws {
        let disk = ChangingFileSystem(path: "/app/big.bin", versions: [input, input])
        let (bytes, ending) = try disk.streamed("/app/big.bin")
        #expect(bytes.count == input.count && ending == Array(input.suffix(8)))
        var read: [UInt8] = []
        try bytes.produce { read.append(contentsOf: $0) }
        #expect(read == input)

        var edited = input
        edited[5] ^= 1
        for later in [edited, Array(input.dropLast()), input + [1]] {
            let changing = ChangingFileSystem(path: "/app/big.bin", versions: [input, later])
            let streamed = try changing.streamed("/app/big.bin").bytes
            #expect {
                try streamed.produce { _ in }
            } throws: { error in
                "\(error)" == "/app/big.bin changed while it was being bundled; bundle again"
            }
        }
    }
}

/// One file whose bytes differ from one read to the next, as when it is edited while
/// `bundle` runs.
final class ChangingFileSystem: FileSystem, @unchecked Sendable {
    let path: String
    private var versions: [[UInt8]]
    private let lock = NSLock()

    init(path: String, versions: [[UInt8]]) {
        self.path = path
        self.versions = versions
    }

    private func next() -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return versions.count > 1 ? versions.removeFirst() : versions[0]
    }

    func kind(of path: String) -> FileKind? { path == self.path ? .file : nil }
    func contents(of path: String) throws -> [UInt8] { next() }
    func children(of path: String) throws -> [String] { [] }
    func size(of path: String) -> Int? { versions.first?.count }
    func realPath(of path: String) -> String? { path == self.path ? path : nil }

    func read(_ path: String, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try next().forEachPiece(of: pieceSize, body)
    }
}
