/*
 * cdicom.h: a plain-C face over DCMTK 3.6.7, so that Swift never sees C++.
 *
 * Handles are opaque; every call that can fail returns an MDC_* status and, where it
 * takes an error buffer, writes a one-line reason into it. No C++ exception crosses
 * this boundary (each entry point catches everything).
 *
 * Threading: mdc_global_init() must run once before anything else (it registers the
 * codecs). After that, distinct MDCFile handles may be used from distinct threads; one
 * handle must not be used by two threads at once.
 */
#ifndef CDICOM_H
#define CDICOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MDC_OK = 0,
    MDC_NOT_FOUND = 1,     /* the element (or item) is absent */
    MDC_ERROR = 2,         /* anything else; the error buffer says what */
    MDC_EMPTY = 3          /* the element is present but has no value */
};

typedef struct MDCFile MDCFile;
/* A borrowed pointer to a dataset, meta header or sequence item; valid while its file is open. */
typedef struct MDCItem MDCItem;

/* Registers the JPEG, JPEG-LS and RLE codecs (decoders and encoders), silences DCMTK's
 * logger below `logLevel` (0 trace ... 5 fatal, 6 off) and checks that the data
 * dictionary is loaded. Idempotent and thread-safe. */
int mdc_global_init(int logLevel, char *err, size_t errLen);

/* DCMTK's version string, e.g. "3.6.7". */
const char *mdc_dcmtk_version(void);

/* ---- reading ---- */

/* Opens a DICOM file (Part 10, or a bare dataset where DCMTK can). Values longer than
 * `lazyThreshold` bytes stay on disk until read, so pixel data is not loaded up front. */
MDCFile *mdc_open(const char *path, uint32_t lazyThreshold, char *err, size_t errLen);
void mdc_close(MDCFile *file);

MDCItem *mdc_dataset(MDCFile *file);
/* NULL when the file had no meta header. */
MDCItem *mdc_meta(MDCFile *file);
/* 1 when the file was read with a Part 10 meta header, 0 for a bare dataset. */
int mdc_has_meta(MDCFile *file);

/* The transfer syntax the dataset was encoded with: UID and DCMTK's name for it.
 * When DCMTK does not know the syntax, the UID comes from the meta header and the
 * name is empty. */
int mdc_transfer_syntax(MDCFile *file, char *uid, size_t uidLen, char *name, size_t nameLen);

/* Dictionary look-ups. */
int mdc_tag_for_keyword(const char *keyword, uint16_t *group, uint16_t *element);
/* Writes the keyword (or "Unknown" / "PrivateTag") into buf. */
void mdc_keyword_for_tag(uint16_t group, uint16_t element, char *buf, size_t bufLen);

/* Elements of an item, in stored order. */
int mdc_item_card(MDCItem *item);
int mdc_item_element(MDCItem *item, int index, uint16_t *group, uint16_t *element,
                     char vr[3], unsigned long *vm, uint32_t *length);

/* Whether an element is present, and its value length in bytes (without reading the value). */
int mdc_element_length(MDCItem *item, uint16_t group, uint16_t element, uint32_t *length);

/* The whole value as text, multiple values joined by '\'. *out is malloc'd (free with
 * mdc_free). Works for numeric VRs too (DCMTK formats them). */
int mdc_get_string(MDCItem *item, uint16_t group, uint16_t element, char **out);
int mdc_get_float64(MDCItem *item, uint16_t group, uint16_t element, unsigned long pos, double *out);
int mdc_get_int64(MDCItem *item, uint16_t group, uint16_t element, unsigned long pos, int64_t *out);
/* All values of a US/SS/OW element (e.g. palette LUT data) as 16-bit words in host order.
 * *out is malloc'd. */
int mdc_get_uint16_array(MDCItem *item, uint16_t group, uint16_t element, uint16_t **out, unsigned long *count);
void mdc_free(void *ptr);

/* Sequences: number of items (MDC_NOT_FOUND when absent) and item access. */
int mdc_seq_count(MDCItem *item, uint16_t group, uint16_t element, int *count);
MDCItem *mdc_seq_item(MDCItem *item, uint16_t group, uint16_t element, int index);

/* ---- pixel data ---- */

typedef struct {
    uint32_t rows, columns, frames, samplesPerPixel;
    uint32_t bitsAllocated, bitsStored, highBit, pixelRepresentation, planarConfiguration;
    int encapsulated;               /* 1 when the pixel data is in fragments */
    uint32_t fragments;             /* fragments after the offset table (encapsulated only) */
    uint64_t nativeLength;          /* bytes of native pixel data (native only) */
    char photometric[32];
} MDCPixelInfo;

/* MDC_NOT_FOUND when the dataset has no Pixel Data. */
int mdc_pixel_info(MDCFile *file, MDCPixelInfo *info, char *err, size_t errLen);

/* Number of frames the pixel data actually holds: for native data, the length divided
 * by the frame size; for encapsulated data, the frames found by the offset tables or by
 * scanning fragment starts for a JPEG SOI marker. Lets callers report a NumberOfFrames
 * that promises more than the file holds. */
int mdc_available_frames(MDCFile *file, uint64_t frameBytes, uint32_t *frames, char *err, size_t errLen);

/* Decodes one frame into `buffer` (at least `frameBytes` bytes, rounded up to even).
 * Native data is copied from the file (byte-swapped to host order for big endian OW);
 * encapsulated data goes through DCMTK's codec for the transfer syntax. On return,
 * `colorModel` holds the photometric interpretation of the decoded bytes (a JPEG decoder
 * may have converted YBR to RGB) and `planar` their planar configuration. */
int mdc_decode_frame(MDCFile *file, uint32_t frame, uint64_t frameBytes, void *buffer, size_t bufferLen,
                     char *colorModel, size_t colorModelLen, int *planar, char *err, size_t errLen);

/* ---- writing (phantom exports and test fixtures) ---- */

/* An empty Part 10 file in memory. */
MDCFile *mdc_create(void);
/* Puts a value given as text (numbers in decimal, multiple values joined by '\'). */
int mdc_put_string(MDCItem *item, uint16_t group, uint16_t element, const char *value, char *err, size_t errLen);
/* Appends an item to the sequence (creating the sequence) and returns it. */
MDCItem *mdc_seq_append(MDCItem *item, uint16_t group, uint16_t element);
/* Native pixel data: 8-bit samples as OB, 16-bit as OW (host order). */
int mdc_put_pixel_data(MDCItem *item, const void *data, uint32_t length, int bitsAllocated, char *err, size_t errLen);
/* Encodes the pixel data in the transfer syntax `xferUID` (JPEG Baseline writes
 * YBR_FULL_422 for colour at the given quality, JPEG-LS and RLE are lossless, deflate
 * and big endian are supported) and writes the file. */
int mdc_save(MDCFile *file, const char *path, const char *xferUID, int jpegQuality, char *err, size_t errLen);

#ifdef __cplusplus
}
#endif

#endif
