// The SIMD micro-kernel body shared by the AVX2 and AVX-512 files, written once over a vector
// traits type V (V::reg, V::lanes, load/store/set1/fma/zero/mul). Included inside an
// ISA-specific anonymous namespace; keeps MR x NV accumulators in registers.
template <class V, int MR, int NV>
void simd_micro_kernel(int64_t kc, const typename V::scalar* a, const typename V::scalar* b,
                       int64_t ldb, typename V::scalar* c, int64_t ldc, typename V::scalar beta) {
  using R = typename V::reg;
  constexpr int L = V::lanes;
  R acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  for (int64_t k = 0; k < kc; ++k) {
    R bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const R ai = V::set1(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += ldb;
  }
  if (beta == typename V::scalar(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * L, acc[i][v]);
  } else {
    const R bb = V::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        V::store(c + i * ldc + v * L, V::fma(bb, V::load(c + i * ldc + v * L), acc[i][v]));
  }
}
