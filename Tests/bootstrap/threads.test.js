'use strict';
// worker_threads and child runs inside the bundled app, compared with node on the source.
// (fork() and cluster start process.execPath again, which is node under these tests:
// they are covered end to end, Tests/EndToEndTests/ModernNodeTests.swift.)

const assert = require('node:assert');
const { describe, it } = require('node:test');
const { assertSameAsNode, runBoth, runBundled } = require('./helpers.js');

// Runs workers one after the other and prints what each says, so the order is fixed.
const RUNNER = `
  const { Worker } = require('node:worker_threads');
  const path = require('node:path');
  const { pathToFileURL } = require('node:url');
  const show = (value) => JSON.stringify(value, (key, v) => (typeof v === 'string' ? v.split(__dirname).join('<dir>') : v));
  function run(label, file, options) {
    return new Promise((resolve) => {
      const worker = new Worker(file, options);
      worker.on('message', (message) => console.log(label, 'message', show(message)));
      worker.on('error', (error) => console.log(label, 'error', error.constructor.name, show(error.message)));
      worker.on('exit', (code) => { console.log(label, 'exit', code); resolve(); });
    });
  }
`;

const WORKER_FILES = {
  'worker.js': `
    const { parentPort, workerData, isMainThread, threadId } = require('node:worker_threads');
    parentPort.postMessage({
      isMainThread, doubled: workerData.n * 2, file: __filename, isMain: require.main === module,
      argv: process.argv.slice(1), execArgv: process.execArgv, lib: require('./lib/value.js'),
      asset: require('node:fs').readFileSync(__dirname + '/asset.txt', 'utf8').trim(), threadIdPositive: threadId > 0,
    });
  `,
  'esm-worker.mjs': `
    import { parentPort, workerData } from 'node:worker_threads';
    import value from './lib/value.js';
    const again = await import('./lib/value.js');
    parentPort.postMessage({ workerData, url: import.meta.url, value, same: again.default === value });
  `,
  'nested.js': `
    const { Worker, parentPort } = require('node:worker_threads');
    const inner = new Worker(__dirname + '/worker.js', { workerData: { n: 21 } });
    inner.on('message', (message) => parentPort.postMessage({ fromInner: message.doubled }));
  `,
  'thrower.js': 'throw new RangeError("thrown in a worker");',
  'lib/value.js': 'module.exports = "lib value";',
  'asset.txt': 'asset text\n',
};

describe('worker threads', { concurrency: true }, () => {
  it('runs bundled files as workers: paths, file: URLs, ES modules, nested, errors', async () => {
    await assertSameAsNode({
      ...WORKER_FILES,
      'app.js': `${RUNNER}
        (async () => {
          await run('path', path.join(__dirname, 'worker.js'), { workerData: { n: 2 }, argv: ['one', '--two'] });
          await run('url', pathToFileURL(path.join(__dirname, 'worker.js')), { workerData: { n: 3 }, execArgv: ['--no-warnings'] });
          await run('esm', new URL('./esm-worker.mjs', pathToFileURL(__filename)), { workerData: [1, 2] });
          await run('nested', path.join(__dirname, 'nested.js'));
          await run('throws', path.join(__dirname, 'thrower.js'));
          await run('missing', path.join(__dirname, 'missing.js'));
          await run('noext', path.join(__dirname, 'worker'), { workerData: { n: 5 } });
        })();
      `,
    }, 'app.js');
  });

  it('runs eval workers with the bundle visible to their code', async () => {
    await assertSameAsNode({
      ...WORKER_FILES,
      'app.js': `${RUNNER}
        const code = \`
          const { parentPort, workerData } = require('worker_threads');
          parentPort.postMessage({
            workerData, argv: process.argv.slice(1), evalIsCode: process._eval === code,
            lib: require(workerData.dir + '/lib/value.js'), asset: require('fs').readFileSync(workerData.dir + '/asset.txt', 'utf8'),
          });
          import(workerData.dir + '/esm-worker.mjs').catch((e) => parentPort.postMessage(e.message));
        \`;
        (async () => {
          await run('eval', 'const code = ' + JSON.stringify(code) + ';\\n' + code, { eval: true, workerData: { dir: __dirname }, argv: ['x'] });
          await run('eval-throws', 'throw new Error("eval boom")', { eval: true });
        })();
      `,
    }, 'app.js');
  });

  it('starts workers from an ES module main', async () => {
    await assertSameAsNode({
      ...WORKER_FILES,
      'main.mjs': `
        import { Worker } from 'node:worker_threads';
        const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { n: 50 } });
        const [message] = await new Promise((resolve) => worker.once('message', (...args) => resolve(args)));
        console.log(message.doubled, message.lib, message.isMain, Worker.name, worker instanceof Worker);
      `,
    }, 'main.mjs');
  });

  it('also works through the public fallbacks when internals are not reachable', async () => {
    const { plain, bundled } = await runBoth({
      ...WORKER_FILES,
      'app.js': `${RUNNER}
        (async () => {
          await run('path', path.join(__dirname, 'worker.js'), { workerData: { n: 2 } });
          await run('esm', new URL('./esm-worker.mjs', pathToFileURL(__filename)), { workerData: 'fallback' });
        })();
      `,
    }, 'app.js', [], { internals: false });
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.stderr, '');
  });

  it('starts workers when the inherited node options include one a Worker refuses', async () => {
    // process.execArgv as a launcher with baked options could leave it; --v8-pool-size is
    // process-wide and not in isProcessWideOption's list: the worker starts without internals.
    await assertSameAsNode({
      ...WORKER_FILES,
      'app.js': `${RUNNER}
        process.execArgv.push('--max-old-space-size=500', '--v8-pool-size=2');
        (async () => {
          await run('cjs', path.join(__dirname, 'worker.js'), { workerData: { n: 4 }, execArgv: [] });
          await run('esm', new URL('./esm-worker.mjs', pathToFileURL(__filename)), { workerData: 'inherited' });
        })();
      `,
    }, 'app.js');
  });

  it('shares the archive with workers instead of copying it', async () => {
    const result = await runBundled({
      'app.js': `
        const { Worker, getEnvironmentData } = require('worker_threads');
        const worker = new Worker(__dirname + '/worker.js');
        worker.on('message', (m) => console.log(m, getEnvironmentData('bundle:archive').archive instanceof SharedArrayBuffer));
      `,
      'worker.js': `
        const { parentPort, getEnvironmentData } = require('worker_threads');
        const { archive } = getEnvironmentData('bundle:archive');
        parentPort.postMessage(archive instanceof SharedArrayBuffer && archive.byteLength > 0);
      `,
    }, 'app.js');
    assert.equal(result.stdout, 'true true\n');
    assert.equal(result.stderr, '');
  });

  it('leaves workers of real files and data: URLs to node', async () => {
    await assertSameAsNode({
      'app.js': `${RUNNER}
        (async () => {
          await run('data', new URL('data:text/javascript,import { parentPort } from "worker_threads"; parentPort.postMessage("from data url")'));
          await run('relative-missing', './not-here.js');
        })();
      `,
    }, 'app.js');
  });
});

describe('child runs of the app', { concurrency: true }, () => {
  const FILES = {
    'app.js': 'console.log("entry", JSON.stringify(process.argv.slice(1)));',
    'tools/child.js': 'console.log("child", JSON.stringify(process.argv.slice(1)), require.main === module, __filename);',
    'tools/esm-child.mjs': 'console.log("esm child", JSON.stringify(process.argv.slice(1)), import.meta.url);',
  };

  it('runs a bundled module named by the first argument, as `node <module>` would', async () => {
    const child = await runBundled(FILES, 'app.js', ['/proc/self/bundle/tools/child.js', 'a', '--b']);
    assert.equal(child.stdout, 'child ["/proc/self/bundle/tools/child.js","a","--b"] true /proc/self/bundle/tools/child.js\n');
    const esm = await runBundled(FILES, 'app.js', ['/proc/self/bundle/tools/esm-child.mjs', 'x']);
    assert.equal(esm.stdout, 'esm child ["/proc/self/bundle/tools/esm-child.mjs","x"] file:///proc/self/bundle/tools/esm-child.mjs\n');
    const noExtension = await runBundled(FILES, 'app.js', ['/proc/self/bundle/tools/child']);
    assert.equal(noExtension.stdout, 'child ["/proc/self/bundle/tools/child"] true /proc/self/bundle/tools/child.js\n');
    const entry = await runBundled(FILES, 'app.js', ['/proc/self/bundle/app.js', '1']);
    assert.equal(entry.stdout, 'entry ["/proc/self/bundle/app.js","1"]\n');
  });

  it('reports a missing bundled module instead of running the entry', async () => {
    const missing = await runBundled(FILES, 'app.js', ['/proc/self/bundle/tools/missing.js', 'a']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /Error: Cannot find module '\/proc\/self\/bundle\/tools\/missing\.js'/);
  });

  it('passes every other first argument to the entry', async () => {
    for (const args of [['--version'], ['/proc/self/bundlex/tools/child.js'], ['proc/self/bundle/tools/child.js'], ['--', '/proc/self/bundle/tools/child.js']]) {
      const result = await runBundled(FILES, 'app.js', args);
      assert.equal(result.stdout, `entry ${JSON.stringify(['/proc/self/bundle/app.js', ...args])}\n`);
    }
  });
});
