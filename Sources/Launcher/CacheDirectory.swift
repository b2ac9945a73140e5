import CCacheRules
import CLauncherSupport
import CLibc
import PayloadFormat

/// A directory of files extracted once into the per-user cache, named by a digest of
/// its content (`runtime-<digest>` for the runtime section, `addons-<digest>` for the
/// app's native addons), so later starts only check a small manifest: every file there,
/// ours, not writable by others, of its recorded size, inode and modification time (a
/// truncated file, or one rewritten with other bytes of the same size, is noticed and the
/// directory rebuilt). Extraction goes to a private temporary directory that is
/// renamed into place when complete, so a crash leaves no half cache; a lock file makes
/// concurrent cold starts extract once while the others wait.
struct CacheDirectory {
    /// One file, as the manifest records it. `path` is relative to the directory's
    /// `files/`; a builtin's absolute path is "/" + `path`.
    struct File: Equatable {
        let kind: EntryKind
        let size: Int
        let path: String
    }

    /// What to write into a missing or damaged directory, in manifest order.
    typealias Contents = [(file: File, data: UnsafeRawBufferPointer)]

    static let manifestName = "manifest"
    static let manifestHeader = BUNDLE_CACHE_MANIFEST_HEADER

    let name: String

    init(prefix: String, digest: [UInt8]) {
        name = prefix + hexString(digest)
    }

    /// Cache bases in order of preference, as the first stage reads them too
    /// (cache_rules.h: which variables, the AT_SECURE and BUNDLE_RUNTIME_CACHE=off rules).
    /// Each must be a directory private to us.
    static func candidateBases() -> [String] {
        var buffer = [CChar](repeating: 0, count: Int(BUNDLE_CACHE_BASES_MAX) * Int(PATH_MAX))
        let count = Int(bundle_cache_bases(&buffer, buffer.count))
        return Array(buffer.split(separator: 0, maxSplits: count, omittingEmptySubsequences: false).prefix(count)
            .map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) })
    }

    /// Makes files from the extracted ones, in the directory being extracted (given its
    /// `files/` and what was extracted there), before the manifest is written; returns
    /// the relative paths made. They are checked like the others from then on.
    typealias Derive = (_ filesRoot: String, _ extracted: [File]) -> [String]

    /// A valid directory under `base`, extracting (or repairing) it if needed. `contents`
    /// is asked only then; it gives the files and a function that frees them (nil: none).
    func prepare(in base: String, contents: () -> (files: Contents, release: () -> Void)?,
                 derive: Derive? = nil) -> (path: String, files: [File])? {
        let parent = String(base.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        if !parent.isEmpty, mkdir(parent, 0o700) != 0, errno != EEXIST { return nil }
        guard !Disk.isNoExec(parent.isEmpty ? "/" : parent), Disk.makePrivateDirectory(base) else { return nil }
        let path = base + "/" + name
        if let files = Self.validate(path) { return (path, files) }

        // One process extracts; the others wait for it, then find a valid directory.
        let lock = Disk.lock(base + "/.lock-" + name)
        defer { Disk.unlock(lock) }
        if let files = Self.validate(path) { return (path, files) }
        if lock >= 0 {
            // Left by a process that died extracting or repairing this directory.
            for stale in Disk.names(in: base) where stale.hasPrefix(".extract-\(name)-") || stale.hasPrefix(".broken-\(name)-") {
                Disk.removeTree(base + "/" + stale)
            }
        }
        if Disk.lstatus(path) != nil {
            // Damaged or tampered with: move it aside atomically, then rebuild.
            let aside = base + "/.broken-\(name)-\(getpid())"
            guard rename(path, aside) == 0 || errno == ENOENT else { return nil }
            Disk.removeTree(aside)
        }
        guard let (files, release) = contents() else { return nil }
        defer { release() }
        guard extract(files, into: base, derive: derive) else { return nil }
        return Self.validate(path).map { (path, $0) }
    }

    /// Reads the manifest and checks every file it names is there, a regular file (no
    /// symlink anywhere below `path`), ours, not writable by others, and of its size. Its
    /// twin in the first stage (stage.c, use_cache_directory) must accept what this does.
    static func validate(_ path: String) -> [File]? {
        guard Disk.isPrivateDirectory(path), let text = Disk.readSmallFile(path + "/" + manifestName) else { return nil }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        guard lines.first == Substring(manifestHeader) else { return nil }
        var files: [File] = []
        var checkedDirectories: Set<String> = []
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 4)
            guard fields.count == 5, let raw = UInt8(fields[0]), let kind = EntryKind(rawValue: raw),
                  let size = Int(fields[1]) else { return nil }
            let file = File(kind: kind, size: size, path: String(fields[4]))
            guard (try? ArchiveWriter.validate(path: file.path, kind: .file)) != nil else { return nil }
            var directories = [path + "/files"]
            for part in file.path.split(separator: "/").dropLast() { directories.append(directories.last! + "/" + part) }
            for directory in directories where checkedDirectories.insert(directory).inserted {
                guard Disk.isPrivateDirectory(directory) else { return nil }
            }
            guard let info = Disk.lstatus(path + "/files/" + file.path), (info.st_mode & S_IFMT) == S_IFREG,
                  info.st_uid == getuid(), (info.st_mode & 0o022) == 0, Int(info.st_size) == size,
                  // Rewritten or replaced since extraction (same size or not): not ours any more.
                  fields[2] == Substring(String(info.st_ino)), fields[3] == Substring(Self.modificationTime(info)) else { return nil }
            files.append(file)
        }
        return files
    }

    static func modificationTime(_ info: stat) -> String {
        "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    /// Writes the files into a fresh private directory and renames it into place.
    private func extract(_ contents: Contents, into base: String, derive: Derive?) -> Bool {
        var template = Array((base + "/.extract-\(name)-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return false }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var manifest = Self.manifestHeader + "\n"
        func record(_ file: File) -> Bool {
            guard let info = Disk.lstatus(temporary + "/files/" + file.path), Int(info.st_size) == file.size else { return false }
            manifest += "\(file.kind.rawValue) \(file.size) \(info.st_ino) \(Self.modificationTime(info)) \(file.path)\n"
            return true
        }
        for (file, data) in contents {
            let target = temporary + "/files/" + file.path
            guard Disk.makeParents(of: target, under: temporary),
                  Disk.writeFile(target, data, mode: 0o500), record(file) else {
                Disk.removeTree(temporary)
                return false
            }
        }
        // A closure, not `\.file`: Embedded Swift has no key paths.
        for path in derive?(temporary + "/files", contents.map { $0.file }) ?? [] {
            guard let info = Disk.lstatus(temporary + "/files/" + path), chmod(temporary + "/files/" + path, 0o400) == 0,
                  record(File(kind: .file, size: Int(info.st_size), path: path)) else { continue }
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
}
