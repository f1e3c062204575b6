/* atomicbody.c - the body of POST /v1/maps/{name}/atomic, parsed strictly.
 *
 * One operation {"op", "offset", "width", "value", "expected", "overflow"}
 * or {"ops": [...]} with 1 to MC_WORDS_MAX of them. As for every JSON body
 * (json.c) we refuse rather than guess: a duplicate key, an unknown member,
 * a member an operation does not take ("value" on a load, "expected" on
 * anything but cas, "overflow" on anything but add), a missing one, a
 * fraction or an operand outside the word's width are all 400s naming the
 * operation and the member. A misaligned offset is 400 misaligned; two
 * words of one batch that overlap without being the same word are refused
 * too (api/openapi.yaml, atomicWords), since what the second one would see
 * would depend on byte order tricks nobody means.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

static const char *const op_names[] = {
    [MC_WORD_LOAD] = "load", [MC_WORD_STORE] = "store", [MC_WORD_ADD] = "add",
    [MC_WORD_SWAP] = "swap", [MC_WORD_CAS] = "cas",     [MC_WORD_AND] = "and",
    [MC_WORD_OR] = "or",     [MC_WORD_XOR] = "xor",
};

struct parse {
    struct api_atomic_error *e;
    char where[32]; /* "ops[12]: " or "" */
};

static bool refuse(struct parse *p, enum api_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool refuse(struct parse *p, enum api_err err, const char *fmt, ...)
{
    va_list ap;
    int w = snprintf(p->e->why, sizeof(p->e->why), "%s", p->where);

    va_start(ap, fmt);
    vsnprintf(p->e->why + w, sizeof(p->e->why) - (size_t)w, fmt, ap);
    va_end(ap);
    p->e->err = err;
    return false;
}

/* An integer member; false after refusing anything else. */
static bool integer(struct parse *p, json_t *v, const char *name, int64_t *out)
{
    if (!json_is_integer(v))
        return refuse(p, API_EFIELD, "field \"%s\" must be an integer", name);
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool op_kind(struct parse *p, json_t *v, enum mc_word_op *out)
{
    const char *s = json_string_value(v);

    for (size_t i = 0; s != NULL && i < sizeof(op_names) / sizeof(*op_names);
         i++) {
        if (strcmp(s, op_names[i]) == 0) {
            *out = (enum mc_word_op)i;
            return true;
        }
    }
    return refuse(p, API_EFIELD,
                  "field \"op\" must be one of load, store, add, swap, cas, "
                  "and, or, xor");
}

/* Which members an operation takes: value and expected, and overflow. */
static bool takes_value(enum mc_word_op op)
{
    return op != MC_WORD_LOAD;
}

static bool in_width(int64_t v, unsigned width)
{
    return width == 8 || (v >= INT32_MIN && v <= INT32_MAX);
}

static bool parse_op(struct parse *p, json_t *obj, struct mc_word *w)
{
    json_t *v;
    const char *key;
    int64_t num = 0;
    bool has_value = false;
    bool has_expected = false;
    bool has_overflow = false;

    if (!json_is_object(obj))
        return refuse(p, API_EFIELD, "an operation must be a JSON object");
    memset(w, 0, sizeof(*w));
    v = json_object_get(obj, "op");
    if (v == NULL)
        return refuse(p, API_EFIELD, "field \"op\" is required");
    if (!op_kind(p, v, &w->op))
        return false;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "op") == 0)
            continue;
        if (strcmp(key, "offset") == 0) {
            if (!integer(p, v, key, &num))
                return false;
            if (num < 0)
                return refuse(p, API_EFIELD,
                              "field \"offset\" must be a non-negative "
                              "integer");
            w->off = (uint64_t)num;
        } else if (strcmp(key, "width") == 0) {
            if (!integer(p, v, key, &num))
                return false;
            if (num != 4 && num != 8)
                return refuse(p, API_EFIELD, "field \"width\" must be 4 or 8");
            w->width = (unsigned)num;
        } else if (strcmp(key, "value") == 0) {
            if (!integer(p, v, key, &w->value))
                return false;
            has_value = true;
        } else if (strcmp(key, "expected") == 0) {
            if (!integer(p, v, key, &w->expected))
                return false;
            has_expected = true;
        } else if (strcmp(key, "overflow") == 0) {
            const char *s = json_string_value(v);

            if (s == NULL || (strcmp(s, "wrap") != 0 && strcmp(s, "fail") != 0))
                return refuse(
                    p, API_EFIELD,
                    "field \"overflow\" must be \"wrap\" or \"fail\"");
            w->checked = strcmp(s, "fail") == 0;
            has_overflow = true;
        } else {
            /* Client text: bounded, and problem.c falls back to the title
             * if it is not UTF-8. */
            return refuse(p, API_EFIELD, "unknown field \"%.64s\"", key);
        }
    }
    if (json_object_get(obj, "offset") == NULL)
        return refuse(p, API_EFIELD, "field \"offset\" is required");
    if (w->width == 0)
        return refuse(p, API_EFIELD, "field \"width\" is required (4 or 8)");
    if (takes_value(w->op) && !has_value)
        return refuse(p, API_EFIELD, "%s needs field \"value\"",
                      op_names[w->op]);
    if (!takes_value(w->op) && has_value)
        return refuse(p, API_EFIELD, "load takes no field \"value\"");
    if ((w->op == MC_WORD_CAS) != has_expected)
        return refuse(p, API_EFIELD,
                      w->op == MC_WORD_CAS
                          ? "cas needs field \"expected\""
                          : "field \"expected\" belongs to cas only");
    if (has_overflow && w->op != MC_WORD_ADD)
        return refuse(p, API_EFIELD, "field \"overflow\" belongs to add only");
    if (!in_width(w->value, w->width) || !in_width(w->expected, w->width))
        return refuse(p, API_EFIELD,
                      "a 4-byte word holds -2147483648 to 2147483647");
    if (w->off % w->width != 0)
        return refuse(p, API_ERR_MC(MC_EMISALIGNED),
                      "offset %llu is not a multiple of the width %u",
                      (unsigned long long)w->off, w->width);
    return true;
}

/* Two words of the batch that overlap without being the same word. */
static bool overlaps(struct parse *p, const struct mc_word *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (w[i].width != w[j].width &&
                (w[i].off & ~(uint64_t)7) == (w[j].off & ~(uint64_t)7)) {
                p->where[0] = '\0';
                refuse(p, API_EFIELD,
                       "ops[%zu] overlaps ops[%zu] without being the same "
                       "word",
                       i, j);
                return true;
            }
        }
    }
    return false;
}

bool api__atomic_parse(const char *json, size_t len, struct mc_word *out,
                       size_t *n, struct api_atomic_error *e)
{
    struct parse p = {e, ""};
    json_error_t error;
    json_t *root;
    json_t *ops;
    bool ok = true;

    *n = 0;
    if (len == 0)
        return refuse(&p, API_EJSON, "the body must be a JSON object");
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        if (json_error_code(&error) == json_error_numeric_overflow)
            return refuse(&p, API_EFIELD,
                          "a number is out of range (integers are 64-bit)");
        return refuse(&p, API_EJSON, "malformed JSON at line %d column %d: %s",
                      error.line, error.column, error.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return refuse(&p, API_EJSON, "the body must be a JSON object");
    }
    ops = json_object_get(root, "ops");
    if (ops == NULL) {
        ok = parse_op(&p, root, &out[0]);
        *n = ok ? 1 : 0;
        json_decref(root);
        return ok;
    }
    if (json_object_size(root) != 1)
        ok = refuse(&p, API_EFIELD,
                    "\"ops\" takes the operations: no other member beside it");
    else if (!json_is_array(ops) || json_array_size(ops) == 0 ||
             json_array_size(ops) > MC_WORDS_MAX)
        ok = refuse(&p, API_EFIELD,
                    "field \"ops\" must be an array of 1 to %d operations",
                    MC_WORDS_MAX);
    for (size_t i = 0; ok && i < json_array_size(ops); i++) {
        snprintf(p.where, sizeof(p.where), "ops[%zu]: ", i);
        ok = parse_op(&p, json_array_get(ops, i), &out[i]);
    }
    if (ok && overlaps(&p, out, json_array_size(ops)))
        ok = false;
    *n = ok ? json_array_size(ops) : 0;
    json_decref(root);
    return ok;
}
