# SPDX-License-Identifier: GPL-2.0-or-later
# The test guest (sourced after ../lib.sh): prepare_guest puts a Debian
# kernel, pinned like the QEMU source, into $WORK/kernel and the guest's
# init, guest-io.c built static, into $WORK/init, and sets GUEST_KERNEL
# and GUEST_INITRD.

kernel_pkg=linux-image-6.1.0-57-amd64
kernel_version=6.1.192-3
kernel_sha256=14d219d01e1283261817d961dbb3895cb5b4288d0de10e0ba0632a0d993e15bf

prepare_guest() {
    local cache=${LUKS_SERIES_CACHE:-/var/cache/luks-series}
    local conf=$BIN/../apt/apt.conf
    local deb=$cache/${kernel_pkg}_${kernel_version}_amd64.deb

    step "guest kernel: $kernel_pkg $kernel_version"
    if [ ! -e "$deb" ]; then
        mkdir -p "$cache"
        (cd "$cache" &&
             apt-get -c "$conf" download -q "$kernel_pkg=$kernel_version") ||
            true
    fi
    if [ -e "$deb" ]; then
        echo "$kernel_sha256  $deb" | sha256sum -c --quiet ||
            fail "$deb does not have the pinned sha256"
    else
        # Debian dropped the pinned build: take the current one, checked
        # by apt against the archive's signed index
        kernel_pkg=$(apt-cache -c "$conf" depends linux-image-amd64 |
                     awk '/Depends: linux-image-/ { print $2; exit }')
        echo "##### $deb is gone from the archive: using $kernel_pkg #####" >&2
        (cd "$WORK" && apt-get -c "$conf" download -q "$kernel_pkg")
        deb=$(ls "$WORK"/"$kernel_pkg"_*.deb)
    fi
    dpkg-deb -x "$deb" "$WORK/kernel"

    step "guest init: guest-io.c, static"
    gcc -static -O2 -Wall -Werror -o "$WORK/init" \
        "$TESTS_DIR/guest/guest-io.c"
    GUEST_KERNEL=$(ls "$WORK"/kernel/boot/vmlinuz-*)
    GUEST_INITRD=$WORK/initrd
    "$TESTS_DIR/guest/guest.py" initramfs "$WORK/kernel" "$WORK/init" \
        "$GUEST_INITRD"
}
