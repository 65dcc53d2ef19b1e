// Depthwise row operations (depthwise_rows.hpp, depthwise_rows.inl) for the portable baseline
// (x86-64-v2, or any CPU): the fallback when neither AVX2 nor AVX-512 is there.
#include <cstring>
#include <utility>

#include "depthwise_rows.hpp"

namespace faltung::cpu {
namespace {
#include "depthwise_rows.inl"
}  // namespace

void generic_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64) {
  fill_rows(f32, f64);
}

}  // namespace faltung::cpu
