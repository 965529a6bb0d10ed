#!/bin/sh
# Regenerate the rendered examples in examples/reports/ from the cards in examples/cards/, offline and with a
# fixed date so that the output is reproducible; tests/render/test_html.py checks that the committed files equal
# a fresh render. Run from anywhere, after the set-up in README.md:
#
#     sh examples/regenerate.sh
#
# It uses .venv/bin/policycheck when there is one, else policycheck from PATH. A report of a failing model exits
# 1 (the example fails: that is its point), which is not an error here.
set -eu
cd "$(dirname "$0")/.."
PC=policycheck
[ -x .venv/bin/policycheck ] && PC=.venv/bin/policycheck
policycheck() { "$PC" "$@" || [ $? -eq 1 ]; }
mkdir -p examples/reports

# The HTML compliance report of deepseek-ai/DeepSeek-R1-Distill-Llama-8B (fail: mit on a Llama 3.1 derivative).
policycheck check examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md --cards examples/cards --offline --format html --today 2026-12-01 --output examples/reports/DeepSeek-R1-Distill-Llama-8B.html

# The contract annex (draft for counsel) for the same model, as Markdown and as Word (docxtpl), with the example
# parameters; tests/documents/test_annex.py checks that both are current.
policycheck annex examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md --cards examples/cards --offline --today 2026-12-01 --params examples/annex/params.yaml --output examples/annex/DeepSeek-R1-Distill-Llama-8B.annex.md
policycheck annex examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md --cards examples/cards --offline --today 2026-12-01 --params examples/annex/params.yaml --format docx --output examples/annex/DeepSeek-R1-Distill-Llama-8B.annex.docx
# The same annex drafted for the recipient's side (--side recipient): the provider's warranties, a covenant to cure
# each open finding before delivery, an indemnity against upstream licensors' claims, the recipient's remedies.
policycheck annex examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md --cards examples/cards --offline --today 2026-12-01 --params examples/annex/params.yaml --side recipient --output examples/annex/DeepSeek-R1-Distill-Llama-8B.recipient.annex.md
policycheck annex examples/cards/deepseek-ai__DeepSeek-R1-Distill-Llama-8B.md --cards examples/cards --offline --today 2026-12-01 --params examples/annex/params.yaml --side recipient --format docx --output examples/annex/DeepSeek-R1-Distill-Llama-8B.recipient.annex.docx
