import CLauncherSupport
import CLibc
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
    /// `droppingPages`: each piece is dropped from memory once checked (`dropPages`), so
    /// a large section never sits in the process's memory whole.
    func checkedCompressed(_ section: Section, name: String, droppingPages: Bool = false) throws(LauncherError) -> UnsafeRawBufferPointer {
        let source = compressed(section)
        var crc: UInt32 = 0
        let piece = droppingPages ? 8 << 20 : max(source.count, 1)
        for start in stride(from: 0, to: source.count, by: piece) {
            let checked = UnsafeRawBufferPointer(rebasing: source[start..<min(start + piece, source.count)])
            crc = Checksum.crc32(checked, continuing: crc)
            if droppingPages { Self.dropPages(checked) }
        }
        guard crc == section.crc32 else { throw .damaged("\(name) section checksum mismatch") }
        return source
    }

    /// Drops the whole pages of `bytes` (of this mapped executable, so read again from the
    /// file if ever needed) from the process's memory.
    static func dropPages(_ bytes: UnsafeRawBufferPointer) {
        let page = pageSize
        guard let start = bytes.baseAddress, bytes.count >= page else { return }
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes.count) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

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
