import ArgumentParser
import BundlerCore
import Foundation

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Bundle an app into one executable (the default command).")

    @Argument(help: "The app's entry file, or a package directory (its bin, else its main).")
    var entry: String

    @Option(name: .shortAndLong, help: "The executable to write (default: named after the package's bin or the entry, here).")
    var output: String?

    @Option(help: ArgumentHelp(
        "Which node runtime the app uses: bundled (inside the output; runs without node installed) or system (the machine's libnode108; small output).",
        valueName: "bundled|system"))
    var runtime: RuntimeMode = .bundled

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "With the bundled runtime (the default): carry the C and C++ libraries too and start through a small static first stage, so the output runs on older Linux systems (glibc 2.31) and in empty containers. On by default; --no-portable uses the machine's own (glibc 2.35 or newer, 2.9 MB smaller)."))
    var portable: Bool?

    @Option(name: .customLong("include"), help: ArgumentHelp(
        "Also bundle files matching this glob, relative to the current directory (repeatable), e.g. 'assets/**' or 'plugins/*.js'.",
        valueName: "glob"))
    var includes: [String] = []

    @Option(name: .customLong("exclude"), help: ArgumentHelp("Leave out files matching this glob (repeatable).", valueName: "glob"))
    var excludes: [String] = []

    @Option(name: .customLong("node-option"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "A node flag applied at every start (repeatable), e.g. --node-option=--max-old-space-size=4096. Flags that load code or open ports are refused.",
        valueName: "flag"))
    var nodeOptions: [String] = []

    @Flag(help: "Let NODE_OPTIONS from the environment apply to the app (off by default).")
    var allowNodeOptions = false

    @Flag(help: "Overwrite an existing output that is not a bundled app.")
    var force = false

    @Flag(name: .shortAndLong, help: "Print nothing but warnings and errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "List every bundled file.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if portable == true && runtime == .system { throw ValidationError("--portable needs --runtime bundled") }
    }

    func run() throws {
        try reportingErrors {
            let started = Date()
            let toolkit = try Toolkit.locate()
            let bundler = Bundler(toolkit: toolkit, progress: { message in
                if !quiet { Terminal.progress(message) }
            })
            let result = try bundler.bundle(BundleRequest(
                entry: entry, output: output, runtime: runtime, force: force, nodeOptions: nodeOptions,
                allowNodeOptions: allowNodeOptions, includes: includes, excludes: excludes, portable: portable ?? true))
            for diagnostic in result.app.diagnostics { Terminal.warning(diagnostic.description) }
            if !quiet {
                Summary(result: result, elapsed: Date().timeIntervalSince(started), verbose: verbose, carried: toolkit.carried != nil).print()
            }
        }
    }
}

/// What a user sees after bundling: where the output is, what its size is made of,
/// and the files worth knowing about.
struct Summary {
    let result: BundleResult
    let elapsed: TimeInterval
    let verbose: Bool
    /// Made by a one-file bundle, with the runtime it carries.
    let carried: Bool

    func print() {
        let relative = result.output.hasPrefix(FileManager.default.currentDirectoryPath + "/")
            ? String(result.output.dropFirst(FileManager.default.currentDirectoryPath.count + 1)) : result.output
        Terminal.line("  \(Terminal.bold(relative))  \(Terminal.size(result.totalSize))  "
            + Terminal.dim("(launcher \(Terminal.size(result.launcherSize))"
                + (result.portableSize > 0 ? " · first stage and C libraries \(Terminal.size(result.portableSize))" : "")
                + " · runtime \(Terminal.size(result.runtimeSize)) · app \(Terminal.size(result.appSize)))"))
        let files = result.fileSizes
        if verbose {
            for file in files { Terminal.line("    \(Terminal.size(file.size).padding(toLength: 9, withPad: " ", startingAt: 0)) \(file.path)") }
        } else {
            let largest = files.sorted { $0.size > $1.size }.prefix(3).map { "\($0.path) \(Terminal.size($0.size))" }
            Terminal.line("  \(files.count) file\(files.count == 1 ? "" : "s"); largest: \(largest.joined(separator: ", "))")
        }
        if verbose {
            Terminal.line(result.codeCacheSize.map { "  V8 code cache: \(Terminal.size($0))" }
                ?? (carried ? "  no V8 code cache: the carried node runtime could not run here to make it"
                    : "  no V8 code cache: no node \(Versions.node) on PATH or in /usr/bin to make it"))
            for note in result.codeCacheNotes { Terminal.line("    \(note)") }
        }
        let warnings = result.app.diagnostics.count
        Terminal.line("  done in \(String(format: "%.2f", elapsed)) s" + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
    }
}
