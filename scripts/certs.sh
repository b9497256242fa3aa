#!/usr/bin/env bash
# Certificates for mutual TLS between runners (ROOST_CLUSTER_TLS_*), made with openssl.
#
#   scripts/certs.sh DIR NAME...   a certificate authority (DIR/ca.pem, kept if present) and, for each NAME,
#                                  DIR/NAME.pem and DIR/NAME-key.pem signed by it
#
# Give each runner and each client (the CLI, a test) its own name. Point a process at its files with
#   ROOST_CLUSTER_TLS_CERTIFICATE=DIR/NAME.pem ROOST_CLUSTER_TLS_KEY=DIR/NAME-key.pem ROOST_CLUSTER_TLS_CA=DIR/ca.pem
# Keys are EC P-256, certificates valid for a year. This is a self-contained local authority: in production use
# your own, and keep ca-key.pem off the runners.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 64
fi
command -v openssl >/dev/null || { echo "certs.sh: openssl is not installed" >&2; exit 1; }
dir=$1
shift
mkdir -p "$dir"
umask 077
if [[ ! -f "$dir/ca.pem" ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
        -subj "/CN=roost cluster authority" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
fi
for name in "$@"; do
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "certs.sh: '$name' is not a plain name" >&2; exit 64; }
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
        -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$name" > "$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
        -days 365 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
    rm -f "$dir/$name.csr" "$dir/$name.ext"
done
echo "$dir"
