import Foundation
import Testing

/// ES modules, worker threads, child_process.fork and cluster inside bundled apps: each
/// fixture is bundled, its source deleted, and the output run from another directory;
/// stdout and the exit status must match `node <entry>` on the source. Files that are
/// only named at run time (workers, forked modules) are collected because each fixture
/// has a package.json: the bundler then includes the app's whole package directory.
@Suite(.serialized) struct ModernNodeTests {
    // MARK: ES modules

    @Test func esModuleAppWithPackagesExportsImportsAndTopLevelAwait() throws {
        let fixture = try Fixture([
            "package.json": ##"{ "name": "esm-app", "imports": { "#internal/*": "./src/internal/*.js", "#dep": "cjs-dep" } }"##,
            "app.mjs": """
                import { greet, calls } from './src/greet.mjs';
                import cjs, { named } from 'cjs-dep';
                import { reexported } from 'cjs-dep/reexport.js';
                import lib from 'dual';
                import feature from 'dual/features/alpha';
                import internal from '#internal/helper';
                import dep from '#dep';
                import config from './config.json' with { type: 'json' };
                import { createRequire } from 'node:module';
                import { readFileSync } from 'node:fs';
                const require = createRequire(import.meta.url);
                console.log(greet('esm'), calls, cjs.named, named, reexported, lib, feature, internal, dep.named, config.name);
                console.log(import.meta.url.replace(/^file:.*\\//, ''), import.meta.url.startsWith('file:///'));
                console.log(require('./src/legacy.cjs'), require('dual'), readFileSync(new URL('./config.json', import.meta.url), 'utf8').trim());
                const later = await import('./src/greet.mjs');
                console.log('top-level await', later.greet === greet, (await import('dual')).default);
                const { load } = require('./src/loader.cjs');
                console.log('import() from CommonJS', (await load()).default);
                try { await import('./src/missing.mjs'); } catch (e) { console.log(e.code); }
                try { await import('dual/private/x'); } catch (e) { console.log(e.code); }
                """,
            "src/greet.mjs": "export let calls = 0;\nexport function greet(who) { calls++; return `hello ${who}`; }\n",
            "src/internal/helper.js": "module.exports = 'internal helper';\n",
            "src/legacy.cjs": "module.exports = 'legacy cjs';\n",
            "src/loader.cjs": "exports.load = () => import('dual');\n",
            "config.json": #"{ "name": "config" }"#,
            "node_modules/cjs-dep/package.json": #"{ "name": "cjs-dep", "main": "index.js" }"#,
            "node_modules/cjs-dep/index.js": "exports.named = 'cjs named';\n",
            "node_modules/cjs-dep/reexport.js": "module.exports = require('./other.js');\n",
            "node_modules/cjs-dep/other.js": "exports.reexported = 're-exported';\n",
            "node_modules/dual/package.json": #"""
                { "name": "dual", "exports": {
                    ".": { "import": "./esm/index.mjs", "require": "./cjs/index.cjs" },
                    "./features/*": { "default": "./esm/features/*.mjs" },
                    "./private/*": null } }
                """#,
            "node_modules/dual/esm/index.mjs": "export default 'dual esm';\n",
            "node_modules/dual/cjs/index.cjs": "module.exports = 'dual cjs';\n",
            "node_modules/dual/esm/features/alpha.mjs": "export default 'feature alpha';\n",
        ])
        let (node, bundled) = try expectSameAsNode(fixture, entry: "app.mjs")
        #expect(node.stdout.hasPrefix("hello esm 1 cjs named cjs named re-exported dual esm feature alpha internal helper cjs named config\n"))
        #expect(node.stdout.contains("ERR_MODULE_NOT_FOUND\nERR_PACKAGE_PATH_NOT_EXPORTED\n"))
        #expect(bundled.stderr == "", "no ExperimentalWarning: \(bundled.stderr)")
    }

    @Test func typeModulePackageEntry() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "typed", "type": "module" }"#,
            "main.js": """
                import { value } from './lib/value.js';
                import helper from './lib/helper.cjs';
                console.log(value, helper, typeof require, import.meta.url.endsWith('/main.js'));
                """,
            "lib/value.js": "export const value = 'type module value';\n",
            "lib/helper.cjs": "module.exports = 'commonjs helper ' + typeof require;\n",
        ])
        let (node, _) = try expectSameAsNode(fixture, entry: "main.js")
        #expect(node.stdout == "type module value commonjs helper function undefined true\n")
    }

    @Test func chalkFiveFromDebian() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "colors", "type": "module" }"#,
            "app.js": """
                import chalk, { Chalk } from 'chalk';
                const colors = new Chalk({ level: 1 });
                console.log(JSON.stringify(colors.red('red')), JSON.stringify(colors.bold.green('bold green')));
                console.log(typeof chalk.blue, chalk.level);
                """,
        ])
        try fixture.installDebianPackage("chalk")
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout.hasPrefix(#""\u001b[31mred\u001b[39m""#))
        #expect(bundled.stderr == "")
    }

    @Test func dynamicImportFromCommonJS() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "cjs-imports" }"#,
            "app.js": """
                (async () => {
                  const esm = await import('./esm/module.mjs');
                  console.log(esm.default, esm.meta.endsWith('/esm/module.mjs'));
                  console.log((await import('esm-only')).default);
                  console.log((await require('./lib/nested.js').load()).named);
                })();
                """,
            "esm/module.mjs": "export default 'esm from cjs';\nexport const meta = import.meta.url;\n",
            "lib/nested.js": "exports.load = () => import('./plain.js');\n",
            "lib/plain.js": "exports.named = 'cjs through import()';\n",
            "node_modules/esm-only/package.json": #"{ "name": "esm-only", "type": "module", "exports": "./index.js" }"#,
            "node_modules/esm-only/index.js": "export default 'esm-only package';\n",
        ])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "esm from cjs true\nesm-only package\ncjs through import()\n")
    }

    // MARK: Worker threads

    @Test func workerThreadsOnBundledFiles() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "workers" }"#,
            "app.js": """
                const { Worker } = require('worker_threads');
                const path = require('path');
                const { pathToFileURL } = require('url');
                function run(label, file, options) {
                  return new Promise((resolve) => {
                    const worker = new Worker(file, options);
                    worker.on('message', (m) => console.log(label, JSON.stringify(m)));
                    worker.on('error', (e) => console.log(label, 'error', e.message.includes('worker failed')));
                    worker.on('exit', (code) => { console.log(label, 'exit', code); resolve(); });
                  });
                }
                (async () => {
                  await run('path', path.join(__dirname, 'worker.js'), { workerData: { n: 21 }, argv: ['extra'] });
                  await run('url', pathToFileURL(path.join(__dirname, 'worker.js')), { workerData: { n: 1 } });
                  await run('esm', new URL('./esm-worker.mjs', pathToFileURL(__filename)), { workerData: 'esm data' });
                  await run('eval', `
                    const { parentPort, workerData } = require('worker_threads');
                    parentPort.postMessage({ eval: workerData.tag, lib: require(workerData.dir + '/lib/shared.js') });
                  `, { eval: true, workerData: { tag: 'evaluated', dir: __dirname } });
                  await run('nested', path.join(__dirname, 'nested.js'));
                  await run('throws', path.join(__dirname, 'thrower.js'));
                })();
                """,
            "worker.js": """
                const { parentPort, workerData, isMainThread } = require('worker_threads');
                const path = require('path');
                parentPort.postMessage({ isMainThread, doubled: workerData.n * 2, shared: require('./lib/shared.js'),
                  file: path.basename(__filename), argv: process.argv.slice(2), isMain: require.main === module,
                  asset: require('fs').readFileSync(path.join(__dirname, 'asset.txt'), 'utf8').trim() });
                """,
            "esm-worker.mjs": """
                import { parentPort, workerData } from 'worker_threads';
                import shared from './lib/shared.js';
                const { default: again } = await import('./lib/shared.js');
                parentPort.postMessage({ workerData, shared, same: shared === again, url: import.meta.url.endsWith('/esm-worker.mjs') });
                """,
            "nested.js": """
                const { Worker, parentPort } = require('worker_threads');
                new Worker(__dirname + '/worker.js', { workerData: { n: 50 } }).on('message', (m) => parentPort.postMessage({ inner: m.doubled }));
                """,
            "thrower.js": "throw new Error('worker failed');\n",
            "lib/shared.js": "module.exports = 'shared lib';\n",
            "asset.txt": "asset contents\n",
        ])
        let (node, bundled) = try expectSameAsNode(fixture)
        #expect(node.stdout.contains(#"path {"isMainThread":false,"doubled":42,"shared":"shared lib","file":"worker.js","argv":["extra"],"isMain":true,"asset":"asset contents"}"#))
        #expect(node.stdout.contains("throws error true\nthrows exit 1\n"))
        #expect(bundled.stderr == "")
    }

    @Test func workersFromAnESModuleMain() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "esm-workers", "type": "module" }"#,
            "main.js": """
                import { Worker } from 'node:worker_threads';
                const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: 7 });
                const message = await new Promise((resolve) => worker.once('message', resolve));
                console.log('from worker', message, worker instanceof Worker);
                """,
            "worker.js": """
                import { parentPort, workerData } from 'node:worker_threads';
                import { square } from './math.js';
                parentPort.postMessage(square(workerData));
                """,
            "math.js": "export const square = (n) => n * n;\n",
        ])
        let (node, _) = try expectSameAsNode(fixture, entry: "main.js")
        #expect(node.stdout == "from worker 49 true\n")
    }

    // MARK: Child processes

    @Test func forkAndSpawnOfBundledModules() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "forks" }"#,
            "app.js": """
                const { fork, execFileSync } = require('child_process');
                const path = require('path');
                console.log('parent', JSON.stringify(process.argv.slice(2)));
                const child = fork(path.join(__dirname, 'tools', 'child.js'), ['one', '--two'], { execArgv: ['--max-old-space-size=100'] });
                child.on('message', (message) => {
                  console.log('parent got', JSON.stringify(message));
                  child.send({ reply: 'bye' });
                });
                child.on('exit', (code) => {
                  console.log('child exit', code);
                  const spawned = execFileSync(process.execPath, [path.join(__dirname, 'tools', 'child.js'), 'spawned'], { encoding: 'utf8' });
                  console.log('spawn:', spawned.trim());
                  const missing = fork(path.join(__dirname, 'tools', 'missing.js'), [], { stdio: 'pipe' });
                  missing.on('exit', (code) => console.log('missing module exit', code));
                });
                """,
            "tools/child.js": """
                const path = require('path');
                const v8 = require('v8');
                const argv = [path.relative(__dirname, process.argv[1]), ...process.argv.slice(2)];
                if (process.send) {
                  process.send({ argv, execArgv: process.execArgv, heapLimitMB: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576),
                    isMain: require.main === module, lib: require('../lib/value.js') });
                  process.on('message', (message) => { console.log('child got', JSON.stringify(message)); process.disconnect(); });
                } else {
                  console.log(JSON.stringify({ argv, ipc: false }));
                }
                """,
            "lib/value.js": "module.exports = 'lib value';\n",
        ])
        let (node, _) = try expectSameAsNode(fixture, arguments: ["--version"])
        #expect(node.stdout.contains(#"parent got {"argv":["child.js","one","--two"],"execArgv":["--max-old-space-size=100"],"heapLimitMB":"#))
        // The limit applied (V8 adds its young generation: 148 MB on node 18, 292 on 24; unlimited is thousands).
        let heapLimit = node.stdout.split(separator: #""heapLimitMB":"#).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect((100..<400).contains(heapLimit ?? 0), "\(node.stdout)")
        #expect(node.stdout.contains("child got {\"reply\":\"bye\"}\nchild exit 0\nspawn: {\"argv\":[\"child.js\",\"spawned\"],\"ipc\":false}\nmissing module exit 1\n"))
    }

    @Test func clusterWorkersAnswerRequests() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "clustered" }"#,
            "app.js": """
                const cluster = require('cluster');
                const http = require('http');
                const WORKERS = 2;
                if (cluster.isPrimary) {
                  let listening = 0;
                  for (let i = 0; i < WORKERS; i++) cluster.fork({ WORKER_NAME: `w${i}` });
                  cluster.on('message', (worker, message) => {
                    if (++listening < WORKERS) return;
                    let answered = 0;
                    const bodies = [];
                    for (let i = 0; i < WORKERS; i++) {
                      http.get({ host: '127.0.0.1', port: message.port, path: '/', agent: false }, (res) => {
                        let body = '';
                        res.on('data', (chunk) => body += chunk);
                        res.on('end', () => {
                          bodies.push(body.replace(/w\\d/, 'w?'));
                          if (++answered === WORKERS) {
                            console.log(bodies.join('\\n'));
                            cluster.disconnect(() => console.log('primary done'));
                          }
                        });
                      });
                    }
                  });
                  // Printed when the primary ends: node gives 'exit' and disconnect's callback
                  // in either order (seen under load), the workers' exit codes are what counts.
                  const exits = [];
                  cluster.on('exit', (worker, code) => exits.push(code));
                  process.on('exit', () => { for (const code of exits) console.log('worker exit', code); });
                } else {
                  http.createServer((req, res) => res.end(`hello from ${process.env.WORKER_NAME} (${cluster.isWorker}, ${require('path').basename(process.argv[1])})`))
                    .listen(0, '127.0.0.1', function () { process.send({ port: this.address().port }); });
                }
                """,
        ])
        let (node, _) = try expectSameAsNode(fixture)
        #expect(node.stdout == "hello from w? (true, app.js)\nhello from w? (true, app.js)\nprimary done\nworker exit 0\nworker exit 0\n")
    }

    @Test func esModuleMainForksAndUsesWorkers() throws {
        let fixture = try Fixture([
            "package.json": #"{ "name": "esm-children" }"#,
            "main.mjs": """
                import { fork } from 'node:child_process';
                import { Worker } from 'node:worker_threads';
                import { fileURLToPath } from 'node:url';
                const child = fork(fileURLToPath(new URL('./child.mjs', import.meta.url)), ['arg']);
                const fromChild = await new Promise((resolve) => child.once('message', resolve));
                const worker = new Worker(new URL('./child.mjs', import.meta.url), { workerData: 'thread' });
                const fromWorker = await new Promise((resolve) => worker.once('message', resolve));
                console.log(fromChild, fromWorker);
                """,
            "child.mjs": """
                import { isMainThread, parentPort, workerData } from 'node:worker_threads';
                import { basename } from 'node:path';
                const text = `${isMainThread ? 'process' : workerData} ${basename(process.argv[1])} ${process.argv.slice(2)}`;
                if (isMainThread) { process.send(text); process.disconnect(); } else { parentPort.postMessage(text); }
                """,
        ])
        let (node, _) = try expectSameAsNode(fixture, entry: "main.mjs")
        #expect(node.stdout == "process child.mjs arg thread child.mjs \n")
    }
}
