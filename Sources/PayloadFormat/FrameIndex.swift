import CPayloadFormat

/// Where each frame of a zstd section lies, recorded at the section's end, so a reader
/// that inflates frames on demand (the launcher's app archive) finds them without
/// walking the section: zstd frames do not record their compressed size, and finding it
/// reads every block header (for a 100 MB asset, some 800 pages of the file at every
/// start). Layout: "Frame index" in Format.swift.
public enum FrameIndex {
    /// zstd's skippable frames (RFC 8878) have magic numbers 0x184D2A50...0x184D2A5F:
    /// every zstd decoder skips this frame, so the section stays one valid zstd stream.
    static let skippableMagic: UInt32 = 0x184D_2A5E
    static let endMagic = Format.magic(BUNDLE_FRAME_INDEX_END_MAGIC)
    static let entrySize = 8
    /// Skippable frame header (8), count (4), CRC-32 (4), end magic (8).
    static let overhead = 24

    /// The index frame for frames of these sizes, in stream order.
    public static func encoded(_ frames: [(compressed: Int, size: Int)]) -> [UInt8] {
        var entries: [UInt8] = []
        for frame in frames {
            precondition(frame.compressed < 1 << 32 && frame.size < 1 << 32, "frame index: a frame of 4 GiB or more")
            entries.appendLittleEndian(UInt32(frame.compressed))
            entries.appendLittleEndian(UInt32(frame.size))
        }
        entries.appendLittleEndian(UInt32(frames.count))
        var frame: [UInt8] = []
        frame.appendLittleEndian(skippableMagic)
        frame.appendLittleEndian(UInt32(entries.count + 4 + endMagic.count))
        frame += entries
        frame.appendLittleEndian(Checksum.crc32(entries))
        return frame + endMagic
    }

    /// The frames of `section` from its index: where each lies in the section and how
    /// many bytes it inflates to, the index frame left out. Nil when the section does not
    /// end with an index (a section written without one); throws when it ends with a
    /// damaged one, or one that does not describe the bytes before it.
    public static func frames(of section: UnsafeRawBufferPointer) throws(FormatError) -> [(input: Range<Int>, size: Int)]? {
        guard section.count >= overhead, section.suffix(endMagic.count).elementsEqual(endMagic) else { return nil }
        func integer(at offset: Int) -> Int {
            Int(UInt32(littleEndian: section.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        let end = section.count - endMagic.count
        let count = integer(at: end - 8)
        guard count <= (section.count - overhead) / entrySize else { throw .corrupt("frame index: \(count) frames do not fit") }
        let entriesLength = count * entrySize + 4
        let start = end - 4 - entriesLength - 8
        guard integer(at: start) == Int(skippableMagic), integer(at: start + 4) == entriesLength + 4 + endMagic.count else {
            throw .corrupt("frame index has no frame header")
        }
        let entries = UnsafeRawBufferPointer(rebasing: section[(start + 8)..<(start + 8 + entriesLength)])
        guard Checksum.crc32(entries) == UInt32(integer(at: end - 4)) else { throw .corrupt("frame index checksum mismatch") }
        var frames: [(input: Range<Int>, size: Int)] = []
        var offset = 0
        for index in 0..<count {
            let compressed = integer(at: start + 8 + index * entrySize), size = integer(at: start + 12 + index * entrySize)
            guard compressed > 0, compressed <= start - offset else { throw .corrupt("frame index: frame \(index) lies past the frames") }
            frames.append((offset..<offset + compressed, size))
            offset += compressed
        }
        guard offset == start else { throw .corrupt("frame index: the frames do not fill the section") }
        return frames
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}
