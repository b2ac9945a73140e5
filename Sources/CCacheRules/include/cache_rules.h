// Where an output's per-user cache directories live (runtime-, base- and
// addons-<digest>) and how their manifest starts: the launcher makes and checks them
// (Sources/Launcher/CacheDirectory.swift), the first stage only looks for base-<digest>
// (Sources/Stage/stage.c) and must find it where the launcher put it, so both read the
// rule here. How a directory is checked is written twice (CacheDirectory.validate,
// stage.c's use_cache_directory); PortableTests checks the stage accepts what the
// launcher made.
#ifndef BUNDLE_CACHE_RULES_H
#define BUNDLE_CACHE_RULES_H

#include <stddef.h>

#define BUNDLE_CACHE_MANIFEST_HEADER "bundle-runtime 2"
enum { BUNDLE_CACHE_BASES_MAX = 3 };

// The folders cache directories may be made in, best first, written into `out` one after
// the other, each ending with a NUL; returns how many (the ones that do not fit are
// left out). $XDG_CACHE_HOME/bundle, $HOME/.cache/bundle, then $TMPDIR/bundle-<uid>
// (/tmp without an absolute TMPDIR); a variable that is not an absolute path is not
// used. None when BUNDLE_RUNTIME_CACHE=off (for tests, and machines where writing a
// cache is unwanted: memory files then), nor when started with more privileges than the
// caller has (setuid, setcap: the kernel's AT_SECURE): "private to us" would mean the
// caller's, whose environment names the folders and who could plant libraries there
// to run with our privileges.
int bundle_cache_bases(char *out, size_t size);

#endif
