/* lease.c - POST /v1/maps/{name}/lease, and the lease every write is held
 * to (mapcore/mc_lease.h; Azure Blob Storage's Lease Blob is the model).
 *
 * Body: {"action": "acquire|renew|change|release|break", "duration":
 * 15..60 | -1, "lease_id": "...", "proposed_id": "...", "break_period":
 * 0..60}; each action takes exactly the members it uses (api/openapi.yaml,
 * leaseMapping). acquire answers 201 {"lease_id", "expires_at", "epoch"}
 * (an id of the client's choosing, or a random UUID), renew and change
 * 200 with the same, release 204, break 202 {"break_seconds", "epoch"}.
 *
 * Writes: the exchange calls api__lease_admit for every row that writes
 * (the lease column of ops.c), before the handler starts, so the rule
 * lives here once: while the mapping is leased (or its lease breaking) a
 * write must carry Lease-Id with the lease's id. It is checked when the
 * headers arrive; a lease acquired while a write's body streams in does
 * not stop that write.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "internal.h"

/* One monotonic clock for every lease decision (mc_lease.h). */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api__lease_header(struct api_exchange *ex, const struct api_request *req)
{
    const char *v = req->header(req->conn, "Lease-Id");

    ex->has_lease_id = v != NULL;
    if (v == NULL)
        return;
    ex->lease_id_long = strlen(v) > MC_LEASE_ID_MAX;
    snprintf(ex->lease_id, sizeof(ex->lease_id), "%s", v);
}

bool api__lease_admit(struct api_exchange *ex)
{
    enum mc_err rc;

    if (ex->map == NULL)
        return true;
    /* An id longer than any lease's can only be wrong: never compare its
     * cut-off prefix. */
    rc = mc_lease_check(ex->map, mono_ms(),
                        !ex->has_lease_id   ? NULL
                        : ex->lease_id_long ? "\n"
                                            : ex->lease_id);
    if (rc == MC_OK)
        return true;
    switch (rc) {
    case MC_ELEASEMISSING:
        api__fail(ex, API_ERR_MC(rc),
                  "the mapping is leased: a write must carry Lease-Id");
        break;
    case MC_ELEASEMISMATCH:
        api__fail(ex, API_ERR_MC(rc),
                  "Lease-Id does not name the mapping's lease");
        break;
    case MC_ELEASENONE:
        api__fail(ex, API_ERR_MC(rc),
                  "Lease-Id names a lease, but the mapping has none (it "
                  "expired, was released or broken, or the server "
                  "restarted)");
        break;
    default:
        api__fail_mc(ex, rc);
    }
    return false;
}

/* expires_at of a lease: when a leased one expires or a breaking one
 * ends, null for an infinite lease and when there is none. */
static json_t *expires_json(const struct mc_lease *l)
{
    if (l->remaining_ms < 0 ||
        (l->state != MC_LEASE_LEASED && l->state != MC_LEASE_BREAKING))
        return json_null();
    return api__time_json(wall_ms() + l->remaining_ms);
}

json_t *api__lease_json(struct mc_mapping *m)
{
    struct mc_lease l;

    mc_lease_get(m, mono_ms(), &l);
    return json_pack("{s:s, s:o?, s:I}", "state", mc_lease_state_name(l.state),
                     "expires_at", expires_json(&l), "epoch",
                     (json_int_t)l.epoch);
}

/* ---- POST .../lease ----------------------------------------------------- */

enum action { ACQUIRE, RENEW, CHANGE, RELEASE, BREAK };

static const struct {
    const char *name;
    /* Members the action needs (N), may take (M) or refuses (-). */
    const char *duration, *lease_id, *proposed_id, *break_period;
} actions[] = {
    [ACQUIRE] = {"acquire", "N", "-", "M", "-"},
    [RENEW] = {"renew", "-", "N", "-", "-"},
    [CHANGE] = {"change", "-", "N", "N", "-"},
    [RELEASE] = {"release", "-", "N", "-", "-"},
    [BREAK] = {"break", "-", "-", "-", "M"},
};

static const struct api_field lease_fields[] = {
    {"action", API_FIELD_STRING, false},
    {"duration", API_FIELD_INT, false},
    {"lease_id", API_FIELD_STRING, false},
    {"proposed_id", API_FIELD_STRING, false},
    {"break_period", API_FIELD_INT, false},
};

/* A member's presence against the action's rule; false after 400. */
static bool member_ok(struct api_exchange *ex, json_t *obj, const char *name,
                      const char *rule, const char *action)
{
    bool given = json_object_get(obj, name) != NULL;

    if (rule[0] == 'N' && !given) {
        api__fail(ex, API_EFIELD, "%s needs field \"%s\"", action, name);
        return false;
    }
    if (rule[0] == '-' && given) {
        api__fail(ex, API_EFIELD, "%s takes no field \"%s\"", action, name);
        return false;
    }
    return true;
}

/* Lease ids travel in a header: printable, no blanks, no quotes. */
static bool id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > MC_LEASE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ',')
            return false;
    }
    return true;
}

/* A random id in the UUID version 4 form. */
static void random_id(char out[MC_LEASE_ID_MAX + 1])
{
    uint8_t b[16];

    api__random(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, MC_LEASE_ID_MAX + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

static void respond_lease(struct api_exchange *ex, enum api_success status,
                          const struct mc_lease *l)
{
    api__respond_json(ex, status,
                      json_pack("{s:s, s:o?, s:I}", "lease_id", l->id,
                                "expires_at", expires_json(l), "epoch",
                                (json_int_t)l->epoch));
}

/* The action's parsed members. */
struct lease_req {
    enum action action;
    int64_t duration;
    int64_t break_period;
    const char *lease_id;    /* into the parsed body */
    const char *proposed_id; /* into the parsed body */
};

/* Parse and check the body; false after answering 400. */
static bool parse(struct api_exchange *ex, json_t *obj, struct lease_req *r)
{
    const char *name = json_string_value(json_object_get(obj, "action"));
    json_t *v;
    size_t i;

    for (i = 0; name != NULL && i < sizeof(actions) / sizeof(*actions); i++) {
        if (strcmp(name, actions[i].name) == 0)
            break;
    }
    if (name == NULL || i == sizeof(actions) / sizeof(*actions)) {
        api__fail(ex, API_EFIELD,
                  "field \"action\" must be one of acquire, renew, change, "
                  "release, break");
        return false;
    }
    r->action = (enum action)i;
    if (!member_ok(ex, obj, "duration", actions[i].duration, name) ||
        !member_ok(ex, obj, "lease_id", actions[i].lease_id, name) ||
        !member_ok(ex, obj, "proposed_id", actions[i].proposed_id, name) ||
        !member_ok(ex, obj, "break_period", actions[i].break_period, name))
        return false;
    v = json_object_get(obj, "duration");
    r->duration = v != NULL ? api__json_int(v) : 0;
    if (v != NULL && r->duration != MC_LEASE_INFINITE &&
        (r->duration < MC_LEASE_MIN_S || r->duration > MC_LEASE_MAX_S)) {
        api__fail(ex, API_EFIELD,
                  "field \"duration\" must be %d to %d seconds, or -1 for a "
                  "lease without end",
                  MC_LEASE_MIN_S, MC_LEASE_MAX_S);
        return false;
    }
    v = json_object_get(obj, "break_period");
    r->break_period = v != NULL ? api__json_int(v) : -1;
    if (v != NULL &&
        (r->break_period < 0 || r->break_period > MC_LEASE_BREAK_MAX_S)) {
        api__fail(ex, API_EFIELD,
                  "field \"break_period\" must be 0 to %d seconds",
                  MC_LEASE_BREAK_MAX_S);
        return false;
    }
    r->lease_id = json_string_value(json_object_get(obj, "lease_id"));
    r->proposed_id = json_string_value(json_object_get(obj, "proposed_id"));
    if ((r->lease_id != NULL && !id_valid(r->lease_id)) ||
        (r->proposed_id != NULL && !id_valid(r->proposed_id))) {
        api__fail(ex, API_EFIELD,
                  "a lease id is 1 to %d printable characters without "
                  "blanks, quotes, backslashes or commas",
                  MC_LEASE_ID_MAX);
        return false;
    }
    return true;
}

static void run(struct api_exchange *ex, const struct lease_req *r)
{
    struct mc_lease l;
    char id[MC_LEASE_ID_MAX + 1];
    int64_t now = mono_ms();
    enum mc_err rc = MC_EINVAL;

    switch (r->action) {
    case ACQUIRE:
        if (r->proposed_id != NULL)
            snprintf(id, sizeof(id), "%s", r->proposed_id);
        else
            random_id(id);
        rc = mc_lease_acquire(ex->map, now, id, (int32_t)r->duration, &l);
        if (rc == MC_OK)
            respond_lease(ex, API_S_CREATED, &l);
        break;
    case RENEW:
        rc = mc_lease_renew(ex->map, now, r->lease_id, &l);
        if (rc == MC_OK)
            respond_lease(ex, API_S_OK, &l);
        break;
    case CHANGE:
        rc = mc_lease_change(ex->map, now, r->lease_id, r->proposed_id, &l);
        if (rc == MC_OK)
            respond_lease(ex, API_S_OK, &l);
        break;
    case RELEASE:
        rc = mc_lease_release(ex->map, now, r->lease_id);
        if (rc == MC_OK)
            api__respond(ex, API_S_NO_CONTENT);
        break;
    case BREAK:
        rc = mc_lease_break(ex->map, now, (int32_t)r->break_period, &l);
        if (rc == MC_OK)
            api__respond_json(
                ex, API_S_ACCEPTED,
                json_pack("{s:I, s:I}", "break_seconds",
                          (json_int_t)((l.remaining_ms + 999) / 1000), "epoch",
                          (json_int_t)l.epoch));
        break;
    }
    if (rc != MC_OK)
        api__fail_mc(ex, rc);
}

static void lease_end(struct api_exchange *ex)
{
    json_t *obj = NULL;
    struct lease_req r;

    if (!api__json_parse(ex, lease_fields,
                         sizeof(lease_fields) / sizeof(*lease_fields), &obj))
        return;
    if (obj == NULL) {
        api__fail(ex, API_EFIELD, "field \"action\" is required");
        return;
    }
    if (parse(ex, obj, &r) && api__need_map(ex))
        run(ex, &r);
    json_decref(obj);
}

const struct api_handler api__op_lease = {
    0, api__json_start_checked, api__json_feed, lease_end, NULL,
};
