// The numbers and magics of the payload format (layouts: Sources/PayloadFormat/Format.swift).
// The one place they are written: PayloadFormat imports this header (Format, EntryKind,
// Trailer, StageRecord, FrameIndex), the first stage includes it (Sources/Stage/stage.c),
// and the bootstrap gets them as the object FORMAT, which the toolkit writes from
// PayloadFormat's values when it joins the parts (BootstrapFormat.swift); the
// bootstrap's tests read this file for theirs (Tests/bootstrap/archive.js).
//
// Only `#define BUNDLE_… "text"` and `BUNDLE_… = number,` lines inside an enum, one per
// line: the bootstrap's tests read them with a regular expression. A magic is 8 bytes:
// the 7 characters here and the string's terminating NUL.
#ifndef BUNDLE_PAYLOAD_FORMAT_H
#define BUNDLE_PAYLOAD_FORMAT_H

#define BUNDLE_TRAILER_MAGIC "BNDLTRL"
#define BUNDLE_TRAILER_END_MAGIC "BNDLEND"
#define BUNDLE_ARCHIVE_MAGIC "BNDLARC"
#define BUNDLE_STAGE_RECORD_MAGIC "BNDLSTG"
#define BUNDLE_FRAME_INDEX_END_MAGIC "BNDLFRM"
// Where a code cache entry's path starts; the app file it belongs to follows.
#define BUNDLE_CODE_CACHE_PREFIX ".bundle-code-cache/"

enum {
    BUNDLE_FORMAT_VERSION = 1,
    BUNDLE_ARCHIVE_VERSION = 1,
    BUNDLE_TRAILER_SIZE = 120,
    BUNDLE_STAGE_RECORD_SIZE = 88,
    BUNDLE_ARCHIVE_HEADER_SIZE = 20,
    BUNDLE_ENTRY_RECORD_SIZE = 24,
};

// Trailer flag bits.
enum {
    BUNDLE_FLAG_SELF_CONTAINED = 1,
    BUNDLE_FLAG_RUNTIME_ZSTD = 2,
    BUNDLE_FLAG_APP_ZSTD = 4,
    BUNDLE_FLAG_PORTABLE = 8,
};

// How the stage record stores the launcher ELF (StageRecord.LauncherStorage, whose raw
// values are checked against these by PayloadFormatTests).
enum {
    BUNDLE_LAUNCHER_MAPPED = 0,
    BUNDLE_LAUNCHER_ZSTD = 1,
};

// Entry kinds (what each is for: EntryKind in Format.swift, whose raw values are
// checked against these by PayloadFormatTests).
enum {
    BUNDLE_KIND_FILE = 0,
    BUNDLE_KIND_BOOTSTRAP = 1,
    BUNDLE_KIND_LIBRARY = 2,
    BUNDLE_KIND_BUILTIN = 3,
    BUNDLE_KIND_LAUNCH_OPTIONS = 4,
    BUNDLE_KIND_ADDON = 5,
    BUNDLE_KIND_NATIVE_INDEX = 6,
    BUNDLE_KIND_CODE_CACHE = 7,
};

#endif
