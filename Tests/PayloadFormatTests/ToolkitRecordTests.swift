import Testing
@testable import PayloadFormat

@Suite struct ToolkitRecordTests {
    // bundle ELF 0..<10000 | tools 10000..<10300 | base 10300..<10500 | runtime 10500..<11500 | record
    let record = ToolkitRecord(
        tools: Section(offset: 10000, compressedSize: 300, uncompressedSize: 900, crc32: 1, codec: .zstd),
        runtime: Section(offset: 10500, compressedSize: 1000, uncompressedSize: 4000, crc32: 2, codec: .zstd),
        base: Section(offset: 10300, compressedSize: 200, uncompressedSize: 600, crc32: 3, codec: .zstd),
        runtimeDigest: Array(0..<32), baseDigest: Array(32..<64), nodeVersion: "v18.20.4")
    let fileSize = 11500 + ToolkitRecord.size

    func decode(_ bytes: [UInt8], fileSize: Int, imageEnd: Int = 10000) throws -> ToolkitRecord {
        try bytes.withUnsafeBytes { try ToolkitRecord(decoding: $0, fileSize: fileSize, imageEnd: imageEnd) }
    }

    @Test func roundTrip() throws {
        let bytes = record.encoded()
        #expect(bytes.count == ToolkitRecord.size)
        #expect(try decode(bytes, fileSize: fileSize) == record)
    }

    @Test func everyBitFlipIsDetected() {
        let bytes = record.encoded()
        for index in bytes.indices where !(196..<200).contains(index) {  // reserved, after the checksum
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                #expect(throws: FormatError.self) { try decode(damaged, fileSize: fileSize) }
            }
        }
    }

    /// Sections must follow the ELF image and each other, up to the record: a file that
    /// lost or gained bytes in between, or whose image ends elsewhere, is refused.
    @Test func sectionsMustFillTheSpaceAfterTheImage() {
        #expect(throws: FormatError.self) { try decode(record.encoded(), fileSize: fileSize - 1) }
        #expect(throws: FormatError.self) { try decode(record.encoded(), fileSize: fileSize + 1) }
        #expect(throws: FormatError.self) { try decode(record.encoded(), fileSize: fileSize, imageEnd: 9999) }
        #expect(throws: FormatError.truncated("no toolkit record at the end of the file")) {
            try decode(Array(record.encoded().dropLast()), fileSize: fileSize)
        }
    }
}
