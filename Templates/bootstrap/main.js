// What this script does, in order, once every part above is defined (this file comes last).

if (typeof VIRTUAL_ROOT !== 'string' || !VIRTUAL_ROOT.startsWith('/')) throw new Error('bundle: the launcher named no virtual root');
// What differs between the runtimes a bundle can carry (runtime-node18.js, runtime-node24.js).
const runtime = Number(process.versions.node.split('.')[0]) >= 24 ? node24Runtime() : node18Runtime();
const app = parseArchive(archive);
const vfs = createVirtualFs(archive, app.files, app.links);
if (launch.role === 'hooks') return createEsmHooks(vfs, createResolver(vfs, { typeScript: app.sourceMaps !== null, aliases: app.aliases })); // eslint-disable-line no-restricted-syntax
// Before any app code: node's loaders read modules through the public `fs`, and a
// module loaded before the patch would be read from the real disk.
patchFs(vfs);
if (launch.role === 'main') installWorkingDirectory(vfs); // workers cannot chdir
const resolver = installModuleLoader(vfs);
const esm = runtime.connectModules(vfs, resolver);
installTypeScript();
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
