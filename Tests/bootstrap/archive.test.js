'use strict';
// Reading the archive: corrupt input is refused with a clear error before anything is
// patched; a good archive is served without copies and other entry kinds are ignored.

const assert = require('node:assert');
const fs = require('node:fs');
const Module = require('node:module');
const { describe, it } = require('node:test');
const { buildArchive, compileBootstrap, FORMAT, KIND } = require('./archive.js');

const bootstrap = compileBootstrap();
const VIRTUAL_ROOT = '/proc/self/bundle';
const FILES = { 'app.js': 'module.exports = "ran";', 'lib/x.js': '', 'z.txt': 'zzz' };
const METADATA_LENGTH = JSON.stringify({ entry: 'app.js' }).length;
const FIRST_RECORD = 20 + METADATA_LENGTH;

// A valid archive with one change made through a DataView.
function corrupted(change, files = FILES, entry = 'app.js', options = {}) {
  const archive = buildArchive(files, entry, options);
  change(new DataView(archive), archive);
  return archive;
}

function assertCorrupt(archive, detail) {
  const original = { readFileSync: fs.readFileSync, resolve: Module._resolveFilename, argv: [...process.argv] };
  assert.throws(() => bootstrap(process, require, archive, { role: 'main', virtualRoot: VIRTUAL_ROOT }), (error) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /^bundle: corrupt archive: /);
    assert.match(error.message, detail);
    return true;
  });
  assert.equal(fs.readFileSync, original.readFileSync, 'fs untouched');
  assert.equal(Module._resolveFilename, original.resolve, 'loader untouched');
  assert.deepEqual(process.argv, original.argv, 'argv untouched');
}

describe('a corrupt archive', () => {
  it('is not an ArrayBuffer', () => assertCorrupt(Buffer.from(FORMAT.archiveMagic), /expected an ArrayBuffer/));
  it('is shorter than the header', () => assertCorrupt(new ArrayBuffer(10), /truncated \(header/));
  it('has a bad magic', () => assertCorrupt(corrupted((v) => v.setUint8(0, 0x58)), /bad magic/));
  it('has another version', () => assertCorrupt(corrupted((v) => v.setUint32(8, 2, true)), /archive version 2/));
  it('has metadata past the end', () =>
    assertCorrupt(corrupted((v) => v.setUint32(16, 1e6, true)), /truncated \(metadata/));
  it('has metadata that is not JSON', () =>
    assertCorrupt(corrupted((v) => v.setUint8(20, 0x7b + 1)), /metadata is not JSON/));
  it('has metadata without an entry', () =>
    assertCorrupt(buildArchive(FILES, 'app.js', { metadata: { main: 'app.js' } }), /names no "entry"/));
  it('names an entry outside the archive root', () =>
    assertCorrupt(buildArchive(FILES, '../app.js'), /metadata "entry" is not a relative path/));
  it('names an entry that is not in it', () => assertCorrupt(buildArchive(FILES, 'nope.js'), /'nope.js' is not a file/));
  it('counts more records than it holds', () =>
    assertCorrupt(corrupted((v) => v.setUint32(12, 0xffffffff, true)), /truncated \(4294967295 entry records/));
  it('has a path running past the end', () =>
    assertCorrupt(corrupted((v) => v.setUint32(FIRST_RECORD + 4, 1e9, true)), /truncated \(path of entry 0/));
  it('has data running past the end', () =>
    assertCorrupt(corrupted((v) => v.setUint32(FIRST_RECORD + 16, 1e6, true)), /truncated \(data of entry 0/));
  it('has a data offset beyond 2^32', () =>
    assertCorrupt(corrupted((v) => v.setUint32(FIRST_RECORD + 12, 1, true)), /truncated \(data of entry 0/));
  it('has a path with ".." in it', () =>
    assertCorrupt(buildArchive({ ...FILES, 'a/../b.js': '' }, 'app.js'), /not a relative path: "a\/..\/b.js"/));
  it('has an absolute or empty path', () => {
    assertCorrupt(buildArchive({ ...FILES, '/etc/passwd': '' }, 'app.js'), /not a relative path/);
    assertCorrupt(buildArchive({ ...FILES, 'a//b': '' }, 'app.js'), /not a relative path/);
  });
  it('has a path that is not UTF-8', () =>
    assertCorrupt(corrupted((v) => v.setUint8(FIRST_RECORD + 24, 0xff)), /path of entry 0 is not UTF-8/));
  it('has a path twice', () =>
    assertCorrupt(buildArchive(FILES, 'app.js', { extraEntries: [{ kind: KIND.file, path: 'z.txt', data: '' }] }),
      /z\.txt appears twice/));
  it('has a path that is both a file and a directory', () => {
    assertCorrupt(buildArchive({ ...FILES, lib: 'file' }, 'app.js'), /lib is both a file and a directory/);
    assertCorrupt(buildArchive({ ...FILES, 'z.txt/x': 'file' }, 'app.js'), /z\.txt is both a file and a directory/);
  });
});

describe('a good archive, bootstrapped in this process', () => {
  const archive = buildArchive({ ...FILES, 'data.bin': Buffer.from([1, 2, 3]) }, 'app.js', {
    extraEntries: [
      { kind: KIND.bootstrap, path: 'bootstrap.js', data: 'throw new Error("not for running")' },
      { kind: KIND.library, path: 'libfoo.so', data: 'ELF' },
      { kind: 77, path: 'future-kind', data: '?' },
    ],
  });
  const argv = [...process.argv];
  process.argv.splice(1, process.argv.length - 1, 'user-arg');
  bootstrap(process, require, archive, { role: 'main', virtualRoot: VIRTUAL_ROOT });
  const bootArgv = [...process.argv];
  process.argv.splice(0, process.argv.length, ...argv);

  it('runs the entry as the main module and puts its path in argv[1]', () => {
    assert.deepEqual(bootArgv, [argv[0], '/proc/self/bundle/app.js', 'user-arg']);
    assert.equal(require.cache['/proc/self/bundle/app.js'].exports, 'ran');
    assert.equal(process.mainModule.filename, '/proc/self/bundle/app.js');
  });

  it('serves only files, not the other entry kinds', () => {
    assert.deepEqual(fs.readdirSync('/proc/self/bundle').sort(), ['app.js', 'data.bin', 'lib', 'z.txt']);
    assert.equal(fs.existsSync('/proc/self/bundle/bootstrap.js'), false);
  });

  it('hands out copies, so the archive cannot be changed through them', () => {
    const first = fs.readFileSync('/proc/self/bundle/data.bin');
    first[0] = 99;
    assert.deepEqual([...fs.readFileSync('/proc/self/bundle/data.bin')], [1, 2, 3]);
    assert.notEqual(first.buffer, archive);
  });

  it('uses file descriptors no real file can have', () => {
    const fd = fs.openSync('/proc/self/bundle/z.txt');
    const realFd = fs.openSync(__filename);
    try {
      assert.ok(fd >= 2 ** 30 && fd < 2 ** 31, `virtual fd ${fd}`);
      assert.ok(realFd < 2 ** 30);
      assert.equal(fs.readFileSync(realFd, 'utf8'), fs.readFileSync(__filename, 'utf8'));
    } finally {
      fs.closeSync(fd);
      fs.closeSync(realFd);
    }
    assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
  });

  it('leaves paths that only look virtual to the real file system', () => {
    assert.throws(() => fs.readFileSync('/proc/self/bundle/../bundle-not/x'), { code: 'ENOENT', path: '/proc/self/bundle/../bundle-not/x' });
    assert.throws(() => fs.readFileSync('/proc/self/bundlex/app.js'), { code: 'ENOENT', syscall: 'open' });
    assert.equal(fs.existsSync('/proc/self/bundle/lib/../app.js'), true);
  });

  it('shows the app its own call in fs error stacks', () => {
    const error = (() => {
      try {
        fs.readFileSync('/proc/self/bundle/nope');
      } catch (e) {
        return e;
      }
    })();
    assert.match(error.stack, /^Error: ENOENT: no such file or directory, open '\/proc\/self\/bundle\/nope'\n {4}at .*archive\.test\.js/);
  });
});
