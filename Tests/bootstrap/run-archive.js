'use strict';
// Runs an app as if bundled, under plain node:
//   node --expose-internals run-archive.js <dir> <entry-rel> [args...]   packs every file under <dir>
//   node --expose-internals run-archive.js --archive <file> [args...]    runs an archive written earlier
// then calls Templates/bootstrap.js the way the launcher does, with the real process,
// this file's `require` as internalRequire (--expose-internals lets it load node's
// internal modules, as the launcher's does; without it the bootstrap takes its public
// fallbacks), and the archive as a SharedArrayBuffer.
// The tests use --archive so that the source directory is gone when the app runs.
//
// No other CommonJS file may load before the bootstrap: node 18 creates its ES module
// loader when one does, and that loader would keep the unpatched fs.readFileSync (named
// imports from CommonJS would then silently degrade to `default`). So archive.js is
// compiled here rather than required; builtins are fine.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

function loadArchiveHelpers() {
  const filename = path.join(__dirname, 'archive.js');
  const module = { exports: {} };
  vm.compileFunction(fs.readFileSync(filename, 'utf8'), ['require', 'module', 'exports', '__dirname'], { filename })(
    require, module, module.exports, __dirname);
  return module.exports;
}

function main(argv) {
  const { buildArchive, readTree, compileBootstrap, toSharedArrayBuffer } = loadArchiveHelpers();
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
  compileBootstrap()(process, require, archive);
}

main(process.argv.slice(2));
