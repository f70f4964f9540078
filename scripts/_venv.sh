# Sourced by the scripts: ensure_venv [EXTRAS] creates .venv once and (re)installs aitrader
# whenever pyproject.toml changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ensure_venv() {
  local extras="${1:-}" python_bin="${PYTHON:-}" candidate stamp want
  if [ -z "$python_bin" ]; then
    for candidate in python3.11 python3 python; do
      if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
    done
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python_bin" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  stamp=".venv/.installed${extras:+-$extras}"
  want="$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setting up .venv (aitrader${extras:+[$extras]}) ..." >&2
    .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
    echo "$want" > "$stamp"
  fi
}
