import Foundation
import Testing

/// A project that keeps its build in package.json's "bundle" section: `bundle` in its
/// folder needs no arguments, flags win over the section, bad sections are one line.
@Suite struct ProjectConfigTests {
    static let server = """
        const fs = require('fs'), path = require('path');
        console.log(fs.readFileSync(path.join(__dirname, '../public/index.html'), 'utf8').trim());
        console.log(JSON.stringify(process.execArgv));
        """

    func configuredProject(_ section: String) throws -> Fixture {
        try Fixture([
            // npm would publish src/ only: public/ comes in through "include".
            "package.json": #"{ "name": "site", "version": "1.0.0", "files": ["src"], "bundle": \#(section) }"#,
            "src/server.js": Self.server,
            "src/notes.txt": "not part of the app",
            "public/index.html": "<h1>home</h1>",
        ])
    }

    static let fullSection = #"""
        { "entry": "src/server.js", "output": "dist/site", "node": \#(Tools.runtime.major),
          "include": ["public/**"], "exclude": ["src/*.txt"], "nodeOptions": ["--max-old-space-size=300"] }
        """#

    @Test func aConfiguredProjectBundlesWithNoArguments() throws {
        let fixture = try configuredProject(Self.fullSection)
        try FileManager.default.createDirectory(atPath: fixture.directory + "/dist", withIntermediateDirectories: false)
        let result = try run(Tools.bundle, ["-q"], in: fixture.directory, timeout: 300)
        #expect(result.status == 0, "\(result)")
        let output = fixture.directory + "/dist/site"
        let ran = try run(output, in: "/")
        #expect(ran == Outcome(stdout: "<h1>home</h1>\n[\"--max-old-space-size=300\"]\n", stderr: "", status: 0))
        let inspected = try run(Tools.bundle, ["inspect", output])
        #expect(inspected.stdout.contains("settings:     package.json: entry, output, node, include, exclude, nodeOptions; default: runtime, allowNodeOptions, portable"),
                "\(inspected)")
        #expect(!inspected.stdout.contains("src/notes.txt"), "\(inspected)")
        #expect(inspected.stdout.contains("app/public/index.html"), "\(inspected)")
    }

    /// `bundle .`, `bundle <folder>` from elsewhere and `bundle <entry>` inside the
    /// package read the same section; paths in it stay relative to the package folder.
    @Test func theSectionIsFoundFromTheFolderOrTheEntry() throws {
        let fixture = try configuredProject(#"{ "entry": "src/server.js", "include": ["public/*.html"] }"#)
        let outputs = try fixture.scratchDirectory("outputs")
        for (arguments, directory) in [(["."], fixture.directory), ([fixture.directory], outputs), (["server.js"], fixture.directory + "/src")] {
            let output = outputs + "/site-\(arguments[0].count)"
            let result = try run(Tools.bundle, arguments + ["-o", output, "-q"] + Tools.runtimeArguments, in: directory, timeout: 300)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(try run(output, in: "/").stdout.hasPrefix("<h1>home</h1>\n"), "\(arguments)")
        }
    }

    @Test func flagsWinOverTheSection() throws {
        let fixture = try configuredProject(Self.fullSection)
        let output = try fixture.scratchDirectory("out") + "/chosen"
        let result = try run(Tools.bundle, ["-o", output, "--node-option=--stack-size=900", "-q"], in: fixture.directory, timeout: 300)
        #expect(result.status == 0, "\(result)")
        #expect(try run(output, in: "/").stdout == "<h1>home</h1>\n[\"--stack-size=900\"]\n")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/dist"))
        let inspected = try run(Tools.bundle, ["inspect", output]).stdout
        #expect(inspected.contains("flag: output, nodeOptions; package.json: entry, node, include, exclude;"), "\(inspected)")
    }

    /// Each mistake names package.json and the key, says what is allowed, and writes nothing.
    @Test(arguments: [
        (#""server.js""#, #""bundle" must be an object of build settings"#),
        (#"{ "entry": "src/server.js", "outptu": "x" }"#, #""bundle.outptu" is not a setting (allowed: entry, output, node, runtime, include, exclude, nodeOptions, allowNodeOptions, portable)"#),
        (#"{ "entry": 5 }"#, #""bundle.entry" must be a path (a string) relative to the package folder"#),
        (#"{ "entry": "src/server.js", "include": "public/**" }"#, #""bundle.include" must be an array of globs (strings)"#),
        (#"{ "entry": "src/server.js", "include": ["nothing/**"] }"#, #""bundle.include" pattern 'nothing/**' matches no file"#),
        (#"{ "entry": "src/server.js", "portable": "yes" }"#, #""bundle.portable" must be true or false"#),
        (#"{ "entry": "src/server.js", "allowNodeOptions": 1 }"#, #""bundle.allowNodeOptions" must be true or false"#),
        (#"{ "entry": "src/server.js", "node": 99 }"#, #""bundle.node": cannot prepare the node runtime: no runtime node99"#),
        (#"{ "entry": "src/server.js", "node": true }"#, #""bundle.node" must be a node major version such as 24 or "18""#),
        (#"{ "entry": "src/server.js", "runtime": "docker" }"#, #""bundle.runtime" must be "bundled" or "system""#),
        (#"{ "entry": "src/server.js", "nodeOptions": ["--require=./x.js"] }"#, #""bundle.nodeOptions": node option '--require=./x.js' is unknown or unsafe"#),
        (#"{ "entry": "src/missing.js" }"#, "src/missing.js does not exist"),
    ])
    func aBadSectionIsOneLineAndWritesNothing(section: String, message: String) throws {
        let fixture = try configuredProject(section)
        let before = try FileManager.default.contentsOfDirectory(atPath: fixture.directory).sorted()
        let result = try run(Tools.bundle, [], in: fixture.directory, timeout: 120)
        #expect(result.status != 0, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result)")
        #expect(result.stderr.hasPrefix("bundle: error: "), "\(result)")
        #expect(result.stderr.contains(message), "\(result)")
        if !message.hasSuffix("does not exist") { #expect(result.stderr.contains(fixture.directory + "/package.json: "), "\(result)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory).sorted() == before)
    }
}
