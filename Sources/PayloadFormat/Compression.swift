import CZlib

public enum Checksum {
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt = CZlib.crc32(0, nil, 0)
        var rest = bytes
        // zlib takes 32-bit lengths.
        while !rest.isEmpty {
            let chunk = min(rest.count, 1 << 30)
            crc = CZlib.crc32(crc, rest.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(chunk))
            rest = UnsafeRawBufferPointer(rebasing: rest[chunk...])
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }
}

/// zlib streams (RFC 1950). Deterministic for a given zlib version and level.
public enum Zlib {
    public static func compress(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit failed: \(status)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(destination.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "zlib deflate did not finish: \(result)")
            }
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Inflates `input` into `output`, which must be exactly the uncompressed size.
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        guard input.count < Int(UInt32.max), output.count < Int(UInt32.max) else {
            throw .corrupt("section larger than 4 GiB")
        }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let result = inflate(&stream, Z_FINISH)
        guard result == Z_STREAM_END, Int(stream.total_out) == output.count, stream.avail_in == 0 else {
            throw .corrupt("compressed data does not inflate to its recorded size")
        }
    }

    public static func decompress(_ input: [UInt8], uncompressedSize: Int) throws(FormatError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: uncompressedSize)
        let failure: FormatError? = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                do throws(FormatError) { try decompress(source, into: destination) } catch { return error }
                return nil
            }
        }
        if let failure { throw failure }
        return output
    }
}
