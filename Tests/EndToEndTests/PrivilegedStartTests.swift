import Foundation
import ProcessTestSupport
import Testing

/// A setuid (or setcap) output runs with more privileges than its caller: nothing the
/// caller controls (a cache directory, the environment naming one) may choose the code
/// it loads (issue 19, point 7). Needs root: a setuid-root copy is run as `nobody`.
@Suite(.enabled(if: getuid() == 0, "needs root (a setuid-root copy run as nobody)"))
struct PrivilegedStartTests {
    /// A fresh directory on a file system that honours setuid bits (/tmp may be nosuid).
    static func setuidDirectory() throws -> String {
        for base in [NSTemporaryDirectory(), "/var/tmp/", Tools.packageRoot + "/.build/"] {
            var info = statvfs()
            guard statvfs(base, &info) == 0, info.f_flag & UInt(ST_NOSUID) == 0 else { continue }
            let path = base + "bundle-test-setuid-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o755])
            return path
        }
        throw FixtureError("no file system here allows setuid programs")
    }

    /// Runs `program` as nobody with `environment` on top of ours.
    static func runAsNobody(_ program: String, environment: [String: String]) throws -> Outcome {
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "NODE_EXTRA_CA_CERTS")
        merged.merge(environment) { $1 }
        return try run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", program], environment: merged)
    }

    /// Every path under `directory`, to see that nothing was written there.
    static func listing(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    @Test(arguments: [[], ["--no-portable", "--node", "18"]])
    func aSetuidOutputIgnoresTheCallersCache(extra: [String]) throws {
        let fixture = try Fixture(["app.js": """
            const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n');
            const libnode = maps.find((line) => line.includes('libnode')) || 'none';
            console.log(process.geteuid(), libnode.slice(libnode.indexOf('/')));
            """])
        let output = try fixture.bundle("app.js", extra: extra)
        let directory = try Self.setuidDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // What the caller owns: a cache and the places the environment names.
        var environment: [String: String] = [:]
        for name in ["XDG_CACHE_HOME", "HOME", "TMPDIR"] {
            let path = directory + "/" + name.lowercased()
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700, .ownerAccountName: "nobody"])
            environment[name] = path
        }
        let plain = directory + "/plain", setuid = directory + "/setuid"
        try copyExecutable(output, to: plain)
        try copyExecutable(output, to: setuid)
        #expect(chmod(plain, 0o755) == 0 && chown(setuid, 0, 0) == 0 && chmod(setuid, 0o4755) == 0)

        // Run as the caller, the output makes its cache in the caller's XDG_CACHE_HOME:
        // a runtime-<digest> the caller owns and could have planted.
        let planted = try Self.runAsNobody(plain, environment: environment)
        #expect(planted.status == 0, "\(planted)")
        #expect(planted.stdout.hasPrefix("65534 \(environment["XDG_CACHE_HOME"]!)/bundle/runtime-"), "\(planted)")
        let before = [environment["XDG_CACHE_HOME"]!, environment["HOME"]!, environment["TMPDIR"]!].map(Self.listing)

        let privileged = try Self.runAsNobody(setuid, environment: environment)
        #expect(privileged.status == 0, "\(privileged)")
        #expect(privileged.stdout.hasPrefix("0 /memfd:"), "the setuid output loaded libnode from the caller's files: \(privileged)")
        #expect([environment["XDG_CACHE_HOME"]!, environment["HOME"]!, environment["TMPDIR"]!].map(Self.listing) == before)
    }
}
