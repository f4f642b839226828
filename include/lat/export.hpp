#pragma once

// What liblat exports. The library is built with hidden visibility, so that only the API declared
// in include/lat/ is visible to its users and its internals can change without breaking them.
// LAT_HIDDEN keeps a class's private implementation hidden inside an exported class.
#if defined(__GNUC__) || defined(__clang__)
#define LAT_EXPORT __attribute__((visibility("default")))
#define LAT_HIDDEN __attribute__((visibility("hidden")))
#else
#define LAT_EXPORT
#define LAT_HIDDEN
#endif
