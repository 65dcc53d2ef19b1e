// Picks the normalization kernel table (norm_kernels.hpp) for this CPU, once.
#include "norm_kernels.hpp"

#include <cstdlib>
#include <string>

namespace faltung::cpu {
namespace {

struct KernelTable {
  NormKernels<float> f32;
  NormKernels<double> f64;
  KernelTable() {
    generic_norm_kernels(&f32, &f64);
#if defined(FALTUNG_X86)
    const char* cap = std::getenv("FALTUNG_ISA");
    const std::string limit = cap != nullptr ? cap : "";
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && limit != "avx2" && limit != "generic") {
      avx512_norm_kernels(&f32, &f64);
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               limit != "generic") {
      avx2_norm_kernels(&f32, &f64);
    }
#endif
  }
};

const KernelTable& table() {
  static const KernelTable t;
  return t;
}

}  // namespace

template <>
const NormKernels<float>& norm_kernels<float>() { return table().f32; }
template <>
const NormKernels<double>& norm_kernels<double>() { return table().f64; }

}  // namespace faltung::cpu
