# SPDX-License-Identifier: GPL-2.0-or-later
# Settings shared by the scripts (sourced, not run).

# The crypto backend of build/bin/, chosen by benchmark (README).
MAIN_CRYPTO=gcrypt
# Every crypto backend QEMU 10.0 supports; the unit tests run under each.
CRYPTO_BACKENDS=(gnutls nettle gcrypt)
# The crypto unit tests (tests/unit/test-crypto-*) that run without TLS.
CRYPTO_UNIT_TESTS=(hash hmac cipher akcipher secret der ivgen afsplit
                   block block-luks2 pbkdf xts argon2)
# iotests that cover LUKS inside qcow2 (encrypt.format=luks), plus 082,
# whose golden output lists the qcow2 encrypt.* create/amend options.
QCOW2_LUKS_IOTESTS=(082 087 178 188 189 198 206 263 284 293 295
                    qcow2-encryption)
# Upstream iotests that run drive-mirror or drive-backup, whose target
# creation the series changes; run under qcow2 and raw.  Not 109: it
# mirrors images of the qcow, vdi, vmdk and vpc formats, which this
# build leaves out.
MIRROR_IOTESTS=(041 055 056 124 132 151 152 155 218
                mirror-change-copy-mode mirror-top-perms)
# Seconds of fuzzing in "make check" (after the regression inputs);
# "make fuzz" takes FUZZ_SECONDS instead.
FUZZ_SMOKE_SECONDS=60
