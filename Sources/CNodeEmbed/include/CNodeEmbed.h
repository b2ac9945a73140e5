#ifndef BUNDLE_CNODEEMBED_H
#define BUNDLE_CNODEEMBED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// node::LoadEnvironment(node::Environment*, node::StartExecutionCallback) as the C
/// ABI sees it: the environment, a pointer to the std::function, and a
/// v8::MaybeLocal<v8::Value> (one pointer) returned in a register.
typedef void *(*bundle_load_environment_fn)(void *environment, void *callback);

/// What the launcher hands to the embedded node.
typedef struct bundle_embed_options {
    /// argv[0] as the process got it, then the user's arguments, untouched (but see
    /// "Children of the app" in embed.cc).
    int argc;
    const char *const *argv;
    /// Node flags baked in at bundle time (e.g. "--max-old-space-size=4096").
    int node_option_count;
    const char *const *node_options;
    /// The bootstrap function body (UTF-8) and the app archive it receives as a
    /// SharedArrayBuffer (no copy; worker threads share it). Both must stay valid
    /// until the function returns.
    const char *bootstrap_source;
    size_t bootstrap_length;
    void *archive;
    size_t archive_length;
    /// When not NULL, the archive is inflated on first use: bytes [offset, offset +
    /// length) may be read only after this returned 0 for a range holding them (-1:
    /// outside the archive, or damaged). Thread-safe. The bootstrap gets it as
    /// `ensureArchive`.
    int (*ensure_archive)(size_t offset, size_t length);
    /// With ensure_archive: gives back the memory of the inflated bytes of the file at
    /// [offset, offset + length) that a reader has gone past ([passed_offset,
    /// passed_offset + passed_length)); they must be ensured again before the next read.
    /// The bootstrap gets it as `releaseArchive`.
    void (*release_archive)(size_t offset, size_t length, size_t passed_offset, size_t passed_length);
    /// Non-zero when the app's author opted in to NODE_OPTIONS (bundle
    /// --allow-node-options); otherwise the environment cannot inject node flags.
    int allow_node_options;
    /// A startup snapshot of this very libnode (bundle_embed_build_snapshot), or NULL.
    /// Used when V8 runs with the flags it was made with (see "Startup snapshot" in
    /// embed.cc); otherwise node bootstraps from scratch, as without one.
    const char *snapshot_blob;
    /// The launcher's hook on node::LoadEnvironment: the next call goes to `override`
    /// instead (once). NULL when the launcher has none; then no snapshot is used.
    void (*override_load_environment)(bundle_load_environment_fn override);
    /// Where the app's files are shown (Format.virtualRoot), for the bootstrap.
    const char *virtual_root;
    /// Names this very app (its app section): a child started by the app carries it
    /// in its environment, and then reads its command line as node would (see
    /// "Children of the app" in embed.cc).
    const char *app_identity;
    /// Puts back what the launcher took out of the environment while node starts
    /// (OPENSSL_CONF and the like: support.c, "Variables hidden while node starts"):
    /// called once node's per-process setup has read it, before the app's main
    /// environment loads. NULL when nothing was hidden.
    void (*restore_environment)(void);
} bundle_embed_options;

/// Runs node over the app and returns the process exit code. Errors before the app
/// starts are printed to stderr prefixed with "bundle:".
typedef int (*bundle_embed_run_fn)(const bundle_embed_options *options);
int bundle_embed_run(const bundle_embed_options *options);

/// Writes a startup snapshot of this libnode to `blob_path`: node's own bootstrap,
/// already run, and the builtin modules apps commonly load (embed.cc, kSnapshotEntry).
/// Starts node, so a process can do it once and then must exit. Returns node's exit
/// code (0: written).
typedef int (*bundle_embed_build_snapshot_fn)(const char *argv0, const char *blob_path);
int bundle_embed_build_snapshot(const char *argv0, const char *blob_path);

#ifdef __cplusplus
}
#endif

#endif
