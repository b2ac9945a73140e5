'use strict';
// `fs` on virtual paths, seen by a bundled app: the same answers as `node app.js` gives
// on the original files, except what only a read-only archive can say (EROFS, modes).

const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { runBoth, runBundled, tempDir } = require('./helpers.js');

const ASSETS = {
  'assets/data.txt': 'Hello from the archive ✓\nsecond line\n',
  'assets/config.json': '{ "answer": 42 }',
  'assets/nested/deep.bin': Buffer.from([0, 1, 2, 250, 251, 252]),
  'assets/empty.txt': '',
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

  it('is read-only: writes under the virtual root fail with EROFS', async () => {
    const { stdout, stderr, code } = await runBundled({
      'app.js': `
        const fs = require('fs');
        const at = (name) => __dirname + '/' + name;
        const errorOf = (fn) => { try { fn(); return 'no error'; } catch (e) { return [e.message, e.code, e.errno, e.syscall, e.path, e.dest ?? null]; } };
        const lines = [
          errorOf(() => fs.writeFileSync(at('data.txt'), 'x')),
          errorOf(() => fs.appendFileSync(at('new.txt'), 'x')),
          errorOf(() => fs.openSync(at('data.txt'), 'w')),
          errorOf(() => fs.openSync(at('data.txt'), fs.constants.O_RDWR)),
          errorOf(() => fs.readFileSync(at('data.txt'), { flag: 'a+' })),
          errorOf(() => fs.mkdirSync(at('dir'))),
          errorOf(() => fs.mkdirSync(at('sub'), { recursive: true })),
          errorOf(() => fs.unlinkSync(at('data.txt'))),
          errorOf(() => fs.rmSync(at('sub'), { recursive: true })),
          errorOf(() => fs.renameSync(at('data.txt'), at('moved.txt'))),
          errorOf(() => fs.copyFileSync('/etc/hostname', at('copy.txt'))),
          errorOf(() => fs.symlinkSync('/etc/hostname', at('link'))),
          errorOf(() => fs.chmodSync(at('data.txt'), 0o777)),
          errorOf(() => fs.accessSync(at('data.txt'), fs.constants.W_OK)),
        ];
        for (const line of lines) console.log(JSON.stringify(line));
        fs.promises.writeFile(at('data.txt'), 'x').catch((e) => console.log('promise', e.code, e.syscall));
        fs.writeFile(at('data.txt'), 'x', (e) => console.log('callback', e.code));
        fs.createWriteStream(at('out.txt')).on('error', (e) => console.log('stream', e.code));
      `,
      'data.txt': 'data',
      'sub/file.txt': 'file',
    }, 'app.js');
    assert.equal(stderr, '');
    assert.equal(code, 0);
    const [results, asyncLines] = [stdout.trim().split('\n').slice(0, 14).map((line) => JSON.parse(line)),
      stdout.trim().split('\n').slice(14).sort()];
    const erofs = (syscall, p, dest) => [`EROFS: read-only file system, ${syscall} '${p}'${dest ? ` -> '${dest}'` : ''}`,
      'EROFS', -30, syscall, p, dest ?? null];
    assert.deepEqual(results, [
      erofs('open', '/$bundle/data.txt'),
      erofs('open', '/$bundle/new.txt'),
      erofs('open', '/$bundle/data.txt'),
      erofs('open', '/$bundle/data.txt'),
      erofs('open', '/$bundle/data.txt'),
      erofs('mkdir', '/$bundle/dir'),
      'no error', // mkdir -p of a directory that exists
      erofs('unlink', '/$bundle/data.txt'),
      erofs('rm', '/$bundle/sub'),
      erofs('rename', '/$bundle/data.txt', '/$bundle/moved.txt'),
      erofs('copyfile', '/etc/hostname', '/$bundle/copy.txt'),
      erofs('symlink', '/etc/hostname', '/$bundle/link'),
      erofs('chmod', '/$bundle/data.txt'),
      erofs('access', '/$bundle/data.txt'),
    ]);
    assert.deepEqual(asyncLines, ['callback EROFS', 'promise EROFS open', 'stream EROFS']);
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
    assert.deepEqual(file.slice(0, 1).concat(file.slice(2)), ['100444', 1, 0, epoch, 1]);
    assert.ok(file[1] > 0);
    assert.deepEqual(root, ['40555', 0, 1, 0, epoch, 0]);
    assert.deepEqual(lib, ['40555', 0, 1, 0, epoch, 0]);
    assert.equal(stdout.split('\n')[1], 'true true true');
  });
});
