// node's CommonJS loader pointed at the archive (Module's resolution and extension hooks).

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
