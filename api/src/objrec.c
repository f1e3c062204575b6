/* objrec.c - the on-mapping record format of stored objects.
 *
 * A record is a 16-byte header, the JSON text, and zero padding up to a
 * multiple of 8 bytes (so records laid end to end stay 8-byte aligned):
 *
 *   offset  size  field
 *        0     4  magic "MMOB"
 *        4     1  version, 1
 *        5     1  flags, 0 (any other value is not a record we wrote)
 *        6     2  reserved, 0
 *        8     4  JSON length in bytes, unsigned little-endian
 *       12     4  CRC-32C (Castagnoli) of the JSON bytes, little-endian
 *       16     n  the JSON text, compact, UTF-8
 *     16+n     p  zeros, p = (8 - n % 8) % 8
 *
 * Little-endian is fixed, not host order, so a data file moved to another
 * machine still reads. The checksum covers the JSON only: the header fields
 * are each checked for exact values, and a torn or stale length shows up as
 * a checksum mismatch over the wrong bytes.
 *
 * Pure functions without allocation or I/O, safe from any thread.
 */
#include <string.h>

#include "api/api_parse.h"

static const uint8_t magic[4] = {'M', 'M', 'O', 'B'};

/* CRC-32C, bit by bit. Objects are at most a few tens of KiB and are read
 * and written far less often than data, so a table (and the question of
 * who initialises it, on which thread) is not worth it. */
uint32_t api_crc32c(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return crc ^ 0xffffffffu;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

bool api_object_record_size(uint64_t json_len, uint64_t *total)
{
    if (json_len > UINT32_MAX)
        return false;
    *total = API_OBJECT_HEADER + json_len + (8 - json_len % 8) % 8;
    return true;
}

bool api_object_encode(const char *json, size_t json_len, uint8_t *out,
                       size_t out_len)
{
    uint64_t total;

    if (!api_object_record_size(json_len, &total) || out_len != total)
        return false;
    memcpy(out, magic, 4);
    out[4] = API_OBJECT_VERSION;
    out[5] = 0;
    out[6] = 0;
    out[7] = 0;
    put_le32(out + 8, (uint32_t)json_len);
    put_le32(out + 12, api_crc32c(json, json_len));
    memcpy(out + API_OBJECT_HEADER, json, json_len);
    memset(out + API_OBJECT_HEADER + json_len, 0,
           (size_t)total - API_OBJECT_HEADER - json_len);
    return true;
}

bool api_object_header_parse(const uint8_t *hdr, size_t len,
                             uint64_t *json_len)
{
    if (len < API_OBJECT_HEADER || memcmp(hdr, magic, 4) != 0 ||
        hdr[4] != API_OBJECT_VERSION || hdr[5] != 0 || hdr[6] != 0 ||
        hdr[7] != 0)
        return false;
    *json_len = get_le32(hdr + 8);
    return true;
}

bool api_object_verify(const uint8_t *rec, size_t len, const char **json,
                       size_t *json_len)
{
    uint64_t n;

    if (!api_object_header_parse(rec, len, &n) ||
        n > len - API_OBJECT_HEADER)
        return false;
    if (api_crc32c(rec + API_OBJECT_HEADER, (size_t)n) != get_le32(rec + 12))
        return false;
    *json = (const char *)rec + API_OBJECT_HEADER;
    *json_len = (size_t)n;
    return true;
}
