'use strict';
// Runs an app as if bundled, under plain node:
//   node --expose-internals run-archive.js <dir> <entry-rel> [args...]   packs every file under <dir>
//   node --expose-internals run-archive.js --archive <file> [args...]    runs an archive written earlier
//   ... run-archive.js --lazy --archive <file> [args...]   the same, with the archive's file data missing
//       until the bootstrap asks for it with ensureArchive, as when the launcher
//       inflates the archive on first use (Sources/Launcher/LazyArchive.swift), and
//       gone again when it gives bytes back with releaseArchive
//   ... run-archive.js --as-child '<execArgv JSON>' --archive <file> [script] [args...]
//       a child of the app started with its executable (launch.nodeCommandLine): the
//       node options given as node 24 shows them after parsing them (process.execArgv;
//       node 18's adapter reads node's parsed options instead, which this cannot set)
// then calls the bootstrap (Templates/bootstrap/, joined) the way the launcher does, with the real process,
// an internalRequire like the launcher's (launcherRequire), and the archive as a
// SharedArrayBuffer.
// The tests use --archive so that the source directory is gone when the app runs.
//
// No other CommonJS file may load before the bootstrap: node 18 creates its ES module
// loader when one does, and that loader would keep the unpatched fs.readFileSync (named
// imports from CommonJS would then silently degrade to `default`). So archive.js is
// compiled here rather than required; builtins are fine.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const VIRTUAL_ROOT = '/proc/self/bundle';

function loadArchiveHelpers() {
  const filename = path.join(__dirname, 'archive.js');
  const module = { exports: {} };
  vm.compileFunction(fs.readFileSync(filename, 'utf8'), ['require', 'module', 'exports', '__dirname'], { filename })(
    require, module, module.exports, __dirname);
  return module.exports;
}

// A copy of `full` holding only what the launcher inflates at start (the index and the
// entries it reads itself); ensureArchive copies the rest in when asked, and every byte
// not asked for stays 0, so a read the bootstrap did not announce shows up as wrong data.
function lazyArchive(full, KIND) {
  const view = new DataView(full);
  const bytes = new Uint8Array(full);
  const lazy = new SharedArrayBuffer(full.byteLength);
  const target = new Uint8Array(lazy);
  const copy = (offset, length) => target.set(bytes.subarray(offset, offset + length), offset);
  const count = view.getUint32(12, true);
  let cursor = 20 + view.getUint32(16, true);
  for (let i = 0; i < count; i++) {
    const kind = view.getUint8(cursor);
    const pathLength = view.getUint32(cursor + 4, true);
    if (kind !== KIND.file && kind !== KIND.codeCache) {
      copy(Number(view.getBigUint64(cursor + 8, true)), Number(view.getBigUint64(cursor + 16, true)));
    }
    cursor += 24 + pathLength;
  }
  copy(0, cursor);
  let shared = false;
  const ensureArchive = (offset, length) => {
    if (!(offset >= 0 && length >= 0 && offset + length <= full.byteLength)) throw new Error('ensureArchive: out of range');
    copy(offset, length);
    if (offset === 0 && length === full.byteLength) shared = true;
  };
  // Stricter than the launcher, which gives back only whole frames: every passed byte of
  // the file is zeroed, so a later read that is not announced again shows up too.
  const releaseArchive = (offset, length, passedOffset, passedLength) => {
    if (shared) throw new Error('releaseArchive: threads share the archive, nothing may be given back');
    const start = Math.max(offset, passedOffset);
    const end = Math.min(offset + length, passedOffset + passedLength);
    if (start < end) target.fill(0, start, end);
  };
  return { archive: lazy, ensureArchive, releaseArchive };
}

// What the launcher's internalRequire (StartExecutionCallbackInfo.native_require) is:
// - node 18: node's internal builtin loader, which loads 'internal/...' modules too.
//   This file's `require` under --expose-internals does the same (without the flag the
//   bootstrap takes its public fallbacks, which the tests also exercise).
// - node 24: embedderRequire of lib/internal/main/embedding.js: builtins only, by the
//   ids `require` accepts for them ('fs', 'node:fs', 'node:sqlite'); anything else
//   throws ERR_UNKNOWN_BUILTIN_MODULE, whatever the flags. It loads through node's
//   internal loader, past module hooks, as process.getBuiltinModule does.
function launcherRequire() {
  if (Number(process.versions.node.split('.')[0]) < 24) return require;
  return function embedderRequire(id) {
    if (typeof id !== 'string' || !require('node:module').isBuiltin(id)) {
      const error = new Error(`No such built-in module: ${id}`);
      error.code = 'ERR_UNKNOWN_BUILTIN_MODULE';
      throw error;
    }
    return process.getBuiltinModule(id);
  };
}

function main(argv) {
  const { buildArchive, readTree, compileBootstrap, toSharedArrayBuffer, KIND } = loadArchiveHelpers();
  const lazy = argv[0] === '--lazy';
  if (lazy) argv = argv.slice(1);
  let childExecArgv = null;
  if (argv[0] === '--as-child') {
    childExecArgv = JSON.parse(argv[1]);
    argv = argv.slice(2);
  }
  let archive;
  let userArgs;
  if (argv[0] === '--archive') {
    archive = toSharedArrayBuffer(fs.readFileSync(argv[1]));
    userArgs = argv.slice(2);
  } else {
    if (argv.length < 2) {
      process.stderr.write('usage: run-archive.js <dir> <entry-rel> [args...] | --archive <file> [args...]\n');
      process.exit(2);
    }
    const built = buildArchive(readTree(path.resolve(argv[0])), argv[1], { withBootstrap: true });
    archive = toSharedArrayBuffer(Buffer.from(built));
    userArgs = argv.slice(2);
  }
  // The launcher hands the bootstrap [execPath, ...userArgs], and node no options.
  process.argv.splice(1, process.argv.length - 1, ...userArgs);
  process.execArgv.splice(0, process.execArgv.length);
  // Where the launcher shows the app's files (Format.virtualRoot in Sources/PayloadFormat).
  const launch = { role: 'main', virtualRoot: VIRTUAL_ROOT, appIdentity: 'test-app' };
  if (childExecArgv !== null) {
    process.execArgv.push(...childExecArgv);
    launch.nodeCommandLine = true;
  }
  if (lazy) {
    const { archive: partial, ensureArchive, releaseArchive } = lazyArchive(archive, KIND);
    compileBootstrap()(process, launcherRequire(), partial, { ...launch, ensureArchive, releaseArchive });
  } else {
    compileBootstrap()(process, launcherRequire(), archive, launch);
  }
}

main(process.argv.slice(2));
