import FoundationEssentials
import Glibc
import PayloadFormat

/// What the runtime pack needs to know about an ELF shared object: its dynamic
/// section (DT_NEEDED, DT_SONAME, DT_RUNPATH/DT_RPATH, the symbol versions it needs
/// from each library) and its GNU build-id. Read with
/// a few `pread`s of the headers, so looking at libnode (47 MB) costs microseconds.
/// Only ELF64 little-endian x86-64 objects are accepted, as the dynamic linker here
/// would.
struct ELFObject: Equatable, Sendable {
    var path: String
    var soname: String?
    var needed: [String]
    var runpath: [String]
    var rpath: [String]
    var buildID: [UInt8]
    /// Library name → the symbol versions it must provide (DT_VERNEED), e.g.
    /// "libc.so.6" → ["GLIBC_2.34", "GLIBC_2.38"].
    var neededVersions: [String: Set<String>] = [:]
    /// Names a V8 or node C++ symbol (`v8::…`, `node::…`) in its dynamic string table: an
    /// addon that binds to node's C++ ABI, which changes with every node major version
    /// (NODE_MODULE_VERSION), unlike Node-API.
    var usesNodeCxxABI = false

    /// The newest glibc version this object needs ("2.38"), nil when it names none.
    var requiredGlibc: String? {
        neededVersions.filter { $0.key.hasPrefix("libc.so") || $0.key.hasPrefix("libm.so") }.values
            .flatMap { $0 }.compactMap { $0.hasPrefix("GLIBC_2.") ? String($0.dropFirst(6)) : nil }
            .max { GlibcVersion.precedes($0, $1) }
    }

    static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        bytes.firstRange(of: Array(text.utf8)) != nil
    }

    enum ReadError: Error, Equatable, CustomStringConvertible {
        case unreadable(String, String)
        case notELF(String, String)

        var description: String {
            switch self {
            case .unreadable(let path, let why): return "cannot read \(path): \(why)"
            case .notELF(let path, let why): return "\(path) is not an x86-64 shared object (\(why))"
            }
        }
    }

    static func read(_ path: String) throws(ReadError) -> ELFObject {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        return try parse(ELFReader(fd: fd, data: nil, size: Int(info.st_size), path: path))
    }

    /// The same for an object already in memory; `path` is where it lives (for
    /// `$ORIGIN`) and what errors name.
    static func parse(_ data: [UInt8], path: String) throws(ReadError) -> ELFObject {
        try parse(ELFReader(fd: -1, data: data, size: data.count, path: path))
    }

    private static func parse(_ file: ELFReader) throws(ReadError) -> ELFObject {
        let path = file.path
        let header = try file.bytes(at: 0, count: 64)
        guard header.prefix(4) == [0x7f, 0x45, 0x4c, 0x46] else { throw .notELF(path, "no ELF magic") }
        guard header[4] == 2, header[5] == 1 else { throw .notELF(path, "not 64-bit little-endian") }
        guard header.integer(UInt16.self, at: 18) == 62 else { throw .notELF(path, "not x86-64") }
        let programOffset = Int(header.integer(UInt64.self, at: 32))
        let programEntrySize = Int(header.integer(UInt16.self, at: 54))
        let programCount = Int(header.integer(UInt16.self, at: 56))
        guard programEntrySize >= 56 else { throw .notELF(path, "bad program header size") }
        let table = try file.bytes(at: programOffset, count: programEntrySize * programCount)

        struct Segment { var type: UInt32; var offset: Int; var address: UInt64; var size: Int }
        let segments = (0..<programCount).map { index in
            let base = index * programEntrySize
            return Segment(type: table.integer(UInt32.self, at: base),
                           offset: Int(clamping: table.integer(UInt64.self, at: base + 8)),
                           address: table.integer(UInt64.self, at: base + 16),
                           size: Int(clamping: table.integer(UInt64.self, at: base + 32)))
        }

        var object = ELFObject(path: path, soname: nil, needed: [], runpath: [], rpath: [], buildID: [])
        for note in segments where note.type == 4 {  // PT_NOTE
            let notes = try file.bytes(at: note.offset, count: note.size)
            var cursor = 0
            while cursor + 12 <= notes.count {
                let nameSize = Int(notes.integer(UInt32.self, at: cursor))
                let descriptionSize = Int(notes.integer(UInt32.self, at: cursor + 4))
                let type = notes.integer(UInt32.self, at: cursor + 8)
                let nameStart = cursor + 12
                let descriptionStart = nameStart + (nameSize + 3) / 4 * 4
                let end = descriptionStart + (descriptionSize + 3) / 4 * 4
                guard descriptionStart + descriptionSize <= notes.count else { break }
                if type == 3, nameSize == 4, Array(notes[nameStart..<nameStart + 4]) == Array("GNU\0".utf8) {
                    object.buildID = Array(notes[descriptionStart..<descriptionStart + descriptionSize])
                }
                cursor = end
            }
        }

        guard let dynamic = segments.first(where: { $0.type == 2 }) else {  // PT_DYNAMIC
            throw .notELF(path, "no dynamic section")
        }
        let entries = try file.bytes(at: dynamic.offset, count: dynamic.size)
        var stringTableAddress: UInt64?
        var stringTableSize = 0
        var tags: [(tag: Int64, value: UInt64)] = []
        for base in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = Int64(bitPattern: entries.integer(UInt64.self, at: base))
            let value = entries.integer(UInt64.self, at: base + 8)
            if tag == 0 { break }  // DT_NULL
            switch tag {
            case 5: stringTableAddress = value  // DT_STRTAB
            case 10: stringTableSize = Int(clamping: value)  // DT_STRSZ
            default: tags.append((tag, value))
            }
        }
        guard let stringTableAddress,
              let load = segments.first(where: {
                  $0.type == 1 && stringTableAddress >= $0.address && stringTableAddress - $0.address < UInt64($0.size)
              })
        else { throw .notELF(path, "no string table") }
        let strings = try file.bytes(at: load.offset + Int(stringTableAddress - load.address), count: stringTableSize)
        func string(_ offset: UInt64) throws(ReadError) -> String {
            guard offset < UInt64(strings.count) else { throw .notELF(path, "bad string offset") }
            let start = Int(offset)
            let end = strings[start...].firstIndex(of: 0) ?? strings.count
            return String(decoding: strings[start..<end], as: UTF8.self)
        }
        func bytes(atAddress address: UInt64, count: Int) throws(ReadError) -> [UInt8] {
            guard let segment = segments.first(where: { $0.type == 1 && address >= $0.address && address - $0.address < UInt64($0.size) })
            else { throw .notELF(path, "address outside the file") }
            return try file.bytes(at: segment.offset + Int(address - segment.address), count: count)
        }
        // DT_VERNEED (0x6ffffffe) and DT_VERNEEDNUM (0x6fffffff): a chain of Elf64_Verneed
        // records (version, count, file, aux, next), each with a chain of Elf64_Vernaux
        // (hash, flags, other, name, next).
        if let address = tags.first(where: { $0.tag == 0x6fff_fffe })?.value,
           let count = tags.first(where: { $0.tag == 0x6fff_ffff })?.value {
            var record = address
            for _ in 0..<min(count, 256) {
                let need = try bytes(atAddress: record, count: 16)
                let file = try string(UInt64(need.integer(UInt32.self, at: 4)))
                var aux = record + UInt64(need.integer(UInt32.self, at: 8))
                for _ in 0..<min(Int(need.integer(UInt16.self, at: 2)), 256) {
                    let entry = try bytes(atAddress: aux, count: 16)
                    object.neededVersions[file, default: []].insert(try string(UInt64(entry.integer(UInt32.self, at: 8))))
                    let next = entry.integer(UInt32.self, at: 12)
                    if next == 0 { break }
                    aux += UInt64(next)
                }
                let next = need.integer(UInt32.self, at: 12)
                if next == 0 { break }
                record += UInt64(next)
            }
        }
        object.usesNodeCxxABI = Self.contains(strings, "\0_ZN2v8") || Self.contains(strings, "\0_ZN4node")
        let origin = Path.dirname(path)
        func searchPath(_ text: String) -> [String] {
            text.split(separator: ":").map {
                String($0.replacing("${ORIGIN}", with: origin).replacing("$ORIGIN", with: origin))
            }
        }
        for (tag, value) in tags {
            switch tag {
            case 1: object.needed.append(try string(value))  // DT_NEEDED
            case 14: object.soname = try string(value)  // DT_SONAME
            case 15: object.rpath += searchPath(try string(value))  // DT_RPATH
            case 29: object.runpath += searchPath(try string(value))  // DT_RUNPATH
            default: break
            }
        }
        return object
    }
}

/// Bounds-checked reads from an open file (or from bytes in memory).
private struct ELFReader {
    let fd: Int32
    let data: [UInt8]?
    let size: Int
    let path: String

    func bytes(at offset: Int, count: Int) throws(ELFObject.ReadError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset, count <= 1 << 28 else {
            throw .notELF(path, "truncated")
        }
        if let data { return Array(data[offset..<offset + count]) }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw .unreadable(path, got < 0 ? String(cString: strerror(errno)) : "unexpected end") }
            done += got
        }
        return buffer
    }
}

/// Finds shared libraries by name the way glibc's dynamic linker does for a process on
/// this machine: the requesting object's DT_RPATH (when it has no DT_RUNPATH), its
/// DT_RUNPATH, /etc/ld.so.cache, then the default directories. LD_LIBRARY_PATH is
/// deliberately ignored, so the pack does not depend on the shell it was made in.
/// Candidates that are not x86-64 ELF objects are skipped, as ld.so skips them.
struct LibraryResolver: Sendable {
    /// SONAME → path, from ld.so.cache's x86-64 libc6 entries. Entries for
    /// glibc-hwcaps subdirectories (built for newer CPUs) are passed over: the pack
    /// runs on other machines, so it takes the baseline build.
    var cache: [String: String]
    var defaultDirectories: [String]

    static let systemDefaultDirectories = [
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    ]

    static func system() -> LibraryResolver {
        LibraryResolver(cache: readCache("/etc/ld.so.cache"), defaultDirectories: systemDefaultDirectories)
    }

    func resolve(_ name: String, neededBy object: ELFObject) -> String? {
        if name.contains("/") { return Self.usable(name) ? name : nil }
        var directories = object.runpath.isEmpty ? object.rpath : []
        directories += object.runpath
        // A relative entry is relative to the working directory of the process that
        // loads the object (Debian's node_sqlite3.node has RUNPATH "external/lib"): it
        // says nothing about this machine's libraries.
        for directory in directories where directory.hasPrefix("/") && Self.usable(directory + "/" + name) {
            return directory + "/" + name
        }
        if let cached = cache[name], Self.usable(cached) { return cached }
        for directory in defaultDirectories where Self.usable(directory + "/" + name) { return directory + "/" + name }
        return nil
    }

    private static func usable(_ path: String) -> Bool {
        (try? ELFObject.read(path)) != nil
    }

    /// Parses glibc's "glibc-ld.so.cache1.1" format (the only one glibc ≥ 2.32 writes):
    /// a 48-byte header (magic, version, entry count, string table length, ...), then
    /// 24-byte entries (flags, key and value string offsets from the start of the file,
    /// OS version, hwcap). Anything unexpected gives an empty cache: the default
    /// directories still apply.
    static func readCache(_ path: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let bytes = [UInt8](data)
        let magic = Array("glibc-ld.so.cache1.1".utf8)
        guard bytes.count >= 48, Array(bytes.prefix(magic.count)) == magic else { return [:] }
        let count = Int(bytes.integer(UInt32.self, at: 20))
        guard count <= (bytes.count - 48) / 24 else { return [:] }
        func string(_ offset: UInt32) -> String? {
            let start = Int(offset)
            guard start < bytes.count, let end = bytes[start...].firstIndex(of: 0) else { return nil }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        var result: [String: String] = [:]
        for index in 0..<count {
            let base = 48 + index * 24
            let flags = bytes.integer(UInt32.self, at: base)
            // FLAG_ELF_LIBC6 (3) with FLAG_X8664_LIB64 (0x0300).
            guard flags & 0xff == 3, flags & 0xff00 == 0x0300 else { continue }
            guard bytes.integer(UInt64.self, at: base + 16) == 0,
                  let key = string(bytes.integer(UInt32.self, at: base + 4)),
                  let value = string(bytes.integer(UInt32.self, at: base + 8)) else { continue }
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}
