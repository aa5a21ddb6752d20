#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# LUKS2 headers from cryptsetup's own test corpus, taken from Debian's
# cryptsetup source package at test time (pinned like the QEMU source).
# luks2-validation-test's generators mutate luks2_valid_hdr.img; for
# each image, cryptsetup's verdict (the test's R/F list, which Debian
# 12's luksDump must confirm) and the patched qemu-img's (a header-only
# open) must agree, except for the images listed in
# luks2-corpus.expected-differences ("IMAGE accept|refuse REASON").
# Then the images whose passwords cryptsetup's tests know are opened
# with qemu-io, which must decrypt what cryptsetup's volume key wrote.
. "$(dirname "$0")/../lib.sh"

cs_version=2:2.7.5-2
cs_orig=cryptsetup_2.7.5.orig.tar.gz
cs_sha256=66f82757456411353216def2e93ee6f82e1dc5c8b583cb9b1c84ecb918b60980
SECTOR=$TESTS_DIR/interop/luks-sector.py
DIFFERENCES=$TESTS_DIR/interop/luks2-corpus.expected-differences

step "cryptsetup $cs_version source package: its tests/"
dsc=$("$TESTS_DIR/../scripts/fetch-source.sh" "$BIN/../apt/apt.conf" \
      cryptsetup "$cs_version" "$cs_orig" "$cs_sha256" 2:2.7.)
orig=$(awk '/^Files:/ { f = 1; next } f && /orig\.tar/ { print $3; exit }' \
       "$dsc")
tar -xf "$(dirname "$dsc")/$orig" --no-same-owner --strip-components=1 \
    --wildcards '*/tests/*'

step "luks2-validation-test's generators: the corpus"
mkdir corpus jq
xz -dc tests/luks2_valid_hdr.img.xz > corpus/luks2_valid_hdr.img
# jq 1.6 (Debian 12) takes the NUL padding after a JSON area for more
# input and fails; cryptsetup 2.8's generators strip it first (_jq in
# their lib.sh), 2.7's need this jq
cat > jq/jq <<'EOT'
#!/bin/bash
sed 's/\x00*$//' "${!#}" | /usr/bin/jq "${@:1:$#-1}"
EOT
chmod +x jq/jq
for g in tests/generators/generate-*.sh; do
    out=$(cd tests/generators && PATH=$WORK/jq:$PATH \
          "./${g##*/}" "$WORK/corpus" "$WORK/corpus/luks2_valid_hdr.img" \
          2>&1) || fail "cryptsetup's ${g##*/} failed: $out"
done

# cryptsetup's verdict on every image, the generators' source among
# them: accept (R in luks2-validation-test) or refuse (F)
awk '$1 == "RUN" { print $2, ($3 == "\"R\"" ? "accept" : "refuse") }' \
    tests/luks2-validation-test > verdicts
echo "luks2_valid_hdr.img accept" >> verdicts
diff <(ls corpus | sort) <(awk '{ print $1 }' verdicts | sort) > /dev/null ||
    fail "the generated images are not the ones luks2-validation-test runs"

step "$(wc -l < verdicts) images: cryptsetup $(cryptsetup --version |
      awk '{ print $2 }') luksDump, qemu-img info header-only"
report=()
# differs TEXT...: one line of the report
differs() {
    report+=("$*")
}
known=0
while read -r img want; do
    # luksDump repairs a header it can, so it gets a copy
    cp --sparse=always "corpus/$img" cs.img
    rc=0
    cryptsetup luksDump cs.img > /dev/null 2>&1 || rc=$?
    if [ $rc -gt 125 ]; then
        differs "$img: cryptsetup luksDump died (exit status $rc)"
        continue
    fi
    [ $rc -eq 0 ] && live=accept || live=refuse
    if [ "$live" != "$want" ]; then
        differs "$img: luks2-validation-test says cryptsetup must $want" \
                "it, its luksDump does $live it"
        continue
    fi

    rc=0
    out=$("$QEMU_IMG" info --image-opts \
          "driver=luks,file.filename=corpus/$img,header-only=on" 2>&1) ||
        rc=$?
    if [ $rc -gt 125 ]; then
        differs "$img: qemu-img info died (exit status $rc)"
        continue
    fi
    if [ $rc -eq 0 ]; then
        qemu=accept
        out="header read"
    else
        qemu=refuse
        if [ "$(wc -l <<<"$out")" != 1 ]; then
            differs "$img: QEMU refuses it without a one-line error:" \
                    "$(tr '\n' ' ' <<<"$out")"
            continue
        fi
    fi
    listed=$(awk -v i="$img" '$1 == i { print $2 }' "$DIFFERENCES")
    if [ "$qemu" = "$want" ] && [ -z "$listed" ]; then
        continue
    elif [ "$qemu" != "$want" ] && [ "$listed" = "$qemu" ]; then
        echo "listed: $img: QEMU: $qemu ($out); cryptsetup: $want"
        known=$((known + 1))
    elif [ -n "$listed" ]; then
        differs "$img: listed as QEMU: $listed; but QEMU: $qemu ($out);" \
                "cryptsetup: $want"
    else
        differs "$img: QEMU: $qemu ($out); cryptsetup: $want"
    fi
done < verdicts
for img in $(awk '!/^#/ && NF { print $1 }' "$DIFFERENCES"); do
    grep -q "^$img " verdicts || differs "$img: listed, but not in the corpus"
done
echo "cryptsetup accepts $(grep -c ' accept$' verdicts), refuses" \
     "$(grep -c ' refuse$' verdicts); QEMU differs as listed on $known"
if [ ${#report[@]} -gt 0 ]; then
    printf '%s\n' "${report[@]}" >&2
    fail "${#report[@]} unexpected verdicts on $(wc -l < verdicts) images"
fi

# Images with passwords from cryptsetup's tests: compat-test2's PWD0,
# PWD1, PWD4 and api-test-2.c's KEY1, KEY2, PASSPHRASE
tar -xJf tests/luks2_mda_images.tar.xz --no-same-owner
tar -xJf tests/luks2_header_requirements.tar.xz --no-same-owner
for f in compatimage2.img luks2_keyslot_unassigned.img \
         luks2_invalid_cipher.img; do
    xz -dc "tests/$f.xz" > "$f"
done

# pw_image IMAGE PASSWORD [CRYPTSETUP_ARGS...]: in pw and pw.img, the
# password and a copy of IMAGE with 1 MiB more payload; cryptsetup
# takes the password
pw_image() {
    printf %s "$2" > pw
    cp --sparse=always "$1" pw.img
    truncate -s +1M pw.img
    cryptsetup open -q --test-passphrase --key-file pw "${@:3}" pw.img ||
        fail "cryptsetup rejects the password of $1"
}

# opens IMAGE PASSWORD: qemu-io reads what cryptsetup's key wrote
opens() {
    step "$1: QEMU opens it as cryptsetup does"
    pw_image "$1" "$2"
    "$SECTOR" --write pw.img pw 4096@0 0x5c || fail "$1: luks-sector.py"
    qio "$QEMU_IO" secret,id=s,file=pw \
        "driver=luks,file.filename=pw.img,key-secret=s" "read -P 0x5c 0 4k"
}

# refused IMAGE PASSWORD WHY [CRYPTSETUP_ARGS...]: the password is
# right (with CRYPTSETUP_ARGS), but qemu-io must refuse IMAGE with a
# one-line error
refused() {
    local out rc=0
    step "$1: QEMU refuses to open it ($3)"
    pw_image "$1" "$2" "${@:4}"
    out=$("$QEMU_IO" --object secret,id=s,file=pw --image-opts \
          "driver=luks,file.filename=pw.img,key-secret=s" -c "read 0 4k" \
          2>&1) || rc=$?
    [ $rc -ne 0 ] || fail "$1: qemu-io read it"
    [ $rc -le 125 ] || fail "$1: qemu-io died (exit status $rc)"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$1: not a one-line error: $out"
    echo "$out"
}

opens compatimage2.img compatkey                # slot 0, pbkdf2
opens compatimage2.img 0123456789abcdef         # slot 1, argon2id
for mda in 16 32 64 128 256 512 1024 2048 4096; do
    opens "test_image_$mda" Qx3qn46vq0v
done
opens luks2_keyslot_unassigned.img compatkey
opens luks2_header_requirements_free blablabl
refused luks2_keyslot_unassigned.img 93R4P4pIqAH8 "slot 1 is unbound" -S1
expect_fail cryptsetup open -q --test-passphrase --key-file pw pw.img
refused luks2_header_requirements blablabl "mandatory requirements"
cryptsetup luksDump pw.img > dump
grep -q '^Requirements:.*req0' dump ||
    fail "luks2_header_requirements has no requirement"
refused luks2_invalid_cipher.img 93R4P4pIqAH8 "capi: segment cipher"

echo "LUKS2 corpus: all checks passed"
