// cdicom.cpp: the C++ side of cdicom.h. Everything DCMTK-specific lives here; the Swift
// side sees opaque handles, status codes and one-line error strings.

#include "dcmtk/config/osconfig.h"   // must come first
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcfcache.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcrleerg.h"
#include "dcmtk/dcmdata/dcrlerp.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmimage/diregist.h"  // lets DicomImage (used by the JPEG encoder) handle colour
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpeg/djencode.h"
#include "dcmtk/dcmjpeg/djrploss.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/ofstd/ofstd.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "cdicom.h"

struct MDCFile {
    DcmFileFormat format;
    DcmFileCache cache;
    bool hasMeta = false;
    // Frame index -> index of the frame's first fragment in the pixel sequence
    // (0 is the Basic Offset Table), built on first use for encapsulated data.
    bool fragmentMapBuilt = false;
    std::vector<Uint32> frameStart;
    std::string fragmentMapError;
};

namespace {

void setError(char *err, size_t errLen, const std::string &message) {
    if (err == nullptr || errLen == 0) return;
    std::strncpy(err, message.c_str(), errLen - 1);
    err[errLen - 1] = '\0';
}

void copyString(char *dst, size_t dstLen, const char *src) {
    if (dst == nullptr || dstLen == 0) return;
    std::strncpy(dst, src ? src : "", dstLen - 1);
    dst[dstLen - 1] = '\0';
}

// Runs `body`, turning any C++ exception into `failure` plus a one-line reason: no exception
// may cross into Swift.
template <typename Result, typename Body>
Result guarded(char *err, size_t errLen, Result failure, Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        setError(err, errLen, "out of memory inside DCMTK");
    } catch (const std::exception &e) {
        setError(err, errLen, e.what());
    } catch (...) {
        setError(err, errLen, "unexpected failure inside DCMTK");
    }
    return failure;
}

DcmItem *asItem(MDCItem *item) { return reinterpret_cast<DcmItem *>(item); }
MDCItem *asHandle(DcmItem *item) { return reinterpret_cast<MDCItem *>(item); }

DcmElement *findElement(MDCItem *item, uint16_t group, uint16_t element) {
    if (item == nullptr) return nullptr;
    DcmElement *found = nullptr;
    if (asItem(item)->findAndGetElement(DcmTagKey(group, element), found, OFFalse).bad()) return nullptr;
    return found;
}

std::once_flag initOnce;
std::string initError;

DcmPixelData *pixelDataOf(MDCFile *file) {
    DcmElement *element = nullptr;
    if (file->format.getDataset()->findAndGetElement(DCM_PixelData, element, OFFalse).bad()) return nullptr;
    return dynamic_cast<DcmPixelData *>(element);
}

E_TransferSyntax originalXfer(MDCFile *file) {
    return file->format.getDataset()->getOriginalXfer();
}

// The pixel sequence of encapsulated data, or nullptr for native data.
DcmPixelSequence *pixelSequenceOf(MDCFile *file) {
    DcmPixelData *pixels = pixelDataOf(file);
    if (pixels == nullptr) return nullptr;
    DcmXfer xfer(originalXfer(file));
    if (!xfer.isEncapsulated()) return nullptr;
    DcmPixelSequence *sequence = nullptr;
    if (pixels->getEncapsulatedRepresentation(originalXfer(file), nullptr, sequence).bad()) return nullptr;
    return sequence;
}

// Maps byte offsets (from the Basic or Extended Offset Table, relative to the first
// fragment after the table) to fragment indices. Returns false if an offset does not
// fall on a fragment boundary.
bool offsetsToFragments(DcmPixelSequence *sequence, const std::vector<Uint64> &offsets, std::vector<Uint32> &starts) {
    std::vector<Uint64> fragmentOffsets;
    Uint64 counter = 0;
    const unsigned long count = sequence->card();
    for (unsigned long index = 1; index < count; ++index) {
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, index).bad()) return false;
        fragmentOffsets.push_back(counter);
        counter += Uint64(item->getLength()) + 8;
    }
    starts.clear();
    for (Uint64 offset : offsets) {
        bool matched = false;
        for (size_t k = 0; k < fragmentOffsets.size(); ++k) {
            if (fragmentOffsets[k] == offset) { starts.push_back(Uint32(k + 1)); matched = true; break; }
        }
        if (!matched) return false;
    }
    return true;
}

// Builds frame -> first-fragment for encapsulated data. Order of evidence: the Extended
// Offset Table, the Basic Offset Table, one fragment per frame, and finally a scan of
// fragment starts for a JPEG SOI marker (JPEG cines often have an empty offset table
// and frames spanning several fragments).
void buildFragmentMap(MDCFile *file) {
    file->fragmentMapBuilt = true;
    file->frameStart.clear();
    DcmPixelSequence *sequence = pixelSequenceOf(file);
    if (sequence == nullptr) { file->fragmentMapError = "pixel data is not encapsulated"; return; }
    DcmItem *dataset = file->format.getDataset();
    Sint32 declared = 1;
    if (dataset->findAndGetSint32(DCM_NumberOfFrames, declared).bad() || declared < 1) declared = 1;
    const Uint32 fragments = sequence->card() > 0 ? Uint32(sequence->card() - 1) : 0;
    if (fragments == 0) { file->fragmentMapError = "the pixel data has no fragments"; return; }

    // Extended Offset Table (7FE0,0001), 64-bit offsets.
    DcmElement *eot = nullptr;
    if (dataset->findAndGetElement(DcmTagKey(0x7FE0, 0x0001), eot, OFFalse).good() && eot != nullptr && eot->getLength() >= 8) {
        Uint8 *raw = nullptr;
        if (eot->getUint8Array(raw).good() && raw != nullptr) {
            std::vector<Uint64> offsets(eot->getLength() / 8);
            for (size_t k = 0; k < offsets.size(); ++k) {
                Uint64 value = 0;
                for (int b = 7; b >= 0; --b) value = (value << 8) | raw[k * 8 + b];
                offsets[k] = value;
            }
            if (offsetsToFragments(sequence, offsets, file->frameStart)) return;
        }
    }
    // Basic Offset Table (first item), 32-bit little endian offsets.
    DcmPixelItem *table = nullptr;
    if (sequence->getItem(table, 0).good() && table != nullptr && table->getLength() >= 4) {
        Uint8 *raw = nullptr;
        if (table->getUint8Array(raw).good() && raw != nullptr) {
            std::vector<Uint64> offsets(table->getLength() / 4);
            for (size_t k = 0; k < offsets.size(); ++k)
                offsets[k] = Uint64(raw[k * 4]) | (Uint64(raw[k * 4 + 1]) << 8) | (Uint64(raw[k * 4 + 2]) << 16) | (Uint64(raw[k * 4 + 3]) << 24);
            if (offsetsToFragments(sequence, offsets, file->frameStart)) return;
        }
    }
    if (declared == 1) { file->frameStart.push_back(1); return; }
    if (fragments == Uint32(declared)) {
        for (Uint32 k = 1; k <= fragments; ++k) file->frameStart.push_back(k);
        return;
    }
    // Scan fragment starts for the JPEG/JPEG-LS start-of-image marker FF D8.
    const E_TransferSyntax xfer = originalXfer(file);
    const bool jpegFamily = DcmXfer(xfer).isEncapsulated() && xfer != EXS_RLELossless;
    if (!jpegFamily) {
        // RLE: the standard requires exactly one fragment per frame.
        for (Uint32 k = 1; k <= fragments; ++k) file->frameStart.push_back(k);
        return;
    }
    for (Uint32 k = 1; k <= fragments; ++k) {
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, k).bad() || item == nullptr || item->getLength() < 2) continue;
        Uint8 marker[2] = {0, 0};
        if (item->getPartialValue(marker, 0, 2, &file->cache).bad()) continue;
        if (marker[0] == 0xFF && marker[1] == 0xD8) file->frameStart.push_back(k);
    }
    if (file->frameStart.empty()) file->fragmentMapError = "no fragment starts with a JPEG start-of-image marker";
}

// ---- checks DCMTK does not make --------------------------------------------------------

// Most sequences and items that may be open at once (about 64 levels of nesting; real files
// nest a handful). DCMTK reads nested sequences recursively, so a file nesting thousands of
// levels (16 bytes each) overflows the stack of the thread reading it.
constexpr size_t kMaxOpenContainers = 128;

uint16_t read16(const uint8_t *p, bool big) { return big ? uint16_t(p[0] << 8 | p[1]) : uint16_t(p[1] << 8 | p[0]); }
uint32_t read32(const uint8_t *p, bool big) {
    return big ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3])
               : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]);
}

bool longLengthVR(const uint8_t *vr) {
    static const char *const names[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char *name : names)
        if (vr[0] == name[0] && vr[1] == name[1]) return true;
    return false;
}

// Walks the element headers of a file (skipping values) and counts how deeply sequences
// and items nest. Returns false, with a reason, only when the nesting is beyond
// kMaxOpenContainers; anything it cannot follow (deflated data, lengths that run past the
// file) ends the walk and is left to DCMTK, which reports it its own way.
bool nestingIsSane(const char *path, std::string &why) {
    FILE *file = std::fopen(path, "rb");
    if (file == nullptr) return true;
    struct Closer { FILE *f; ~Closer() { std::fclose(f); } } closer{file};
    uint8_t head[132];
    const size_t got = std::fread(head, 1, sizeof(head), file);
    uint64_t pos = 0;
    bool explicitVR = true, big = false;
    std::string syntax;
    if (got == sizeof(head) && std::memcmp(head + 128, "DICM", 4) == 0) {
        pos = 132;
        // File Meta Information: explicit VR little endian, group 0002.
        for (;;) {
            uint8_t t[12];
            if (fseeko(file, off_t(pos), SEEK_SET) != 0 || std::fread(t, 1, 8, file) != 8) return true;
            if (read16(t, false) != 0x0002) break;
            uint64_t length = read16(t + 6, false), header = 8;
            if (longLengthVR(t + 4)) {
                if (std::fread(t + 8, 1, 4, file) != 4) return true;
                length = read32(t + 8, false);
                header = 12;
            }
            if (length == 0xFFFFFFFF) return true;
            if (read16(t + 2, false) == 0x0010 && length < 128) {
                char uid[128] = {0};
                if (std::fread(uid, 1, size_t(length), file) != length) return true;
                syntax.assign(uid, size_t(length));
                while (!syntax.empty() && (syntax.back() == '\0' || syntax.back() == ' ')) syntax.pop_back();
            }
            pos += header + length;
        }
        if (syntax == "1.2.840.10008.1.2") explicitVR = false;
        else if (syntax == "1.2.840.10008.1.2.2") big = true;
        else if (syntax == "1.2.840.10008.1.2.1.99") return true;   // deflated: nothing to walk without inflating
    } else {
        explicitVR = got >= 6 && std::isupper(head[4]) && std::isupper(head[5]);
    }

    struct Container { uint64_t end; bool fragments; };   // end: UINT64_MAX for undefined length
    std::vector<Container> open;
    const uint64_t undefined = UINT64_MAX;
    for (;;) {
        while (!open.empty() && open.back().end != undefined && pos >= open.back().end) open.pop_back();
        uint8_t t[12];
        if (fseeko(file, off_t(pos), SEEK_SET) != 0 || std::fread(t, 1, 8, file) != 8) return true;
        const uint16_t group = read16(t, big), element = read16(t + 2, big);
        if (group == 0xFFFE) {
            const uint32_t length = read32(t + 4, big);
            pos += 8;
            if (element == 0xE000) {
                if (open.empty()) return true;
                if (open.back().fragments) {   // a fragment of encapsulated pixel data: bytes, not elements
                    if (length == 0xFFFFFFFF) return true;
                    pos += length;
                    continue;
                }
                open.push_back({length == 0xFFFFFFFF ? undefined : pos + length, false});
            } else if (element == 0xE00D || element == 0xE0DD) {
                if (!open.empty()) open.pop_back();
                continue;
            } else {
                return true;
            }
        } else {
            uint64_t length = 0, header = 8;
            bool sequence = false;
            if (explicitVR) {
                if (longLengthVR(t + 4)) {
                    if (std::fread(t + 8, 1, 4, file) != 4) return true;
                    length = read32(t + 8, big);
                    header = 12;
                } else {
                    length = read16(t + 6, big);
                }
                sequence = (t[4] == 'S' && t[5] == 'Q') || (t[4] == 'U' && t[5] == 'N' && length == 0xFFFFFFFF);
            } else {
                length = read32(t + 4, big);
                sequence = length == 0xFFFFFFFF || DcmTag(group, element).getEVR() == EVR_SQ;
            }
            pos += header;
            if (length == 0xFFFFFFFF) {
                open.push_back({undefined, !sequence});   // undefined length and not a sequence: pixel fragments
            } else if (sequence && length > 0) {
                open.push_back({pos + length, false});
            } else {
                pos += length;
                continue;
            }
        }
        if (open.size() > kMaxOpenContainers) {
            why = "sequences nest more than " + std::to_string(kMaxOpenContainers / 2) + " levels deep";
            return false;
        }
    }
}

// RLE Lossless (PS3.5 G.3.1): a 64-byte header of 16 little-endian words, the number of
// segments (1...15) and their offsets, the first 64 and each inside the fragment and after
// the previous one. DCMTK 3.6.7's RLE decoder reads wherever the offsets point, so they are
// checked here first.
bool rleHeaderIsSane(MDCFile *file, DcmPixelSequence *sequence, Uint32 fragment, std::string &why) {
    DcmPixelItem *item = nullptr;
    if (sequence->getItem(item, fragment).bad() || item == nullptr) { why = "the frame's fragment is missing"; return false; }
    const Uint32 length = item->getLength();
    Uint8 header[64];
    if (length < sizeof(header) || item->getPartialValue(header, 0, sizeof(header), &file->cache).bad()) {
        why = "the RLE fragment is shorter than its 64-byte header";
        return false;
    }
    const Uint32 segments = read32(header, false);
    if (segments < 1 || segments > 15) { why = "the RLE header declares " + std::to_string(segments) + " segments (1 to 15)"; return false; }
    Uint32 previous = 0;
    for (Uint32 k = 0; k < segments; ++k) {
        const Uint32 offset = read32(header + 4 + 4 * k, false);
        if ((k == 0 && offset != 64) || (k > 0 && offset <= previous) || offset >= length) {
            why = "RLE segment " + std::to_string(k + 1) + " starts at byte " + std::to_string(offset) +
                  ", outside the " + std::to_string(length) + "-byte fragment or out of order";
            return false;
        }
        previous = offset;
    }
    return true;
}

} // namespace

extern "C" {

int mdc_global_init(int logLevel, char *err, size_t errLen) {
    try {
        std::call_once(initOnce, [logLevel]() {
            OFLogger::LogLevel level = OFLogger::FATAL_LOG_LEVEL;
            switch (logLevel) {
                case 0: level = OFLogger::TRACE_LOG_LEVEL; break;
                case 1: level = OFLogger::DEBUG_LOG_LEVEL; break;
                case 2: level = OFLogger::INFO_LOG_LEVEL; break;
                case 3: level = OFLogger::WARN_LOG_LEVEL; break;
                case 4: level = OFLogger::ERROR_LOG_LEVEL; break;
                case 5: level = OFLogger::FATAL_LOG_LEVEL; break;
                default: level = OFLogger::OFF_LOG_LEVEL; break;
            }
            OFLog::configure(level);
            DJDecoderRegistration::registerCodecs();
            DJLSDecoderRegistration::registerCodecs();
            DcmRLEDecoderRegistration::registerCodecs();
            // Encoders: JPEG lossy colour goes to YBR_FULL_422 with 4:2:2 subsampling, as
            // ultrasound machines write it; the SOP Instance UID is kept.
            DJEncoderRegistration::registerCodecs(ECC_lossyYCbCr, EUC_never, OFFalse, 0, 0, 0, OFTrue, ESS_422, OFTrue);
            DJLSEncoderRegistration::registerCodecs();
            DcmRLEEncoderRegistration::registerCodecs();
            if (!dcmDataDict.isDictionaryLoaded()) {
                initError = "DCMTK's data dictionary is not loaded: install the 'libdcmtk17' data files "
                            "(/usr/share/libdcmtk17/dicom.dic) or point DCMDICTPATH at a dicom.dic";
            }
        });
    } catch (const std::exception &e) {
        setError(err, errLen, std::string("DCMTK initialisation failed: ") + e.what());
        return MDC_ERROR;
    } catch (...) {
        setError(err, errLen, "DCMTK initialisation failed");
        return MDC_ERROR;
    }
    if (!initError.empty()) { setError(err, errLen, initError); return MDC_ERROR; }
    return MDC_OK;
}

const char *mdc_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

MDCFile *mdc_open(const char *path, uint32_t lazyThreshold, char *err, size_t errLen) {
    return guarded(err, errLen, static_cast<MDCFile *>(nullptr), [&]() -> MDCFile * {
        std::string why;
        if (!nestingIsSane(path, why)) {
            setError(err, errLen, why);
            return nullptr;
        }
        MDCFile *file = new MDCFile();
        OFCondition status = file->format.loadFile(OFFilename(path), EXS_Unknown, EGL_noChange, lazyThreshold, ERM_autoDetect);
        if (status.bad()) {
            setError(err, errLen, status.text());
            delete file;
            return nullptr;
        }
        DcmMetaInfo *meta = file->format.getMetaInfo();
        file->hasMeta = meta != nullptr && meta->card() > 0;
        return file;
    });
}

void mdc_close(MDCFile *file) { delete file; }

MDCItem *mdc_dataset(MDCFile *file) { return asHandle(file->format.getDataset()); }

MDCItem *mdc_meta(MDCFile *file) { return file->hasMeta ? asHandle(file->format.getMetaInfo()) : nullptr; }

int mdc_has_meta(MDCFile *file) { return file->hasMeta ? 1 : 0; }

int mdc_transfer_syntax(MDCFile *file, char *uid, size_t uidLen, char *name, size_t nameLen) {
    try {
        OFString metaUID;
        if (file->hasMeta) file->format.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, metaUID);
        DcmXfer xfer(originalXfer(file));
        const bool known = xfer.getXfer() != EXS_Unknown;
        if (!metaUID.empty()) {
            copyString(uid, uidLen, metaUID.c_str());
            DcmXfer byUID(metaUID.c_str());
            copyString(name, nameLen, byUID.getXfer() != EXS_Unknown ? byUID.getXferName() : "");
        } else {
            copyString(uid, uidLen, known ? xfer.getXferID() : "");
            copyString(name, nameLen, known ? xfer.getXferName() : "");
        }
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

int mdc_tag_for_keyword(const char *keyword, uint16_t *group, uint16_t *element) {
    try {
        DcmTag tag;
        if (DcmTag::findTagFromName(keyword, tag).bad()) return MDC_NOT_FOUND;
        *group = tag.getGTag();
        *element = tag.getETag();
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

void mdc_keyword_for_tag(uint16_t group, uint16_t element, char *buf, size_t bufLen) {
    try {
        DcmTag tag(group, element);
        copyString(buf, bufLen, tag.getTagName());
    } catch (...) {
        copyString(buf, bufLen, "Unknown");
    }
}

int mdc_item_card(MDCItem *item) { return item ? int(asItem(item)->card()) : 0; }

int mdc_item_element(MDCItem *item, int index, uint16_t *group, uint16_t *element, char vr[3],
                     unsigned long *vm, uint32_t *length) {
    try {
        DcmElement *found = asItem(item)->getElement(unsigned(index));
        if (found == nullptr) return MDC_NOT_FOUND;
        *group = found->getGTag();
        *element = found->getETag();
        DcmVR dvr(found->getVR());
        const char *name = dvr.getValidVRName();
        vr[0] = name[0]; vr[1] = name[1]; vr[2] = '\0';
        *vm = found->getVM();
        *length = found->getLength();
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

int mdc_element_length(MDCItem *item, uint16_t group, uint16_t element, uint32_t *length) {
    try {
        DcmElement *found = findElement(item, group, element);
        if (found == nullptr) return MDC_NOT_FOUND;
        *length = found->getLength();
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

int mdc_get_string(MDCItem *item, uint16_t group, uint16_t element, char **out) {
    *out = nullptr;
    try {
        DcmElement *found = findElement(item, group, element);
        if (found == nullptr) return MDC_NOT_FOUND;
        if (found->getLength() == 0) return MDC_EMPTY;
        OFString value;
        if (found->getOFStringArray(value).bad()) return MDC_ERROR;
        *out = static_cast<char *>(std::malloc(value.length() + 1));
        if (*out == nullptr) return MDC_ERROR;
        std::memcpy(*out, value.c_str(), value.length() + 1);
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

int mdc_get_float64(MDCItem *item, uint16_t group, uint16_t element, unsigned long pos, double *out) {
    try {
        DcmElement *found = findElement(item, group, element);
        if (found == nullptr) return MDC_NOT_FOUND;
        if (found->getLength() == 0) return MDC_EMPTY;
        if (pos >= found->getVM()) return MDC_NOT_FOUND;
        Float64 f64; Float32 f32; Uint16 u16; Sint16 s16; Uint32 u32; Sint32 s32;
        switch (found->ident()) {
            case EVR_FD: case EVR_DS: case EVR_OD:
                if (found->getFloat64(f64, pos).good()) { *out = f64; return MDC_OK; } break;
            case EVR_FL: case EVR_OF:
                if (found->getFloat32(f32, pos).good()) { *out = f32; return MDC_OK; } break;
            case EVR_US: if (found->getUint16(u16, pos).good()) { *out = u16; return MDC_OK; } break;
            case EVR_SS: if (found->getSint16(s16, pos).good()) { *out = s16; return MDC_OK; } break;
            case EVR_UL: if (found->getUint32(u32, pos).good()) { *out = u32; return MDC_OK; } break;
            case EVR_SL: case EVR_IS: if (found->getSint32(s32, pos).good()) { *out = s32; return MDC_OK; } break;
            default: break;
        }
        OFString text;
        if (found->getOFString(text, pos).bad()) return MDC_ERROR;
        char *end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str()) return MDC_ERROR;
        *out = value;
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

int mdc_get_int64(MDCItem *item, uint16_t group, uint16_t element, unsigned long pos, int64_t *out) {
    double value = 0;
    const int status = mdc_get_float64(item, group, element, pos, &value);
    if (status != MDC_OK) return status;
    // Converting a double outside int64's range (or NaN) is undefined behaviour; header
    // values such as "1e300" in a DS or IS element are refused as not integers instead.
    if (!(value >= -9007199254740992.0 && value <= 9007199254740992.0)) return MDC_ERROR;
    *out = int64_t(value);
    return MDC_OK;
}

int mdc_get_uint16_array(MDCItem *item, uint16_t group, uint16_t element, uint16_t **out, unsigned long *count) {
    *out = nullptr;
    *count = 0;
    try {
        DcmElement *found = findElement(item, group, element);
        if (found == nullptr) return MDC_NOT_FOUND;
        if (found->getLength() == 0) return MDC_EMPTY;
        Uint16 *words = nullptr;
        unsigned long n = found->getLength() / 2;
        if (found->ident() == EVR_SS) {
            Sint16 *signedWords = nullptr;
            if (found->getSint16Array(signedWords).bad() || signedWords == nullptr) return MDC_ERROR;
            words = reinterpret_cast<Uint16 *>(signedWords);
        } else if (found->getUint16Array(words).bad() || words == nullptr) {
            // Some writers store LUT data as OB; read the bytes as little endian words.
            Uint8 *bytes = nullptr;
            if (found->getUint8Array(bytes).bad() || bytes == nullptr) return MDC_ERROR;
            uint16_t *copy = static_cast<uint16_t *>(std::malloc(n * sizeof(uint16_t) + 2));
            if (copy == nullptr) return MDC_ERROR;
            for (unsigned long k = 0; k < n; ++k) copy[k] = uint16_t(bytes[2 * k] | (bytes[2 * k + 1] << 8));
            *out = copy;
            *count = n;
            return MDC_OK;
        }
        uint16_t *copy = static_cast<uint16_t *>(std::malloc(n * sizeof(uint16_t) + 2));
        if (copy == nullptr) return MDC_ERROR;
        std::memcpy(copy, words, n * sizeof(uint16_t));
        *out = copy;
        *count = n;
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

void mdc_free(void *ptr) { std::free(ptr); }

int mdc_seq_count(MDCItem *item, uint16_t group, uint16_t element, int *count) {
    *count = 0;
    try {
        DcmElement *found = findElement(item, group, element);
        if (found == nullptr) return MDC_NOT_FOUND;
        DcmSequenceOfItems *sequence = dynamic_cast<DcmSequenceOfItems *>(found);
        if (sequence == nullptr) return MDC_ERROR;
        *count = int(sequence->card());
        return MDC_OK;
    } catch (...) {
        return MDC_ERROR;
    }
}

MDCItem *mdc_seq_item(MDCItem *item, uint16_t group, uint16_t element, int index) {
    try {
        DcmElement *found = findElement(item, group, element);
        DcmSequenceOfItems *sequence = dynamic_cast<DcmSequenceOfItems *>(found);
        if (sequence == nullptr || index < 0 || unsigned(index) >= sequence->card()) return nullptr;
        return asHandle(sequence->getItem(unsigned(index)));
    } catch (...) {
        return nullptr;
    }
}

int mdc_pixel_info(MDCFile *file, MDCPixelInfo *info, char *err, size_t errLen) {
    return guarded(err, errLen, int(MDC_ERROR), [&]() -> int {
        std::memset(info, 0, sizeof(*info));
        DcmItem *dataset = file->format.getDataset();
        DcmPixelData *pixels = pixelDataOf(file);
        if (pixels == nullptr) return MDC_NOT_FOUND;
        Uint16 u16 = 0;
        Sint32 frames = 1;
        info->rows = dataset->findAndGetUint16(DCM_Rows, u16).good() ? u16 : 0;
        info->columns = dataset->findAndGetUint16(DCM_Columns, u16).good() ? u16 : 0;
        info->samplesPerPixel = dataset->findAndGetUint16(DCM_SamplesPerPixel, u16).good() ? u16 : 1;
        info->bitsAllocated = dataset->findAndGetUint16(DCM_BitsAllocated, u16).good() ? u16 : 0;
        info->bitsStored = dataset->findAndGetUint16(DCM_BitsStored, u16).good() ? u16 : info->bitsAllocated;
        info->highBit = dataset->findAndGetUint16(DCM_HighBit, u16).good() ? u16 : (info->bitsStored ? info->bitsStored - 1 : 0);
        info->pixelRepresentation = dataset->findAndGetUint16(DCM_PixelRepresentation, u16).good() ? u16 : 0;
        info->planarConfiguration = dataset->findAndGetUint16(DCM_PlanarConfiguration, u16).good() ? u16 : 0;
        if (dataset->findAndGetSint32(DCM_NumberOfFrames, frames).bad()) frames = 1;
        info->frames = frames < 0 ? 0 : Uint32(frames);
        OFString photometric;
        dataset->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
        copyString(info->photometric, sizeof(info->photometric), photometric.c_str());
        DcmPixelSequence *sequence = pixelSequenceOf(file);
        if (DcmXfer(originalXfer(file)).isEncapsulated()) {
            info->encapsulated = 1;
            if (sequence == nullptr) {
                setError(err, errLen, "the transfer syntax is encapsulated but the pixel data has no fragments");
                return MDC_ERROR;
            }
            info->fragments = sequence->card() > 0 ? Uint32(sequence->card() - 1) : 0;
        } else {
            info->nativeLength = pixels->getLength();
        }
        return MDC_OK;
    });
}

int mdc_available_frames(MDCFile *file, uint64_t frameBytes, uint32_t *frames, char *err, size_t errLen) {
    return guarded(err, errLen, int(MDC_ERROR), [&]() -> int {
        *frames = 0;
        DcmPixelData *pixels = pixelDataOf(file);
        if (pixels == nullptr) { setError(err, errLen, "no Pixel Data element"); return MDC_NOT_FOUND; }
        if (!DcmXfer(originalXfer(file)).isEncapsulated()) {
            if (frameBytes == 0) { setError(err, errLen, "frame size is zero"); return MDC_ERROR; }
            *frames = Uint32(Uint64(pixels->getLength()) / frameBytes);
            return MDC_OK;
        }
        if (!file->fragmentMapBuilt) buildFragmentMap(file);
        if (file->frameStart.empty()) { setError(err, errLen, file->fragmentMapError); return MDC_ERROR; }
        *frames = Uint32(file->frameStart.size());
        return MDC_OK;
    });
}

int mdc_decode_frame(MDCFile *file, uint32_t frame, uint64_t frameBytes, void *buffer, size_t bufferLen,
                     char *colorModel, size_t colorModelLen, int *planar, char *err, size_t errLen) {
    return guarded(err, errLen, int(MDC_ERROR), [&]() -> int {
        DcmItem *dataset = file->format.getDataset();
        DcmPixelData *pixels = pixelDataOf(file);
        if (pixels == nullptr) { setError(err, errLen, "no Pixel Data element"); return MDC_NOT_FOUND; }
        OFString model;
        Uint16 planarValue = 0;
        if (!DcmXfer(originalXfer(file)).isEncapsulated()) {
            // Both sides in 64 bits: frameBytes comes from header fields. After this check,
            // offset and frameBytes lie within the 32-bit element length.
            const Uint64 length = pixels->getLength();
            if (frameBytes == 0 || frameBytes > length || Uint64(frame) > (length - frameBytes) / frameBytes) {
                setError(err, errLen, "frame " + std::to_string(frame) + " lies beyond the end of the pixel data");
                return MDC_ERROR;
            }
            const Uint64 offset = Uint64(frame) * frameBytes;
            if (offset + frameBytes > length) {
                setError(err, errLen, "frame " + std::to_string(frame) + " lies beyond the end of the pixel data");
                return MDC_ERROR;
            }
            if (bufferLen < frameBytes) { setError(err, errLen, "buffer too small"); return MDC_ERROR; }
            OFCondition status = pixels->getPartialValue(buffer, Uint32(offset), Uint32(frameBytes), &file->cache);
            if (status.bad()) { setError(err, errLen, std::string("cannot read pixel data: ") + status.text()); return MDC_ERROR; }
            dataset->findAndGetOFString(DCM_PhotometricInterpretation, model);
        } else {
            if (!file->fragmentMapBuilt) buildFragmentMap(file);
            if (frame >= file->frameStart.size()) {
                setError(err, errLen, file->frameStart.empty() ? file->fragmentMapError
                                                               : "frame " + std::to_string(frame) + " is not in the pixel data");
                return MDC_ERROR;
            }
            Uint32 startFragment = file->frameStart[frame];
            if (originalXfer(file) == EXS_RLELossless) {
                std::string why;
                DcmPixelSequence *sequence = pixelSequenceOf(file);
                if (sequence == nullptr || !rleHeaderIsSane(file, sequence, startFragment, why)) {
                    setError(err, errLen, why.empty() ? "the pixel data has no fragments" : why);
                    return MDC_ERROR;
                }
            }
            OFCondition status = pixels->getUncompressedFrame(dataset, frame, startFragment, buffer, Uint32(bufferLen), model, &file->cache);
            if (status.bad()) { setError(err, errLen, status.text()); return MDC_ERROR; }
        }
        dataset->findAndGetUint16(DCM_PlanarConfiguration, planarValue);
        copyString(colorModel, colorModelLen, model.c_str());
        *planar = planarValue;
        return MDC_OK;
    });
}

MDCFile *mdc_create(void) {
    try {
        MDCFile *file = new MDCFile();
        file->hasMeta = true;
        return file;
    } catch (...) {
        return nullptr;
    }
}

int mdc_put_string(MDCItem *item, uint16_t group, uint16_t element, const char *value, char *err, size_t errLen) {
    try {
        OFCondition status = asItem(item)->putAndInsertString(DcmTag(group, element), value);
        if (status.bad()) { setError(err, errLen, status.text()); return MDC_ERROR; }
        return MDC_OK;
    } catch (...) {
        setError(err, errLen, "unexpected failure inside DCMTK");
        return MDC_ERROR;
    }
}

MDCItem *mdc_seq_append(MDCItem *item, uint16_t group, uint16_t element) {
    try {
        DcmItem *created = nullptr;
        if (asItem(item)->findOrCreateSequenceItem(DcmTag(group, element), created, -2).bad()) return nullptr;
        return asHandle(created);
    } catch (...) {
        return nullptr;
    }
}

int mdc_put_pixel_data(MDCItem *item, const void *data, uint32_t length, int bitsAllocated, char *err, size_t errLen) {
    try {
        OFCondition status;
        if (bitsAllocated > 8) {
            status = asItem(item)->putAndInsertUint16Array(DCM_PixelData, static_cast<const Uint16 *>(data), length / 2);
        } else {
            status = asItem(item)->putAndInsertUint8Array(DCM_PixelData, static_cast<const Uint8 *>(data), length);
        }
        if (status.bad()) { setError(err, errLen, status.text()); return MDC_ERROR; }
        return MDC_OK;
    } catch (...) {
        setError(err, errLen, "unexpected failure inside DCMTK");
        return MDC_ERROR;
    }
}

int mdc_save(MDCFile *file, const char *path, const char *xferUID, int jpegQuality, char *err, size_t errLen) {
    return guarded(err, errLen, int(MDC_ERROR), [&]() -> int {
        DcmXfer xfer(xferUID);
        if (xfer.getXfer() == EXS_Unknown) { setError(err, errLen, std::string("unknown transfer syntax ") + xferUID); return MDC_ERROR; }
        DcmDataset *dataset = file->format.getDataset();
        OFCondition status;
        if (xfer.isEncapsulated()) {
            if (xfer.getXfer() == EXS_JPEGProcess1 || xfer.getXfer() == EXS_JPEGProcess2_4) {
                DJ_RPLossy parameters(jpegQuality > 0 ? jpegQuality : 90);
                status = dataset->chooseRepresentation(xfer.getXfer(), &parameters);
            } else if (xfer.getXfer() == EXS_JPEGLSLossless) {
                DJLSRepresentationParameter parameters(0, OFTrue);
                status = dataset->chooseRepresentation(xfer.getXfer(), &parameters);
            } else {
                status = dataset->chooseRepresentation(xfer.getXfer(), nullptr);
            }
            if (status.bad() || !dataset->canWriteXfer(xfer.getXfer())) {
                setError(err, errLen, std::string("cannot encode pixel data as ") + xfer.getXferName() + (status.bad() ? std::string(": ") + status.text() : ""));
                return MDC_ERROR;
            }
        }
        status = file->format.saveFile(OFFilename(path), xfer.getXfer(), EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0, EWM_fileformat);
        if (status.bad()) { setError(err, errLen, status.text()); return MDC_ERROR; }
        return MDC_OK;
    });
}

} // extern "C"
