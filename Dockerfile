# MedCIL as a container image, so that a cluster runs `medcil` with no Swift toolchain on its nodes.
#
#   scripts/container-build.sh            # docker or podman, whichever is installed
#   docker run --rm -v /shared:/shared medcil:latest convert echo --config ... --shard 1/8
#
# Two stages: the Swift toolchain builds the release binary with the Swift runtime linked in
# statically; the runtime stage is Debian slim with only the shared libraries MedCIL links
# (DCMTK, libnifti2, OpenBLAS and what they need). scripts/check-container-libs.sh checks that
# RUNTIME_PACKAGES below covers `ldd` of a built binary (scripts/test.sh and the CLI tests run it).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdcmtk-dev libnifti2-dev libopenblas-dev pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# SwiftPM checks every target's folder when it loads the manifest, so the tests come along.
COPY Package.swift ./
COPY Sources Sources
COPY Tests Tests
RUN swift build -c release --product medcil --static-swift-stdlib \
 && install -m 0755 "$(swift build -c release --show-bin-path)/medcil" /usr/local/bin/medcil

FROM ${RUNTIME_IMAGE} AS runtime
# The Debian packages of the shared libraries the binary links (their own dependencies come
# with them). Keep this one line: scripts/check-container-libs.sh reads it.
ENV RUNTIME_PACKAGES="libdcmtk17 libnifti2-2 libopenblas0-pthread zlib1g libstdc++6 libgcc-s1 libc6"
RUN apt-get update \
 && apt-get install -y --no-install-recommends $RUNTIME_PACKAGES \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work medcil
COPY --from=build /usr/local/bin/medcil /usr/local/bin/medcil
COPY converters /opt/medcil/converters
# DCMTK's data dictionary (installed by libdcmtk17); without it no DICOM file can be read.
ENV DCMDICTPATH=/usr/share/libdcmtk17/dicom.dic
USER medcil
WORKDIR /work
ENTRYPOINT ["medcil"]
CMD ["--help"]
