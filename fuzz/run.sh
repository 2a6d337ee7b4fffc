#!/bin/bash
# Runs libFuzzer targets, JOBS at a time, and summarises them (called by
# fuzz/Makefile's smoke and run targets).
#
#   run.sh MODE SECONDS JOBS OUT TARGET...
#
# MODE smoke: a fresh scratch corpus per target (OUT/smoke/<target>/), so a
#             smoke run starts from the committed seeds only;
# MODE run:   new inputs accumulate in OUT/corpus-<target>/ across runs.
# Either way the seeds in fuzz/corpus/<target>/ are read, never written, and
# crashes, leaks, timeouts and OOMs go to OUT/crashes/<target>/.  Logs:
# OUT/logs/<mode>-<target>.log.  Exit status 1 when any target failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)

# Per-target libFuzzer options.
target_opts() {
    case "$1" in
    fuzz_body) echo "-max_len=4096" ;;
    fuzz_form) echo "-max_len=2048" ;;
    fuzz_jwt) echo "-max_len=4096" ;;
    fuzz_django_hash) echo "-max_len=512" ;;
    esac
}

# One target: run.sh --one MODE SECONDS OUT TARGET; prints one summary line.
if [ "${1:-}" = "--one" ]; then
    mode=$2 secs=$3 out=$4 t=$5
    bin="$out/$t"
    seeds="$here/corpus/$t"
    if [ "$mode" = smoke ]; then
        corpus="$out/smoke/$t"
        rm -rf "$corpus"
    else
        corpus="$out/corpus-$t"
    fi
    crashes="$out/crashes/$t"
    log="$out/logs/$mode-$t.log"
    mkdir -p "$corpus" "$crashes" "$out/logs"
    dict=()
    [ -f "$here/$t.dict" ] && dict=("-dict=$here/$t.dict")

    start=$(date +%s)
    # shellcheck disable=SC2046
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "${dict[@]}" $(target_opts "$t") \
        "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - start))

    stats=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -1)
    execs=$(grep -a 'stat::number_of_executed_units:' "$log" | awk '{print $2}')
    [ -n "$execs" ] || execs=$(echo "$stats" | sed -E 's/^#([0-9]+).*/\1/')
    rate=$(grep -a 'stat::average_exec_per_sec:' "$log" | awk '{print $2}')
    cov=$(echo "$stats" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
    ft=$(echo "$stats" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
    corp=$(echo "$stats" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | awk '{print $2}')
    line=$(printf '%-17s %4ss  execs %-10s (%s/s)  cov %-5s ft %-6s corpus %s' \
        "$t" "$elapsed" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
    if [ "$rc" -eq 0 ]; then
        msg="PASS $line"
    else
        artifact=$(grep -aoE 'Test unit written to .*' "$log" | tail -1 | sed 's/Test unit written to //')
        reason=$(grep -aE '^==[0-9]+==ERROR|^SUMMARY:|==FUZZ ORACLE==|runtime error:|ERROR: libFuzzer' "$log" |
            head -2 | tr '\n' ' ')
        msg="FAIL $line  exit $rc
     ${reason:-see the log}
     reproducer: ${artifact:-none written}   log: $log"
    fi
    echo "$msg"  # one write, so parallel targets do not interleave
    exit "$rc"
fi

if [ $# -lt 5 ]; then
    echo "usage: $0 smoke|run SECONDS JOBS OUT TARGET..." >&2
    exit 2
fi
mode=$1 secs=$2 jobs=$3 out=$4
shift 4
case "$mode" in smoke | run) ;; *) echo "unknown mode $mode" >&2; exit 2 ;; esac

echo "fuzz $mode: $# targets, ${secs}s each, $jobs at a time (logs in $out/logs/)"
results="$out/logs/$mode-results.txt"
mkdir -p "$out/logs"
: >"$results"
start=$(date +%s)
printf '%s\n' "$@" | xargs -P "$jobs" -I{} "$0" --one "$mode" "$secs" "$out" {} >>"$results"
total=$(($(date +%s) - start))

cat "$results"
passed=$(grep -c '^PASS' "$results")
failed=$(($# - passed))
echo "fuzz $mode: $passed passed, $failed failed (${total}s)"
[ "$failed" -eq 0 ]
