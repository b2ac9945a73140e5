// Builtins adapted when the app first asks for them.
//
// worker_threads and child_process get wrappers (workers.js, children.js), fs/promises
// the patches of fs. Loading them costs about 6 ms each, which plain node does not pay
// at startup: they are adapted when the app first asks for them, before the app sees
// their exports and before node makes their ES module view. Where node tells us that
// an app asks for a builtin is the runtime's (runtime-node18.js, runtime-node24.js).
// cluster takes fork() from child_process while it loads: asking for cluster adapts
// child_process first.

// adapt(id) for a builtin's id without "node:"; `all` adapts every one at once.
function builtinAdapter() {
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
  return { adapt, all: () => { for (const id of adapters.keys()) adapt(id); } };
}
