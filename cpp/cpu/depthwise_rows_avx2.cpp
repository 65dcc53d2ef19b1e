// Depthwise row operations (depthwise_rows.hpp, depthwise_rows.inl) compiled for AVX2 (this
// file's compile flags, CMakeLists.txt); chosen at run time when the CPU reports AVX2 and FMA.
#include "depthwise_rows.hpp"

#if defined(FALTUNG_X86) && defined(__AVX2__)
#include <cstring>
#include <utility>

namespace faltung::cpu {
namespace {
#include "depthwise_rows.inl"
}  // namespace

bool avx2_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64) {
  return fill_rows(f32, f64);
}

}  // namespace faltung::cpu
#else
namespace faltung::cpu {
bool avx2_depthwise_rows(DepthwiseRows<float>*, DepthwiseRows<double>*) { return false; }
}  // namespace faltung::cpu
#endif
