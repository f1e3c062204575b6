/* config.h - the command line and environment of the mmapd executable.
 *
 * Every flag of the contract (shared API.md, "Command line") has a field in
 * struct srv_config and an environment variable MMAPD_<UPPER_SNAKE>; a flag
 * given on the command line wins over its variable, which wins over the
 * default. srv_config_parse() has no side effects (it neither prints nor
 * exits nor touches the file system), so the unit tests drive it directly.
 *
 * Caveats: string fields are borrowed from argv or from the environment
 * lookup (or are static defaults); they stay valid as long as those do.
 */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "log.h"

#define SRV_DEFAULT_LISTEN "127.0.0.1:8080"
#define SRV_DEFAULT_DATA_DIR "./data"
#define SRV_DEFAULT_MAX_CONNECTIONS 1024u
/* Per client IP address; 0: no limit. Off by default because behind a
 * reverse proxy (deploy/nginx) every connection comes from the proxy's one
 * address, and a per-address cap would throttle all clients at once; set it
 * when clients connect directly. */
#define SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT 0u
/* Memory per connection for the request line, the headers and the response
 * head (libmicrohttpd's pool); a request whose head does not fit is 431. */
#define SRV_DEFAULT_MAX_HEADER_BYTES (16u * 1024u)
#define SRV_DEFAULT_MAX_RANGES 64u
/* Watch (README "Watch"): the cap of Prefer: wait, and how many requests
 * may be held at once; half the default connections, so waiters alone
 * cannot take every slot. */
#define SRV_DEFAULT_MAX_WAIT_S 60u
#define SRV_DEFAULT_MAX_WAITERS 512u
#define SRV_DEFAULT_MAX_BODY (1ull << 30)     /* 1 GiB */
#define SRV_DEFAULT_MAX_MAP_SIZE (1ull << 40) /* 1 TiB */
#define SRV_DEFAULT_TIMEOUT_S 60u
/* A request's headers must be complete this long after its request line
 * arrived, however the bytes trickle in (server/conns.h). */
#define SRV_DEFAULT_HEADER_TIMEOUT_S 10u
/* A request body must arrive at least this fast once its grace (the header
 * timeout) is spent: Apache mod_reqtimeout's default MinRate is 500. */
#define SRV_DEFAULT_MIN_RECEIVE_RATE 512u
/* Request bodies held in memory, all connections together (README "Memory
 * budgets"): 64 of the largest held body (1 MiB atomic write). The minimum
 * leaves room for one such body with its PATCH part headers. */
#define SRV_DEFAULT_MAX_BODY_MEMORY (64ull << 20)
#define SRV_MIN_MAX_BODY_MEMORY (2ull << 20)
/* --cors-origin may be given this many times (or list this many). */
#define SRV_MAX_CORS_ORIGINS 32
#define SRV_ORIGIN_MAX 190 /* = API_ORIGIN_MAX (api_parse.h) */

struct srv_config {
    /* --listen: the numeric address as given (IPv6 without brackets), its
     * port, and the socket address built from both. */
    char listen_host[64];
    uint16_t listen_port;
    bool listen_ipv6;
    bool listen_loopback;
    struct sockaddr_storage listen_addr;
    socklen_t listen_addr_len;

    const char *data_dir;
    uint64_t view_size;   /* 0: the catalog's default */
    uint64_t cache_bytes; /* 0: the catalog's default */
    unsigned threads;
    unsigned max_connections;
    unsigned max_connections_per_client; /* 0: no limit */
    uint64_t max_header_bytes; /* libmicrohttpd connection memory */
    unsigned max_wait_s;  /* cap of Prefer: wait; 0: never wait */
    unsigned max_waiters; /* requests held waiting at once */
    unsigned max_ranges;
    uint64_t max_body;
    uint64_t max_map_size;
    uint64_t max_memory;      /* memory-backed mappings; 0: derived */
    unsigned max_open_files;  /* idle backing files kept open; 0: derived */
    uint64_t max_body_memory; /* request bodies held, all connections */
    unsigned timeout_s; /* idle connection timeout; 0: never */
    unsigned header_timeout_s; /* request line to end of headers; 0: never */
    uint64_t min_receive_rate; /* body bytes per second; 0: no minimum */
    const char *token_file; /* NULL: anonymous (loopback only by default) */
    const char *tls_cert;   /* both or neither of these two */
    const char *tls_key;
    bool allow_anonymous;
    bool access_log;
    enum srv_log_level log_level;
    /* --cors-origin, repeatable (MMAPD_CORS_ORIGIN: comma-separated): the
     * origins in browser form (api_origin_parse), "*" for any. None: CORS
     * is off. cors_list points at each, for struct api_config. */
    char cors_origins[SRV_MAX_CORS_ORIGINS][SRV_ORIGIN_MAX + 1];
    const char *cors_list[SRV_MAX_CORS_ORIGINS];
    size_t cors_count;
    bool cors_any;
};

enum srv_config_result {
    SRV_CONFIG_OK,      /* run the server */
    SRV_CONFIG_HELP,    /* print usage to stdout, exit 0 */
    SRV_CONFIG_VERSION, /* print the version, exit 0 */
    SRV_CONFIG_EVALUE,  /* a bad value or combination: errbuf says; exit 2 */
    SRV_CONFIG_EUSAGE,  /* an unknown flag or argument: errbuf + usage; exit 2 */
};

/* Looks up an environment variable; NULL when unset. getenv fits. */
typedef const char *(*srv_env_fn)(const char *name);

/* Fill *cfg from defaults, then env (may be NULL: no environment), then
 * argv[1..argc). On SRV_CONFIG_EVALUE/EUSAGE errbuf holds one line naming
 * the flag or variable at fault (without a trailing newline). Can be called
 * from any thread; has no side effects besides *cfg and errbuf. */
enum srv_config_result srv_config_parse(int argc, char *const argv[],
                                        srv_env_fn env, struct srv_config *cfg,
                                        char *errbuf, size_t errlen);

/* Print the usage text (every flag, its variable and default) to f. */
void srv_config_usage(FILE *f);

/* Format the listen address as a URL authority ("127.0.0.1:8080",
 * "[::1]:8080") with the given port into buf. */
void srv_config_authority(const struct srv_config *cfg, uint16_t port,
                          char *buf, size_t len);

#endif
