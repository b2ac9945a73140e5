import Foundation
import Testing

/// Bad input: one line naming the path, a non-zero exit, nothing written.
@Suite struct BadInputTests {
    func bundle(_ arguments: [String], in directory: String) throws -> Outcome {
        try run(Tools.bundle, arguments, in: directory)
    }

    func expectOneLineError(_ result: Outcome, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("bundle: error: "), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(path), "\(result)", sourceLocation: sourceLocation)
    }

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test func missingEntry() throws {
        let fixture = try Fixture()
        expectOneLineError(try bundle(["nope.js", "-o", "app"], in: fixture.directory), naming: "nope.js")
        #expect(try entries(fixture.directory) == [])
    }

    @Test func entryIsADirectoryWithoutIndex() throws {
        let fixture = try Fixture(["dir/readme.txt": "x"])
        expectOneLineError(try bundle(["dir", "-o", "app"], in: fixture.directory), naming: "dir")
        #expect(try entries(fixture.directory) == ["dir"])
    }

    @Test func unreadableEntry() throws {
        let fixture = try Fixture(["secret.js": "1"])
        chmod(fixture.directory + "/secret.js", 0)
        // Root reads anything, so the check runs as an unprivileged user.
        let asUser = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "nobody", "--"] : []
        let output = try fixture.scratchDirectory("out")
        chmod(output, 0o777)
        let result = try run(asUser.first ?? Tools.bundle, Array(asUser.dropFirst()) + (asUser.isEmpty ? [] : [Tools.bundle])
                             + ["secret.js", "-o", output + "/app"], in: fixture.directory)
        expectOneLineError(result, naming: "secret.js")
        #expect(try entries(output) == [])
    }

    /// A FIFO would block bundling forever and a link to /dev/zero would never end:
    /// they are left out with a warning, refused as entry, and never written over.
    @Test func fifosSocketsAndDevicesAreNeverRead() throws {
        let fixture = try Fixture(["app.js": "console.log(require('fs').readdirSync(__dirname).sort().join())\n",
                                   "package.json": #"{ "name": "x" }"#])
        #expect(mkfifo(fixture.directory + "/pipe", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: fixture.directory + "/zero", withDestinationPath: "/dev/zero")
        let output = try fixture.scratchDirectory("out") + "/app"
        let result = try run(Tools.bundle, ["app.js", "-o", output], in: fixture.directory, timeout: 60)
        #expect(result.status == 0, "\(result)")
        for name in ["pipe", "zero"] {
            #expect(result.stderr.contains("\(fixture.directory)/\(name):1: warning: skipped: not a regular file"), "\(result)")
        }
        #expect(try run(output).stdout == "app.js,package.json\n")

        expectOneLineError(try bundle(["pipe", "-o", "app"], in: fixture.directory), naming: "pipe")
        for extra in [[], ["--force"]] {
            expectOneLineError(try bundle(["app.js", "-o", "/dev/null"] + extra, in: fixture.directory), naming: "/dev/null")
        }
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        #expect(try entries(fixture.directory) == ["app.js", "package.json", "pipe", "zero"])
    }

    @Test func outputDirectoryMissing() throws {
        let fixture = try Fixture(["app.js": "1"])
        expectOneLineError(try bundle(["app.js", "-o", "no/such/dir/app"], in: fixture.directory), naming: "no/such/dir")
        #expect(try entries(fixture.directory) == ["app.js"])
    }

    @Test func outputNamingTheEntryIsRefusedAndTheEntryKept() throws {
        let fixture = try Fixture(["app.js": "require('./lib')\n", "lib.js": "1"])
        for target in ["app.js", "lib.js"] {
            expectOneLineError(try bundle(["app.js", "-o", target, "--force"], in: fixture.directory), naming: target)
        }
        #expect(try String(contentsOfFile: fixture.directory + "/app.js", encoding: .utf8) == "require('./lib')\n")
        #expect(try String(contentsOfFile: fixture.directory + "/lib.js", encoding: .utf8) == "1")
        #expect(try entries(fixture.directory) == ["app.js", "lib.js"])
    }

    @Test func outputThatIsADirectory() throws {
        let fixture = try Fixture(["app.js": "1", "out/keep": "k"])
        expectOneLineError(try bundle(["app.js", "-o", "out"], in: fixture.directory), naming: "out")
        #expect(try entries(fixture.directory + "/out") == ["keep"])
    }

    @Test func anExistingFileIsNotOverwrittenBySurprise() throws {
        let fixture = try Fixture(["app.js": "1", "notes.txt": "precious"])
        expectOneLineError(try bundle(["app.js", "-o", "notes.txt"], in: fixture.directory), naming: "notes.txt")
        #expect(try String(contentsOfFile: fixture.directory + "/notes.txt", encoding: .utf8) == "precious")
        // A previous output is rebuilt without ceremony.
        let output = fixture.directory + "/../" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: output) }
        #expect(try bundle(["app.js", "-o", output], in: fixture.directory).status == 0)
        #expect(try bundle(["app.js", "-o", output], in: fixture.directory).status == 0)
    }

    /// `bundle` alone bundles the package it runs in; outside one it prints usage.
    @Test func missingArgumentsPrintUsage() throws {
        let folder = try Fixture()
        let result = try run(Tools.bundle, [], in: folder.directory)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("Missing expected argument '<entry>'"), "\(result)")
        #expect(result.stderr.contains("Usage: bundle"), "\(result)")
    }
}
