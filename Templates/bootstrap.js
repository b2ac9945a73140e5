'use strict';
// The first JavaScript that runs inside a bundled app.
//
// The launcher compiles this file as a function body with the parameters
// (process, internalRequire, archive) and calls it once:
//   process          the real process; process.argv is [execPath, ...userArgs]
//   internalRequire  node's builtin loader, which can load node's 'internal/...'
//                    modules (plain `require` under the tests, with --expose-internals)
//   archive          SharedArrayBuffer (or ArrayBuffer) holding the app archive, layout
//                    in Sources/PayloadFormat/Format.swift ("Archive")
// A fourth argument says what to start: the app ({ role: 'main' }, the default), a
// worker thread ({ role: 'worker', ... }, see "Worker threads") or the hooks thread of
// the module.register() fallback ({ role: 'hooks' }, see "ES modules"). The launcher's
// also carries ensureArchive(offset, length) when it inflates the archive on first use
// (Sources/Launcher/LazyArchive.swift): bytes outside the index may be read only after
// it returned for them. Threads get a whole archive (sharedArchive()). With it comes
// releaseArchive(offset, length, passedOffset, passedLength), which gives back the
// memory of a file's bytes once they were copied out (see `giveBack`).
//
// It shows the app's files, read-only, under VIRTUAL_ROOT to node's CommonJS and ES
// module loaders and to the `fs` module, then runs the entry the way `node app.js`
// would. File data is never copied at startup: the index keeps offsets and files are
// decoded on use.

const launch = arguments[3] ?? { role: 'main' }; // eslint-disable-line prefer-rest-params
const VIRTUAL_ROOT = launch.virtualRoot; // Format.virtualRoot, from the launcher
const FILE = 'file';
const DIRECTORY = 'directory';
const LINK = 'link'; // what lstat sees of a link (createVirtualFs, `links`)
const ensureArchive = launch.ensureArchive ?? (() => {});
const releaseArchive = launch.releaseArchive ?? (() => {});
// Set in the environment of the children the app starts of itself (see "Children of the app").
const STARTED_BY_ENVIRONMENT_KEY = 'BUNDLE_STARTED_BY';

const fs = internalRequire('fs');
const path = internalRequire('path');
const Module = internalRequire('module');
const url = internalRequire('url');
const util = internalRequire('util');
const os = internalRequire('os');
const { Buffer } = internalRequire('buffer');
const utf8 = new TextDecoder('utf-8', { fatal: true });
let systemErrorMap = null; // errno -> [code, description], made on the first error
let sharedArchiveBuffer = null; // see sharedArchive()
let bigIntStatsPrototype = null; // see statsOf
let virtualWorkingDirectory = null; // see installWorkingDirectory
const sourcesRead = new Map(); // virtual path -> the text fs last read of it, for files with a code cache
const COPY_PIECE = 8 << 20; // see copyOut
const WORKER_ENVIRONMENT_KEY = 'bundle:archive'; // see "Worker threads"

if (typeof VIRTUAL_ROOT !== 'string' || !VIRTUAL_ROOT.startsWith('/')) throw new Error('bundle: the launcher named no virtual root');
const app = parseArchive(archive);
const vfs = createVirtualFs(archive, app.files, app.links);
if (launch.role === 'hooks') return createEsmHooks(vfs, createResolver(vfs)); // eslint-disable-line no-restricted-syntax
// Before any app code: node's loaders read modules through the public `fs`, and a
// module loaded before the patch would be read from the real disk.
patchFs(vfs);
if (launch.role === 'main') installWorkingDirectory(vfs); // workers cannot chdir
const resolver = installModuleLoader(vfs);
installCodeCache();
adaptBuiltinsOnFirstUse();
const esm = installEsmLoader(vfs, resolver);
quietLoaderWarnings();
// ES modules see builtins through a copy of their exports; refresh it.
Module.syncBuiltinESMExports();

if (launch.role === 'worker') {
  runWorker(launch);
} else if (launch.nodeCommandLine) {
  runAsNode();
} else {
  runMain(mainFromArguments());
}

// The module to run, with process.argv as `node <module> args` would have it: the
// entry, which gets every argument (`./app --version` reaches the app). The one
// exception: a first argument under the virtual root runs that bundled module, as
// `node <module>` would (a missing one is reported like node's "Cannot find module",
// never mistaken for an argument), so a command line the app wrote into a script or a
// Makefile means what it said. Children the app starts itself read their whole
// command line as node would: runAsNode.
function mainFromArguments() {
  const first = process.argv[1];
  if (typeof first === 'string' && first.startsWith(`${VIRTUAL_ROOT}/`)) {
    process.argv[1] = path.resolve(first);
    return resolveMain(process.argv[1]);
  }
  const entryPath = `${VIRTUAL_ROOT}/${app.entry}`;
  process.argv.splice(1, 0, entryPath);
  return entryPath;
}

// node's main lookup (extensions, directories); a missing module is left for Module._load to report.
function resolveMain(request) {
  try {
    return resolver.resolveFilename(request, null, true);
  } catch {
    return request;
  }
}

// MARK: - Archive

function parseArchive(buffer) {
  const MAGIC = 'BNDLARC\0';
  const VERSION = 1;
  const HEADER_SIZE = 20;
  const RECORD_SIZE = 24;
  const KIND_FILE = 0;
  const KIND_BOOTSTRAP = 1; // this script, which worker threads compile again; 2 and 3: runtime archive
  const KIND_ADDON = 5; // a native addon: a file here; the launcher also makes it loadable (loadNativeAddon)
  const KIND_CODE_CACHE = 7; // V8 code cache of the file at the rest of the path (see "Code cache")
  const CODE_CACHE_PREFIX = '.bundle-code-cache/';

  const isArrayBuffer = buffer instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer);
  if (!isArrayBuffer) throw corruptArchive('expected an ArrayBuffer');
  const size = buffer.byteLength;
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  // `what` and `index` name the part; the message is only built when it is needed.
  const need = (offset, length, what, index = '') => {
    if (offset + length > size) {
      throw corruptArchive(`truncated (${what}${index} needs bytes ${offset}..<${offset + length}, ` +
        `the archive has ${size})`);
    }
  };
  const readUint64 = (offset) =>
    view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;

  need(0, HEADER_SIZE, 'header');
  if (Buffer.from(buffer, 0, MAGIC.length).toString('latin1') !== MAGIC) {
    throw corruptArchive('bad magic, not a bundle archive');
  }
  const version = view.getUint32(8, true);
  if (version !== VERSION) {
    throw corruptArchive(`unsupported archive version ${version} (this bootstrap reads ${VERSION})`);
  }
  const count = view.getUint32(12, true);
  const metadataLength = view.getUint32(16, true);
  need(HEADER_SIZE, metadataLength, 'metadata');
  const metadata = parseMetadata(bytes.subarray(HEADER_SIZE, HEADER_SIZE + metadataLength));

  let offset = HEADER_SIZE + metadataLength;
  // Records are at least RECORD_SIZE bytes each: a garbage count fails here, not after a long loop.
  need(offset, count * RECORD_SIZE, `${count} entry records`);
  // Runs once per file of the app (thousands): no allocation per record but the path
  // string and its index entry. Paths are unique (checked by the index); their order,
  // which the format also promises, is not something this reader relies on.
  const text = Buffer.from(buffer, 0, size);
  const files = [];
  let bootstrap = null; // { offset, length } of this script in the archive
  const codeCaches = new Map(); // virtual path -> { offset, length }
  for (let i = 0; i < count; i++) {
    need(offset, RECORD_SIZE, 'entry record ', i);
    const kind = view.getUint8(offset);
    const mode = view.getUint16(offset + 1, true) & 0o7777; // 0: not recorded
    const pathStart = offset + RECORD_SIZE;
    const pathLength = view.getUint32(offset + 4, true);
    const dataOffset = readUint64(offset + 8);
    const dataLength = readUint64(offset + 16);
    need(pathStart, pathLength, 'path of entry ', i);
    need(dataOffset, dataLength, 'data of entry ', i);
    offset = pathStart + pathLength;
    if (kind === KIND_BOOTSTRAP) bootstrap = { offset: dataOffset, length: dataLength };
    if (kind === KIND_CODE_CACHE) {
      const cachePath = text.toString('utf8', pathStart, offset);
      if (cachePath.startsWith(CODE_CACHE_PREFIX)) {
        codeCaches.set(`${VIRTUAL_ROOT}/${cachePath.slice(CODE_CACHE_PREFIX.length)}`, { offset: dataOffset, length: dataLength });
      }
      continue;
    }
    if (kind !== KIND_FILE && kind !== KIND_ADDON) continue;
    const relative = text.toString('utf8', pathStart, offset);
    // toString replaces bad UTF-8 with U+FFFD; only then is the strict decoder needed.
    if (relative.includes('\uFFFD')) decodeUtf8(bytes.subarray(pathStart, offset), `path of entry ${i}`);
    checkRelativePath(relative, 'path of entry ', i);
    files.push({ kind: FILE, relative, offset: dataOffset, size: dataLength, ino: files.length + 1, mode: mode || 0o444 });
  }
  if (!files.some((file) => file.relative === metadata.entry)) {
    throw corruptArchive(`the entry '${metadata.entry}' is not a file of the archive`);
  }
  return { entry: metadata.entry, files, bootstrap, codeCaches, links: new Map(Object.entries(metadata.links ?? {})) };
}

function parseMetadata(bytes) {
  let metadata;
  try {
    metadata = JSON.parse(decodeUtf8(bytes, 'metadata'));
  } catch (err) {
    if (err.message.startsWith('bundle:')) throw err;
    throw corruptArchive(`metadata is not JSON (${err.message})`);
  }
  if (metadata === null || typeof metadata !== 'object' || typeof metadata.entry !== 'string') {
    throw corruptArchive('metadata names no "entry"');
  }
  checkRelativePath(metadata.entry, 'metadata "entry"');
  const links = metadata.links ?? {};
  if (links === null || typeof links !== 'object') throw corruptArchive('metadata "links" is not an object');
  for (const [from, to] of Object.entries(links)) {
    if (typeof to !== 'string') throw corruptArchive(`metadata "links" names no target for ${from}`);
    checkRelativePath(from, 'a link in metadata "links"');
    checkRelativePath(to, 'a link target in metadata "links"');
  }
  return metadata;
}

function checkRelativePath(relative, what, index = '') {
  // An empty, "." or ".." part anywhere, or a NUL.
  if (/(?:^|\/)\.{0,2}(?:\/|$)|\0/.test(relative)) {
    throw corruptArchive(`${what}${index} is not a relative path: ${JSON.stringify(relative)}`);
  }
}

function decodeUtf8(bytes, what) {
  try {
    return utf8.decode(bytes);
  } catch {
    throw corruptArchive(`${what} is not UTF-8`);
  }
}

function corruptArchive(what) {
  return new Error(`bundle: corrupt archive: ${what}`);
}

// MARK: - Virtual file system

// The archive's files as a read-only tree. Its functions take absolute, normalized
// virtual paths; `shown` is the path as the caller wrote it, which node's errors quote.
// `links` (relative link path -> relative target) are the symbolic links the module
// graph passed through into a package store (pnpm): paths through them lead to their
// targets, lstat and readlink show them, realpath resolves them, as on disk.
function createVirtualFs(buffer, files, links = new Map()) {
  // Relative path ('' for the root) -> node: the files and the directories they imply.
  // Keyed by the strings parseArchive made, as this runs for every file of the app.
  const nodes = new Map([['', { kind: DIRECTORY, ino: files.length + 1 }]]);
  for (const file of files) {
    const existing = nodes.get(file.relative);
    if (existing !== undefined) {
      const problem = existing.kind === FILE ? 'appears twice' : 'is both a file and a directory';
      throw corruptArchive(`${file.relative} ${problem}`);
    }
    nodes.set(file.relative, file);
    for (let dir = parentKey(file.relative); ; dir = parentKey(dir)) {
      const parent = nodes.get(dir);
      if (parent?.kind === DIRECTORY) break;
      if (parent !== undefined) throw corruptArchive(`${dir} is both a file and a directory`);
      nodes.set(dir, { kind: DIRECTORY, ino: files.length + nodes.size + 1 });
    }
  }
  const storedAt = (p) => (p === VIRTUAL_ROOT ? nodes.get('')
    : p.startsWith(`${VIRTUAL_ROOT}/`) ? nodes.get(p.slice(VIRTUAL_ROOT.length + 1)) : undefined);
  const relativeOf = (p) => (p === VIRTUAL_ROOT ? '' : p.slice(VIRTUAL_ROOT.length + 1));
  // `p` with every link on its way replaced by its target; null for a loop (ELOOP).
  const resolveLinks = (p) => {
    if (links.size === 0 || !isVirtualPath(p)) return p;
    let current = p;
    for (let hops = 0; hops < 40; hops++) { // the kernel's limit
      const relative = relativeOf(current);
      let next = null;
      for (const [from, to] of links) {
        if (relative === from || relative.startsWith(`${from}/`)) {
          next = `${VIRTUAL_ROOT}/${to}${relative.slice(from.length)}`;
          break;
        }
      }
      if (next === null) return current;
      current = next;
    }
    return null;
  };
  const nodeAt = (p) => {
    const stored = storedAt(p);
    if (stored !== undefined || links.size === 0) return stored;
    const real = resolveLinks(p);
    return real === null || real === p ? undefined : storedAt(real);
  };
  // The target of the link at `p` (whose folder holds no link), as readlink gives it.
  const linkAt = (p) => {
    if (links.size === 0 || !isVirtualPath(p)) return undefined;
    const parent = resolveLinks(path.dirname(p));
    const target = parent === null ? undefined : links.get(relativeOf(`${parent}/${path.basename(p)}`));
    return target === undefined ? undefined : path.relative(parent, `${VIRTUAL_ROOT}/${target}`);
  };

  // Directory listings, built on the first readdir: most apps never list their files.
  let listings = null;
  const listingOf = (dirPath) => {
    if (listings === null) {
      listings = new Map();
      for (const [key, node] of nodes) {
        if (key === '') continue;
        const parent = parentKey(key);
        if (!listings.has(parent)) listings.set(parent, []);
        const name = key.slice(key.lastIndexOf('/') + 1);
        listings.get(parent).push({ name, isDirectory: node.kind === DIRECTORY });
      }
      for (const [from, to] of links) {
        const parent = parentKey(from);
        if (!listings.has(parent)) listings.set(parent, []);
        const target = nodeAt(`${VIRTUAL_ROOT}/${to}`);
        listings.get(parent).push({ name: from.slice(from.lastIndexOf('/') + 1), isDirectory: target?.kind === DIRECTORY, isSymbolicLink: true });
      }
      const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      for (const listing of listings.values()) listing.sort(byName);
    }
    return listings.get(relativeOf(resolveLinks(dirPath) ?? dirPath)) ?? [];
  };

  // Like the kernel: ENOTDIR when the path goes through a file, else ENOENT.
  const missing = (p, shown, syscall) => {
    for (let dir = path.dirname(p); dir !== VIRTUAL_ROOT && dir !== '/'; dir = path.dirname(dir)) {
      if (nodeAt(dir)?.kind === FILE) return systemError('ENOTDIR', syscall, shown);
    }
    return systemError('ENOENT', syscall, shown);
  };
  // 'file/' (or 'file/.') names a directory: for a file the kernel says ENOTDIR.
  const namesDirectory = (shown) => typeof shown === 'string' && /\/\.?$/.test(shown);
  const lookup = (p, shown, syscall) => {
    const node = nodeAt(p);
    if (node === undefined) throw missing(p, shown, syscall);
    if (node.kind === FILE && namesDirectory(shown)) throw systemError('ENOTDIR', syscall, shown);
    return node;
  };
  // What the kernel answers a change to `p` on a read-only mount (measured on a
  // read-only bind mount, Tests/bootstrap/fs.test.js compares): the path up to its
  // parent is resolved first (ENOTDIR through a file, ENOENT for a missing folder), then
  // `needs` says what the call looks at before the mount's EROFS: 'create' (open with
  // O_CREAT: EISDIR for a folder), 'existing' (the target must exist: ENOENT; chmod,
  // utimes, access), 'write' (must exist and not be a folder: truncate), 'new' (EEXIST
  // when it exists: mkdir, symlink, link),
  // 'parent' (nothing more: unlink, rmdir, rename, mkdtemp).
  const changeError = (p, shown, syscall, needs, dest) => {
    const parent = nodeAt(path.dirname(p));
    if (parent?.kind !== DIRECTORY && p !== VIRTUAL_ROOT) return missing(p, shown, syscall);
    const node = nodeAt(p);
    if (node?.kind === FILE && namesDirectory(shown)) return systemError('ENOTDIR', syscall, shown, dest);
    if (needs === 'create' && node?.kind === DIRECTORY) return systemError('EISDIR', syscall, shown, dest);
    if ((needs === 'existing' || needs === 'write') && node === undefined) return systemError('ENOENT', syscall, shown, dest);
    if (needs === 'write' && node.kind === DIRECTORY) return systemError('EISDIR', syscall, shown, dest);
    if (needs === 'new' && node !== undefined) return systemError('EEXIST', syscall, shown, dest);
    return systemError('EROFS', syscall, shown, dest);
  };
  // The file at `p`, to be read: EISDIR for a directory.
  const fileAt = (p, shown = p) => {
    const node = lookup(p, shown, 'open');
    if (node.kind === DIRECTORY) throw systemError('EISDIR', 'read');
    return node;
  };
  // A view into the archive, not a copy: callers that hand bytes to the app copy them.
  const contents = (file) => {
    ensureArchive(file.offset, file.size);
    return Buffer.from(buffer, file.offset, file.size);
  };
  // Bytes [start, end) of a file, the same way.
  const slice = (file, start, end) => {
    ensureArchive(file.offset + start, end - start);
    return Buffer.from(buffer, file.offset + start, end - start);
  };
  // Once bytes [start, end) of a file were copied out, the launcher may give back the
  // memory of the whole frames they completed: an app streaming a 200 MB asset keeps a
  // frame of it, as node keeps a read buffer, and reading it whole leaves one copy, the
  // app's. Not once threads share the archive: they read it without asking.
  const giveBack = (file, start = 0, end = file.size) => {
    if (sharedArchiveBuffer === null) releaseArchive(file.offset, file.size, file.offset + start, end - start);
  };
  // A copy of bytes [start, end) of a file, made a piece at a time and each piece given
  // back, so reading a large file whole holds it once, as node does.
  const copyOut = (file, start = 0, end = file.size) => {
    const copy = Buffer.allocUnsafe(end - start);
    for (let at = start; at < end; at += COPY_PIECE) {
      const stop = Math.min(end, at + COPY_PIECE);
      copy.set(slice(file, at, stop), at - start);
      giveBack(file, at, stop);
    }
    return copy;
  };

  return {
    find: nodeAt,
    isFile: (p) => nodeAt(p)?.kind === FILE,
    isDirectory: (p) => nodeAt(p)?.kind === DIRECTORY,
    lookup,
    contents,
    slice,
    giveBack,
    copyOut,
    stat: (p, shown = p, syscall = 'stat', bigint = false) => statsOf(lookup(p, shown, syscall), bigint),
    linkAt,
    realpath: (p) => resolveLinks(p) ?? p,
    statsOf,
    changeError,
    fileAt,
    readFile: (p, shown = p) => contents(fileAt(p, shown)),
    readText: (p) => contents(lookup(p, p, 'open')).toString('utf8'),
    readdir(p, shown = p) {
      const node = lookup(p, shown, 'scandir');
      if (node.kind !== DIRECTORY) throw systemError('ENOTDIR', 'scandir', shown);
      return listingOf(p);
    },
    // Every entry below `p`, as node's recursive readdir lists them: a folder's own
    // entries first, then those of its folders, in the order they were listed.
    readdirRecursive(p, shown = p) {
      const result = [];
      const pending = [''];
      while (pending.length > 0) {
        const relative = pending.shift();
        const dir = relative === '' ? p : `${p}/${relative}`;
        for (const entry of this.readdir(dir, relative === '' ? shown : dir)) {
          const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
          result.push({ ...entry, name, parent: relative === '' ? shown : path.join(shown, relative) });
          if (entry.isDirectory && !entry.isSymbolicLink) pending.push(name); // as node: links are not followed
        }
      }
      return result;
    },
  };

  // fs.Stats, or with `bigint` node's BigIntStats (whose class node does not export:
  // its prototype is taken from a real stat, once).
  function statsOf(node, bigint = false) {
    const isDirectory = node.kind === DIRECTORY;
    const size = isDirectory ? 0 : node.size;
    const { S_IFDIR, S_IFREG, S_IFLNK } = fs.constants;
    const epoch = 0; // no timestamps in the archive: same bytes, same stats
    const fields = {
      dev: 0,
      mode: isDirectory ? S_IFDIR | 0o755 : node.kind === LINK ? S_IFLNK | 0o777 : S_IFREG | node.mode,
      nlink: 1,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      rdev: 0,
      blksize: 4096,
      ino: node.ino,
      size,
      blocks: Math.ceil(size / 512),
      atimeMs: epoch, mtimeMs: epoch, ctimeMs: epoch, birthtimeMs: epoch,
    };
    const dates = { atime: new Date(epoch), mtime: new Date(epoch), ctime: new Date(epoch), birthtime: new Date(epoch) };
    if (!bigint) return Object.assign(Object.create(fs.Stats.prototype), fields, dates);
    bigIntStatsPrototype ??= Object.getPrototypeOf(fs.statSync('/', { bigint: true }));
    const big = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, BigInt(value)]));
    const nanoseconds = { atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: 0n };
    return Object.assign(Object.create(bigIntStatsPrototype), big, nanoseconds, dates);
  }
}

// 'a/b/c' -> 'a/b', 'a' -> '' (archive paths are normalized: plain slicing is enough).
function parentKey(key) {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash);
}

function isVirtualPath(p) {
  return p === VIRTUAL_ROOT || p.startsWith(`${VIRTUAL_ROOT}/`);
}

// A path argument as node would take it (string, Buffer, file: URL), or null.
function pathString(p) {
  if (typeof p === 'string') return p;
  if (p instanceof Uint8Array) return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
  if (p !== null && typeof p === 'object' && typeof p.href === 'string' && p.protocol === 'file:') {
    try {
      return url.fileURLToPath(p);
    } catch {
      return null; // the original function reports the bad URL
    }
  }
  return null;
}

// { path, shown } when the argument names something under the virtual root, else null.
// A relative path is under it when the working directory is (installWorkingDirectory).
function virtualTarget(p) {
  const shown = pathString(p);
  if (shown === null) return null;
  if (!shown.startsWith(VIRTUAL_ROOT) && (virtualWorkingDirectory === null || shown.startsWith('/'))) return null; // the fast path for real files
  const resolved = path.resolve(shown);
  return isVirtualPath(resolved) ? { path: resolved, shown } : null;
}

// process.chdir() into a bundled folder (`process.chdir(__dirname)`, common in servers
// and CLIs): the kernel cannot enter it, so the working directory becomes virtual.
// process.cwd() shows it, path.resolve() and relative fs paths start from it, and
// require() from the working directory (-e, the REPL) looks there. The real working
// directory stays where it was: child processes start there unless given `cwd`, and
// process.chdir() to a real folder leaves the virtual one.
function installWorkingDirectory(vfs) {
  const realCwd = process.cwd;
  replace(process, 'chdir', (original) => function chdir(directory) {
    if (typeof directory !== 'string') return Reflect.apply(original, this, arguments); // node's error
    const target = path.resolve(directory);
    if (!isVirtualPath(target)) {
      Reflect.apply(original, this, [target]);
      virtualWorkingDirectory = null;
      return undefined;
    }
    const node = vfs.find(target);
    if (node?.kind !== DIRECTORY) {
      // node's message names both: "ENOENT: no such file or directory, chdir '/cwd' -> 'x'"
      const error = systemError(node === undefined ? 'ENOENT' : 'ENOTDIR', 'chdir', process.cwd(), directory);
      throw hideBootstrapFrames(error, chdir);
    }
    virtualWorkingDirectory = target;
    return undefined;
  });
  replace(process, 'cwd', () => function cwd() {
    return virtualWorkingDirectory ?? Reflect.apply(realCwd, process, []);
  });
}

// Errors shaped like libuv's through node: "ENOENT: no such file or directory, open '/x'".
function systemError(code, syscall, filePath, dest) {
  const errno = -os.constants.errno[code];
  systemErrorMap ??= util.getSystemErrorMap();
  const description = systemErrorMap.get(errno)?.[1] ?? code;
  let message = `${code}: ${description}, ${syscall}`;
  if (filePath !== undefined) message += ` '${filePath}'`;
  if (dest !== undefined) message += ` -> '${dest}'`;
  const error = new Error(message);
  Object.assign(error, { errno, syscall, code });
  if (filePath !== undefined) error.path = filePath;
  if (dest !== undefined) error.dest = dest;
  return error;
}

// Errors shaped like node's own: the stack reads "TypeError [CODE]: message".
function nodeError(Base, code, message) {
  const error = new Base(message);
  error.name = `${Base.name} [${code}]`;
  error.stack; // eslint-disable-line no-unused-expressions -- formats the stack with that name
  delete error.name;
  error.code = code;
  return error;
}

// MARK: - fs patches

// Every patched function keeps the original's behaviour for real paths and answers
// virtual ones from `vfs`. One implementation per operation; `install` wraps it in the
// flavours node offers: fs.xSync, fs.x(…, callback), fs.promises.x.
function patchFs(vfs) {
  const VIRTUAL_FD_BASE = 0x60000000; // far above real fds (Linux caps them at fs.nr_open, 2^20 by default)
  const openFiles = new Map();
  let nextFd = VIRTUAL_FD_BASE;
  const writeRealFile = fs.writeFileSync; // copyFile out of the archive, before the patch

  // Which arguments make a call ours; null sends it to the original function.
  const firstPath = (args) => virtualTarget(args[0]);
  // A virtual fd, or a FileHandle of fs.promises.open on a bundled file (bundledFileHandle).
  const BUNDLED_FD = Symbol('bundle:fd');
  const virtualFd = (args) => openFiles.get(args[0]?.[BUNDLED_FD] ?? args[0]) ?? null;
  const pathOrFd = (args) => firstPath(args) ?? virtualFd(args);
  const bothPaths = (args) => ({
    source: virtualTarget(args[0]),
    dest: virtualTarget(args[1]),
    shown: [pathString(args[0]), pathString(args[1])],
  });
  const eitherPath = (args) => {
    const paths = bothPaths(args);
    return paths.source || paths.dest ? paths : null;
  };
  const secondPath = (args) => (virtualTarget(args[1]) ? bothPaths(args) : null); // symlink(target, path)
  // A change to a bundled path fails as on a read-only mount (vfs.changeError).
  const refused = (syscall, needs) => (target) => {
    throw vfs.changeError(target.path, target.shown, syscall, needs);
  };
  // Two paths: within the bundle as above; between the bundle and the disk, EXDEV, as
  // between two mounts (rename, link).
  const refusedTwoPaths = (syscall, needs) => ({ source, dest, shown }) => {
    if (source === null || dest === null) throw systemError('EXDEV', syscall, shown[0], shown[1]);
    if (needs === 'new') {
      vfs.lookup(source.path, source.shown, syscall); // link: the source must exist
    }
    throw systemError(vfs.changeError(dest.path, dest.shown, syscall, needs).code, syscall, shown[0], shown[1]);
  };

  const operations = {
    readFile(target, [, options]) {
      const { encoding, flag = 'r' } = typeof options === 'string' ? { encoding: options } : options ?? {};
      if (isWriteFlag(flag) && target.fd === undefined) throw vfs.changeError(target.path, target.shown, 'open', 'create');
      if (isWriteFlag(flag)) throw systemError('EBADF', 'read');
      // On an fd, readFile reads from where the fd is, like read(2).
      const file = target.fd === undefined ? vfs.fileAt(target.path, target.shown) : target.node;
      if (file.kind !== FILE) throw systemError('EISDIR', 'read');
      const start = target.fd === undefined ? 0 : Math.min(target.position, file.size);
      if (target.fd !== undefined) target.position = Math.max(target.position, file.size);
      if (!encoding || encoding === 'buffer') return vfs.copyOut(file, start);
      // Decoding copies: the archive's bytes can go once the text is made.
      const text = vfs.slice(file, start, file.size).toString(encoding);
      vfs.giveBack(file, start);
      if (target.fd === undefined && app.codeCaches.has(target.path)) sourcesRead.set(target.path, text);
      return text;
    },
    stat: statAs('stat'),
    lstat(target, args, flavour) {
      const link = vfs.linkAt(target.path);
      if (link === undefined) return statAs('lstat')(target, args, flavour);
      return vfs.statsOf({ kind: LINK, size: Buffer.byteLength(link), ino: 0 }, args[1]?.bigint === true);
    },
    readdir(target, [, options]) {
      const { encoding, withFileTypes, recursive } = typeof options === 'string' ? { encoding: options } : options ?? {};
      const entries = recursive ? vfs.readdirRecursive(target.path, target.shown)
        : vfs.readdir(target.path, target.shown).map((entry) => ({ ...entry, parent: target.shown }));
      return entries.map(({ name, isDirectory, isSymbolicLink, parent }) => {
        const shownName = encoding === 'buffer' ? Buffer.from(name) : name;
        if (!withFileTypes) return shownName;
        const type = isSymbolicLink ? fs.constants.UV_DIRENT_LINK
          : isDirectory ? fs.constants.UV_DIRENT_DIR : fs.constants.UV_DIRENT_FILE;
        const direntName = recursive ? path.basename(name) : name;
        return new fs.Dirent(encoding === 'buffer' ? Buffer.from(direntName) : direntName, type, parent, parent);
      });
    },
    // No symlinks in the archive: the real path is the normalized path.
    realpath: (target, [, options]) => realpath(target, options, 'lstat'),
    realpathNative: (target, [, options]) => realpath(target, options, 'realpath'),
    readlink(target) {
      const link = vfs.linkAt(target.path);
      if (link !== undefined) return link;
      vfs.lookup(target.path, target.shown, 'readlink');
      throw systemError('EINVAL', 'readlink', target.shown); // not a symlink
    },
    access(target, [, mode = fs.constants.F_OK]) {
      const node = vfs.lookup(target.path, target.shown, 'access');
      if (mode & fs.constants.W_OK) throw systemError('EROFS', 'access', target.shown);
      const executable = node.kind === DIRECTORY || (node.mode & 0o111) !== 0;
      if (mode & fs.constants.X_OK && !executable) throw systemError('EACCES', 'access', target.shown);
    },
    exists(target) {
      try {
        vfs.lookup(target.path, target.shown, 'access');
        return true;
      } catch {
        return false;
      }
    },
    open(target, [, flags = 'r']) {
      if (isWriteFlag(flags)) throw vfs.changeError(target.path, target.shown, 'open', 'create');
      const node = vfs.lookup(target.path, target.shown, 'open');
      const fd = nextFd++;
      openFiles.set(fd, { fd, node, position: 0 });
      return fd;
    },
    openHandle: (target, args) => bundledFileHandle(operations.open(target, args)),
    openAsBlob: (target) => new Blob([vfs.copyOut(vfs.fileAt(target.path, target.shown))]),
    read: (file, args) => readFromFile(file, readRequest(args.slice(1))),
    readv: (file, [, buffers, position]) => readIntoBuffers(file, buffers, position),
    fstat: (file, [, options]) => vfs.statsOf(file.node, options?.bigint === true),
    close(file) {
      openFiles.delete(file.fd);
    },
    // Writes through a descriptor opened read-only, as the kernel answers them.
    writeToFd: () => { throw systemError('EBADF', 'write'); },
    syncFd: () => undefined, // nothing is pending on a read-only file
    truncateFd: () => { throw systemError('EINVAL', 'ftruncate'); },
    changeFd: (syscall) => () => { throw systemError('EROFS', syscall); },
    mkdir(target, [, options]) {
      const recursive = typeof options === 'object' && options?.recursive;
      if (recursive && vfs.isDirectory(target.path)) return undefined; // `mkdir -p` of what exists
      if (recursive) {
        // node's recursive mkdir reports a folder it cannot make as missing (measured).
        const error = vfs.changeError(target.path, target.shown, 'mkdir', 'new');
        throw error.code === 'EROFS' || error.code === 'EEXIST' ? systemError('ENOENT', 'mkdir', target.shown) : error;
      }
      throw vfs.changeError(target.path, target.shown, 'mkdir', 'new');
    },
    copyFile({ source, dest, shown }, [, , mode = 0]) {
      if (dest !== null) throw systemError('EROFS', 'copyfile', shown[0], shown[1]);
      const flag = mode & fs.constants.COPYFILE_EXCL ? 'wx' : 'w';
      writeRealFile(shown[1], vfs.copyOut(vfs.fileAt(source.path, source.shown)), { flag });
    },
    cp: (paths, [, , options]) => copyTree(paths, options ?? {}),
    rm(target, [, options]) {
      const node = vfs.find(target.path);
      if (node === undefined) {
        if (options?.force) return undefined;
        throw systemError('ENOENT', 'lstat', target.shown);
      }
      if (node.kind === DIRECTORY && !options?.recursive) {
        throw nodeError(Error, 'ERR_FS_EISDIR', `Path is a directory: rm returned EISDIR (is a directory) ${target.shown}`);
      }
      throw systemError('EROFS', node.kind === DIRECTORY ? 'rmdir' : 'unlink', target.shown);
    },
    opendir(target) {
      if (vfs.lookup(target.path, target.shown, 'opendir').kind !== DIRECTORY) {
        throw systemError('ENOTDIR', 'opendir', target.shown);
      }
      return bundledDir(target.shown, operations.readdir(target, [undefined, { withFileTypes: true }]));
    },
    // Bundled files never change: a watcher that is never told of a change.
    watch: () => quietWatcher(),
    watchFile: () => quietWatcher(),
    unwatchFile: () => undefined,
    statfs(target) {
      vfs.lookup(target.path, target.shown, 'statfs');
      throw nodeError(Error, 'ERR_BUNDLE_UNSUPPORTED', `fs.statfs is not available for the bundled ${target.shown}`);
    },
  };

  // An FSWatcher or StatWatcher that never emits.
  function quietWatcher() {
    return Object.assign(new (internalRequire('events'))(), { close() {}, ref() { return this; }, unref() { return this; } });
  }

  // Only statSync and lstatSync know throwIfNoEntry.
  function statAs(syscall) {
    return (target, [, options], flavour) => {
      if (flavour === 'sync' && options?.throwIfNoEntry === false && !vfs.find(target.path)) return undefined;
      return vfs.stat(target.path, target.shown, syscall, options?.bigint === true);
    };
  }

  function realpath(target, options, syscall) {
    vfs.lookup(target.path, target.shown, syscall);
    const real = vfs.realpath(target.path);
    const encoding = typeof options === 'string' ? options : options?.encoding;
    return encoding === 'buffer' ? Buffer.from(real) : real;
  }

  function readFromFile(file, { buffer, offset, length, position }) {
    if (file.node.kind !== FILE) throw systemError('EISDIR', 'read');
    const sequential = position === null || position === undefined || position === -1;
    const start = sequential ? file.position : Number(position);
    const count = Math.max(0, Math.min(length, file.node.size - start));
    if (count === 0) return 0;
    new Uint8Array(buffer.buffer, buffer.byteOffset + offset, count).set(vfs.slice(file.node, start, start + count));
    vfs.giveBack(file.node, start, start + count);
    if (sequential) file.position += count;
    return count;
  }

  // readv(fd, buffers[, position]): fills the buffers in turn, like readv(2).
  function readIntoBuffers(file, buffers, position) {
    let total = 0;
    let at = typeof position === 'number' ? position : null;
    for (const buffer of buffers) {
      const count = readFromFile(file, { buffer, offset: 0, length: buffer.byteLength, position: at });
      total += count;
      if (at !== null) at += count;
      if (count < buffer.byteLength) break;
    }
    return total;
  }

  // fs.cp out of the bundle: files copied, folders made, as node's cp does.
  function copyTree({ source, dest, shown }, options) {
    if (dest !== null) throw systemError('EROFS', 'copyfile', shown[0], shown[1]);
    const walk = (from, to, shownFrom) => {
      const node = vfs.lookup(from, shownFrom, 'lstat');
      if (typeof options.filter === 'function' && !options.filter(from, to)) return;
      if (node.kind === FILE) {
        const exists = fs.existsSync(to);
        if (exists && options.errorOnExist && options.force === false) {
          throw nodeError(Error, 'ERR_FS_CP_EEXIST', `Target already exists: cp returned EEXIST (${to} already exists)`);
        }
        if (!exists || options.force !== false) writeRealFile(to, vfs.copyOut(node), { mode: node.mode });
        return;
      }
      if (!options.recursive) {
        throw nodeError(Error, 'ERR_FS_EISDIR', `Recursive option is required to copy a directory: cp returned EISDIR (${from} is a directory (not copied)) ${from}`);
      }
      fs.mkdirSync(to, { recursive: true });
      for (const entry of vfs.readdir(from, shownFrom)) walk(`${from}/${entry.name}`, path.join(to, entry.name), `${from}/${entry.name}`);
    };
    walk(source.path, path.resolve(shown[1]), source.shown);
  }

  // What fs.opendir gives: entries one at a time, then null; closed once.
  function bundledDir(shownPath, entries) {
    let closed = false;
    const next = () => {
      if (closed) throw nodeError(Error, 'ERR_DIR_CLOSED', 'Directory handle was closed');
      return entries.shift() ?? null;
    };
    const close = () => {
      if (closed) throw nodeError(Error, 'ERR_DIR_CLOSED', 'Directory handle was closed');
      closed = true;
    };
    const later = (work, callback) => {
      if (typeof callback !== 'function') return Promise.resolve().then(work);
      process.nextTick(() => {
        let result;
        try {
          result = work();
        } catch (error) {
          callback(error);
          return;
        }
        callback(null, result);
      });
      return undefined;
    };
    return {
      path: shownPath,
      readSync: next,
      read: (callback) => later(next, callback),
      closeSync: close,
      close: (callback) => later(close, callback),
      async* [Symbol.asyncIterator]() {
        try {
          for (let entry = next(); entry !== null; entry = next()) yield entry;
        } finally {
          if (!closed) close();
        }
      },
    };
  }

  // What fs.promises.open gives for a bundled file: node's FileHandle interface over a
  // virtual fd (reads, stat, streams, lines; writes fail as on a read-only descriptor).
  function bundledFileHandle(fd) {
    const EventEmitter = internalRequire('events');
    const handle = new EventEmitter();
    const file = () => {
      const open = openFiles.get(fd);
      if (open === undefined) throw systemError('EBADF', 'read');
      return open;
    };
    const refuse = (syscall, code = 'EROFS') => async () => { file(); throw systemError(code, syscall); };
    return Object.assign(handle, {
      [BUNDLED_FD]: fd,
      get fd() { return openFiles.has(fd) ? fd : -1; },
      async read(buffer, offset, length, position) {
        const request = readRequest([buffer, offset, length, position]);
        return { bytesRead: readFromFile(file(), request), buffer: request.buffer };
      },
      async readv(buffers, position) {
        return { bytesRead: readIntoBuffers(file(), buffers, position), buffers };
      },
      async readFile(options) {
        return operations.readFile(file(), [undefined, options]);
      },
      async stat(options) {
        return vfs.statsOf(file().node, options?.bigint === true);
      },
      createReadStream(options) {
        return fs.createReadStream(null, { ...options, fd });
      },
      readLines(options) {
        return internalRequire('readline').createInterface({ input: handle.createReadStream(options), crlfDelay: Infinity });
      },
      async close() {
        if (!openFiles.delete(fd)) return;
        handle.emit('close');
      },
      async [Symbol.asyncDispose ?? Symbol('asyncDispose')]() {
        return handle.close();
      },
      sync: async () => { file(); },
      datasync: async () => { file(); },
      write: refuse('write', 'EBADF'),
      writev: refuse('write', 'EBADF'),
      writeFile: refuse('write', 'EBADF'),
      appendFile: refuse('write', 'EBADF'),
      truncate: refuse('ftruncate', 'EINVAL'),
      chmod: refuse('fchmod'),
      chown: refuse('fchown'),
      utimes: refuse('futime'),
    });
  }

  const all = ['sync', 'callback', 'promise'];
  const plain = ['sync', 'callback'];
  const table = [
    // name, which arguments decide, implementation, flavours
    ['readFile', pathOrFd, operations.readFile, all],
    ['stat', firstPath, operations.stat, all],
    ['lstat', firstPath, operations.lstat, all],
    ['readdir', firstPath, operations.readdir, all],
    ['realpath', firstPath, operations.realpath, plain],
    ['realpath', firstPath, operations.realpathNative, ['promise']],
    ['readlink', firstPath, operations.readlink, all],
    ['access', firstPath, operations.access, all],
    ['open', firstPath, operations.open, plain],
    ['open', firstPath, operations.openHandle, ['promise']],
    ['opendir', firstPath, operations.opendir, all],
    ['fstat', virtualFd, operations.fstat, plain],
    ['readv', virtualFd, operations.readv, ['sync']],
    ['close', virtualFd, operations.close, plain],
    ['write', virtualFd, operations.writeToFd, plain],
    ['writev', virtualFd, operations.writeToFd, plain],
    ['fsync', virtualFd, operations.syncFd, plain],
    ['fdatasync', virtualFd, operations.syncFd, plain],
    ['ftruncate', virtualFd, operations.truncateFd, plain],
    ['fchmod', virtualFd, operations.changeFd('fchmod'), plain],
    ['fchown', virtualFd, operations.changeFd('fchown'), plain],
    ['futimes', virtualFd, operations.changeFd('futime'), plain],
    ['mkdir', firstPath, operations.mkdir, all],
    ['copyFile', eitherPath, operations.copyFile, all],
    ['cp', eitherPath, operations.cp, all],
    ['rm', firstPath, operations.rm, all],
    ['statfs', firstPath, operations.statfs, all],
    ['rename', eitherPath, refusedTwoPaths('rename', 'parent'), all],
    ['link', eitherPath, refusedTwoPaths('link', 'new'), all],
    ['symlink', secondPath, ({ dest, shown }) => {
      throw systemError(vfs.changeError(dest.path, dest.shown, 'symlink', 'new').code, 'symlink', shown[0], shown[1]);
    }, all],
    ['mkdtemp', firstPath, (target) => {
      // node shows the template it asked the kernel for.
      throw vfs.changeError(`${target.path}XXXXXX`, `${target.shown}XXXXXX`, 'mkdtemp', 'parent');
    }, all],
    ...[['writeFile', 'open', 'create'], ['appendFile', 'open', 'create'], ['truncate', 'open', 'write'],
      ['rmdir', 'rmdir', 'parent'], ['unlink', 'unlink', 'parent'], ['chmod', 'chmod', 'existing'],
      ['lchmod', 'chmod', 'existing'], ['chown', 'chown', 'existing'], ['lchown', 'lchown', 'existing'],
      ['utimes', 'utime', 'existing'], ['lutimes', 'lutime', 'existing']]
      .map(([name, syscall, needs]) => [name, firstPath, refused(syscall, needs), all]),
  ];
  const promiseTable = [];
  for (const [name, select, implementation, flavours] of table) {
    for (const flavour of flavours) {
      if (flavour === 'promise') promiseTable.push([name, select, implementation]);
      else install(fs, flavour === 'sync' ? `${name}Sync` : name, flavour, select, implementation);
    }
  }
  // fs.promises costs ~6 ms to load, which plain node pays only when the app asks for
  // it: patched on first access (fs.promises, or 'fs/promises' through
  // adaptBuiltinsOnFirstUse; both are the same object).
  let promisesPatched = false;
  const patchPromises = () => {
    if (promisesPatched) return;
    promisesPatched = true;
    for (const [name, select, implementation] of promiseTable) install(fs.promises, name, 'promise', select, implementation);
    replace(fs.promises, 'watch', (original) => function watch(filename, options) {
      if (virtualTarget(filename) === null) return Reflect.apply(original, this, arguments);
      const signal = options?.signal;
      return {
        [Symbol.asyncIterator]() { return this; },
        next: () => new Promise((resolve, reject) => {
          if (signal?.aborted) reject(signal.reason);
          signal?.addEventListener('abort', () => reject(nodeError(Error, 'ABORT_ERR', 'The operation was aborted')), { once: true });
        }),
        return: async () => ({ done: true, value: undefined }),
      };
    });
  };
  const promisesProperty = Object.getOwnPropertyDescriptor(fs, 'promises');
  if (typeof promisesProperty?.get === 'function' && promisesProperty.configurable) {
    Object.defineProperty(fs, 'promises', {
      configurable: true,
      enumerable: promisesProperty.enumerable,
      get() {
        const promises = Reflect.apply(promisesProperty.get, this, []);
        patchPromises();
        return promises;
      },
    });
  } else {
    patchPromises();
  }
  install(fs.realpathSync, 'native', 'sync', firstPath, operations.realpathNative);
  install(fs.realpath, 'native', 'callback', firstPath, operations.realpathNative);
  install(fs, 'existsSync', 'sync', firstPath, operations.exists);
  install(fs, 'openAsBlob', 'promise', firstPath, operations.openAsBlob); // node 19.8 on
  // Watchers take a listener, not a callback: replaced as they are.
  for (const name of ['watch', 'watchFile', 'unwatchFile']) {
    replace(fs, name, (original) => function watcher(...args) {
      return virtualTarget(args[0]) === null ? Reflect.apply(original, this, args) : operations[name]();
    });
  }
  install(fs, 'readSync', 'sync', virtualFd, operations.read);
  // fs.exists hands its callback a boolean and no error.
  replace(fs, 'exists', (original) => function exists(p, callback) {
    const target = firstPath([p]);
    if (target === null) return Reflect.apply(original, this, arguments);
    process.nextTick(callback, operations.exists(target));
  });
  // fs.read hands its callback (error, bytesRead, buffer).
  replace(fs, 'read', (original) => function read(fd, ...args) {
    const file = virtualFd([fd]);
    if (file === null) return Reflect.apply(original, this, arguments);
    const callback = args.pop();
    if (typeof callback !== 'function') throw invalidCallback(callback);
    const request = readRequest(args);
    let error = null;
    let bytesRead;
    try {
      bytesRead = readFromFile(file, request);
    } catch (err) {
      error = hideBootstrapFrames(err, read);
    }
    process.nextTick(callback, error, bytesRead, request.buffer);
  });
  // fs.readv hands its callback (error, bytesRead, buffers).
  replace(fs, 'readv', (original) => function readv(fd, buffers, ...rest) {
    const file = virtualFd([fd]);
    if (file === null) return Reflect.apply(original, this, arguments);
    const callback = rest.pop();
    if (typeof callback !== 'function') throw invalidCallback(callback);
    let error = null;
    let bytesRead;
    try {
      bytesRead = readIntoBuffers(file, buffers, rest[0]);
    } catch (err) {
      error = hideBootstrapFrames(err, readv);
    }
    process.nextTick(callback, error, bytesRead, buffers);
  });
  function install(holder, key, flavour, select, implementation) {
    const makeWrapper = { sync: syncWrapper, callback: callbackWrapper, promise: promiseWrapper }[flavour];
    replace(holder, key, (original) => makeWrapper(original, select, implementation, key));
  }
}

// Swaps holder[key] for a wrapper around it, keeping the original's properties
// (realpathSync.native, util.promisify's custom hooks).
function replace(holder, key, makeWrapper) {
  const original = holder[key];
  if (typeof original !== 'function') return; // not in this node version
  const wrapped = makeWrapper(original);
  for (const property of Reflect.ownKeys(original)) {
    if (property !== 'length' && property !== 'prototype') {
      Object.defineProperty(wrapped, property, Object.getOwnPropertyDescriptor(original, property));
    }
  }
  holder[key] = wrapped;
}

function syncWrapper(original, select, implementation) {
  return function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    try {
      return implementation(target, args, 'sync');
    } catch (err) {
      throw hideBootstrapFrames(err, patched);
    }
  };
}

function callbackWrapper(original, select, implementation, name) {
  return function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    if (callback === undefined && name !== 'close') { // only fs.close may go without
      throw invalidCallback(args[args.length - 1]);
    }
    let error = null;
    let result;
    try {
      result = implementation(target, args, 'callback');
    } catch (err) {
      error = hideBootstrapFrames(err, patched);
    }
    if (callback) process.nextTick(callback, error, result);
  };
}

function promiseWrapper(original, select, implementation) {
  return async function patched(...args) {
    const target = select(args);
    if (target === null) return Reflect.apply(original, this, args);
    try {
      return implementation(target, args, 'promise');
    } catch (err) {
      throw hideBootstrapFrames(err, patched);
    }
  };
}

// The app should see its own call as the top frame, as with node's fs errors.
function hideBootstrapFrames(error, patchedFunction) {
  if (error instanceof Error) Error.captureStackTrace(error, patchedFunction);
  return error;
}

function invalidCallback(value) {
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "cb" argument must be of type function. Received ${util.inspect(value)}`);
}

function isWriteFlag(flags) {
  if (typeof flags === 'number') {
    const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
    return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) !== 0;
  }
  return /[wa+]/.test(String(flags));
}

// fs.read/readSync arguments after the fd: (buffer, offset, length, position),
// (buffer, { offset, length, position }), ({ buffer, offset, length, position }) or ().
function readRequest([buffer, offset, length, position]) {
  if (buffer !== null && typeof buffer === 'object' && !ArrayBuffer.isView(buffer)) {
    ({ buffer, offset, length, position } = buffer);
  } else if (offset !== null && typeof offset === 'object') {
    ({ offset, length, position } = offset);
  }
  buffer ??= Buffer.alloc(16384);
  if (!ArrayBuffer.isView(buffer)) {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "buffer" argument must be an instance of ' +
      `Buffer, TypedArray, or DataView. Received ${util.inspect(buffer)}`);
  }
  offset = Number(offset ?? 0);
  length = Number(length ?? buffer.byteLength - offset);
  if (offset < 0 || length < 0 || offset + length > buffer.byteLength) {
    throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', 'The value of "length" is out of range.');
  }
  return { buffer, offset, length, position };
}

// MARK: - Module loading

function installModuleLoader(vfs) {
  const resolver = createResolver(vfs);
  installBundledLookupPaths();
  const originalResolveFilename = Module._resolveFilename;
  Module._resolveFilename = function _resolveFilename(request, parent, isMain, options) {
    if (!involvesVirtualRoot(request, parent, options)) {
      return Reflect.apply(originalResolveFilename, this, arguments);
    }
    return resolver.resolveFilename(request, parent, isMain, options);
  };

  const originalLoadJs = Module._extensions['.js'];
  Module._extensions['.js'] = function loadJs(module, filename) {
    // node checks "type" with its own package.json reader, which cannot see the archive.
    if (isVirtualPath(filename) && filename.endsWith('.js')) {
      const scope = resolver.readPackageScope(filename);
      if (scope?.data.type === 'module') throw requireEsmError(module, filename, scope, vfs);
    }
    return Reflect.apply(originalLoadJs, this, arguments);
  };

  const originalLoadNative = Module._extensions['.node'];
  Module._extensions['.node'] = function loadNative(module, filename) {
    if (isVirtualPath(filename)) return loadNativeAddon(module, filename);
    return Reflect.apply(originalLoadNative, this, arguments);
  };
  return resolver;
}

// node's node_modules folders of a directory, for one under the virtual root: those
// up to the root, never a real folder above it (see the resolver's lookupPaths).
function installBundledLookupPaths() {
  replace(Module, '_nodeModulePaths', (original) => function _nodeModulePaths(from) {
    const resolved = typeof from === 'string' ? path.resolve(from) : from;
    if (typeof resolved !== 'string' || !isVirtualPath(resolved)) return Reflect.apply(original, this, arguments);
    const paths = [];
    for (let dir = resolved; ; dir = path.dirname(dir)) {
      if (path.basename(dir) !== 'node_modules') paths.push(`${dir}/node_modules`);
      if (dir === VIRTUAL_ROOT) return paths;
    }
  });
}

function involvesVirtualRoot(request, parent, options) {
  if (typeof request !== 'string' || request.startsWith('node:') || Module.isBuiltin(request)) return false;
  if (path.isAbsolute(request) && isVirtualPath(path.resolve(request))) return true;
  if (typeof parent?.filename === 'string' && isVirtualPath(parent.filename)) return true;
  const paths = options?.paths;
  return Array.isArray(paths) && paths.some((p) => typeof p === 'string' && isVirtualPath(path.resolve(p)));
}

function runMain(mainPath) {
  // node's rule for its main: .mjs, or not .cjs in a "type": "module" scope.
  const isEsm = mainPath.endsWith('.mjs') ||
    (!mainPath.endsWith('.cjs') && resolver.readPackageScope(mainPath)?.data.type === 'module');
  if (isEsm) return esm.runMain(mainPath);
  Module._load(mainPath, null, true);
}

// MARK: - Code cache
//
// The archive holds V8 code caches of the app's CommonJS files, made at bundle time by
// the packed libnode (Templates/code-cache.js): a module with one is compiled from it
// instead of being parsed (TypeScript's 10 MB typescript.js: about 100 ms less per
// start, measured). node's loader offers no way to pass a cache, so for those files
// Module.prototype._compile is replaced by what node 18.20's does for a plain CommonJS
// file (wrapSafe's internalCompileFunction with the same parameters and dynamic
// import(), the source map check, makeRequireFunction, the call), with the cache.
// Only when the source is the very text fs read from the archive for that file:
// code changed on its way (a require hook that transpiles) compiles node's way. V8
// checks the cache against its version, its flags and the source length, and quietly
// compiles from source when they differ (e.g. under --max-old-space-size, which changes
// V8's flags); NODE_DEBUG=bundle reports which happened.
function installCodeCache() {
  if (app.codeCaches.size === 0) return;
  let node;
  try {
    const helpers = internalRequire('internal/modules/helpers');
    node = {
      internalCompileFunction: internalRequire('internal/vm').internalCompileFunction,
      makeRequireFunction: helpers.makeRequireFunction,
      normalizeReferrerURL: helpers.normalizeReferrerURL,
      maybeCacheSourceMap: internalRequire('internal/source_map/source_map_cache').maybeCacheSourceMap,
    };
  } catch {
    return; // internals not reachable: node compiles every file from source
  }
  if (!Object.values(node).every((part) => typeof part === 'function')) return;
  const debug = util.debuglog('bundle');
  const parameters = ['exports', 'require', 'module', '__filename', '__dirname'];
  const originalCompile = Module.prototype._compile;
  Module.prototype._compile = function _compile(content, filename) {
    const cache = app.codeCaches.get(filename);
    const source = sourcesRead.get(filename);
    sourcesRead.delete(filename);
    if (cache === undefined || source !== content) return Reflect.apply(originalCompile, this, arguments);
    const hostDefinedOptionId = Symbol(`cjs:${filename}`);
    const importModuleDynamically = async (specifier, _, importAttributes) => internalRequire('internal/process/esm_loader')
      .esmLoader.import(specifier, node.normalizeReferrerURL(filename), importAttributes);
    ensureArchive(cache.offset, cache.length);
    const compiled = node.internalCompileFunction(content, filename, 0, 0, Buffer.from(archive, cache.offset, cache.length),
      false, undefined, undefined, parameters, hostDefinedOptionId, importModuleDynamically);
    debug('code cache %s for %s', compiled.cachedDataRejected ? 'rejected' : 'used', filename);
    if (compiled.sourceMapURL) node.maybeCacheSourceMap(filename, content, this, false, undefined, compiled.sourceMapURL);
    const require = node.makeRequireFunction(this, undefined);
    return Reflect.apply(compiled.function, this.exports, [this.exports, require, this, filename, path.dirname(filename)]);
  };
}

// MARK: - Native addons
//
// dlopen needs a real file. The launcher registered every addon of the archive under
// its virtual path and answers dlopen of that path with a real copy (runtime cache or
// memfd), after loading the libraries the addons need (Sources/Launcher/NativeAddons.swift).
// So node's own loading applies, in every thread, and module.filename stays virtual.
function loadNativeAddon(module, filename) {
  return process.dlopen(module, filename);
}

// What node's loader throws when `require()` meets an ES module.
function requireEsmError(module, filename, scope, vfs) {
  const parentPath = parentOf(module)?.filename;
  const packageJsonPath = `${scope.dir}/package.json`;
  const basename = parentPath && path.basename(filename) === path.basename(parentPath)
    ? filename : path.basename(filename);
  let message = `require() of ES Module ${filename}${parentPath ? ` from ${parentPath}` : ''} not supported.\n`;
  // node parses the file to pick its advice; a module with import/export lines gets the short one.
  if (/^\s*(?:import\s*[\w{*'"]|export\s)/m.test(vfs.readText(filename))) {
    message += `Instead change the require of ${basename} in ${parentPath} to a dynamic import() ` +
      'which is available in all CommonJS modules.';
  } else {
    message += `${basename} is treated as an ES module file as it is a .js file whose nearest parent ` +
      'package.json contains "type": "module" which declares all .js files in that package scope as ' +
      `ES modules.\nInstead either rename ${basename} to end in .cjs, change the requiring code to use ` +
      'dynamic import() which is available in all CommonJS modules, or change "type": "module" to ' +
      `"type": "commonjs" in ${packageJsonPath} to treat all .js files as CommonJS (using .mjs for all ` +
      'ES modules instead).\n';
  }
  return nodeError(Error, 'ERR_REQUIRE_ESM', message);
}

// MARK: - ES modules
//
// Why this mechanism (DESIGN.md "ES modules on node 18.20" measured the three ways):
// node's own ESM loader accepts "customizations" in-thread (ModuleLoader's
// setCustomizations, which is how its hooks thread applies hooks). Reached through
// internalRequire it needs no flag and no extra thread, and leaves everything else to
// node: translators (so cjs-module-lexer reads CommonJS files through the patched fs
// and named imports work), module jobs, top-level await, import.meta,
// import.meta.resolve, stack traces with file:///proc/self/bundle/... URLs, error reporting. Only
// resolve and load of the archive's files are ours (createEsmHooks). Startup: node
// creates its loader anyway once a CommonJS module has loaded; connecting it costs
// about 1 ms more (measured: a small ESM app starts as fast, relative to plain node, as
// a CommonJS one; a CommonJS app as fast as before ES module support).
// The price is a dependency on 18.20 internals; the runtime pack pins the exact libnode,
// and every internal piece is checked before use. When one is missing, the same hooks
// go through the public module.register() (18.19+), which runs them on a hooks thread:
// slower (about +80 ms at startup, measured) but public.
// The other way measured, vm.SourceTextModule, needs a flag and builds a separate module
// graph; and `import()` cannot be used here at all: this script is compiled with
// ScriptCompiler::CompileFunction, whose code has no host-defined options for it.
// Also note: no CommonJS file may load before this script (none does in the launcher):
// node's loader would then exist already, holding the unpatched fs.readFileSync.

// Connects the hooks to node's ESM loader; returns what the rest of the bootstrap needs.
function installEsmLoader(vfs, resolver) {
  const hooks = createEsmHooks(vfs, resolver);
  let loaderModule = null;
  try {
    loaderModule = internalRequire('internal/process/esm_loader');
  } catch {
    // internals not reachable (plain `require`): the public way below
  }
  // node's loader, made now if not yet: node makes it anyway as soon as any CommonJS
  // module has loaded (Module.prototype.load caches exports in it).
  const loader = loaderModule?.esmLoader;
  const internals = loader ? inThreadInternals(loader) : null;
  let mode = 'none';
  if (internals) {
    loader.setCustomizations(inThreadCustomizations(hooks, internals));
    mode = 'in-thread';
  } else if (mayUseEsm(vfs) && registerHooks()) {
    // Without internals the hooks thread (~90 ms) starts only for apps that can reach
    // an ES module at all.
    mode = 'register';
  }

  return {
    // Workers get --expose-internals so that they can connect the same way.
    internalsReachable: internals !== null,
    runMain(mainPath) {
      const mainURL = url.pathToFileURL(mainPath).href;
      if (mode === 'in-thread') {
        // What node's runMainESM does; exit code 13 for an unsettled top-level await.
        internals.handleMainPromise(loaderModule.loadESM((esmLoader) =>
          esmLoader.import(mainURL, undefined, { __proto__: null })));
      } else {
        publicImport(mainURL); // a failure surfaces as an unhandled rejection: reported, exit code 1
      }
    },
  };
}

// Whether the app has an .mjs file, a "type": "module" package, or JavaScript that
// mentions import() or import.meta (then it may import even CommonJS through node's ESM loader).
function mayUseEsm(vfs) {
  return app.files.some(({ relative }) => {
    if (relative.endsWith('.mjs')) return true;
    if (relative === 'package.json' || relative.endsWith('/package.json')) {
      return /"type"\s*:\s*"module"/.test(vfs.readText(`${VIRTUAL_ROOT}/${relative}`));
    }
    if (!/\.c?js$/.test(relative)) return false;
    const bytes = vfs.readFile(`${VIRTUAL_ROOT}/${relative}`);
    return bytes.includes('import(') || bytes.includes('import (') || bytes.includes('import.meta');
  });
}

// The pieces of node 18.20's ESM loader the in-thread customizations use, or null.
function inThreadInternals(loader) {
  try {
    const parts = {
      defaultResolve: internalRequire('internal/modules/esm/resolve').defaultResolve,
      defaultLoad: internalRequire('internal/modules/esm/load').defaultLoad,
      initializeImportMeta: internalRequire('internal/modules/esm/initialize_import_meta').initializeImportMeta,
      getDefaultConditions: internalRequire('internal/modules/esm/utils').getDefaultConditions,
      handleMainPromise: internalRequire('internal/modules/run_main').handleMainPromise,
    };
    const complete = Object.values(parts).every((part) => typeof part === 'function') &&
      typeof loader.setCustomizations === 'function' && typeof loader.import === 'function';
    return complete ? parts : null;
  } catch {
    return null;
  }
}

// The interface ModuleLoader expects from customizations (see its setCustomizations),
// with node's default resolve and load as the "next" hooks, as in a hook chain.
function inThreadCustomizations(hooks, internals) {
  const { defaultResolve, defaultLoad, initializeImportMeta, getDefaultConditions } = internals;
  const resolveSync = (specifier, parentURL, importAttributes = { __proto__: null }) => hooks.resolve(`${specifier}`,
    { __proto__: null, conditions: getDefaultConditions(), importAttributes, parentURL }, defaultResolve);
  return {
    __proto__: null,
    allowImportMetaResolve: true,
    resolve: resolveSync, // the loader awaits the answer; import.meta.resolve needs it synchronous
    resolveSync,
    load: (loadURL, context) => hooks.load(loadURL, context, defaultLoad),
    importMetaInitialize: (meta, context, loader) => initializeImportMeta(meta, context, loader),
    forceLoadHooks() {},
    register() {
      throw new Error('bundle: module.register() is not supported inside a bundled app');
    },
  };
}

// The public fallback: the same hooks on node's hooks thread, fed the shared archive.
function registerHooks() {
  if (typeof Module.register !== 'function' || app.bootstrap === null) return false;
  // The hooks thread compiles this script with { role: 'hooks' }: archive index and resolver only.
  const source = `
  import { createRequire } from 'node:module';
  let hooks;
  export function initialize({ archive, bootstrap, virtualRoot }) {
    const require = createRequire('/');
    const source = require('buffer').Buffer.from(archive, bootstrap.offset, bootstrap.length).toString('utf8');
    const compiled = require('vm').compileFunction(source, ['process', 'internalRequire', 'archive'],
      { filename: 'bundle:bootstrap.js' });
    hooks = compiled(process, require, archive, { role: 'hooks', virtualRoot });
  }
  export const resolve = (specifier, context, nextResolve) => hooks.resolve(specifier, context, nextResolve);
  export const load = (url, context, nextLoad) => hooks.load(url, context, nextLoad);
  `;
  const hooksURL = `data:text/javascript,${encodeURIComponent(source)}`;
  Module.register(hooksURL, { parentURL: 'data:', data: { archive: sharedArchive(), bootstrap: app.bootstrap, virtualRoot: VIRTUAL_ROOT } });
  return true;
}

// import() for this script, which cannot use the keyword itself (see above): a function
// compiled by node's CommonJS loader, whose code does have an import() callback.
function publicImport(specifier) {
  const importer = new Module(`${VIRTUAL_ROOT}/[bundle import]`, null);
  importer.filename = importer.id;
  importer._compile('module.exports = (specifier) => import(specifier);', importer.filename);
  return importer.exports(specifier);
}

// resolve and load hooks in the shape of node's public module hooks, so that one
// implementation serves both connections. Only the archive's files are answered here.
function createEsmHooks(vfs, resolver) {
  const DEFAULT_CONDITIONS = ['node', 'import', 'node-addons'];
  return { resolve, load };

  function resolve(specifier, context, nextResolve) {
    const { parentURL } = context;
    if (!isOurs(specifier, parentURL)) return nextResolve(specifier, context);
    const parent = parentURL ?? url.pathToFileURL(`${process.cwd()}/`).href;
    const base = parent.startsWith('file:') ? url.fileURLToPath(parent) : parent;
    let resolved;
    try {
      resolved = resolver.resolveEsm(specifier, parent, base, new Set(context.conditions ?? DEFAULT_CONDITIONS));
    } catch (err) {
      if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
        addCommonJsHint(err, specifier, base);
      }
      throw err;
    }
    if (resolved === null) return nextResolve(specifier, context);
    return { url: resolved.href, shortCircuit: true };
  }

  function load(loadURL, context, nextLoad) {
    if (!isVirtualUrl(loadURL)) return nextLoad(loadURL, context);
    const filename = url.fileURLToPath(loadURL);
    const format = resolver.esmFormat(filename);
    // CommonJS is read by node's translator through the patched fs (cjs-module-lexer
    // included); the rest is handed over as text. node's default load still runs, for
    // its checks of import assertions.
    const source = format === 'commonjs' ? null : vfs.readText(filename);
    return nextLoad(loadURL, { ...context, format, source });
  }

  // Imports by an archive module, and imports naming an archive path from anywhere.
  function isOurs(specifier, parentURL) {
    if (typeof specifier !== 'string' || specifier.startsWith('node:') || Module.isBuiltin(specifier)) return false;
    if (isVirtualUrl(parentURL)) return true;
    try {
      const target = isRelativeOrAbsoluteSpecifier(specifier)
        ? new URL(specifier, parentURL ?? url.pathToFileURL(`${process.cwd()}/`))
        : specifier.startsWith('file:') ? new URL(specifier) : null;
      return target?.protocol === 'file:' && isVirtualPath(path.resolve(url.fileURLToPath(target)));
    } catch {
      return false;
    }
  }

  // node adds "Did you mean to import ./x.js?" when require() would have found the file
  // (resolving as it does: relative requests from the working directory).
  function addCommonJsHint(error, specifier, base) {
    let found;
    try {
      const probe = new Module(base, null);
      probe.paths = Module._nodeModulePaths(base);
      found = resolver.resolveFilename(specifier.startsWith('file://') ? url.fileURLToPath(specifier) : specifier,
        probe, false);
    } catch {
      return;
    }
    if (isRelativeOrAbsoluteSpecifier(specifier) && specifier[0] === '.') {
      found = path.relative(base, found);
      if (!found.startsWith('../')) found = `./${found}`;
    } else if (!isRelativeOrAbsoluteSpecifier(specifier) && !specifier.startsWith('file://')) {
      const index = found.indexOf(specifier.split('/')[0]);
      if (index !== -1) found = found.slice(index);
    }
    const hint = `Did you mean to import ${found}?`;
    const lines = error.stack.split('\n');
    error.stack = `${lines.shift()}\n${hint}\n${lines.join('\n')}`;
    error.message += `\n${hint}`;
  }
}

function isVirtualUrl(text) {
  return typeof text === 'string' && text.startsWith(`file://${VIRTUAL_ROOT}/`);
}

// node 18 calls JSON modules and its loader hooks experimental, on stderr, once per
// thread. A shipped program should not print that to its users: those few warnings are
// dropped, every other one goes through.
function quietLoaderWarnings() {
  const QUIET = /^(?:Importing JSON modules|Custom ESM Loaders|Import assertions|Use `importAttributes`)/;
  replace(process, 'emitWarning', (original) => function emitWarning(warning, type) {
    const message = typeof warning === 'string' ? warning : warning?.message;
    const kind = typeof type === 'string' ? type : type?.type ?? warning?.name;
    if (kind === 'ExperimentalWarning' && typeof message === 'string' && QUIET.test(message)) return undefined;
    return Reflect.apply(original, this, arguments);
  });
}

// The archive as a SharedArrayBuffer, to give to other threads without a copy. The
// launcher already passes one; an ArrayBuffer (older launchers) is copied once.
function sharedArchive() {
  if (sharedArchiveBuffer === null) {
    ensureArchive(0, archive.byteLength); // threads read it without asking
    if (archive instanceof SharedArrayBuffer) {
      sharedArchiveBuffer = archive;
    } else {
      sharedArchiveBuffer = new SharedArrayBuffer(archive.byteLength);
      new Uint8Array(sharedArchiveBuffer).set(new Uint8Array(archive));
    }
  }
  return sharedArchiveBuffer;
}

// MARK: - Builtins adapted on first use
//
// worker_threads and child_process get wrappers (below), fs/promises the patches of fs.
// Loading them costs about 6 ms each, which plain node does not pay at startup: they
// are adapted when the app first asks for them. Every way an app gets a builtin —
// require('x'), require('node:x'), import, import() — goes through node's
// BuiltinModule.prototype.compileForPublicLoader (18.20 internals), before the app
// sees the exports and before node makes their ES module view; the adaptation happens
// there. (Wrapping Module._load instead would leave a bootstrap frame under every
// module's code, one less frame of the app in its error stacks.) cluster takes fork()
// from child_process while it loads: asking for cluster adapts child_process first.
// Without those internals everything is adapted at startup.

function adaptBuiltinsOnFirstUse() {
  const adapters = new Map([
    ['fs/promises', () => fs.promises], // the getter patches it
    ['worker_threads', installWorkerSupport],
    ['child_process', installChildSupport],
    ['cluster', installChildSupport],
  ]);
  const done = new Set();
  const adapt = (id) => {
    const install = adapters.get(id);
    if (install === undefined || done.has(install)) return;
    done.add(install);
    install();
  };
  let BuiltinModule = null;
  try {
    ({ BuiltinModule } = internalRequire('internal/bootstrap/realm'));
  } catch {
    // internals not reachable
  }
  const proto = BuiltinModule?.prototype;
  if (typeof proto?.compileForPublicLoader !== 'function') {
    for (const id of adapters.keys()) adapt(id);
    return;
  }
  replace(proto, 'compileForPublicLoader', (original) => function compileForPublicLoader() {
    adapt(this.id);
    return Reflect.apply(original, this, arguments);
  });
}

// MARK: - Worker threads
//
// node starts a worker's environment itself, so this script does not run there by
// itself. `new Worker(file)` for a file under the virtual root (a path, or a file: URL)
// and `new Worker(code, { eval: true })` become an eval'd stub that compiles this script
// again (the archive's bootstrap entry) with { role: 'worker' }; it then runs the file
// or the code as node would. The archive reaches the worker through worker_threads'
// environment data, as the SharedArrayBuffer the launcher made: shared, never copied,
// and inherited by nested workers. The worker also gets --expose-internals, so that it
// can connect the in-thread ES module loader like the main thread; process.execArgv
// there shows what node would show. What a user could notice: inside such a worker,
// require('internal/...') names node's internal modules rather than a package named
// "internal". Workers of real files, and data: URL workers, are node's, unchanged.

function installWorkerSupport() {
  const workerThreads = internalRequire('worker_threads');
  const NodeWorker = workerThreads.Worker;
  class Worker extends NodeWorker {
    constructor(filename, options, ...rest) {
      const plan = planWorker(filename, options);
      if (plan === null) {
        super(filename, options, ...rest);
        return;
      }
      try {
        return Reflect.construct(NodeWorker, [plan.code, plan.options], new.target); // eslint-disable-line no-constructor-return
      } catch (error) {
        // An inherited option that a Worker refuses and isProcessWideOption does not
        // know: inherit node's way instead, without internals (the worker then uses the
        // public ES module fallback).
        if (error?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || plan.plainOptions === null) throw error;
        return Reflect.construct(NodeWorker, [plan.code, plan.plainOptions], new.target); // eslint-disable-line no-constructor-return
      }
    }
  }
  workerThreads.Worker = Worker;

  function planWorker(filename, options) {
    if (app.bootstrap === null || (options != null && typeof options !== 'object')) return null;
    const given = options ?? {};
    let start;
    if (given.eval) {
      if (typeof filename !== 'string') return null; // node's error
      start = { role: 'worker', code: filename };
    } else {
      const file = workerFile(filename);
      if (file === null) return null;
      start = { role: 'worker', filename: file };
    }
    if (given.execArgv !== undefined && !Array.isArray(given.execArgv)) return null; // node's error
    Object.assign(start, { virtualRoot: VIRTUAL_ROOT, appIdentity: launch.appIdentity });
    start.execArgv = (given.execArgv ?? process.execArgv).map(String);
    if (workerThreads.getEnvironmentData(WORKER_ENVIRONMENT_KEY) === undefined) {
      workerThreads.setEnvironmentData(WORKER_ENVIRONMENT_KEY, { archive: sharedArchive(), bootstrap: app.bootstrap });
    }
    const code = workerStub(start);
    const plainOptions = { ...given, eval: true };
    if (!esm.internalsReachable) return { code, options: plainOptions, plainOptions: null };
    // Inherited options that a Worker refuses are process-wide: they apply to it anyway.
    const inherited = given.execArgv ?? process.execArgv.filter((option) => !isProcessWideOption(option));
    const withInternals = { ...plainOptions, execArgv: [...inherited, '--expose-internals'] };
    return { code, options: withInternals, plainOptions: given.execArgv === undefined ? plainOptions : null };
  }
}

// A worker's file as node reads the argument: an absolute path, ./ or ../ from the
// working directory, or a file: URL. Only files under the virtual root are ours.
function workerFile(filename) {
  let file = null;
  if (typeof filename === 'string') {
    if (path.isAbsolute(filename) || /^\.\.?[\\/]/.test(filename)) file = path.resolve(filename);
  } else if (filename !== null && typeof filename === 'object' && filename.protocol === 'file:' &&
    typeof filename.href === 'string') {
    try {
      file = url.fileURLToPath(filename);
    } catch {
      return null; // node's error
    }
  }
  return file !== null && isVirtualPath(file) ? file : null;
}

function isProcessWideOption(option) {
  const name = String(option).split('=')[0].replace(/_/g, '-');
  return ['--max-old-space-size', '--max-semi-space-size', '--stack-size', '--stack-trace-limit', '--expose-gc',
    '--zero-fill-buffers', '--abort-on-uncaught-exception', '--title', '--disable-proto', '--jitless',
    '--use-openssl-ca', '--use-bundled-ca', '--openssl-legacy-provider', '--secure-heap', '--secure-heap-min'].includes(name);
}

function workerStub(start) {
  return `'use strict';
{
  const { archive, bootstrap } = require('worker_threads').getEnvironmentData(${JSON.stringify(WORKER_ENVIRONMENT_KEY)});
  const source = require('buffer').Buffer.from(archive, bootstrap.offset, bootstrap.length).toString('utf8');
  require('vm').compileFunction(source, ['process', 'internalRequire', 'archive'], { filename: 'bundle:bootstrap.js' })(
    process, require, archive, ${JSON.stringify(start)});
}
`;
}

// Inside the worker, after the bootstrap is installed: what node's worker would run.
function runWorker(start) {
  process.execArgv = start.execArgv;
  if (start.code !== undefined) {
    Object.defineProperty(process, '_eval', { __proto__: null, configurable: true, enumerable: true, value: start.code });
    let evalScript = null;
    try {
      ({ evalScript } = internalRequire('internal/process/execution'));
    } catch {
      // internals not reachable: vm below (import() in the code is then unavailable)
    }
    if (typeof evalScript === 'function') evalScript('[worker eval]', start.code);
    else internalRequire('vm').runInThisContext(start.code, { filename: '[worker eval]' });
    return;
  }
  delete process._eval;
  process.argv[1] = start.filename; // node: [execPath, filename, ...argv]
  runMain(resolveMain(start.filename));
}

// MARK: - Children of the app
//
// A child started with the app's own executable (fork, cluster, spawn/exec/execFile of
// process.execPath, a shell command naming it, `bash -c '<execPath> …'`) gets
// BUNDLE_STARTED_BY=<this app's identity> in its environment, whatever `env` the call
// passes; embed.cc then lets node parse that child's command line, and runAsNode runs
// what node would. The launcher removes the variable at every start, so it reaches
// only such children, never a program the app starts for other reasons (nor, through
// it, another start of the app). Which calls name the app: the file, an argument or
// the shell command contains process.execPath (false positives only give some other
// program a variable it does not read).

function installChildSupport() {
  const childProcess = internalRequire('child_process');
  // Where each function takes its options (after the file and an optional args array,
  // or after the command) and what it runs.
  const shapes = {
    spawn: 'file', spawnSync: 'file', execFile: 'file', execFileSync: 'file',
    exec: 'command', execSync: 'command', fork: 'module',
  };
  for (const [name, shape] of Object.entries(shapes)) {
    replace(childProcess, name, (original) => function startChild(...args) {
      return Reflect.apply(original, this, markedIfChildOfApp(shape, args));
    });
  }
}

function markedIfChildOfApp(shape, args) {
  const namesApp = (value) => typeof value === 'string' && value.includes(process.execPath);
  let at = 1;
  if (shape !== 'command' && Array.isArray(args[1])) at = 2;
  const given = args[at];
  const isOptions = given !== null && typeof given === 'object' && !Array.isArray(given);
  if (given != null && !isOptions && typeof given !== 'function') return args; // node's error
  const options = isOptions ? given : {};
  const list = Array.isArray(args[1]) ? args[1] : [];
  const ours = shape === 'module'
    ? options.execPath === undefined || namesApp(options.execPath)
    : namesApp(args[0]) || list.some(namesApp);
  if (!ours) return args;
  if (options.env != null && typeof options.env !== 'object') return args; // node's error
  const marked = { ...options, env: { ...(options.env ?? process.env), [STARTED_BY_ENVIRONMENT_KEY]: launch.appIdentity } };
  const result = [...args];
  if (isOptions || given === undefined || given === null) result[at] = marked;
  else result.splice(at, 0, marked); // (file, callback), (command, callback)
  return result;
}

// What `node [options] [script | -e code | -p code | -] [args]` runs, for a child of
// the app (embed.cc has let node parse the options). A script under the virtual root
// is the bundled module; any other path is a file on disk, resolved as node does from
// the working directory, and one found nowhere fails with node's own "Cannot find
// module" and exit code 1. Code comes from -e/-p, else from stdin, or a REPL on a
// terminal, as node's main would choose.
function runAsNode() {
  const { getOptionValue } = internalRequire('internal/options');
  for (const option of ['--check', '--test', '--watch']) {
    if (getOptionValue(option)) {
      process.stderr.write(`${process.execPath}: node's ${option} is not available in a bundled app\n`);
      process.exit(9); // node's exit code for an option it cannot use
    }
  }
  const print = getOptionValue('--print');
  if (getOptionValue('[has_eval_string]') && !getOptionValue('--interactive')) {
    evalAsNode('[eval]', getOptionValue('--eval'), print);
    return;
  }
  const script = process.argv[1];
  if (script !== undefined && script !== '-') {
    process.argv[1] = path.resolve(script);
    if (isVirtualPath(process.argv[1])) runMain(resolveMain(process.argv[1]));
    else Module.runMain(process.argv[1]);
    return;
  }
  if (getOptionValue('--interactive') || process.stdin.isTTY) {
    internalRequire('internal/repl').createInternalRepl(process.env, (error, repl) => {
      if (error) throw error;
      repl.on('exit', () => process.exit());
    });
    return;
  }
  internalRequire('internal/process/execution').readStdin((code) => {
    process._eval = code;
    evalAsNode('[stdin]', code, print);
  });
}

function evalAsNode(name, code, print) {
  const execution = internalRequire('internal/process/execution');
  if (internalRequire('internal/options').getOptionValue('--input-type') === 'module') {
    execution.evalModule(code, print);
    return;
  }
  // As node's eval: builtins as globals (`fs`, `path`, ...).
  internalRequire('internal/modules/helpers').addBuiltinLibsToObject(globalThis, '<eval>');
  execution.evalScript(name, code, false, print);
}

// MARK: - Resolver
//
// node's CommonJS resolution (the "require" algorithm in node's docs and the package
// exports/imports algorithm of its ESM docs) over the archive index. Lookup directories
// outside the virtual root go to node's own Module._findPath.

function createResolver(vfs) {
  const CONDITIONS = new Set(['require', 'node', 'node-addons']); // plus "default", always
  const packageCache = new Map();

  // As node without --preserve-symlinks: a module is known by its real path, and its
  // requires resolve from there (pnpm's packages find their dependencies beside it).
  function resolveFilename(request, parent, isMain, options) {
    const filename = resolveThroughLinks(request, parent, isMain, options);
    return isVirtualPath(filename) ? vfs.realpath(filename) : filename;
  }

  function resolveThroughLinks(request, parent, isMain, options) {
    const paths = lookupPaths(request, parent, options);
    const parentPath = parent?.filename;
    if (request[0] === '#' && parentPath) {
      const resolved = resolveImports(request, parentPath);
      if (resolved) return resolved;
    }
    const selfResolved = trySelf(parentPath, request);
    if (selfResolved) return selfResolved;
    const filename = findPath(request, paths, isMain);
    if (filename) return filename;
    throw moduleNotFound(request, parent);
  }

  // A bundled module looks for packages in the bundle only: not in node's global
  // folders (NODE_PATH, ~/.node_modules, <execPath>/../../lib/node, which for an output
  // in /tmp/x/ is a folder any user can create), nor in real folders above the virtual
  // root. Paths the app names itself (`paths` of require.resolve) are searched as given.
  function lookupPaths(request, parent, options) {
    if (!Array.isArray(options?.paths)) {
      const paths = Module._resolveLookupPaths(request, parent) ?? [];
      return isVirtualPath(parent?.filename ?? '') ? paths.filter(isVirtualPath) : paths;
    }
    if (/^\.\.?\//.test(request)) return options.paths;
    const paths = [];
    for (const start of options.paths) {
      const fakeParent = new Module('', null);
      fakeParent.paths = Module._nodeModulePaths(start);
      for (const dir of Module._resolveLookupPaths(request, fakeParent) ?? []) {
        if (!paths.includes(dir)) paths.push(dir);
      }
    }
    return paths;
  }

  function findPath(request, paths, isMain) {
    const absolute = path.isAbsolute(request);
    const trailingSlash = /(?:^|\/)\.{0,2}$/.test(request);
    const leavesDir = /^\.\.?(?:\/|$)/.test(request) && path.normalize(request).startsWith('..');
    for (const dir of absolute ? [''] : paths) {
      const basePath = path.resolve(dir, request);
      if (!isVirtualPath(basePath)) {
        const filename = Module._findPath(request, [dir], isMain);
        if (filename) return filename;
        continue;
      }
      if (!leavesDir && dir && !vfs.isDirectory(dir)) continue;
      if (!absolute) {
        const exported = resolveExports(dir, request);
        if (exported) return exported;
      }
      const filename = (!trailingSlash && (tryFile(basePath) || tryExtensions(basePath))) ||
        (vfs.isDirectory(basePath) && tryPackage(basePath, request));
      if (filename) return filename;
    }
    return false;
  }

  function tryFile(filePath) {
    return vfs.isFile(filePath) ? filePath : false;
  }

  function tryExtensions(basePath) {
    for (const extension of Object.keys(Module._extensions)) {
      const filename = tryFile(basePath + extension);
      if (filename) return filename;
    }
    return false;
  }

  function tryPackage(dir, request) {
    const main = readPackage(dir)?.main;
    if (typeof main !== 'string' || main === '') return tryExtensions(path.resolve(dir, 'index'));
    const filename = path.resolve(dir, main);
    const found = tryFile(filename) || tryExtensions(filename) || tryExtensions(path.resolve(filename, 'index'));
    if (found) return found;
    const index = tryExtensions(path.resolve(dir, 'index'));
    const jsonPath = path.resolve(dir, 'package.json');
    if (!index) {
      const error = new Error(`Cannot find module '${filename}'. ` +
        'Please verify that the package.json has a valid "main" entry');
      Object.assign(error, { code: 'MODULE_NOT_FOUND', path: jsonPath, requestPath: request });
      throw error;
    }
    process.emitWarning(`Invalid 'main' field in '${jsonPath}' of '${main}'. ` +
      'Please either fix that or report it to the module author', 'DeprecationWarning', 'DEP0128');
    return index;
  }

  function readPackage(dir) {
    if (packageCache.has(dir)) return packageCache.get(dir);
    const jsonPath = `${dir}/package.json`;
    let data = null;
    if (vfs.isFile(jsonPath)) {
      try {
        data = JSON.parse(vfs.readText(jsonPath));
      } catch (err) {
        err.path = jsonPath;
        err.message = `Error parsing ${jsonPath}: ${err.message}`;
        throw err;
      }
      if (data === null || typeof data !== 'object') data = null;
    }
    packageCache.set(dir, data);
    return data;
  }

  // The package.json that governs a file: the nearest one up, not leaving node_modules.
  function readPackageScope(filename) {
    for (let dir = path.dirname(filename); isVirtualPath(dir); dir = path.dirname(dir)) {
      if (dir.endsWith('/node_modules')) return null;
      const data = readPackage(dir);
      if (data) return { dir, data };
      if (dir === VIRTUAL_ROOT) return null;
    }
    return null;
  }

  // require('name/sub') where node_modules/name/package.json has "exports".
  function resolveExports(dir, request) {
    const name = packageName(request);
    if (name === null) return undefined;
    const pkgDir = path.resolve(dir, name);
    const data = readPackage(pkgDir);
    if (data?.exports == null) return undefined;
    const pkg = { dir: pkgDir, data };
    return finalize(resolvePackageExports(pkg, `.${request.slice(name.length)}`, undefined), pkg, undefined);
  }

  // A package requiring itself by its own name.
  function trySelf(parentPath, request) {
    if (!parentPath || !isVirtualPath(parentPath)) return false;
    const pkg = readPackageScope(parentPath);
    if (!pkg || pkg.data.exports == null || typeof pkg.data.name !== 'string') return false;
    const { name } = pkg.data;
    if (request !== name && !request.startsWith(`${name}/`)) return false;
    return finalize(resolvePackageExports(pkg, `.${request.slice(name.length)}`, parentPath), pkg, parentPath);
  }

  // require('#internal') through the "imports" of the parent's package.
  function resolveImports(request, parentPath) {
    const pkg = readPackageScope(parentPath);
    if (pkg?.data.imports == null) return undefined;
    if (request === '#' || request.startsWith('#/') || request.endsWith('/')) {
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${request}" is not a valid ` +
        `internal imports specifier name imported from ${parentPath}`);
    }
    const { imports } = pkg.data;
    const target = typeof imports === 'object' ? resolveMapping(request, imports, pkg, true, parentPath) : null;
    if (target == null) {
      throw nodeError(TypeError, 'ERR_PACKAGE_IMPORT_NOT_DEFINED', `Package import specifier "${request}" ` +
        `is not defined in package ${pkg.dir}/package.json imported from ${parentPath}`);
    }
    if (typeof target === 'string') return resolveFromPackage(target, pkg, request);
    return finalize(target, pkg, parentPath);
  }

  // An "imports" target naming another package: resolve it as if required from the package.
  function resolveFromPackage(request, pkg, originalRequest) {
    const fakeParent = new Module(`${pkg.dir}/package.json`, null);
    fakeParent.filename = fakeParent.id;
    fakeParent.paths = Module._nodeModulePaths(pkg.dir);
    try {
      return Module._resolveFilename(request, fakeParent, false);
    } catch (err) {
      if (err.code === 'MODULE_NOT_FOUND') throw esmNotFound(originalRequest);
      throw err;
    }
  }

  function resolvePackageExports(pkg, subpath, base, conditions = CONDITIONS) {
    let { exports } = pkg.data;
    if (isMainSugar(exports, pkg, base)) exports = { '.': exports };
    const target = resolveMapping(subpath, exports, pkg, false, base, conditions);
    if (target == null) {
      const message = subpath === '.'
        ? `No "exports" main defined in ${pkg.dir}/package.json`
        : `Package subpath '${subpath}' is not defined by "exports" in ${pkg.dir}/package.json`;
      throw nodeError(Error, 'ERR_PACKAGE_PATH_NOT_EXPORTED', message + importedFrom(base));
    }
    return target;
  }

  // "exports": "./x.js" and "exports": { "require": … } are shorthands for { ".": … }.
  function isMainSugar(exports, pkg, base) {
    if (typeof exports === 'string' || Array.isArray(exports)) return true;
    if (exports === null || typeof exports !== 'object') return false;
    const kinds = new Set(Object.getOwnPropertyNames(exports).map((key) => key === '' || key[0] !== '.'));
    if (kinds.size > 1) {
      throw invalidPackageConfig(pkg, base, '"exports" cannot contain some keys starting with \'.\' and ' +
        'some not. The exports object must either be an object of package subpath keys or an object of ' +
        'main entry condition name keys only.');
    }
    return kinds.has(true);
  }

  // One "exports" or "imports" object: an exact key, else the most specific "*" pattern.
  function resolveMapping(key, mapping, pkg, isImports, base, conditions = CONDITIONS) {
    if (Object.prototype.hasOwnProperty.call(mapping, key) && !key.includes('*') && !key.endsWith('/')) {
      return resolveTarget(pkg, mapping[key], '', key, isImports, base, conditions);
    }
    let best = null;
    for (const pattern of Object.getOwnPropertyNames(mapping)) {
      const star = pattern.indexOf('*');
      if (star === -1 || star !== pattern.lastIndexOf('*')) continue;
      const prefix = pattern.slice(0, star);
      const suffix = pattern.slice(star + 1);
      if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.length < pattern.length) continue;
      // More specific: a longer part before "*", then a longer pattern.
      if (best === null || star > best.star || (star === best.star && pattern.length > best.pattern.length)) {
        best = { pattern, star, match: key.slice(star, key.length - suffix.length) };
      }
    }
    return best && resolveTarget(pkg, mapping[best.pattern], best.match, best.pattern, isImports, base, conditions);
  }

  // A target: a URL, a bare package name (imports only), null (excluded) or undefined (no match).
  function resolveTarget(pkg, target, match, key, isImports, base, conditions) {
    if (typeof target === 'string') return resolveTargetString(pkg, target, match, key, isImports, base);
    if (Array.isArray(target)) {
      if (target.length === 0) return null;
      let failure; // a fallback list tries each target, skipping invalid ones
      for (const alternative of target) {
        let resolved;
        try {
          resolved = resolveTarget(pkg, alternative, match, key, isImports, base, conditions);
        } catch (err) {
          if (err.code !== 'ERR_INVALID_PACKAGE_TARGET') throw err;
          failure = err;
          continue;
        }
        if (resolved === null) failure = null;
        else if (resolved !== undefined) return resolved;
      }
      if (failure == null) return failure;
      throw failure;
    }
    if (target !== null && typeof target === 'object') {
      const keys = Object.getOwnPropertyNames(target);
      if (keys.some((condition) => String(Number(condition)) === condition && Number(condition) >= 0)) {
        throw invalidPackageConfig(pkg, base, '"exports" cannot contain numeric property keys.');
      }
      for (const condition of keys) {
        if (condition !== 'default' && !conditions.has(condition)) continue;
        const resolved = resolveTarget(pkg, target[condition], match, key, isImports, base, conditions);
        if (resolved !== undefined) return resolved;
      }
      return undefined;
    }
    if (target === null) return null;
    throw invalidPackageTarget(pkg, key, target, isImports, base);
  }

  function resolveTargetString(pkg, target, match, key, isImports, base) {
    const substitute = (text) => (match ? text.replace(/\*/g, () => match) : text);
    if (!target.startsWith('./')) {
      if (isImports && !target.startsWith('../') && !target.startsWith('/') && !isUrl(target)) {
        return substitute(target);
      }
      throw invalidPackageTarget(pkg, key, target, isImports, base);
    }
    if (hasForbiddenSegment(target.slice(2))) throw invalidPackageTarget(pkg, key, target, isImports, base);
    const packageUrl = url.pathToFileURL(`${pkg.dir}/`);
    const resolved = new URL(target, packageUrl);
    if (!resolved.pathname.startsWith(packageUrl.pathname)) {
      throw invalidPackageTarget(pkg, key, target, isImports, base);
    }
    if (!match) return resolved;
    if (hasForbiddenSegment(match)) {
      const request = key.replace('*', () => match);
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${request}" request is not ` +
        `a valid match in pattern "${key}" for the "${isImports ? 'imports' : 'exports'}" resolution of ` +
        `${pkg.dir}/package.json${importedFrom(base)}`);
    }
    return new URL(substitute(resolved.href));
  }

  // Targets must not climb out of the package or into node_modules ("./a/../../x").
  function hasForbiddenSegment(text) {
    return text.split(/[/\\]/).some((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // undecodable: compared as written
      }
      return ['.', '..', 'node_modules'].includes(decoded.toLowerCase());
    });
  }

  // The file a resolved exports/imports URL names; it must exist.
  function finalize(resolved, pkg, parentPath) {
    if (/%2f|%5c/i.test(resolved.href)) {
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${resolved.href}" must not ` +
        `include encoded "/" or "\\" characters${importedFrom(parentPath)}`);
    }
    const filename = url.fileURLToPath(resolved);
    if (tryFile(filename)) return filename;
    const error = esmNotFound(filename);
    error.path = `${pkg.dir}/package.json`;
    throw error;
  }

  function invalidPackageTarget(pkg, key, target, isImports, base) {
    const shown = JSON.stringify(typeof target === 'object' ? JSON.stringify(target, null, '') : `${target}`);
    const where = `in the package config ${pkg.dir}/package.json${importedFrom(base)}`;
    const relative = !isImports && typeof target === 'string' && target.length > 0 && !target.startsWith('./')
      ? '; targets must start with "./"' : '';
    const message = key === '.'
      ? `Invalid "exports" main target ${shown} defined ${where}${relative}`
      : `Invalid "${isImports ? 'imports' : 'exports'}" target ${shown} defined for '${key}' ${where}${relative}`;
    return nodeError(Error, 'ERR_INVALID_PACKAGE_TARGET', message);
  }

  function invalidPackageConfig(pkg, base, message) {
    return nodeError(Error, 'ERR_INVALID_PACKAGE_CONFIG', `Invalid package config ${pkg.dir}/package.json` +
      `${base ? ` while importing ${base}` : ''}. ${message}`);
  }

  // MARK: ES module resolution
  //
  // node's ESM resolver (internal/modules/esm/resolve.js in 18.20) for importers under
  // the virtual root: no extension search, directories are errors, packages by "exports"
  // or their legacy main. Returns a URL, or null when the answer lies outside the archive
  // and node's own resolver should look on the real disk. `base` is the importer's path.

  function resolveEsm(specifier, parentURL, base, conditions) {
    let resolved;
    if (isRelativeOrAbsoluteSpecifier(specifier)) {
      resolved = new URL(specifier, parentURL);
    } else if (specifier[0] === '#') {
      resolved = resolveEsmImports(specifier, base, conditions);
    } else {
      let parsed = null;
      try {
        parsed = new URL(specifier);
      } catch {
        // not a URL: a package name
      }
      if (parsed !== null && parsed.protocol !== 'file:') return null; // data:, node:, ...: node's own
      resolved = parsed ?? resolveEsmPackage(specifier, base, conditions);
    }
    if (resolved === null || resolved.protocol !== 'file:') return resolved;
    return finalizeEsm(resolved, base);
  }

  function finalizeEsm(resolved, base) {
    if (/%2f|%5c/i.test(resolved.pathname)) {
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${resolved.pathname}" must ` +
        `not include encoded "/" or "\\" characters${importedFrom(base)}`);
    }
    const filename = url.fileURLToPath(resolved);
    const normalized = path.resolve(filename);
    if (!isVirtualPath(normalized)) return null;
    const node = vfs.find(normalized);
    if (node?.kind === DIRECTORY) {
      const error = nodeError(Error, 'ERR_UNSUPPORTED_DIR_IMPORT', `Directory import '${filename}' is not ` +
        `supported resolving ES modules imported from ${base}`);
      error.url = String(resolved);
      throw error;
    }
    if (node === undefined || filename.endsWith('/')) {
      const error = nodeError(Error, 'ERR_MODULE_NOT_FOUND', `Cannot find module '${filename}' imported from ${base}`);
      error.url = String(resolved);
      throw error;
    }
    const found = url.pathToFileURL(vfs.realpath(normalized));
    found.search = resolved.search;
    found.hash = resolved.hash;
    return found;
  }

  function resolveEsmPackage(specifier, base, conditions) {
    if (Module.isBuiltin(specifier)) return new URL(`node:${specifier}`);
    const name = packageName(specifier);
    if (name === null || (specifier.startsWith('@') && !specifier.includes('/'))) {
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${specifier}" is not a valid ` +
        `package name${importedFrom(base)}`);
    }
    const subpath = `.${specifier.slice(name.length)}`;
    const scope = readPackageScope(base);
    if (scope?.data.exports != null && scope.data.name === name) {
      return resolvePackageExports(scope, subpath, base, conditions);
    }
    for (let dir = path.dirname(base); isVirtualPath(dir); dir = path.dirname(dir)) {
      if (path.basename(dir) === 'node_modules') continue;
      const pkgDir = `${dir}/node_modules/${name}`;
      if (!vfs.isDirectory(pkgDir)) continue;
      const data = readPackage(pkgDir);
      const pkg = { dir: pkgDir, data: data ?? {} };
      if (data?.exports != null) return resolvePackageExports(pkg, subpath, base, conditions);
      if (subpath === '.') return legacyMainResolve(pkg, base);
      return new URL(subpath, url.pathToFileURL(`${pkgDir}/package.json`));
    }
    // Not in the bundle: never looked for on the real disk (see lookupPaths).
    if (isVirtualPath(base)) {
      throw nodeError(Error, 'ERR_MODULE_NOT_FOUND', `Cannot find package '${name}' imported from ${base}`);
    }
    return null;
  }

  function legacyMainResolve(pkg, base) {
    const packageUrl = url.pathToFileURL(`${pkg.dir}/package.json`);
    const { main } = pkg.data;
    const candidates = main === undefined ? []
      : ['', '.js', '.json', '.node', '/index.js', '/index.json', '/index.node'].map((suffix) => `./${main}${suffix}`);
    candidates.push('./index.js', './index.json', './index.node');
    for (const [index, candidate] of candidates.entries()) {
      const guess = new URL(candidate, packageUrl);
      const guessPath = url.fileURLToPath(guess);
      if (!vfs.isFile(guessPath)) continue;
      if (main === undefined || index > 0) legacyIndexDeprecation(guessPath, pkg, base, main);
      return guess;
    }
    throw nodeError(Error, 'ERR_MODULE_NOT_FOUND', `Cannot find package '${pkg.dir}/' imported from ${base}`);
  }

  // node warns when the main of an ES module package is found by guessing.
  function legacyIndexDeprecation(filename, pkg, base, main) {
    if (esmFormat(filename, true) !== 'module') return;
    const relative = filename.slice(pkg.dir.length + 1);
    const message = !main
      ? `No "main" or "exports" field defined in the package.json for ${pkg.dir}/ resolving the main entry ` +
        `point "${relative}", imported from ${base}.\nDefault "index" lookups for the main are deprecated for ` +
        'ES modules.'
      : `Package ${pkg.dir}/ has a "main" field set to "${main}", excluding the full filename and extension to ` +
        `the resolved file at "${relative}", imported from ${base}.\n Automatic extension resolution of the ` +
        '"main" field is deprecated for ES modules.';
    if (path.resolve(pkg.dir, main ?? '') !== filename) process.emitWarning(message, 'DeprecationWarning', 'DEP0151');
  }

  function resolveEsmImports(specifier, base, conditions) {
    if (specifier === '#' || specifier.startsWith('#/') || specifier.endsWith('/')) {
      throw nodeError(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${specifier}" is not a valid ` +
        `internal imports specifier name${importedFrom(base)}`);
    }
    const pkg = readPackageScope(base);
    const { imports } = pkg?.data ?? {};
    const target = imports !== null && typeof imports === 'object'
      ? resolveMapping(specifier, imports, pkg, true, base, conditions) : null;
    if (target == null) {
      throw nodeError(TypeError, 'ERR_PACKAGE_IMPORT_NOT_DEFINED', `Package import specifier "${specifier}" is ` +
        `not defined${pkg ? ` in package ${pkg.dir}/package.json` : ''} imported from ${base}`);
    }
    return typeof target === 'string' ? resolveEsmPackage(target, `${pkg.dir}/package.json`, conditions) : target;
  }

  // The format node gives a file of the archive: its extension, then the package "type".
  function esmFormat(filename, quiet = false) {
    const extension = path.extname(filename);
    if (extension === '.mjs') return 'module';
    if (extension === '.cjs') return 'commonjs';
    if (extension === '.json') return 'json';
    if (extension === '.js' || extension === '') {
      return readPackageScope(filename)?.data.type === 'module' ? 'module' : 'commonjs';
    }
    if (quiet) return undefined;
    throw nodeError(TypeError, 'ERR_UNKNOWN_FILE_EXTENSION', `Unknown file extension "${extension}" for ${filename}`);
  }

  return { resolveFilename, readPackageScope, resolveEsm, esmFormat };
}

function isRelativeOrAbsoluteSpecifier(specifier) {
  return specifier[0] === '/' || /^\.\.?(?:\/|$)/.test(specifier);
}

// "name" or "@scope/name" at the start of a bare request, or null.
function packageName(request) {
  const parts = request.split('/');
  const name = request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const last = name.slice(name.indexOf('/') + 1);
  if (request.startsWith('@') && (parts.length < 2 || parts[0] === '@')) return null;
  if (last === '' || last.startsWith('.') || /[%\\]/.test(name)) return null;
  return name;
}

function isUrl(text) {
  try {
    new URL(text); // eslint-disable-line no-new
    return true;
  } catch {
    return false;
  }
}

function importedFrom(base) {
  return base ? ` imported from ${base}` : '';
}

function esmNotFound(request) {
  const error = new Error(`Cannot find module '${request}'`);
  error.code = 'MODULE_NOT_FOUND';
  return error;
}

function moduleNotFound(request, parent) {
  const requireStack = [];
  for (let module = parent; module; module = parentOf(module)) {
    requireStack.push(module.filename || module.id);
  }
  let message = `Cannot find module '${request}'`;
  if (requireStack.length > 0) message += `\nRequire stack:\n- ${requireStack.join('\n- ')}`;
  const error = new Error(message);
  error.code = 'MODULE_NOT_FOUND';
  error.requireStack = requireStack;
  return error;
}

// The module whose require() first loaded `module`. Not module.parent: that getter warns
// under --pending-deprecation, and node's own loader reads an internal map instead.
function parentOf(module) {
  return Object.values(Module._cache).find((candidate) => candidate.children?.includes(module));
}
