// Depthwise row operations (depthwise_rows.hpp, depthwise_rows.inl) and, for float32, the tile
// operations (depthwise_tiles.inl, and max pooling's pool_tiles.inl) compiled for AVX512 (this
// file's compile flags, CMakeLists.txt); chosen at run time when the CPU reports AVX-512F.
#include "depthwise_rows.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

namespace faltung::cpu {
namespace {
#include "depthwise_rows.inl"
#include "depthwise_tiles.inl"
#include "pool_tiles.inl"
}  // namespace

bool avx512_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64) {
  fill_tiles(f32);
  f32->tile_max = tile_max<float>;
  return fill_rows(f32, f64);
}

}  // namespace faltung::cpu
#else
namespace faltung::cpu {
bool avx512_depthwise_rows(DepthwiseRows<float>*, DepthwiseRows<double>*) { return false; }
}  // namespace faltung::cpu
#endif
