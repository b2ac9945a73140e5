import ArgumentParser
import BundlerCore
import FoundationEssentials
import PayloadFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what a bundled app contains and how it starts.")

    @Argument(help: "A bundled app.")
    var app: String

    func run() throws {
        try reportingErrors {
            let info = try BundleInspector.inspect(app)
            let metadata = info.metadata
            let options = metadata.nodeOptions ?? []
            Swift.print("""
                format:       \(info.formatVersion)
                node:         \(metadata.nodeVersion ?? "unknown")
                runtime:      \(info.selfContained ? "bundled (runs without node installed)" : "system (uses the installed libnode)")\(info.portable ? ", portable (carries its C libraries)" : "")
                entry:        \(Format.virtualRoot)/\(metadata.entry)
                node options: \(options.isEmpty ? "none" : options.joined(separator: " "))\(metadata.allowNodeOptions == true ? " (NODE_OPTIONS allowed)" : "")
                checksums:    ok
                size:         \(Terminal.size(info.launcherSize + info.runtimeSize + info.appSize)) (launcher \(Terminal.size(info.launcherSize)), runtime \(Terminal.size(info.runtimeSize)), app \(Terminal.size(info.appSize)))
                files:        \(info.files.count)
                """)
            if let sources = metadata.settingSources {
                let from = SettingSource.allCases.compactMap { source -> String? in
                    let names = ProjectConfig.settings(from: source, in: sources)
                    return names.isEmpty ? nil : "\(source.rawValue): \(names.joined(separator: ", "))"
                }
                Swift.print("settings:     " + from.joined(separator: "; "))
            }
            let reasons = metadata.reasonsByPath
            for file in info.files {
                Swift.print(FileLine(size: file.size, reason: reasons.map { $0[file.path] ?? .package }, path: file.path).text)
            }
        }
    }
}

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a bundled app's files back out into a directory.")

    @Argument(help: "A bundled app.")
    var app: String

    @Option(name: .shortAndLong, help: "A new or empty directory to write into.")
    var output: String

    func run() throws {
        try reportingErrors {
            let written = try BundleInspector.extract(app, to: output)
            Terminal.line("  \(written.count) files written to \(output)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
