/* names.c - the syntax of mapping names and backing-file paths.
 *
 * Both checks take an explicit length, so a NUL byte inside the text (as
 * from a percent-decoded URL) makes it invalid instead of silently cutting
 * it short. They decide syntax only: the catalog still resolves every path
 * beneath the data directory's fd, which is what stops symlinks.
 */
#include <string.h>

#include "internal.h"

static bool name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool alnum_char(unsigned char c)
{
    return name_char(c) && c != '.' && c != '_' && c != '-';
}

bool mc_name_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > MC_NAME_MAX)
        return false;
    if (!alnum_char((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!name_char((unsigned char)name[i]))
            return false;
    }
    return true;
}

/* One component: not empty, not "." or "..", within the length limit, and
 * free of NUL and control characters (they would end up in logs and
 * terminals). Bytes >= 0x80 are allowed so UTF-8 file names work. */
static bool component_valid(const char *c, size_t len)
{
    if (len == 0 || len > MC_PATH_COMPONENT_MAX)
        return false;
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

bool mc_path_valid(const char *path, size_t len)
{
    size_t start = 0;
    bool first = true;

    if (!path || len == 0 || len > MC_PATH_MAX || path[0] == '/')
        return false;
    /* A trailing '/' leaves an empty last component, refused below. */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (!component_valid(path + start, i - start))
            return false;
        if (first && i - start == strlen(MC_RESERVED_DIR) &&
            memcmp(path + start, MC_RESERVED_DIR, i - start) == 0)
            return false;
        first = false;
        start = i + 1;
    }
    return true;
}
