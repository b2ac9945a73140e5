'use strict';
// `fs` on virtual paths, seen by a bundled app: the same answers as `node app.js` gives
// on the original files, except what only a read-only archive can say (EROFS, modes).

const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { execFileSync } = require('node:child_process');
const { VIRTUAL_ROOT, run, runBoth, runBundled, runBundledAndDelete, tempDir, writeFixture } = require('./helpers.js');

const ASSETS = {
  'assets/data.txt': 'Hello from the archive ✓\nsecond line\n',
  'assets/config.json': '{ "answer": 42 }',
  'assets/nested/deep.bin': Buffer.from([0, 1, 2, 250, 251, 252]),
  'assets/empty.txt': '',
  'assets/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
};

// Prints one line per fs answer; the same program runs under node and bundled.
const READER = `
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');
const at = (...parts) => path.join(__dirname, 'assets', ...parts);
const lines = [];
const log = (label, value) => lines.push(label + ' ' + JSON.stringify(value));
const errorOf = (fn) => { try { fn(); return 'no error'; } catch (e) { return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, keys: Object.keys(e) }; } };
// Directory sizes depend on the file system; the archive says 0.
const statSummary = (s) => s && [s.isFile(), s.isDirectory(), s.isSymbolicLink(), s.isFIFO(), s.isFile() ? s.size : 'dir', s instanceof fs.Stats, typeof s.mtimeMs, s.mtime instanceof Date];
const direntSummary = (d) => [d.name, d.isFile(), d.isDirectory(), d.isSymbolicLink(), d instanceof fs.Dirent];

async function main() {
  log('readFileSync utf8', fs.readFileSync(at('data.txt'), 'utf8'));
  log('readFileSync options', fs.readFileSync(at('data.txt'), { encoding: 'base64' }));
  log('readFileSync buffer', fs.readFileSync(at('nested', 'deep.bin')).toJSON());
  log('readFileSync empty', fs.readFileSync(at('empty.txt'), 'utf8'));
  log('Buffer path', fs.readFileSync(Buffer.from(at('data.txt')), 'latin1').length);
  log('file: URL', fs.readFileSync(pathToFileURL(at('data.txt')), 'utf8').length);
  log('unnormalized', fs.readFileSync(at('nested', '..', 'data.txt'), 'utf8').length);
  log('require json', require('./assets/config.json'));
  log('existsSync', [at('data.txt'), at('nested'), at(), __dirname, at('nope'), at('data.txt', 'x')].map((p) => fs.existsSync(p)));
  log('statSync file', statSummary(fs.statSync(at('data.txt'))));
  log('statSync dir', statSummary(fs.statSync(at('nested'))));
  log('lstatSync', statSummary(fs.lstatSync(at('data.txt'))));
  log('statSync missing', statSummary(fs.statSync(at('nope'), { throwIfNoEntry: false })));
  log('readdirSync', fs.readdirSync(at()).sort());
  log('readdirSync types', fs.readdirSync(at(), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).map(direntSummary));
  log('readdirSync buffer', fs.readdirSync(at('nested'), 'buffer').map((b) => Buffer.isBuffer(b) && b.toString()));
  log('realpathSync', fs.realpathSync(at('nested', '..', 'data.txt')));
  log('realpathSync.native', fs.realpathSync.native(at('nested', '..')));
  log('accessSync', [fs.accessSync(at('data.txt')), fs.accessSync(at('nested'), fs.constants.R_OK)]);

  const fd = fs.openSync(at('data.txt'), 'r');
  const buffer = Buffer.alloc(8);
  const first = fs.readSync(fd, buffer, 0, 5, null);
  const second = fs.readSync(fd, buffer, { offset: 0, length: 8 });
  log('readSync sequential', [first, second, buffer.toString()]);
  log('readSync positioned', [fs.readSync(fd, buffer, 0, 4, 6), buffer.toString('utf8', 0, 4)]);
  log('fstatSync', statSummary(fs.fstatSync(fd)));
  log('readFileSync fd', fs.readFileSync(fd, 'utf8').length);
  fs.closeSync(fd);
  log('read after close', errorOf(() => fs.readSync(fd, buffer)).code);

  log('ENOENT readFileSync', errorOf(() => fs.readFileSync(at('nope.txt'))));
  log('ENOENT statSync', errorOf(() => fs.statSync(at('nope', 'deeper'))));
  log('ENOENT openSync', errorOf(() => fs.openSync(at('nope.txt'), 'r')));
  log('ENOENT accessSync', errorOf(() => fs.accessSync(at('nope.txt'))));
  log('ENOENT readdirSync', errorOf(() => fs.readdirSync(at('nope'))));
  log('ENOENT realpathSync.native', errorOf(() => fs.realpathSync.native(at('nope'))));
  log('ENOTDIR readdirSync', errorOf(() => fs.readdirSync(at('data.txt'))));
  log('ENOTDIR statSync', errorOf(() => fs.statSync(at('data.txt', 'x'))));
  log('EISDIR readFileSync', errorOf(() => fs.readFileSync(at('nested'))));

  log('readFile', await new Promise((resolve) => fs.readFile(at('data.txt'), 'utf8', (e, data) => resolve([e, data]))));
  log('readFile error', await new Promise((resolve) => fs.readFile(at('nope'), (e, data) => resolve([e.code, e.message, data]))));
  log('promises.readFile', await fs.promises.readFile(at('data.txt'), 'utf8'));
  log('fs/promises.readFile', (await require('fs/promises').readFile(at('nested', 'deep.bin'))).length);
  log('promises.readFile error', await fs.promises.readFile(at('nope')).catch((e) => [e.code, e.message]));
  log('promises.stat', statSummary(await fs.promises.stat(at('data.txt'))));
  log('promises.lstat', statSummary(await fs.promises.lstat(at())));
  log('promises.readdir', (await fs.promises.readdir(at(), { withFileTypes: true })).map(direntSummary).sort());
  log('promises.access', await fs.promises.access(at('data.txt')));
  log('promises.realpath', await fs.promises.realpath(at('.')));
  log('stat', await new Promise((resolve) => fs.stat(at('data.txt'), (e, s) => resolve([e, statSummary(s)]))));
  log('lstat', await new Promise((resolve) => fs.lstat(at('nested'), (e, s) => resolve([e, statSummary(s)]))));
  log('readdir', await new Promise((resolve) => fs.readdir(at(), (e, names) => resolve([e, names.sort()]))));
  log('access', await new Promise((resolve) => fs.access(at('nope'), (e) => resolve(e.code))));
  log('realpath', await new Promise((resolve) => fs.realpath(at('nested', '..'), (e, p) => resolve([e, p]))));
  log('exists', await new Promise((resolve) => fs.exists(at('data.txt'), resolve)));
  log('promisify exists', await util.promisify(fs.exists)(at('nope')));
  const asyncFd = await new Promise((resolve) => fs.open(at('data.txt'), (e, fd) => resolve(fd)));
  log('read', await new Promise((resolve) => fs.read(asyncFd, Buffer.alloc(5), 0, 5, 0, (e, n, b) => resolve([e, n, b.toString()]))));
  log('promisify read', await util.promisify(fs.read)(asyncFd, Buffer.alloc(3), 0, 3, 2).then(({ bytesRead, buffer }) => [bytesRead, buffer.toString()]));
  log('fstat', await new Promise((resolve) => fs.fstat(asyncFd, (e, s) => resolve([e, statSummary(s)]))));
  log('close', await new Promise((resolve) => fs.close(asyncFd, resolve)));
  const chunks = [];
  for await (const chunk of fs.createReadStream(at('data.txt'), { highWaterMark: 7 })) chunks.push(chunk.length);
  log('createReadStream', chunks);
  const ranged = [];
  for await (const chunk of fs.createReadStream(at('data.txt'), { start: 6, end: 9, encoding: 'utf8' })) ranged.push(chunk);
  log('createReadStream range', ranged);
  log('createReadStream missing', await new Promise((resolve) => fs.createReadStream(at('nope')).on('error', (e) => resolve([e.code, e.message]))));

  // Issue 14 and 19: what used to go to the disk or answer wrong.
  const sortedNames = (names) => names.map(String).sort();
  log('readdirSync recursive', sortedNames(fs.readdirSync(at(), { recursive: true })));
  log('readdirSync recursive types', fs.readdirSync(at(), { recursive: true, withFileTypes: true })
    .map((d) => [d.name, d.isDirectory(), path.relative(__dirname, d.parentPath)]).sort());
  log('promises.readdir recursive', sortedNames(await fs.promises.readdir(at(), { recursive: true })));
  const big = fs.statSync(at('data.txt'), { bigint: true });
  log('statSync bigint', [typeof big.size, big.size === BigInt(fs.statSync(at('data.txt')).size), typeof big.mtimeNs, big.isFile()]);
  log('promises.stat bigint', typeof (await fs.promises.stat(at('nested'), { bigint: true })).ino);
  log('ENOTDIR trailing slash', [errorOf(() => fs.statSync(at('data.txt') + '/')), errorOf(() => fs.readFileSync(at('data.txt') + '/')),
    fs.existsSync(at('data.txt') + '/'), fs.statSync(at('nested') + '/').isDirectory()]);
  log('mode bits', [fs.statSync(at('run.sh')).mode & 0o111, fs.statSync(at('data.txt')).mode & 0o111, errorOf(() => fs.accessSync(at('run.sh'), fs.constants.X_OK))]);
  const handle = await fs.promises.open(at('data.txt'));
  const view = Buffer.alloc(5);
  log('FileHandle.read', await handle.read(view, 0, 5, 0).then(({ bytesRead }) => [bytesRead, view.toString()]));
  log('FileHandle.stat', statSummary(await handle.stat()));
  log('FileHandle.readFile', await handle.readFile('utf8'));
  await handle.close();
  const lineHandle = await fs.promises.open(at('data.txt'), 'r');
  const readLines = [];
  for await (const line of lineHandle.readLines()) readLines.push(line);
  log('FileHandle.readLines', readLines);
  const streamHandle = await fs.promises.open(at('nested', 'deep.bin'));
  const streamed = [];
  for await (const chunk of streamHandle.createReadStream()) streamed.push(...chunk);
  log('FileHandle.createReadStream', streamed);
  log('promises.open missing', await fs.promises.open(at('nope')).catch((e) => [e.code, e.syscall, e.message]));
  log('promises.readFile handle', await fs.promises.open(at('data.txt')).then(async (h) => { const text = await fs.promises.readFile(h, 'utf8'); await h.close(); return text; }));
  const vfd = fs.openSync(at('data.txt'));
  const parts = [Buffer.alloc(3), Buffer.alloc(4)];
  log('readvSync', [fs.readvSync(vfd, parts, 0), parts.map(String)]);
  log('readv', await new Promise((resolve) => fs.readv(vfd, [Buffer.alloc(2)], 1, (e, n, b) => resolve([e, n, b.map(String)]))));
  fs.closeSync(vfd);
  const dir = fs.opendirSync(at());
  const dirNames = [];
  for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) dirNames.push(entry.name);
  dir.closeSync();
  log('opendirSync', dirNames.sort());
  const asyncNames = [];
  for await (const entry of await fs.promises.opendir(at('nested'))) asyncNames.push([entry.name, entry.isFile()]);
  log('promises.opendir', asyncNames);
  const copyTarget = fs.mkdtempSync(path.join(require('os').tmpdir(), 'cp-'));
  fs.cpSync(at(), copyTarget + '/copy', { recursive: true });
  log('cpSync', [sortedNames(fs.readdirSync(copyTarget + '/copy', { recursive: true })), fs.readFileSync(copyTarget + '/copy/data.txt', 'utf8'),
    fs.statSync(copyTarget + '/copy/run.sh').mode & 0o111]);
  log('cpSync directory without recursive', errorOf(() => fs.cpSync(at('nested'), copyTarget + '/x')).code);
  await fs.promises.cp(at('data.txt'), copyTarget + '/one.txt');
  log('promises.cp', fs.readFileSync(copyTarget + '/one.txt', 'utf8').length);
  fs.rmSync(copyTarget, { recursive: true });
  const watcher = fs.watch(at('data.txt'));
  log('watch', [typeof watcher.close, typeof watcher.on]);
  watcher.close();
  const cwdBefore = process.cwd();
  process.chdir(__dirname);
  log('chdir', [process.cwd() === __dirname, fs.readFileSync('assets/data.txt', 'utf8').length, fs.existsSync('assets/nested'),
    path.resolve('assets') === at(), fs.readdirSync('assets').length]);
  process.chdir('assets');
  log('chdir relative', [process.cwd() === at(), fs.statSync('data.txt').isFile()]);
  log('chdir missing', errorOf(() => process.chdir(at('nope'))).code);
  process.chdir(cwdBefore);
  log('chdir back', process.cwd() === cwdBefore);

  const real = process.argv[2];
  if (real) {
    log('real readFileSync', fs.readFileSync(real, 'utf8'));
    log('real statSync', statSummary(fs.statSync(real)));
    log('real existsSync', [fs.existsSync(real), fs.existsSync(real + '.nope')]);
    log('real readdirSync', fs.readdirSync(path.dirname(real)));
    log('real ENOENT', errorOf(() => fs.readFileSync(real + '.nope')).message.replace(real, '<real>'));
    log('real promises', await fs.promises.readFile(real, 'utf8'));
  }
  console.log(lines.join('\\n'));
}
main();
`;

describe('fs on virtual paths', { concurrency: true }, () => {
  it('answers like node on the original files', async () => {
    const realDir = tempDir();
    const realFile = path.join(realDir, 'real.txt');
    fs.writeFileSync(realFile, 'a real file on disk');
    try {
      const { plain, bundled } = await runBoth({ 'app.js': READER, ...ASSETS }, 'app.js', [realFile]);
      assert.equal(bundled.stderr, plain.stderr);
      assert.equal(plain.code, 0);
      const plainLines = plain.stdout.split('\n');
      const differences = bundled.stdout.split('\n')
        .map((line, i) => (line === plainLines[i] ? null : `bundled: ${line}\n   node: ${plainLines[i]}`))
        .filter(Boolean);
      assert.deepEqual(differences, []);
      assert.equal(bundled.stdout, plain.stdout);
      assert.equal(bundled.code, 0);
    } finally {
      fs.rmSync(realDir, { recursive: true, force: true });
    }
  });

  // The same calls on a read-only bind mount of the same files: the bundle must answer
  // each exactly as Linux does there (code, syscall, path, message).
  it('fails changes as Linux does on a read-only mount', { skip: process.getuid() !== 0 && 'needs root for a bind mount' }, async () => {
    const files = {
      'app.js': `
        const fs = require('fs');
        const at = (name) => __dirname + '/' + name;
        const outside = process.argv[2];
        const lines = [];
        const errorOf = (label, fn) => {
          try { fn(); lines.push([label, 'no error']); } catch (e) { lines.push([label, e.message, e.code, e.syscall, e.path ?? null, e.dest ?? null]); }
        };
        const calls = {
          'writeFile file': () => fs.writeFileSync(at('data.txt'), 'x'),
          'writeFile new': () => fs.writeFileSync(at('new.txt'), 'x'),
          'writeFile dir': () => fs.writeFileSync(at('sub'), 'x'),
          'writeFile file/x': () => fs.writeFileSync(at('data.txt/x'), 'x'),
          'writeFile missing/x': () => fs.writeFileSync(at('missing/x'), 'x'),
          'appendFile new': () => fs.appendFileSync(at('new.txt'), 'x'),
          'open w': () => fs.openSync(at('data.txt'), 'w'),
          'open O_RDWR': () => fs.openSync(at('data.txt'), fs.constants.O_RDWR),
          'open file/x': () => fs.openSync(at('data.txt/x')),
          'readFile a+': () => fs.readFileSync(at('data.txt'), { flag: 'a+' }),
          'mkdir new': () => fs.mkdirSync(at('dir')),
          'mkdir existing': () => fs.mkdirSync(at('sub')),
          'mkdir existing file': () => fs.mkdirSync(at('data.txt')),
          'mkdir missing/x': () => fs.mkdirSync(at('missing/x')),
          'mkdir -p new': () => fs.mkdirSync(at('a/b'), { recursive: true }),
          'mkdir -p existing': () => fs.mkdirSync(at('sub'), { recursive: true }),
          'mkdir -p file/x': () => fs.mkdirSync(at('data.txt/x'), { recursive: true }),
          'unlink file': () => fs.unlinkSync(at('data.txt')),
          'unlink missing': () => fs.unlinkSync(at('missing')),
          'unlink file/x': () => fs.unlinkSync(at('data.txt/x')),
          'rmdir dir': () => fs.rmdirSync(at('sub')),
          'rmdir missing': () => fs.rmdirSync(at('missing')),
          'rm file': () => fs.rmSync(at('data.txt')),
          'rm missing': () => fs.rmSync(at('missing')),
          'rm -r dir': () => fs.rmSync(at('sub'), { recursive: true }),
          'rm -f missing': () => fs.rmSync(at('missing'), { force: true }),
          'rename': () => fs.renameSync(at('data.txt'), at('moved.txt')),
          'rename out': () => fs.renameSync(at('data.txt'), outside + '/moved.txt'),
          'chmod': () => fs.chmodSync(at('data.txt'), 0o777),
          'chmod missing': () => fs.chmodSync(at('missing'), 0o777),
          'chown': () => fs.chownSync(at('data.txt'), 0, 0),
          'utimes': () => fs.utimesSync(at('data.txt'), 1, 1),
          'utimes missing': () => fs.utimesSync(at('missing'), 1, 1),
          'truncate': () => fs.truncateSync(at('data.txt')),
          'truncate missing': () => fs.truncateSync(at('missing')),
          'truncate dir': () => fs.truncateSync(at('sub')),
          'symlink new': () => fs.symlinkSync('/etc/hostname', at('link')),
          'symlink existing': () => fs.symlinkSync('/etc/hostname', at('data.txt')),
          'link': () => fs.linkSync(at('data.txt'), at('hard')),
          'copyFile into': () => fs.copyFileSync('/etc/hostname', at('copy.txt')),
          'mkdtemp': () => fs.mkdtempSync(at('t-')),
          'access W': () => fs.accessSync(at('data.txt'), fs.constants.W_OK),
          'access X': () => fs.accessSync(at('run.sh'), fs.constants.X_OK),
          'access X not': () => fs.accessSync(at('data.txt'), fs.constants.X_OK),
          'access W missing': () => fs.accessSync(at('missing'), fs.constants.W_OK),
          'readFile dir': () => fs.readFileSync(at('sub')),
          'readdir file': () => fs.readdirSync(at('data.txt')),
          'stat file/': () => fs.statSync(at('data.txt') + '/'),
          'readFile file/': () => fs.readFileSync(at('data.txt') + '/'),
          'exists file/': () => { if (fs.existsSync(at('data.txt') + '/')) throw new Error('exists'); },
          'opendir file': () => fs.opendirSync(at('data.txt')),
          'readlink file': () => fs.readlinkSync(at('data.txt')),
          'cp into': () => fs.cpSync('/etc/hostname', at('cp.txt')),
          'write fd': () => fs.writeSync(fs.openSync(at('data.txt')), 'x'),
          'fchmod fd': () => fs.fchmodSync(fs.openSync(at('data.txt')), 0o600),
          'fsync fd': () => fs.fsyncSync(fs.openSync(at('data.txt'))),
        };
        for (const [label, call] of Object.entries(calls)) errorOf(label, call);
        for (const line of lines) console.log(JSON.stringify(line));
        fs.promises.writeFile(at('data.txt'), 'x').catch((e) => console.log('promise', e.code, e.syscall));
        fs.writeFile(at('data.txt'), 'x', (e) => console.log('callback', e.code));
        fs.createWriteStream(at('out.txt')).on('error', (e) => console.log('stream', e.code));
      `,
      'data.txt': 'data',
      'run.sh': '#!/bin/sh\n',
      'sub/file.txt': 'file',
    };
    const dir = writeFixture(files);
    fs.chmodSync(path.join(dir, 'run.sh'), 0o755);
    const outside = tempDir();
    const mounted = tempDir('bundle-readonly-');
    const mount = (args) => execFileSync('mount', args, { stdio: 'pipe' });
    let plain;
    try {
      mount(['--bind', dir, mounted]);
      mount(['-o', 'remount,bind,ro', mounted]);
      plain = await run(path.join(mounted, 'app.js'), [outside]);
    } finally {
      execFileSync('umount', [mounted]);
      fs.rmSync(mounted, { recursive: true, force: true });
    }
    const bundled = await runBundledAndDelete(dir, 'app.js', [outside]);
    fs.rmSync(outside, { recursive: true, force: true });
    assert.equal(plain.stderr, '');
    assert.equal(bundled.stderr, '');
    // Calls in order, then what the asynchronous ones said, in any order.
    const lines = (stdout) => {
      const all = stdout.trim().split('\n');
      return [...all.filter((line) => line.startsWith('[')), ...all.filter((line) => !line.startsWith('[')).sort()];
    };
    // node 24's rmSync reports EROFS without a code (", Unknown error: Read-only file
    // system", syscall "rm"); the bundle keeps the error libuv and node 18 give.
    const rmWithoutCode = /^(\["rm (?:file|-r dir)",)", Unknown error: Read-only file system ('[^']*')","","rm",/;
    const expected = lines(plain.stdout.split(mounted).join(VIRTUAL_ROOT)).map((line) => line.replace(rmWithoutCode,
      (_, label, shown) => `${label}"EROFS: read-only file system, ${label.includes('-r') ? 'rmdir' : 'unlink'} ${shown}","EROFS","${label.includes('-r') ? 'rmdir' : 'unlink'}",`));
    const actual = lines(bundled.stdout);
    const differences = actual.map((line, i) => (line === expected[i] ? null : `bundled: ${line}\n  linux: ${expected[i]}`))
      .filter(Boolean);
    assert.deepEqual(differences, []);
    assert.equal(bundled.code, plain.code);
  });

  it('copies a bundled file to a real path', async () => {
    const realDir = tempDir();
    try {
      const { stdout, code } = await runBundled({
        'app.js': `
          const fs = require('fs');
          fs.copyFileSync(__dirname + '/template.txt', process.argv[2] + '/copy.txt');
          console.log(fs.readFileSync(process.argv[2] + '/copy.txt', 'utf8'));
        `,
        'template.txt': 'template ✓',
      }, 'app.js', [realDir]);
      assert.equal(code, 0);
      assert.equal(stdout, 'template ✓\n');
    } finally {
      fs.rmSync(realDir, { recursive: true, force: true });
    }
  });

  it('reports fixed, read-only stats', async () => {
    const { stdout, code } = await runBundled({
      'app.js': `
        const fs = require('fs');
        const show = (s) => [s.mode.toString(8), s.size, s.nlink, s.mtimeMs, s.mtime.toISOString(), s.blocks];
        console.log(JSON.stringify([show(fs.statSync(__filename)), show(fs.statSync(__dirname)), show(fs.statSync(__dirname + '/lib'))]));
        const a = fs.statSync(__filename), b = fs.statSync(__dirname + '/lib/x.js');
        console.log(a.ino !== b.ino, a.dev === b.dev, fs.statSync(__filename).ino === a.ino);
      `,
      'lib/x.js': '',
    }, 'app.js');
    assert.equal(code, 0);
    const epoch = '1970-01-01T00:00:00.000Z';
    const [file, root, lib] = JSON.parse(stdout.split('\n')[0]);
    assert.deepEqual(file.slice(0, 1).concat(file.slice(2)), ['100644', 1, 0, epoch, 1]);
    assert.ok(file[1] > 0);
    assert.deepEqual(root, ['40755', 0, 1, 0, epoch, 0]);
    assert.deepEqual(lib, ['40755', 0, 1, 0, epoch, 0]);
    assert.equal(stdout.split('\n')[1], 'true true true');
  });
});
