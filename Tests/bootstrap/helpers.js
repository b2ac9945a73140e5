'use strict';
// Shared by the *.test.js files: writes fixture apps to temp dirs and runs them twice,
// with plain node and as if bundled (through run-archive.js), the bundled run only
// after the source directory has been deleted.

const assert = require('node:assert');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { buildArchive, readTree } = require('./archive.js');

const VIRTUAL_ROOT = '/proc/self/bundle';
const HARNESS = path.join(__dirname, 'run-archive.js');
// The test runner's variables must not reach the apps.
const { NODE_TEST_CONTEXT, NODE_OPTIONS, ...childEnv } = process.env; // eslint-disable-line no-unused-vars

function tempDir(prefix = 'bundle-test-') {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

function writeFixture(files) {
  const dir = tempDir();
  // A value is the content, or { content, mode }.
  for (const [relative, value] of Object.entries(files)) {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { content, mode } = typeof value === 'object' && !Buffer.isBuffer(value) ? value : { content: value };
    fs.writeFileSync(file, content);
    if (mode !== undefined) fs.chmodSync(file, mode);
  }
  return dir;
}

// `file` null runs node without a script; `input` is written to its stdin, then closed.
function run(file, args, { nodeArgs = [], input, ...options } = {}) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...nodeArgs, ...(file === null ? [] : [file]), ...args],
      { env: childEnv, encoding: 'utf8', timeout: 20000, ...options },
      (error, stdout, stderr) => {
        resolve({ code: error ? error.code : 0, signal: error?.signal ?? null, stdout, stderr });
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

// Packs dir into an archive file outside it, deletes dir, runs the archive. On node 18
// the harness gets --expose-internals, so that the bootstrap reaches node's internals as
// in the launcher; `internals: false` tests the public fallbacks instead. On node 24 the
// launcher's require reaches no internals (run-archive.js launcherRequire): no flag.
// `lazy: true` hands the bootstrap an archive whose file data arrives only through
// ensureArchive, as the launcher does (run-archive.js --lazy).
// `asChild: [options]` runs it as a child the app started with its own executable,
// given those node options (run-archive.js --as-child).
async function runBundledAndDelete(dir, entry, args, { internals = true, lazy = false, asChild, ...options } = {}) {
  const archiveDir = tempDir('bundle-archive-');
  const archiveFile = path.join(archiveDir, 'app.bndl');
  fs.writeFileSync(archiveFile, Buffer.from(buildArchive(readTree(dir), entry, { withBootstrap: true })));
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    const exposeInternals = internals && Number(process.versions.node.split('.')[0]) < 24;
    const nodeArgs = [...(exposeInternals ? ['--expose-internals'] : []), ...(options.nodeArgs ?? [])];
    const child = asChild === undefined ? [] : ['--as-child', JSON.stringify(asChild)];
    return await run(HARNESS, [...(lazy ? ['--lazy'] : []), ...child, '--archive', archiveFile, ...args], { ...options, nodeArgs });
  } finally {
    fs.rmSync(archiveDir, { recursive: true, force: true });
  }
}

// Runs `node <dir>/<entry> args` and the bundled app on the same files. The node run's
// output has the source directory replaced by the virtual root, so both compare.
async function runBoth(files, entry, args = [], options = {}) {
  const dir = writeFixture(files);
  const plain = await run(path.join(dir, entry), args);
  const mapPaths = (text) => text.split(dir).join(VIRTUAL_ROOT);
  plain.stdout = mapPaths(plain.stdout);
  plain.stderr = mapPaths(plain.stderr);
  const bundled = await runBundledAndDelete(dir, entry, args, options);
  assert.equal(fs.existsSync(dir), false);
  return { plain, bundled };
}

async function runBundled(files, entry, args = [], options = {}) {
  return runBundledAndDelete(writeFixture(files), entry, args, options);
}

// Same stdout, stderr and exit code.
async function assertSameAsNode(files, entry, args = [], options = {}) {
  const { plain, bundled } = await runBoth(files, entry, args, options);
  assert.equal(bundled.stderr, plain.stderr, 'stderr');
  assert.equal(bundled.stdout, plain.stdout, 'stdout');
  assert.equal(bundled.code, plain.code, 'exit code');
  return { plain, bundled };
}

// The part of an uncaught-error report that names the app: source line, message and
// the first stack frame. The frames below it are node's or the bootstrap's.
function uncaughtHead(stderr) {
  const lines = stderr.split('\n');
  const firstFrame = lines.findIndex((line) => line.startsWith('    at '));
  return lines.slice(0, firstFrame + 1).join('\n');
}

module.exports = {
  VIRTUAL_ROOT, HARNESS, tempDir, writeFixture, run, runBoth, runBundled, runBundledAndDelete, assertSameAsNode, uncaughtHead,
};
