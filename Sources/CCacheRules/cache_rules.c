// The rule cache_rules.h describes.
#include "cache_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int bundle_cache_bases(char *out, size_t size) {
    const char *off = getenv("BUNDLE_RUNTIME_CACHE");
    if ((off != NULL && strcmp(off, "off") == 0) || getauxval(AT_SECURE) != 0) return 0;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME"), *temporary = getenv("TMPDIR");
    char per_user[32];
    snprintf(per_user, sizeof per_user, "/bundle-%u", (unsigned)getuid());
    const char *folders[BUNDLE_CACHE_BASES_MAX][2] = {
        {xdg, "/bundle"},
        {home, "/.cache/bundle"},
        {temporary != NULL && temporary[0] == '/' ? temporary : "/tmp", per_user},
    };
    int count = 0;
    size_t used = 0;
    for (int i = 0; i < BUNDLE_CACHE_BASES_MAX; i++) {
        if (folders[i][0] == NULL || folders[i][0][0] != '/') continue;
        int length = snprintf(out + used, size - used, "%s%s", folders[i][0], folders[i][1]);
        if (length < 0 || (size_t)length >= size - used) continue;
        used += (size_t)length + 1;
        count++;
    }
    return count;
}
