import ArgumentParser
import BundlerCore
import FoundationEssentials

@main
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Turn a Node.js app into one executable that runs where node is not installed.",
        discussion: """
            Examples:
              bundle app.js -o app                 # app.js and everything it requires → ./app
              ./app --port 8080                    # behaves like `node app.js --port 8080`
              bundle .                             # the package here: its bin (or main) → ./<name>
              bundle server.js --include 'public/**' --node-option=--max-old-space-size=4096
              bundle inspect app                   # what is inside
              bundle extract app -o app-files      # the bundled files, back on disk
            """,
        version: Versions.line,
        subcommands: [Build.self, Inspect.self, Extract.self, PackageSelf.self],
        defaultSubcommand: Build.self)
}

/// Runs a command body, turning every failure into one line on stderr and exit 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as BundleError {
        Terminal.error(error.description)
        throw ExitCode.failure
    } catch let error as ExitCode {
        throw error
    } catch let error as CustomStringConvertible {
        Terminal.error(error.description)
        throw ExitCode.failure
    } catch {
        Terminal.error("\(error)")
        throw ExitCode.failure
    }
}

extension RuntimeMode: ExpressibleByArgument {}
