#include "cnifti.h"

int cnifti_header_version(const char *path) {
    znzFile file = znzopen(path, "rb", nifti_is_gzfile(path));
    if (znz_isnull(file)) return 0;
    unsigned char bytes[4] = {0, 0, 0, 0};
    const size_t got = znzread(bytes, 1, 4, file);
    znzclose(file);
    if (got != 4) return 0;
    const unsigned little = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | ((unsigned)bytes[3] << 24);
    const unsigned big = bytes[3] | (bytes[2] << 8) | (bytes[1] << 16) | ((unsigned)bytes[0] << 24);
    if (little == 348 || big == 348) return 1;
    if (little == 540 || big == 540) return 2;
    return 0;
}
