/* test_auth.c - bearer tokens without a socket.
 *
 * Proves: the token-file parser accepts the documented format and refuses
 * every malformed or ambiguous file with a message that says where (and
 * never quotes a secret); authentication accepts exactly the listed tokens
 * in the Bearer scheme; prefix scopes decide read, write and admin as
 * shared API.md says (write does not imply read, admin needs write on the
 * name); every operation of the api asks for the right permission and
 * answers 401 (with WWW-Authenticate) or 403 problems; the listing shows
 * only readable names; and swapping the table while exchanges run is safe
 * (run under TSan by ./dev.sh test-tsan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "check.h"
#include "mapcore/mc_catalog.h"

static struct api_tokens *parse_ok(const char *text)
{
    struct api_tokens *t = NULL;
    char err[256];

    if (api_tokens_parse(text, strlen(text), &t, err, sizeof(err)) != 0)
        TEST_FAIL("parse of %s failed: %s", text, err);
    CHECK(t != NULL);
    return t;
}

/* Expect text to be refused with a message containing `why`. */
static void parse_bad(const char *text, const char *why)
{
    struct api_tokens *t = (struct api_tokens *)&t; /* must become NULL */
    char err[256];

    if (api_tokens_parse(text, strlen(text), &t, err, sizeof(err)) == 0)
        TEST_FAIL("parse of %s succeeded, want an error about \"%s\"", text,
                  why);
    CHECK(t == NULL);
    if (strstr(err, why) == NULL)
        TEST_FAIL("parse of %s: message \"%s\" lacks \"%s\"", text, err, why);
    /* Messages go to the log; the secrets in these inputs all contain
     * "SECRET", which must never be echoed. */
    if (strstr(err, "SECRET") != NULL)
        TEST_FAIL("message \"%s\" quotes a secret", err);
}

static const struct api_token *auth_ok(const struct api_tokens *t,
                                       const char *header)
{
    const struct api_token *tok = NULL;

    if (api_tokens_authenticate(t, header, &tok) != API_AUTH_OK)
        TEST_FAIL("header \"%s\" was not accepted", header);
    CHECK(tok != NULL);
    return tok;
}

static void auth_is(const struct api_tokens *t, const char *header,
                    enum api_auth_result want)
{
    const struct api_token *tok = (const struct api_token *)&tok;
    enum api_auth_result got = api_tokens_authenticate(t, header, &tok);

    if (got != want)
        TEST_FAIL("header \"%s\": result %d, want %d",
                  header ? header : "(none)", (int)got, (int)want);
    CHECK(tok == NULL);
}

TEST(parse_documented_example)
{
    struct api_tokens *t = parse_ok(
        "{\"tokens\": [{\"token\": \"s3cret\", \"read\": [\"*\"], "
        "\"write\": [\"app-\"], \"admin\": false}]}");
    const struct api_token *tok;

    CHECK_EQ_U64(api_tokens_count(t), 1);
    tok = auth_ok(t, "Bearer s3cret");
    CHECK_EQ_U64(api_token_index(tok), 0);
    CHECK(api_token_may(tok, API_PERM_READ, "anything"));
    CHECK(api_token_may(tok, API_PERM_WRITE, "app-1"));
    CHECK(!api_token_may(tok, API_PERM_WRITE, "db"));
    CHECK(!api_token_may(tok, API_PERM_ADMIN, "app-1"));
    api_tokens_unref(t);
}

TEST(parse_defaults_and_refcount)
{
    /* read, write and admin are optional: a bare token grants nothing but
     * the service endpoints. */
    struct api_tokens *t = parse_ok("{\"tokens\":[{\"token\":\"monitor\"}]}");
    const struct api_token *tok = auth_ok(t, "Bearer monitor");

    CHECK(!api_token_may(tok, API_PERM_READ, "a"));
    CHECK(!api_token_may(tok, API_PERM_WRITE, "a"));
    CHECK(!api_token_may(tok, API_PERM_ADMIN, "a"));
    CHECK(api_tokens_ref(t) == t);
    api_tokens_unref(t);
    CHECK_EQ_U64(api_tokens_count(t), 1); /* one reference still held */
    api_tokens_unref(t);
    api_tokens_unref(NULL);
    CHECK(api_tokens_ref(NULL) == NULL);
    CHECK_EQ_U64(api_tokens_count(NULL), 0);
}

TEST(parse_refuses_malformed_files)
{
    parse_bad("", "not valid JSON");
    parse_bad("{\"tokens\":[", "not valid JSON");
    parse_bad("[]", "top level must be an object");
    parse_bad("{}", "\"tokens\" is required");
    parse_bad("{\"tokens\":{}}", "must be an array");
    parse_bad("{\"tokens\":[]}", "\"tokens\" is empty");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\"}],\"extra\":1}",
              "unknown top-level member \"extra\"");
    parse_bad("{\"tokens\":[{\"token\":\"a\"}],\"tokens\":[]}",
              "duplicate");
    parse_bad("{\"tokens\":[1]}", "tokens[0]: must be an object");
    parse_bad("{\"tokens\":[{\"read\":[\"*\"]}]}",
              "tokens[0]: \"token\" is required");
    parse_bad("{\"tokens\":[{\"token\":7}]}", "tokens[0].token: must be a string");
    parse_bad("{\"tokens\":[{\"token\":null}]}", "tokens[0].token: must be a string");
    parse_bad("{\"tokens\":[{\"token\":\"\"}]}", "tokens[0].token: must not be empty");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET with space\"}]}",
              "tokens[0].token: at most 256 characters");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\\u0000x\"}]}", "not valid JSON");
    parse_bad("{\"tokens\":[{\"token\":\"=SECRET\"}]}",
              "tokens[0].token: at most");
    parse_bad("{\"tokens\":[{\"token\":\"\\u00e9SECRET\"}]}",
              "tokens[0].token: at most");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"Read\":[]}]}",
              "tokens[0]: unknown member \"Read\"");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"token\":\"b\"}]}",
              "duplicate");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\"},{\"token\":\"SECRET\"}]}",
              "tokens[1].token: the same secret as tokens[0]");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"read\":\"*\"}]}",
              "tokens[0].read: must be an array");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"write\":[1]}]}",
              "tokens[0].write[0]: must be a string");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"read\":[\"\"]}]}",
              "tokens[0].read[0]: a prefix is");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"read\":[\"app*\"]}]}",
              "tokens[0].read[0]: a prefix is");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"read\":[\"a\",\"../x\"]}]}",
              "tokens[0].read[1]: a prefix is");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"read\":[\"-a\"]}]}",
              "tokens[0].read[0]: a prefix is");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"admin\":1}]}",
              "tokens[0].admin: must be true or false");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"admin\":true}]}",
              "tokens[0]: \"admin\": true needs write prefixes");
    parse_bad("{\"tokens\":[{\"token\":\"SECRET\",\"admin\":true,"
              "\"read\":[\"*\"],\"write\":[]}]}",
              "needs write prefixes");
}

TEST(parse_limits)
{
    char big[API_TOKEN_MAX + 64];
    char *huge;
    struct api_tokens *t;

    /* Exactly API_TOKEN_MAX characters is fine, one more is not. */
    memset(big, 0, sizeof(big));
    strcpy(big, "{\"tokens\":[{\"token\":\"");
    memset(big + strlen(big), 'k', API_TOKEN_MAX);
    strcat(big, "\"}]}");
    t = parse_ok(big);
    api_tokens_unref(t);
    memset(big, 0, sizeof(big));
    strcpy(big, "{\"tokens\":[{\"token\":\"");
    memset(big + strlen(big), 'k', API_TOKEN_MAX + 1);
    strcat(big, "\"}]}");
    parse_bad(big, "tokens[0].token: at most 256 characters");

    huge = malloc(API_TOKENS_FILE_MAX + 2);
    CHECK(huge != NULL);
    memset(huge, ' ', API_TOKENS_FILE_MAX + 1);
    huge[API_TOKENS_FILE_MAX + 1] = '\0';
    parse_bad(huge, "larger than");
    free(huge);
}

static struct api_tokens *three_tokens(void)
{
    return parse_ok(
        "{\"tokens\":["
        "{\"token\":\"reader-1\",\"read\":[\"app-\",\"logs.\"]},"
        "{\"token\":\"writer-2\",\"write\":[\"app-\"]},"
        "{\"token\":\"admin/3+=\",\"read\":[\"*\"],\"write\":[\"app-\"],"
        "\"admin\":true},"
        "{\"token\":\"root-4\",\"read\":[\"*\"],\"write\":[\"*\"],"
        "\"admin\":true}]}");
}

TEST(authenticate_header_forms)
{
    struct api_tokens *t = three_tokens();

    CHECK_EQ_U64(api_token_index(auth_ok(t, "Bearer reader-1")), 0);
    CHECK_EQ_U64(api_token_index(auth_ok(t, "Bearer writer-2")), 1);
    CHECK_EQ_U64(api_token_index(auth_ok(t, "Bearer admin/3+=")), 2);
    CHECK_EQ_U64(api_token_index(auth_ok(t, "Bearer root-4")), 3);
    /* The scheme is case-insensitive (RFC 9110 section 11.1); blanks
     * around the token are tolerated. */
    auth_ok(t, "bearer reader-1");
    auth_ok(t, "BEARER\treader-1");
    auth_ok(t, "  Bearer   reader-1  ");

    auth_is(t, NULL, API_AUTH_MISSING);
    auth_is(t, "", API_AUTH_MISSING);
    auth_is(t, "Basic cmVhZGVyLTE6", API_AUTH_MISSING);
    auth_is(t, "Bearer", API_AUTH_MISSING);
    auth_is(t, "Bearerreader-1", API_AUTH_MISSING);
    auth_is(t, "Bearer ", API_AUTH_INVALID);
    auth_is(t, "Bearer reader-", API_AUTH_INVALID);   /* a prefix */
    auth_is(t, "Bearer reader-10", API_AUTH_INVALID); /* an extension */
    auth_is(t, "Bearer Reader-1", API_AUTH_INVALID);  /* tokens are exact */
    auth_is(t, "Bearer reader-1 root-4", API_AUTH_INVALID);
    auth_is(t, "Bearer reader-1,", API_AUTH_INVALID);
    auth_is(t, "Bearer \"reader-1\"", API_AUTH_INVALID);
    {
        char longer[API_TOKEN_MAX + 16] = "Bearer ";

        memset(longer + 7, 'r', API_TOKEN_MAX + 1);
        auth_is(t, longer, API_AUTH_INVALID);
    }
    /* Without a table nothing authenticates. */
    auth_is(NULL, "Bearer reader-1", API_AUTH_INVALID);
    api_tokens_unref(t);
}

TEST(scopes)
{
    struct api_tokens *t = three_tokens();
    const struct api_token *reader = auth_ok(t, "Bearer reader-1");
    const struct api_token *writer = auth_ok(t, "Bearer writer-2");
    const struct api_token *admin = auth_ok(t, "Bearer admin/3+=");
    const struct api_token *root = auth_ok(t, "Bearer root-4");

    CHECK(api_token_may(reader, API_PERM_READ, "app-x"));
    CHECK(api_token_may(reader, API_PERM_READ, "app-"));
    CHECK(api_token_may(reader, API_PERM_READ, "logs.2026"));
    CHECK(!api_token_may(reader, API_PERM_READ, "app"));
    CHECK(!api_token_may(reader, API_PERM_READ, "xapp-x"));
    CHECK(!api_token_may(reader, API_PERM_WRITE, "app-x"));
    CHECK(!api_token_may(reader, API_PERM_ADMIN, "app-x"));

    /* Write does not imply read. */
    CHECK(api_token_may(writer, API_PERM_WRITE, "app-x"));
    CHECK(!api_token_may(writer, API_PERM_READ, "app-x"));
    CHECK(!api_token_may(writer, API_PERM_ADMIN, "app-x"));

    /* Admin applies to the names the token may write, and only those. */
    CHECK(api_token_may(admin, API_PERM_ADMIN, "app-x"));
    CHECK(!api_token_may(admin, API_PERM_ADMIN, "db"));
    CHECK(api_token_may(admin, API_PERM_READ, "db"));
    CHECK(!api_token_may(admin, API_PERM_WRITE, "db"));
    CHECK(!api_token_may_all(admin, API_PERM_ADMIN));
    CHECK(api_token_may_all(admin, API_PERM_READ));

    CHECK(api_token_may(root, API_PERM_ADMIN, "db"));
    CHECK(api_token_may_all(root, API_PERM_ADMIN));
    CHECK(!api_token_may_all(reader, API_PERM_READ));
    CHECK(!api_token_may(NULL, API_PERM_READ, "app-x"));
    CHECK(!api_token_may_all(NULL, API_PERM_READ));
    api_tokens_unref(t);
}

/* ---- The api's decisions, driven as the server would drive them. ---- */

struct fake {
    const char *authorization;
};

static const char *fake_header(void *conn, const char *name)
{
    struct fake *f = conn;

    if (strcasecmp(name, "Authorization") == 0)
        return f->authorization;
    return NULL;
}

static const char *fake_query(void *conn, const char *key)
{
    return NULL;
}

struct env {
    char dir[64];
    struct mc_catalog *cat;
    struct api *api;
    struct api_tokens *tokens;
};

static void env_open(struct env *e)
{
    struct mc_catalog_options opt = {0};
    struct api_config cfg = {0};

    snprintf(e->dir, sizeof(e->dir), "/tmp/mmapd-test-auth-XXXXXX");
    CHECK(mkdtemp(e->dir) != NULL);
    opt.data_dir = e->dir;
    CHECK(mc_catalog_open(&opt, &e->cat) == MC_OK);
    e->tokens = three_tokens();
    cfg.catalog = e->cat;
    cfg.max_body = 1 << 20;
    cfg.max_ranges = 4;
    cfg.version = "test";
    cfg.tokens = e->tokens;
    CHECK(api_create(&cfg, &e->api) == 0);
}

static void env_close(struct env *e)
{
    char cmd[128];

    api_destroy(e->api);
    api_tokens_unref(e->tokens);
    mc_catalog_close(e->cat);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    CHECK(system(cmd) == 0);
}

struct answer {
    unsigned status;
    char www_auth[sizeof(((struct api_header *)0)->value)];
    char body[2048];
};

/* Run one request with an Authorization header (NULL: none). */
static struct answer run(struct env *e, const char *auth, const char *method,
                         const char *path, const char *body)
{
    struct fake f = {auth};
    struct api_request req = {0};
    struct api_exchange *ex;
    struct api_response *resp;
    struct api_body b;
    struct answer a = {0};
    size_t used = 0;

    req.method = api_method_parse(method);
    req.path = path;
    req.header = fake_header;
    req.query = fake_query;
    req.conn = &f;
    ex = api_exchange_start(e->api, &req);
    CHECK(ex != NULL);
    if (body != NULL && api_exchange_wants_body(ex))
        api_exchange_body(ex, body, strlen(body));
    api_exchange_end(ex);
    resp = api_exchange_response(ex);
    CHECK(resp != NULL);
    a.status = resp->status;
    for (unsigned i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, "WWW-Authenticate") == 0)
            snprintf(a.www_auth, sizeof(a.www_auth), "%s",
                     resp->headers[i].value);
    }
    api_response_take_body(ex, &b);
    if (b.kind == API_BODY_IOV) {
        for (unsigned i = 0; i < b.iovcnt; i++) {
            size_t n = b.iov[i].len;

            if (n > sizeof(a.body) - 1 - used)
                n = sizeof(a.body) - 1 - used;
            memcpy(a.body + used, b.iov[i].base, n);
            used += n;
        }
    }
    if (b.release != NULL)
        b.release(b.cls);
    api_exchange_free(ex, true);
    return a;
}

static void expect_at(int line, struct answer a, unsigned status,
                      const char *code)
{
    if (a.status != status)
        TEST_FAIL("line %d: status %u, want %u; body %s", line, a.status,
                  status, a.body);
    if (code != NULL) {
        char want[96];

        snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
        if (strstr(a.body, want) == NULL)
            TEST_FAIL("line %d: body %s lacks %s", line, a.body, want);
    }
}
#define EXPECT(a, status, code) expect_at(__LINE__, (a), (status), (code))

#define READER "Bearer reader-1"
#define WRITER "Bearer writer-2"
#define ADMIN "Bearer admin/3+="
#define ROOT "Bearer root-4"
#define MEM16 "{\"backing\":\"memory\",\"size\":16}"

TEST(exchange_needs_a_token)
{
    struct env e;
    struct answer a;
    static const char *const paths[] = {
        "/metrics", "/v1/info", "/v1/maps", "/v1/maps/app-a",
        "/v1/maps/app-a/data", "/nowhere", "/v1/maps/bad%2Fname",
    };

    env_open(&e);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        a = run(&e, NULL, "GET", paths[i], NULL);
        EXPECT(a, 401, "unauthorized");
        CHECK_EQ_STR(a.www_auth, "Bearer realm=\"mmapd\"");
        a = run(&e, "Bearer nope", "GET", paths[i], NULL);
        EXPECT(a, 401, "unauthorized");
        CHECK_EQ_STR(a.www_auth,
                     "Bearer realm=\"mmapd\", error=\"invalid_token\"");
    }
    a = run(&e, NULL, "PUT", "/v1/maps/app-a", MEM16);
    EXPECT(a, 401, "unauthorized");
    a = run(&e, NULL, "OPTIONS", "/v1/maps/app-a", NULL);
    EXPECT(a, 401, "unauthorized");
    /* The probes stay open, with or without a (even a bad) token. */
    EXPECT(run(&e, NULL, "GET", "/healthz", NULL), 200, NULL);
    EXPECT(run(&e, NULL, "GET", "/readyz", NULL), 200, NULL);
    EXPECT(run(&e, "Bearer nope", "GET", "/healthz", NULL), 200, NULL);
    /* Any valid token reaches the service endpoints. */
    EXPECT(run(&e, WRITER, "GET", "/metrics", NULL), 200, NULL);
    EXPECT(run(&e, WRITER, "GET", "/v1/info", NULL), 200, NULL);
    EXPECT(run(&e, WRITER, "GET", "/v1/maps", NULL), 200, NULL);
    /* A valid token gets the normal answer for an unknown path. */
    EXPECT(run(&e, WRITER, "GET", "/nowhere", NULL), 404, "not_found");
    env_close(&e);
}

TEST(exchange_permissions_per_operation)
{
    struct env e;

    env_open(&e);
    /* Create needs admin on the name. */
    EXPECT(run(&e, READER, "PUT", "/v1/maps/app-a", MEM16), 403, "forbidden");
    EXPECT(run(&e, WRITER, "PUT", "/v1/maps/app-a", MEM16), 403, "forbidden");
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/db", MEM16), 403, "forbidden");
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/app-a", MEM16), 201, NULL);
    EXPECT(run(&e, ROOT, "PUT", "/v1/maps/db", MEM16), 201, NULL);

    /* Opening an existing name needs read; admin alone is not enough. */
    EXPECT(run(&e, READER, "PUT", "/v1/maps/app-a", MEM16), 200, NULL);
    EXPECT(run(&e, WRITER, "PUT", "/v1/maps/app-a", MEM16), 403, "forbidden");
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/app-a", MEM16), 200, NULL);

    /* Metadata and bytes need read. */
    EXPECT(run(&e, READER, "GET", "/v1/maps/app-a", NULL), 200, NULL);
    EXPECT(run(&e, WRITER, "GET", "/v1/maps/app-a", NULL), 403, "forbidden");
    EXPECT(run(&e, READER, "GET", "/v1/maps/app-a/data", NULL), 200, NULL);
    EXPECT(run(&e, WRITER, "GET", "/v1/maps/app-a/data", NULL), 403,
           "forbidden");
    EXPECT(run(&e, READER, "HEAD", "/v1/maps/app-a/data", NULL), 200, NULL);
    EXPECT(run(&e, READER, "GET", "/v1/maps/db/data", NULL), 403, "forbidden");

    /* Writes and flush need write. */
    EXPECT(run(&e, WRITER, "PUT", "/v1/maps/app-a/data", "0123"), 204, NULL);
    EXPECT(run(&e, READER, "PUT", "/v1/maps/app-a/data", "0123"), 403,
           "forbidden");
    /* Past the permission check; a memory mapping has no stable storage,
     * so the flush itself is refused. */
    EXPECT(run(&e, WRITER, "POST", "/v1/maps/app-a/flush", NULL), 400,
           "unsupported");
    EXPECT(run(&e, READER, "POST", "/v1/maps/app-a/flush", NULL), 403,
           "forbidden");
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/db/data", "0123"), 403,
           "forbidden");

    /* Byte-range PATCH and object writes need write; object reads need
     * read. (A refused request never reaches the handler, so the bodies
     * here need not be valid.) */
    EXPECT(run(&e, READER, "PATCH", "/v1/maps/app-a/data", "x"), 403,
           "forbidden");
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/app-o",
               "{\"backing\":\"memory\",\"size\":4096}"),
           201, NULL);
    EXPECT(run(&e, READER, "PUT", "/v1/maps/app-o/objects/0", "{}"), 403,
           "forbidden");
    EXPECT(run(&e, WRITER, "GET", "/v1/maps/app-o/objects/0", NULL), 403,
           "forbidden");
    EXPECT(run(&e, WRITER, "PUT", "/v1/maps/app-o/objects/0", "{}"), 201,
           NULL);
    EXPECT(run(&e, READER, "GET", "/v1/maps/app-o/objects/0", NULL), 200,
           NULL);

    /* Resize and delete need admin and write on the name. */
    EXPECT(run(&e, WRITER, "PATCH", "/v1/maps/app-a", "{\"size\":32}"), 403,
           "forbidden");
    EXPECT(run(&e, ADMIN, "PATCH", "/v1/maps/db", "{\"size\":32}"), 403,
           "forbidden");
    EXPECT(run(&e, ADMIN, "PATCH", "/v1/maps/app-a", "{\"size\":32}"), 200,
           NULL);
    EXPECT(run(&e, WRITER, "DELETE", "/v1/maps/app-a", NULL), 403,
           "forbidden");
    EXPECT(run(&e, ADMIN, "DELETE", "/v1/maps/db", NULL), 403, "forbidden");
    EXPECT(run(&e, ADMIN, "DELETE", "/v1/maps/app-a", NULL), 204, NULL);

    /* An explicit backing file on a create needs admin on every name: a
     * scoped admin could otherwise alias a file outside its scope. */
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/app-f",
               "{\"size\":16,\"file\":\"db.bin\"}"),
           403, "forbidden");
    EXPECT(run(&e, ROOT, "PUT", "/v1/maps/app-f",
               "{\"size\":16,\"file\":\"app-f.bin\"}"),
           201, NULL);
    EXPECT(run(&e, ADMIN, "PUT", "/v1/maps/app-f",
               "{\"file\":\"app-f.bin\"}"),
           200, NULL);
    env_close(&e);
}

TEST(exchange_listing_is_filtered)
{
    struct env e;
    struct answer a;

    env_open(&e);
    EXPECT(run(&e, ROOT, "PUT", "/v1/maps/app-a", MEM16), 201, NULL);
    EXPECT(run(&e, ROOT, "PUT", "/v1/maps/logs.1", MEM16), 201, NULL);
    EXPECT(run(&e, ROOT, "PUT", "/v1/maps/db", MEM16), 201, NULL);
    a = run(&e, READER, "GET", "/v1/maps", NULL);
    EXPECT(a, 200, NULL);
    CHECK(strstr(a.body, "\"name\":\"app-a\"") != NULL);
    CHECK(strstr(a.body, "\"name\":\"logs.1\"") != NULL);
    CHECK(strstr(a.body, "\"name\":\"db\"") == NULL);
    a = run(&e, WRITER, "GET", "/v1/maps", NULL);
    EXPECT(a, 200, NULL);
    CHECK(strstr(a.body, "\"name\"") == NULL);
    a = run(&e, ROOT, "GET", "/v1/maps", NULL);
    CHECK(strstr(a.body, "\"name\":\"db\"") != NULL);
    env_close(&e);
}

TEST(exchange_swap_tables)
{
    struct env e;
    struct api_tokens *next = parse_ok(
        "{\"tokens\":[{\"token\":\"fresh\",\"read\":[\"*\"]}]}");

    env_open(&e);
    EXPECT(run(&e, READER, "GET", "/v1/info", NULL), 200, NULL);
    api_set_tokens(e.api, next);
    api_tokens_unref(next); /* the api holds its own reference */
    EXPECT(run(&e, READER, "GET", "/v1/info", NULL), 401, "unauthorized");
    EXPECT(run(&e, "Bearer fresh", "GET", "/v1/info", NULL), 200, NULL);
    /* Back to anonymous: everything is allowed. */
    api_set_tokens(e.api, NULL);
    EXPECT(run(&e, NULL, "PUT", "/v1/maps/x", MEM16), 201, NULL);
    env_close(&e);
}

/* Threads run exchanges while the main thread swaps tables: no exchange
 * may see a freed table (ASan) or race on the pointer (TSan), and every
 * answer is one of the two tables' verdicts. */
struct swap_ctx {
    struct env *e;
    atomic_bool stop;
    atomic_uint bad;
};

static void *swap_worker(void *arg)
{
    struct swap_ctx *c = arg;

    while (!atomic_load(&c->stop)) {
        struct answer a = run(c->e, READER, "GET", "/v1/info", NULL);

        if (a.status != 200 && a.status != 401)
            atomic_fetch_add(&c->bad, 1);
    }
    return NULL;
}

TEST(exchange_swap_under_load)
{
    struct env e;
    struct swap_ctx c;
    pthread_t th[4];
    struct api_tokens *other = parse_ok(
        "{\"tokens\":[{\"token\":\"other\",\"read\":[\"*\"]}]}");

    env_open(&e);
    c.e = &e;
    atomic_init(&c.stop, false);
    atomic_init(&c.bad, 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, swap_worker, &c) == 0);
    for (int i = 0; i < 2000; i++)
        api_set_tokens(e.api, (i & 1) ? e.tokens : other);
    atomic_store(&c.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_U64(atomic_load(&c.bad), 0);
    api_tokens_unref(other);
    env_close(&e);
}

TEST_MAIN()
