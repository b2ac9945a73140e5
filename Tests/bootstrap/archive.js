'use strict';
// Builds app archives in memory the way the `bundle` CLI writes them
// (Sources/PayloadFormat/Format.swift, "Archive"), for the bootstrap tests.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const MAGIC = Buffer.from('BNDLARC\0', 'latin1');
const HEADER_SIZE = 20;
const RECORD_SIZE = 24;
const KIND = { file: 0, bootstrap: 1, library: 2, builtin: 3, addon: 5, codeCache: 7 };
const BOOTSTRAP_DIR = path.join(__dirname, '..', '..', 'Templates', 'bootstrap');

/** The parts Templates/bootstrap/manifest lists, in its order (comment and empty lines skipped). */
function bootstrapParts() {
  return fs.readFileSync(path.join(BOOTSTRAP_DIR, 'manifest'), 'utf8').split('\n')
    .map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** The one script the launcher gets: the parts joined as Toolkit.swift joins them. */
function bootstrapSource(parts = bootstrapParts()) {
  return parts.map((part) => fs.readFileSync(path.join(BOOTSTRAP_DIR, part), 'utf8')).join('\n');
}

/**
 * files: { 'rel/path.js': string | Buffer }; entry: relative path of the entry.
 * options.extraEntries: [{ kind, path, data }] added as they are (to test that the
 * bootstrap ignores other kinds); options.metadata replaces the metadata object;
 * options.withBootstrap adds the bootstrap (bootstrapSource) as the bundler does (worker threads
 * and the module.register fallback compile it from there).
 * Returns an ArrayBuffer holding exactly the archive.
 */
function buildArchive(files, entry, options = {}) {
  const entries = Object.entries(files).map(([relative, data]) => ({ kind: KIND.file, path: relative, data }));
  entries.push(...(options.extraEntries ?? []));
  if (options.withBootstrap) {
    entries.push({ kind: KIND.bootstrap, path: '.bundle-bootstrap.js', data: Buffer.from(bootstrapSource()) });
  }
  const records = entries
    .map(({ kind, path: relative, data }) => ({
      kind,
      path: Buffer.from(relative, 'utf8'),
      data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'),
      mode: data?.mode ?? 0, // readTree's, as the bundler records them
    }))
    .sort((a, b) => Buffer.compare(a.path, b.path));
  const metadata = Buffer.from(JSON.stringify(options.metadata ?? { entry }), 'utf8');

  const recordsSize = records.reduce((sum, record) => sum + RECORD_SIZE + record.path.length, 0);
  let dataOffset = HEADER_SIZE + metadata.length + recordsSize;
  const dataSize = records.reduce((sum, record) => sum + record.data.length, 0);
  const out = Buffer.alloc(dataOffset + dataSize);

  MAGIC.copy(out, 0);
  out.writeUInt32LE(1, 8);
  out.writeUInt32LE(records.length, 12);
  out.writeUInt32LE(metadata.length, 16);
  metadata.copy(out, HEADER_SIZE);
  let offset = HEADER_SIZE + metadata.length;
  for (const record of records) {
    out.writeUInt8(record.kind, offset);
    out.writeUInt16LE(record.mode, offset + 1);
    out.writeUInt32LE(record.path.length, offset + 4);
    out.writeBigUInt64LE(BigInt(dataOffset), offset + 8);
    out.writeBigUInt64LE(BigInt(record.data.length), offset + 16);
    record.path.copy(out, offset + RECORD_SIZE);
    record.data.copy(out, dataOffset);
    offset += RECORD_SIZE + record.path.length;
    dataOffset += record.data.length;
  }
  return toArrayBuffer(out);
}

/** Every file under dir, as { 'rel/path': Buffer }, each with the `mode` the bundler
 * records (0644, or 0755 with an executable bit). */
function readTree(dir) {
  const files = {};
  const walk = (relative) => {
    for (const dirent of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${dirent.name}` : dirent.name;
      if (dirent.isDirectory()) walk(child);
      else if (dirent.isFile()) {
        files[child] = fs.readFileSync(path.join(dir, child));
        files[child].mode = fs.statSync(path.join(dir, child)).mode & 0o111 ? 0o755 : 0o644;
      }
    }
  };
  walk('');
  return files;
}

/** Compiles the bootstrap exactly as the launcher does. */
function compileBootstrap() {
  return vm.compileFunction(bootstrapSource(), ['process', 'internalRequire', 'archive'], {
    filename: 'bundle:bootstrap.js',
  });
}

/**
 * Some parts of the bootstrap on their own, to test one concern: prelude.js, the named
 * parts and `code` (which may use what they declare), compiled as the launcher compiles
 * the whole; calling the result with (process, internalRequire, archive, launch) returns
 * what `code` returns.
 */
function compileParts(parts, code) {
  return vm.compileFunction(`${bootstrapSource(['prelude.js', ...parts])}\n${code}`,
    ['process', 'internalRequire', 'archive'], { filename: `bundle:parts(${parts.join(',')})` });
}

function toArrayBuffer(buffer) {
  const copy = new ArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}

/** What the launcher passes: the archive in memory shared with worker threads. */
function toSharedArrayBuffer(buffer) {
  const copy = new SharedArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}

module.exports = { buildArchive, readTree, compileBootstrap, toArrayBuffer, toSharedArrayBuffer, KIND, BOOTSTRAP_DIR, bootstrapParts, bootstrapSource, compileParts };
