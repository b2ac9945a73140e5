'use strict';
// What node 24 offers beyond node 18, on bundled files, compared with `node app.js` on
// the same files: require() of ES modules, import.meta.dirname/filename, fs.glob,
// process.loadEnvFile. Run under node 24 with `Tests/bootstrap/run-under node24 node --test`.

const assert = require('node:assert');
const fs = require('node:fs');
const { describe, it } = require('node:test');
const { assertSameAsNode, run, runBoth, runBundled, VIRTUAL_ROOT, writeFixture } = require('./helpers.js');

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

describe('node 24 features on bundled files', { concurrency: true, skip: NODE_MAJOR < 24 && 'needs node 24' }, () => {
  it('require()s bundled ES modules: .mjs, "type": "module" packages, exports conditions, detected syntax', async () => {
    const { bundled } = await assertSameAsNode({
      'app.js': `
        const esm = require('./lib/esm.mjs');
        console.log(esm.default, esm.named, Object.keys(esm).sort().join(), esm.__esModule);
        const pkg = require('esm-pkg');
        console.log(pkg.default, pkg.fromDep, require('esm-pkg/sub').sub);
        console.log(require('./typeless/detected.js').detected, require('cjs-pkg').kind);
        console.log(require('./lib/esm.mjs') === esm, typeof require.cache[require.resolve('./lib/esm.mjs')]);
        try { require('./lib/tla.mjs'); } catch (e) { console.log(e.code); }
      `,
      'lib/esm.mjs': 'export default "esm default";\nexport const named = "named " + import.meta.url;\n',
      'lib/tla.mjs': 'await null;\nexport const late = 1;\n',
      'typeless/detected.js': 'export const detected = "detected as ESM";\n',
      'node_modules/esm-pkg/package.json': JSON.stringify({
        name: 'esm-pkg', type: 'module', exports: { '.': { require: './index.js', default: './nope.js' }, './sub': './sub.js' },
      }),
      'node_modules/esm-pkg/index.js': 'import { dep } from "./dep.js";\nexport default "esm-pkg";\nexport const fromDep = dep;\n',
      'node_modules/esm-pkg/dep.js': 'export const dep = "dep of esm-pkg";\n',
      'node_modules/esm-pkg/sub.js': 'export const sub = "esm-pkg/sub";\n',
      'node_modules/cjs-pkg/package.json': '{ "type": "commonjs" }',
      'node_modules/cjs-pkg/index.js': 'exports.kind = typeof module + " " + typeof exports;\n',
    }, 'app.js');
    assert.match(bundled.stdout, /^esm default named file:\/\/\/proc\/self\/bundle\/lib\/esm\.mjs __esModule,default,named true\n/);
    assert.match(bundled.stdout, /\nERR_REQUIRE_ASYNC_MODULE\n$/);
  });

  it('reports a syntax error in a required "type": "commonjs" file instead of running it as ESM', async () => {
    const { plain, bundled } = await runBoth({
      'app.js': 'try { require("cjs-pkg"); } catch (e) { console.log(e.name, e.message); }',
      'node_modules/cjs-pkg/package.json': '{ "type": "commonjs" }',
      'node_modules/cjs-pkg/index.js': 'export const x = 1;\n',
    }, 'app.js');
    assert.equal(bundled.stdout, plain.stdout);
    assert.match(bundled.stdout, /^SyntaxError /);
    // node's hint names the file; only the process id differs.
    const withoutPid = (text) => text.replace(/^\(node:\d+\)/, '(node)');
    assert.equal(withoutPid(bundled.stderr), withoutPid(plain.stderr));
    assert.match(bundled.stderr, /Failed to load the ES module: \/proc\/self\/bundle\/node_modules\/cjs-pkg\/index\.js/);
  });

  it('gives bundled ES modules import.meta.dirname and import.meta.filename', async () => {
    const { bundled } = await assertSameAsNode({
      'src/app.mjs': `
        import { where } from './nested/where.mjs';
        import { readFileSync } from 'node:fs';
        import { join } from 'node:path';
        console.log(import.meta.dirname, import.meta.filename, where);
        console.log(readFileSync(join(import.meta.dirname, 'data.txt'), 'utf8'));
      `,
      'src/nested/where.mjs': 'export const where = [import.meta.dirname, import.meta.filename].join(" ");\n',
      'src/data.txt': 'beside the module\n',
    }, 'src/app.mjs');
    assert.equal(bundled.stdout.split('\n')[0],
      '/proc/self/bundle/src /proc/self/bundle/src/app.mjs /proc/self/bundle/src/nested /proc/self/bundle/src/nested/where.mjs');
  });

  it('globs bundled files with fs.globSync, fs.glob and fs.promises.glob', async () => {
    const { bundled } = await assertSameAsNode({
      'app.js': `
        const fs = require('fs');
        const path = require('path');
        const sorted = (list) => list.map(String).sort();
        console.log(sorted(fs.globSync('**/*.txt', { cwd: __dirname })));
        console.log(sorted(fs.globSync(path.join(__dirname, 'assets', '*'))));
        console.log(sorted(fs.globSync('assets/**', { cwd: __dirname, exclude: (name) => name.endsWith('.json') })));
        console.log(fs.globSync('assets/*', { cwd: __dirname, withFileTypes: true }).map((d) => [d.name, d.isDirectory()]).sort());
        console.log(fs.globSync('nothing/*.txt', { cwd: __dirname }));
        fs.glob('assets/*.txt', { cwd: __dirname }, async (error, matches) => {
          console.log(error, sorted(matches));
          const found = [];
          for await (const match of fs.promises.glob('**/deep.*', { cwd: __dirname })) found.push(match);
          console.log(found);
        });
      `,
      'assets/a.txt': 'a',
      'assets/b.json': '{}',
      'assets/nested/deep.txt': 'deep',
      'top.txt': 'top',
    }, 'app.js');
    assert.match(bundled.stdout, /^\[ 'assets\/a\.txt', 'assets\/nested\/deep\.txt', 'top\.txt' \]\n/);
  });

  it('loads a bundled .env file with process.loadEnvFile, keeping variables already set', async () => {
    const { bundled } = await assertSameAsNode({
      'app.js': `
        const path = require('path');
        process.env.ALREADY = 'kept';
        process.loadEnvFile(path.join(__dirname, 'config', 'app.env'));
        console.log(process.env.PLAIN, process.env.QUOTED, process.env.MULTI, process.env.ALREADY, process.env.EMPTY === '');
        try { process.loadEnvFile(path.join(__dirname, 'config', 'missing.env')); } catch (e) {
          console.log(e.message, e.code, e.syscall, Object.keys(e));
        }
        process.chdir(path.join(__dirname, 'config'));
        process.loadEnvFile();
        console.log(process.env.FROM_DEFAULT);
      `,
      'config/app.env': 'PLAIN=plain value\nQUOTED="quoted # not a comment"\n# a comment\nMULTI="line one\nline two"\nALREADY=replaced\nEMPTY=\n',
      'config/.env': 'FROM_DEFAULT=the default .env of the working directory\n',
    }, 'app.js');
    assert.match(bundled.stdout, /^plain value quoted # not a comment line one\nline two kept true\n/);
  });

  // What embed.cc lets node parse for a child of the app (BUNDLE_STARTED_BY), read back
  // by runtime-node24.js from process.execArgv and run as node 24 runs it.
  it('runs a child\'s node command line as node does: -e, -p, --input-type=module, stdin, a bundled script', async () => {
    const files = {
      'app.js': 'console.log("the app, not expected here");',
      'tool.js': 'console.log("tool", process.argv.slice(2), require("./lib.js"));',
      'lib.js': 'module.exports = "lib";',
    };
    const cases = [
      { execArgv: ['-p', '6 * 7'] },
      { execArgv: ['-e', 'console.log(typeof fs.readFileSync, path.sep, typeof require, __filename, module.id)'] },
      { execArgv: ['--print', 'process.argv.length'], args: ['x', 'y'] },
      { execArgv: ['--input-type=module', '-e', 'import { sep } from "node:path"; console.log(sep, typeof import.meta.url, typeof require)'] },
      { execArgv: [], input: 'console.log("from stdin", typeof require, __filename);' },
      { execArgv: ['--input-type', 'module'], input: 'console.log("module from stdin", typeof require);' },
      { execArgv: ['-e', 'throw new Error("eval boom")'] },
    ];
    for (const { execArgv, args = [], input } of cases) {
      const plain = await run(null, args, { nodeArgs: execArgv, input });
      const bundled = await runBundled(files, 'app.js', args, { asChild: execArgv, input });
      const label = JSON.stringify(execArgv);
      assert.equal(bundled.stdout, plain.stdout, label);
      assert.equal(bundled.code, plain.code, label);
      assert.equal(bundled.stderr.split('\n').slice(0, 5).join('\n'), plain.stderr.split('\n').slice(0, 5).join('\n'), label);
    }
    const dir = writeFixture(files);
    const plain = await run(`${dir}/tool.js`, ['a']);
    fs.rmSync(dir, { recursive: true, force: true });
    const bundled = await runBundled(files, 'app.js', [`${VIRTUAL_ROOT}/tool.js`, 'a'], { asChild: [] });
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.stdout, "tool [ 'a' ] lib\n");
    const refused = await runBundled(files, 'app.js', [`${VIRTUAL_ROOT}/tool.js`], { asChild: ['--check'] });
    assert.equal(refused.code, 9);
    assert.match(refused.stderr, /node's --check is not available in a bundled app\n$/);
  });
});
