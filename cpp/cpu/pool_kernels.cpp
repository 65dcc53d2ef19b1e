// Picks the pooling kernel table (pool_kernels.hpp) once: AVX-512 when the GEMM chose it.
#include "pool_kernels.hpp"

#include <cstring>

#include "faltung/gemm.hpp"

namespace faltung::cpu {

const PoolKernels& pool_kernels() {
  static const PoolKernels table = [] {
    PoolKernels k{};
    if (std::strcmp(gemm_kernel_name(), "avx512") == 0) avx512_pool_kernels(&k);
    return k;
  }();
  return table;
}

}  // namespace faltung::cpu
