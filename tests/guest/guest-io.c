/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The init of the test guest (tests/guest/guest.py): loads the virtio
 * modules found in /modules in name order, then writes and verifies
 * checksummed 4 KiB blocks on /dev/vda until a line arrives on the
 * serial console, and reports on it:
 *
 *   gio: start blocks N
 *   gio: written W verified V errors E      (every 0.2 s)
 *   gio: ERROR ...                           (each I/O error or bad block)
 *   gio: final written-blocks B verified V errors E sum S
 *
 * then powers the guest off.  Block b at generation g holds the magic
 * "GIOBLK01", b and g (little endian 64 bit), and 4072 bytes of
 * xorshift64 output seeded from b and g, so that any block can be
 * checked on its own, in the guest or in an image on the host
 * (gio_check.py).  Each write is of the next block in turn; each is
 * followed by a read of another block that was written before, which
 * must hold the generation written last.  S is the sum over the written
 * blocks of (b + 1) * g, modulo 2^64: the host computes it from an
 * image to check that the image holds the guest's last writes.
 *
 * Kernel command line: gio_blocks=N (default: the whole disk).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define MAGIC "GIOBLK01"
#define FLUSH_EVERY 256

static uint64_t written, verified, errors;

static void fill(uint8_t *buf, uint64_t b, uint64_t g)
{
    uint64_t x = (b + 1) * 0x9e3779b97f4a7c15ULL ^ (g + 1);
    size_t i;

    memcpy(buf, MAGIC, 8);
    memcpy(buf + 8, &b, 8);
    memcpy(buf + 16, &g, 8);
    for (i = 24; i < BLOCK; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }
}

static void die(const char *what)
{
    printf("gio: ERROR %s: %s\n", what, strerror(errno));
    reboot(RB_POWER_OFF);
    exit(1);
}

static void load_modules(void)
{
    struct dirent **names;
    int n, i;

    n = scandir("/modules", &names, NULL, alphasort);
    for (i = 0; i < n; i++) {
        char path[300];
        int fd;

        if (names[i]->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/modules/%s", names[i]->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
            die(path);
        }
        close(fd);
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read block @b and check that it holds generation @g */
static void verify(int fd, uint8_t *buf, uint8_t *want, uint64_t b,
                   uint64_t g)
{
    uint64_t got;

    if (pread(fd, buf, BLOCK, b * BLOCK) != BLOCK) {
        errors++;
        printf("gio: ERROR read of block %" PRIu64 ": %s\n", b,
               strerror(errno));
        return;
    }
    fill(want, b, g);
    if (memcmp(buf, want, BLOCK)) {
        errors++;
        memcpy(&got, buf + 16, 8);
        printf("gio: ERROR block %" PRIu64 " does not hold generation %"
               PRIu64 " (magic %s, generation field %" PRIu64 ")\n",
               b, g, memcmp(buf, MAGIC, 8) ? "bad" : "ok", got);
        return;
    }
    verified++;
}

int main(void)
{
    const char *env = getenv("gio_blocks");
    uint64_t size, nblocks, b = 0, r, sum = 0, used = 0;
    uint64_t *gen;
    uint8_t *buf, *want;
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    double last;
    int fd, i;

    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY) {
        return 1;
    }
    fd = open("/dev/ttyS0", O_RDWR);
    if (fd < 0) {
        return 1;
    }
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    setvbuf(stdout, NULL, _IOLBF, 0);
    load_modules();

    for (i = 0; (fd = open("/dev/vda", O_RDWR | O_DIRECT)) < 0; i++) {
        if (i == 100) {
            die("open /dev/vda");
        }
        usleep(100000);
    }
    if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
        die("BLKGETSIZE64");
    }
    nblocks = size / BLOCK;
    if (env && strtoull(env, NULL, 0) < nblocks) {
        nblocks = strtoull(env, NULL, 0);
    }
    gen = calloc(nblocks, sizeof(*gen));
    if (!gen || posix_memalign((void **)&buf, BLOCK, BLOCK) ||
        posix_memalign((void **)&want, BLOCK, BLOCK)) {
        die("allocation");
    }
    printf("gio: start blocks %" PRIu64 "\n", nblocks);

    last = now();
    while (poll(&pfd, 1, 0) == 0) {
        gen[b]++;
        fill(buf, b, gen[b]);
        if (pwrite(fd, buf, BLOCK, b * BLOCK) != BLOCK) {
            errors++;
            printf("gio: ERROR write of block %" PRIu64 ": %s\n", b,
                   strerror(errno));
        }
        written++;
        if (written % FLUSH_EVERY == 0 && fdatasync(fd) < 0) {
            errors++;
            printf("gio: ERROR flush: %s\n", strerror(errno));
        }
        r = (b * 7919 + written) % nblocks;
        if (gen[r]) {
            verify(fd, buf, want, r, gen[r]);
        }
        b = (b + 1) % nblocks;
        if (now() - last >= 0.2) {
            last = now();
            printf("gio: written %" PRIu64 " verified %" PRIu64 " errors %"
                   PRIu64 "\n", written, verified, errors);
        }
    }

    if (fdatasync(fd) < 0) {
        errors++;
        printf("gio: ERROR flush: %s\n", strerror(errno));
    }
    for (b = 0; b < nblocks; b++) {
        if (gen[b]) {
            verify(fd, buf, want, b, gen[b]);
            sum += (b + 1) * gen[b];
            used++;
        }
    }
    printf("gio: final written-blocks %" PRIu64 " verified %" PRIu64
           " errors %" PRIu64 " sum %" PRIu64 "\n", used, verified, errors,
           sum);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
