import Testing
@testable import PayloadFormat

@Suite struct TrailerTests {
    let trailer = Trailer(
        flags: .selfContained,
        runtime: Section(offset: 1000, compressedSize: 500, uncompressedSize: 2000, crc32: 0xDEADBEEF),
        app: Section(offset: 1500, compressedSize: 100, uncompressedSize: 300, crc32: 0x12345678),
        runtimeDigest: Array(0..<32))

    func decode(_ bytes: [UInt8], fileSize: Int) throws -> Trailer {
        try bytes.withUnsafeBytes { try Trailer(decoding: $0, fileSize: fileSize) }
    }

    @Test func roundTrip() throws {
        let bytes = trailer.encoded()
        #expect(bytes.count == Format.trailerSize)
        #expect(try decode(bytes, fileSize: 1600 + Format.trailerSize) == trailer)
    }

    @Test func everyBitFlipIsDetected() {
        let bytes = trailer.encoded()
        for index in bytes.indices {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                if index >= 108 && index < 112 { continue }  // reserved, not covered
                #expect(throws: FormatError.self) { try decode(damaged, fileSize: 1600 + Format.trailerSize) }
            }
        }
    }

    @Test func sectionsBeyondTheFileAreTruncation() {
        #expect(throws: FormatError.truncated("app section extends past the end of the file")) {
            try decode(trailer.encoded(), fileSize: 1599 + Format.trailerSize)
        }
    }

    @Test func aFileWithoutTrailerSaysSo() {
        #expect(throws: FormatError.truncated("no bundle trailer at the end of the file")) {
            try decode([UInt8](repeating: 0x7f, count: Format.trailerSize), fileSize: 5000)
        }
    }
}

@Suite struct CompressionTests {
    @Test func roundTripAndDeterminism() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 / 7) }
        let compressed = Zlib.compress(input)
        #expect(compressed == Zlib.compress(input))
        #expect(compressed.count < input.count)
        #expect(try Codec.zlib.decompress(compressed, uncompressedSize: input.count) == input)
    }

    @Test func wrongSizeOrDamageIsAnError() {
        let compressed = Zlib.compress(Array("hello hello hello".utf8))
        #expect(throws: FormatError.self) { try Codec.zlib.decompress(compressed, uncompressedSize: 5) }
        #expect(throws: FormatError.self) { try Codec.zlib.decompress(compressed, uncompressedSize: 100) }
        #expect(throws: FormatError.self) { try Codec.zlib.decompress(Array(compressed.dropLast(3)), uncompressedSize: 17) }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(Checksum.crc32(Array("123456789".utf8)) == 0xCBF43926)
    }
}
