// libFuzzer harness for the DCMTK shim (Sources/CDicom): every entry point the readers use,
// on arbitrary bytes. Built by scripts/fuzz.sh with clang -fsanitize=fuzzer,address.
//
// The shim takes paths (DCMTK reads files lazily), so each input is written to a file in
// /dev/shm first. Frame decoding is bounded the way FrameDecoder bounds it: a frame of at
// most 4096 x 4096 pixels x 3 samples x 2 bytes, NumberOfFrames at most 50000, checked in
// 64 bits before the buffer is allocated.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

#include "cdicom.h"

namespace {

std::string scratchPath() {
    static const std::string path = "/dev/shm/medcil-fuzz-shim-" + std::to_string(getpid()) + ".dcm";
    return path;
}

bool writeInput(const uint8_t *data, size_t size) {
    FILE *file = std::fopen(scratchPath().c_str(), "wb");
    if (file == nullptr) return false;
    const bool ok = size == 0 || std::fwrite(data, 1, size, file) == size;
    std::fclose(file);
    return ok;
}

void walkItem(MDCItem *item, int depth) {
    if (item == nullptr || depth > 8) return;
    const int count = mdc_item_card(item);
    for (int index = 0; index < count && index < 512; ++index) {
        uint16_t group = 0, element = 0;
        char vr[3] = {0, 0, 0};
        unsigned long vm = 0;
        uint32_t length = 0;
        if (mdc_item_element(item, index, &group, &element, vr, &vm, &length) != MDC_OK) continue;
        if (vr[0] == 'S' && vr[1] == 'Q') {
            int items = 0;
            if (mdc_seq_count(item, group, element, &items) == MDC_OK) {
                for (int k = 0; k < items && k < 64; ++k) walkItem(mdc_seq_item(item, group, element, k), depth + 1);
            }
            continue;
        }
        if (length > 4096) continue;   // the readers never ask for large values as text
        char *text = nullptr;
        if (mdc_get_string(item, group, element, &text) == MDC_OK) mdc_free(text);
        double number = 0;
        int64_t integer = 0;
        mdc_get_float64(item, group, element, 0, &number);
        mdc_get_int64(item, group, element, 0, &integer);
        uint16_t *words = nullptr;
        unsigned long wordCount = 0;
        if (mdc_get_uint16_array(item, group, element, &words, &wordCount) == MDC_OK) mdc_free(words);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool initialized = [] {
        char error[512];
        if (mdc_global_init(6, error, sizeof(error)) != MDC_OK) {
            std::fprintf(stderr, "%s\n", error);
            std::abort();
        }
        return true;
    }();
    (void)initialized;
    if (!writeInput(data, size)) return 0;
    char error[512] = {0};
    MDCFile *file = mdc_open(scratchPath().c_str(), 4096, error, sizeof(error));
    if (file == nullptr) return 0;
    char uid[128], name[256];
    mdc_transfer_syntax(file, uid, sizeof(uid), name, sizeof(name));
    walkItem(mdc_meta(file), 0);
    walkItem(mdc_dataset(file), 0);

    MDCPixelInfo info;
    if (mdc_pixel_info(file, &info, error, sizeof(error)) == MDC_OK) {
        const uint64_t pixels = uint64_t(info.rows) * info.columns;
        const uint64_t samples = info.samplesPerPixel == 3 ? 3 : 1;
        const uint64_t bytes = info.bitsAllocated == 16 ? 2 : 1;
        if (pixels > 0 && pixels <= 4096ull * 4096ull && (info.bitsAllocated == 8 || info.bitsAllocated == 16)) {
            const uint64_t frameBytes = pixels * samples * bytes;
            uint32_t available = 0;
            if (mdc_available_frames(file, frameBytes, &available, error, sizeof(error)) == MDC_OK && available > 0) {
                std::vector<uint8_t> buffer(size_t(frameBytes) + 2);
                char model[64];
                int planar = 0;
                const uint32_t frames = available < 4 ? available : 4;
                for (uint32_t frame = 0; frame < frames; ++frame) {
                    mdc_decode_frame(file, frame, frameBytes, buffer.data(), buffer.size(), model, sizeof(model), &planar,
                                     error, sizeof(error));
                }
            }
        }
    }
    mdc_close(file);
    return 0;
}
