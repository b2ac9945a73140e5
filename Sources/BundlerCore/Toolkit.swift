import Foundation

/// The prebuilt pieces every output is made from: the launcher executable, the
/// embedding shim and the bootstrap script. They are found next to the `bundle`
/// executable (a SwiftPM build folder puts them there); the bootstrap comes from the
/// source tree's Templates/ folder above it.
public struct Toolkit: Sendable {
    public var launcher: String
    public var embedShim: String
    public var bootstrap: String
    /// Templates/code-cache.js, beside the bootstrap (nil: outputs get no code cache).
    public var codeCacheScript: String?
    /// The first stage of portable outputs (nil: only non-portable outputs can be made).
    public var stage: String?

    public static func locate(executable: String = CommandLine.executablePath) throws -> Toolkit {
        let directory = Path.dirname(executable)
        let launcher = directory + "/bundle-launcher"
        let shim = directory + "/libBundleEmbed.so"
        for path in [launcher, shim] where !FileManager.default.isReadableFile(atPath: path) {
            throw BundleError.toolkitMissing(Path.basename(path))
        }
        var current = directory
        var bootstrap = directory + "/bootstrap.js"
        while !FileManager.default.isReadableFile(atPath: bootstrap) {
            guard current != "/" else { throw BundleError.toolkitMissing("bootstrap.js") }
            bootstrap = current + "/Templates/bootstrap.js"
            current = Path.dirname(current)
        }
        let codeCacheScript = Path.dirname(bootstrap) + "/code-cache.js"
        let stage = directory + "/bundle-stage"
        return Toolkit(launcher: launcher, embedShim: shim, bootstrap: bootstrap,
                       codeCacheScript: FileManager.default.isReadableFile(atPath: codeCacheScript) ? codeCacheScript : nil,
                       stage: FileManager.default.isReadableFile(atPath: stage) ? stage : nil)
    }
}

extension CommandLine {
    /// The real path of the running executable, whatever argv[0] says.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
