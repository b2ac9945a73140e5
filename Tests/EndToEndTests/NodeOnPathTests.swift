import Foundation
import Testing

/// `bundle` compiles the app's code caches with a node of the packed version; another
/// node first on PATH (nvm's) must be skipped, not kill `bundle` (issue 19, point 1).
@Suite struct NodeOnPathTests {
    /// Fake nodes that exit without reading their stdin: the pipe `bundle` writes the
    /// app's code into is closed under it.
    static let fakes = [
        "#!/bin/sh\nexit 3\n",  // what code-cache.js does for another version
        "#!/bin/sh\necho v99.0.0\n",  // not node at all: prints and succeeds
    ]

    @Test(arguments: fakes, ["/usr/bin:/bin", "/bin"])
    func aNodeOfAnotherVersionFirstOnPathIsSkipped(fake: String, rest: String) throws {
        // ~800 KB of JS: far more than a pipe holds, so the write meets the closed pipe.
        var big = ""
        for index in 0..<14000 { big += "exports.f\(index) = function (a, b) { return a * \(index) + b - \(index % 7); };\n" }
        let fixture = try Fixture(["app.js": "const big = require('./big');\nconsole.log('sum', big.f7(2, 3) + big.f7999(1, 1));\n",
                                   "big.js": big])
        #expect(big.utf8.count > 700_000)
        let fakeDirectory = try fixture.scratchDirectory("fake-node")
        FileManager.default.createFile(atPath: fakeDirectory + "/node", contents: Data(fake.utf8), attributes: [.posixPermissions: 0o755])
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = fakeDirectory + ":" + rest
        let result = try run(Tools.bundle, ["app.js", "-o", "out", "--runtime", "system", "--node", "18", "-v"], in: fixture.directory,
                             environment: environment)
        #expect(result.status == 0, "\(result)")
        // Debian's node (in /usr/bin, also when PATH leaves it out) made the cache.
        #expect(result.stderr.contains("  V8 code cache: "), "\(result)")
        #expect(result.stderr.contains("    skipped \(fakeDirectory)/node: "), "\(result)")
        #expect(try run(fixture.directory + "/out").stdout == "sum 8012\n")  // f7(2, 3) = 17, f7999(1, 1) = 7995
    }
}
