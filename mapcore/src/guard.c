/* guard.c - survive SIGBUS while copying into or out of a view.
 *
 * Touching a page of a shared file mapping raises SIGBUS when the page lies
 * past the end of the file (another process truncated it behind our back) or
 * when a write fault needs a block the file system no longer has (a sparse
 * hole on a full disk). Checking the file size before each copy narrows the
 * window but cannot close it, so every copy runs under a guard instead:
 *
 *   - each thread has one guard: a sigjmp_buf plus the address range the
 *     copy in progress may fault on;
 *   - one process-wide SIGBUS handler (SA_SIGINFO, so it learns si_addr)
 *     jumps back into the copy only when the faulting address lies inside
 *     the range the current thread's guard declared. Any other SIGBUS is a
 *     bug or someone else's, and gets the action that was installed before
 *     ours (the default: a core dump), so it never turns into a silent
 *     error.
 *
 * The handler is installed with SA_NODEFER so that SIGBUS is not left blocked
 * after the siglongjmp; that lets the guard use sigsetjmp(env, 0), which makes
 * no system call, and keeps the cost of a guarded copy at a few stores (the
 * fault path unblocks SIGBUS explicitly as well, for runtimes that drop the
 * flag).
 *
 * The same guard runs any short function on view memory (mc__guard_call):
 * the atomic word operations of words.c use it.
 *
 * Caveats: a guarded copy or call must not take locks, allocate or call
 * anything but memcpy (or the __atomic builtins), because the jump abandons
 * whatever it was doing. A write that faults half-way has changed the bytes
 * before the faulting page.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct guard {
    sigjmp_buf env;
    uintptr_t lo, hi; /* the declared range [lo, hi) */
    uintptr_t fault;  /* si_addr of the fault that jumped */
    volatile sig_atomic_t armed;
};

/* Initial-exec TLS in a static library linked into the executable: reading
 * it from a signal handler is async-signal-safe (no lazy allocation). */
static _Thread_local struct guard guard;

/* ThreadSanitizer runs an intercepted memcpy inside its runtime, where it
 * does not deliver a synchronous SIGBUS to our handler (the copy carries on
 * or the process dies), so under TSan the guarded copy moves the bytes in
 * our own code. volatile keeps the compiler from turning the loop back into
 * a memcpy call. Elsewhere (plain and ASan builds) memcpy is used. */
#if defined(__SANITIZE_THREAD__)
#define MC_GUARD_OWN_COPY 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MC_GUARD_OWN_COPY 1
#endif
#endif

#ifdef MC_GUARD_OWN_COPY
/* Not inlined: its locals must not live in the frame that calls sigsetjmp. */
__attribute__((noinline)) static void copy_bytes(void *dst, const void *src,
                                                 size_t n)
{
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;

    if (((uintptr_t)dst | (uintptr_t)src) % sizeof(uint64_t) == 0) {
        volatile uint64_t *dw = dst;
        const volatile uint64_t *sw = src;
        size_t words = n / sizeof(uint64_t);

        for (size_t i = 0; i < words; i++)
            dw[i] = sw[i];
        d += words * sizeof(uint64_t);
        s += words * sizeof(uint64_t);
        n -= words * sizeof(uint64_t);
    }
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}
#else
#define copy_bytes memcpy
#endif

static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static atomic_bool installed;
/* Counted on the return path of a caught fault, not in the handler. */
static atomic_uint_fast64_t faults_caught;

/* The page size, read at install: sysconf is not async-signal-safe. */
static uintptr_t page_mask;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    struct guard *g = &guard;
    uintptr_t addr = (uintptr_t)si->si_addr;
    uintptr_t lo = g->lo;

    (void)uctx;
#ifdef BUS_MCEERR_AR
    /* A hardware memory error names only the page (si_addr_lsb), which may
     * start before a range declared from the middle of it. */
    if (si->si_code == BUS_MCEERR_AR)
        lo &= ~page_mask;
#endif
    if (g->armed && addr >= lo && addr < g->hi) {
        g->armed = 0;
        g->fault = addr < g->lo ? g->lo : addr;
        siglongjmp(g->env, 1);
    }
    /* Not a fault we declared: put the earlier action back and let it
     * happen. A kernel-raised SIGBUS recurs when the faulting instruction
     * runs again on return; one sent with kill() must be raised anew. */
    sigaction(SIGBUS, &previous, NULL);
    if (si->si_code <= 0)
        raise(sig);
}

static void install(void)
{
    struct sigaction sa;

    long page = sysconf(_SC_PAGESIZE);

    page_mask = (uintptr_t)(page > 0 ? page : 4096) - 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) == 0)
        atomic_store(&installed, true);
}

void mc__guard_install(void)
{
    pthread_once(&install_once, install);
}

bool mc__guard_installed(void)
{
    return atomic_load(&installed);
}

bool mc__guard_call(void (*fn)(void *arg), void *arg, const void *mapped,
                    size_t n, uintptr_t *fault)
{
    struct guard *g = &guard;

    if (sigsetjmp(g->env, 0) != 0) {
        sigset_t bus;

        /* The handler disarmed the guard before jumping. SA_NODEFER should
         * have left SIGBUS unblocked, but a runtime that wraps handlers
         * (ThreadSanitizer does) may not pass the flag on; a SIGBUS left
         * blocked would make the next fault kill the process, so unblock
         * it here, on the rare fault path only. */
        sigemptyset(&bus);
        sigaddset(&bus, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        atomic_fetch_add_explicit(&faults_caught, 1, memory_order_relaxed);
        *fault = g->fault;
        return false;
    }
    g->lo = (uintptr_t)mapped;
    g->hi = g->lo + n;
    /* The range must be in place before the handler can see armed set. */
    atomic_signal_fence(memory_order_seq_cst);
    g->armed = 1;
    atomic_signal_fence(memory_order_seq_cst);
    fn(arg);
    atomic_signal_fence(memory_order_seq_cst);
    g->armed = 0;
    return true;
}

struct copy_args {
    void *dst;
    const void *src;
    size_t n;
};

static void copy_call(void *arg)
{
    const struct copy_args *a = arg;

    copy_bytes(a->dst, a->src, a->n);
}

bool mc__guard_copy(void *dst, const void *src, size_t n, const void *mapped,
                    uintptr_t *fault)
{
    struct copy_args a = {dst, src, n};

    return mc__guard_call(copy_call, &a, mapped, n, fault);
}

uint64_t mc_faults_total(void)
{
    return atomic_load_explicit(&faults_caught, memory_order_relaxed);
}

void mc_view_will_need(const void *data, size_t n)
{
    mc__sys_will_need(data, n);
}

bool mc_view_copy(void *dst, const void *src, size_t n)
{
    uintptr_t fault;

    return n == 0 || mc__guard_copy(dst, src, n, src, &fault);
}
