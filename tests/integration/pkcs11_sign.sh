#!/bin/sh
# on_external_sign through a PKCS#11 token with pkcs11-tool (the SoftHSM2 test's signer).
# Usage: pkcs11_sign.sh MODULE PIN KEY_ID; the event's values come in SFK_HASH and SFK_DATA (hex),
# the signature goes to stdout as hex. The token does the private-key operation:
#   ECDSA   - the digest in, DER out (--signature-format openssl)
#   RSA     - DigestInfo + digest in (CKM_RSA_PKCS: the caller adds the DigestInfo), PKCS#1 v1.5 out
#   Ed25519 - the raw exchange hash in (CKM_EDDSA), 64 bytes out
set -eu
module=$1 pin=$2 id=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
case "$SFK_HASH" in
  SHA256) prefix=3031300d060960864801650304020105000420 ;;
  SHA512) prefix=3051300d060960864801650304020305000440 ;;
  *) prefix= ;;
esac
scheme=$(printf '%s' "$SFK_PARS" | xxd -r -p | sed 's/.*;//') # pars: "<key algorithm>;<scheme>"
case "$scheme" in
  rsa-pkcs1v15) printf '%s%s' "$prefix" "$SFK_DATA" | xxd -r -p >"$dir/in"; mech=RSA-PKCS; fmt= ;;
  ecdsa-der) printf '%s' "$SFK_DATA" | xxd -r -p >"$dir/in"; mech=ECDSA; fmt="--signature-format openssl" ;;
  ed25519) printf '%s' "$SFK_DATA" | xxd -r -p >"$dir/in"; mech=EDDSA; fmt= ;;
  *) echo "unknown scheme $scheme" >&2; exit 1 ;;
esac
# shellcheck disable=SC2086
pkcs11-tool --module "$module" --login --pin "$pin" --sign --id "$id" -m "$mech" $fmt \
  -i "$dir/in" -o "$dir/out" >/dev/null 2>&1
xxd -p "$dir/out" | tr -d '\n'
