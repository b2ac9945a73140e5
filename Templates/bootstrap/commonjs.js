// node's CommonJS loader pointed at the archive: Module._resolveFilename,
// Module._nodeModulePaths and the '.node' extension. These are Module's own
// monkey-patchable functions (the public `module` builtin), the same on every runtime;
// the runtime adapters add what differs (how the format of a file is known).

// MARK: - Module loading

function installModuleLoader(vfs) {
  // Transpiled TypeScript is there when the metadata asks for source maps (Bundler.swift).
  const resolver = createResolver(vfs, { typeScript: app.sourceMaps !== null, aliases: app.aliases });
  installBundledLookupPaths();
  const originalResolveFilename = Module._resolveFilename;
  Module._resolveFilename = function _resolveFilename(request, parent, isMain, options) {
    if (!involvesVirtualRoot(request, parent, options)) {
      return Reflect.apply(originalResolveFilename, this, arguments);
    }
    return resolver.resolveFilename(request, parent, isMain, options);
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

// An app with TypeScript (transpiled at bundle time, Sources/BundlerCore/TypeScript.swift):
// node loads its .ts and .tsx files as .js, and a require that leaves the extension
// out finds them after node's own extensions, as ModuleResolver.extensions does at
// bundle time. .mts and .cts are found by name only: node's loader takes an unknown
// extension as .js, and their format is the resolver's (esmFormat). Source maps lead
// stack traces back to the .ts lines, in node_modules too when TypeScript was
// transpiled there. After the runtime's adapter: the '.js' loader is then final.
function installTypeScript() {
  if (app.sourceMaps === null) return;
  for (const extension of ['.ts', '.tsx']) Module._extensions[extension] ??= Module._extensions['.js'];
  if (typeof Module.setSourceMapsSupport === 'function') {
    Module.setSourceMapsSupport(true, { nodeModules: app.sourceMaps === 'all', generatedCode: false });
  } else {
    process.setSourceMapsEnabled(true);
  }
}

function runMain(mainPath) {
  // node's rule for its main: .mjs, or not .cjs in a "type": "module" scope.
  const isEsm = mainPath.endsWith('.mjs') || mainPath.endsWith('.mts') ||
    (!mainPath.endsWith('.cjs') && !mainPath.endsWith('.cts') && resolver.readPackageScope(mainPath)?.data.type === 'module');
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
