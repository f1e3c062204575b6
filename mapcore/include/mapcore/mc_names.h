/* mc_names.h - validation of mapping names and backing-file paths.
 *
 * Pure functions, no I/O, safe from any thread. They decide syntax only; the
 * catalog still opens paths beneath the data directory's fd (openat2 with
 * RESOLVE_BENEATH), so a symlink cannot lead outside even when the text is fine.
 */
#ifndef MAPCORE_MC_NAMES_H
#define MAPCORE_MC_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Longest mapping name: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ */
#define MC_NAME_MAX 128
/* Longest relative backing-file path we accept, and its longest component. */
#define MC_PATH_MAX 1024
#define MC_PATH_COMPONENT_MAX 255
/* The data directory's first-level entry reserved for the server itself
 * (catalog, temp files). No backing file may live under it. */
#define MC_RESERVED_DIR ".mmapd"

/* True when name (len bytes, not NUL-terminated necessarily) matches the name
 * grammar above. A NUL byte inside makes it invalid. */
bool mc_name_valid(const char *name, size_t len);

/* True when path is a relative path that stays inside the data directory by
 * its text: not empty, not absolute, no empty, "." or ".." component, no NUL
 * or control character, components and whole within the limits above, and not
 * inside MC_RESERVED_DIR. */
bool mc_path_valid(const char *path, size_t len);

#endif
