// The SIMD micro-kernel bodies shared by the AVX2 and AVX-512 files, written once over a vector
// traits type V (V::reg, V::lanes, load/load_lanes/bit_or/store/set1/fma/zero). Included inside
// an ISA-specific anonymous namespace; the MR x (NV * lanes) accumulators stay in registers.
//   simd_micro_kernel:      A packed (mr values per k), B row k at b + k * ldb.
//   simd_indirect_b_kernel: A packed, B row k at b_rows[k] + j (rows of a padded image).
//   simd_indirect_a_kernel: A(i, k) read in place from mr rows over K segments, B packed.
//   simd_gather_panel:      packs a B panel from runs of the rows b_rows[k] (masked loads,
//                           the runs of one vector ORed in registers: gather_vector).

// C tile (MR x NV vectors) = acc, or beta * C + acc; beta == 0 does not read C.
template <class V, int MR, int NV>
inline void store_tile(typename V::reg (&acc)[MR][NV], typename V::scalar* c, int64_t ldc,
                       typename V::scalar beta) {
  using R = typename V::reg;
  constexpr int L = V::lanes;
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

// Zeroes the accumulators and prefetches the C tile, which is read and written only after the
// k loop, so that it arrives while the FMAs run.
template <class V, int MR, int NV>
inline void start_tile(typename V::reg (&acc)[MR][NV], const typename V::scalar* c, int64_t ldc) {
  constexpr int L = V::lanes;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[i][v] = V::zero();
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + v * L), _MM_HINT_T0);
    }
}

// acc += a_k (MR broadcasts, a_at(i)) x b_k (NV vectors from b).
template <class V, int MR, int NV, class AAt>
inline void rank1_update(typename V::reg (&acc)[MR][NV], AAt a_at, const typename V::scalar* b) {
  using R = typename V::reg;
  constexpr int L = V::lanes;
  R bv[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * L);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const R ai = V::set1(a_at(i));
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
  }
}

template <class V, int MR, int NV>
void simd_micro_kernel(int64_t kc, const typename V::scalar* a, const typename V::scalar* b,
                       int64_t ldb, typename V::scalar* c, int64_t ldc, typename V::scalar beta) {
  typename V::reg acc[MR][NV];
  start_tile<V, MR, NV>(acc, c, ldc);
  for (int64_t k = 0; k < kc; ++k) {
    rank1_update<V, MR, NV>(acc, [&](int i) { return a[i]; }, b);
    a += MR;
    b += ldb;
  }
  store_tile<V, MR, NV>(acc, c, ldc, beta);
}

// Prefetch: fetch the next panel's part of each row while this one is multiplied (the first
// pass over rows read in place, often straight from memory; later passes find them in cache).
template <class V, int MR, int NV, bool Prefetch>
void simd_indirect_b_kernel(int64_t kc, const typename V::scalar* a,
                            const typename V::scalar* const* b_rows, int64_t j,
                            typename V::scalar* c, int64_t ldc, typename V::scalar beta) {
  typename V::reg acc[MR][NV];
  start_tile<V, MR, NV>(acc, c, ldc);
  constexpr int L = V::lanes;
  for (int64_t k = 0; k < kc; ++k) {
    if (Prefetch) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        _mm_prefetch(reinterpret_cast<const char*>(b_rows[k] + j + (NV + v) * L), _MM_HINT_T0);
    }
    rank1_update<V, MR, NV>(acc, [&](int i) { return a[i]; }, b_rows[k] + j);
    a += MR;
  }
  store_tile<V, MR, NV>(acc, c, ldc, beta);
}

template <class V, int MR, int NV>
void simd_indirect_a_kernel(int64_t segments, int64_t seg_len, const int64_t* seg_offset,
                            const typename V::scalar* const* a_rows,
                            const typename V::scalar* b, typename V::scalar* c, int64_t ldc,
                            typename V::scalar beta) {
  using S = typename V::scalar;
  constexpr int L = V::lanes;
  typename V::reg acc[MR][NV];
  start_tile<V, MR, NV>(acc, c, ldc);
  for (int64_t s = 0; s < segments; ++s) {
    const S* rows[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) rows[i] = a_rows[i] + seg_offset[s];
    for (int64_t t = 0; t < seg_len; ++t) {
      rank1_update<V, MR, NV>(acc, [&](int i) { return rows[i][t]; }, b);
      b += NV * L;
    }
  }
  store_tile<V, MR, NV>(acc, c, ldc, beta);
}

// Lanes of one vector of each of the kc panel rows (out, stride elements apart) from N runs
// (masked loads ORed in registers; their masks and offsets stay in registers over all rows);
// Accumulate: OR into what the vector holds already (more than four runs share it).
template <class V, int N, bool Accumulate>
void gather_vector(typename V::scalar* out, int64_t stride, int64_t kc,
                   const typename V::scalar* const* b_rows, const GatherRun* runs) {
  int64_t src[N];
  int lo[N], hi[N];
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    src[j] = runs[j].src;
    lo[j] = runs[j].lo;
    hi[j] = runs[j].hi;
  }
  for (int64_t k = 0; k < kc; ++k) {
    typename V::reg acc = V::load_lanes(b_rows[k] + src[0], lo[0], hi[0]);
#pragma GCC unroll 4
    for (int j = 1; j < N; ++j) acc = V::bit_or(acc, V::load_lanes(b_rows[k] + src[j], lo[j], hi[j]));
    if (Accumulate) acc = V::bit_or(acc, V::load(out + k * stride));
    V::store(out + k * stride, acc);
  }
}

// Vector by vector (runs come in column order, so a vector's runs are consecutive), each
// vector of each row stored once; vectors no run touches are zero.
template <class V, int NV>
void simd_gather_panel(typename V::scalar* panel, int64_t kc,
                       const typename V::scalar* const* b_rows, const GatherRun* runs,
                       int64_t count) {
  using S = typename V::scalar;
  constexpr int L = V::lanes;
  constexpr int64_t stride = NV * L;
  int64_t r = 0;
  for (int v = 0; v < NV; ++v) {
    S* out = panel + v * L;
    int64_t end = r;
    while (end < count && runs[end].vector == v) ++end;
    if (end == r)
      for (int64_t k = 0; k < kc; ++k) V::store(out + k * stride, V::zero());
    for (bool first = true; r < end; first = false) {
      const int64_t n = end - r < 4 ? end - r : 4;
      const GatherRun* group = runs + r;
      switch (n * 2 + (first ? 0 : 1)) {
        case 2: gather_vector<V, 1, false>(out, stride, kc, b_rows, group); break;
        case 3: gather_vector<V, 1, true>(out, stride, kc, b_rows, group); break;
        case 4: gather_vector<V, 2, false>(out, stride, kc, b_rows, group); break;
        case 5: gather_vector<V, 2, true>(out, stride, kc, b_rows, group); break;
        case 6: gather_vector<V, 3, false>(out, stride, kc, b_rows, group); break;
        case 7: gather_vector<V, 3, true>(out, stride, kc, b_rows, group); break;
        case 8: gather_vector<V, 4, false>(out, stride, kc, b_rows, group); break;
        default: gather_vector<V, 4, true>(out, stride, kc, b_rows, group); break;
      }
      r += n;
    }
  }
}
