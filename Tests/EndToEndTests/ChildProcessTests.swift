import Foundation
import Testing

/// An app that starts its own executable: the child reads its command line as node
/// would (embed.cc and bootstrap.js, "Children of the app"). Each run that could loop
/// runs in its own pids cgroup, which caps the tasks and counts the processes, so a
/// loop fails the test instead of filling the machine.
@Suite(.serialized) struct ChildProcessTests {
    /// The shapes that used to make an output start its entry again and again: a path
    /// through a shell (the old root held a `$`), a script that is nowhere, a relative
    /// name. Each ends as under node, with no more processes than node starts.
    @Test func selfSpawningShapesEndAsUnderNode() throws {
        let fixture = try Fixture([
            "app.js": """
                const { execSync, execFileSync, spawnSync, fork, spawn } = require('child_process');
                const path = require('path');
                const own = path.join(__dirname, 'child.js');
                const shape = process.argv[2];
                const errorLine = (text) => text.split('\\n').find((l) => l.startsWith('Error'));
                if (shape === 'exec') console.log(execSync(process.execPath + ' ' + own + ' hi').toString().trim());
                if (shape === 'shell') console.log(spawnSync(process.execPath, [own, 'x y'], { shell: true, encoding: 'utf8' }).stdout.trim());
                if (shape === 'bash') console.log(execSync(`bash -c "${process.execPath} ${own} b"`).toString().trim());
                if (shape === 'script') {
                  require('fs').writeFileSync(process.argv[3], `#!/bin/sh\\nexec "$APP" ${own} from-script\\n`);
                  console.log(execSync(`sh ${process.argv[3]}`, { env: { ...process.env, APP: process.execPath } }).toString().trim());
                }
                if (shape === 'makefile') {
                  require('fs').writeFileSync(process.argv[3], `all:\n\t${process.execPath} ${own} from-make\n`);
                  console.log(execSync(`make -s -f ${process.argv[3]}`).toString().trim());
                }
                if (shape === 'missing-execfile') {
                  try { execFileSync(process.execPath, ['./child.js'], { stdio: 'pipe' }); } catch (e) { console.log('execFile exit', e.status); }
                }
                if (shape === 'missing-fork') {
                  fork(path.join(process.cwd(), 'child.js'), [], { stdio: 'pipe' }).on('exit', (code) => console.log('fork exit', code));
                }
                if (shape === 'missing-spawn') {
                  const result = spawnSync(process.execPath, ['child.js'], { encoding: 'utf8' });
                  console.log('spawn exit', result.status, errorLine(result.stderr));
                }
                if (shape === 'missing-shell') {
                  const child = spawn(`${process.execPath} ./child.js`, { shell: true, stdio: 'pipe' });
                  child.on('exit', (code) => console.log('shell exit', code));
                }
                """,
            "child.js": "console.log('child', process.argv.slice(2).join(','));\n",
            "package.json": #"{ "name": "spawner" }"#,  // child.js is named at run time: bundled as a file of the app's folder
        ])
        let cwd = try fixture.scratchDirectory("cwd")
        let script = try fixture.scratchDirectory("script") + "/run.sh"
        let shapes: [(arguments: [String], expected: String)] = [
            (["exec"], "child hi\n"),
            (["shell"], "child x,y\n"),
            (["bash"], "child b\n"),
            (["script", script], "child from-script\n"),
            (["makefile", script + ".mk"], "child from-make\n"),
            (["missing-execfile"], "execFile exit 1\n"),
            (["missing-fork"], "fork exit 1\n"),
            (["missing-spawn"], "spawn exit 1 Error: Cannot find module '\(cwd)/child.js'\n"),
            (["missing-shell"], "shell exit 1\n"),
        ]
        var nodeResults: [ProcessCountGuard.Result] = []
        for shape in shapes {
            nodeResults.append(try ProcessCountGuard.run(Tools.node, [fixture.directory + "/app.js"] + shape.arguments, in: cwd))
        }
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        for (shape, node) in zip(shapes, nodeResults) {
            #expect(node.outcome.stdout == shape.expected, "node \(shape.arguments): \(node.outcome)")
            let guarded = try ProcessCountGuard.run(output, shape.arguments, in: cwd)
            #expect(guarded.outcome.stdout == node.outcome.stdout, "\(shape.arguments): \(guarded.outcome)")
            #expect(guarded.outcome.status == node.outcome.status, "\(shape.arguments): \(guarded.outcome)")
            // The app, its child and the shells or make between them: what node starts
            // (sampled, so node's count may miss one that ended fast; never more than 4).
            #expect(guarded.peakProcesses <= max(node.peakProcesses, 4), "\(shape.arguments): \(guarded.peakProcesses) processes, node \(node.peakProcesses)")
        }
    }

    /// node's command line in a child of the app: -e, -p, stdin, node options before the
    /// script, `--` and a script given by a relative path or on the real disk.
    @Test func childrenReadTheirCommandLineAsNodeDoes() throws {
        let fixture = try Fixture([
            "app.js": """
                const { spawnSync, execFileSync } = require('child_process');
                const path = require('path');
                const fs = require('fs');
                const show = (args, input) => {
                  const r = spawnSync(process.execPath, args, { input, encoding: 'utf8', cwd: process.argv[2] });
                  const shown = [JSON.stringify(args.filter((a) => !a.startsWith('/'))), r.status, r.stdout.trim()];
                  console.log(shown.filter((part) => part !== '').join(' '));
                };
                show(['-e', 'console.log(process.argv.length, process.argv.slice(1).join(), typeof fs)', 'a', 'b']);
                show(['-p', '6 * 7']);
                show(['--max-old-space-size=64', '-p', 'Math.round(require("v8").getHeapStatistics().heap_size_limit / 2**20) < 400']);
                show([], 'console.log("from stdin", 1 + 1)');
                show(['-'], 'console.log("dash stdin")');
                show(['--', path.join(__dirname, 'child.js'), '--x']);
                show(['child-on-disk.js', 'arg']);
                show([path.join(process.argv[2], 'child-on-disk.js')]);
                show(['--no-such-node-option', 'x']);
                """,
            "child.js": "console.log('bundled child', process.argv.slice(2).join());\n",
            "package.json": #"{ "name": "spawner" }"#,
        ])
        let cwd = try fixture.scratchDirectory("cwd")
        try "console.log('disk child', require('path').basename(__filename), process.argv.slice(2).join());\n"
            .write(toFile: cwd + "/child-on-disk.js", atomically: true, encoding: .utf8)
        let reference = Tools.referenceNode([fixture.directory + "/app.js", cwd])
        let node = try run(reference.executable, reference.arguments, in: cwd)
        #expect(node.stdout == """
            ["-e","console.log(process.argv.length, process.argv.slice(1).join(), typeof fs)","a","b"] 0 3 a,b object
            ["-p","6 * 7"] 0 42
            ["--max-old-space-size=64","-p","Math.round(require(\\"v8\\").getHeapStatistics().heap_size_limit / 2**20) < 400"] 0 true
            [] 0 from stdin 2
            ["-"] 0 dash stdin
            ["--","--x"] 0 bundled child --x
            ["child-on-disk.js","arg"] 0 disk child child-on-disk.js arg
            [] 0 disk child child-on-disk.js
            ["--no-such-node-option","x"] 9

            """, "\(node)")
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        let bundled = try run(output, [cwd], in: cwd)
        #expect(bundled.stdout == node.stdout, "\(bundled)")
        #expect(bundled.status == 0)
    }

    /// Started by anything but the app itself, every argument goes to the app: from a
    /// terminal, and from a program the app started for another reason (a hook).
    @Test func otherStartersGiveEveryArgumentToTheApp() throws {
        let fixture = try Fixture([
            "app.js": """
                const { execFileSync } = require('child_process');
                console.log('app got', process.argv.slice(2).join(), 'marker', process.env.BUNDLE_STARTED_BY === undefined ? 'absent' : 'present');
                if (process.argv[2] === 'hook') {
                  // A program the app starts for its own reasons, which runs the app again by name.
                  console.log(execFileSync('/bin/sh', ['-c', 'env | grep -c BUNDLE_STARTED_BY; "$APP" -e child.js'],
                    { env: { ...process.env, APP: process.execPath }, encoding: 'utf8' }).trim());
                }
                """,
        ])
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        let direct = try run(output, ["-e", "child.js", "--version"])
        #expect(direct.stdout == "app got -e,child.js,--version marker absent\n", "\(direct)")
        let hook = try run(output, ["hook"])
        #expect(hook.stdout == "app got hook marker absent\n0\napp got -e,child.js marker absent\n", "\(hook)")
        // Someone setting the variable by hand does not make it node: it must name this app.
        let forged = try run("/usr/bin/env", ["BUNDLE_STARTED_BY=x", output, "-p", "1"])
        #expect(forged.stdout == "app got -p,1 marker absent\n", "\(forged)")
    }

    /// A baked node option reaches children once, as node passes its execArgv on.
    @Test func bakedOptionsAreNotRepeatedInChildren() throws {
        let fixture = try Fixture([
            "app.js": """
                const { fork } = require('child_process');
                const depth = Number(process.argv[2] ?? 0);
                console.log(depth, JSON.stringify(process.execArgv));
                if (depth < 2) fork(__filename, [String(depth + 1)]);
                """,
        ])
        let output = try fixture.bundle("app.js", extra: ["--node-option=--max-old-space-size=100"])
        try fixture.removeSource()
        let result = try run(output)
        #expect(result.stdout == """
            0 ["--max-old-space-size=100"]
            1 ["--max-old-space-size=100"]
            2 ["--max-old-space-size=100"]

            """, "\(result)")
    }

    /// An app that starts itself unconditionally loops under node too; an output stops
    /// at `SelfSpawnGuard.limit` copies alive, with one line saying why.
    @Test func anAppThatAlwaysStartsItselfIsStopped() throws {
        let fixture = try Fixture([
            "app.js": """
                const { spawnSync } = require('child_process');
                const result = spawnSync(process.execPath, [__filename], { encoding: 'utf8' });
                process.stdout.write(result.stdout);
                process.stderr.write(result.stderr);
                process.exitCode = result.status ?? 1;
                """,
        ])
        let output = try fixture.bundle("app.js")
        try fixture.removeSource()
        let guarded = try ProcessCountGuard.run(output, [], timeout: 120)
        #expect(guarded.outcome.stderr.hasSuffix(
            "\(output): it is already running 32 times among its own parent processes (it keeps starting itself); not starting again\n"),
            "\(guarded.outcome)")
        #expect(guarded.outcome.status == 75)
        #expect(guarded.peakProcesses <= 33, "\(guarded.peakProcesses) processes")
    }
}

/// Runs a program in a pids cgroup of its own: at most `taskLimit` tasks (threads
/// count), the most processes seen at once, and everything left in it killed at the end.
enum ProcessCountGuard {
    struct Result {
        var outcome: Outcome
        var peakProcesses: Int
    }

    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                    taskLimit: Int = 4096, timeout: TimeInterval = 60) throws -> Result {
        let group = "/sys/fs/cgroup/pids/bundle-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: false)
        defer {
            for _ in 0..<100 {
                let pids = ((try? String(contentsOfFile: group + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n")
                if pids.isEmpty { break }
                for pid in pids { kill(pid_t(pid) ?? 0, SIGKILL) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            rmdir(group)
        }
        try String(taskLimit).write(toFile: group + "/pids.max", atomically: false, encoding: .utf8)
        nonisolated(unsafe) var peak = 0
        nonisolated(unsafe) var running = true
        let sampler = Thread {
            while running {
                let count = ((try? String(contentsOfFile: group + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").count
                peak = max(peak, count)
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        sampler.start()
        // The shell joins the group, then becomes the program: every process it starts is counted.
        let outcome = try EndToEndTests.run("/bin/sh", ["-c", "echo $$ > \(group)/cgroup.procs && exec \"$0\" \"$@\"", executable] + arguments,
                                            in: directory, timeout: timeout)
        running = false
        while !sampler.isFinished { Thread.sleep(forTimeInterval: 0.005) }
        return Result(outcome: outcome, peakProcesses: peak)
    }
}
