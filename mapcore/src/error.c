/* error.c - names and sentences of the library error codes.
 *
 * Both tables are generated from MC_ERRORS in mc_error.h, so a new code can't
 * be forgotten here. The errno behind the last system error is kept per
 * thread: each request runs on one thread, so the log line that reports an
 * error can still name the cause.
 */
#include "internal.h"

static _Thread_local int last_errno;

const char *mc_strerror(enum mc_err err)
{
    static const char *const text[] = {
#define MC_ERR_TEXT(name, sentence) [name] = sentence,
        MC_ERRORS(MC_ERR_TEXT)
#undef MC_ERR_TEXT
    };

    if ((unsigned)err >= MC_ERR_COUNT)
        return "unknown error";
    return text[err];
}

const char *mc_errname(enum mc_err err)
{
    static const char *const names[] = {
#define MC_ERR_NAME(name, sentence) [name] = #name,
        MC_ERRORS(MC_ERR_NAME)
#undef MC_ERR_NAME
    };

    if ((unsigned)err >= MC_ERR_COUNT)
        return "MC_EUNKNOWN";
    return names[err];
}

int mc_last_errno(void)
{
    return last_errno;
}

void mc__set_last_errno(int err)
{
    last_errno = err;
}
