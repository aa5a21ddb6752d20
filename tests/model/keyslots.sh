#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The model-based key management test (keyslots.py) over every layout
# and interface: MODEL_SEEDS seeds (default 1) of MODEL_STEPS steps
# (default 40) each, from MODEL_SEED (default 1).  make check-full runs
# more.  A failure names the seed and step; rerun one with
#   keyslots.py BIN WORKDIR SEED STEPS LAYOUT INTERFACE
. "$(dirname "$0")/../lib.sh"

seeds=${MODEL_SEEDS:-1}
steps=${MODEL_STEPS:-40}
first=${MODEL_SEED:-1}
for ((seed = first; seed < first + seeds; seed++)); do
    for layout in raw qcow2 detached luks2 luks2-detached; do
        for iface in img qmp; do
            step "seed $seed, $layout, $iface: $steps steps"
            dir=$WORK/$seed-$layout-$iface
            mkdir -p "$dir"
            if ! "$TESTS_DIR/model/keyslots.py" "$BIN" "$dir" "$seed" \
                    "$steps" "$layout" "$iface" > "$dir.log" 2>&1; then
                tail -n 5 "$dir.log"
                fail "seed $seed, $layout, $iface"
            fi
            tail -n 1 "$dir.log"
        done
    done
done
echo "key management model: all checks passed"
