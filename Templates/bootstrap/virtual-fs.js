// The archive's files as a read-only tree under VIRTUAL_ROOT, and which fs arguments name it.

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
