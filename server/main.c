/* main.c - the mmapd executable: configuration, catalog, api, daemon, and
 * the graceful shutdown sequence. Everything else lives in the modules.
 *
 * Exit status: 0 after a graceful shutdown (or --help/--version), 1 when the
 * server cannot start (token file, TLS files, catalog, listen socket), 2 for
 * a bad command line.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "config.h"
#include "daemon.h"
#include "holder.h"
#include "log.h"
#include "logbuf.h"
#include "mapcore/mc_catalog.h"
#include "signals.h"
#include "tokens.h"

/* How long in-flight requests get to finish after SIGTERM/SIGINT. */
#define DRAIN_TIMEOUT_MS 10000u

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

/* Every mapping keeps its backing open and every connection is a socket:
 * the 1024 descriptors a shell's soft limit often allows run out long
 * before the hard limit does. Raise the soft limit to the hard one, as
 * nginx's worker_rlimit_nofile does. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        srv_log(SRV_LOG_WARN, "cannot raise the open-file limit: %s",
                strerror(errno));
}

static enum mc_err open_catalog(const struct srv_config *cfg,
                                struct mc_catalog **out)
{
    struct mc_catalog_options opt = {
        .data_dir = cfg->data_dir,
        .view_size = cfg->view_size,
        .cache_bytes = cfg->cache_bytes,
        .max_map_size = cfg->max_map_size,
        .max_memory = cfg->max_memory, /* 0: derived (mc_memory.h) */
        /* 0: derived from the limit raise_fd_limit just set, less a
         * descriptor for every connection */
        .max_open_files = cfg->max_open_files,
        .other_fds = cfg->max_connections,
    };
    enum mc_err rc = mc_catalog_open(&opt, out);

    if (rc == MC_ECORRUPT)
        srv_log(SRV_LOG_ERROR,
                "the catalog %s/.mmapd/catalog.db (or catalog.json, the "
                "catalog of a version before 2 still to be imported) is "
                "corrupt: %s; it was left untouched. Refusing to start with "
                "an empty catalog; repair or move the file away",
                cfg->data_dir, mc_strerror(rc));
    else if (rc == MC_ENOTREG)
        srv_log(SRV_LOG_ERROR,
                "the catalog file %s/.mmapd/catalog.json is not a regular "
                "file; refusing to start",
                cfg->data_dir);
    else if (rc == MC_ENOFD)
        srv_log(SRV_LOG_ERROR,
                "cannot open the data directory %s: out of file descriptors; "
                "raise the open-file limit (ulimit -n, LimitNOFILE=) or "
                "lower --max-open-files",
                cfg->data_dir);
    else if (rc == MC_EINUSE) {
        pid_t pid = srv_dir_holder(cfg->data_dir);
        char who[48] = "";

        if (pid > 0)
            snprintf(who, sizeof who, " (pid %ld)", (long)pid);
        srv_log(SRV_LOG_ERROR,
                "the data directory %s is in use by another mmapd%s; stop it "
                "first or choose another --data-dir",
                cfg->data_dir, who);
    } else if (rc != MC_OK)
        srv_log(SRV_LOG_ERROR, "cannot open the data directory %s: %s (%s)",
                cfg->data_dir, mc_strerror(rc), mc_errname(rc));
    return rc;
}

int main(int argc, char **argv)
{
    struct srv_config cfg;
    struct mc_catalog *catalog = NULL;
    struct api *api = NULL;
    struct api_tokens *tokens = NULL;
    struct srv_daemon *daemon = NULL;
    char err[512];
    char where[96];
    int status = 1;
    int sig;

    switch (srv_config_parse(argc, argv, env_lookup, &cfg, err, sizeof(err))) {
    case SRV_CONFIG_OK:
        break;
    case SRV_CONFIG_HELP:
        srv_config_usage(stdout);
        return 0;
    case SRV_CONFIG_VERSION:
        printf("mmapd %s\n", MMAPD_VERSION);
        return 0;
    case SRV_CONFIG_EVALUE:
        fprintf(stderr, "mmapd: %s\n", err);
        return 2;
    case SRV_CONFIG_EUSAGE:
        fprintf(stderr, "mmapd: %s\n\n", err);
        srv_config_usage(stderr);
        return 2;
    }
    srv_log_init(cfg.log_level, cfg.access_log);
    /* Access lines are buffered per thread: a crash or an exit() from
     * anywhere still writes them. */
    srv_logbuf_install_crash_flush();

    /* Before any thread exists: libmicrohttpd's threads inherit the mask. */
    if (srv_signals_block() != 0) {
        srv_log(SRV_LOG_ERROR, "cannot block signals");
        return 1;
    }
    /* Before the catalog: a bad token file is a configuration error that
     * should not wait for a large catalog to load. */
    if (cfg.token_file &&
        srv_tokens_load(cfg.token_file, &tokens, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "%s; refusing to start", err);
        goto out;
    }
    if (!cfg.token_file)
        srv_log(SRV_LOG_WARN, "no --token-file: every client that can reach "
                "%s may read, write and delete every mapping",
                cfg.listen_host);
    raise_fd_limit();
    if (open_catalog(&cfg, &catalog) != MC_OK)
        goto out;
    if (api_create(&(struct api_config){
                       .catalog = catalog,
                       .max_body = cfg.max_body,
                       .max_ranges = cfg.max_ranges,
                       .version = MMAPD_VERSION,
                       .threads = cfg.threads,
                       .max_connections = cfg.max_connections,
                       .max_body_memory = cfg.max_body_memory,
                       .cors_origins = cfg.cors_list,
                       .cors_count = cfg.cors_count,
                       .max_wait_s = cfg.max_wait_s,
                       .tokens = tokens,
                   },
                   &api) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot create the api (out of memory)");
        goto out;
    }
    if (srv_daemon_start(&cfg, api, &daemon, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "%s", err);
        goto out;
    }

    srv_config_authority(&cfg, srv_daemon_port(daemon), where, sizeof(where));
    printf("mmapd listening on %s://%s\n", cfg.tls_cert ? "https" : "http",
           where);
    fflush(stdout);

    /* SIGHUP reloads the token file; connections stay open throughout.
     * Between signals this thread writes out the access lines the workers
     * buffered (logbuf.h), and it does so before acting on any signal: a
     * line logged before a SIGHUP is on stderr before what the SIGHUP
     * logs, which tests/clients/lib.sh relies on. */
    for (;;) {
        sig = srv_signals_wait(SRV_LOGBUF_FLUSH_MS);
        srv_logbuf_flush();
        if (sig == 0)
            continue;
        if (sig != SIGHUP)
            break;
        if (cfg.token_file)
            srv_tokens_reload(cfg.token_file, api);
        else
            srv_log(SRV_LOG_INFO, "SIGHUP: no --token-file to reload");
    }
    srv_log(SRV_LOG_INFO, "signal %d received: shutting down", sig);
    srv_daemon_quiesce(daemon);
    /* In slices, so the lines of requests that end meanwhile still reach
     * stderr within SRV_LOGBUF_FLUSH_MS. */
    for (unsigned waited = 0;
         !srv_daemon_drain(daemon, SRV_LOGBUF_FLUSH_MS);
         waited += SRV_LOGBUF_FLUSH_MS) {
        srv_logbuf_flush();
        if (waited + SRV_LOGBUF_FLUSH_MS >= DRAIN_TIMEOUT_MS) {
            srv_log(SRV_LOG_WARN,
                    "requests still in flight after %u ms; closing them",
                    DRAIN_TIMEOUT_MS);
            break;
        }
    }
    srv_daemon_stop(daemon);
    daemon = NULL;
    srv_logbuf_flush(); /* the lines of the drained requests */
    status = 0;

out:
    srv_daemon_stop(daemon);
    api_destroy(api);
    api_tokens_unref(tokens);
    mc_catalog_close(catalog); /* flushes and persists */
    if (status == 0)
        srv_log(SRV_LOG_INFO, "stopped");
    return status;
}
