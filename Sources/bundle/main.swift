import ArgumentParser
import BundlerCore
import Foundation

@main
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Turn a Node.js app into one self-contained executable.",
        discussion: """
            Examples:
              bundle app.js -o app       # app.js and everything it requires → ./app
              ./app --port 8080          # behaves like `node app.js --port 8080`
            """)

    @Argument(help: "The app's entry file (or a directory with package.json main / index.js).")
    var entry: String

    @Option(name: .shortAndLong, help: "The executable to write.")
    var output: String

    @Option(help: ArgumentHelp(
        "Which node runtime the app uses: bundled (libnode and its libraries inside the output; runs without node installed) or system (the machine's libnode108; small output).",
        valueName: "bundled|system"))
    var runtime: RuntimeMode = .bundled

    @Flag(help: "Overwrite an existing output that is not a bundled app.")
    var force = false

    mutating func run() throws {
        do {
            let bundler = Bundler(toolkit: try Toolkit.locate())
            let result = try bundler.bundle(BundleRequest(entry: entry, output: output, runtime: runtime, force: force))
            for diagnostic in result.app.diagnostics {
                FileHandle.standardError.write(Data("\(diagnostic)\n".utf8))
            }
            print("\(output): \(result.totalSize) bytes, \(result.fileSizes.count) files")
        } catch let error as BundleError {
            FileHandle.standardError.write(Data("bundle: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension RuntimeMode: ExpressibleByArgument {}
