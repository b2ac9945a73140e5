import Testing
import CPayloadFormat
@testable import PayloadFormat

@Suite struct StageRecordTests {
    // stage 0..<4096 | launcher 4096..<8192 | base 8192..<9192 | runtime | app | record | trailer
    let trailer = Trailer(
        flags: [.selfContained, .portable],
        runtime: Section(offset: 9192, compressedSize: 500, uncompressedSize: 2000, crc32: 1),
        app: Section(offset: 9692, compressedSize: 100, uncompressedSize: 300, crc32: 2),
        runtimeDigest: Array(0..<32))
    let record = StageRecord(
        launcherOffset: 4096,
        base: Section(offset: 8192, compressedSize: 1000, uncompressedSize: 5000, crc32: 0xDEADBEEF, codec: .zstd),
        baseDigest: Array(32..<64))
    let fileSize = 9792 + StageRecord.size + Format.trailerSize

    func decode(_ bytes: [UInt8], fileSize: Int) throws -> StageRecord {
        try bytes.withUnsafeBytes { try StageRecord(decoding: $0, fileSize: fileSize, trailer: trailer) }
    }

    @Test func roundTrip() throws {
        let bytes = record.encoded()
        #expect(bytes.count == StageRecord.size)
        #expect(try decode(bytes, fileSize: fileSize) == record)
        #expect(try decodeTrailer(trailer.encoded()).flags == [.selfContained, .portable])
        var compressed = record
        compressed.launcherStorage = .zstd
        #expect(try decode(compressed.encoded(), fileSize: fileSize) == compressed)
    }

    @Test func everyBitFlipIsDetected() {
        let bytes = record.encoded()
        for index in bytes.indices where !(84..<88).contains(index) {  // reserved, after the checksum
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                #expect(throws: FormatError.self) { try decode(damaged, fileSize: fileSize) }
            }
        }
    }

    /// A section reaching into the record (the file lost bytes) or a launcher off a page.
    @Test func sectionsMustLieBetweenTheLauncherAndTheRecord() {
        #expect(throws: FormatError.truncated("app section extends past the end of the file")) {
            try decode(record.encoded(), fileSize: fileSize - 1)
        }
        var misplaced = record
        misplaced.launcherOffset = 4000
        #expect(throws: FormatError.corrupt("launcher offset out of range")) { try decode(misplaced.encoded(), fileSize: fileSize) }
    }

    func decodeTrailer(_ bytes: [UInt8]) throws -> Trailer {
        try bytes.withUnsafeBytes { try Trailer(decoding: $0, fileSize: fileSize) }
    }
}

/// The first stage reads the launcher storage with the header's numbers.
@Test func launcherStoragesAreTheHeaders() {
    let header: [StageRecord.LauncherStorage: Int] = [.mapped: BUNDLE_LAUNCHER_MAPPED, .zstd: BUNDLE_LAUNCHER_ZSTD]
    #expect(Set(header.keys) == Set(StageRecord.LauncherStorage.allCases))
    for storage in StageRecord.LauncherStorage.allCases { #expect(Int(storage.rawValue) == header[storage], "\(storage)") }
}
