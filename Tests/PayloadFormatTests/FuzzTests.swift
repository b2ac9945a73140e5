import Testing
@testable import PayloadFormat

/// Seeded mutation fuzzing of everything that parses untrusted bytes: the trailer,
/// the archive and the decompressors. Each input must give a value or a FormatError:
/// no crash, no hang, no read outside the buffer (the reader's bounds checks trap
/// in tests if they are wrong, because buffers are exact-size allocations).
@Suite struct FuzzTests {
    /// A small deterministic generator (SplitMix64), so a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    static let seedArchive: [UInt8] = try! ArchiveWriter.write(entries: [
        ArchiveEntry(path: "app.js", data: Array("console.log(require('./lib'))".utf8)),
        ArchiveEntry(path: "lib/index.js", data: Array("module.exports = 42".utf8)),
        ArchiveEntry(path: ".bundle-bootstrap.js", kind: .bootstrap, data: Array("'use strict'".utf8)),
        ArchiveEntry(path: "/usr/share/x.js", kind: .builtin, data: [1, 2, 3]),
    ], metadata: Array(#"{"entry":"app.js"}"#.utf8))

    /// One mutation: flip bits, overwrite with interesting values, insert, delete or cut.
    static func mutate(_ input: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { bytes = [UInt8.random(in: 0...255, using: &random)]; continue }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1: bytes[at] = [0, 1, 0x7f, 0x80, 0xff].randomElement(using: &random)!
            case 2:
                let value: UInt32 = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, UInt32(bytes.count), UInt32(bytes.count + 1)].randomElement(using: &random)!
                for (offset, byte) in withUnsafeBytes(of: value.littleEndian, Array.init).enumerated() where at + offset < bytes.count {
                    bytes[at + offset] = byte
                }
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            case 4: bytes.remove(at: at)
            default: bytes.removeSubrange(at...)
            }
        }
        return bytes
    }

    /// `bytes` in an exact-size heap buffer, so a read past its end traps.
    static func withExactBuffer<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
        return body(UnsafeRawBufferPointer(buffer))
    }

    /// Parses in an exact-size heap buffer, touching every byte the reader hands back.
    static func parseArchive(_ bytes: [UInt8]) -> Int {
        withExactBuffer(bytes) { buffer in
            guard let archive = try? ArchiveReader(buffer) else { return 0 }
            return archive.entries.reduce(archive.metadata.reduce(0) { $0 &+ Int($1) }) { sum, entry in
                entry.data.reduce(sum &+ entry.path.utf8.count) { $0 &+ Int($1) }
            }
        }
    }

    /// `bundle inspect` parses the index from an archive's first bytes, before the rest
    /// is inflated: any prefix of any mutation gives an index or an error.
    @Test func archiveIndexOfAPrefixSurvivesMutations() {
        var random = Generator(state: 0x1DE7)
        var parsed = 0
        for _ in 0..<25_000 {
            let input = Self.mutate(Self.seedArchive, &random)
            let prefix = Array(input.prefix(Int.random(in: 0...input.count, using: &random)))
            let index = Self.withExactBuffer(prefix) { try? ArchiveIndex($0, archiveSize: input.count) }
            if let index {
                parsed += 1
                #expect(index.size <= prefix.count && index.records.allSatisfy { $0.data.upperBound <= input.count })
            }
        }
        #expect(parsed > 500)
    }

    @Test func archiveReaderSurvivesMutations() {
        var random = Generator(state: 0xB0_5EED)
        var parsed = 0
        for _ in 0..<100_000 {
            let input = Self.mutate(Self.seedArchive, &random)
            if Self.parseArchive(input) != 0 { parsed += 1 }
        }
        // Some mutations leave the archive valid (e.g. a changed data byte): the fuzzer
        // reached past the header, rather than being refused at the magic every time.
        #expect(parsed > 1_000)
    }

    @Test func trailerAndDecompressionSurviveMutations() {
        var random = Generator(state: 0x7A11E4)
        let archive = Self.seedArchive
        let compressed = Zlib.compress(archive)
        let trailer = Trailer(flags: [], runtime: Section(offset: 0, compressedSize: 0, uncompressedSize: 0, crc32: 0),
                              app: Section(offset: 0, compressedSize: compressed.count, uncompressedSize: archive.count,
                                           crc32: Checksum.crc32(compressed)),
                              runtimeDigest: [UInt8](repeating: 7, count: 32)).encoded()
        let file = compressed + trailer
        var accepted = 0
        for _ in 0..<25_000 {
            let input = Self.mutate(file, &random)
            guard input.count >= Format.trailerSize else { continue }
            let parsed = input.withUnsafeBytes { bytes -> Trailer? in
                try? Trailer(decoding: UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - Format.trailerSize)...]), fileSize: bytes.count)
            }
            guard let parsed, parsed.app.uncompressedSize < 1 << 20 else { continue }
            accepted += 1
            let section = Array(input[parsed.app.offset..<parsed.app.offset + parsed.app.compressedSize])
            if let inflated = try? Codec.zlib.decompress(section, uncompressedSize: parsed.app.uncompressedSize) {
                _ = Self.parseArchive(inflated)
            }
        }
        #expect(accepted > 100)
    }
}
