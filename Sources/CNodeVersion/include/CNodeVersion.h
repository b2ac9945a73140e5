#ifndef BUNDLE_CNODEVERSION_H
#define BUNDLE_CNODEVERSION_H

// The version of the libnode headers `bundle` was built against: the node its
// runtime pack carries. Header only; nothing links libnode.
#include <node_version.h>

static inline const char *bundle_node_version(void) { return NODE_VERSION; }

#endif
