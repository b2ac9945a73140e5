'use strict';
// ES modules from the archive, compared with `node app.mjs` on the same source: node's
// own ESM loader with the bootstrap's resolve and load (in-thread, through node's
// internals), and the same hooks through module.register() when the internals are not
// reachable (`internals: false`).

const assert = require('node:assert');
const { describe, it } = require('node:test');
const { assertSameAsNode, runBoth, runBundled, uncaughtHead } = require('./helpers.js');

// node 18 prints this for JSON modules (node 24 nothing); the bundled app does not (see quietLoaderWarnings).
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const JSON_WARNING = NODE_MAJOR >= 24 ? /^$/ : /^\(node:\d+\) ExperimentalWarning: Importing JSON modules is an experimental feature and might change at any time\n\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n$/;

// An app that uses most of what ES modules offer.
const FULL_APP = {
  'package.json': JSON.stringify({
    name: 'full-app',
    type: 'module',
    imports: { '#internal/*': './src/internal/*.js', '#dep': 'cjs-dep', '#cond': { import: './src/cond.js', default: './nope.js' } },
  }),
  'app.mjs': `
    import { helper, counter } from './src/helper.js';
    import defaultHelper from './src/helper.js';
    import * as ns from './src/helper.js';
    import cjs, { named, other } from 'cjs-dep';
    import reexported from 'cjs-dep/reexport.js';
    import { fromReexport } from 'cjs-dep/reexport.js';
    import ex from 'exports-pkg';
    import sub from 'exports-pkg/sub';
    import feature from 'exports-pkg/features/one';
    import internal from '#internal/a';
    import dep from '#dep';
    import cond from '#cond';
    import data from './data.json' with { type: 'json' };
    import { createRequire } from 'node:module';
    import { readFileSync } from 'node:fs';
    import path from 'node:path';
    import legacy from 'legacy-main';
    const require = createRequire(import.meta.url);
    console.log(helper(), counter, defaultHelper, Object.keys(ns).sort().join());
    console.log(cjs.named, named, other, reexported.fromReexport, fromReexport);
    console.log(ex, sub, feature, internal, dep.named, cond, data.answer, legacy);
    console.log(import.meta.url, import.meta.resolve('./src/helper.js'), import.meta.resolve('exports-pkg'));
    console.log(require('./src/plain.cjs'), require.resolve('cjs-dep'), require('exports-pkg'));
    console.log(readFileSync(new URL('./data.json', import.meta.url), 'utf8').trim(), path.basename(process.argv[1]));
    const tla = await import('./src/helper.js');
    console.log('top-level await', tla.helper === helper, (await import('exports-pkg')).default);
    const loader = require('./src/dynamic.cjs');
    console.log('import() from CommonJS', (await loader.load('./helper.js')).counter, await loader.json());
    console.log(new Error('here').stack.split('\\n')[1].trim());
  `,
  'src/helper.js': 'export let counter = 1;\nexport const helper = () => "helper " + ++counter;\nexport default "default helper";\n',
  'src/internal/a.js': 'import b from "#internal/b"; export default "internal a+" + b;',
  'src/internal/b.js': 'export default "b";',
  'src/cond.js': 'export default "cond import";',
  'src/plain.cjs': 'module.exports = "plain cjs";',
  'src/dynamic.cjs': 'exports.load = (p) => import(p);\nexports.json = async () => (await import("../data.json", { with: { type: "json" } })).default.answer;\n',
  'data.json': '{ "answer": 42 }\n',
  'node_modules/cjs-dep/package.json': '{ "name": "cjs-dep", "main": "lib/index.js" }',
  'node_modules/cjs-dep/lib/index.js': 'exports.named = "named"; exports.other = "other";',
  'node_modules/cjs-dep/reexport.js': 'module.exports = require("./reexported.js");',
  'node_modules/cjs-dep/reexported.js': 'exports.fromReexport = "re-exported";',
  'node_modules/exports-pkg/package.json': JSON.stringify({
    name: 'exports-pkg',
    exports: {
      '.': { import: './esm/index.mjs', require: './cjs/index.cjs', default: './cjs/index.cjs' },
      './sub': { node: { import: './esm/sub.mjs' }, default: './nope.js' },
      './features/*': './esm/features/*.mjs',
      './features/private/*': null,
    },
  }),
  'node_modules/exports-pkg/esm/index.mjs': 'export default "exports-pkg esm";',
  'node_modules/exports-pkg/cjs/index.cjs': 'module.exports = "exports-pkg cjs";',
  'node_modules/exports-pkg/esm/sub.mjs': 'export default "exports-pkg sub";',
  'node_modules/exports-pkg/esm/features/one.mjs': 'export default "feature one";',
  'node_modules/legacy-main/package.json': '{ "main": "./main.js" }',
  'node_modules/legacy-main/main.js': 'module.exports = "legacy main";',
};

describe('ES modules', { concurrency: true }, () => {
  it('runs an .mjs app: relative, package, exports, imports, CommonJS, JSON, TLA, import()', async () => {
    const { plain, bundled } = await runBoth(FULL_APP, 'app.mjs');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.code, 0);
    assert.match(plain.stderr, JSON_WARNING);
    assert.equal(bundled.stderr, '');
    assert.match(bundled.stdout, /^file:\/\/\/proc\/self\/bundle\/app\.mjs file:\/\/\/proc\/self\/bundle\/src\/helper\.js file:\/\/\/proc\/self\/bundle\/node_modules\/exports-pkg\/esm\/index\.mjs$/m);
    assert.match(bundled.stdout, /^at file:\/\/\/proc\/self\/bundle\/app\.mjs:\d+:\d+$/m);
  });

  it('runs the same app through module.register() when node\'s internals are not reachable', async () => {
    const { plain, bundled } = await runBoth(FULL_APP, 'app.mjs', [], { internals: false });
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.code, 0);
    assert.equal(bundled.stderr, '');
  });

  it('runs a "type": "module" package entry and its .cjs files', async () => {
    await assertSameAsNode({
      'package.json': '{ "type": "module" }',
      'app.js': 'import x from "./x.js"; import y from "./y.cjs"; import z from "./noext"; console.log(x, y, z, import.meta.url);',
      'x.js': 'export default "esm .js";',
      'y.cjs': 'module.exports = "cjs " + typeof require;',
      noext: 'export default "extensionless esm";',
    }, 'app.js');
  });

  it('loads ES modules from CommonJS entries with import()', async () => {
    await assertSameAsNode({
      // One after the other: concurrent imports settle in an order node does not promise.
      'app.js': `
        (async () => {
          const esm = await import('./esm.mjs');
          console.log(esm.default, esm.url);
          console.log((await import('pkg')).default);
          const cjs = await import('./cjs.js');
          console.log(cjs.default, cjs.named);
          console.log(await require('./nested/loader.js').load());
        })();
      `,
      'esm.mjs': 'export default "esm from cjs"; export const url = import.meta.url;',
      'cjs.js': 'exports.named = "named export";',
      'nested/loader.js': 'exports.load = async () => (await import("../esm.mjs")).default + " (nested)";',
      'node_modules/pkg/package.json': '{ "exports": { "import": "./index.mjs", "require": "./index.cjs" } }',
      'node_modules/pkg/index.mjs': 'export default "pkg import condition";',
      'node_modules/pkg/index.cjs': 'module.exports = "pkg require condition";',
    }, 'app.js');
  });

  it('reports resolution errors like node', async () => {
    const { plain, bundled } = await runBoth({
      'app.mjs': `
        const show = async (specifier, options) => {
          try { await import(specifier, options); console.log(specifier, 'ok'); }
          catch (e) { console.log(specifier, '!!', e.code, e.message.replace(/\\n/g, ' | ')); }
        };
        for (const specifier of ['./missing.js', './dir', './dir/', './noext', 'nopkg', 'pkg/missing', 'pkg/sub',
          'pkg/private/x', '#nope', '#', './x.ts', './data.json', '@scope', 'pkg/%2Fx', 'legacy']) {
          await show(specifier);
        }
        await show('./data.json', { with: { type: 'css' } });
      `,
      'dir/index.js': '',
      'noext.js': 'export default 1;',
      'x.ts': 'export default 1;',
      'data.json': '{}',
      'node_modules/pkg/package.json': '{ "exports": { "./sub": "./sub.js", "./private/*": null } }',
      'node_modules/pkg/sub.js': 'module.exports = 1;',
      'node_modules/nomain/package.json': '{ "main": "gone.js" }',
      'node_modules/legacy/package.json': '{ "type": "module" }',
      'node_modules/legacy/index.js': 'export default "legacy index";',
    }, 'app.mjs');
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.code, plain.code);
    // node warns once about the guessed main of "legacy" (DEP0151).
    assert.equal(bundled.stderr.replace(/\(node:\d+\)/, ''), plain.stderr.replace(/\(node:\d+\)/, ''));
  });

  it('says what is missing where node 18.20 fails an assertion (a package main that does not exist)', async () => {
    const { bundled } = await runBoth({
      'app.mjs': 'try { await import("nomain"); } catch (e) { console.log(e.code, e.message); }',
      'node_modules/nomain/package.json': '{ "main": "gone.js" }',
    }, 'app.mjs');
    assert.equal(bundled.stdout, "ERR_MODULE_NOT_FOUND Cannot find package '/proc/self/bundle/node_modules/nomain/' imported from /proc/self/bundle/app.mjs\n");
  });

  it('reports an uncaught error in an ES module like node', async () => {
    const { plain, bundled } = await runBoth({
      'app.mjs': 'import { fail } from "./thrower.mjs";\nfail();\n',
      'thrower.mjs': 'export function fail() {\n  throw new TypeError("esm boom");\n}\n',
    }, 'app.mjs');
    assert.equal(bundled.code, 1);
    assert.equal(uncaughtHead(bundled.stderr), uncaughtHead(plain.stderr));
    assert.match(bundled.stderr, /^file:\/\/\/proc\/self\/bundle\/thrower\.mjs:2\n {2}throw new TypeError\("esm boom"\);/);
    assert.match(bundled.stderr, /\n {4}at file:\/\/\/proc\/self\/bundle\/app\.mjs:2:1\n/);
  });

  it('exits like node: missing import at startup, unsettled top-level await, process.exitCode', async () => {
    const missing = await runBoth({ 'app.mjs': 'import "./gone.mjs";' }, 'app.mjs');
    assert.equal(missing.bundled.code, 1);
    assert.match(missing.bundled.stderr, /Error \[ERR_MODULE_NOT_FOUND\]: Cannot find module '\/proc\/self\/bundle\/gone\.mjs' imported from \/proc\/self\/bundle\/app\.mjs/);
    const { bundled } = await assertSameAsNode({ 'app.mjs': 'console.log("before"); await new Promise(() => {});' }, 'app.mjs');
    assert.equal(bundled.code, 13);
    await assertSameAsNode({ 'app.mjs': 'process.exitCode = 4; await null; console.log("done");' }, 'app.mjs');
  });

  it('serves import.meta, createRequire and fs on virtual file: URLs', async () => {
    await assertSameAsNode({
      'src/app.mjs': `
        import { createRequire } from 'node:module';
        import { fileURLToPath } from 'node:url';
        import fs from 'node:fs/promises';
        const require = createRequire(import.meta.url);
        console.log(fileURLToPath(import.meta.url), require('./lib.cjs'), require.resolve('../package.json'));
        console.log(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8'));
        console.log(import.meta.resolve('./missing.js'), import.meta.resolve('node:fs'), typeof import.meta.resolve);
      `,
      'src/lib.cjs': 'module.exports = "lib " + __filename;',
      'package.json': '{ "name": "meta" }',
    }, 'src/app.mjs');
  });

  it('keeps the main module\'s argv and exit handling', async () => {
    const { bundled } = await assertSameAsNode({
      'app.mjs': 'console.log(JSON.stringify(process.argv.slice(1))); process.on("exit", (c) => console.log("exit", c));',
    }, 'app.mjs', ['--version', 'x']);
    assert.equal(bundled.stdout, '["/proc/self/bundle/app.mjs","--version","x"]\nexit 0\n');
  });
});
