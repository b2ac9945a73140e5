import FoundationEssentials

/// A problem with the user's input or environment. `description` is the one line the
/// CLI prints; it always names the path that was wrong.
public enum BundleError: Error, Equatable, CustomStringConvertible {
    case entryMissing(String)
    case entryIsDirectory(String)
    /// What it is (entry, output) and its path: a FIFO, socket or device.
    case notARegularFile(String, String)
    case unreadable(String, String)
    case inputChanged(String)
    case outputDirectoryMissing(String)
    case outputIsDirectory(String)
    case outputIsInput(String)
    case outputExists(String)
    case writeFailed(String, String)
    case toolkitMissing(String)
    case runtimeUnavailable(String)
    case invalidPackageJSON(String, String)
    case inputMissing(String)
    case notABundle(String)
    case damaged(String, String)
    case extractTargetNotEmpty(String)
    case invalidNodeOption(String)
    case invalidGlob(String)
    case includeMatchedNothing(String)
    case ambiguousBin(String, [String])
    case incompatibleAddon(String, String)
    case invalidConfig(String, String)
    case typeScriptUnavailable(String)
    case typeScriptError(String)

    public var description: String {
        switch self {
        case .entryMissing(let path): return "entry \(path) does not exist"
        case .incompatibleAddon(let path, let why): return "native addon \(path) cannot load: \(why)"
        case .entryIsDirectory(let path): return "entry \(path) is a directory without package.json main or index.js"
        case .notARegularFile(let what, let path): return "\(what) \(path) is not a regular file (a FIFO, socket or device)"
        case .unreadable(let path, let why): return "cannot read \(path): \(why)"
        case .inputChanged(let path): return "\(path) changed while it was being bundled; bundle again"
        case .outputDirectoryMissing(let path): return "output directory \(path) does not exist"
        case .outputIsDirectory(let path): return "output \(path) is a directory; name a file with -o"
        case .outputIsInput(let path): return "output \(path) is one of the app's own files; choose another -o"
        case .outputExists(let path): return "output \(path) exists and is not a bundled app; remove it or pass --force"
        case .writeFailed(let path, let why): return "cannot write \(path): \(why)"
        case .toolkitMissing(let what): return "bundle is incomplete: \(what) not found next to it (run Scripts/setup)"
        case .runtimeUnavailable(let why): return "cannot prepare the node runtime: \(why)"
        case .invalidConfig(let path, let why): return "\(path): \(why)"
        case .typeScriptUnavailable(let path): return "\(path) is TypeScript, and this bundle has no esbuild to transpile it (a bundle built from source gets it from Scripts/setup)"
        case .typeScriptError(let message): return message
        case .invalidPackageJSON(let path, let why): return "\(path) is not valid JSON: \(why)"
        case .inputMissing(let path): return "\(path) does not exist"
        case .notABundle(let path): return "\(path) is not a bundled app"
        case .damaged(let path, let why): return "\(path) is damaged: \(why)"
        case .extractTargetNotEmpty(let path): return "\(path) is not empty; extract into a new or empty directory"
        case .invalidNodeOption(let why): return why
        case .invalidGlob(let pattern): return "--include/--exclude pattern '\(pattern)' is malformed"
        case .includeMatchedNothing(let pattern): return "--include '\(pattern)' matches no file"
        case .ambiguousBin(let path, let names):
            return "\(path)/package.json names \(names.count) bins (\(names.joined(separator: ", "))); give the one to bundle as the entry"
        }
    }
}

/// Something worth telling the user that does not stop the bundle.
public struct Diagnostic: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    /// Line 0: about the file as a whole.
    public var description: String { line > 0 ? "\(file):\(line): warning: \(message)" : "\(file): warning: \(message)" }
}
