// The SIMD micro-kernel bodies shared by the AVX2 and AVX-512 files, written once over a vector
// traits type V (V::reg, V::lanes, load/load_partial/store/set1/fma/zero/sum). Included inside
// an ISA-specific anonymous namespace; the accumulators stay in registers.
//   simd_micro_kernel: outer-product form on packed panels, MR x (NV * lanes) tile.
//   simd_dot_kernel:   inner-product form on unpacked rows along K, MR x NR tile.
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

template <class V, int MR, int NR>
void simd_dot_kernel(int64_t K, const typename V::scalar* a, int64_t lda,
                     const typename V::scalar* b, int64_t ldb, typename V::scalar* c, int64_t ldc,
                     typename V::scalar alpha, typename V::scalar beta) {
  using R = typename V::reg;
  using S = typename V::scalar;
  constexpr int L = V::lanes;
  R acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = V::zero();
  auto step = [&](int64_t k, int64_t n) {
    R av[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) av[i] = n == L ? V::load(a + i * lda + k) : V::load_partial(a + i * lda + k, n);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const R bv = n == L ? V::load(b + j * ldb + k) : V::load_partial(b + j * ldb + k, n);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = V::fma(av[i], bv, acc[i][j]);
    }
  };
  int64_t k = 0;
  for (; k + L <= K; k += L) step(k, L);
  if (k < K) step(k, K - k);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const S sum = alpha * V::sum(acc[i][j]);
      c[i * ldc + j] = beta == S(0) ? sum : sum + beta * c[i * ldc + j];
    }
}
