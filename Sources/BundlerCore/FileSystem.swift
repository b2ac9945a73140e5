import Foundation

/// What the bundler needs from the disk. Tests use `InMemoryFileSystem`.
public protocol FileSystem: Sendable {
    func kind(of path: String) -> FileKind?
    func contents(of path: String) throws -> [UInt8]
    /// Names in a directory, sorted, so every walk is deterministic.
    func children(of path: String) throws -> [String]
}

public enum FileKind: Sendable { case file, directory }

public struct LocalFileSystem: FileSystem {
    public init() {}

    public func kind(of path: String) -> FileKind? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        return isDirectory.boolValue ? .directory : .file
    }

    public func contents(of path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BundleError.unreadable(path, String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        return Array(try handle.readToEnd() ?? Data())
    }

    public func children(of path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// Files in memory, keyed by absolute path; directories are implied.
public struct InMemoryFileSystem: FileSystem {
    public var files: [String: [UInt8]]

    public init(_ files: [String: String]) {
        self.files = files.mapValues { Array($0.utf8) }
    }

    public func kind(of path: String) -> FileKind? {
        if files[path] != nil { return .file }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return files.keys.contains { $0.hasPrefix(prefix) } ? .directory : nil
    }

    public func contents(of path: String) throws -> [UInt8] {
        guard let data = files[path] else { throw BundleError.unreadable(path, "no such file") }
        return data
    }

    public func children(of path: String) throws -> [String] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return Set(files.keys.filter { $0.hasPrefix(prefix) }.compactMap {
            $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init)
        }).sorted()
    }
}

/// Pure path arithmetic on '/'-separated absolute paths.
enum Path {
    static func join(_ base: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") ? relative : base + "/" + relative)
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "/"
    }

    /// `path` relative to `root` (which must contain it).
    static func relative(_ path: String, to root: String) -> String {
        root == "/" ? String(path.dropFirst()) : String(path.dropFirst(root.count + 1))
    }

    static func isInside(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    static func commonAncestor(_ paths: [String]) -> String {
        guard var common = paths.first.map(dirname) else { return "/" }
        for path in paths.dropFirst() {
            while !isInside(path, common) { common = dirname(common) }
        }
        return common
    }
}

extension FileSystem {
    /// Every file below `directory`, skipping dot-directories such as .git, symlink
    /// loops and, unless `packages`, `node_modules` (packages are collected on their own).
    func filesBelow(_ directory: String, canonical: (String) -> String, packages: Bool = false) -> [String] {
        var result: [String] = []
        var visited: Set<String> = []
        func walk(_ path: String) {
            guard visited.insert(canonical(path)).inserted, let names = try? children(of: path) else { return }
            for name in names {
                let child = path + "/" + name
                switch kind(of: child) {
                case .file: result.append(child)
                case .directory where (packages || name != "node_modules") && !name.hasPrefix("."): walk(child)
                default: break
                }
            }
        }
        walk(directory)
        return result
    }
}
