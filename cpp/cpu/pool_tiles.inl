// Max pooling on channel-blocked tiles (the tile_max entry of depthwise_rows.hpp), portable C++
// on GCC/Clang vectors, included after depthwise_tiles.inl (its load/store) in the AVX-512
// file's unnamed namespace only, like the depthwise tiles: one Lanes<T> per tile pixel holds
// kTileLanes planes, so a tap is one compare-and-select for all of them. The scan is PyTorch's
// (and pool_max.cpp's): from -inf, a tap wins when greater or NaN, so ties keep the first tap
// and a NaN, once met, is replaced only by a later NaN; padding cells hold -inf and never win.
// Values alone take plain maxima first and rescan a tile only when a NaN may be among its
// inputs. Indices are carried as T (plane offsets below 2^24 are exact in float32).

// The exact scan (PyTorch's), with the winners' offsets when kIndex.
template <class T, int Taps, bool kIndex>
void tile_max_scan(T* out, T* index, int64_t out_h, int64_t out_w, const T* in,
                   int64_t row_step, int64_t col_step, const int64_t* offsets, const T* tap,
                   const T* origin, const T* first, int64_t taps) {
  constexpr int L = kTileLanes;
  constexpr int R = Taps > 0 ? Taps : 1;
  const int64_t n = Taps > 0 ? Taps : taps;
  int64_t o[R];
  if constexpr (Taps > 0)
    for (int t = 0; t < Taps; ++t) o[t] = offsets[t] * L;
  int64_t pixel = 0;
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const T* row = in + oy * row_step * L;
    for (int64_t ox = 0; ox < out_w; ++ox, ++pixel) {
      const T* s = row + ox * col_step * L;
      Lanes<T> m = Lanes<T>{} - std::numeric_limits<T>::infinity(), v;
      Lanes<T> arg = Lanes<T>{} + (kIndex ? first[pixel] : T(0));
      for (int64_t t = 0; t < n; ++t) {
        load(v, s + (Taps > 0 ? o[t] : offsets[t] * L));
        const auto take = (v > m) | (v != v);
        m = take ? v : m;
        if constexpr (kIndex) arg = take ? Lanes<T>{} + (origin[pixel] + tap[t]) : arg;
      }
      store(out + pixel * L, m);
      if constexpr (kIndex) store(index + pixel * L, arg);
    }
  }
}

// Values only: plain maxima (NaN inputs dropped) and a sum of every tap read, which is NaN
// when some input is (or when +inf meets -inf): only then is the tile rescanned exactly.
template <class T, int Taps>
void tile_max_values(T* out, int64_t out_h, int64_t out_w, const T* in, int64_t row_step,
                     int64_t col_step, const int64_t* offsets, int64_t taps) {
  constexpr int L = kTileLanes;
  constexpr int R = Taps > 0 ? Taps : 1;
  const int64_t n = Taps > 0 ? Taps : taps;
  int64_t o[R];
  if constexpr (Taps > 0)
    for (int t = 0; t < Taps; ++t) o[t] = offsets[t] * L;
  Lanes<T> sum{};
  T* dst = out;
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const T* row = in + oy * row_step * L;
    for (int64_t ox = 0; ox < out_w; ++ox, dst += L) {
      const T* s = row + ox * col_step * L;
      Lanes<T> m = Lanes<T>{} - std::numeric_limits<T>::infinity(), v;
      for (int64_t t = 0; t < n; ++t) {
        load(v, s + (Taps > 0 ? o[t] : offsets[t] * L));
        m = v > m ? v : m;
        sum += v;
      }
      store(dst, m);
    }
  }
  bool nan = false;
  for (int l = 0; l < L; ++l) nan |= sum[l] != sum[l];
  if (nan)
    tile_max_scan<T, Taps, false>(out, nullptr, out_h, out_w, in, row_step, col_step, offsets,
                                  nullptr, nullptr, nullptr, taps);
}

template <class T>
void tile_max(T* out, T* index, int64_t out_h, int64_t out_w, const T* in, int64_t row_step,
              int64_t col_step, const int64_t* offsets, const T* tap, const T* origin,
              const T* first, int64_t taps) {
  const auto run = [&](auto taps_c, auto index_c) {
    constexpr int Taps = decltype(taps_c)::value;
    if constexpr (decltype(index_c)::value)
      tile_max_scan<T, Taps, true>(out, index, out_h, out_w, in, row_step, col_step, offsets,
                                   tap, origin, first, taps);
    else
      tile_max_values<T, Taps>(out, out_h, out_w, in, row_step, col_step, offsets, taps);
  };
  const auto with_taps = [&](auto index_c) {
    using std::integral_constant;
    if (taps == 9) run(integral_constant<int, 9>{}, index_c);
    else if (taps == 4) run(integral_constant<int, 4>{}, index_c);
    else run(integral_constant<int, 0>{}, index_c);
  };
  if (index) with_taps(std::true_type{});
  else with_taps(std::false_type{});
}
