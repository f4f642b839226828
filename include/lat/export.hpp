#pragma once

// What liblat exports. The library is built with hidden visibility, so that only the API declared
// in include/lat/ is visible to its users and its internals can change without breaking them.
#if defined(__GNUC__) || defined(__clang__)
#define LAT_EXPORT __attribute__((visibility("default")))
#else
#define LAT_EXPORT
#endif
