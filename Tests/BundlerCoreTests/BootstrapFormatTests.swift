import Foundation
import Testing
@testable import BundlerCore

/// The bootstrap reads the archive with the FORMAT the toolkit writes into it, and the
/// bootstrap's own tests (which join the parts themselves) with the one they read from
/// payload_format.h. Both must be the whole header, value for value, or the node tests
/// would test a bootstrap unlike the one outputs carry.
@Suite struct BootstrapFormatTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func toolkitWritesWhatTheBootstrapTestsReadFromTheHeader() throws {
        let node = Process()
        node.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        node.arguments = ["node", "-e", "process.stdout.write(JSON.stringify(require(process.argv[1]).FORMAT))",
                          Self.packageRoot + "/Tests/bootstrap/archive.js"]
        let output = Pipe()
        node.standardOutput = output
        try node.run()
        let fromHeader = output.fileHandleForReading.readDataToEndOfFile()
        node.waitUntilExit()
        #expect(node.terminationStatus == 0)
        let written = try JSONSerialization.jsonObject(with: Data(BootstrapFormat().json.utf8)) as? NSDictionary
        let read = try JSONSerialization.jsonObject(with: fromHeader) as? NSDictionary
        #expect(written != nil && written == read, "toolkit: \(BootstrapFormat().json)\nheader: \(String(decoding: fromHeader, as: UTF8.self))")
    }

    @Test func joinedBootstrapCarriesTheFormatWhereTheManifestSaysSo() throws {
        let script = String(decoding: try Toolkit.joinedBootstrap(Self.packageRoot + "/Templates/bootstrap/manifest", LocalFileSystem()),
                            as: UTF8.self)
        let format = try #require(script.range(of: "const FORMAT = "))
        let archiveParser = try #require(script.range(of: "function parseArchive("))
        #expect(format.lowerBound < archiveParser.lowerBound)
        #expect(script.hasPrefix("'use strict';"))
    }
}
