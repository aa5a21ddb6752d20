#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Configure (when the options changed) and build one configuration of
# the work tree.  CONFIG is "main" (the tools, the x86_64 emulator for the
# iotests, rbd, iscsi), "system" (build/bin/qemu-system-x86_64, for real
# VMs), "asan" (clang, sanitizers, fuzzer; tools only) or a crypto
# backend name ("nettle", "gcrypt", "gnutls") for the small builds that
# only run the crypto unit tests under that backend.
#   build.sh SRC CONFIG [NINJA_TARGET...]
set -euo pipefail

src=${1:?usage: build.sh SRC CONFIG [TARGET...]}
config=${2:?}
shift 2

# ccache through Debian's compiler symlinks (configure names "cc"),
# sharing hits between clones in other directories (CI, worktrees)
export PATH=/usr/lib/ccache:$PATH
export CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=true

common=(--python=/usr/bin/python3 --without-default-features
        --disable-docs --disable-fdt --disable-install-blobs)
. "$(dirname "$0")/config.sh"

case "$config" in
system)
    dir=$src/build-system
    # What Debian's qemu-system-x86 enables (debian/rules and the
    # configure options in debian/control of the base's source package)
    # that Debian 12 provides, each enabled explicitly so that a missing
    # library fails the build instead of dropping the feature.  Left
    # out, with the reasons in README: modules, Xen (a separate
    # binary in Debian too) and the cross-built firmware.
    common=(--python=/usr/bin/python3 --disable-docs --disable-install-blobs)
    opts=(--target-list=x86_64-softmmu --enable-kvm --enable-tcg
          "--enable-$MAIN_CRYPTO" --enable-gnutls --enable-seccomp
          --enable-cap-ng --enable-attr --enable-virtfs --enable-linux-aio
          --enable-linux-io-uring --enable-numa --enable-libpmem
          --enable-bpf --enable-blkio --enable-curl --enable-fdt=system
          --enable-fuse --enable-libiscsi --enable-libnfs --enable-rbd
          --enable-glusterfs --enable-libssh --enable-zstd --enable-libudev
          --enable-capstone --enable-pixman --enable-vnc --enable-vnc-jpeg
          --enable-png --enable-vnc-sasl --enable-spice --enable-slirp
          --enable-vde --enable-rdma --enable-libusb --enable-usb-redir
          --enable-smartcard --enable-tpm --enable-vhost-net
          --enable-vhost-kernel --enable-vhost-user --enable-vhost-vdpa
          --enable-vhost-crypto --enable-vhost-user-blk-server
          --enable-curses --enable-gtk --enable-vte --enable-sdl
          --enable-opengl --enable-virglrenderer --enable-brlapi
          --audio-drv-list=pipewire,pa,alsa,jack,oss,sdl)
    ;;
main)
    dir=$src/build
    # gnutls for TLS whatever does the ciphers; bochs and libssh only so
    # that iotests 082, 113 and 162 can run
    opts=(--target-list=x86_64-softmmu --enable-tools "--enable-$MAIN_CRYPTO"
          --enable-gnutls --enable-rbd --enable-libiscsi --enable-linux-aio
          --enable-bochs --enable-libssh)
    ;;
gnutls)
    dir=$src/build-gnutls
    opts=(--disable-system --disable-user --enable-tools --enable-gnutls)
    ;;
asan)
    dir=$src/build-asan
    # clang 19, ASan and UBSan, and libFuzzer instrumentation: the LUKS
    # header fuzzer and sanitizer runs of the tools and crypto unit
    # tests.  Clang 19 also checks -Wthread-safety (14 and 16 cannot
    # model QEMU's lock guards), and warnings are errors.  Clang 14's
    # ASan deadlocks in a child forked while another thread allocates
    # (qemu-nbd --fork in the iotests).  bochs and libssh as in main.
    opts=(--cc=clang-19 --cxx=clang++-19 --enable-asan --enable-ubsan
          --enable-werror --disable-system --disable-user --enable-tools
          "--enable-$MAIN_CRYPTO" --enable-bochs --enable-libssh
          --extra-cflags=-fsanitize=fuzzer-no-link
          --extra-ldflags=-fsanitize=fuzzer-no-link)
    ;;
nettle|gcrypt)
    dir=$src/build-$config
    opts=(--disable-system --disable-user --enable-tools "--enable-$config")
    ;;
*)
    echo "build.sh: unknown configuration $config" >&2
    exit 1
    ;;
esac
# Argon2 for LUKS2 keyslots, in every configuration, once the tree has
# the option (the series adds it): libgcrypt's where QEMU uses libgcrypt
# (the series picks it by itself), libargon2 elsewhere
if grep -q "'libargon2'" "$src/meson_options.txt" &&
        [[ " ${opts[*]} " != *" --enable-gcrypt "* ]]; then
    opts+=(--enable-libargon2)
fi

stamp="${common[*]} ${opts[*]}"
if [ ! -e "$dir/build.ninja" ] || [ "$(cat "$dir/.luks-series-config" \
        2>/dev/null)" != "$stamp" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && ../configure "${common[@]}" "${opts[@]}")
    echo "$stamp" > "$dir/.luks-series-config"
fi
ninja -C "$dir" "$@"
