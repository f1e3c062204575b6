/* test_config.c - proves that srv_config_parse() turns flags and environment
 * variables into the documented configuration: the defaults, both flag
 * forms, every variable, a flag winning over its variable, size suffixes,
 * and that every malformed value, unknown flag and bad combination (a
 * certificate without its key, a public address without a token file or
 * --allow-anonymous) is refused with a message naming the flag at fault.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

/* A fake environment: NULL-terminated pairs "NAME", "VALUE". */
static const char *const *fake_env;

static const char *env_lookup(const char *name)
{
    for (size_t i = 0; fake_env && fake_env[i]; i += 2) {
        if (strcmp(fake_env[i], name) == 0)
            return fake_env[i + 1];
    }
    return NULL;
}

/* Parse argv (NULL-terminated, program name first) with env pairs. */
static enum srv_config_result parse(const char *const *argv,
                                    const char *const *env,
                                    struct srv_config *cfg, char *err,
                                    size_t errlen)
{
    int argc = 0;

    while (argv[argc])
        argc++;
    fake_env = env;
    return srv_config_parse(argc, (char *const *)argv, env_lookup, cfg, err,
                            errlen);
}

#define ARGS(...) ((const char *const[]){"mmapd", __VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){"mmapd", NULL})
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expect a parse failure of the given kind whose message mentions `who`. */
static void expect_fail(const char *const *argv, const char *const *env,
                        enum srv_config_result want, const char *who)
{
    struct srv_config cfg;
    char err[256];
    enum srv_config_result got = parse(argv, env, &cfg, err, sizeof(err));

    if (got != want)
        TEST_FAIL("argv[1]=%s: result %d, want %d (err: %s)",
                  argv[1] ? argv[1] : "(none)", (int)got, (int)want, err);
    if (!strstr(err, who))
        TEST_FAIL("argv[1]=%s: message \"%s\" does not name %s",
                  argv[1] ? argv[1] : "(none)", err, who);
}

static void expect_ok(const char *const *argv, const char *const *env,
                      struct srv_config *cfg)
{
    char err[256];
    enum srv_config_result got = parse(argv, env, cfg, err, sizeof(err));

    if (got != SRV_CONFIG_OK)
        TEST_FAIL("argv[1]=%s: result %d, want OK (err: %s)",
                  argv[1] ? argv[1] : "(none)", (int)got, err);
}

TEST(defaults)
{
    struct srv_config cfg;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    expect_ok(NOARGS, NULL, &cfg);
    CHECK_EQ_STR(cfg.listen_host, "127.0.0.1");
    CHECK_EQ_U64(cfg.listen_port, 8080);
    CHECK(!cfg.listen_ipv6);
    CHECK(cfg.listen_loopback);
    CHECK_EQ_STR(cfg.data_dir, "./data");
    CHECK_EQ_U64(cfg.view_size, 0);
    CHECK_EQ_U64(cfg.cache_bytes, 0);
    CHECK_EQ_U64(cfg.threads, cpus > 0 ? (uint64_t)cpus : 1);
    CHECK_EQ_U64(cfg.max_connections, 1024);
    CHECK_EQ_U64(cfg.max_connections_per_client, 0);
    CHECK_EQ_U64(cfg.max_header_bytes, 16 * 1024);
    CHECK_EQ_U64(cfg.max_ranges, 64);
    CHECK_EQ_U64(cfg.max_body, 1ull << 30);
    CHECK_EQ_U64(cfg.max_map_size, 1ull << 40);
    CHECK_EQ_U64(cfg.max_memory, 0); /* derived when the catalog opens */
    CHECK_EQ_U64(cfg.max_open_files, 0); /* derived likewise */
    CHECK_EQ_U64(cfg.max_body_memory, 64ull << 20);
    CHECK_EQ_U64(cfg.timeout_s, 60);
    CHECK_EQ_U64(cfg.header_timeout_s, 10);
    CHECK_EQ_U64(cfg.min_receive_rate, 512);
    CHECK(cfg.token_file == NULL);
    CHECK(cfg.tls_cert == NULL && cfg.tls_key == NULL);
    CHECK(!cfg.allow_anonymous);
    CHECK(cfg.access_log);
    CHECK(cfg.log_level == SRV_LOG_INFO);
}

TEST(flags_both_forms)
{
    struct srv_config cfg;

    expect_ok(ARGS("--listen", "127.0.0.2:0", "--data-dir=/tmp/d",
                   "--view-size", "64KiB", "--cache-bytes=1GiB",
                   "--threads", "3", "--max-connections=10",
                   "--max-ranges", "5", "--max-body=2MiB",
                   "--max-map-size", "4GiB", "--timeout=7",
                   "--header-timeout", "3", "--min-receive-rate=2KiB",
                   "--access-log", "off", "--log-level=debug"),
              NULL, &cfg);
    CHECK_EQ_STR(cfg.listen_host, "127.0.0.2");
    CHECK_EQ_U64(cfg.listen_port, 0);
    CHECK(cfg.listen_loopback);
    CHECK_EQ_STR(cfg.data_dir, "/tmp/d");
    CHECK_EQ_U64(cfg.view_size, 64 * 1024);
    CHECK_EQ_U64(cfg.cache_bytes, 1ull << 30);
    CHECK_EQ_U64(cfg.threads, 3);
    CHECK_EQ_U64(cfg.max_connections, 10);
    CHECK_EQ_U64(cfg.max_ranges, 5);
    CHECK_EQ_U64(cfg.max_body, 2u << 20);
    CHECK_EQ_U64(cfg.max_map_size, 4ull << 30);
    CHECK_EQ_U64(cfg.timeout_s, 7);
    CHECK_EQ_U64(cfg.header_timeout_s, 3);
    CHECK_EQ_U64(cfg.min_receive_rate, 2048);
    CHECK(!cfg.access_log);
    CHECK(cfg.log_level == SRV_LOG_DEBUG);
}

/* The memory budgets (README "Memory budgets"): sizes with units, from the
 * command line or the environment; --max-memory has no fixed default (0
 * here: the catalog derives it), and --max-body-memory must leave room for
 * one held body with its PATCH part headers. */
TEST(memory_budget_flags)
{
    struct srv_config cfg;

    expect_ok(ARGS("--max-memory", "512MiB", "--max-body-memory=16MiB"), NULL,
              &cfg);
    CHECK_EQ_U64(cfg.max_memory, 512ull << 20);
    CHECK_EQ_U64(cfg.max_body_memory, 16ull << 20);
    expect_ok(NOARGS, ENV("MMAPD_MAX_MEMORY", "2GiB"), &cfg);
    CHECK_EQ_U64(cfg.max_memory, 2ull << 30);
    CHECK_EQ_U64(cfg.max_body_memory, 64ull << 20);
    expect_ok(NOARGS, ENV("MMAPD_MAX_BODY_MEMORY", "2MiB"), &cfg);
    CHECK_EQ_U64(cfg.max_body_memory, 2ull << 20);
    /* The flag wins over its variable. */
    expect_ok(ARGS("--max-memory", "1GiB"), ENV("MMAPD_MAX_MEMORY", "2GiB"),
              &cfg);
    CHECK_EQ_U64(cfg.max_memory, 1ull << 30);

    expect_fail(ARGS("--max-memory", "0"), NULL, SRV_CONFIG_EVALUE,
                "--max-memory");
    expect_ok(ARGS("--max-open-files", "64"), NULL, &cfg);
    CHECK_EQ_U64(cfg.max_open_files, 64);
    expect_ok(NOARGS, ENV("MMAPD_MAX_OPEN_FILES", "300"), &cfg);
    CHECK_EQ_U64(cfg.max_open_files, 300);
    expect_ok(ARGS("--max-open-files", "20"), ENV("MMAPD_MAX_OPEN_FILES", "300"),
              &cfg);
    CHECK_EQ_U64(cfg.max_open_files, 20);
    expect_fail(ARGS("--max-open-files", "0"), NULL, SRV_CONFIG_EVALUE,
                "--max-open-files");
    expect_fail(ARGS("--max-open-files", "-1"), NULL, SRV_CONFIG_EVALUE,
                "--max-open-files");
    expect_fail(ARGS("--max-open-files", "16777217"), NULL, SRV_CONFIG_EVALUE,
                "--max-open-files");
    expect_fail(ARGS("--max-open-files", "x"), NULL, SRV_CONFIG_EVALUE,
                "--max-open-files");
    expect_fail(NOARGS, ENV("MMAPD_MAX_OPEN_FILES", "1k"), SRV_CONFIG_EVALUE,
                "MMAPD_MAX_OPEN_FILES");
    expect_fail(ARGS("--max-memory", "-1GiB"), NULL, SRV_CONFIG_EVALUE,
                "--max-memory");
    expect_fail(ARGS("--max-memory"), NULL, SRV_CONFIG_EVALUE,
                "--max-memory");
    expect_fail(ARGS("--max-body-memory", "1MiB"), NULL, SRV_CONFIG_EVALUE,
                "--max-body-memory");
    expect_fail(ARGS("--max-body-memory", "lots"), NULL, SRV_CONFIG_EVALUE,
                "--max-body-memory");
    expect_fail(NOARGS, ENV("MMAPD_MAX_MEMORY", "1.5GiB"), SRV_CONFIG_EVALUE,
                "MMAPD_MAX_MEMORY");
    expect_fail(NOARGS, ENV("MMAPD_MAX_BODY_MEMORY", "0"), SRV_CONFIG_EVALUE,
                "MMAPD_MAX_BODY_MEMORY");
}

TEST(listen_forms)
{
    struct srv_config cfg;

    expect_ok(ARGS("--listen", "[::1]:9000"), NULL, &cfg);
    CHECK(cfg.listen_ipv6);
    CHECK(cfg.listen_loopback);
    CHECK_EQ_STR(cfg.listen_host, "::1");
    CHECK_EQ_U64(cfg.listen_port, 9000);
    CHECK_EQ_U64(cfg.listen_addr.ss_family, AF_INET6);

    expect_ok(ARGS("--listen=localhost:65535"), NULL, &cfg);
    CHECK_EQ_STR(cfg.listen_host, "127.0.0.1");
    CHECK_EQ_U64(cfg.listen_port, 65535);
    CHECK_EQ_U64(cfg.listen_addr.ss_family, AF_INET);

    expect_ok(ARGS("--listen", "0.0.0.0:80", "--allow-anonymous"), NULL, &cfg);
    CHECK(!cfg.listen_loopback);
    CHECK(cfg.allow_anonymous);

    char buf[64];
    expect_ok(ARGS("--listen", "[::1]:0"), NULL, &cfg);
    srv_config_authority(&cfg, 4242, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "[::1]:4242");
    expect_ok(ARGS("--listen", "127.0.0.1:0"), NULL, &cfg);
    srv_config_authority(&cfg, 4242, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "127.0.0.1:4242");
}

TEST(bad_listen)
{
    static const char *const bad[] = {
        "127.0.0.1",        /* no port */
        "127.0.0.1:",       /* empty port */
        ":8080",            /* empty host */
        "127.0.0.1:65536",  /* port too large */
        "127.0.0.1:-1",     /* negative port */
        "127.0.0.1:8o",     /* garbage port */
        "127.0.0.1:80 ",    /* trailing blank */
        "300.0.0.1:80",     /* not an address */
        "example.com:80",   /* host names are not resolved */
        "::1:80",           /* IPv6 without brackets */
        "[::1]80",          /* no colon after the bracket */
        "[::1:80",          /* unclosed bracket */
        "[]:80",            /* empty brackets */
        "[127.0.0.1]:80",   /* IPv4 in brackets */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_fail(ARGS("--listen", bad[i]), NULL, SRV_CONFIG_EVALUE,
                    "--listen");
}

TEST(env_and_flag_over_env)
{
    struct srv_config cfg;
    const char *const *env =
        ENV("MMAPD_DATA_DIR", "/env/dir", "MMAPD_VIEW_SIZE", "128KiB",
            "MMAPD_THREADS", "2", "MMAPD_LISTEN", "[::1]:81",
            "MMAPD_MAX_BODY", "3MiB", "MMAPD_MAX_MAP_SIZE", "1TiB",
            "MMAPD_CACHE_BYTES", "16MiB", "MMAPD_MAX_CONNECTIONS", "9",
            "MMAPD_MAX_RANGES", "8", "MMAPD_TIMEOUT", "0",
            "MMAPD_ACCESS_LOG", "off", "MMAPD_LOG_LEVEL", "warn",
            "MMAPD_ALLOW_ANONYMOUS", "true");

    expect_ok(NOARGS, env, &cfg);
    CHECK_EQ_STR(cfg.data_dir, "/env/dir");
    CHECK_EQ_U64(cfg.view_size, 128 * 1024);
    CHECK_EQ_U64(cfg.threads, 2);
    CHECK(cfg.listen_ipv6);
    CHECK_EQ_U64(cfg.listen_port, 81);
    CHECK_EQ_U64(cfg.max_body, 3u << 20);
    CHECK_EQ_U64(cfg.max_map_size, 1ull << 40);
    CHECK_EQ_U64(cfg.cache_bytes, 16u << 20);
    CHECK_EQ_U64(cfg.max_connections, 9);
    CHECK_EQ_U64(cfg.max_ranges, 8);
    CHECK_EQ_U64(cfg.timeout_s, 0);
    CHECK(!cfg.access_log);
    CHECK(cfg.log_level == SRV_LOG_WARN);
    CHECK(cfg.allow_anonymous);

    expect_ok(ARGS("--data-dir", "/flag/dir", "--view-size=64KiB"), env, &cfg);
    CHECK_EQ_STR(cfg.data_dir, "/flag/dir");
    CHECK_EQ_U64(cfg.view_size, 64 * 1024);
    CHECK_EQ_U64(cfg.threads, 2); /* untouched by flags: still from env */

    /* A bad variable shadowed by its flag is never looked at. */
    expect_ok(ARGS("--threads", "4"), ENV("MMAPD_THREADS", "lots"), &cfg);
    CHECK_EQ_U64(cfg.threads, 4);
}

TEST(size_suffixes)
{
    static const struct {
        const char *text;
        uint64_t want;
    } cases[] = {
        {"4096", 4096},          {"64KiB", 64 << 10}, {"64K", 64 << 10},
        {"1MiB", 1 << 20},       {"1mb", 1 << 20},    {"4GiB", 4ull << 30},
        {"2TiB", 2ull << 40},    {"512B", 512},
    };
    struct srv_config cfg;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_ok(ARGS("--max-body", cases[i].text), NULL, &cfg);
        CHECK_EQ_U64(cfg.max_body, cases[i].want);
    }
}

TEST(bad_sizes)
{
    static const char *const flags[] = {"--max-body", "--max-map-size",
                                        "--cache-bytes", "--view-size",
                                        "--max-memory", "--max-body-memory"};
    static const char *const bad[] = {
        "-1", "", "abc", "12XB", "1.5MiB", " 64", "64 KiB", "0x10",
        "99999999999999999999", "17179869184TiB", /* overflow */
        "0",
    };
    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            expect_fail(ARGS(flags[f], bad[i]), NULL, SRV_CONFIG_EVALUE,
                        flags[f]);
    }
    expect_fail(NOARGS, ENV("MMAPD_MAX_BODY", "lots"), SRV_CONFIG_EVALUE,
                "MMAPD_MAX_BODY");
}

TEST(view_size_power_of_two)
{
    struct srv_config cfg;
    long page = sysconf(_SC_PAGESIZE);
    char half[32];

    expect_fail(ARGS("--view-size", "96KiB"), NULL, SRV_CONFIG_EVALUE,
                "--view-size");
    expect_fail(ARGS("--view-size", "65537"), NULL, SRV_CONFIG_EVALUE,
                "--view-size");
    snprintf(half, sizeof(half), "%ld", page / 2);
    expect_fail(ARGS("--view-size", half), NULL, SRV_CONFIG_EVALUE,
                "--view-size");
    expect_fail(NOARGS, ENV("MMAPD_VIEW_SIZE", "3MiB"), SRV_CONFIG_EVALUE,
                "MMAPD_VIEW_SIZE");
    expect_ok(ARGS("--view-size", "2MiB"), NULL, &cfg);
    CHECK_EQ_U64(cfg.view_size, 2u << 20);
}

TEST(bad_numbers)
{
    static const char *const flags[] = {"--threads", "--max-connections",
                                        "--max-ranges", "--timeout",
                                        "--max-connections-per-client",
                                        "--max-wait", "--max-waiters"};
    static const char *const bad[] = {
        "-1", "+3", "", "x", "3x", " 3", "1e3", "18446744073709551616",
        "4294967297", /* would wrap to 1 as an unsigned */
    };
    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            expect_fail(ARGS(flags[f], bad[i]), NULL, SRV_CONFIG_EVALUE,
                        flags[f]);
    }
    /* Zero threads, connections or ranges make no sense. */
    expect_fail(ARGS("--threads", "0"), NULL, SRV_CONFIG_EVALUE, "--threads");
    expect_fail(ARGS("--max-connections=0"), NULL, SRV_CONFIG_EVALUE,
                "--max-connections");
    expect_fail(ARGS("--max-ranges=0"), NULL, SRV_CONFIG_EVALUE,
                "--max-ranges");
}

/* The connection limits: flags, variables, and their bounds. The header
 * room must leave libmicrohttpd space for a request head at all (8 KiB at
 * least) and cannot be made unbounded. */
TEST(connection_limits)
{
    struct srv_config cfg;

    expect_ok(ARGS("--max-connections-per-client", "3",
                   "--max-header-bytes", "16KiB"),
              NULL, &cfg);
    CHECK_EQ_U64(cfg.max_connections_per_client, 3);
    CHECK_EQ_U64(cfg.max_header_bytes, 16 * 1024);
    expect_ok(NOARGS,
              ENV("MMAPD_MAX_CONNECTIONS_PER_CLIENT", "5",
                  "MMAPD_MAX_HEADER_BYTES", "1MiB"),
              &cfg);
    CHECK_EQ_U64(cfg.max_connections_per_client, 5);
    CHECK_EQ_U64(cfg.max_header_bytes, 1u << 20);
    expect_ok(ARGS("--max-connections-per-client=0"), NULL, &cfg);
    CHECK_EQ_U64(cfg.max_connections_per_client, 0); /* no limit */
    expect_fail(ARGS("--max-connections-per-client=1000001"), NULL,
                SRV_CONFIG_EVALUE, "--max-connections-per-client");
    expect_fail(ARGS("--max-header-bytes", "4KiB"), NULL, SRV_CONFIG_EVALUE,
                "--max-header-bytes");
    expect_fail(ARGS("--max-header-bytes", "1GiB"), NULL, SRV_CONFIG_EVALUE,
                "--max-header-bytes");
    expect_fail(ARGS("--max-header-bytes", "-1"), NULL, SRV_CONFIG_EVALUE,
                "--max-header-bytes");
}

TEST(bad_switches)
{
    expect_fail(ARGS("--access-log", "maybe"), NULL, SRV_CONFIG_EVALUE,
                "--access-log");
    expect_fail(ARGS("--log-level", "loud"), NULL, SRV_CONFIG_EVALUE,
                "--log-level");
    expect_fail(ARGS("--allow-anonymous=perhaps"), NULL, SRV_CONFIG_EVALUE,
                "--allow-anonymous");
    expect_fail(NOARGS, ENV("MMAPD_ALLOW_ANONYMOUS", "2"), SRV_CONFIG_EVALUE,
                "MMAPD_ALLOW_ANONYMOUS");
    expect_fail(ARGS("--data-dir", ""), NULL, SRV_CONFIG_EVALUE, "--data-dir");
    expect_fail(ARGS("--data-dir"), NULL, SRV_CONFIG_EVALUE, "--data-dir");
}

TEST(unknown_flags)
{
    expect_fail(ARGS("--frobnicate"), NULL, SRV_CONFIG_EUSAGE, "--frobnicate");
    expect_fail(ARGS("--listen-on=1"), NULL, SRV_CONFIG_EUSAGE, "--listen-on");
    expect_fail(ARGS("-h"), NULL, SRV_CONFIG_EUSAGE, "-h");
    expect_fail(ARGS("data"), NULL, SRV_CONFIG_EUSAGE, "data");
    expect_fail(ARGS("--"), NULL, SRV_CONFIG_EUSAGE, "--");
}

TEST(help_and_version)
{
    struct srv_config cfg;
    char err[128];

    CHECK(parse(ARGS("--help"), NULL, &cfg, err, sizeof(err)) ==
          SRV_CONFIG_HELP);
    CHECK(parse(ARGS("--threads", "2", "--version"), NULL, &cfg, err,
                sizeof(err)) == SRV_CONFIG_VERSION);
    expect_fail(ARGS("--version=1"), NULL, SRV_CONFIG_EVALUE, "--version");
}

TEST(token_file_and_tls_accepted)
{
    struct srv_config cfg;

    /* The parser only records the paths; the server reads the files. */
    expect_ok(ARGS("--token-file", "/etc/tokens.json"), NULL, &cfg);
    CHECK_EQ_STR(cfg.token_file, "/etc/tokens.json");
    expect_ok(NOARGS, ENV("MMAPD_TOKEN_FILE", "t.json"), &cfg);
    CHECK_EQ_STR(cfg.token_file, "t.json");
    expect_ok(ARGS("--tls-cert", "c.pem", "--tls-key", "k.pem"), NULL, &cfg);
    CHECK_EQ_STR(cfg.tls_cert, "c.pem");
    CHECK_EQ_STR(cfg.tls_key, "k.pem");
    expect_ok(NOARGS, ENV("MMAPD_TLS_CERT", "c.pem", "MMAPD_TLS_KEY", "k.pem"),
              &cfg);
    CHECK_EQ_STR(cfg.tls_cert, "c.pem");
    expect_fail(ARGS("--token-file", ""), NULL, SRV_CONFIG_EVALUE,
                "--token-file: empty value");
}

TEST(tls_needs_cert_and_key)
{
    expect_fail(ARGS("--tls-cert", "c.pem"), NULL, SRV_CONFIG_EVALUE,
                "--tls-cert needs --tls-key");
    expect_fail(ARGS("--tls-key", "k.pem"), NULL, SRV_CONFIG_EVALUE,
                "--tls-key needs --tls-cert");
    expect_fail(NOARGS, ENV("MMAPD_TLS_CERT", "c.pem"), SRV_CONFIG_EVALUE,
                "--tls-cert needs --tls-key");
}

TEST(non_loopback_needs_allow_anonymous)
{
    struct srv_config cfg;

    expect_fail(ARGS("--listen", "0.0.0.0:8080"), NULL, SRV_CONFIG_EVALUE,
                "--allow-anonymous");
    expect_fail(ARGS("--listen", "[::]:8080"), NULL, SRV_CONFIG_EVALUE,
                "--allow-anonymous");
    expect_ok(ARGS("--listen", "[::]:8080", "--allow-anonymous"), NULL, &cfg);
    expect_ok(ARGS("--listen", "0.0.0.0:8080"),
              ENV("MMAPD_ALLOW_ANONYMOUS", "yes"), &cfg);
    /* With a token file every request but the probes is authenticated, so
     * any address is fine. */
    expect_ok(ARGS("--listen", "0.0.0.0:8080", "--token-file", "t.json"), NULL,
              &cfg);
    expect_ok(ARGS("--listen", "[::]:8080"), ENV("MMAPD_TOKEN_FILE", "t.json"),
              &cfg);
}

TEST(usage_lists_every_flag)
{
    static const char *const names[] = {
        "--listen", "--data-dir", "--view-size", "--cache-bytes",
        "--threads", "--max-connections", "--max-ranges", "--max-body",
        "--max-map-size", "--timeout", "--header-timeout",
        "--min-receive-rate", "--token-file", "--allow-anonymous",
        "--tls-cert", "--tls-key", "--access-log", "--log-level", "--help",
        "--max-memory", "MMAPD_MAX_MEMORY", "--max-body-memory",
        "--max-open-files", "MMAPD_MAX_OPEN_FILES",
        "MMAPD_MAX_BODY_MEMORY",
        "--version", "MMAPD_DATA_DIR", "MMAPD_VIEW_SIZE", "MMAPD_LISTEN",
        "127.0.0.1:8080", "./data",
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    srv_config_usage(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strstr(text, names[i]))
            TEST_FAIL("usage does not mention %s", names[i]);
    }
    free(text);
}

TEST(cors_origins)
{
    struct srv_config cfg;

    expect_ok(NOARGS, NULL, &cfg);
    CHECK_EQ_U64(cfg.cors_count, 0);
    expect_ok(ARGS("--cors-origin", "https://App.example:443",
                   "--cors-origin=http://localhost:3000"),
              NULL, &cfg);
    CHECK_EQ_U64(cfg.cors_count, 2);
    CHECK_EQ_STR(cfg.cors_list[0], "https://app.example");
    CHECK_EQ_STR(cfg.cors_list[1], "http://localhost:3000");
    CHECK(!cfg.cors_any);
    expect_ok(NOARGS, ENV("MMAPD_CORS_ORIGIN", "https://a.example, http://b:81"),
              &cfg);
    CHECK_EQ_U64(cfg.cors_count, 2);
    CHECK_EQ_STR(cfg.cors_list[1], "http://b:81");
    /* The flag replaces the variable's whole list. */
    expect_ok(ARGS("--cors-origin", "*"), ENV("MMAPD_CORS_ORIGIN", "http://a"),
              &cfg);
    CHECK_EQ_U64(cfg.cors_count, 1);
    CHECK(cfg.cors_any);
    expect_fail(ARGS("--cors-origin", "https://a.example/"), NULL,
                SRV_CONFIG_EVALUE, "--cors-origin");
    expect_fail(ARGS("--cors-origin", "a.example"), NULL, SRV_CONFIG_EVALUE,
                "--cors-origin");
    expect_fail(ARGS("--cors-origin", ""), NULL, SRV_CONFIG_EVALUE,
                "--cors-origin");
    expect_fail(NOARGS, ENV("MMAPD_CORS_ORIGIN", "http://a,,http://b"),
                SRV_CONFIG_EVALUE, "MMAPD_CORS_ORIGIN");
    expect_fail(NOARGS, ENV("MMAPD_CORS_ORIGIN", "http://a,null"),
                SRV_CONFIG_EVALUE, "MMAPD_CORS_ORIGIN");
    /* Any site with a user's token: refused at start. */
    expect_fail(ARGS("--cors-origin", "*", "--token-file", "t.json"), NULL,
                SRV_CONFIG_EVALUE, "--token-file");
    expect_ok(ARGS("--cors-origin", "http://a", "--token-file", "t.json"), NULL,
              &cfg);
}

/* Watch: the cap of Prefer: wait (0 turns waiting off) and the bound on
 * held requests (at least one), by flag and by variable. */
TEST(watch_limits)
{
    struct srv_config cfg;

    expect_ok(NOARGS, NULL, &cfg);
    CHECK_EQ_U64(cfg.max_wait_s, 60);
    CHECK_EQ_U64(cfg.max_waiters, 512);
    expect_ok(ARGS("--max-wait", "5", "--max-waiters=2000"), NULL, &cfg);
    CHECK_EQ_U64(cfg.max_wait_s, 5);
    CHECK_EQ_U64(cfg.max_waiters, 2000);
    expect_ok(NOARGS, ENV("MMAPD_MAX_WAIT", "0", "MMAPD_MAX_WAITERS", "7"),
              &cfg);
    CHECK_EQ_U64(cfg.max_wait_s, 0);
    CHECK_EQ_U64(cfg.max_waiters, 7);
    expect_fail(ARGS("--max-wait=3601"), NULL, SRV_CONFIG_EVALUE,
                "--max-wait");
    expect_fail(ARGS("--max-waiters=0"), NULL, SRV_CONFIG_EVALUE,
                "--max-waiters");
    expect_fail(ARGS("--max-waiters=1000001"), NULL, SRV_CONFIG_EVALUE,
                "--max-waiters");
}

TEST_MAIN()
