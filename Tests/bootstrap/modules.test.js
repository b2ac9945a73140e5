'use strict';
// CommonJS loading from the archive, compared with `node app.js` on the same source.

const assert = require('node:assert');
const fs = require('node:fs');
const { describe, it } = require('node:test');
const { assertSameAsNode, runBoth, runBundled, uncaughtHead, writeFixture } = require('./helpers.js');

describe('module loading', { concurrency: true }, () => {
  it('runs hello world and passes argv through untouched', async () => {
    const files = { 'hello.js': 'console.log("hello", JSON.stringify(process.argv.slice(1)));\n' };
    const argLists = [[], ['--version'], ['--', '-e', 'x'], ['x y', 'ünïcödé ✓', ''], ['-e', 'process.exit(9)']];
    await Promise.all(argLists.map(async (args) => {
      const { bundled } = await assertSameAsNode(files, 'hello.js', args);
      assert.equal(bundled.stdout, `hello ${JSON.stringify(['/proc/self/bundle/hello.js', ...args])}\n`);
    }));
  });

  it('loads relative files, JSON, directories and node_modules packages', async () => {
    await assertSameAsNode({
      'src/main.js': `
        const helper = require('./lib/helper');
        const config = require('../config.json');
        const dir = require('./lib');
        const pkg = require('pkg');
        const scoped = require('@scope/tool');
        const deep = require('pkg/extra/deep');
        console.log(helper(), config.name, dir, pkg, scoped, deep, require('nested-user'));
      `,
      'src/lib/helper.js': 'module.exports = () => "helper:" + require("path").basename(__filename);',
      'src/lib/index.js': 'module.exports = "lib index";',
      'config.json': '{ "name": "config-name" }',
      'node_modules/pkg/package.json': '{ "name": "pkg", "main": "./main" }',
      'node_modules/pkg/main.js': 'module.exports = "pkg main " + require("./package.json").name;',
      'node_modules/pkg/extra/deep.js': 'module.exports = "deep";',
      'node_modules/@scope/tool/package.json': '{ "name": "@scope/tool", "main": "dist" }',
      'node_modules/@scope/tool/dist/index.js': 'module.exports = "scoped dist index";',
      'node_modules/nested-user/index.js': 'module.exports = require("inner");',
      'node_modules/nested-user/node_modules/inner/index.json': '"inner json"',
      'node_modules/inner/index.js': 'module.exports = "wrong inner";',
    }, 'src/main.js');
  });

  it('sets require.main, module, __filename, __dirname, paths, parent and children', async () => {
    const { plain, bundled } = await runBoth({
      'app.js': `
        const child = require('./sub/child');
        console.log(require.main === module, process.mainModule === module, module.id, child.isMain);
        console.log(__filename, __dirname, module.filename, module.paths[0]);
        console.log(module.children.map((m) => m.id), child.parentId, module.loaded);
        console.log(JSON.stringify(Object.keys(require.cache).filter((k) => !k.includes('Tests/bootstrap'))));
        console.error(module.paths.join(','));
      `,
      'sub/child.js': `
        module.exports = { isMain: require.main === module, parentId: module.parent.id };
        console.log(__filename, __dirname, module.id);
      `,
    }, 'app.js');
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.code, 0);
    assert.match(bundled.stdout, /^\/proc\/self\/bundle\/app\.js \/proc\/self\/bundle \/proc\/self\/bundle\/app\.js \/proc\/self\/bundle\/node_modules$/m);
    // Only folders of the bundle: none of the real disk (node: every folder up to /).
    assert.equal(bundled.stderr, '/proc/self/bundle/node_modules\n');
  });

  it('answers require.resolve and require.resolve.paths', async () => {
    await assertSameAsNode({
      'app.js': `
        console.log(require.resolve('./lib/a'), require.resolve('pkg'), require.resolve('fs'), require.resolve('node:path'));
        console.log(require.resolve('./lib/'), require.resolve('./lib/a.js'), require.resolve(__dirname + '/lib/a'));
        console.log(require.resolve('pkg', { paths: [__dirname + '/lib'] }), require.resolve('./a', { paths: [__dirname + '/lib'] }));
        console.log(require.resolve.paths('./x'), require.resolve.paths('fs'), require.resolve.paths('pkg')[0]);
        try { require.resolve('nope'); } catch (e) { console.log(e.code, e.message); }
      `,
      'lib/a.js': '',
      'lib/index.js': '',
      'node_modules/pkg/index.js': '',
    }, 'app.js');
  });

  it('throws node\'s "Cannot find module" error with the require stack', async () => {
    await assertSameAsNode({
      'app.js': `
        const report = (e) => console.log(JSON.stringify({ message: e.message, code: e.code, requireStack: e.requireStack }));
        try { require('./missing'); } catch (e) { report(e); }
        try { require('missing-package'); } catch (e) { report(e); }
        try { require('./a'); } catch (e) { report(e); }
        try { require('./broken-main'); } catch (e) { console.log(e.code, e.message, e.path, e.requestPath); }
      `,
      'a.js': 'require("./b");',
      'b.js': 'require("./c/missing.js");',
      'broken-main/package.json': '{ "main": "nothing.js" }',
    }, 'app.js');
  });

  it('reports an uncaught exception like node: stack under /proc/self/bundle, exit code 1', async () => {
    const { plain, bundled } = await runBoth({
      'app.js': 'require("./thrower");\n',
      'thrower.js': 'function fail() {\n  throw new TypeError("boom");\n}\nfail();\n',
    }, 'app.js');
    assert.equal(bundled.code, 1);
    assert.equal(plain.code, 1);
    assert.equal(bundled.stdout, '');
    assert.equal(uncaughtHead(bundled.stderr), uncaughtHead(plain.stderr));
    assert.match(bundled.stderr, /^\/proc\/self\/bundle\/thrower\.js:2\n {2}throw new TypeError\("boom"\);/);
    assert.match(bundled.stderr, /\n {4}at fail \(\/proc\/self\/bundle\/thrower\.js:2:9\)\n/);
    assert.match(bundled.stderr, /\n {4}at Object\.<anonymous> \(\/proc\/self\/bundle\/app\.js:1:1\)\n/);
    assert.ok(bundled.stderr.endsWith(`\nNode.js ${process.version}\n`), bundled.stderr);
  });

  it('keeps process.exitCode and process.exit', async () => {
    const { bundled } = await assertSameAsNode({ 'app.js': 'process.exitCode = 5; console.log("set");' }, 'app.js');
    assert.equal(bundled.code, 5);
    const exited = await assertSameAsNode({ 'app.js': 'setTimeout(() => console.log("late"), 10); process.exit(3);' }, 'app.js');
    assert.equal(exited.bundled.code, 3);
  });

  it('handles the corners of relative requests like node', async () => {
    await assertSameAsNode({
      'src/main.js': `
        const show = (request) => {
          try { const v = require(request); console.log(request, '->', JSON.stringify(v)); }
          catch (e) { console.log(request, '!!', e.code, e.message.split('\\n')[0]); }
        };
        ['./dir/', './dir', '.', '..', '../', './c.cjs', './bom.json', './bad.json', './a', './dir/index',
          '../src/dir', './x.txt', '/nonexistent/abs', '../../../../../../../../missing'].forEach(show);
        require.extensions['.txt'] = (m, f) => { m.exports = 'TXT:' + require('fs').readFileSync(f, 'utf8').trim(); };
        show('./x');
        console.log(require('../package.json').name, JSON.stringify(require('fs').readdirSync(__dirname + '/..').sort()));
      `,
      'src/index.js': 'module.exports = "src index";',
      'index.js': 'module.exports = "root index";',
      'package.json': '{ "name": "root-pkg" }',
      'src/dir/index.js': 'module.exports = "dir index";',
      'src/c.cjs': 'module.exports = "cjs file";',
      'src/bom.json': '\uFEFF{ "bom": true }',
      'src/bad.json': '{ bad json',
      'src/a.js': 'exports.a1 = 1; exports.a2 = require("./b").seenA;',
      'src/b.js': 'exports.seenA = Object.keys(require("./a"));',
      'src/x.txt': 'text file',
    }, 'src/main.js');
  });

  it('removes a module that throws while loading from the cache', async () => {
    await assertSameAsNode({
      'app.js': `
        globalThis.attempts = 0;
        for (let i = 0; i < 2; i++) {
          try { require('./flaky'); } catch (e) { console.log(e.message, globalThis.attempts); }
        }
        console.log(Object.keys(require.cache).some((k) => k.endsWith('flaky.js')), module.children.length);
      `,
      'flaky.js': 'globalThis.attempts++; throw new Error("flaky failed");',
    }, 'app.js');
  });

  it('supports createRequire on virtual paths and file: URLs', async () => {
    await assertSameAsNode({
      'app.js': `
        const { createRequire } = require('module');
        const { pathToFileURL } = require('url');
        const fromSub = createRequire(__dirname + '/sub/anything.js');
        console.log(fromSub('./value'), fromSub.resolve('./value'));
        console.log(createRequire(pathToFileURL(__filename))('./sub/value.json'));
      `,
      'sub/value.js': 'module.exports = "sub value";',
      'sub/value.json': '{ "json": true }',
    }, 'app.js');
  });

  it('resolves package "exports": conditions, subpaths, patterns, null targets', async () => {
    await assertSameAsNode({
      'app.js': `
        const show = (request) => {
          try { console.log(request, '->', require(request)); }
          catch (e) { console.log(request, '!!', e.code, e.message); }
        };
        for (const request of ['ex', 'ex/sub', 'ex/feat/one', 'ex/feat/nested/two', 'ex/feat/private/x',
          'ex/cond', 'ex/array', 'ex/package.json', 'ex/lib/sub.js', 'ex/missing', 'ex/gone',
          'sugar', 'sugar/other', 'conditions-only', 'ex/bad-target', '@sc/ex/x', 'ex/feat/../../x']) {
          show(request);
        }
      `,
      'node_modules/ex/package.json': JSON.stringify({
        name: 'ex',
        exports: {
          '.': { import: './esm.mjs', require: './cjs.js' },
          './sub': './lib/sub.js',
          './feat/*': './features/*.js',
          './feat/private/*': null,
          './cond': { node: { import: './nope.mjs', require: './cond-node.js' }, default: './cond-default.js' },
          './array': ['invalid:', './lib/array.js'],
          './package.json': './package.json',
          './gone': './lib/does-not-exist.js',
          './bad-target': '../outside.js',
        },
      }),
      'node_modules/ex/cjs.js': 'module.exports = "ex cjs";',
      'node_modules/ex/esm.mjs': 'export default "ex esm";',
      'node_modules/ex/lib/sub.js': 'module.exports = "ex sub";',
      'node_modules/ex/lib/array.js': 'module.exports = "ex array";',
      'node_modules/ex/features/one.js': 'module.exports = "feature one";',
      'node_modules/ex/features/nested/two.js': 'module.exports = "feature two";',
      'node_modules/ex/features/private/x.js': 'module.exports = "private";',
      'node_modules/ex/cond-node.js': 'module.exports = "cond node";',
      'node_modules/ex/cond-default.js': 'module.exports = "cond default";',
      'node_modules/sugar/package.json': JSON.stringify({ exports: './main.js' }),
      'node_modules/sugar/main.js': 'module.exports = "sugar main";',
      'node_modules/conditions-only/package.json': JSON.stringify({ exports: { import: './x.mjs', default: './d.js' } }),
      'node_modules/conditions-only/d.js': 'module.exports = "conditions default";',
      'node_modules/@sc/ex/package.json': JSON.stringify({ exports: { './*': { require: './r/*.js' } } }),
      'node_modules/@sc/ex/r/x.js': 'module.exports = "scoped pattern";',
    }, 'app.js');
  });

  it('resolves "imports" (#specifiers) and self-references by package name', async () => {
    await assertSameAsNode({
      'package.json': JSON.stringify({
        name: 'my-app',
        exports: { '.': './app.js', './util': './src/util.js' },
        imports: { '#internal/*': './src/internal/*.js', '#dep': 'dep', '#cond': { require: './src/cond.js' } },
      }),
      'app.js': `
        const show = (request) => {
          try { console.log(request, '->', require(request)); }
          catch (e) { console.log(request, '!!', e.code, e.message); }
        };
        ['#internal/a', '#dep', '#cond', '#nope', '#', 'my-app/util', 'my-app/hidden'].forEach(show);
        console.log(require('my-app') === module.exports, require('./src/internal/a.js'));
      `,
      'src/util.js': 'module.exports = "util";',
      'src/cond.js': 'module.exports = "cond";',
      'src/internal/a.js': 'module.exports = "internal a " + require("#internal/b");',
      'src/internal/b.js': 'module.exports = "b";',
      'node_modules/dep/index.js': 'module.exports = "dep";',
    }, 'app.js');
  });

  it('throws ERR_REQUIRE_ESM for a "type": "module" package like node', async () => {
    await assertSameAsNode({
      'app.js': `
        for (const request of ['esm-pkg', 'esm-pkg/plain.js', './x.mjs']) {
          try { require(request); } catch (e) { console.log(e.code, e.message); }
        }
      `,
      'x.mjs': 'export default 1;',
      'node_modules/esm-pkg/package.json': '{ "type": "module", "main": "index.js" }',
      'node_modules/esm-pkg/index.js': 'export default 1;\n',
      'node_modules/esm-pkg/plain.js': 'console.log("no module syntax");\n',
    }, 'app.js');
  });

  it('leaves builtins and real paths to node', async () => {
    const realDir = writeFixture({ 'real-module.js': 'module.exports = "real " + require("./sibling");', 'sibling.js': 'module.exports = 1;' });
    try {
      const { bundled } = await assertSameAsNode({
        'app.js': `
          console.log(require('node:os') === require('os'), typeof require('fs/promises').readFile);
          console.log(require(process.argv[2] + '/real-module.js'), require.resolve(process.argv[2] + '/sibling'));
        `,
      }, 'app.js', [realDir]);
      assert.equal(bundled.stdout, `true function\nreal 1 ${realDir}/sibling.js\n`);
    } finally {
      fs.rmSync(realDir, { recursive: true, force: true });
    }
  });

  it('causes no warnings, even with --pending-deprecation --throw-deprecation', async () => {
    const result = await runBundled({
      'app.js': `
        try { require('./missing'); } catch (e) { console.log(e.requireStack); }
        try { console.log(require('esm').default); } catch (e) { console.log(e.code); }
        console.log(require('pkg'), require('fs').readFileSync(__dirname + '/node_modules/pkg/package.json').length);
      `,
      'node_modules/pkg/package.json': '{ "exports": { ".": { "require": "./main.js" }, "./x/*": "./*.js" } }',
      'node_modules/pkg/main.js': 'module.exports = "pkg";',
      'node_modules/esm/package.json': '{ "type": "module" }',
      'node_modules/esm/index.js': 'export default 1;',
    }, 'app.js', [], { nodeArgs: ['--pending-deprecation', '--throw-deprecation', '--trace-warnings'] });
    assert.equal(result.stderr, '');
    // node 24 has require(esm); node 18 refuses it.
    const esm = Number(process.versions.node.split('.')[0]) >= 24 ? '1' : 'ERR_REQUIRE_ESM';
    assert.equal(result.stdout, `[ '/proc/self/bundle/app.js' ]\n${esm}\npkg 69\n`);
    assert.equal(result.code, 0);
  });

  it('hands native addons to process.dlopen by their virtual path', async () => {
    // The launcher answers dlopen of that path with a real copy; plain node has none.
    const addon = await runBundled({
      'app.js': 'try { require("./addon.node"); } catch (e) { console.log(e.message); }',
      'addon.node': Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
    }, 'app.js');
    assert.equal(addon.stdout, '/proc/self/bundle/addon.node: cannot open shared object file: No such file or directory\n');
  });
});
