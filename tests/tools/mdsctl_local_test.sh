#!/usr/bin/env bash
# The publisher's commands of the real mdsctl binary: what they write, and how each bad
# input is refused (error code on stderr, non-zero exit, nothing written).
#   mdsctl_local_test.sh MDSCTL SAMPLE_DIR
set -uo pipefail
mdsctl=$1
sample=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

passed=0
failed=0
check() { # check NAME COMMAND... : the command must succeed
  local name=$1; shift
  if "$@" >out.txt 2>err.txt; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; cat err.txt; fi
}
refuse() { # refuse NAME CODE_NAME COMMAND... : must fail, with that error name in --json stderr
  local name=$1 code=$2; shift 2
  if "$@" >out.txt 2>err.txt; then
    failed=$((failed + 1)); echo "FAIL: $name: accepted"
  elif ! grep -q "\"name\":\"$code\"" err.txt; then
    failed=$((failed + 1)); echo "FAIL: $name: wanted $code, got:"; cat err.txt
  else
    passed=$((passed + 1))
  fi
}
expect() { # expect NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

# keys
check "keygen" "$mdsctl" keygen --out a.key
expect "private key is 0600" test "$(stat -c %a a.key)" = 600
expect "public key is written" grep -q "BEGIN PUBLIC KEY" a.key.pub
check "keygen --json" "$mdsctl" --json keygen --out b.key
expect "keygen --json prints the key id" grep -qE '"key_id":"[0-9a-f]{64}"' out.txt
cp a.key a.key.before
refuse "keygen never overwrites" already_exists "$mdsctl" keygen --out a.key --json
expect "the old key is untouched" cmp -s a.key a.key.before

# manifest
check "manifest" "$mdsctl" manifest --app demo --kind offline --id h5-app --version 1.0.0 \
  --created 2026-01-01T00:00:00Z "$sample"
cp out.txt m.json
check "manifest again" "$mdsctl" manifest --app demo --kind offline --id h5-app --version 1.0.0 \
  --created 2026-01-01T00:00:00Z "$sample"
expect "manifest is deterministic" cmp -s out.txt m.json
expect "manifest lists every file" grep -q '"path":"static/app.js"' m.json
refuse "bad kind" invalid_argument "$mdsctl" --json manifest --app demo --kind plugin --id x --version 1 "$sample"
refuse "bad version" version_invalid "$mdsctl" --json manifest --app demo --kind offline --id x --version 1.02 "$sample"
refuse "bad requirement" version_range_invalid "$mdsctl" --json manifest --app demo --kind offline --id x \
  --version 1 --requires-app '>=>1' "$sample"
mkdir -p linked && echo x >linked/a.js && ln -s /etc/passwd linked/b.js
refuse "symlink in package" path_unsafe "$mdsctl" --json manifest --app demo --kind offline --id x --version 1 linked
mkdir -p spaced && echo x >"spaced/a b.js"
refuse "unsafe file name" path_unsafe "$mdsctl" --json manifest --app demo --kind offline --id x --version 1 spaced
mkdir -p twins && echo x >twins/A.js && echo y >twins/a.js
refuse "case twins" path_unsafe "$mdsctl" --json manifest --app demo --kind offline --id x --version 1 twins
refuse "missing option" invalid_argument "$mdsctl" --json manifest --app demo --kind offline --id x "$sample"

# sign and verify
check "sign" "$mdsctl" sign --key a.key m.json
cp out.txt e.json
check "verify" "$mdsctl" --json verify --trusted-key a.key.pub e.json
expect "verify names the signer and the manifest" grep -q '"package":"h5-app"' out.txt
check "verify with a second, unrelated trusted key" "$mdsctl" verify --trusted-key b.key.pub --trusted-key a.key.pub e.json
refuse "untrusted signer" signature_untrusted_key "$mdsctl" --json verify --trusted-key b.key.pub e.json
sed 's/"payload":"eyJ/"payload":"eyK/' e.json >flipped.json
refuse "flipped payload" signature_invalid "$mdsctl" --json verify --trusted-key a.key.pub flipped.json
sed 's/openmds.manifest/openmds.other/' e.json >retyped.json
refuse "changed payload type" payload_type_mismatch "$mdsctl" --json verify --trusted-key a.key.pub retyped.json
sed 's/"signatures":\[.*\]/"signatures":[]/' e.json >unsigned.json
refuse "no signature" signature_missing "$mdsctl" --json verify --trusted-key a.key.pub unsigned.json
sed 's/"payload":"/"payload":"!/' e.json >garbled.json
refuse "bad base64" invalid_base64 "$mdsctl" --json verify --trusted-key a.key.pub garbled.json
echo '{"payload": 1}' >malformed.json
refuse "malformed envelope" envelope_malformed "$mdsctl" --json verify --trusted-key a.key.pub malformed.json
refuse "private key given as trusted key" key_invalid "$mdsctl" --json verify --trusted-key a.key e.json
refuse "signing a non-manifest" json_syntax "$mdsctl" --json sign --key a.key "$sample/index.html"
refuse "threshold 2 with one signature" signature_threshold "$mdsctl" --json verify --threshold 2 \
  --trusted-key a.key.pub --trusted-key b.key.pub e.json
check "two signers" "$mdsctl" sign --key a.key --key b.key --out e2.json m.json
check "threshold 2 met by two keys" "$mdsctl" verify --threshold 2 --trusted-key a.key.pub --trusted-key b.key.pub e2.json
refuse "unknown command" invalid_argument "$mdsctl" --json frobnicate
refuse "unknown option" invalid_argument "$mdsctl" --json keygen --outt x

echo "mdsctl local: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
