#!/bin/sh
# Every output format of every command on the example cards, offline and with a fixed date, one file each, so
# that two commits can be compared byte for byte (a refactoring must change nothing):
#
#     sh tests/support/render_all.sh /tmp/before      # at the old commit
#     sh tests/support/render_all.sh /tmp/after       # at the new one
#     diff -r /tmp/before /tmp/after
#
# Run from the checkout, after the set-up in README.md (PC=path overrides the policycheck to run).
set -u
out=$1; mkdir -p "$out"
pc=${PC:-.venv/bin/policycheck}
cards="examples/cards/*.md"
T="--today 2026-06-01"
export SOURCE_DATE_EPOCH=1780000000
for f in text json markdown html sarif junit spdx-json spdx-tv cyclonedx cyclonedx-1.7 spdx3; do
  $pc check --offline --cards examples/cards $T --policy examples/policycheck.yaml -f $f $cards > "$out/check.$f" 2>"$out/check.$f.err"; echo "$?" >> "$out/check.$f.err"
done
$pc check --offline --cards examples/cards $T --concise $cards > "$out/check.concise" 2>&1; echo $? >> "$out/check.concise"
for c in $cards; do b=$(basename $c .md)
  $pc check --offline --cards examples/cards $T -f json $c > "$out/one.$b.json" 2>&1
  $pc lint --cards examples/cards $c > "$out/lint.$b.txt" 2>&1; echo $? >> "$out/lint.$b.txt"
done
$pc lint --cards examples/cards -f json $cards > "$out/lint.json" 2>&1
$pc lint --cards examples/cards -f sarif $cards > "$out/lint.sarif" 2>&1
$pc annex $T --offline --cards examples/cards --params examples/annex/params.yaml examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md > "$out/annex.md" 2>&1
$pc annex $T --offline --cards examples/cards --params examples/annex/params.yaml -f docx -o "$out/annex.docx" examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md > "$out/annex.docx.log" 2>&1
(cd "$out" && mkdir -p docx && cd docx && unzip -o -q ../annex.docx && rm -f ../annex.docx)
for f in markdown html json; do
  $pc aiact $T --offline --cards examples/cards -f $f examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md > "$out/aiact.$f" 2>&1
done
for f in text json; do $pc claims --offline -f $f examples/cards/unsloth__DeepSeek-R1-GGUF.md > "$out/claims.$f" 2>&1; done
$pc licenses > "$out/licenses.txt" 2>&1
$pc licenses --category non-commercial > "$out/licenses.nc.txt" 2>&1
$pc rules list > "$out/rules.txt" 2>&1
$pc rules test > "$out/rules.test.txt" 2>&1
$pc rules validate > "$out/rules.validate.txt" 2>&1
$pc --help > "$out/help.txt" 2>&1
for c in check lint annex aiact tree claims fingerprint licenses rules; do $pc $c --help > "$out/help.$c.txt" 2>&1; done
