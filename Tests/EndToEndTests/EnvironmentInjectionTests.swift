import Foundation
import Testing

/// What the environment can and cannot do to a shipped app (README, "Guarantees"):
/// OpenSSL's configuration, read while node starts, loads no code unless the author
/// built with --allow-node-options (issue 19, point 8).
@Suite struct EnvironmentInjectionTests {
    /// A shared object that leaves a marker file when loaded, and an OpenSSL
    /// configuration naming it as an engine (node reads the `nodejs_conf` section).
    static func engine(in directory: String) throws -> (config: String, marker: String) {
        let source = directory + "/engine.c", library = directory + "/engine.so", marker = directory + "/loaded"
        try """
            #include <fcntl.h>
            #include <unistd.h>
            __attribute__((constructor)) static void mark(void) {
                int fd = open("\(marker)", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) close(fd);
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let compiled = try run("/usr/bin/cc", ["-shared", "-fPIC", "-o", library, source])
        guard compiled.status == 0 else { throw FixtureError("cc: \(compiled)") }
        let config = directory + "/openssl.cnf"
        try """
            nodejs_conf = openssl_init
            openssl_conf = openssl_init
            [openssl_init]
            engines = engine_section
            [engine_section]
            marker = marker_section
            [marker_section]
            dynamic_path = \(library)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (config, marker)
    }

    @Test(arguments: ["bundled", "system"])
    func openSSLConfigurationLoadsNoCodeUnlessAllowed(runtime: String) throws {
        let fixture = try Fixture(["app.js": """
            console.log(process.env.OPENSSL_CONF === process.argv[2], process.env.OPENSSL_MODULES);
            const child = require('child_process').spawnSync('/bin/sh', ['-c', 'echo "$OPENSSL_CONF"'], { encoding: 'utf8' });
            console.log(child.stdout.trim() === process.argv[2]);
            """])
        let (config, marker) = try Self.engine(in: try fixture.scratchDirectory("engine"))
        var environment = ProcessInfo.processInfo.environment
        environment["OPENSSL_CONF"] = config
        environment["OPENSSL_MODULES"] = "/nonexistent-modules"
        environment["OPENSSL_ENGINES"] = "/nonexistent-engines"
        // node itself loads it: the test's engine is real.
        _ = try run(Tools.node, ["-e", "0"], environment: environment)
        #expect(FileManager.default.fileExists(atPath: marker))
        try FileManager.default.removeItem(atPath: marker)

        let node18 = runtime == "system" ? ["--node", "18"] : []  // this machine's libnode is 18's
        let closed = try fixture.bundle("app.js", extra: ["--runtime", runtime] + node18)
        let result = try run(closed, [config], environment: environment)
        #expect(!FileManager.default.fileExists(atPath: marker), "the environment's OpenSSL engine was loaded")
        // The app and its children still see the environment they were given.
        #expect(result.stdout == "true /nonexistent-modules\ntrue\n", "\(result)")
        #expect(result.status == 0)

        let open = try fixture.bundle("app.js", extra: ["--runtime", runtime, "--allow-node-options"] + node18)
        _ = try run(open, [config], environment: environment)
        #expect(FileManager.default.fileExists(atPath: marker), "--allow-node-options: the environment applies as in node")
    }
}
