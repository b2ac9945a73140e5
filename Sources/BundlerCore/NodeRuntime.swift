import FoundationEssentials
import PayloadFormat

/// A node runtime an app can be bundled with (`bundle --node 24`): data, not code.
/// Each is a recipe, Runtimes/<name>.lock (the Debian packages of one node: libnode,
/// its headers, its node, the JS files libnode reads, the C and C++ base of its Debian
/// release and the library closure), prepared by Scripts/build-runtime into
/// `<build folder>/runtimes/<name>/`: the embedding shim built against that runtime's
/// headers, a link to the extracted packages (`root`), and the node version.
/// Everything runtime-specific that the bundler needs is read from there.
public struct NodeRuntime: Sendable, Equatable {
    /// "node24".
    public var name: String
    /// "v24.21.0", as node's `process.version` spells it.
    public var nodeVersion: String
    /// The extracted packages: lib/, usr/lib/<triplet>/, usr/bin/node, usr/share/nodejs.
    public var root: String
    /// The embedding shim built for this runtime.
    public var shim: String

    /// What `bundle` uses when `--node` is not given.
    public static let defaultName = "node24"

    public var major: Int { Self.major(of: nodeVersion) }

    /// 24 for "v24.21.0".
    static func major(of version: String) -> Int {
        Int(version.drop { $0 == "v" }.prefix { $0 != "." }) ?? 0
    }

    /// `--node` takes a major version ("24") or a runtime name ("node24").
    public static func name(forOption value: String) -> String {
        value.allSatisfy(\.isNumber) ? "node" + value : value
    }

    /// The runtimes prepared next to the `bundle` executable, by name.
    public static func available(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/runtimes")) ?? []
        return names.filter { FileManager.default.fileExists(atPath: directory + "/runtimes/\($0)/node-version") }
            .sorted { (Int($0.dropFirst(4)) ?? 0) > (Int($1.dropFirst(4)) ?? 0) }
    }

    /// Reads `<directory>/runtimes/<name>/`, as Scripts/build-runtime wrote it.
    public static func locate(_ name: String, in directory: String) throws -> NodeRuntime {
        let folder = directory + "/runtimes/" + name
        guard let version = try? String(contentsOfFile: folder + "/node-version", encoding: .utf8) else {
            let known = available(in: directory)
            throw BundleError.runtimeUnavailable(known.isEmpty
                ? "no node runtime is prepared in \(directory)/runtimes (run Scripts/setup, or Scripts/build-runtime \(name))"
                : "no runtime \(name) (prepared: \(known.joined(separator: ", "))); Scripts/build-runtime \(name) prepares it if Runtimes/\(name).lock exists")
        }
        let root = folder + "/root"
        guard FileManager.default.fileExists(atPath: root + "/usr/lib") else {
            throw BundleError.runtimeUnavailable("the packages of \(name) are gone from \(root) (run Scripts/build-runtime \(name))")
        }
        return NodeRuntime(name: name, nodeVersion: version.trimmed,
                           root: root, shim: folder + "/libBundleEmbed.so")
    }

    /// Where the runtime's libraries are, in the order its loader would search them.
    var libraryDirectories: [String] {
        ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"].map { root + $0 }
    }

    /// Finds libraries in the runtime's packages only, never the host's.
    var libraryResolver: LibraryResolver {
        LibraryResolver(cache: [:], defaultDirectories: libraryDirectories)
    }

    /// The libraries the shim needs beyond the base set, in load order (libnode and its
    /// closure), found in the runtime's packages.
    func libraryClosure() throws -> [(name: String, object: ELFObject)] {
        let object: ELFObject
        do {
            object = try ELFObject.read(shim)
        } catch {
            throw BundleError.runtimeUnavailable(error.description)
        }
        return try RuntimePack.closure(of: object, resolver: libraryResolver)
    }

    /// The newest glibc the shim and the runtime's libraries need: what a host must have
    /// for an output that uses the host's C library (not portable, or the system runtime).
    func requiredGlibc() throws -> String? {
        let shimObject: ELFObject
        do { shimObject = try ELFObject.read(shim) } catch { throw BundleError.runtimeUnavailable(error.description) }
        return ([shimObject] + (try libraryClosure()).map(\.object)).compactMap(\.requiredGlibc)
            .max { GlibcVersion.precedes($0, $1) }
    }

    /// The runtime's own node, started by its own loader with its own libraries (its
    /// glibc may be newer than the host's): the program and the arguments before node's.
    /// It reads libnode's externalized JS files from the host's /usr/share/nodejs, so it
    /// starts only where some node's copies are installed; compiling code caches needs
    /// nothing else of them.
    var ownNode: (executable: String, arguments: [String])? {
        let node = root + "/usr/bin/node"
        guard let loader = libraryDirectories.map({ $0 + "/ld-linux-x86-64.so.2" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
            FileManager.default.isExecutableFile(atPath: node) else { return nil }
        return (loader, ["--library-path", libraryDirectories.prefix(2).joined(separator: ":"), node])
    }
}
