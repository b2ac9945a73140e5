import Foundation
import Testing

/// An output started with stdin, stdout and stderr closed (a daemon) gets /dev/null
/// there, as node gives it; the launcher's memory files stay above them (issue 19,
/// point 10).
@Suite struct StandardDescriptorTests {
    @Test(arguments: [[], ["--no-portable", "--node", "18"]])
    func closedStandardDescriptorsBecomeDevNullInMemoryMode(extra: [String]) throws {
        let fixture = try Fixture(["app.js": """
            const fs = require('fs');
            const link = (fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch (e) { return e.code; } };
            const memoryFiles = fs.readdirSync('/proc/self/fd').map(link).filter((l) => l.startsWith('/memfd:'));
            console.error('to stderr');
            fs.writeFileSync(process.argv[2], [0, 1, 2].map(link).join('\\n') + '\\n' + (memoryFiles.length > 0) + '\\n');
            """])
        let output = try fixture.bundle("app.js", extra: extra)
        let report = try fixture.scratchDirectory("report") + "/fds"
        var environment = ProcessInfo.processInfo.environment
        environment["BUNDLE_RUNTIME_CACHE"] = "off"  // memory files for the runtime's libraries
        let result = try run("/bin/sh", ["-c", #"exec "$0" "$1" <&- >&- 2>&-"#, output, report], environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "/dev/null\n/dev/null\n/dev/null\ntrue\n")
    }
}
