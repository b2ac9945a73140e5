'use strict';
// Parts of the bootstrap on their own (archive.js compileParts), without patching
// anything in this process: the virtual file system over an archive, the resolver over
// it, and node 24's reading of a child's node options.

const assert = require('node:assert');
const { describe, it } = require('node:test');
const { buildArchive, compileParts } = require('./archive.js');

const VIRTUAL_ROOT = '/proc/self/bundle';
const LAUNCH = { role: 'main', virtualRoot: VIRTUAL_ROOT };
// errors.js asks the runtime how node shapes its errors.
const RUNTIME = 'const runtime = Number(process.versions.node.split(".")[0]) >= 24 ? node24Runtime() : node18Runtime();';
const ADAPTERS = ['runtime-node18.js', 'runtime-node24.js'];

function virtualFs(files, metadata) {
  const archive = buildArchive(files, Object.keys(files)[0], metadata ? { metadata } : {});
  const make = compileParts(['archive.js', 'errors.js', 'virtual-fs.js', ...ADAPTERS], `${RUNTIME}
    const parsed = parseArchive(archive);
    return createVirtualFs(archive, parsed.files, parsed.links);`);
  return make(process, require, archive, LAUNCH);
}

const codeOf = (fn) => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return `${error.code}: ${error.message}`;
  }
};

describe('the virtual file system on its own', () => {
  const vfs = virtualFs({
    'app.js': 'x',
    'lib/a.js': 'aaa',
    'lib/deep/b.json': '{}',
    'store/pkg/index.js': 'pkg',
    'node_modules/.modules.yaml': '', // as pnpm writes it: the folder the link is in exists
  }, { entry: 'app.js', links: { 'node_modules/pkg': 'store/pkg' } });

  it('lists folders sorted, with the folders the files imply and the links', () => {
    assert.deepEqual(vfs.readdir(VIRTUAL_ROOT).map((entry) => [entry.name, entry.isDirectory, entry.isSymbolicLink ?? false]),
      [['app.js', false, false], ['lib', true, false], ['node_modules', true, false], ['store', true, false]]);
    assert.deepEqual(vfs.readdir(`${VIRTUAL_ROOT}/node_modules`).map((entry) => [entry.name, entry.isDirectory, entry.isSymbolicLink]),
      [['.modules.yaml', false, undefined], ['pkg', true, true]]);
    assert.deepEqual(vfs.readdirRecursive(`${VIRTUAL_ROOT}/lib`).map((entry) => entry.name), ['a.js', 'deep', 'deep/b.json']);
  });

  it('follows links as the kernel does: realpath, readlink, files through them', () => {
    assert.equal(vfs.realpath(`${VIRTUAL_ROOT}/node_modules/pkg/index.js`), `${VIRTUAL_ROOT}/store/pkg/index.js`);
    assert.equal(vfs.linkAt(`${VIRTUAL_ROOT}/node_modules/pkg`), '../store/pkg');
    assert.equal(vfs.readText(`${VIRTUAL_ROOT}/node_modules/pkg/index.js`), 'pkg');
  });

  it('stats files and folders with fixed, read-only answers', () => {
    const file = vfs.stat(`${VIRTUAL_ROOT}/lib/a.js`);
    assert.deepEqual([file.isFile(), file.size, file.mode & 0o777, file.mtimeMs], [true, 3, 0o444, 0]);
    assert.equal(vfs.stat(`${VIRTUAL_ROOT}/lib`).isDirectory(), true);
    assert.equal(typeof vfs.stat(`${VIRTUAL_ROOT}/lib/a.js`, undefined, 'stat', true).size, 'bigint');
  });

  it('fails lookups and changes with the errors Linux gives on a read-only mount', () => {
    assert.equal(codeOf(() => vfs.lookup(`${VIRTUAL_ROOT}/nope`, 'nope', 'open')),
      "ENOENT: ENOENT: no such file or directory, open 'nope'");
    assert.equal(codeOf(() => vfs.lookup(`${VIRTUAL_ROOT}/app.js/x`, 'x', 'stat')), "ENOTDIR: ENOTDIR: not a directory, stat 'x'");
    assert.equal(codeOf(() => vfs.fileAt(`${VIRTUAL_ROOT}/lib`)), 'EISDIR: EISDIR: illegal operation on a directory, read');
    const change = (p, needs) => vfs.changeError(`${VIRTUAL_ROOT}/${p}`, p, 'x', needs).code;
    assert.deepEqual([change('lib', 'new'), change('new-dir', 'new'), change('gone/x', 'create'), change('lib', 'create'),
      change('gone', 'existing'), change('app.js', 'parent')], ['EEXIST', 'EROFS', 'ENOENT', 'EISDIR', 'ENOENT', 'EROFS']);
  });
});

describe('the resolver on its own', () => {
  const files = {
    'app.mjs': '',
    'package.json': JSON.stringify({ name: 'app', imports: { '#cfg': { import: './cfg.mjs', default: './cfg.cjs' } } }),
    'cfg.mjs': '',
    'cfg.cjs': '',
    'node_modules/pkg/package.json': JSON.stringify({
      exports: { '.': { import: './esm.mjs', require: './cjs.cjs' }, './feature/*': './lib/*.js', './private/*': null },
    }),
    'node_modules/pkg/esm.mjs': '',
    'node_modules/pkg/cjs.cjs': '',
    'node_modules/pkg/lib/x.js': '',
  };
  const archive = buildArchive(files, 'app.mjs');
  const resolver = compileParts(['archive.js', 'errors.js', 'virtual-fs.js', 'resolver.js', ...ADAPTERS], `${RUNTIME}
    const parsed = parseArchive(archive);
    return createResolver(createVirtualFs(archive, parsed.files, parsed.links));`)(process, require, archive, LAUNCH);
  const base = `${VIRTUAL_ROOT}/app.mjs`;
  const esm = (specifier, conditions = ['node', 'import']) =>
    resolver.resolveEsm(specifier, `file://${base}`, base, new Set(conditions))?.href;

  it('resolves exports and imports by condition, as node does for import', () => {
    assert.equal(esm('pkg'), `file://${VIRTUAL_ROOT}/node_modules/pkg/esm.mjs`);
    assert.equal(esm('pkg', ['node', 'require']), `file://${VIRTUAL_ROOT}/node_modules/pkg/cjs.cjs`);
    assert.equal(esm('pkg/feature/x'), `file://${VIRTUAL_ROOT}/node_modules/pkg/lib/x.js`);
    assert.equal(esm('#cfg'), `file://${VIRTUAL_ROOT}/cfg.mjs`);
    assert.equal(esm('./cfg.cjs'), `file://${VIRTUAL_ROOT}/cfg.cjs`);
  });

  it('refuses what node refuses, with node\'s codes', () => {
    assert.match(codeOf(() => esm('pkg/private/y')), /^ERR_PACKAGE_PATH_NOT_EXPORTED: /);
    assert.match(codeOf(() => esm('pkg/nothing')), /^ERR_PACKAGE_PATH_NOT_EXPORTED: /);
    assert.match(codeOf(() => esm('#nope')), /^ERR_PACKAGE_IMPORT_NOT_DEFINED: /);
    assert.match(codeOf(() => esm('./missing.mjs')), /^ERR_MODULE_NOT_FOUND: Cannot find module '\/proc\/self\/bundle\/missing\.mjs'/);
    assert.match(codeOf(() => esm('absent')), /^ERR_MODULE_NOT_FOUND: Cannot find package 'absent'/);
  });

  it('names the format node gives each file', () => {
    assert.deepEqual(['app.mjs', 'cfg.cjs', 'node_modules/pkg/lib/x.js', 'package.json']
      .map((file) => resolver.esmFormat(`${VIRTUAL_ROOT}/${file}`)), ['module', 'commonjs', 'commonjs', 'json']);
  });
});

describe('the resolver with transpiled TypeScript', () => {
  const files = {
    'main.ts': '', 'util.ts': '', 'view.tsx': '', 'lib/index.ts': '', 'esm.mts': '', 'old.cts': '', 'types.d.ts': '',
    'plain.js': '',
  };
  const archive = buildArchive(files, 'main.ts');
  const make = (typeScript) => compileParts(['archive.js', 'errors.js', 'virtual-fs.js', 'resolver.js', ...ADAPTERS], `${RUNTIME}
    const parsed = parseArchive(archive);
    return createResolver(createVirtualFs(archive, parsed.files, parsed.links), { typeScript: ${typeScript} });`)(
    process, require, archive, LAUNCH);
  const resolver = make(true);
  const from = (importer, specifier) => resolver.resolveEsm(specifier, `file://${VIRTUAL_ROOT}/${importer}`,
    `${VIRTUAL_ROOT}/${importer}`, new Set(['node', 'import']))?.href.slice(`file://${VIRTUAL_ROOT}/`.length);

  it('finds what a TypeScript import names: .js paths, no extension, folders', () => {
    assert.deepEqual(['./util.js', './util', './view.jsx', './view', './lib', './esm.mjs', './old.cjs', './plain.js']
      .map((specifier) => from('main.ts', specifier)),
    ['util.ts', 'util.ts', 'view.tsx', 'view.tsx', 'lib/index.ts', 'esm.mts', 'old.cts', 'plain.js']);
  });

  it('leaves imports of JavaScript files as node resolves them', () => {
    assert.match(codeOf(() => from('plain.js', './util')), /^ERR_MODULE_NOT_FOUND: /);
  });

  it('gives .ts and .tsx the format of .js, .mts of .mjs, .cts of .cjs', () => {
    assert.deepEqual(['main.ts', 'view.tsx', 'esm.mts', 'old.cts'].map((file) => resolver.esmFormat(`${VIRTUAL_ROOT}/${file}`)),
      ['commonjs', 'commonjs', 'module', 'commonjs']);
    assert.equal(resolver.isTypeScript(`${VIRTUAL_ROOT}/types.d.ts`), false);
  });

  it('knows no TypeScript in an app that has none transpiled, as node', () => {
    assert.match(codeOf(() => make(false).esmFormat(`${VIRTUAL_ROOT}/main.ts`)), /^ERR_UNKNOWN_FILE_EXTENSION: /);
  });
});

describe('node 24: a child\'s node options read from execArgv', () => {
  const parse = compileParts(ADAPTERS, 'return parseNodeCommandLine;')(process, require, new ArrayBuffer(0), LAUNCH);
  const cases = [
    [[], {}],
    [['-e', 'console.log(1)'], { evalCode: 'console.log(1)' }],
    [['--eval=1+1'], { evalCode: '1+1' }],
    [['-p', '-e'], { print: true, evalCode: '-e' }],
    [['-pe', '2'], { print: true, evalCode: '2' }],
    [['--input-type', 'module', '-e', 'x'], { inputType: 'module', evalCode: 'x' }],
    [['--input-type=module', '-i'], { inputType: 'module', interactive: true }],
    [['-r', '--test', '--max-old-space-size=100'], {}],
    [['--title', '-e', '--watch'], { refused: '--watch' }],
    [['-c', '--test'], { refused: '--check' }],
    [['--watch-path=src'], { refused: '--watch' }],
  ];
  for (const [execArgv, expected] of cases) {
    it(JSON.stringify(execArgv), () => {
      assert.deepEqual(parse(execArgv),
        { refused: undefined, print: false, evalCode: undefined, interactive: false, inputType: undefined, ...expected });
    });
  }
});

describe('the process-wide node options, from the metadata', () => {
  it('are the ones the bundler listed', () => {
    const archive = buildArchive({ 'app.js': '' }, 'app.js',
      { metadata: { entry: 'app.js', processWideNodeOptions: ['--jitless', '--stack-size'] } });
    const make = compileParts(['archive.js', 'workers.js'], `const app = parseArchive(archive);
      return ['--jitless', '--stack_size=900', '--tls-min-v1.3', '--stack-trace-limit=5'].map(isProcessWideOption);`);
    assert.deepEqual(make(process, require, archive, LAUNCH), [true, true, false, false]);
  });
});
