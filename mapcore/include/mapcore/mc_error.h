/* mc_error.h - the error codes of the mapping core.
 *
 * Every mapcore function that can fail returns an enum mc_err; MC_OK (0) is
 * success. The codes are library codes, not errno values: sys.c translates
 * errno once and keeps the original for the log (mc_last_errno()).
 *
 * Caveats: the table below is the single source of truth. api/src/status.c
 * maps every code to an HTTP status, and a unit test checks that it does.
 */
#ifndef MAPCORE_MC_ERROR_H
#define MAPCORE_MC_ERROR_H

#define MC_ERRORS(X)                                                         \
    X(MC_OK,            "success")                                           \
    X(MC_EINVAL,        "invalid argument")                                  \
    X(MC_ENAME,         "invalid mapping name")                              \
    X(MC_EPATH,         "path leads outside the data directory or is malformed") \
    X(MC_EUNSUPPORTED,  "unsupported mapping option")                        \
    X(MC_ENOTFOUND,     "no such mapping")                                   \
    X(MC_EEXIST,        "mapping already exists")                            \
    X(MC_ECONFLICT,     "request conflicts with the existing mapping")       \
    X(MC_ENOFILE,       "backing file does not exist")                       \
    X(MC_EZEROSIZE,     "a new mapping needs a size above zero")             \
    X(MC_ETOOBIG,       "size above the configured maximum")                 \
    X(MC_ERANGE,        "range outside the mapping")                         \
    X(MC_ERDONLY,       "mapping is read-only")                              \
    X(MC_ENOSPC,        "no space left for the backing file")                \
    X(MC_ENOMEM,        "out of memory or address space")                    \
    X(MC_EBUSY,         "view cache exhausted: every cached view is in use") \
    X(MC_ETRUNCATED,    "backing file was truncated behind the server")      \
    X(MC_EDAMAGED,      "mapping is damaged and cannot be served")           \
    X(MC_ECORRUPT,      "catalog file is corrupt")                           \
    X(MC_EIO,           "I/O error on the backing file")                     \
    X(MC_EPRECONDITION, "the mapping changed since the given ETag")         \
    X(MC_EMEMLIMIT,     "memory budget of memory-backed mappings exhausted") \
    X(MC_ENOTREG,       "not a regular file (a FIFO, device, socket or directory)") \
    X(MC_ENOFD,         "out of file descriptors")                                      \
    X(MC_ESHARED,       "other mappings use the backing file: this would cut it from under them") \
    X(MC_EDENIED,       "the backing file is used by a mapping the caller may not write") \
    X(MC_EMISALIGNED,   "a word's offset is not a multiple of its width")   \
    X(MC_ECASFAILED,    "a compare-and-swap found another value")           \
    X(MC_EOVERFLOW,     "a checked add would overflow the word")              \
    X(MC_ELEASEHELD,    "the mapping is leased (or its lease is breaking)")    \
    X(MC_ELEASEBREAKING,"the lease is breaking: it can be released, not renewed or changed") \
    X(MC_ELEASEMISSING, "the mapping is leased: a write must name the lease")  \
    X(MC_ELEASEMISMATCH,"the lease named is not the mapping's lease")          \
    X(MC_ELEASENONE,    "the mapping has no lease")                          \
    X(MC_EINUSE,        "the data directory is in use by another mmapd")

enum mc_err {
#define MC_ERR_ENUM(name, text) name,
    MC_ERRORS(MC_ERR_ENUM)
#undef MC_ERR_ENUM
    MC_ERR_COUNT
};

/* A static English sentence for err; never NULL, also for unknown codes. */
const char *mc_strerror(enum mc_err err);

/* The symbolic name of err ("MC_ENOSPC"); never NULL. */
const char *mc_errname(enum mc_err err);

/* The errno behind the last MC_EIO/MC_ENOSPC/MC_ENOMEM returned on this
 * thread, or 0. Meant for log lines only. */
int mc_last_errno(void);

#endif
