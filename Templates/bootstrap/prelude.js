'use strict';
// The first JavaScript that runs inside a bundled app.
//
// The launcher compiles this script (the parts Templates/bootstrap/manifest lists,
// joined; this one first) as a function body with the parameters
// (process, internalRequire, archive) and calls it once:
//   process          the real process; process.argv is [execPath, ...userArgs]
//   internalRequire  what the launcher's StartExecutionCallbackInfo.native_require is:
//                    on node 18 node's builtin loader, which can load node's
//                    'internal/...' modules; on node 24 node's embedderRequire, public
//                    builtins only (Tests/bootstrap/run-archive.js emulates both)
//   archive          SharedArrayBuffer (or ArrayBuffer) holding the app archive, layout
//                    in Sources/PayloadFormat/Format.swift ("Archive")
// A fourth argument says what to start: the app ({ role: 'main' }, the default), a
// worker thread ({ role: 'worker', ... }, workers.js) or the hooks thread of node 18's
// module.register() fallback ({ role: 'hooks' }, runtime-node18.js). It names the
// virtual root (virtualRoot), the app (appIdentity) and whether node parsed this
// child's command line (nodeCommandLine, children.js). The launcher's
// also carries ensureArchive(offset, length) when it inflates the archive on first use
// (Sources/Launcher/LazyArchive.swift): bytes outside the index may be read only after
// it returned for them. Threads get a whole archive (sharedArchive()). With it comes
// releaseArchive(offset, length, passedOffset, passedLength), which gives back the
// memory of a file's bytes once they were copied out (see `giveBack`).
// What differs between node 18 and node 24 is in runtime-node18.js and runtime-node24.js.
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
// Set in the environment of the children the app starts of itself (children.js).
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
const WORKER_ENVIRONMENT_KEY = 'bundle:archive'; // workers.js
