import CLauncherSupport
import Glibc
import PayloadFormat

/// Makes the runtime section's files (the embedding shim and, in self-contained
/// outputs, libnode and its libraries) available as real files, and loads them.
///
/// The section is extracted once into a per-user cache directory named by its digest,
/// so later starts only check a small manifest. Extraction goes to a private temporary
/// directory that is renamed into place when complete: a crash leaves no half cache,
/// and of several processes racing on a cold cache one rename wins and all use it.
/// When no cache directory is usable the files are loaded from memory (memfd).
struct RuntimeCache {
    /// One file of the runtime, as the manifest records it.
    struct File: Equatable {
        let kind: EntryKind
        let size: Int
        let path: String
    }

    static let manifestName = "manifest"
    static let manifestHeader = "bundle-runtime 1"

    let image: SelfImage
    let name: String

    init(image: SelfImage) {
        self.image = image
        name = "runtime-" + image.trailer.runtimeDigest.map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// Loads every library in order and returns the shim's entry point.
    func loadEmbedEntry() throws(LauncherError) -> UnsafeMutableRawPointer {
        for base in Self.candidateBases() {
            guard let directory = prepare(in: base) else { continue }
            if let entry = try? Self.load(directory.files.filter { $0.kind == .library }.map { directory.path + "/files/" + $0.path }) {
                return entry
            }
        }
        return try loadFromMemory()
    }

    /// Cache bases in order of preference. Each must be a directory private to us.
    static func candidateBases() -> [String] {
        var bases: [String] = []
        if let xdg = Disk.environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            bases.append(xdg + "/bundle")
        }
        if let home = Disk.environment("HOME"), home.hasPrefix("/") {
            bases.append(home + "/.cache/bundle")
        }
        let temporary = Disk.environment("TMPDIR").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        bases.append(temporary + "/bundle-\(getuid())")
        return bases
    }

    /// A valid runtime directory under `base`, extracting (or repairing) it if needed.
    private func prepare(in base: String) -> (path: String, files: [File])? {
        let parent = String(base.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        if !parent.isEmpty, mkdir(parent, 0o700) != 0, errno != EEXIST { return nil }
        guard Disk.makePrivateDirectory(base) else { return nil }
        let path = base + "/" + name
        if let files = Self.validate(path) { return (path, files) }
        if Disk.lstatus(path) != nil {
            // Damaged or tampered with: move it aside atomically, then rebuild.
            let aside = base + "/.broken-\(name)-\(getpid())"
            guard rename(path, aside) == 0 || errno == ENOENT else { return nil }
            Disk.removeTree(aside)
        }
        guard extract(into: base) else { return nil }
        return Self.validate(path).map { (path, $0) }
    }

    /// Reads the manifest and checks every file it names is there, ours, and of its size.
    static func validate(_ path: String) -> [File]? {
        guard Disk.isPrivateDirectory(path), let text = Disk.readSmallFile(path + "/" + manifestName) else { return nil }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        guard lines.first == Substring(manifestHeader) else { return nil }
        var files: [File] = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, let raw = UInt8(fields[0]), let kind = EntryKind(rawValue: raw),
                  let size = Int(fields[1]) else { return nil }
            let file = File(kind: kind, size: size, path: String(fields[2]))
            guard let info = Disk.lstatus(path + "/files/" + file.path), (info.st_mode & S_IFMT) == S_IFREG,
                  info.st_uid == getuid(), Int(info.st_size) == size else { return nil }
            files.append(file)
        }
        return files
    }

    /// Inflates the section into a fresh private directory and renames it into place.
    private func extract(into base: String) -> Bool {
        guard let archive = try? inflatedArchive() else { return false }
        var template = Array((base + "/.extract-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return false }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var manifest = Self.manifestHeader + "\n"
        for file in Self.orderedFiles(archive) {
            let entry = archive.entry(file.path)!
            let relative = file.path.hasPrefix("/") ? String(file.path.dropFirst()) : file.path
            let target = temporary + "/files/" + relative
            guard Disk.makeParents(of: target, under: temporary),
                  Disk.writeFile(target, entry.data, mode: 0o500) else {
                Disk.removeTree(temporary)
                return false
            }
            manifest += "\(file.kind.rawValue) \(file.size) \(relative)\n"
        }
        let written = manifest.utf8.withContiguousStorageIfAvailable {
            Disk.writeFile(temporary + "/" + Self.manifestName, UnsafeRawBufferPointer($0), mode: 0o400)
        } ?? false
        if !written || rename(temporary, base + "/" + name) != 0 {
            // Another process may have won the race; its directory is as good as ours.
            Disk.removeTree(temporary)
        }
        return true
    }

    /// Libraries in load order (the runtime archive's metadata), then everything else.
    static func orderedFiles(_ archive: ArchiveReader) -> [File] {
        let order = archive.metadataText.split(separator: "\n").map(String.init)
        var files = order.compactMap { path in
            archive.entry(path).map { File(kind: $0.kind, size: $0.data.count, path: path) }
        }
        for entry in archive.entries where !order.contains(entry.path) {
            files.append(File(kind: entry.kind, size: entry.data.count, path: entry.path))
        }
        return files
    }

    private func inflatedArchive() throws(LauncherError) -> ArchiveReader {
        let bytes = try image.inflate(image.trailer.runtime, name: "runtime")
        do {
            return try ArchiveReader(bytes)
        } catch {
            throw .damaged("runtime section: \(error.description)")
        }
    }

    /// No writable, private cache anywhere (read-only root, no HOME): load each library
    /// from an anonymous memory file instead. Costs memory per process, leaves nothing.
    private func loadFromMemory() throws(LauncherError) -> UnsafeMutableRawPointer {
        let archive = try inflatedArchive()
        var paths: [String] = []
        for file in Self.orderedFiles(archive) where file.kind == .library {
            let fd = launcher_memfd(file.path)
            guard fd >= 0, Disk.writeAll(fd, archive.entry(file.path)!.data) else {
                throw .runtime(systemError("cannot create an in-memory file for \(file.path)"))
            }
            paths.append("/proc/self/fd/\(fd)")
        }
        return try Self.load(paths)
    }

    private static func load(_ libraries: [String]) throws(LauncherError) -> UnsafeMutableRawPointer {
        var last: UnsafeMutableRawPointer?
        for library in libraries {
            guard let handle = dlopen(library, RTLD_NOW | RTLD_GLOBAL) else {
                throw .runtime(String(cString: dlerror()))
            }
            last = handle
        }
        guard let last, let entry = dlsym(last, "bundle_embed_run") else {
            throw .runtime("the runtime has no bundle_embed_run")
        }
        return entry
    }
}
