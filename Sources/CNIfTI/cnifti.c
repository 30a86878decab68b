#include "cnifti.h"

#include <stdlib.h>
#include <string.h>

int cnifti_probe(const char *path, cnifti_probe_result *out) {
    memset(out, 0, sizeof(*out));
    znzFile file = znzopen(path, "rb", nifti_is_gzfile(path));
    if (znz_isnull(file)) return -1;
    unsigned char bytes[sizeof(nifti_2_header)];
    memset(bytes, 0, sizeof(bytes));
    const size_t got = znzread(bytes, 1, sizeof(bytes), file);
    znzclose(file);
    if (got < 4 || got > sizeof(bytes)) return -1;   /* more than asked: gzread's -1, a corrupt stream */
    const unsigned little = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | ((unsigned)bytes[3] << 24);
    const unsigned big = bytes[3] | (bytes[2] << 8) | (bytes[1] << 16) | ((unsigned)bytes[0] << 24);
    const int host_little = nifti_short_order() == 1; /* LSB_FIRST */
    if (little == 348 || big == 348) out->version = 1;
    else if (little == 540 || big == 540) out->version = 2;
    else return 0;
    out->big_endian = (little == 348 || little == 540) ? 0 : 1;
    const int swap = out->big_endian == host_little;
    if (out->version == 1) {
        if (got < sizeof(nifti_1_header)) return -2;
        nifti_1_header h;
        memcpy(&h, bytes, sizeof(h));
        if (swap) swap_nifti_header(&h, 1);
        out->has_magic = (memcmp(h.magic, "n+1", 4) == 0 || memcmp(h.magic, "ni1", 4) == 0);
        out->scl_slope = h.scl_slope;
        out->scl_inter = h.scl_inter;
        out->pixdim0 = h.pixdim[0];
        for (int k = 0; k < 8; ++k) out->dim[k] = h.dim[k];
        out->datatype = h.datatype;
        out->vox_offset = h.vox_offset;
    } else {
        if (got < sizeof(nifti_2_header)) return -2;
        nifti_2_header h;
        memcpy(&h, bytes, sizeof(h));
        if (swap) swap_nifti_header(&h, 2);
        out->has_magic = (memcmp(h.magic, "n+2", 4) == 0 || memcmp(h.magic, "ni2", 4) == 0);
        out->scl_slope = h.scl_slope;
        out->scl_inter = h.scl_inter;
        out->pixdim0 = h.pixdim[0];
        for (int k = 0; k < 8; ++k) out->dim[k] = h.dim[k];
        out->datatype = h.datatype;
        out->vox_offset = (double)h.vox_offset;
    }
    out->datatype_known = nifti_datatype_is_valid(out->datatype, 1);
    return 0;
}

int cnifti_header_version(const char *path) {
    cnifti_probe_result probe;
    if (cnifti_probe(path, &probe) == -1) return 0;
    return probe.version;
}

void cnifti_quiet(void) {
    nifti_set_debug_level(0);
}

nifti_image *cnifti_read_header(const char *path) {
    return nifti_image_read(path, 0);
}

void *cnifti_read_voxels_growing(const nifti_image *nim, int64_t bytes, int64_t *got) {
    *got = -1;
    if (nim == NULL || nim->iname == NULL || bytes <= 0) return NULL;
    znzFile file = znzopen(nim->iname, "rb", nifti_is_gzfile(nim->iname));
    if (znz_isnull(file)) return NULL;
    if (nim->iname_offset < 0 || znzseek(file, (long)nim->iname_offset, SEEK_SET) < 0) {
        znzclose(file);
        return NULL;
    }
    const int64_t first_chunk = (int64_t)1 << 24; /* 16 MiB */
    int64_t capacity = bytes < first_chunk ? bytes : first_chunk;
    unsigned char *buffer = malloc((size_t)capacity);
    if (buffer == NULL) {
        znzclose(file);
        return NULL;
    }
    int64_t done = 0;
    while (done < bytes) {
        if (done == capacity) {
            /* Grow only once the data has filled what is there: memory follows the stream. */
            const int64_t grown = capacity > bytes / 2 ? bytes : capacity * 2;
            unsigned char *larger = realloc(buffer, (size_t)grown);
            if (larger == NULL) break;
            buffer = larger;
            capacity = grown;
        }
        const int64_t want = capacity - done;
        const size_t chunk = (size_t)(want > (1 << 26) ? (1 << 26) : want);
        const size_t read = znzread(buffer + done, 1, chunk, file);
        /* znzread returns gzread's -1 (a corrupt stream) cast to size_t: as "more than asked"
         * it read as progress backwards, and the loop never ended (found by fuzzing). */
        if (read == 0 || read > chunk) break;
        done += (int64_t)read;
    }
    znzclose(file);
    if (done == bytes && nim->swapsize > 1 && nim->byteorder != nifti_short_order()) {
        nifti_swap_Nbytes(bytes / nim->swapsize, nim->swapsize, buffer);
    }
    *got = done;
    return buffer;
}

int cnifti_write(nifti_image *nim, const char *path) {
    if (nim == NULL || path == NULL) return -1;
    if (nifti_set_filenames(nim, path, 0, 1) != 0) return -1;
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    /* write_opts 1|2: write the voxels and leave the stream open, so that the result of
     * closing it (the final gzip flush) can be checked. */
    znzFile file = nifti_image_write_hdr_img2(nim, 3, "wb", NULL, NULL);
    if (znz_isnull(file)) return -1;
    const int closed = Xznzclose(&file);
    return closed == 0 ? 0 : -2;
}
