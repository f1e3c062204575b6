/* config.c - flags and environment variables into struct srv_config.
 *
 * One table describes every flag: its name, its variable, how its value is
 * parsed, and the help line. The parser, the usage text and the environment
 * lookup all walk that table, so a flag can't be documented but unparsed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api_parse.h"

enum flag_kind {
    FLAG_LISTEN,  /* ADDR:PORT */
    FLAG_STRING,  /* any non-empty string */
    FLAG_SIZE,    /* api_parse_size, within [min, max] */
    FLAG_VIEW,    /* a size that is a power of two >= the page size */
    FLAG_COUNT,   /* api_parse_u64 into an unsigned, within [min, max] */
    FLAG_BOOL,    /* no value on the command line; true/false in env */
    FLAG_ONOFF,   /* "on" | "off" */
    FLAG_LEVEL,   /* a log level */
    FLAG_ORIGINS, /* web origins, comma-separated; repeatable (appends) */
    FLAG_HELP,    /* --help: no environment variable */
    FLAG_VERSION, /* --version: no environment variable */
};

struct flag {
    const char *name; /* without the leading "--" */
    const char *env;  /* NULL for --help and --version */
    enum flag_kind kind;
    size_t offset; /* of the field in struct srv_config */
    uint64_t min, max;
    const char *arg;  /* metavariable in the usage text */
    const char *dflt; /* default as the usage text shows it */
    const char *help;
};

#define F(field) offsetof(struct srv_config, field)

_Static_assert(SRV_ORIGIN_MAX == API_ORIGIN_MAX, "origin buffers differ");

static const struct flag flags[] = {
    {"listen", "MMAPD_LISTEN", FLAG_LISTEN, F(listen_port), 0, 0, "ADDR:PORT",
     SRV_DEFAULT_LISTEN,
     "address to listen on; IPv6 as [::1]:PORT; port 0 picks a free one"},
    {"data-dir", "MMAPD_DATA_DIR", FLAG_STRING, F(data_dir), 0, 0, "DIR",
     SRV_DEFAULT_DATA_DIR, "data directory, created if missing"},
    {"view-size", "MMAPD_VIEW_SIZE", FLAG_VIEW, F(view_size), 0, 1ull << 40,
     "BYTES", "2MiB", "view granularity: a power of two >= the page size"},
    {"cache-bytes", "MMAPD_CACHE_BYTES", FLAG_SIZE, F(cache_bytes), 1,
     UINT64_MAX, "BYTES", "1GiB", "upper bound on bytes mapped by cached views"},
    {"threads", "MMAPD_THREADS", FLAG_COUNT, F(threads), 1, 1024, "N",
     "online CPUs", "worker threads"},
    {"max-connections", "MMAPD_MAX_CONNECTIONS", FLAG_COUNT,
     F(max_connections), 1, 1000000, "N", "1024", "concurrent connections"},
    {"max-connections-per-client", "MMAPD_MAX_CONNECTIONS_PER_CLIENT",
     FLAG_COUNT, F(max_connections_per_client), 0, 1000000, "N", "0",
     "concurrent connections from one IP address, more are closed at once; "
     "0: no limit (a proxy's clients all share its address)"},
    {"max-wait", "MMAPD_MAX_WAIT", FLAG_COUNT, F(max_wait_s), 0, 3600,
     "SECONDS", "60",
     "longest wait a GET with Prefer: wait=N is held for (N is capped to "
     "it); 0: such GETs are answered at once"},
    {"max-waiters", "MMAPD_MAX_WAITERS", FLAG_COUNT, F(max_waiters), 1,
     1000000, "N", "512",
     "GETs held waiting for a change at once; past it 503 too_many_waiters"},
    {"max-header-bytes", "MMAPD_MAX_HEADER_BYTES", FLAG_SIZE,
     F(max_header_bytes), 8192, 1u << 24, "BYTES", "16KiB",
     "room for a request's line and headers: a longer target is 414, a "
     "larger head 431"},
    {"max-ranges", "MMAPD_MAX_RANGES", FLAG_COUNT, F(max_ranges), 1, 100000,
     "N", "64", "ranges per Range header; past it the whole body is sent"},
    {"max-body", "MMAPD_MAX_BODY", FLAG_SIZE, F(max_body), 1, UINT64_MAX,
     "BYTES", "1GiB", "largest request body accepted"},
    {"max-map-size", "MMAPD_MAX_MAP_SIZE", FLAG_SIZE, F(max_map_size), 1,
     UINT64_MAX, "BYTES", "1TiB", "largest mapping size"},
    {"max-memory", "MMAPD_MAX_MEMORY", FLAG_SIZE, F(max_memory), 1,
     UINT64_MAX, "BYTES", "a quarter of RAM or of the memory cgroup's limit",
     "total size of memory-backed mappings; a create or grow past it is 507"},
    {"max-open-files", "MMAPD_MAX_OPEN_FILES", FLAG_COUNT, F(max_open_files),
     1, 1u << 24, "N",
     "the open-file limit less --max-connections and 256, at least half",
     "backing files kept open while idle; a mapping holds a descriptor only "
     "while in use, the least recently used idle ones are closed"},
    {"max-body-memory", "MMAPD_MAX_BODY_MEMORY", FLAG_SIZE,
     F(max_body_memory), SRV_MIN_MAX_BODY_MEMORY, UINT64_MAX, "BYTES",
     "64MiB",
     "request bodies held in memory, all connections together; past it 503"},
    {"timeout", "MMAPD_TIMEOUT", FLAG_COUNT, F(timeout_s), 0, 86400,
     "SECONDS", "60",
     "close connections idle this long, and those that take this long to "
     "send a request line; 0: never"},
    {"header-timeout", "MMAPD_HEADER_TIMEOUT", FLAG_COUNT,
     F(header_timeout_s), 0, 3600, "SECONDS", "10",
     "drop a connection whose request headers are not complete this long "
     "after its request line, however slowly they trickle; 0: never"},
    {"min-receive-rate", "MMAPD_MIN_RECEIVE_RATE", FLAG_SIZE,
     F(min_receive_rate), 0, UINT64_MAX, "BYTES", "512",
     "per second: drop a request whose body arrives slower, after a grace "
     "of --header-timeout; 0: no minimum"},
    {"token-file", "MMAPD_TOKEN_FILE", FLAG_STRING, F(token_file), 0, 0,
     "FILE", "none",
     "bearer tokens (JSON); reloaded on SIGHUP"},
    {"allow-anonymous", "MMAPD_ALLOW_ANONYMOUS", FLAG_BOOL,
     F(allow_anonymous), 0, 0, NULL, "off",
     "allow listening beyond loopback without a token file"},
    {"tls-cert", "MMAPD_TLS_CERT", FLAG_STRING, F(tls_cert), 0, 0, "FILE",
     "none", "TLS certificate chain (PEM); needs --tls-key"},
    {"tls-key", "MMAPD_TLS_KEY", FLAG_STRING, F(tls_key), 0, 0, "FILE",
     "none", "TLS private key (PEM); needs --tls-cert"},
    {"access-log", "MMAPD_ACCESS_LOG", FLAG_ONOFF, F(access_log), 0, 0,
     "on|off", "on", "one JSON line per request on stderr"},
    {"cors-origin", "MMAPD_CORS_ORIGIN", FLAG_ORIGINS, F(cors_origins), 0, 0,
     "ORIGIN", "none (CORS off)",
     "let web pages of ORIGIN (scheme://host[:port], or *) call the API; "
     "repeatable"},
    {"log-level", "MMAPD_LOG_LEVEL", FLAG_LEVEL, F(log_level), 0, 0,
     "LEVEL", "info", "error, warn, info or debug"},
    {"help", NULL, FLAG_HELP, 0, 0, 0, NULL, NULL, "print this help and exit"},
    {"version", NULL, FLAG_VERSION, 0, 0, 0, NULL, NULL,
     "print the version and exit"},
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static bool fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format an error into errbuf; always returns false so callers can
 * `return fail(...)`. */
static bool fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return false;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* Parse "ADDR:PORT" where ADDR is a numeric IPv4 address, "localhost", or
 * a bracketed numeric IPv6 address. Host names other than localhost are
 * refused: resolving them would make the parser do I/O, and a name that
 * resolves to several addresses is ambiguous for a single listener. */
static bool parse_listen(const char *s, struct srv_config *cfg)
{
    const char *colon;
    size_t hlen;
    uint64_t port;
    const void *raw; /* the binary address inside cfg->listen_addr */
    char host[sizeof(cfg->listen_host)];

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        hlen = (size_t)(close - s - 1);
        colon = close + 1;
        if (hlen == 0 || hlen >= sizeof(host))
            return false;
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        hlen = (size_t)(colon - s);
        if (hlen == 0 || hlen >= sizeof(host) || memchr(s, ':', hlen))
            return false;
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
    }
    if (!api_parse_u64(colon + 1, &port) || port > 65535)
        return false;

    memset(&cfg->listen_addr, 0, sizeof(cfg->listen_addr));
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cfg->listen_addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return false;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        cfg->listen_addr_len = sizeof(*a6);
        cfg->listen_ipv6 = true;
        cfg->listen_loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        raw = &a6->sin6_addr;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&cfg->listen_addr;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return false;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        cfg->listen_addr_len = sizeof(*a4);
        cfg->listen_ipv6 = false;
        /* 127.0.0.0/8 is loopback as a whole. */
        cfg->listen_loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        raw = &a4->sin_addr;
    }
    /* Keep the canonical text of the address for the "listening on" line. */
    if (!inet_ntop(cfg->listen_ipv6 ? AF_INET6 : AF_INET, raw,
                   cfg->listen_host, sizeof(cfg->listen_host)))
        return false;
    cfg->listen_port = (uint16_t)port;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Append the comma-separated origins of val to cfg->cors_origins, each
 * checked and brought to browser form by api_origin_parse. */
static bool add_origins(const char *who, const char *val,
                        struct srv_config *cfg, char *errbuf, size_t errlen)
{
    const char *p = val;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[SRV_ORIGIN_MAX + 2];

        while (len > 0 && *p == ' ')
            p++, len--;
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (cfg->cors_count == SRV_MAX_CORS_ORIGINS)
            return fail(errbuf, errlen, "%s: more than %d origins", who,
                        SRV_MAX_CORS_ORIGINS);
        if (len == 0 || len >= sizeof(one))
            return fail(errbuf, errlen,
                        "%s: invalid origin '%.*s' (want scheme://host[:port] "
                        "or *)",
                        who, (int)(len < 200 ? len : 200), p);
        memcpy(one, p, len);
        one[len] = '\0';
        if (!api_origin_parse(one, cfg->cors_origins[cfg->cors_count],
                              sizeof(cfg->cors_origins[0])))
            return fail(errbuf, errlen,
                        "%s: invalid origin '%s' (want scheme://host[:port] "
                        "with no path, or *)",
                        who, one);
        if (strcmp(one, "*") == 0)
            cfg->cors_any = true;
        cfg->cors_list[cfg->cors_count] = cfg->cors_origins[cfg->cors_count];
        cfg->cors_count++;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

/* Apply one value to the field of flag f. `who` names the source in error
 * messages ("--view-size" or "MMAPD_VIEW_SIZE"). */
static bool apply(const struct flag *f, const char *who, const char *val,
                  struct srv_config *cfg, char *errbuf, size_t errlen)
{
    char *field = (char *)cfg + f->offset;
    uint64_t n;

    switch (f->kind) {
    case FLAG_LISTEN:
        if (!parse_listen(val, cfg))
            return fail(errbuf, errlen,
                        "%s: invalid address '%s' (want IPV4:PORT, "
                        "[IPV6]:PORT or localhost:PORT, port 0-65535)",
                        who, val);
        return true;
    case FLAG_STRING:
        if (val[0] == '\0')
            return fail(errbuf, errlen, "%s: empty value", who);
        memcpy(field, &val, sizeof(val));
        return true;
    case FLAG_SIZE:
    case FLAG_VIEW:
        if (!api_parse_size(val, &n))
            return fail(errbuf, errlen,
                        "%s: invalid size '%s' (want digits with an optional "
                        "unit such as 64KiB, 1MiB, 4GiB)",
                        who, val);
        if (n < f->min || n > f->max)
            return fail(errbuf, errlen,
                        "%s: size '%s' out of range [%" PRIu64 ", %" PRIu64 "]",
                        who, val, f->min, f->max);
        if (f->kind == FLAG_VIEW) {
            long page = sysconf(_SC_PAGESIZE);
            if (page <= 0)
                page = 4096;
            if ((n & (n - 1)) != 0 || n < (uint64_t)page)
                return fail(errbuf, errlen,
                            "%s: '%s' is not a power of two of at least the "
                            "page size (%ld bytes)",
                            who, val, page);
        }
        memcpy(field, &n, sizeof(n));
        return true;
    case FLAG_COUNT: {
        unsigned u;
        if (!api_parse_u64(val, &n))
            return fail(errbuf, errlen,
                        "%s: invalid number '%s' (want decimal digits)", who,
                        val);
        if (n < f->min || n > f->max)
            return fail(errbuf, errlen,
                        "%s: %s out of range [%" PRIu64 ", %" PRIu64 "]", who,
                        val, f->min, f->max);
        u = (unsigned)n;
        memcpy(field, &u, sizeof(u));
        return true;
    }
    case FLAG_BOOL: {
        bool b;
        if (!parse_bool(val, &b))
            return fail(errbuf, errlen,
                        "%s: invalid value '%s' (want true or false)", who,
                        val);
        memcpy(field, &b, sizeof(b));
        return true;
    }
    case FLAG_ONOFF: {
        bool b;
        if (strcmp(val, "on") == 0)
            b = true;
        else if (strcmp(val, "off") == 0)
            b = false;
        else
            return fail(errbuf, errlen,
                        "%s: invalid value '%s' (want on or off)", who, val);
        memcpy(field, &b, sizeof(b));
        return true;
    }
    case FLAG_LEVEL: {
        enum srv_log_level lvl;
        if (!srv_log_level_parse(val, &lvl))
            return fail(errbuf, errlen,
                        "%s: invalid level '%s' (want error, warn, info or "
                        "debug)",
                        who, val);
        memcpy(field, &lvl, sizeof(lvl));
        return true;
    }
    case FLAG_ORIGINS:
        return add_origins(who, val, cfg, errbuf, errlen);
    case FLAG_HELP:
    case FLAG_VERSION:
        break;
    }
    return true;
}

static const struct flag *flag_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        if (strlen(flags[i].name) == len &&
            memcmp(flags[i].name, name, len) == 0)
            return &flags[i];
    }
    return NULL;
}

static void set_defaults(struct srv_config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof(*cfg));
    (void)parse_listen(SRV_DEFAULT_LISTEN, cfg);
    cfg->data_dir = SRV_DEFAULT_DATA_DIR;
    cfg->threads = cpus > 0 ? (unsigned)(cpus > 1024 ? 1024 : cpus) : 1;
    cfg->max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
    cfg->max_connections_per_client = SRV_DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    cfg->max_header_bytes = SRV_DEFAULT_MAX_HEADER_BYTES;
    cfg->max_wait_s = SRV_DEFAULT_MAX_WAIT_S;
    cfg->max_waiters = SRV_DEFAULT_MAX_WAITERS;
    cfg->max_ranges = SRV_DEFAULT_MAX_RANGES;
    cfg->max_body = SRV_DEFAULT_MAX_BODY;
    cfg->max_map_size = SRV_DEFAULT_MAX_MAP_SIZE;
    cfg->max_memory = 0; /* derived when the catalog opens */
    cfg->max_open_files = 0; /* derived when the catalog opens */
    cfg->max_body_memory = SRV_DEFAULT_MAX_BODY_MEMORY;
    cfg->timeout_s = SRV_DEFAULT_TIMEOUT_S;
    cfg->header_timeout_s = SRV_DEFAULT_HEADER_TIMEOUT_S;
    cfg->min_receive_rate = SRV_DEFAULT_MIN_RECEIVE_RATE;
    cfg->access_log = true;
    cfg->log_level = SRV_LOG_INFO;
}

/* The checks that involve several flags. A certificate without its key
 * (or the reverse) is refused rather than served as plain HTTP, since a
 * user who asked for TLS would otherwise send tokens in the clear. */
static bool validate(const struct srv_config *cfg, char *errbuf,
                     size_t errlen)
{
    if (cfg->tls_cert && !cfg->tls_key)
        return fail(errbuf, errlen,
                    "--tls-cert needs --tls-key (give both or neither)");
    if (cfg->tls_key && !cfg->tls_cert)
        return fail(errbuf, errlen,
                    "--tls-key needs --tls-cert (give both or neither)");
    /* "*" lets a page of any site act with a token its user pasted or
     * that a script took from storage; with tokens, name the sites. */
    if (cfg->cors_any && cfg->token_file)
        return fail(errbuf, errlen,
                    "--cors-origin '*' cannot be used with --token-file: any "
                    "web site could then call the API with a user's token; "
                    "list the allowed origins instead");
    if (!cfg->listen_loopback && !cfg->token_file && !cfg->allow_anonymous)
        return fail(errbuf, errlen,
                    "--listen %s is not a loopback address: that needs "
                    "--token-file, or --allow-anonymous to serve everyone",
                    cfg->listen_host);
    return true;
}

enum srv_config_result srv_config_parse(int argc, char *const argv[],
                                        srv_env_fn env, struct srv_config *cfg,
                                        char *errbuf, size_t errlen)
{
    bool seen[NFLAGS] = {false};

    if (errlen > 0)
        errbuf[0] = '\0';
    set_defaults(cfg);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name, *eq, *val;
        const struct flag *f;
        char who[64];

        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fail(errbuf, errlen, "unexpected argument '%s'", arg);
            return SRV_CONFIG_EUSAGE;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        f = flag_find(name, eq ? (size_t)(eq - name) : strlen(name));
        if (!f) {
            fail(errbuf, errlen, "unknown flag '%s'", arg);
            return SRV_CONFIG_EUSAGE;
        }
        snprintf(who, sizeof(who), "--%s", f->name);
        if (f->kind == FLAG_HELP || f->kind == FLAG_VERSION) {
            if (eq) {
                fail(errbuf, errlen, "%s takes no value", who);
                return SRV_CONFIG_EVALUE;
            }
            return f->kind == FLAG_HELP ? SRV_CONFIG_HELP : SRV_CONFIG_VERSION;
        }
        if (eq) {
            val = eq + 1;
        } else if (f->kind == FLAG_BOOL) {
            val = "true";
        } else {
            if (i + 1 >= argc) {
                fail(errbuf, errlen, "%s needs a value", who);
                return SRV_CONFIG_EVALUE;
            }
            val = argv[++i];
        }
        if (!apply(f, who, val, cfg, errbuf, errlen))
            return SRV_CONFIG_EVALUE;
        seen[f - flags] = true;
    }

    /* The environment fills in only what the command line left alone, so a
     * bad variable shadowed by a flag is never even looked at. */
    for (size_t i = 0; env && i < NFLAGS; i++) {
        const char *val;
        if (seen[i] || !flags[i].env)
            continue;
        val = env(flags[i].env);
        if (val && !apply(&flags[i], flags[i].env, val, cfg, errbuf, errlen))
            return SRV_CONFIG_EVALUE;
    }

    if (!validate(cfg, errbuf, errlen))
        return SRV_CONFIG_EVALUE;
    return SRV_CONFIG_OK;
}

void srv_config_usage(FILE *f)
{
    fputs("usage: mmapd [flags]\n\n"
          "Serves named memory-mapped files over HTTP. Every flag can also "
          "be set\nby the environment variable shown; a flag wins over its "
          "variable.\nFlags take '--flag VALUE' or '--flag=VALUE'; sizes "
          "accept B, KiB, MiB,\nGiB, TiB (binary units).\n\n",
          f);
    for (size_t i = 0; i < NFLAGS; i++) {
        char lhs[64];
        const struct flag *fl = &flags[i];

        snprintf(lhs, sizeof(lhs), "--%s%s%s", fl->name, fl->arg ? " " : "",
                 fl->arg ? fl->arg : "");
        fprintf(f, "  %-30s %s\n", lhs, fl->help);
        if (fl->env)
            fprintf(f, "  %-30s env %s, default %s\n", "", fl->env, fl->dflt);
    }
}

void srv_config_authority(const struct srv_config *cfg, uint16_t port,
                          char *buf, size_t len)
{
    if (cfg->listen_ipv6)
        snprintf(buf, len, "[%s]:%u", cfg->listen_host, (unsigned)port);
    else
        snprintf(buf, len, "%s:%u", cfg->listen_host, (unsigned)port);
}
