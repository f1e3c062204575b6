#!/usr/bin/env bash
# peers/verify.sh — semantic checks of the peers, printed as a short report:
#   * nginx and Apache answer Range GETs with 206 and the right bytes (pattern check)
#   * nginx refuses PUT with Content-Range (dav module) — expected 501
#   * Apache mod_dav PUT with Content-Range updates the existing file IN PLACE:
#     same inode, same size, neighbouring bytes untouched, written bytes present
#   * Apache plain PUT (no Content-Range) replaces the file (temp file + rename: new inode)
#   * Apache does not check the body length against Content-Range, and writes past EOF
#   * Redis GETRANGE returns the right bytes
# Needs the peers running (peers/*.sh start) and BENCH_TMP set.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP}"
NG="http://127.0.0.1:${NGINX_PORT:-18080}"
AP="http://127.0.0.1:${APACHE_PORT:-18081}"
RP="${REDIS_PORT:-16379}"
D="${DOCROOT:-$BENCH_TMP/data}"
MK="$BENCH_BIN/mkdata"
T="$(mktemp -d)"
pass=0; fail=0
ok()  { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
ino() { stat -c %i "$1"; }
sz()  { stat -c %s "$1"; }

for base in "$NG" "$AP"; do
  off=$((123456 * 4096))
  code="$(curl -s -o "$T/r" -w '%{http_code}' -H "Range: bytes=$off-$((off + 4095))" "$base/data.bin")"
  if [[ "$code" == 206 ]] && "$MK" --check - "$off" 4096 < "$T/r"; then ok "$base GET Range -> 206 with the right 4096 bytes"
  else bad "$base GET Range -> $code"; fi
  code="$(curl -s -o "$T/r" -w '%{http_code}' -H 'Range: bytes=1073741820-1073741830' "$base/data.bin")"
  [[ "$code" == 206 && "$(sz "$T/r")" == 4 ]] && ok "$base GET Range past EOF is clipped (206, 4 bytes)" || bad "$base Range past EOF -> $code $(sz "$T/r")"
  code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=1073741824-' "$base/data.bin")"
  [[ "$code" == 416 ]] && ok "$base GET Range wholly past EOF -> 416" || bad "$base unsatisfiable Range -> $code"
done

# nginx: partial PUT
head -c 4096 /dev/zero | tr '\0' 'N' > "$T/n"
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Range: bytes 0-4095/*' --data-binary "@$T/n" "$NG/dav/put.bin")"
[[ "$code" == 501 ]] && ok "nginx PUT with Content-Range -> 501 Not Implemented (nginx dav cannot update part of a file)" \
  || bad "nginx PUT with Content-Range -> $code"

# Apache: partial PUT in place, on a scratch 16 MiB pattern file owned by the server user
"$MK" "$D/inplace.bin" $((16 << 20)); chown www-data:www-data "$D/inplace.bin"
i0="$(ino "$D/inplace.bin")"; s0="$(sz "$D/inplace.bin")"
head -c 4096 /dev/zero | tr '\0' 'A' > "$T/a"
off=$((1000 * 4096))
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Range: bytes $off-$((off + 4095))/*" --data-binary "@$T/a" "$AP/inplace.bin")"
i1="$(ino "$D/inplace.bin")"; s1="$(sz "$D/inplace.bin")"
if [[ "$code" == 2* && "$i0" == "$i1" && "$s0" == "$s1" ]] \
   && dd if="$D/inplace.bin" bs=4096 skip=1000 count=1 status=none | cmp -s - "$T/a" \
   && dd if="$D/inplace.bin" bs=4096 skip=999 count=1 status=none | "$MK" --check - $((999 * 4096)) 4096 \
   && dd if="$D/inplace.bin" bs=4096 skip=1001 count=1 status=none | "$MK" --check - $((1001 * 4096)) 4096 \
   && head -c $((999 * 4096)) "$D/inplace.bin" | "$MK" --check - 0 $((999 * 4096)) \
   && tail -c $((16 * 1048576 - 1001 * 4096)) "$D/inplace.bin" | "$MK" --check - $((1001 * 4096)) $((16 * 1048576 - 1001 * 4096)); then
  ok "Apache PUT Content-Range -> $code, in place: inode $i0 kept, size $s1 kept, all other bytes intact"
else
  bad "Apache partial PUT: HTTP $code inode $i0->$i1 size $s0->$s1"
fi
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Range: bytes 0-4095/*' --data-binary 'short' "$AP/inplace.bin")"
[[ "$code" == 2* ]] && echo "NOTE: Apache accepts a body shorter than its Content-Range (5 bytes for 0-4095): HTTP $code, wrote $(head -c 5 "$D/inplace.bin")" \
  || echo "NOTE: Apache rejects a body shorter than its Content-Range: HTTP $code"
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Range: bytes $((32 << 20))-$(((32 << 20) + 3))/*" --data-binary 'tail' "$AP/inplace.bin")"
echo "NOTE: Apache PUT Content-Range past EOF (offset 32 MiB on a 16 MiB file): HTTP $code, size now $(sz "$D/inplace.bin") (file extended, hole in between)"
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Range: bytes=0-3' --data-binary 'abcd' "$AP/inplace.bin")"
[[ "$code" == 400 ]] && ok "Apache malformed Content-Range -> 400" || bad "Apache malformed Content-Range -> $code"
rm -f "$D/inplace.bin"

# Apache: plain PUT replaces (needs a directory the server user may write: temp file + rename)
mkdir -p "$D/davdir"; chown www-data:www-data "$D/davdir"
"$MK" "$D/davdir/f.bin" 65536; chown www-data:www-data "$D/davdir/f.bin"
i0="$(ino "$D/davdir/f.bin")"
code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary 'whole' "$AP/davdir/f.bin")"
i1="$(ino "$D/davdir/f.bin")"
[[ "$code" == 2* && "$i0" != "$i1" && "$(sz "$D/davdir/f.bin")" == 5 ]] \
  && ok "Apache plain PUT -> $code replaces the file (inode $i0 -> $i1, size 5)" || bad "Apache plain PUT: $code inode $i0->$i1"
rm -rf "$D/davdir"

# Redis
off=$((777 * 4096))
redis-cli -h 127.0.0.1 -p "$RP" --raw GETRANGE big "$off" $((off + 4095)) | head -c 4096 | "$MK" --check - "$off" 4096 \
  && ok "Redis GETRANGE returns the right 4096 bytes" || bad "Redis GETRANGE content"

rm -rf "$T"
echo "verify: $pass passed, $fail failed"
[[ "$fail" == 0 ]]
