#!/bin/bash
# The syncset image's HEALTHCHECK (installed as /usr/local/bin/syncset-healthcheck).
#
#   syncset-healthcheck [PATH]      PATH defaults to /healthz; exit 0 on HTTP 200, 1 otherwise
#
# Asks syncset's own HTTP listener (metrics.listen in the config) with bash's /dev/tcp, so the
# slim image needs no curl or wget. A refused connection, a timeout, or any status but 200 fail.
# /healthz never touches a database: the container stays healthy while the source restarts.
#
# The port comes from metrics.listen in the config (SYNCSET_HEALTH_CONFIG, default
# /etc/syncset/syncset.yaml; block style or `metrics: {listen: "HOST:PORT"}`), or from
# SYNCSET_HEALTH_PORT when set (e.g. when the config takes the address from the environment).
# A config with no `metrics:` key at all has no listener to ask: then the check falls back to
# `syncset status` (healthy while every replica's metadata can be read), as before the listener.
set -u

path=${1:-/healthz}
config=${SYNCSET_HEALTH_CONFIG:-/etc/syncset/syncset.yaml}
port=${SYNCSET_HEALTH_PORT:-}
host=127.0.0.1

fail() {
    echo "unhealthy: $*"
    exit 1
}

# The value of metrics.listen, or nothing; exit status 1 when the config has no metrics key.
read_listen() {
    local line in_metrics=0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue # a comment or an empty line
        if ((in_metrics)); then
            [[ $line =~ ^[^[:space:]#] ]] && break # the next top-level key
        elif [[ $line =~ ^metrics:(.*)$ ]]; then
            in_metrics=1
            line=${BASH_REMATCH[1]} # flow style: `metrics: {listen: "..."}`
        else
            continue
        fi
        if [[ $line =~ (^|[[:space:]{,])listen:[[:space:]]*[\"\']?([^\"\'[:space:],}#]+) ]]; then
            printf '%s\n' "${BASH_REMATCH[2]}"
            return 0
        fi
    done <"$config"
    ((in_metrics))
}

if [[ -z $port ]]; then
    [[ -r $config ]] || fail "cannot read $config"
    if ! listen=$(read_listen); then
        # No listener configured: the check of the image before metrics.listen existed.
        syncset --log-level error status "$config" >/dev/null 2>&1 && exit 0
        fail "no metrics key in $config, and syncset status failed"
    fi
    [[ -n $listen ]] || fail "metrics.listen not found in $config (or set SYNCSET_HEALTH_PORT)"
    port=${listen##*:}
    listen_host=${listen%:*}
    listen_host=${listen_host#[}
    listen_host=${listen_host%]}
    # A wildcard address is reached on the loopback; a specific one only on itself.
    case $listen_host in
        "" | 0.0.0.0 | :: | "*") ;;
        *) host=$listen_host ;;
    esac
fi
[[ $port =~ ^[0-9]+$ ]] || fail "no port number in metrics.listen of $config (set SYNCSET_HEALTH_PORT)"

{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || fail "nothing listens on $host:$port"
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS=' ' read -r -t 5 _ status _ <&3 || fail "no answer from $host:$port$path"
# Skip the headers, print the body (Docker keeps it in the health log).
while IFS= read -r -t 5 line <&3; do
    [[ -z ${line%$'\r'} ]] && break
done
body=""
while IFS= read -r -t 5 line <&3 || [[ -n $line ]]; do
    body+=$line$'\n'
done
exec 3<&-
printf '%s %s' "$status" "$body"
[[ $status == 200 ]] || exit 1
