import Testing
@testable import BundlerCore
@testable import PayloadFormat

/// `bundle inspect` and `extract` inflate app sections as they read them.
@Suite struct SectionInflaterTests {
    let original = Array((0..<40_000).map { "record \($0): \($0 * 7919 % 1000)\n" }.joined().utf8)

    func compressed(_ codec: Codec) -> [UInt8] {
        switch codec {
        case .zstd: RuntimePack.compressFrames(original, level: 3, frameSize: 100_000)  // several frames
        case .zlib: Zlib.compress(original)
        }
    }

    /// Everything `inflater` gives for `input` fed `pieceSize` bytes at a time.
    func inflate(_ input: [UInt8], codec: Codec, pieceSize: Int) throws -> [UInt8] {
        let inflater = try SectionInflater(codec: codec)
        var out: [UInt8] = []
        try input.forEachPiece(of: pieceSize) { piece in
            _ = try inflater.feed(piece) { out.append(contentsOf: $0); return true }
        }
        try inflater.finish()
        return out
    }

    @Test(arguments: Codec.allCases)
    func givesTheOriginalWhateverThePieces(codec: Codec) throws {
        for pieceSize in [1 << 20, 4096, 777, 1] {
            #expect(try inflate(compressed(codec), codec: codec, pieceSize: pieceSize) == original, "\(pieceSize)")
        }
    }

    @Test(arguments: Codec.allCases)
    func truncatedOrDamagedInputIsAnError(codec: Codec) throws {
        let input = compressed(codec)
        #expect(throws: FormatError.self) { try inflate(Array(input.dropLast(9)), codec: codec, pieceSize: 4096) }
        var damaged = input
        for index in stride(from: 0, to: 64, by: 1) { damaged[index] ^= 0x5a }
        #expect(throws: (any Error).self) { try inflate(damaged, codec: codec, pieceSize: 4096) }
    }

    /// Damaged streams fed in pieces of any size: output or an error, never a crash or a
    /// hang. Seeded (a linear congruential generator), so a failure can be replayed.
    @Test(arguments: Codec.allCases)
    func survivesMutations(codec: Codec) throws {
        var state = 0x5EC7 + UInt64(codec.rawValue)
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let small = Array(original.prefix(30_000))
        let seed = codec == .zstd ? RuntimePack.compressFrames(small, level: 3, frameSize: 4096) : Zlib.compress(small)
        var reached = 0
        for _ in 0..<10_000 {
            var bytes = seed
            for _ in 0...random(3) {
                let at = random(bytes.count)
                switch random(4) {
                case 0: bytes[at] ^= UInt8(1 << random(8))
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(UInt8(random(256)), at: at)
                default: bytes.removeSubrange(at...)
                }
                if bytes.isEmpty { bytes = [0] }
            }
            let inflater = try SectionInflater(codec: codec)
            var inflated = 0
            do {
                try bytes.forEachPiece(of: 1 + random(5000)) { piece in
                    _ = try inflater.feed(piece) { inflated += $0.count; return inflated < 1 << 20 }
                }
                try inflater.finish()
            } catch {}
            if inflated > 0 { reached += 1 }
        }
        // Most mutations still inflate some bytes before the damage (or the checksum)
        // shows: the fuzzer got past the headers rather than stopping at the magic.
        #expect(reached > 1_000)
    }

    @Test func stopsWhenAskedTo() throws {
        let inflater = try SectionInflater(codec: .zstd)
        var seen = 0
        let goOn = try compressed(.zstd).withUnsafeBytes { buffer in
            try inflater.feed(buffer) { seen += $0.count; return false }
        }
        #expect(!goOn)
        #expect(seen > 0 && seen < original.count)
    }
}
