/// Little-endian integers in byte arrays: the pack cache's header, ELF tables,
/// ld.so.cache and code-cache.js's framing.
extension Array where Element == UInt8 {
    /// The integer at `offset`, or 0 when it does not lie wholly inside the array.
    func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        guard offset >= 0, offset + MemoryLayout<T>.size <= count else { return 0 }
        return withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Sizes as people read them, in decimal units (`34.8 MB`): the CLI's summary and warnings.
public enum ByteCount {
    public static func text(_ bytes: Int) -> String {
        switch bytes {
        case ..<1000: return "\(bytes) B"
        case ..<1_000_000: return DecimalText.fixed(Double(bytes) / 1000, places: 1) + " kB"
        default: return DecimalText.fixed(Double(bytes) / 1_000_000, places: 1) + " MB"
        }
    }
}
