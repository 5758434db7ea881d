#!/usr/bin/env bash
# Lab test: https health checks (Patroni's REST API over TLS). The test makes
# its own CA with the openssl CLI; each real serves a Patroni-like API over
# TLS on port 8009 (tests/lab/tools/patroni_tls.py; its role is the file
# lab_role writes), with a certificate for its address (an IP SAN) signed by
# that CA, except real3's, signed by another CA. xlbd checks /primary with
# type https and ca_file: the primary is up and takes port 5002, a role
# switch moves it, real3 is down with the TLS reason in `xlbctl health`
# although it claims the primary role, and a CA file that disappears does
# not take the running checks with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: https_check_test.sh BUILD_DIR}"
trap netns_down EXIT

PKI=$LAB_RUN/pki
mkdir -p "$PKI"
ossl() { openssl "$@" 2>>"$PKI/openssl.log"; }
make_ca() {  # make_ca NAME
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=xlb lab $1" -keyout "$PKI/$1.key" -out "$PKI/$1.pem"
}
make_cert() {  # make_cert NAME CA SUBJECT_ALT_NAME
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr"
  printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\n' "$3" >"$PKI/$1.ext"
  ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
    -CAserial "$PKI/$2.srl" -CAcreateserial -days 1 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem"
}
make_ca ca
make_ca other-ca
make_cert real1 ca IP:203.0.113.11
make_cert real2 ca IP:203.0.113.12
make_cert real3 other-ca IP:203.0.113.13

lab_up
lab_start_servers  # the service's traffic (8080) and the role files
for i in 1 2 3; do
  netns_start "${LAB_PREFIX}-r$i" "$here/tools/patroni_tls.py" --port 8009 \
    --cert "$PKI/real$i.pem" --key "$PKI/real$i.key" --role-file "$LAB_RUN/role$i" \
    >"$LAB_RUN/tls$i.out" 2>"$LAB_RUN/tls$i.err"
done
netns_wait_for 10 "TLS servers ready" bash -c "grep -qx ready '$LAB_RUN/tls1.out' && \
  grep -qx ready '$LAB_RUN/tls2.out' && grep -qx ready '$LAB_RUN/tls3.out'"

HEALTH="type: https, port: 8009, path: /primary, interval: 300ms, timeout: 250ms, rise: 1, fall: 1"
cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: ""}
services:
  - name: pg-primary
    vip: $LAB_NAT_VIP4
    port: 5002
    forward: nat
    reals:
      - {address: 203.0.113.11, port: 8080}
      - {address: 203.0.113.12, port: 8080}
      - {address: 203.0.113.13, port: 8080}
    health: {$HEALTH, ca_file: $PKI/ca.pem}
  - name: pg-unverified
    vip: $LAB_NAT_VIP4
    port: 5003
    forward: nat
    reals:
      - {address: 203.0.113.13, port: 8080}
    health: {$HEALTH, verify: false}
YAML

answered_by() {  # the reals that answered N connections to TARGET ("real1 real3")
  lab_client connect --target "$1" --count "${2:-30}" 2>/dev/null | awk '$1 == "server" {print $2}' | sort | xargs
}
# health_line SERVICE REAL: the real's line of `xlbctl health`.
health_line() { xlbctl health | grep -E "^$1 +$2:8080 "; }
is_health() { health_line "$1" "$2" | grep -Eq "^$1 +$2:8080 +https +$3 "; }
PRIMARY="$LAB_NAT_VIP4:5002/tcp"

lab_role 1 primary
lab_role 2 replica
lab_role 3 primary  # claims the role, but its certificate is not from our CA
check "--check-config accepts the https checks" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$CONF"
lab_start_xlbd

# (1) The primary, verified, is up; a replica is down for its answer; real3
# is down for its certificate, with the reason.
check "(1) real1, the primary, is up" netns_wait_for 10 "real1 up" is_health "$PRIMARY" 203.0.113.11 up
check "(1) real2, a replica, is down (HTTP 503)" \
  netns_wait_for 10 "real2 down" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' health | grep -E '^$PRIMARY +203\.0\.113\.12:8080 +https +down .*HTTP 503 \(expected 200\)'"
check "(1) real3 (another CA) is down with the TLS reason in xlbctl health" \
  netns_wait_for 10 "real3's TLS reason" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' health | grep -E '^$PRIMARY +203\.0\.113\.13:8080 +https +down .*TLS: certificate verify failed: unable to get local issuer certificate'"
check "(1) 5002 reaches the primary only" test "$(answered_by "$LAB_NAT_VIP4:5002")" = "real1"
check "(1) verify: false accepts real3's certificate" \
  netns_wait_for 10 "real3 up unverified" is_health "$LAB_NAT_VIP4:5003/tcp" 203.0.113.13 up
check "(1) verify: false is warned about at load" \
  grep -q "https check with verify: false accepts any certificate" "$XLBD_LOG"

# (2) Patroni switches over: the check follows the role.
lab_role 1 replica
lab_role 2 primary
check "(2) real2, the new primary, comes up" netns_wait_for 10 "real2 up" is_health "$PRIMARY" 203.0.113.12 up
check "(2) real1 goes down" netns_wait_for 10 "real1 down" is_health "$PRIMARY" 203.0.113.11 down
check "(2) 5002 now reaches real2 only" test "$(answered_by "$LAB_NAT_VIP4:5002")" = "real2"

# (3) The CA file disappears: a reload is refused naming the file, line and
# field, and the checks go on with the CA loaded before.
mv "$PKI/ca.pem" "$PKI/ca.pem.gone"
check "(3) --check-config names the missing CA file, line and field" \
  fails_with 1 "^$CONF:12: services\[0\]\.health\.ca_file: $PKI/ca\.pem: cannot open: No such file or directory" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$CONF"
kill -HUP "$XLBD_PID"
check "(3) the reload is refused with that reason" \
  netns_wait_for 5 "reload refused" grep -q "reload refused.*ca_file: $PKI/ca.pem: cannot open" "$XLBD_LOG"
checks_before=$(xlbctl --json list | jq '[.[] | select(.name == "pg-primary") | .reals[] | select(.address == "203.0.113.12") | .checks] | add')
more_checks() {
  local now
  now=$(xlbctl --json list | jq '[.[] | select(.name == "pg-primary") | .reals[] | select(.address == "203.0.113.12") | .checks] | add')
  ((now >= checks_before + 3))
}
check "(3) the checks go on with the loaded CA" netns_wait_for 10 "three more checks" more_checks
check "(3) real2 is still up, verified" is_health "$PRIMARY" 203.0.113.12 up
check "(3) 5002 still reaches real2" test "$(answered_by "$LAB_NAT_VIP4:5002")" = "real2"

# (4) A CA that signs real3 too, given by a reload: real3 comes up (its role
# is primary), so a reload re-reads the files.
mv "$PKI/ca.pem.gone" "$PKI/ca.pem"
cat "$PKI/other-ca.pem" >>"$PKI/ca.pem"
kill -HUP "$XLBD_PID"
check "(4) after a reload with both CAs, real3 is up" \
  netns_wait_for 10 "real3 up" is_health "$PRIMARY" 203.0.113.13 up

lab_checks_done "lab https_check" || {
  echo "--- xlbd log"; tail -40 "$XLBD_LOG"; echo "--- xlbctl health"; xlbctl health || true
  exit 1
}
