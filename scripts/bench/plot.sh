#!/usr/bin/env bash
# Bar chart (gnuplot PNG) of saved benchmark results: the flat JSON objects
# that `scripts/bench.sh BENCHMARK --json` prints, e.g.
#   {"xlb_cps": X, "haproxy_cps": H, "direct_cps": D, "ratio": R}        connections
#   {"floor_pps": F, "dr_pps": D, "nat_pps": N, "kernel_pps": K, ...}   throughput
# Each input file holds one or more such objects (one per run, appended with
# >>). A bar per key: the median over all objects, a whisker from the lowest
# to the highest, the median written above it. The keys plotted are, unless
# --keys names them, the numeric ones ending in the suffix of the first
# such key among _cps, _pps, _ns, _ms (so a "ratio" or "engine" field is
# left out); the bar's label is the key without that suffix.
#
#   scripts/bench/plot.sh OUT.png RESULTS.json... [--title T] [--ylabel L] [--keys K1,K2,...]
#
# Needs gnuplot (gnuplot-nox) and jq.
set -euo pipefail

usage() {
  echo "usage: plot.sh OUT.png RESULTS.json... [--title T] [--ylabel L] [--keys K1,K2,...]" >&2
  exit 2
}

out= title= ylabel= keys= inputs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --title) title=${2:?--title needs a text}; shift ;;
    --ylabel) ylabel=${2:?--ylabel needs a text}; shift ;;
    --keys) keys=${2:?--keys needs K1,K2,...}; shift ;;
    -*) echo "plot.sh: unknown option '$1'" >&2; usage ;;
    *) if [[ -z $out ]]; then out=$1; else inputs+=("$1"); fi ;;
  esac
  shift
done
[[ -n $out && ${#inputs[@]} -gt 0 ]] || usage
[[ $out == *.png ]] || { echo "plot.sh: '$out': the output must be a .png file" >&2; exit 2; }
for f in "${inputs[@]}"; do
  [[ -r $f ]] || { echo "plot.sh: cannot read '$f'" >&2; exit 1; }
done
for tool in gnuplot jq; do
  command -v "$tool" >/dev/null || { echo "plot.sh: $tool is not installed (scripts/setup.sh)" >&2; exit 1; }
done

results=$(jq -cs '.' "${inputs[@]}") || { echo "plot.sh: ${inputs[*]}: not JSON objects" >&2; exit 1; }
jq -e 'length > 0 and all(.[]; type == "object")' <<<"$results" >/dev/null ||
  { echo "plot.sh: ${inputs[*]}: want one or more JSON objects" >&2; exit 1; }

# Which keys, and the unit suffix that names the axis.
if [[ -z $keys ]]; then
  suffix=$(jq -r 'first(.[0] | to_entries[] | select(.value | type == "number") | .key
    | capture("(?<s>_(cps|pps|ns|ms))$").s) // empty' <<<"$results")
  [[ -n $suffix ]] || { echo "plot.sh: no numeric key ending in _cps, _pps, _ns or _ms; name them with --keys" >&2; exit 1; }
  keys=$(jq -r --arg s "$suffix" '[.[0] | to_entries[] | select((.value | type == "number") and (.key | endswith($s))) | .key] | join(",")' <<<"$results")
else
  suffix=_${keys%%,*}
  suffix=_${suffix##*_}
fi
if [[ -z $ylabel ]]; then
  case "$suffix" in
    _cps) ylabel="new connections/s" ;;
    _pps) ylabel="packets/s" ;;
    _ns) ylabel="ns" ;;
    _ms) ylabel="ms" ;;
    *) ylabel="" ;;
  esac
fi
[[ -n $title ]] || title=$(basename "$out" .png)

# One line per key: label, median, min, max. A key missing from (or not a
# number in) any object is an error, not a silently shorter bar.
data=$(mktemp)
trap 'rm -f "$data"' EXIT
jq -r --arg keys "$keys" --arg s "$suffix" '
  . as $runs
  | ($keys | split(",")) | to_entries[]
  | .value as $k
  | [$runs[] | .[$k]] as $v
  | if all($v[]; type == "number") then . else error("key \($k) is missing or not a number in some result") end
  | ($v | sort) as $v
  | (if ($v | length) % 2 == 1 then $v[($v | length - 1) / 2]
     else ($v[($v | length) / 2 - 1] + $v[($v | length) / 2]) / 2 end) as $med
  | "\(.key) \"\($k | sub($s + "$"; ""))\" \($med) \($v[0]) \($v[-1])"
' <<<"$results" >"$data" || { echo "plot.sh: ${inputs[*]}: cannot take the keys $keys" >&2; exit 1; }
runs=$(jq 'length' <<<"$results")

mkdir -p "$(dirname "$out")"
gnuplot <<EOF
set terminal pngcairo size 800,480 font "DejaVu Sans,11"
set output "$out"
set title "$title\n{/*0.8 median of $runs result(s); whiskers: lowest to highest}" enhanced
set ylabel "$ylabel"
set yrange [0:*]
set offsets 0.5, 0.5, graph 0.12, 0
set boxwidth 0.6
set style fill solid 0.6 border -1
set grid ytics
unset key
set xtics nomirror
set format y "%.0f"
plot "$data" using 1:3:xtic(2) with boxes lc rgb "#4477aa", \
     "" using 1:3:4:5:3 with candlesticks whiskerbars 0.3 lc rgb "black", \
     "" using 1:5:(sprintf("%.0f", \$3)) with labels offset 0,1
EOF
echo "plot.sh: wrote $out ($runs result(s), keys $keys)" >&2
