// node's CommonJS and ES module resolution over the archive index.

// MARK: - Resolver
//
// node's CommonJS resolution (the "require" algorithm in node's docs and the package
// exports/imports algorithm of its ESM docs) over the archive index. Lookup directories
// outside the virtual root go to node's own Module._findPath.

// options.typeScript: the archive's TypeScript files were transpiled (isTypeScript);
// options.aliases: what their tsconfig `paths` imports resolved to at bundle time
// (archive.js parseAliases), answered before anything else.
function createResolver(vfs, options = {}) {
  const typeScript = options.typeScript === true;
  const aliases = options.aliases ?? new Map();
  const CONDITIONS = new Set(['require', 'node', 'node-addons']); // plus "default", always
  const packageCache = new Map();

  // As node without --preserve-symlinks: a module is known by its real path, and its
  // requires resolve from there (pnpm's packages find their dependencies beside it).
  function resolveFilename(request, parent, isMain, options) {
    const aliased = aliases.get(parent?.filename)?.get(request);
    if (aliased !== undefined) return aliased;
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
      const filename = (!trailingSlash && (tryFile(basePath) || typeScriptSource(basePath) || tryExtensions(basePath))) ||
        (vfs.isDirectory(basePath) && tryPackage(basePath, request));
      if (filename) return filename;
    }
    return false;
  }

  function tryFile(filePath) {
    return vfs.isFile(filePath) ? filePath : false;
  }

  // TypeScript's rule for a path to JavaScript that is not there: the TypeScript file it
  // is compiled from ('./util.js' means ./util.ts). ModuleResolver.typeScriptSources is
  // the bundle-time twin.
  function typeScriptSource(filePath) {
    for (const [javaScript, sources] of TYPESCRIPT_SOURCES) {
      if (!filePath.endsWith(javaScript)) continue;
      const stem = filePath.slice(0, -javaScript.length);
      for (const source of sources) {
        if (vfs.isFile(stem + source)) return stem + source;
      }
    }
    return false;
  }

  // An import in a TypeScript file as TypeScript resolves it for a bundler: the path as
  // written, the TypeScript file of a .js path, then with an extension or as a folder's
  // index (node's ES module loader tries none), in require()'s order once .ts is
  // registered (installTypeScript), which ModuleResolver.extensions follows too.
  function typeScriptImport(resolved) {
    const filename = url.fileURLToPath(resolved);
    if (!isVirtualPath(path.resolve(filename)) || vfs.isFile(filename)) return resolved;
    const withExtension = (base) => ['.js', '.ts', '.tsx'].map((extension) => base + extension).find(vfs.isFile);
    const found = typeScriptSource(filename) || withExtension(filename) ||
      (vfs.isDirectory(filename) && withExtension(path.join(filename, 'index')));
    if (!found) return resolved;
    const target = url.pathToFileURL(found);
    target.search = resolved.search;
    target.hash = resolved.hash;
    return target;
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
    const aliased = aliases.get(base)?.get(specifier);
    if (aliased !== undefined) return url.pathToFileURL(aliased);
    let resolved;
    if (isRelativeOrAbsoluteSpecifier(specifier)) {
      resolved = new URL(specifier, parentURL);
      if (isTypeScript(String(parentURL))) resolved = typeScriptImport(resolved);
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
    const typeScript = isTypeScript(filename);
    if (extension === '.mjs' || (typeScript && extension === '.mts')) return 'module';
    if (extension === '.cjs' || (typeScript && extension === '.cts')) return 'commonjs';
    if (extension === '.json') return 'json';
    if (extension === '.js' || extension === '' || (typeScript && (extension === '.ts' || extension === '.tsx'))) {
      return readPackageScope(filename)?.data.type === 'module' ? 'module' : 'commonjs';
    }
    if (quiet) return undefined;
    throw nodeError(TypeError, 'ERR_UNKNOWN_FILE_EXTENSION', `Unknown file extension "${extension}" for ${filename}`);
  }

  // Only in an app whose TypeScript was transpiled: elsewhere a .ts file is what node
  // takes it for, a file of an unknown extension.
  function isTypeScript(filename) {
    return typeScript && /\.(?:ts|tsx|mts|cts)$/.test(filename) && !/\.d\.[mc]?ts$/.test(filename);
  }

  return { resolveFilename, readPackageScope, resolveEsm, esmFormat, isTypeScript };
}

// The archive's TypeScript files are JavaScript by now: transpiled at bundle time
// (Sources/BundlerCore/TypeScript.swift), under their own names. Not .d.ts: no code.
const TYPESCRIPT_SOURCES = [['.js', ['.ts', '.tsx']], ['.mjs', ['.mts']], ['.cjs', ['.cts']], ['.jsx', ['.tsx']]];


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
