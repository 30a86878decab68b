/*
 * cnifti.h: libnifti2 (nifti2_io.h) for Swift. Only libnifti2 is linked, never niftiio:
 * the two export the same symbol names with different struct layouts.
 */
#ifndef CNIFTI_H
#define CNIFTI_H

#include <nifti/nifti2_io.h>

/* libnifti2 3.0.1 reports NIfTI-2 files as NIfTI-1 in nifti_type; this reads the header's
 * sizeof_hdr instead (348: NIfTI-1, 540: NIfTI-2, either byte order). Returns 1, 2, or 0
 * when the file cannot be read or is neither. */
int cnifti_header_version(const char *path);

/* What the first bytes of a file say, read without libnifti's interpretation: libnifti
 * replaces a NaN scl_slope/scl_inter with 0 and reads a .nii without the NIfTI magic as if
 * it had one, so MedCIL checks both itself; and it prints its own complaints about bad
 * dims or datatypes on stderr, so MedCIL checks those before handing the file to it. */
typedef struct {
    int version;        /* 1, 2, or 0 when sizeof_hdr is neither 348 nor 540 */
    int big_endian;     /* 1 when the header is big endian */
    int has_magic;      /* 1 when the magic is n+1 / ni1 (NIfTI-1) or n+2 / ni2 (NIfTI-2) */
    double scl_slope;   /* as stored (NaN stays NaN) */
    double scl_inter;
    double pixdim0;     /* qfac as stored (libnifti reports 0 as 1) */
    int64_t dim[8];     /* dim[0...7] as stored */
    int datatype;       /* as stored */
    int datatype_known; /* 1 when libnifti knows the datatype code */
    double vox_offset;  /* as stored */
} cnifti_probe_result;

/* Reads the header bytes of path (.nii or .nii.gz). Returns 0 on success (version 0 when
 * the file is not NIfTI), -1 when the file cannot be opened or holds fewer than 4 bytes, -2
 * when it ends inside the header (version and byte order are set). */
int cnifti_probe(const char *path, cnifti_probe_result *out);

/* Silences libnifti's own messages on stderr: MedCIL turns every failure into one line of
 * its own, naming the file. Safe to call more than once. */
void cnifti_quiet(void);

/* Reads the header and the extensions, not the voxels. NULL when the file cannot be opened
 * or its header is not a valid NIfTI-1/NIfTI-2 (or ANALYZE) header. */
nifti_image *cnifti_read_header(const char *path);

/* Reads all voxels of nim (`bytes` = nvox * nbyper) in host byte order, exactly as stored:
 * libnifti's own loader silently replaces NaN and infinite floats with 0, which would hide
 * broken volumes; this reader does not. It allocates the buffer itself (free it with free())
 * and grows it as data arrives, 16 MiB first and doubling up to `bytes`, so a header that
 * promises more than the file or gzip stream holds costs memory for the bytes present, not
 * for the promise; reading stops at `bytes` however long the stream is. `*got` is the number
 * of bytes read (less than `bytes` when the data ends early), or -1 when the file cannot be
 * opened or positioned, in which case NULL is returned. */
void *cnifti_read_voxels_growing(const nifti_image *nim, int64_t bytes, int64_t *got);

/* Writes nim (header, extensions and voxels) to path as single-file NIfTI-1: .nii, or
 * gzip-compressed when the path ends in .gz. (libnifti2 3.0.1 cannot write single-file
 * NIfTI-2: it writes the header, then truncates the file to write the voxels.) Returns 0 on
 * success, -1 when the file cannot be created, -2 when writing or flushing it fails. */
int cnifti_write(nifti_image *nim, const char *path);

#endif
