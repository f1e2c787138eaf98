# SPDX-License-Identifier: MIT
# acc-score.awk - score a ranker's cold set against workload-gen's truth.
#
#   awk -f acc-score.awk -v base=0x.. pages=N stride=N pid=P TRUTH DECISIONS
#
# TRUTH is workload-gen's --truth file (W/H/T/F windows), DECISIONS the text
# stream of etmem-rank (D lines, PERIOD markers). For each PERIOD, the truth
# in force is the last window whose t_ns <= the PERIOD's time_ns (the first
# window if none is). Cold truth = arena pages outside the designed hot set
# (H); detected = the period's swap decisions of `pid` that fall inside the
# arena. Pages are counted in "slots" (4K pages from base, guard pages of a
# split arena excluded). Prints one line per period:
#   period=N recall=R precision=P cold=N detected=N hit=N phase=N
# Addresses are parsed by hand: mawk has no strtonum.
function hex(s,    i, c, v) {
	sub(/^0x/, "", s); v = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1)) - 1
		v = v * 16 + c
	}
	return v
}
function kv(s, k,    i, a, n) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], k "=") == 1)
			return substr(a[i], length(k) + 2)
	return ""
}
# Is slot s a page of the arena (not a guard, not outside)?
function inarena(s) {
	return s >= 0 && s < nslots && (stride == pages || s % (stride + 1) != stride)
}
BEGIN { b = hex(base); nslots = stride == pages ? pages : int(pages / stride) * (stride + 1) + pages % stride; nw = 0 }
FNR == NR {
	if ($1 == "W") { nw++; wt[nw] = kv($0, "t_ns") + 0; wph[nw] = kv($0, "phase") }
	else if ($1 == "H") {
		s0 = (hex($2) - b) / 4096
		for (i = 0; i < $3; i++) hot[nw, s0 + i] = 1
	}
	next
}
$1 == "D" && $2 == pid && $6 == "swap" {
	n = $4 * ($5 == "2M" ? 512 : $5 == "1G" ? 262144 : 1)
	s0 = (hex($3) - b) / 4096
	for (i = 0; i < n; i++)
		if (inarena(s0 + i)) det[s0 + i] = 1
	next
}
$1 == "PERIOD" {
	t = kv($0, "time_ns") + 0; w = 1
	for (i = 1; i <= nw; i++) if (wt[i] <= t) w = i
	cold = 0; hit = 0; nd = 0
	for (s = 0; s < nslots; s++) {
		if (!inarena(s)) continue
		c = !((w, s) in hot)
		cold += c
		if (s in det) { nd++; hit += c }
	}
	printf "period=%s recall=%.3f precision=%.3f cold=%d detected=%d hit=%d phase=%s\n", \
	    kv($0, "period"), cold ? hit / cold : 1, nd ? hit / nd : 1, cold, nd, hit, wph[w]
	split("", det)
}
