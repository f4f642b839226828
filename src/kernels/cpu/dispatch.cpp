#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "kernels/cpu/loops.hpp"
#include "lat/error.hpp"

namespace lat::kernels {
namespace scalar {
extern const Loops table;
}
namespace avx2 {
extern const Loops table;
}
namespace avx512 {
extern const Loops table;
}
namespace amx {
extern const Loops table;
}

namespace {

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) < 7 || !__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
  if (!osxsave) return f;
  // Which register states the operating system saves: SSE and AVX (bits 1, 2), and AVX-512's
  // opmask and upper registers (bits 5 to 7).
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool os_avx = (lo & 0x6) == 0x6, os_avx512 = (lo & 0xe6) == 0xe6;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = os_avx && ((b >> 5) & 1) && fma && f16c;
  f.avx512 = f.avx2 && os_avx512 && ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) &&
             ((b >> 31) & 1);
  // AMX (with AVX-512's bf16, which its loops use too): the tile and bf16 bits (24, 22), the
  // tile state saved by the operating system (bits 17, 18), and its permission for this process
  // to use that state.
  const bool amx_bits = ((d >> 24) & 1) && ((d >> 22) & 1), os_tiles = (lo & 0x60000) == 0x60000;
  __cpuid_count(7, 1, a, b, c, d);
  f.avx512_bf16 = f.avx512 && ((a >> 5) & 1);
  constexpr long kRequestPermission = 0x1023, kTileData = 18;  // ARCH_REQ_XCOMP_PERM, XTILEDATA
  f.amx = f.avx512_bf16 && amx_bits && os_tiles &&
          syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
  return f;
}

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::kAmx:
      return cpu_features().amx;
    case Isa::kAvx512:
      return cpu_features().avx512;
    case Isa::kAvx2:
      return cpu_features().avx2;
    case Isa::kScalar:
      break;
  }
  return true;
}

const Loops* const kAll[] = {&scalar::table, &avx2::table, &avx512::table, &amx::table};

const Loops& choose() {
  const char* asked = std::getenv("LAT_ISA");
  if (asked != nullptr && *asked != '\0') {
    for (const Loops* l : kAll) {
      if (asked == std::string(l->name)) {
        if (!cpu_runs(l->isa)) {
          throw Error(ErrorCode::kOption, std::string("LAT_ISA=") + asked +
                                              ": this CPU does not support that instruction set");
        }
        return *l;
      }
    }
    throw Error(ErrorCode::kOption,
                std::string("LAT_ISA=") + asked + ": not one of scalar, avx2, avx512, amx");
  }
  const Loops* best = kAll[0];
  for (const Loops* l : kAll) {
    if (cpu_runs(l->isa)) best = l;
  }
  return *best;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const Loops& loops() {
  static const Loops& chosen = choose();
  return chosen;
}

std::vector<const Loops*> supported_loops() {
  std::vector<const Loops*> out;
  for (const Loops* l : kAll) {
    if (cpu_runs(l->isa)) out.push_back(l);
  }
  return out;
}

}  // namespace lat::kernels
