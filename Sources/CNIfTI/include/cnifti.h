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

#endif
