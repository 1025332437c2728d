#!/usr/bin/env bash
# The mesh's CA and per-install secrets, in the directory mounted at /secrets (the repository's
# git-ignored secrets/). Each service gets a directory of its own, owned by the user its
# processes run as, every file mode 0600:
#   ca/                     the CA: ca.pem, ca.key (put your own there before the first init)
#   edge/                   ca.pem cert.pem key.pem                       (uid 101, envoy)
#   usersvc/                ca.pem cert.pem key.pem (uid 101: its sidecar), db_password (uid 1000:
#                           Node, which cannot enter the directory; compose mounts the file itself)
#   token-keys/             the service's token signing keys (ES256, see token_keys): current.pem
#                           (uid 1000, what it signs with), next.pem (published, not yet used),
#                           retired/<kid>.jwk (public keys of tokens that may still be alive)
#   jwks.json               the public keys tokens are checked against, readable by anyone: what the
#                           edge and the service verify with, served at /user/.well-known/jwks.json
#   postgres/               ca.pem cert.pem key.pem superuser_password usersvc_password (uid 999)
#   prometheus/             ca.pem cert.pem key.pem     (uid 65534: the observability profile)
#   observe/                ca.pem cert.pem key.pem     (uid 101: its proxy, envoy/observe.yaml)
#   edge-public/            cert.pem key.pem source   the edge's HTTPS certificate (uid 101)
#   edge-ca/                the edge's own CA for clients: ca.pem, ca.key, names (see new_edge_ca)
#   ca.pem                  the edge CA's certificate, readable by anyone: what clients trust
# A certificate names its service as spiffe://appmesh/<service> (a URI SAN, what the proxies'
# RBAC checks) and as the DNS name <service> (what Prometheus, a Go TLS client, checks). Commands:
#   init                   create whatever is missing; renew certificates past half their life
#   renew                  renew certificates past half their life
#   renew-loop             renew, then again every RENEW_EVERY seconds (3600): the compose service
#   rotate                 issue every service a new certificate now
#   rotate-token-keys      sign tokens with the next key; retire the current one (meshctl rotate-keys)
#   static [DAYS]          long-lived certificates (Swarm, Kubernetes) in static/, where missing or due
#   public                 the edge's HTTPS certificate: the user's (EDGE_TLS_CERT, EDGE_TLS_KEY:
#                          files meshctl checked and mounted) or else this CA's, where missing or due
#   new-ca DIR, new-edge-ca DIR, issue NAME DIR [DAYS] [CA_DIR]   a CA, an edge CA (EDGE_HOSTNAMES),
#                          one certificate, anywhere (for tests)
set -euo pipefail
umask 077

S=${MESH_CA_DIR:-/secrets}  # where the install's secrets/ is mounted
CERT_DAYS=${CERT_DAYS:-1}
CA_DAYS=${CA_DAYS:-3650}
# Whose each directory and certificate is (the proxy's user), and whose its other secrets are.
declare -A OWNER=([edge]=101 [usersvc]=101 [postgres]=999 [prometheus]=65534 [observe]=101)
declare -A PASSWORD_FILE_UID=([usersvc]=1000 [postgres]=999)

# new_ca DIR: a CA key and self-signed certificate in DIR.
new_ca() {
  mkdir -p "$1"
  openssl ecparam -name prime256v1 -genkey -noout -out "$1/ca.key"
  openssl req -x509 -new -key "$1/ca.key" -days "$CA_DAYS" -subj "/O=appmesh/CN=appmesh mesh CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$1/ca.pem" 2>/dev/null
  echo "mesh-ca: created a CA valid for $CA_DAYS days in ${1#"$S"/}"
}

# The names the edge CA may sign for, as nameConstraints: localhost (and names under it), the
# loopback addresses, then each of EDGE_HOSTNAMES (a name and the names under it, or one address).
edge_ca_names() {
  local out="permitted;DNS:localhost,permitted;IP:127.0.0.0/255.0.0.0,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" name
  IFS=, read -ra extra <<< "${EDGE_HOSTNAMES:-}"
  for name in "${extra[@]}"; do
    name=${name// /}
    [ -z "$name" ] && continue
    if [[ $name =~ ^[0-9.]+$ ]]; then out+=",permitted;IP:$name/255.255.255.255"
    elif [[ $name == *:* ]]; then out+=",permitted;IP:$name/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    else out+=",permitted;DNS:$name"; fi
  done
  echo "$out"
}

# new_edge_ca DIR: the edge's CA, for clients, apart from the mesh CA: it signs the edge's HTTPS
# certificate and nothing else. Its name constraints (critical) let it vouch only for the
# edge's names, and pathlen:0 for no CA under it: a client that trusts it for this edge trusts
# it for no other site, and it cannot sign a mesh identity (the mesh CA's, which the proxies
# trust, is another key). A new EDGE_HOSTNAMES name needs a new edge CA (edge_ca_due).
new_edge_ca() {
  mkdir -p "$1"
  openssl ecparam -name prime256v1 -genkey -noout -out "$1/ca.key"
  openssl req -x509 -new -key "$1/ca.key" -days "$CA_DAYS" -subj "/O=appmesh/CN=appmesh edge CA" \
    -addext basicConstraints=critical,CA:TRUE,pathlen:0 -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext "nameConstraints=critical,$(edge_ca_names)" -out "$1/ca.pem" 2>/dev/null
  edge_ca_names > "$1/names"
  echo "mesh-ca: created the edge CA for $(edge_ca_names | sed 's/permitted;//g'): clients trust secrets/ca.pem (anew if they trusted an older one)"
}

# The edge CA is wanted: there is none, or its names are not the ones EDGE_HOSTNAMES now asks for.
edge_ca_due() {
  [ ! -s "$S/edge-ca/ca.key" ] || [ "$(cat "$S/edge-ca/names" 2>/dev/null)" != "$(edge_ca_names)" ]
}

edge_ca() {
  if edge_ca_due; then new_edge_ca "$S/edge-ca"; fi
  # What clients trust for the edge's HTTPS, readable by anyone (not a secret).
  cmp -s "$S/edge-ca/ca.pem" "$S/ca.pem" || { cp "$S/edge-ca/ca.pem" "$S/ca.pem" && chmod 644 "$S/ca.pem"; }
}

# issue NAME DIR [DAYS] [CA_DIR]: key.pem, cert.pem (spiffe://appmesh/NAME, DNS:NAME) and ca.pem into DIR.
issue() {
  local name=$1 dir=$2 days=${3:-$CERT_DAYS} ca=${4:-$S/ca}
  mkdir -p "$dir"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem"
  openssl req -new -key "$dir/key.pem" -subj "/O=appmesh/CN=$name" -out "$dir/req.csr"
  printf '%s\n' "subjectAltName=URI:spiffe://appmesh/$name,DNS:$name" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" > "$dir/ext.cnf"
  openssl x509 -req -in "$dir/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -days "$days" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
  cp "$ca/ca.pem" "$dir/ca.pem"
  rm "$dir/req.csr" "$dir/ext.cnf"
}

# swap DIR OWNER FILL...: fills a fresh directory (FILL... NEWDIR), links cert.pem and key.pem
# (and ca.pem where FILL made one) to it, then one atomic rename of the ..data link. The
# proxies watch the directory (SDS watched_directory) and reload on that rename.
swap() {
  # One writer at a time: make rotate-certs and the renewer may meet.
  exec 9>"$S/.lock"
  flock 9
  local dir=$1 owner=$2 new
  shift 2
  new=..$(date -u +%Y%m%dT%H%M%S%N)
  mkdir -p "$dir"
  "$@" "$dir/$new"
  for f in ca.pem cert.pem key.pem source; do
    if [ -e "$dir/$new/$f" ]; then ln -sfn "..data/$f" "$dir/$f"; fi
  done
  # The directory and the certificate's files only: other secrets in it keep their owner.
  chown -R "$owner:$owner" "$dir/$new"
  chown -h "$owner:$owner" "$dir" "$dir"/*.pem "$dir/source" 2>/dev/null || true
  chown "$owner:$owner" "$dir"
  chmod 700 "$dir" "$dir/$new"
  ln -sfn "$new" "$dir/..data.tmp"
  mv -Tf "$dir/..data.tmp" "$dir/..data"
  find "$dir" -maxdepth 1 -name '..2*' ! -name "$new" -exec rm -rf {} +
  exec 9>&-
}

# install NAME: a new mesh certificate for NAME.
install() {
  swap "$S/$1" "${OWNER[$1]}" issue "$1"
  echo "mesh-ca: $1: certificate $(openssl x509 -in "$S/$1/cert.pem" -noout -serial -enddate | tr '\n' ' ')"
}

# The edge's HTTPS certificate names: localhost and the loopback addresses, then EDGE_HOSTNAMES
# (comma-separated names or addresses), as subjectAltName entries.
public_names() {
  local names=DNS:localhost,IP:127.0.0.1,IP:::1 name
  IFS=, read -ra extra <<< "${EDGE_HOSTNAMES:-}"
  for name in "${extra[@]}"; do
    name=${name// /}
    [ -z "$name" ] && continue
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then names+=",IP:$name"; else names+=",DNS:$name"; fi
  done
  echo "$names"
}

# issue_public DIR: the edge's HTTPS certificate from the edge CA: serverAuth only, no SPIFFE
# name (it is not a mesh identity), CERT_DAYS long like the rest, renewed at half its life.
issue_public() {
  local dir=$1
  mkdir -p "$dir"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem"
  openssl req -new -key "$dir/key.pem" -subj "/O=appmesh/CN=appmesh edge" -out "$dir/req.csr"
  printf '%s\n' "subjectAltName=$(public_names)" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$dir/ext.cnf"
  openssl x509 -req -in "$dir/req.csr" -CA "$S/edge-ca/ca.pem" -CAkey "$S/edge-ca/ca.key" -days "$CERT_DAYS" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
  rm "$dir/req.csr" "$dir/ext.cnf"
  echo ours > "$dir/source"
}

# copy_public CERT KEY DIR: the user's certificate chain and key, as given.
copy_public() {
  mkdir -p "$3"
  cp "$1" "$3/cert.pem"
  cp "$2" "$3/key.pem"
  echo user > "$3/source"
}

# public_due: our own certificate is wanted, and there is none, or a user's, or one past half
# its life, from another CA (the mesh CA's, before the edge had one), or without a name
# EDGE_HOSTNAMES now lists.
public_due() {
  local dir=$S/edge-public want
  [ "$(cat "$dir/source" 2>/dev/null)" = ours ] || return 0
  openssl verify -CAfile "$S/edge-ca/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 || return 0
  openssl x509 -in "$dir/cert.pem" -noout \
    -checkend "${RENEW_BEFORE:-$((CERT_DAYS * 86400 / 2))}" >/dev/null 2>&1 || return 0
  want=$(public_names | tr , '\n' | sed 's/^IP:::1$/IP Address:0:0:0:0:0:0:0:1/; s/^IP:/IP Address:/')
  have=$(openssl x509 -in "$dir/cert.pem" -noout -ext subjectAltName | tail -n +2 | tr , '\n' | sed 's/^ *//')
  [ "$(sort <<< "$want")" != "$(sort <<< "$have")" ]
}

public() {
  edge_ca
  if public_due; then
    swap "$S/edge-public" 101 issue_public
    echo "mesh-ca: edge-public: certificate for $(public_names), $(openssl x509 -in "$S/edge-public/cert.pem" -noout -serial -enddate | tr '\n' ' ')"
  fi
}

# edge_public: the user's certificate where meshctl hands one over (EDGE_TLS_CERT and
# EDGE_TLS_KEY, mounted), else our own.
edge_public() {
  if [ -n "${EDGE_TLS_CERT:-}" ]; then public_install "$EDGE_TLS_CERT" "${EDGE_TLS_KEY:?}"; else public; fi
}

# The renewer's share: our own certificate when due; a user's is theirs to renew.
public_renew() {
  if [ ! -e "$S/edge-public/source" ] || [ "$(cat "$S/edge-public/source")" = ours ]; then public; fi
}

# public_install CERT KEY: the user's certificate and key (checked by meshctl), unless they are
# the ones installed already.
public_install() {
  local dir=$S/edge-public
  if [ "$(cat "$dir/source" 2>/dev/null)" = user ] && cmp -s "$1" "$dir/cert.pem" && cmp -s "$2" "$dir/key.pem"; then
    return
  fi
  swap "$dir" 101 copy_public "$1" "$2"
  echo "mesh-ca: edge-public: your certificate, $(openssl x509 -in "$dir/cert.pem" -noout -serial -enddate | tr '\n' ' ')"
}

# secret SERVICE FILE [VALUE]: a random secret (or VALUE) in FILE of SERVICE, unless it exists.
secret() {
  local file=$S/$1/$2
  [ -s "$file" ] && return
  mkdir -p "$S/$1"
  printf '%s' "${3:-$(openssl rand -hex 32)}" > "$file"
  chown "${PASSWORD_FILE_UID[$1]}:${PASSWORD_FILE_UID[$1]}" "$file"
  echo "mesh-ca: generated $1/$2"
}

# Token signing keys: ES256 (P-256) keys whose public halves are published as a JWKS, each
# named (kid) by its RFC 7638 thumbprint. The next key is published a rotation ahead of its use,
# so every edge and replica already trusts it when a rotation makes it current; a retired key
# stays published for TOKEN_KEY_OVERLAP seconds (86400: the longest a token may live).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# The 64 bytes x||y of a P-256 key's public point: the end of its SubjectPublicKeyInfo.
point() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 64; }
# jwk KEY: KEY's public JWK (one line).
jwk() {
  local x y kid
  x=$(point "$1" | head -c 32 | b64url)
  y=$(point "$1" | tail -c 32 | b64url)
  kid=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" | openssl dgst -sha256 -binary | b64url)
  printf '{"kty":"EC","crv":"P-256","x":"%s","y":"%s","kid":"%s","use":"sig","alg":"ES256"}\n' "$x" "$y" "$kid"
}
kid_of() { jwk "$1" | sed 's/.*"kid":"\([^"]*\)".*/\1/'; }
new_token_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# The current key is the service's (uid 1000, read-only); the others only the CA's.
current_token_key() {
  chown 1000:1000 "$1"
  chmod 400 "$1"
  mv -f "$1" "$S/token-keys/current.pem"
}
# jwks.json from the current, next and retired keys, written whole (a rename), readable by all.
publish_jwks() {
  local d=$S/token-keys overlap=${TOKEN_KEY_OVERLAP:-86400} keys=()
  find "$d/retired" -name '*.jwk' -mmin +$((overlap / 60)) -delete
  keys+=("$(jwk "$d/current.pem")" "$(jwk "$d/next.pem")")
  for f in "$d"/retired/*.jwk; do [ -e "$f" ] && keys+=("$(cat "$f")"); done
  local IFS=,
  printf '{"keys":[%s]}\n' "${keys[*]}" > "$S/.jwks.json.new"
  chmod 644 "$S/.jwks.json.new"
  mv -f "$S/.jwks.json.new" "$S/jwks.json"
}
token_keys() {
  local d=$S/token-keys
  mkdir -p "$d/retired"
  chmod 700 "$d"
  if [ ! -s "$d/current.pem" ]; then
    new_token_key "$d/.current.new" && current_token_key "$d/.current.new"
    echo "mesh-ca: generated a token signing key (kid $(kid_of "$d/current.pem"))"
  fi
  [ -s "$d/next.pem" ] || new_token_key "$d/next.pem"
  # The HS256 secret of earlier versions: tokens are signed with these keys now.
  rm -f "$S/usersvc/token_secret" "$S/static/usersvc/token_secret"
  publish_jwks
}
rotate_token_keys() {
  exec 9>"$S/.lock"
  flock 9
  token_keys
  local d=$S/token-keys old
  old=$(kid_of "$d/current.pem")
  jwk "$d/current.pem" > "$d/retired/$old.jwk"
  cp "$d/next.pem" "$d/.current.new" && current_token_key "$d/.current.new"
  new_token_key "$d/.next.new" && mv -f "$d/.next.new" "$d/next.pem"
  publish_jwks
  echo "mesh-ca: tokens are signed with kid $(kid_of "$d/current.pem") now; kid $old stays published for ${TOKEN_KEY_OVERLAP:-86400} s"
  exec 9>&-
}

# Due for a new certificate: none yet, less than RENEW_BEFORE seconds left (half its life), one
# owned by another user (from before a replica's sidecar had a user of its own), or one from
# before certificates carried their DNS name.
due() {
  ! openssl x509 -in "$S/$1/cert.pem" -noout -checkend "${RENEW_BEFORE:-$((CERT_DAYS * 86400 / 2))}" >/dev/null 2>&1 ||
    [ "$(stat -L -c %u "$S/$1/key.pem" 2>/dev/null)" != "${OWNER[$1]}" ] ||
    ! openssl x509 -in "$S/$1/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$1\b"
}

renew() {
  for name in "${!OWNER[@]}"; do if due "$name"; then install "$name"; fi; done
  public_renew
}

case "${1:-init}" in
  init)
    chmod 700 "$S"
    [ -s "$S/ca/ca.key" ] || new_ca "$S/ca"
    token_keys
    secret usersvc db_password
    secret postgres usersvc_password "$(cat "$S/usersvc/db_password")"
    secret postgres superuser_password
    edge_ca
    for name in "${!OWNER[@]}"; do if due "$name"; then install "$name"; fi; done
    edge_public ;;
  renew)
    renew ;;
  renew-loop)
    trap 'exit 0' TERM INT
    while true; do
      renew
      sleep "${RENEW_EVERY:-3600}" & wait $!
    done ;;
  static)
    # Certificates for platforms that hold them as secrets of their own, in static/<service>/:
    # a Swarm secret never changes, a Kubernetes Secret changes when applied again. So they
    # live longer (DAYS, default 30), and meshctl swarm up and kubernetes secrets replace
    # those past half their life, or from another CA.
    days=${2:-30}
    for name in "${!OWNER[@]}"; do
      dir=$S/static/$name
      if ! cmp -s "$S/ca/ca.pem" "$dir/ca.pem" ||
         ! openssl x509 -in "$dir/cert.pem" -noout -checkend $((days * 86400 / 2)) >/dev/null 2>&1; then
        issue "$name" "$dir" "$days"
        echo "mesh-ca: static/$name: certificate $(openssl x509 -in "$dir/cert.pem" -noout -enddate)"
      fi
    done
    # The edge's HTTPS certificate: the user's own as installed, else one of ours.
    edge_ca
    dir=$S/static/edge-public
    if [ "$(cat "$S/edge-public/source" 2>/dev/null)" = user ]; then
      if ! cmp -s "$S/edge-public/cert.pem" "$dir/cert.pem"; then
        copy_public "$S/edge-public/cert.pem" "$S/edge-public/key.pem" "$dir"
        echo "mesh-ca: static/edge-public: your certificate"
      fi
    elif [ "$(cat "$dir/source" 2>/dev/null)" != ours ] ||
         ! openssl verify -CAfile "$S/edge-ca/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 ||
         ! openssl x509 -in "$dir/cert.pem" -noout -checkend $((days * 86400 / 2)) >/dev/null 2>&1; then
      CERT_DAYS=$days issue_public "$dir"
      echo "mesh-ca: static/edge-public: certificate $(openssl x509 -in "$dir/cert.pem" -noout -enddate)"
    fi ;;
  rotate)
    for name in "${!OWNER[@]}"; do install "$name"; done
    if [ -z "${EDGE_TLS_CERT:-}" ]; then
      edge_ca
      swap "$S/edge-public" 101 issue_public
      echo "mesh-ca: edge-public: certificate $(openssl x509 -in "$S/edge-public/cert.pem" -noout -serial -enddate | tr '\n' ' ')"
    fi ;;
  rotate-token-keys)
    rotate_token_keys ;;
  public)
    edge_public ;;
  new-ca)
    new_ca "${2:?directory}" ;;
  new-edge-ca)
    new_edge_ca "${2:?directory}" ;;
  issue)
    issue "${2:?name}" "${3:?directory}" "${4:-$CERT_DAYS}" "${5:-$S/ca}" ;;
  *)
    echo "usage: mesh-ca init | renew | renew-loop | rotate | rotate-token-keys | public | static [DAYS] | new-ca DIR | new-edge-ca DIR | issue NAME DIR [DAYS] [CA_DIR]" >&2; exit 2 ;;
esac
