#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml), kept here so they can be run and tested outside
# GitHub. Two modes:
#
#   action-scan.sh scan      scan INPUT_PATH, write the SARIF log to INPUT_SARIF_FILE, record
#                            `exit-code` and `sarif-file` in $GITHUB_OUTPUT; always exits 0 so
#                            the SARIF upload step runs before the verdict.
#   action-scan.sh verdict   fail (exit 1) when the recorded exit code says so: 1 = an issue at
#                            or above INPUT_FAIL_ON, 2 = something could not be scanned (unless
#                            INPUT_FAIL_ON_ERRORS is false); 3 = nothing to scan passes.
#
# Environment: MODELSCAN (the binary, default `modelscan` on PATH), INPUT_PATH (default .),
# INPUT_FAIL_ON (default HIGH), INPUT_SARIF_FILE (default modelscan.sarif),
# INPUT_SETTINGS_FILE (optional), INPUT_FAIL_ON_ERRORS (default true), EXIT_CODE (verdict),
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY (set by GitHub; optional here).
set -uo pipefail

mode="${1:-scan}"
bin="${MODELSCAN:-modelscan}"
path="${INPUT_PATH:-.}"
fail_on="${INPUT_FAIL_ON:-HIGH}"
sarif="${INPUT_SARIF_FILE:-modelscan.sarif}"
settings="${INPUT_SETTINGS_FILE:-}"
fail_on_errors="${INPUT_FAIL_ON_ERRORS:-true}"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >> "$GITHUB_OUTPUT"; fi
}

summary() {
  echo "$1"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then echo "$1" >> "$GITHUB_STEP_SUMMARY"; fi
}

case "$mode" in
  scan)
    args=(scan -p "$path" -r sarif -o "$sarif" --fail-on "$fail_on" --no-progress -q)
    if [ -n "$settings" ]; then args+=(--settings-file "$settings"); fi
    # The SARIF log goes to the file; stdout would only repeat it in the job log.
    "$bin" "${args[@]}" > /dev/null
    code=$?
    output exit-code "$code"
    if [ -s "$sarif" ]; then output sarif-file "$sarif"; fi
    summary "modelscan scanned ${path}: exit code ${code} (SARIF log: ${sarif})"
    exit 0
    ;;
  verdict)
    code="${EXIT_CODE:-}"
    case "$code" in
      0) summary "modelscan: no issues at or above ${fail_on}." ; exit 0 ;;
      1) summary "modelscan: issues at or above ${fail_on} were found (see the code scanning alerts)." ; exit 1 ;;
      2)
        summary "modelscan: some files could not be fully scanned (see the SARIF log's notifications)."
        if [ "$fail_on_errors" = "false" ]; then exit 0; fi
        exit 1
        ;;
      3) summary "modelscan: no file in a format modelscan reads was found." ; exit 0 ;;
      *) summary "modelscan did not run (exit code '${code}')." ; exit 1 ;;
    esac
    ;;
  *)
    echo "usage: $0 scan|verdict" >&2
    exit 2
    ;;
esac
