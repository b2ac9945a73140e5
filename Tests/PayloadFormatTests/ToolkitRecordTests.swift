import Testing
@testable import PayloadFormat

@Suite struct ToolkitRecordTests {
    // stage, bundle ELF ..<10000 | base 10000..<10200 | tools 10200..<10500 | runtime 10500..<11500 | record
    let record = ToolkitRecord(
        tools: Section(offset: 10200, compressedSize: 300, uncompressedSize: 900, crc32: 1, codec: .zstd),
        runtime: Section(offset: 10500, compressedSize: 1000, uncompressedSize: 4000, crc32: 2, codec: .zstd),
        base: Section(offset: 10000, compressedSize: 200, uncompressedSize: 600, crc32: 3, codec: .zstd),
        runtimeDigest: Array(0..<32), baseDigest: Array(32..<64), nodeVersion: "v18.20.4")
    let recordStart = 11500

    func decode(_ bytes: [UInt8], recordStart: Int, imageEnd: Int = 10000) throws -> ToolkitRecord {
        try bytes.withUnsafeBytes { try ToolkitRecord(decoding: $0, sectionsFrom: imageEnd, to: recordStart) }
    }

    @Test func roundTrip() throws {
        let bytes = record.encoded()
        #expect(bytes.count == ToolkitRecord.size)
        #expect(try decode(bytes, recordStart: recordStart) == record)
    }

    @Test func everyBitFlipIsDetected() {
        let bytes = record.encoded()
        for index in bytes.indices where !(196..<200).contains(index) {  // reserved, after the checksum
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                #expect(throws: FormatError.self) { try decode(damaged, recordStart: recordStart) }
            }
        }
    }

    /// Sections must follow the ELF image and each other, up to the record: a file that
    /// lost or gained bytes in between, or whose image ends elsewhere, is refused.
    @Test func sectionsMustFillTheSpaceAfterTheImage() {
        #expect(throws: FormatError.self) { try decode(record.encoded(), recordStart: recordStart - 1) }
        #expect(throws: FormatError.self) { try decode(record.encoded(), recordStart: recordStart + 1) }
        #expect(throws: FormatError.self) { try decode(record.encoded(), recordStart: recordStart, imageEnd: 9999) }
        #expect(throws: FormatError.truncated("no toolkit record at the end of the file")) {
            try decode(Array(record.encoded().dropLast()), recordStart: recordStart)
        }
    }
}
