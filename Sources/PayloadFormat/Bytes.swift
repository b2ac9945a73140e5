/// Little-endian encoding helpers for the format. Reads are bounds-checked and throw
/// instead of trapping, because the bytes come from a file anyone could have edited.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    mutating func appendZeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }
}

struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    let what: String

    func integer<T: FixedWidthInteger>(_: T.Type, at offset: Int) throws(FormatError) -> T {
        try check(offset, MemoryLayout<T>.size)
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func bytes(at offset: Int, count: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        try check(offset, count)
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    /// Converts a stored 64-bit size to Int, refusing values that cannot be offsets.
    func offset(_ value: UInt64, _ field: String) throws(FormatError) -> Int {
        guard value <= UInt64(Int.max / 2) else { throw .corrupt("\(what): \(field) out of range") }
        return Int(value)
    }

    private func check(_ offset: Int, _ count: Int) throws(FormatError) {
        guard offset >= 0, count >= 0, offset <= buffer.count, count <= buffer.count - offset else {
            throw .truncated("\(what) ends before byte \(offset + count)")
        }
    }
}

/// Lowercase hexadecimal, as digests appear in cache directory names and pack keys.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
}

func matches(_ buffer: UnsafeRawBufferPointer, _ magic: [UInt8]) -> Bool {
    buffer.count == magic.count && zip(buffer, magic).allSatisfy { $0 == $1 }
}
