#define _GNU_SOURCE
#include "saddle_plugin_host.h"

#include <sys/mman.h>
#include <unistd.h>

int saddle_memory_file(const char *name, const void *bytes, size_t count) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    const char *cursor = bytes;
    size_t left = count;
    while (left > 0) {
        ssize_t written = write(fd, cursor, left);
        if (written < 0) {
            close(fd);
            return -1;
        }
        cursor += written;
        left -= (size_t)written;
    }
    return fd;
}
