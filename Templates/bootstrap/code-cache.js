// V8 code caches of the app's CommonJS files, made at bundle time.

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
  // node 24 has the public pieces (vm.compileFunction with cachedData, and dynamic
  // import() through the main context's loader); node 18 needs its internals.
  const vm = internalRequire('vm');
  if (vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER !== undefined) return installPublicCodeCache(vm);
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

// node 24: the same replacement of _compile with public API only. vm.compileFunction
// with the loader's five parameters is what node's CommonJS loader compiles (the same
// function code-cache.js made the cache from); import() inside such a function goes to
// the main context's default loader, as in a module node compiled itself. require is
// built as node's makeRequireFunction builds it (resolve, resolve.paths, main,
// extensions, cache). Files node must see for source maps (--enable-source-maps, or
// process.setSourceMapsEnabled, or an app with TypeScript) compile node's way when they
// name a map: it is read there.
function installPublicCodeCache(vm) {
  const debug = util.debuglog('bundle');
  const parameters = ['exports', 'require', 'module', '__filename', '__dirname'];
  const importModuleDynamically = vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const originalCompile = Module.prototype._compile;
  Module.prototype._compile = function _compile(content, filename, format) {
    const cache = app.codeCaches.get(filename);
    const source = sourcesRead.get(filename);
    sourcesRead.delete(filename);
    if (cache === undefined || source !== content || (format !== undefined && format !== 'commonjs') ||
        (process.sourceMapsEnabled && content.includes('//# sourceMappingURL='))) {
      return Reflect.apply(originalCompile, this, arguments);
    }
    ensureArchive(cache.offset, cache.length);
    const compiled = vm.compileFunction(content, parameters, {
      filename, cachedData: Buffer.from(archive, cache.offset, cache.length), importModuleDynamically,
    });
    debug('code cache %s for %s', compiled.cachedDataRejected ? 'rejected' : 'used', filename);
    const module = this;
    const require = function require(id) { return module.require(id); };
    require.resolve = function resolve(request, options) { return Module._resolveFilename(request, module, false, options); };
    require.resolve.paths = function paths(request) { return Module._resolveLookupPaths(request, module); };
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return Reflect.apply(compiled, this.exports, [this.exports, require, this, filename, path.dirname(filename)]);
  };
}
