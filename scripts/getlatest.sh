# getlatest [DIR]: a fresh, writable copy of the curated notebooks in your home directory.
#
# Like the platform's original `getlatest`: without DIR the copy is notebooks_YYYYMMDD_HHMMSS
# (the nblc worker's clock; a suffix _2, _3, … if that name is taken), with DIR it is DIR,
# which must not exist yet. Nothing is ever overwritten. The copy is made by the nblc service
# (POST /users/<you>/copies), so it is complete or absent, never half-copied.
#
# Install: add to ~/.bashrc (or /etc/bash.bashrc for everyone)
#   source /path/to/nblc/scripts/getlatest.sh
# Settings, from the environment:
#   NBLC_URL         the nblc HTTP API                  (default http://localhost:8080)
#   NBLC_TOKEN_FILE  file holding your token            (default ~/.nblc/token)
#   The token is your own (`nblc user-token <you>`, or GET /users/<you>/token, written there by
#   the account hook; mode 600): it opens only your copies. The operator token works too.
#   NBLC_USER        your name in NBLC_USERS_DIR        (default $USER)
# Needs bash, curl and python3.

getlatest() {
  if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    echo "usage: getlatest [DIR]   a new copy of the notebooks in ~/DIR (default ~/notebooks_YYYYMMDD_HHMMSS)" >&2
    return 2
  fi
  local dir="${1:-}"
  local url="${NBLC_URL:-http://localhost:8080}"
  local token_file="${NBLC_TOKEN_FILE:-$HOME/.nblc/token}"
  local user="${NBLC_USER:-${USER:-$(id -un)}}"
  # One name in your home directory: the same rule the service applies, checked here so the
  # name can go into the JSON body as it is.
  case "$dir" in
    */* | .* | -*) echo "getlatest: DIR must be a plain name in your home directory, not ${dir}" >&2; return 2 ;;
  esac
  if [ -n "$dir" ] && ! [[ "$dir" =~ ^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$ ]]; then
    echo "getlatest: DIR may contain only letters, digits and _ . + -" >&2
    return 2
  fi
  if [ ! -r "$token_file" ]; then
    echo "getlatest: cannot read the token file $token_file (set NBLC_TOKEN_FILE)" >&2
    return 1
  fi
  local body='{"mode":"latest"}'
  [ -n "$dir" ] && body="{\"mode\":\"latest\",\"dir\":\"$dir\"}"
  local response
  # The token goes to curl through a file descriptor, never on a command line (ps shows those).
  response=$(curl -sS -X POST "$url/users/$user/copies" \
    -H @<(printf 'Authorization: Bearer %s\n' "$(cat "$token_file")") \
    -H 'Content-Type: application/json' \
    --data "$body" -w '\n%{http_code}') || {
    echo "getlatest: the notebook service at $url did not answer" >&2
    return 1
  }
  local status="${response##*$'\n'}"
  local json="${response%$'\n'*}"
  if [ "$status" = 201 ] || [ "$status" = 200 ]; then
    local name
    name=$(printf '%s' "$json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
    echo "getlatest: a new copy of the notebooks is in ~/$name"
    # The notebooks of the copy that fail upstream now (the last scheduled run), if any.
    printf '%s' "$json" | python3 -c 'import json, sys
failing = json.load(sys.stdin).get("failingUpstream") or []
if failing:
    print("getlatest: %d notebook(s) of this copy currently fail upstream (being fixed):" % len(failing))
    for p in failing[:50]:
        print("  " + p)
    if len(failing) > 50:
        print("  ... and %d more" % (len(failing) - 50))'
    return 0
  fi
  local error
  error=$(printf '%s' "$json" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("error", ""))' 2>/dev/null)
  echo "getlatest: ${error:-the service answered $status}" >&2
  return 1
}
