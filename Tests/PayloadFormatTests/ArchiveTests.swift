import Testing
import CPayloadFormat
@testable import PayloadFormat

@Suite struct ArchiveTests {
    let entries = [
        ArchiveEntry(path: "node_modules/pkg/index.js", data: Array("module.exports = 1\n".utf8)),
        ArchiveEntry(path: "app.js", data: Array("require('pkg')\n".utf8)),
        ArchiveEntry(path: "bootstrap.js", kind: .bootstrap, data: Array("'use strict'".utf8)),
        ArchiveEntry(path: "empty.txt", data: []),
        ArchiveEntry(path: "ünïcode dir/file name.json", data: Array("{}".utf8)),
    ]

    func read(_ bytes: [UInt8]) throws -> [ArchiveEntry] {
        try bytes.withUnsafeBytes { buffer in
            try ArchiveReader(buffer).entries.map { ArchiveEntry(path: $0.path, kind: $0.kind, data: Array($0.data)) }
        }
    }

    @Test func roundTripSortsEntriesAndKeepsMetadata() throws {
        let bytes = try ArchiveWriter.write(entries: entries, metadata: Array(#"{"entry":"app.js"}"#.utf8))
        #expect(try read(bytes) == entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) })
        let metadata = bytes.withUnsafeBytes { try? ArchiveReader($0).metadataText }
        #expect(metadata == #"{"entry":"app.js"}"#)
    }

    @Test func identicalFilesAreStoredOnce() throws {
        let license = Array(String(repeating: "Permission is hereby granted, free of charge. ", count: 50).utf8)
        let copies = entries + ["a/LICENSE", "b/LICENSE", "c/d/LICENSE"].map { ArchiveEntry(path: $0, data: license) }
        let once = try ArchiveWriter.write(entries: entries + [ArchiveEntry(path: "a/LICENSE", data: license)], metadata: [])
        let thrice = try ArchiveWriter.write(entries: copies, metadata: [])
        #expect(try read(thrice) == copies.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) })
        // Two more records, no more data.
        #expect(thrice.count - once.count == 2 * Format.entryRecordSize + "b/LICENSE".utf8.count + "c/d/LICENSE".utf8.count)
    }

    /// Bytes handed out in pieces of `pieceSize`, as the bundler streams a large file.
    func streamed(_ bytes: [UInt8], identity: [UInt8], pieceSize: Int = 3) -> ArchiveEntry.Content {
        .streamed(StreamedBytes(count: bytes.count, identity: identity) { emit in
            for start in stride(from: 0, to: bytes.count, by: pieceSize) {
                try Array(bytes[start..<min(start + pieceSize, bytes.count)]).withUnsafeBytes(emit)
            }
        })
    }

    @Test func streamedEntriesGiveTheSameBytesAsHeldOnesAndAreStoredOnce() throws {
        let large = Array(String(repeating: "an asset read a piece at a time ", count: 40).utf8)
        let held = entries + ["a/big.bin", "b/big.bin"].map { ArchiveEntry(path: $0, data: large) }
        let streamedEntries = entries + ["a/big.bin", "b/big.bin"].map {
            ArchiveEntry(path: $0, content: streamed(large, identity: [1, 2, 3]))
        }
        let expected = try ArchiveWriter.write(entries: held, metadata: Array("meta".utf8))
        var pieces: [[UInt8]] = []
        try ArchiveWriter.stream(entries: streamedEntries, metadata: Array("meta".utf8)) { pieces.append(Array($0)) }
        #expect(Array(pieces.joined()) == expected)
        #expect(pieces.count > 3)  // handed on as it came, not gathered first
    }

    @Test func aStreamedEntryThatGivesOtherThanItsSizeIsAnError() throws {
        for actual in [Array(repeating: UInt8(7), count: 9), Array(repeating: UInt8(7), count: 11)] {
            let entry = ArchiveEntry(path: "big.bin", content: streamed(actual, identity: [9]))
            let claimed = ArchiveEntry(path: "big.bin", content: .streamed(StreamedBytes(count: 10, identity: [9]) { emit in
                if case .streamed(let real) = entry.content { try real.produce(emit) }
            }))
            #expect(throws: FormatError.self) { try ArchiveWriter.write(entries: [claimed], metadata: []) }
        }
    }

    @Test func sameEntriesInAnyOrderGiveSameBytes() throws {
        let forward = try ArchiveWriter.write(entries: entries, metadata: [])
        let backward = try ArchiveWriter.write(entries: entries.reversed(), metadata: [])
        #expect(forward == backward)
    }

    @Test(arguments: ["", "/abs", "a//b", "./a", "a/../b", "..", "a/"])
    func rejectsPathsThatEscapeOrAreEmpty(path: String) {
        #expect(throws: FormatError.self) {
            try ArchiveWriter.write(entries: [ArchiveEntry(path: path, data: [])], metadata: [])
        }
    }

    @Test func builtinEntriesNameAbsolutePaths() throws {
        let bytes = try ArchiveWriter.write(
            entries: [ArchiveEntry(path: "/usr/share/nodejs/acorn/dist/acorn.js", kind: .builtin, data: [1])], metadata: [])
        #expect(try read(bytes).first?.path == "/usr/share/nodejs/acorn/dist/acorn.js")
    }

    @Test func rejectsDuplicatePaths() {
        #expect(throws: FormatError.self) {
            try ArchiveWriter.write(entries: [ArchiveEntry(path: "a", data: []), ArchiveEntry(path: "a", data: [1])], metadata: [])
        }
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let bytes = try ArchiveWriter.write(entries: entries, metadata: Array("meta".utf8))
        for length in 0..<bytes.count {
            #expect(throws: FormatError.self) { try read(Array(bytes[0..<length])) }
        }
    }

    @Test func everySingleBitFlipInTheHeaderAndIndexIsCaughtOrHarmless() throws {
        let bytes = try ArchiveWriter.write(entries: entries, metadata: [])
        let headerAndIndex = bytes.count - entries.reduce(0) { $0 + $1.size }
        for index in 0..<headerAndIndex {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                // Either rejected, or parsed into entries that stay inside the buffer.
                if let parsed = try? read(damaged) {
                    #expect(parsed.allSatisfy { $0.size <= damaged.count })
                }
            }
        }
    }
}

/// EntryKind's raw values are Swift literals (an enum's must be); the bootstrap gets the
/// kinds from payload_format.h. They must be the same numbers.
@Test func entryKindsAreTheHeaders() {
    let header: [EntryKind: Int] = [
        .file: BUNDLE_KIND_FILE, .bootstrap: BUNDLE_KIND_BOOTSTRAP, .library: BUNDLE_KIND_LIBRARY,
        .builtin: BUNDLE_KIND_BUILTIN, .launchOptions: BUNDLE_KIND_LAUNCH_OPTIONS, .addon: BUNDLE_KIND_ADDON,
        .nativeIndex: BUNDLE_KIND_NATIVE_INDEX, .codeCache: BUNDLE_KIND_CODE_CACHE,
    ]
    #expect(Set(header.keys) == Set(EntryKind.allCases))
    for kind in EntryKind.allCases { #expect(Int(kind.rawValue) == header[kind], "\(kind)") }
}
