// The embedder sequence from Node's "C++ embedder API" page behind a C ABI, so the
// Swift launcher can dlopen it after making libnode available. Built once per runtime
// against that runtime's own headers (Runtimes/README.md): node 18 by SwiftPM (C++17),
// node 24 by Scripts/build-runtime (its V8 headers need C++20). Where the two APIs
// differ, NODE_MAJOR_VERSION picks; the startup snapshot is the one real difference
// (see "Startup snapshot").
#include "CNodeEmbed.h"

#include <node.h>
#include <uv.h>

#include <sys/auxv.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#if NODE_MAJOR_VERSION < 20
namespace node {
// Exported by libnode 18 but not declared in node.h: what `node --snapshot-blob <file>`
// runs after InitializeOncePerProcess (reads the blob, deserializes the main context
// from it and runs node's main instance). See "Startup snapshot" below.
struct SnapshotData;
int LoadSnapshotDataAndRun(const SnapshotData** snapshot_data, const InitializationResult* result);
}  // namespace node
#endif

namespace {

using v8::ArrayBuffer;
using v8::Context;
using v8::Function;
using v8::HandleScope;
using v8::Isolate;
using v8::Local;
using v8::Locker;
using v8::MaybeLocal;
using v8::ScriptCompiler;
using v8::ScriptOrigin;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Value;

void PrintErrors(const std::vector<std::string>& errors) {
  for (const std::string& error : errors) std::fprintf(stderr, "bundle: %s\n", error.c_str());
}

// Reads info[first], info[first + 1] as an archive range (offset, length): false when
// they are not sizes whose sum is exact in a double (2^53).
bool ArchiveRange(const v8::FunctionCallbackInfo<Value>& info, int first, size_t* offset, size_t* length) {
  const double start = info[first]->IsNumber() ? info[first].As<v8::Number>()->Value() : -1;
  const double count = info[first + 1]->IsNumber() ? info[first + 1].As<v8::Number>()->Value() : -1;
  constexpr double kLimit = 9007199254740992.0;  // 2^53: every such double is an exact size_t
  if (!(start >= 0 && count >= 0 && start + count <= kLimit)) return false;
  *offset = static_cast<size_t>(start);
  *length = static_cast<size_t>(count);
  return true;
}

// ensureArchive(offset, length): makes those bytes of the archive readable (see
// bundle_embed_options.ensure_archive), or throws.
void EnsureArchive(const v8::FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  auto ensure = reinterpret_cast<int (*)(size_t, size_t)>(info.Data().As<v8::External>()->Value());
  size_t offset, length;
  if (!ArchiveRange(info, 0, &offset, &length) || ensure(offset, length) != 0) {
    isolate->ThrowException(v8::Exception::Error(
        String::NewFromUtf8Literal(isolate, "bundle: the app archive is damaged (part of it does not inflate)")));
  }
}

// releaseArchive(offset, length, passedOffset, passedLength): see
// bundle_embed_options.release_archive. Arguments that are not ranges are ignored.
void ReleaseArchive(const v8::FunctionCallbackInfo<Value>& info) {
  auto release = reinterpret_cast<void (*)(size_t, size_t, size_t, size_t)>(info.Data().As<v8::External>()->Value());
  size_t offset, length, passed_offset, passed_length;
  if (ArchiveRange(info, 0, &offset, &length) && ArchiveRange(info, 2, &passed_offset, &passed_length)) {
    release(offset, length, passed_offset, passed_length);
  }
}

// Sets object[name] to a function calling `callback` with `data` (a C function pointer).
bool SetFunction(Local<Context> context, Local<v8::Object> object, Local<String> name,
                 v8::FunctionCallback callback, void* data) {
  Isolate* isolate = context->GetIsolate();
  Local<Function> function;
  return Function::New(context, callback, v8::External::New(isolate, data)).ToLocal(&function) &&
         !object->Set(context, name, function).IsNothing();
}

// Compiles the bootstrap as a function of (process, internalRequire, archive) and calls
// it. An exception it throws is left uncaught on purpose: node's message listener then
// reports it exactly as for `node app.js` (message, stack, exit code 1).
MaybeLocal<Value> RunBootstrap(const node::StartExecutionCallbackInfo& info, const bundle_embed_options& options,
                               bool node_command_line, bool from_snapshot) {
  Isolate* isolate = Isolate::GetCurrent();
  Local<Context> context = isolate->GetCurrentContext();

  Local<String> code;
  if (!String::NewFromUtf8(isolate, options.bootstrap_source, v8::NewStringType::kNormal,
                           static_cast<int>(options.bootstrap_length)).ToLocal(&code)) {
    return {};
  }
#if NODE_MAJOR_VERSION >= 20
  ScriptOrigin origin(String::NewFromUtf8Literal(isolate, "bundle:bootstrap.js"));
#else
  ScriptOrigin origin(isolate, String::NewFromUtf8Literal(isolate, "bundle:bootstrap.js"));
#endif
  ScriptCompiler::Source source(code, origin);
  Local<String> params[] = {
      String::NewFromUtf8Literal(isolate, "process"),
      String::NewFromUtf8Literal(isolate, "internalRequire"),
      String::NewFromUtf8Literal(isolate, "archive"),
  };
  Local<Function> bootstrap;
  if (!ScriptCompiler::CompileFunction(context, &source, 3, params, 0, nullptr).ToLocal(&bootstrap)) {
    return {};
  }

  // The archive lives in the launcher's memory for the whole process: no copy, no free.
  // A SharedArrayBuffer, so that worker threads get the same bytes without a copy: the
  // bootstrap hands it to them through worker_threads' environment data, and V8 shares
  // the backing store instead of cloning it (measured: no copy, whatever the size).
  auto store = SharedArrayBuffer::NewBackingStore(
      options.archive, options.archive_length, [](void*, size_t, void*) {}, nullptr);
  // The fourth argument says what to run (see the bootstrap's `launch`): the app's main,
  // where its files are shown, whether node's command line applies, and, when the
  // launcher inflates the archive on first use, how to ask it for bytes.
  Local<v8::Object> launch = v8::Object::New(isolate);
  auto set_string = [&](Local<String> key, const char* value) {
    Local<String> text;
    return String::NewFromUtf8(isolate, value).ToLocal(&text) && !launch->Set(context, key, text).IsNothing();
  };
  if (!set_string(String::NewFromUtf8Literal(isolate, "role"), "main") ||
      !set_string(String::NewFromUtf8Literal(isolate, "virtualRoot"), options.virtual_root) ||
      !set_string(String::NewFromUtf8Literal(isolate, "appIdentity"), options.app_identity) ||
      launch->Set(context, String::NewFromUtf8Literal(isolate, "nodeCommandLine"),
                  v8::Boolean::New(isolate, node_command_line)).IsNothing()) {
    return {};
  }
  if (options.ensure_archive != nullptr &&
      (!SetFunction(context, launch, String::NewFromUtf8Literal(isolate, "ensureArchive"), EnsureArchive,
                    reinterpret_cast<void*>(options.ensure_archive)) ||
       (options.release_archive != nullptr &&
        !SetFunction(context, launch, String::NewFromUtf8Literal(isolate, "releaseArchive"), ReleaseArchive,
                     reinterpret_cast<void*>(options.release_archive))))) {
    return {};
  }
  Local<Value> args[] = {info.process_object, info.native_require,
                         SharedArrayBuffer::New(isolate, std::move(store)), launch};
  if (from_snapshot) {
    // `--snapshot-blob <file>` is the launcher's, not an option the app was given.
    Local<v8::Object> process = info.process_object.As<v8::Object>();
    if (process->Set(context, String::NewFromUtf8Literal(isolate, "execArgv"), v8::Array::New(isolate)).IsNothing()) {
      return {};
    }
  }
  return bootstrap->Call(context, v8::Undefined(isolate), 4, args);
}

int RunEnvironment(node::MultiIsolatePlatform* platform, const std::vector<std::string>& args,
                   const std::vector<std::string>& exec_args, const bundle_embed_options& options,
                   bool node_command_line, bool from_builtin_snapshot) {
  std::vector<std::string> errors;
  std::unique_ptr<node::CommonEnvironmentSetup> setup;
#if NODE_MAJOR_VERSION >= 20
  if (from_builtin_snapshot) {
    node::EmbedderSnapshotData::Pointer snapshot = node::EmbedderSnapshotData::BuiltinSnapshotData();
    if (snapshot) setup = node::CommonEnvironmentSetup::CreateFromSnapshot(platform, &errors, snapshot.get(), args, exec_args);
  }
#endif
  if (!setup && errors.empty()) setup = node::CommonEnvironmentSetup::Create(platform, &errors, args, exec_args);
  if (!setup) {
    PrintErrors(errors);
    return 1;
  }

  Isolate* isolate = setup->isolate();
  node::Environment* env = setup->env();
  int exit_code = 0;
  {
    Locker locker(isolate);
    Isolate::Scope isolate_scope(isolate);
    HandleScope handle_scope(isolate);
    Context::Scope context_scope(setup->context());

    if (options.restore_environment != nullptr) options.restore_environment();
    MaybeLocal<Value> loaded = node::LoadEnvironment(
        env, [&](const node::StartExecutionCallbackInfo& info) { return RunBootstrap(info, options, node_command_line, false);
        });
    if (loaded.IsEmpty()) return 1;  // Already reported by node.

    exit_code = node::SpinEventLoop(env).FromMaybe(1);
    node::Stop(env);
  }
  return exit_code;
}

// MARK: - Children of the app
//
// When the app starts its own executable (fork, cluster, spawn or exec of
// process.execPath, with or without a shell), the bootstrap puts
// BUNDLE_STARTED_BY=<app identity> into the child's environment. Such a child reads its
// command line as `node` would: node options, then a script (bundled, or on disk:
// absolute or relative to its working directory), or -e/-p code, or nothing (stdin, or
// a REPL on a terminal). node itself parses it (InitializeOncePerProcess), so every
// option means what it means to node, unknown ones are node's errors, and the
// bootstrap picks what to run as node's main would ("Children of the app" there). A
// script found nowhere fails with node's "Cannot find module", so no command line the
// app gives its child can make that child start the app's entry again.
// Started in any other way, every argument goes to the app: `./app --version` reaches
// the app. The one exception is a first argument under the virtual root, which runs
// that bundled module (a command written into a script or a Makefile by the app).
// The variable is removed before anything runs, so only the app's own children carry
// it: a program the app starts that starts the app again (git running a hook) gives
// the app its usual meaning. It is ignored under AT_SECURE (a setuid or setcap
// output), where it would hand the caller node's powers.

constexpr char kStartedByEnvironment[] = "BUNDLE_STARTED_BY";

bool StartedByItself(const bundle_embed_options& options) {
  const char* value = std::getenv(kStartedByEnvironment);
  const bool ours = value != nullptr && options.app_identity != nullptr &&
                    std::strcmp(value, options.app_identity) == 0;
  unsetenv(kStartedByEnvironment);
  return ours && getauxval(AT_SECURE) == 0;
}

// Whether node parses the command line: a child of the app whose first argument is an
// option. Otherwise the arguments reach process.argv as given (after argv0).
bool NodeParsesArguments(const bundle_embed_options& options, bool node_command_line) {
  return node_command_line && options.argc >= 2 && options.argv[1][0] == '-' && options.argv[1][1] != '\0';
}

// The options baked in at bundle time, then, when node parses the command line, the
// whole of it.
std::vector<std::string> NodeArguments(const bundle_embed_options& options, bool node_parses_arguments) {
  std::vector<std::string> node_args = {options.argv[0]};
  for (int i = 0; i < options.node_option_count; i++) node_args.emplace_back(options.node_options[i]);
  if (node_parses_arguments) node_args.insert(node_args.end(), options.argv + 1, options.argv + options.argc);
  return node_args;
}

// process.execArgv: node's parse of the options, where a baked option the command line
// repeats counts once. A child inherits its parent's execArgv, which holds the baked
// options already; node keeps one copy of what it passes on, and so does this.
std::vector<std::string> ExecArguments(const bundle_embed_options& options, const std::vector<std::string>& parsed) {
  const size_t baked = std::min(parsed.size(), static_cast<size_t>(options.node_option_count));
  std::vector<std::string> exec_args(parsed.begin(), parsed.begin() + baked);
  for (size_t i = baked; i < parsed.size(); i++) {
    if (std::find(exec_args.begin(), exec_args.begin() + baked, parsed[i]) == exec_args.begin() + baked) {
      exec_args.push_back(parsed[i]);
    }
  }
  return exec_args;
}

// MARK: - Startup snapshot
//
// node 24: Debian's libnode137 carries node's built-in startup snapshot, and the public
// API starts from it (CommonEnvironmentSetup::CreateFromSnapshot with
// EmbedderSnapshotData::BuiltinSnapshotData(), in RunEnvironment): measured, an empty
// app 40 ms instead of 72 ms from scratch. Nothing below is needed there, and
// bundle_embed_build_snapshot makes nothing.
//
// node 18: Debian's libnode108 is built without node's startup snapshot, so every start compiles
// and runs node's own bootstrap JavaScript (measured: an empty app 117 ms without a
// snapshot, 72 ms from one). The launcher makes a snapshot of this libnode once per
// runtime cache directory (bundle_embed_build_snapshot, in a child process) and passes
// its path. node 18's embedder API cannot start from a snapshot, but libnode exports
// what `node --snapshot-blob` runs: LoadSnapshotDataAndRun, which deserializes the main
// environment and calls node::LoadEnvironment(env, <empty callback>) to run node's
// main. The launcher interposes node::LoadEnvironment (CLauncherSupport), and that one
// call comes back here (LoadMainEnvironment), which calls the real LoadEnvironment with
// the bootstrap callback: the app starts exactly as on the path without a snapshot, with
// the same process object and internal require. Worker threads call LoadEnvironment
// later and go to node unchanged.
//
// V8 refuses a snapshot made under other V8 flags ("Failed to load the startup snapshot
// because it was built with ... different V8 configurations"), and node passes every
// option it does not know to V8. So the snapshot is used only when node gets no option
// at all: none baked in, none from a fork's command line, no NODE_OPTIONS.

#if NODE_MAJOR_VERSION < 20
const bundle_embed_options* main_options = nullptr;
bool main_node_command_line = false;

static_assert(std::is_trivially_copyable<MaybeLocal<Value>>::value && sizeof(MaybeLocal<Value>) == sizeof(void*),
              "bundle_load_environment_fn returns a MaybeLocal<Value> as one pointer");

MaybeLocal<Value> LoadMainEnvironment(node::Environment* env, node::StartExecutionCallback* /* node's main */) {
  return node::LoadEnvironment(
      env, [](const node::StartExecutionCallbackInfo& info) { return RunBootstrap(info, *main_options, main_node_command_line, true);
      });
}

bool CanUseSnapshot(const bundle_embed_options& options, const std::vector<std::string>& node_args) {
  if (options.snapshot_blob == nullptr || options.override_load_environment == nullptr) return false;
  if (node_args.size() != 1) return false;
  const char* environment_options = std::getenv("NODE_OPTIONS");
  return !(options.allow_node_options && environment_options != nullptr && environment_options[0] != '\0');
}

int RunFromSnapshot(const bundle_embed_options& options, const std::vector<std::string>& args, bool node_command_line,
                    uint64_t flags) {
  // After `--` node parses nothing: the app's arguments become process.argv as given.
  std::vector<std::string> node_args = {args[0], "--snapshot-blob", options.snapshot_blob, "--"};
  node_args.insert(node_args.end(), args.begin() + 1, args.end());
  std::unique_ptr<node::InitializationResult> result =
      node::InitializeOncePerProcess(node_args, static_cast<node::ProcessInitializationFlags::Flags>(flags));
  PrintErrors(result->errors());
  if (result->early_return()) return result->exit_code();

  main_options = &options;
  main_node_command_line = node_command_line;
  options.override_load_environment(reinterpret_cast<bundle_load_environment_fn>(&LoadMainEnvironment));
  const node::SnapshotData* snapshot = nullptr;  // owned by node until the process exits
  int exit_code = node::LoadSnapshotDataAndRun(&snapshot, result.get());
  node::TearDownOncePerProcess();
  return exit_code;
}
#endif

}  // namespace

extern "C" int bundle_embed_run(const bundle_embed_options* options) {
  // Node parses only argv0 and the baked options: the user's arguments belong to the
  // app, so `./app --version` reaches the app instead of printing node's version. The
  // one exception is a child of the app (see "Children of the app").
  const bool node_command_line = StartedByItself(*options);
  const bool node_parses_arguments = NodeParsesArguments(*options, node_command_line);
  std::vector<std::string> node_args = NodeArguments(*options, node_parses_arguments);

  // NODE_OPTIONS must not inject code into a shipped app.
  uint64_t flags = 0;
  if (!options->allow_node_options) flags |= node::ProcessInitializationFlags::kDisableNodeOptionsEnv;
  const std::vector<std::string> argv(options->argv, options->argv + options->argc);
#if NODE_MAJOR_VERSION < 20
  if (CanUseSnapshot(*options, node_args)) return RunFromSnapshot(*options, argv, node_command_line, flags);
  constexpr bool from_builtin_snapshot = false;
#else
  constexpr bool from_builtin_snapshot = true;
#endif

  // V8 and the platform are initialized here, not by node, so the page's order
  // (platform, then V8) holds on 18.
  flags |= node::ProcessInitializationFlags::kNoInitializeV8 | node::ProcessInitializationFlags::kNoInitializeNodeV8Platform;
  // A std::shared_ptr from node 20 on, a std::unique_ptr before.
  auto result = node::InitializeOncePerProcess(node_args, static_cast<node::ProcessInitializationFlags::Flags>(flags));
  PrintErrors(result->errors());
  if (result->early_return()) return result->exit_code();

  std::unique_ptr<node::MultiIsolatePlatform> platform = node::MultiIsolatePlatform::Create(4);
  v8::V8::InitializePlatform(platform.get());
  v8::V8::Initialize();

  // node's own parse left the script and its arguments, after argv0.
  const std::vector<std::string>& args = node_parses_arguments ? result->args() : argv;
  int exit_code = RunEnvironment(platform.get(), args, ExecArguments(*options, result->exec_args()), *options,
                                 node_command_line, from_builtin_snapshot);

  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  node::TearDownOncePerProcess();
  return exit_code;
}

#if NODE_MAJOR_VERSION >= 20
extern "C" int bundle_embed_build_snapshot(const char*, const char*) {
  return 1;  // node's built-in snapshot is used instead ("Startup snapshot")
}
#else
// What the snapshot holds besides node's own bootstrap: the builtin modules node 18
// supports in a user-land snapshot (lib/internal/main/mksnapshot.js, "supportedModules")
// that apps commonly load, so that they are deserialized instead of compiled and run at
// every start. Measured with node --snapshot-blob: the express app 174 -> 150 ms, hello
// unchanged; the blob grows from 2.4 to 3.3 MB (in the cache only). zlib is supported
// too, but with it in the snapshot node 18 dies with SIGSEGV after writing ~0.5 MB to a
// pipe (measured; each module tried alone, only zlib does it). http, net, tls,
// child_process, worker_threads, vm and module are not supported there.
constexpr char kSnapshotEntry[] =
    "'use strict';\n"
    "for (const id of ['assert', 'buffer', 'crypto', 'dns', 'events', 'fs/promises', 'os', 'path/posix',\n"
    "  'querystring', 'stream', 'stream/promises', 'string_decoder', 'timers', 'timers/promises', 'url',\n"
    "  'util']) require(id);\n";

extern "C" int bundle_embed_build_snapshot(const char* argv0, const char* blob_path) {
  // The snapshot must be made under node's defaults: nothing from the environment.
  unsetenv("NODE_OPTIONS");
  unsetenv("NODE_EXTRA_CA_CERTS");
  const std::string entry = std::string(blob_path) + ".entry.js";
  FILE* file = std::fopen(entry.c_str(), "w");
  if (file == nullptr) return 1;
  const bool written = std::fputs(kSnapshotEntry, file) >= 0;
  if (std::fclose(file) != 0 || !written) return 1;
  std::string arguments[] = {argv0, "--snapshot-blob", blob_path, "--build-snapshot", entry};
  // node::Start wants argv as one block of memory (uv_setup_args may reuse it).
  std::string block;
  for (const std::string& argument : arguments) block.append(argument).push_back('\0');
  std::vector<char*> argv;
  for (size_t offset = 0; offset < block.size(); offset += std::strlen(&block[offset]) + 1) argv.push_back(&block[offset]);
  argv.push_back(nullptr);
  const int exit_code = node::Start(static_cast<int>(argv.size() - 1), argv.data());
  std::remove(entry.c_str());
  return exit_code;
}
#endif
