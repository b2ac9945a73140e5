'use strict';
// The archive inflated on first use (Sources/Launcher/LazyArchive.swift): the launcher
// hands the bootstrap an archive whose file data is there only once ensureArchive was
// called for it, and its memory may be given back (releaseArchive) once the bootstrap
// copied it out. run-archive.js --lazy leaves everything else zero and zeroes what is
// given back, so any read the bootstrap does not announce gives wrong bytes and these
// runs differ from node's.

const { describe, it } = require('node:test');
const { assertSameAsNode } = require('./helpers.js');

const FILES = {
  'app.js': `
    const fs = require('fs');
    const path = require('path');
    const { Worker } = require('worker_threads');
    const at = (name) => path.join(__dirname, name);
    console.log(require('./lib/helper')(), require('./data.json').name);
    console.log(fs.readFileSync(at('notes.txt'), 'utf8'));
    const fd = fs.openSync(at('notes.txt'), 'r');
    const buffer = Buffer.alloc(5);
    fs.readSync(fd, buffer, 0, 5, 6);
    fs.closeSync(fd);
    console.log(buffer.toString());
    (async () => {
      console.log(await fs.promises.readFile(at('lib/helper.js'), 'utf8'));
      const chunks = [];
      for await (const chunk of fs.createReadStream(at('notes.txt'), { encoding: 'utf8' })) chunks.push(chunk);
      console.log(chunks.join(''));
      console.log(fs.readFileSync(at('notes.txt')).length, fs.readFileSync(at('notes.txt'), 'latin1').slice(0, 12));
      // Larger than the bootstrap's copy piece: copied out and given back piece by piece.
      const digest = (bytes) => require('crypto').createHash('sha256').update(bytes).digest('hex');
      console.log(digest(fs.readFileSync(at('big.txt'))), digest(fs.readFileSync(at('big.txt'))));
      const copy = path.join(require('os').tmpdir(), 'lazy-copy-' + process.pid);
      fs.copyFileSync(at('notes.txt'), copy);
      console.log(fs.readFileSync(copy, 'utf8') === fs.readFileSync(at('notes.txt'), 'utf8'));
      fs.unlinkSync(copy);
      const worker = new Worker(at('worker.js'));
      worker.on('message', (message) => {
        console.log('worker:', message);
        // Threads share the archive now: reading on must give nothing back.
        console.log(fs.readFileSync(at('notes.txt'), 'utf8').length);
      });
    })();
  `,
  'lib/helper.js': 'module.exports = () => "helper " + "x".repeat(3000).length;\n',
  'data.json': JSON.stringify({ name: 'data', filler: 'y'.repeat(5000) }),
  'notes.txt': 'first second third\n'.repeat(200),
  'big.txt': Array.from({ length: 900000 }, (_, i) => `line ${i}\n`).join(''),
  'worker.js': `
    const fs = require('fs');
    require('worker_threads').parentPort.postMessage(fs.readFileSync(__dirname + '/notes.txt', 'utf8').length);
  `,
};

describe('an archive inflated on first use', { concurrency: true }, () => {
  it('reads modules, JSON and files through fs, in the main thread and a worker, as node does', async () => {
    await assertSameAsNode(FILES, 'app.js', [], { lazy: true });
  });
});
