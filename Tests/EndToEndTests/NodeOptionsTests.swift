import Foundation
import Testing
@testable import BundlerCore

/// Baked node options (`--node-option`) in worker threads and children, and the one list
/// of them that apply to the whole process (`NodeOptionPolicy.processWide`), which the
/// bootstrap reads from the app's metadata.
@Suite struct NodeOptionsTests {
    /// A value node takes for each flag that needs one.
    static let sampleValues = [
        "--max-old-space-size": "100", "--max-semi-space-size": "4", "--stack-size": "900", "--stack-trace-limit": "5",
        "--unhandled-rejections": "strict", "--max-http-header-size": "9000", "--dns-result-order": "ipv4first",
        "--title": "x", "--disable-proto": "delete", "--secure-heap": "0", "--secure-heap-min": "2",
        "--heapsnapshot-near-heap-limit": "1", "--diagnostic-dir": "/tmp",
    ]

    /// The process-wide list is what node itself says: of every flag a bundle may carry
    /// for that runtime, exactly those a Worker refuses in its execArgv.
    @Test(arguments: [18, 24])
    func processWideFlagsAreTheOnesEachRuntimesWorkerRefuses(major: Int) throws {
        #expect(Set(Self.sampleValues.keys) == NodeOptionPolicy.withValue)
        let options = (NodeOptionPolicy.flags.sorted() + NodeOptionPolicy.withValue.sorted().map { "\($0)=\(Self.sampleValues[$0]!)" })
            .filter { NodeOptionPolicy.problem(with: $0, nodeMajor: major) == nil }
        let script = """
            const { Worker } = require('worker_threads');
            const refused = [];
            for (const option of \(String(decoding: try JSONEncoder().encode(options), as: UTF8.self))) {
              try { new Worker('0', { eval: true, execArgv: [option] }).terminate(); }
              catch (error) { if (error.code === 'ERR_WORKER_INVALID_EXEC_ARGV') refused.push(option.split('=')[0]); else throw error; }
            }
            console.log(refused.sort().join('\\n'));
            """
        let node = Tools.referenceNode(["-e", script], runtime: try NodeRuntime.locate("node\(major)", in: Tools.binDirectory))
        let result = try run(node.executable, node.arguments)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == NodeOptionPolicy.processWide.sorted().joined(separator: "\n") + "\n", "\(result)")
    }

    /// Worker threads and forks see the baked options as under `node <options> app.js`:
    /// in process.execArgv, and in effect (JIT off, the TLS floor, the stack trace limit).
    @Test func bakedOptionsReachWorkersAndForksAsUnderNode() throws {
        let options = ["--jitless", "--tls-min-v1.3", "--stack-trace-limit=7", "--use-openssl-ca", "--max-old-space-size=300"]
        let fixture = try Fixture([
            "app.js": """
                const { Worker, isMainThread, parentPort } = require('worker_threads');
                const { fork } = require('child_process');
                const probe = (where) => JSON.stringify({ where, execArgv: process.execArgv, wasm: typeof WebAssembly,
                  tlsMin: require('tls').DEFAULT_MIN_VERSION, stackTraceLimit: Error.stackTraceLimit,
                  heap: Math.round(require('v8').getHeapStatistics().heap_size_limit / 2 ** 20) < 1000 });
                if (!isMainThread) parentPort.postMessage(probe('worker'));
                else if (process.argv[2] === 'fork') process.send(probe('fork'));
                else {
                  console.log(probe('main'));
                  new Worker(__filename).on('message', (message) => {
                    console.log(message);
                    fork(__filename, ['fork']).on('message', console.log);
                  });
                }
                """,
        ])
        let reference = Tools.referenceNode(options + [fixture.directory + "/app.js"])
        let node = try run(reference.executable, reference.arguments)
        #expect(node.stdout.components(separatedBy: #""wasm":"undefined","tlsMin":"TLSv1.3","stackTraceLimit":7,"heap":true"#).count == 4,
                "\(node)")
        let output = try fixture.bundle("app.js", extra: options.map { "--node-option=\($0)" })
        try fixture.removeSource()
        let bundled = try run(output)
        #expect(bundled.stdout == node.stdout, "\(bundled)")
        #expect(bundled.status == 0)
    }
}
