#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Turns the JSON of `mmapio-bench --json FILE` into a chart of the ratios to
# each workload's baseline: one horizontal bar per variant on a log scale,
# starting at 1, so bars to the right are faster than the baseline and bars
# to the left slower.  Colours say what ran: the io_uring ring, the blocking
# ring, the backend-free core API, or other hand-written system calls.
#
# usage: benchmarks/chart.sh results.json [chart.svg|chart.png]
#
# Needs gnuplot (Debian: gnuplot-nox) and a POSIX awk; no JSON tool, because
# mmapio-bench writes one result per line for exactly this purpose.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 results.json [chart.svg|chart.png]" >&2
	exit 2
fi
json=$1
out=${2:-${json%.json}.svg}
command -v gnuplot >/dev/null 2>&1 || { echo "$0: gnuplot not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# One row per measured non-baseline variant: index, ratio, colour, label.
awk -v data="$tmp/data" -v meta="$tmp/meta" '
function field(line, name,    re) {
	re = "\"" name "\": (\"[^\"]*\"|[^,}]*)"
	if (!match(line, re))
		return ""
	line = substr(line, RSTART + length(name) + 4, RLENGTH - length(name) - 4)
	gsub(/^"|"$/, "", line)
	return line
}
/^  "date": / { date = field($0, "date") }
/^  "kernel": / { kernel = field($0, "kernel") }
/^  "filesystem": / { fs = field($0, "filesystem") }
/^  "cpus": / { cpus = field($0, "cpus") }
/^    \{"workload": / {
	n++
	wl[n] = field($0, "workload"); var[n] = field($0, "variant")
	kind[n] = field($0, "kind"); ratio[n] = field($0, "ratio")
	isbase[n] = field($0, "baseline"); status[n] = field($0, "status")
	if (isbase[n] == "true")
		base[wl[n]] = var[n]
}
END {
	colour["uring"] = "0x1f77b4"; colour["blocking"] = "0xff7f0e"
	colour["core"] = "0x2ca02c"; colour["syscalls"] = "0x8c8c8c"
	rows = 0
	for (i = 1; i <= n; i++)
		if (status[i] == "ok" && isbase[i] != "true" && ratio[i] != "null")
			rows++
	k = rows
	for (i = 1; i <= n; i++) {
		if (status[i] != "ok" || isbase[i] == "true" || ratio[i] == "null")
			continue
		label = wl[i] "  " var[i] "  (vs " base[wl[i]] ")"
		gsub(/"/, "", label)
		if (length(label) > widest)
			widest = length(label)
		printf "%d\t%s\t%s\t\"%s\"\n", k--, ratio[i], colour[kind[i]], label > data
	}
	title = date "; " kernel "; " fs "; " cpus " CPUs"
	gsub(/["\\]/, "", title)
	printf "%d\n%d\n%s\n", rows, widest, title > meta
}' "$json"

{ read -r rows; read -r widest; read -r title; } < "$tmp/meta"
if [ "$rows" -eq 0 ]; then
	echo "$0: no ratios in $json" >&2
	exit 1
fi
height=$((rows * 22 + 160))
case $out in
*.png) term="pngcairo size 1400,$height " ;;
*) term="svg size 1400,$height dynamic background '#ffffff'" ;;
esac

gnuplot <<EOF
set terminal $term
set output '$out'
set termoption noenhanced
set title "mmapio-bench: median ratio to each workload's baseline (> 1 = faster)\n$title"
set lmargin $((widest * 7 / 10 + 2))
set bmargin 7
set datafile separator "\t"
set logscale x 2
set xlabel "ratio to baseline (log scale)"
set xrange [*:*]
set offsets graph 0.02, graph 0.12, 0.5, 0.5
set yrange [0.3:$rows + 0.7]
set ytics scale 0 font ",9"
set grid xtics
set key outside bottom center horizontal maxrows 1 width 2
set style fill solid 0.85 border -1
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5 lc rgb "black"
lo(r) = r < 1 ? r : 1
hi(r) = r < 1 ? 1 : r
plot '$tmp/data' using (hi(\$2)):1:(lo(\$2)):(hi(\$2)):(\$1 - 0.38):(\$1 + 0.38):3:ytic(4) \
	with boxxyerror lc rgb variable notitle, \
     '' using (hi(\$2) * 1.04):1:(sprintf("%.2f", \$2)) with labels left font ",8" notitle, \
     keyentry with boxes fc rgb "#1f77b4" title "io_uring ring", \
     keyentry with boxes fc rgb "#ff7f0e" title "blocking ring", \
     keyentry with boxes fc rgb "#2ca02c" title "mmapio core (no backend)", \
     keyentry with boxes fc rgb "#8c8c8c" title "other hand-written syscalls"
EOF
echo "$out"
