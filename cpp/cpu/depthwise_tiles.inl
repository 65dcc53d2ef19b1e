// The channel-blocked tile operations of depthwise_rows.hpp as portable C++ (GCC/Clang vector
// extensions), included after depthwise_rows.inl (its Lanes<T>) in the AVX-512 file's unnamed
// namespace only: float32 on AVX-512 is where the tiles beat the row operations (AVX2: 0.5-0.9x,
// float64: 0.1-0.2x, their 16-element vectors span two or four registers). A tile holds
// kTileLanes channels channel-minor: pixel p of the tile is the kTileLanes values at tile + p *
// kTileLanes, one Lanes<T> vector, so a tap is one vector FMA per output pixel for all the
// tile's channels, at any stride or dilation.
// The transposes go 16 pixels at a time through a 16x16 block transpose (four rounds of
// two-register shuffles), the last block overlapping the one before (its pixels are written
// twice, with the same values); a tail of channels, or a plane of under 16 pixels, goes element
// by element.

static_assert(kTileLanes == kDotLanes, "a tile pixel is one Lanes<T> (depthwise_rows.inl)");

// Unaligned vector loads and stores as plain moves (memcpy of a 64-byte vector became two
// 32-byte moves under -mtune=icelake-server, and the transposes' reloads of them stalled on
// store forwarding).
template <class T>
struct UnalignedOf {
  typedef T type __attribute__((vector_size(kTileLanes * sizeof(T)), aligned(sizeof(T)),
                                may_alias));
};
template <class T>
inline void load(Lanes<T>& v, const T* p) {
  v = *reinterpret_cast<const typename UnalignedOf<T>::type*>(p);
}
template <class T>
inline void store(T* p, const Lanes<T>& v) {
  *reinterpret_cast<typename UnalignedOf<T>::type*>(p) = v;
}

template <class T>
struct IndexOf;
template <>
struct IndexOf<float> {
  typedef int32_t type __attribute__((vector_size(kTileLanes * sizeof(int32_t))));
};
template <>
struct IndexOf<double> {
  typedef int64_t type __attribute__((vector_size(kTileLanes * sizeof(int64_t))));
};

// Rows a, c of a 16x16 block (c = a's row + B): swap the off-diagonal B x B sub-blocks.
template <class T, int B>
inline void swap_blocks(Lanes<T>& a, Lanes<T>& c) {
  typename IndexOf<T>::type lo, hi;
  for (int k = 0; k < kTileLanes; ++k) {
    lo[k] = (k & B) ? kTileLanes + k - B : k;
    hi[k] = (k & B) ? kTileLanes + k : k + B;
  }
  const Lanes<T> x = __builtin_shuffle(a, c, lo), y = __builtin_shuffle(a, c, hi);
  a = x;
  c = y;
}

template <class T, int B>
inline void swap_round(Lanes<T>* v) {
  for (int i = 0; i < kTileLanes; ++i)
    if ((i & B) == 0) swap_blocks<T, B>(v[i], v[i + B]);
}

template <class T>
inline void transpose16(Lanes<T>* v) {
  swap_round<T, 8>(v);
  swap_round<T, 4>(v);
  swap_round<T, 2>(v);
  swap_round<T, 1>(v);
}

template <class T>
void to_tile(T* tile, const int64_t* pos, const T* x, int64_t plane_stride, int64_t count,
             int64_t pixels) {
  constexpr int L = kTileLanes;
  if (count == L && pixels >= L) {
    for (int64_t b = 0; b < pixels; b += L) {
      const int64_t p = std::min(b, pixels - L);  // the last block overlaps the one before
      Lanes<T> v[L];
      for (int l = 0; l < L; ++l) load(v[l], x + l * plane_stride + p);
      transpose16<T>(v);
      for (int k = 0; k < L; ++k) store(tile + pos[p + k] * L, v[k]);
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    T* t = tile + pos[p] * L;
    for (int l = 0; l < L; ++l) t[l] = l < count ? x[l * plane_stride + p] : T(0);
  }
}

template <class T>
void from_tile(T* y, int64_t plane_stride, int64_t count, const T* tile, const int64_t* pos,
               int64_t pixels) {
  constexpr int L = kTileLanes;
  if (count == L && pixels >= L) {
    for (int64_t b = 0; b < pixels; b += L) {
      const int64_t p = std::min(b, pixels - L);  // the last block overlaps the one before
      Lanes<T> v[L];
      for (int k = 0; k < L; ++k) load(v[k], tile + pos[p + k] * L);
      transpose16<T>(v);
      for (int l = 0; l < L; ++l) store(y + l * plane_stride + p, v[l]);
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t l = 0; l < count; ++l) y[l * plane_stride + p] = tile[pos[p] * L + l];
}

// Taps > 0: exactly that many, weights in registers; 0: any count.
template <class T, int Taps>
void tile_sum(T* out, int64_t out_h, int64_t out_w, const T* init, const T* in,
              int64_t row_step, int64_t col_step, const int64_t* offsets, const T* w,
              int64_t taps) {
  constexpr int L = kTileLanes;
  constexpr int R = Taps > 0 ? Taps : 1;
  Lanes<T> b, c[R];
  int64_t o[R];
  load(b, init);
  if constexpr (Taps > 0)
    for (int t = 0; t < Taps; ++t) {
      load(c[t], w + t * L);
      o[t] = offsets[t] * L;
    }
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const T* row = in + oy * row_step * L;
    for (int64_t ox = 0; ox < out_w; ++ox, out += L) {
      const T* s = row + ox * col_step * L;
      Lanes<T> a = b, v;
      if constexpr (Taps > 0) {
        for (int t = 0; t < Taps; ++t) {
          load(v, s + o[t]);
          a += c[t] * v;
        }
      } else {
        for (int64_t t = 0; t < taps; ++t) {
          load(v, s + offsets[t] * L);
          load(c[0], w + t * L);
          a += c[0] * v;
        }
      }
      store(out, a);
    }
  }
}

template <class T, int Taps>
void tile_scatter(T* in, const T* g, int64_t out_h, int64_t out_w, int64_t row_step,
                  int64_t col_step, const int64_t* offsets, const T* w, int64_t taps) {
  constexpr int L = kTileLanes;
  constexpr int R = Taps > 0 ? Taps : 1;
  Lanes<T> c[R];
  int64_t o[R];
  if constexpr (Taps > 0)
    for (int t = 0; t < Taps; ++t) {
      load(c[t], w + t * L);
      o[t] = offsets[t] * L;
    }
  for (int64_t oy = 0; oy < out_h; ++oy) {
    T* row = in + oy * row_step * L;
    for (int64_t ox = 0; ox < out_w; ++ox, g += L) {
      T* s = row + ox * col_step * L;
      Lanes<T> gv, v;
      load(gv, g);
      if constexpr (Taps > 0) {
        for (int t = 0; t < Taps; ++t) {
          load(v, s + o[t]);
          store(s + o[t], v + c[t] * gv);
        }
      } else {
        for (int64_t t = 0; t < taps; ++t) {
          load(v, s + offsets[t] * L);
          load(c[0], w + t * L);
          store(s + offsets[t] * L, v + c[0] * gv);
        }
      }
    }
  }
}

template <class T, int Taps>
void tile_dots(T* acc, const T* g, int64_t out_h, int64_t out_w, const T* in, int64_t row_step,
               int64_t col_step, const int64_t* offsets, int64_t taps) {
  constexpr int L = kTileLanes;
  if constexpr (Taps > 0) {
    Lanes<T> part[Taps], gv, v;
    int64_t o[Taps];
    for (int t = 0; t < Taps; ++t) {
      load(part[t], acc + t * L);
      o[t] = offsets[t] * L;
    }
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const T* row = in + oy * row_step * L;
      for (int64_t ox = 0; ox < out_w; ++ox, g += L) {
        const T* s = row + ox * col_step * L;
        load(gv, g);
        for (int t = 0; t < Taps; ++t) {
          load(v, s + o[t]);
          part[t] += gv * v;
        }
      }
    }
    for (int t = 0; t < Taps; ++t) store(acc + t * L, part[t]);
  } else {
    for (int64_t t = 0; t < taps; ++t) {
      Lanes<T> part, gv, v;
      load(part, acc + t * L);
      const T* gt = g;
      for (int64_t oy = 0; oy < out_h; ++oy) {
        const T* row = in + oy * row_step * L + offsets[t] * L;
        for (int64_t ox = 0; ox < out_w; ++ox, gt += L) {
          load(gv, gt);
          load(v, row + ox * col_step * L);
          part += gv * v;
        }
      }
      store(acc + t * L, part);
    }
  }
}

template <class T>
void fill_tiles(DepthwiseRows<T>* k) {
  k->to_tile = to_tile<T>;
  k->from_tile = from_tile<T>;
  k->tile_sum_any = tile_sum<T, 0>;
  k->tile_sum_9 = tile_sum<T, 9>;
  k->tile_scatter_any = tile_scatter<T, 0>;
  k->tile_scatter_9 = tile_scatter<T, 9>;
  k->tile_dots_any = tile_dots<T, 0>;
  k->tile_dots_9 = tile_dots<T, 9>;
}
