// Picks the normalization kernel table (norm_kernels.hpp) for this CPU, once: the ISA family
// the GEMM chose.
#include "norm_kernels.hpp"

#include <string>

#include "faltung/gemm.hpp"

namespace faltung::cpu {
namespace {

// The same ISA as the GEMM micro-kernels: gemm.cpp decides once (FALTUNG_ISA caps it).
struct KernelTable {
  NormKernels<float> f32;
  NormKernels<double> f64;
  KernelTable() {
    generic_norm_kernels(&f32, &f64);
    const std::string isa = gemm_kernel_name();
    if (isa == "avx512") avx512_norm_kernels(&f32, &f64);
    else if (isa == "avx2") avx2_norm_kernels(&f32, &f64);
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
