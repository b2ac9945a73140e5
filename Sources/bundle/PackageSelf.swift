import ArgumentParser
import BundlerCore
import FoundationEssentials

/// Scripts/package runs this: the one-file `bundle` (layout: `ToolkitRecord`).
struct PackageSelf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package-self",
        abstract: "Write a one-file bundle: a bundle executable carrying the launcher, the runtime and the C libraries.",
        shouldDisplay: false)

    @Option(help: "The bundle executable to carry them (one without a toolkit, e.g. a stripped copy of this one).")
    var executable: String

    @Option(name: .shortAndLong, help: "The file to write.")
    var output: String

    func run() throws {
        try reportingErrors {
            let size = try CarriedToolkit.write(executable: executable, toolkit: try Toolkit.locate(),
                                                to: output, progress: { Terminal.progress($0) })
            Terminal.line("  \(Terminal.bold(output))  \(Terminal.size(size))  (\(Versions.line))")
        }
    }
}
