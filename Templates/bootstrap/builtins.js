// Builtins adapted when the app first asks for them.

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
