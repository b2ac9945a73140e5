#ifndef BUNDLE_CNODEEMBED_H
#define BUNDLE_CNODEEMBED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What the launcher hands to the embedded node.
typedef struct bundle_embed_options {
    /// argv[0] as the process got it, then the user's arguments, untouched (but see
    /// "Children of the app" in embed.cc: `app [node options] /$bundle/x.js ...`).
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
    /// Non-zero when the app's author opted in to NODE_OPTIONS (bundle
    /// --allow-node-options); otherwise the environment cannot inject node flags.
    int allow_node_options;
} bundle_embed_options;

/// Runs node over the app and returns the process exit code. Errors before the app
/// starts are printed to stderr prefixed with "bundle:".
typedef int (*bundle_embed_run_fn)(const bundle_embed_options *options);
int bundle_embed_run(const bundle_embed_options *options);

#ifdef __cplusplus
}
#endif

#endif
