// Checks of payload_format.h against the layouts in Format.swift, at compile time.
// Compiling this also makes SwiftPM rebuild the Swift modules that import the header
// when it changes: the objects of a C target are inputs of its dependents' compiles,
// a header-only target is not.
#include "payload_format.h"

_Static_assert(sizeof BUNDLE_TRAILER_MAGIC == 8 && sizeof BUNDLE_TRAILER_END_MAGIC == 8 &&
                   sizeof BUNDLE_ARCHIVE_MAGIC == 8 && sizeof BUNDLE_STAGE_RECORD_MAGIC == 8 &&
                   sizeof BUNDLE_FRAME_INDEX_END_MAGIC == 8,
               "a magic is 8 bytes: 7 characters and the NUL");
_Static_assert(BUNDLE_TRAILER_SIZE == 8 + 2 + 2 + 4 + 3 * 8 + 2 * 4 + 3 * 8 + 32 + 4 + 4 + 8, "the trailer's fields");
_Static_assert(BUNDLE_STAGE_RECORD_SIZE == 8 + 4 * 8 + 4 + 4 + 32 + 4 + 4, "the stage record's fields");
_Static_assert(BUNDLE_ARCHIVE_HEADER_SIZE == 8 + 3 * 4, "the archive header's fields");
_Static_assert(BUNDLE_ENTRY_RECORD_SIZE == 1 + 2 + 1 + 4 + 8 + 8, "an entry record's fields");
