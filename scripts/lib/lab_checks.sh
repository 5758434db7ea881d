# Assertions shared by the lab tests (sourced after lab.sh). Each check
# prints one line, ok or FAIL, and the totals end as "N passed, N failed".
LAB_PASSES=0 LAB_FAILURES=0

check() {  # check DESCRIPTION CMD...
  if "${@:2}"; then
    echo "ok: $1"
    LAB_PASSES=$((LAB_PASSES + 1))
  else
    echo "FAIL: $1"
    LAB_FAILURES=$((LAB_FAILURES + 1))
  fi
}

# Each of real1..real3 answered within +-25% of a third of N.
balanced() {  # balanced CLIENT_OUTPUT N
  local n=$2 lo hi count
  lo=$((n * 75 / 300)) hi=$((n * 125 / 300))
  for r in real1 real2 real3; do
    count=$(awk -v r="$r" '$1 == "server" && $2 == r {print $3}' <<<"$1")
    if [[ -z "$count" || $count -lt $lo || $count -gt $hi ]]; then
      echo "  $r got ${count:-0} of $n (want $lo..$hi)"
      return 1
    fi
  done
}

# CMD exits with status CODE and prints (stdout or stderr) a line matching
# the extended regex PATTERN.
fails_with() {  # fails_with CODE PATTERN CMD...
  local out rc=0
  out=$("${@:3}" 2>&1) || rc=$?
  if [[ $rc -ne $1 ]] || ! grep -Eq -- "$2" <<<"$out"; then
    echo "  exit $rc (want $1), said: $out"
    return 1
  fi
}

# The client's closing line says all N passed.
passed_all() { grep -qx "$2: $3 passed, 0 failed" <<<"$1"; }

lab_checks_done() {  # lab_checks_done NAME: the closing line and exit status
  echo "$1: $LAB_PASSES passed, $LAB_FAILURES failed"
  ((LAB_FAILURES == 0))
}
