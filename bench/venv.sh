#!/usr/bin/env bash
# Installs ansible-core into bench/.venv with pip. Pins the version of the scenario's reference
# figures (ANSIBLE_CORE, default 2.21.5); ansible-core 2.21 needs Python >= 3.12, so the newest
# python3.1x on PATH is used. Falls back to the newest ansible-core the chosen Python can install
# when the pin is not available. Also pyinfra (PYINFRA, default 3.10.0, the scenario's reference
# version), which only bench/nodes.sh runs. Idempotent.
#
#   bench/venv.sh            PYTHON=/path/to/python3, ANSIBLE_CORE=x.y.z and PYINFRA=x.y.z override
set -eu

BENCH=$(cd "$(dirname "$0")" && pwd)
VENV=$BENCH/.venv
PIN=${ANSIBLE_CORE:-2.21.5}
PYINFRA_PIN=${PYINFRA:-3.10.0}

# The newest Python 3 that really runs (a pyenv shim of an inactive version does not).
works() { "$1" -c 'import sys, venv; assert sys.version_info >= (3, 9)' 2>/dev/null; }
if [ -z "${PYTHON:-}" ]; then
    for candidate in python3.14 python3.13 python3.12 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 \
        /usr/bin/python3.1[2-9] python3; do
        if command -v "$candidate" >/dev/null 2>&1 && works "$candidate"; then
            PYTHON=$candidate
            break
        fi
    done
fi
[ -n "${PYTHON:-}" ] || { echo "venv: no python3 with the venv module" >&2; exit 1; }

# The installed version of a pip package in the venv, or nothing.
installed() { "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }

if [ -x "$VENV/bin/ansible-playbook" ] && [ "$(installed ansible-core)" = "$PIN" ] &&
    [ "$(installed pyinfra)" = "$PYINFRA_PIN" ]; then
    echo "venv: ansible-core $PIN and pyinfra $PYINFRA_PIN already in $VENV" >&2
    exit 0
fi

# A venv of another Python than the chosen one is made anew.
want=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')" != "$want" ]; then
    rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
if ! "$VENV/bin/python" -m pip install -q "ansible-core==$PIN"; then
    echo "venv: ansible-core $PIN not installable with $("$VENV/bin/python" --version); installing the latest" >&2
    "$VENV/bin/python" -m pip install -q --upgrade ansible-core
fi
"$VENV/bin/ansible-playbook" --version | head -1
if "$VENV/bin/python" -m pip install -q "pyinfra==$PYINFRA_PIN"; then
    "$VENV/bin/pyinfra" --version
else
    echo "venv: pyinfra $PYINFRA_PIN not installable; run bench/nodes.sh with TOOLS=\"floor recon ansible\"" >&2
fi
