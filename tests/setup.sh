#!/bin/sh
# Set up what the tests need, idempotently (the README's test command runs this first, and so does CI):
#  1. the virtual environment .venv (created when missing) with the project and its test extras;
#  2. Debian's `chromium` for the headless-browser test of the HTML report, installed when it is missing and
#     this runs as root with apt-get; otherwise that one test skips and says why.
# Run from anywhere: sh tests/setup.sh
set -eu
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[test]'

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "tests/setup.sh: installing chromium (Debian package) for the HTML report test" >&2
        apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium
    else
        echo "tests/setup.sh: chromium not found and not installable here (needs root and apt-get);" \
             "the headless-browser test will be skipped" >&2
    fi
fi
