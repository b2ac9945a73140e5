import FoundationEssentials
import PayloadFormat

/// The prebuilt pieces every output is made from: the launcher executable, the
/// embedding shim, the first stage and the templates. A one-file `bundle` carries them
/// in its own file (`CarriedToolkit`), with the runtime and base sections ready made;
/// otherwise they are found next to the `bundle` executable (a SwiftPM build folder puts
/// them there), the templates in the source tree's Templates/ folder above it, and the
/// sections are prepared from this system's libraries.
public struct Toolkit: Sendable {
    public var launcher: [UInt8]
    public var embedShim: [UInt8]
    public var bootstrap: [UInt8]
    /// Templates/code-cache.js (nil: outputs get no code cache).
    public var codeCacheScript: [UInt8]?
    /// The first stage of portable outputs (nil: only non-portable outputs can be made).
    public var stage: [UInt8]?
    public var origin: Origin
    /// esbuild, which transpiles TypeScript (`TypeScriptFiles`); nil: TypeScript is an error.
    public var transpiler: Transpiler? = nil

    /// Where the esbuild executable is, found when the first TypeScript file needs it: a
    /// file next to `bundle`, or the one a one-file bundle carries, written out once
    /// (`CarriedToolkit.installedTranspiler`).
    public struct Transpiler: Sendable {
        public var locate: @Sendable () throws -> String
    }

    public enum Origin: Sendable {
        /// Files in a build folder, and the runtime chosen (`NodeRuntime`: its embedding
        /// shim, whose library closure the runtime section is made of, and its packages);
        /// `codeCacheScript` is the script a node of that version runs.
        case directory(runtime: NodeRuntime, codeCacheScript: String?)
        /// Carried in the `bundle` file itself.
        case carried(CarriedToolkit)
    }

    /// The version of node the outputs run.
    public var nodeVersion: String {
        switch origin {
        case .directory(let runtime, _): runtime.nodeVersion
        case .carried(let carried): carried.nodeVersion
        }
    }

    public var carried: CarriedToolkit? {
        if case .carried(let carried) = origin { return carried }
        return nil
    }

    /// The toolkit for outputs of the runtime `runtimeName` ("node24"; nil: the default,
    /// or the one a one-file `bundle` carries).
    public static func locate(executable: String = CommandLine.executablePath, runtime runtimeName: String? = nil) throws -> Toolkit {
        if let carried = try CarriedToolkit.read(executable) {
            let carriedName = "node\(NodeRuntime.major(of: carried.nodeVersion))"
            if let runtimeName, runtimeName != carriedName {
                throw BundleError.runtimeUnavailable(
                    "this one-file bundle carries node \(carried.nodeVersion) only (--node \(carriedName.dropFirst(4))); \(runtimeName) needs a bundle built from source")
            }
            return carried
        }
        let directory = Path.dirname(executable)
        let launcher = directory + "/bundle-launcher"
        let runtime = try NodeRuntime.locate(runtimeName ?? NodeRuntime.defaultName, in: directory)
        let shim = runtime.shim
        for path in [launcher, shim] where !FileManager.default.isReadableFile(atPath: path) {
            throw BundleError.toolkitMissing(Path.basename(path))
        }
        var current = directory
        var manifest = directory + "/bootstrap/manifest"
        while !FileManager.default.isReadableFile(atPath: manifest) {
            guard current != "/" else { throw BundleError.toolkitMissing("bootstrap/manifest") }
            manifest = current + "/Templates/bootstrap/manifest"
            current = Path.dirname(current)
        }
        let templates = Path.dirname(Path.dirname(manifest))
        let codeCacheScript = templates + "/code-cache.js"
        let stage = directory + "/bundle-stage"
        let files = LocalFileSystem()
        let script = FileManager.default.isReadableFile(atPath: codeCacheScript) ? codeCacheScript : nil
        let esbuild = directory + "/esbuild"
        return Toolkit(launcher: try files.contents(of: launcher), embedShim: try files.contents(of: shim),
                       bootstrap: try joinedBootstrap(manifest, files), codeCacheScript: try script.map(files.contents),
                       stage: FileManager.default.isReadableFile(atPath: stage) ? try files.contents(of: stage) : nil,
                       origin: .directory(runtime: runtime, codeCacheScript: script),
                       transpiler: FileManager.default.isExecutableFile(atPath: esbuild) ? Transpiler { esbuild } : nil)
    }

    /// The one bootstrap script outputs carry: the parts Templates/bootstrap/manifest lists
    /// (one file name a line, or `<format>` for `BootstrapFormat`; empty and `#` lines
    /// skipped), joined in its order by "\n".
    static func joinedBootstrap(_ manifest: String, _ files: LocalFileSystem) throws -> [UInt8] {
        let folder = Path.dirname(manifest)
        let names = String(decoding: try files.contents(of: manifest), as: UTF8.self).split(separator: "\n")
            .map { $0.trimmed }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        var joined: [UInt8] = []
        for (index, name) in names.enumerated() {
            if index > 0 { joined.append(UInt8(ascii: "\n")) }
            joined += name == BootstrapFormat.manifestLine ? Array(BootstrapFormat().script.utf8) : try files.contents(of: folder + "/" + name)
        }
        return joined
    }
}

extension CommandLine {
    /// The real path of the running executable, whatever argv[0] says.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
