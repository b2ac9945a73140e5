import CLauncherSupport
import Glibc
import PayloadFormat

/// The running executable, mapped read-only, with its trailer parsed.
struct SelfImage {
    let trailer: Trailer
    /// Portable outputs only: where the first stage found the launcher and the base libraries.
    let stage: StageRecord?
    let bytes: UnsafeRawBufferPointer

    init() throws(LauncherError) {
        let fd = launcher_open_self()
        guard fd >= 0 else { throw .runtime(systemError("cannot open its own executable")) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .runtime(systemError("cannot stat its own executable")) }
        let size = Int(info.st_size)
        guard size >= Format.trailerSize else { throw .damaged("no bundle trailer at the end of the file") }

        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .runtime(systemError("cannot map its own executable"))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        do {
            trailer = try Trailer(decoding: UnsafeRawBufferPointer(rebasing: bytes[(size - Format.trailerSize)...]), fileSize: size)
            let recordEnd = size - Format.trailerSize
            stage = trailer.flags.contains(.portable)
                ? try StageRecord(decoding: UnsafeRawBufferPointer(rebasing: bytes[max(0, recordEnd - StageRecord.size)..<recordEnd]),
                                  fileSize: size, trailer: trailer)
                : nil
        } catch {
            throw .damaged(error.description)
        }
    }

    func compressed(_ section: Section) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[section.offset..<section.offset + section.compressedSize])
    }

    /// A section's compressed bytes, once their checksum matched.
    func checkedCompressed(_ section: Section, name: String) throws(LauncherError) -> UnsafeRawBufferPointer {
        let source = compressed(section)
        guard Checksum.crc32(source) == section.crc32 else { throw .damaged("\(name) section checksum mismatch") }
        return source
    }

    /// Checks and inflates a section into memory that lives as long as the process
    /// unless the caller deallocates it.
    func inflate(_ section: Section, name: String) throws(LauncherError) -> UnsafeRawBufferPointer {
        let source = try checkedCompressed(section, name: name)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(section.uncompressedSize, 1), alignment: 16)
        let exact = UnsafeMutableRawBufferPointer(rebasing: output[0..<section.uncompressedSize])
        do {
            try section.codec.decompress(source, into: exact, threads: Self.processors)
        } catch {
            output.deallocate()
            throw .damaged("\(name) section: \(error.description)")
        }
        return UnsafeRawBufferPointer(exact)
    }

    /// Processors this process may run on: threads for inflating zstd frames.
    static var processors: Int { Int(min(launcher_processors(), 4)) }
}
