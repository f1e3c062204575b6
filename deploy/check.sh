#!/usr/bin/env bash
# check.sh - static checks of the deploy files, each with a Debian-packaged
# tool; a check whose tool is missing prints "skipped: ..." instead.
#
#   deploy/check.sh [path/to/mmapd]    (ctest: deploy.check, label deploy)
#
#   yaml     yamllint (strict) on compose.yaml, k8s/*.yaml and grafana/*.yaml
#   rules    promtool check rules on grafana/mmapd-alerts.yaml (Debian's
#            prometheus package); the metric names they use are checked
#            against a real mmapd by grafana/check_metrics.py
#   k8s      python3-yaml: the manifests parse and keep what the README
#            promises (StatefulSet with a volumeClaimTemplate, /healthz and
#            /readyz probes, resources, non-root securityContext, a Service
#            that selects the pods). kubeconform is not in Debian.
#   compose  python3-yaml: the service, its volume and loopback-only ports
#   systemd  systemd-analyze verify, and security --offline under a threshold
#   nginx    nginx -t on nginx/mmapd-shard.conf inside a minimal nginx.conf
#
# The mmapd argument (default: none) stands in for ExecStart's
# /usr/local/bin/mmapd, which verify requires to exist; without it /bin/true
# does. Exit 0 when every check that ran passed; 77 when none could run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=$(realpath "${1:-/bin/true}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ran=0 failed=0

have() { command -v "$1" >/dev/null 2>&1; }
skip() { echo "skipped: $1"; }
result() { # result NAME STATUS
    ran=$((ran + 1))
    if [[ $2 == 0 ]]; then echo "ok: $1"; else echo "FAIL: $1"; failed=$((failed + 1)); fi
}
pyyaml() { have python3 && python3 -c 'import yaml' 2>/dev/null; }

if have yamllint; then
    rc=0
    yamllint -s -d '{extends: default, rules: {line-length: {max: 100}, document-start: disable}}' \
        "$here/compose.yaml" "$here"/k8s/*.yaml "$here"/grafana/*.yaml || rc=$?
    result yaml $rc
else
    skip "yaml: yamllint not installed (apt-get install yamllint)"
fi

if have promtool; then
    rc=0
    promtool check rules "$here/grafana/mmapd-alerts.yaml" || rc=$?
    result rules $rc
else
    skip "rules: promtool not installed (apt-get install prometheus)"
fi

if pyyaml; then
    rc=0
    python3 - "$here"/k8s/*.yaml <<'PY' || rc=$?
import sys, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]
kinds = {d["kind"]: d for d in docs}
sts, errs = kinds.get("StatefulSet"), []
def need(cond, what):
    if not cond: errs.append(what)
need(sts, "a StatefulSet")
if sts:
    spec = sts["spec"]; pod = spec["template"]["spec"]; c = pod["containers"][0]
    labels = spec["template"]["metadata"]["labels"]
    need(spec.get("volumeClaimTemplates"), "volumeClaimTemplates")
    need(any(m["name"] == spec["volumeClaimTemplates"][0]["metadata"]["name"]
             and m["mountPath"] == "/data" for m in c.get("volumeMounts", [])),
         "the claim mounted at /data")
    need(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "liveness /healthz")
    need(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "readiness /readyz")
    need(c.get("resources", {}).get("limits", {}).get("memory"), "a memory limit")
    need(c.get("resources", {}).get("requests"), "resource requests")
    need(pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
    need(c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, "no privilege escalation")
    need(spec["selector"]["matchLabels"].items() <= labels.items(), "selector matches the pod labels")
    svcs = [d for d in docs if d["kind"] == "Service"]
    need(svcs, "a Service")
    for s in svcs:
        need(s["spec"]["selector"].items() <= labels.items(), f"Service {s['metadata']['name']} selects the pods")
    need(any(s["metadata"]["name"] == spec["serviceName"] for s in svcs), "the serviceName Service")
for e in errs:
    print(f"k8s: missing {e}", file=sys.stderr)
sys.exit(1 if errs else 0)
PY
    result k8s $rc
    rc=0
    python3 - "$here/compose.yaml" <<'PY' || rc=$?
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]["mmapd"]
ok = (any(v.split(":")[0] in c.get("volumes", {}) and v.endswith(":/data") for v in s["volumes"])
      and all(str(p).startswith("127.0.0.1:") for p in s["ports"]))
if not ok:
    print("compose: want a named volume at /data and ports on 127.0.0.1", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
    result compose $rc
else
    skip "k8s, compose: python3-yaml not installed (apt-get install python3-yaml)"
fi

if have systemd-analyze; then
    # verify needs ExecStart to exist; everything else is checked as shipped.
    sed "s|/usr/local/bin/mmapd|$exe|" "$here/mmapd.service" >"$tmp/mmapd.service"
    rc=0
    out=$(systemd-analyze verify "$tmp/mmapd.service" 2>&1) || rc=$?
    # verify prints warnings but still exits 0 for some mistakes: fail on any output.
    [[ -z $out ]] || { echo "$out"; rc=1; }
    result "systemd verify" $rc
    rc=0
    # 2.0 is "OK" in systemd's scale; the unit scores about 1.4.
    systemd-analyze security --offline=true --threshold=20 --no-pager "$tmp/mmapd.service" \
        >"$tmp/security" 2>&1 || { rc=$?; cat "$tmp/security"; }
    grep -h "Overall exposure" "$tmp/security" || true
    result "systemd security" $rc
else
    skip "systemd: systemd-analyze not installed (apt-get install systemd)"
fi

nginx=$(command -v nginx || true)
[[ -z $nginx && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
if [[ -n $nginx ]]; then
    cat >"$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/cb;
    proxy_temp_path $tmp/px;
    fastcgi_temp_path $tmp/fc;
    uwsgi_temp_path $tmp/uw;
    scgi_temp_path $tmp/sc;
    include $here/nginx/mmapd-shard.conf;
}
CONF
    rc=0
    "$nginx" -t -q -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" || rc=$?
    result nginx $rc
else
    skip "nginx: nginx not installed (apt-get install nginx-light)"
fi

echo "deploy checks: $ran ran, $failed failed"
((failed == 0)) || exit 1
((ran > 0)) || exit 77
