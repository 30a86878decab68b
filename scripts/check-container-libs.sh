#!/usr/bin/env bash
# Checks, without Docker, that the container's runtime stage (Dockerfile, RUNTIME_PACKAGES)
# provides every shared library a built medcil binary links:
#   - each library `ldd` resolves is mapped to its Debian package (dpkg -S);
#   - that package must be one of RUNTIME_PACKAGES or one of their dependencies (recursively,
#     from the installed packages' Depends/Pre-Depends);
#   - the Swift runtime (libraries of the toolchain, owned by no package) must be linked
#     statically in the image: the build stage must use --static-swift-stdlib.
# Also fails when a listed package provides none of the linked libraries (a stale list).
# Usage: scripts/check-container-libs.sh [BINARY] [DOCKERFILE]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/medcil}"
dockerfile="${2:-Dockerfile}"
[ -x "$binary" ] || { echo "check-container-libs: no executable at $binary (build it first)" >&2; exit 1; }
command -v dpkg-query >/dev/null || { echo "check-container-libs: needs dpkg (Debian), the runtime stage's distribution" >&2; exit 1; }

listed=$(sed -n 's/^ENV RUNTIME_PACKAGES="\(.*\)"$/\1/p' "$dockerfile")
[ -n "$listed" ] || { echo "check-container-libs: no ENV RUNTIME_PACKAGES=\"...\" line in $dockerfile" >&2; exit 1; }

# The dependency closure of the listed packages (package names without version or arch).
declare -A closure=()
queue=($listed)
while [ "${#queue[@]}" -gt 0 ]; do
    package="${queue[0]}"; queue=("${queue[@]:1}")
    [ -n "${closure[$package]:-}" ] && continue
    closure[$package]=1
    depends=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$package" 2>/dev/null) || {
        echo "check-container-libs: $package (RUNTIME_PACKAGES) is not installed here, so its dependencies cannot be read" >&2; exit 1; }
    # "a (>= 1) | b, c:any" -> first alternative of each clause, bare name.
    for clause in $(echo "$depends" | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/ //g'); do
        [ -n "$clause" ] && queue+=("$clause")
    done
done

owner() {
    local path="$1" real
    real=$(readlink -f "$path")
    for candidate in "$real" "${real#/usr}" "/usr$real" "$path"; do
        if out=$(dpkg -S "$candidate" 2>/dev/null); then echo "${out%%:*}" | sed 's/:.*//'; return 0; fi
    done
    return 1
}

status=0
declare -A used=()
swift_runtime=0
while read -r library path; do
    [ -z "$path" ] && continue
    if package=$(owner "$path"); then
        package="${package%%,*}"
        used[$package]=1
        if [ -z "${closure[$package]:-}" ]; then
            echo "MISSING  $library ($path) comes from package $package, which RUNTIME_PACKAGES does not bring" >&2
            status=1
        else
            echo "ok       $library <- $package"
        fi
    elif [[ "$library" == libswift* || "$library" == libFoundation* || "$library" == lib_Foundation* || "$library" == libdispatch* \
            || "$library" == libBlocksRuntime* ]]; then
        swift_runtime=1
        echo "static   $library (Swift runtime, linked into the image's binary)"
    else
        echo "UNKNOWN  $library ($path) belongs to no Debian package: the runtime stage cannot provide it" >&2
        status=1
    fi
done < <(ldd "$binary" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p')

if [ "$swift_runtime" = 1 ] && ! grep -q -- '--static-swift-stdlib' "$dockerfile"; then
    echo "MISSING  the binary links the Swift runtime dynamically, and $dockerfile's build stage does not use --static-swift-stdlib" >&2
    status=1
fi
for package in $listed; do
    if [ -z "${used[$package]:-}" ]; then
        echo "UNUSED   $package is in RUNTIME_PACKAGES but provides none of the libraries the binary links" >&2
        status=1
    fi
done
[ "$status" = 0 ] && echo "check-container-libs: RUNTIME_PACKAGES ($listed) covers every library $binary links"
exit "$status"
