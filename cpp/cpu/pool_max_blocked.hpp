// Max pooling forward on channel-blocked tiles (pool_max_blocked.cpp): float32 with the
// AVX-512 tile operations only, for small planes (use_blocked_max, measured).
#pragma once
#include "faltung/pool.hpp"

namespace faltung::pool_detail {

bool use_blocked_max(const Pool2dParams& p);

// y, and indices when not null, as max_pool2d_forward (faltung/pool.hpp).
void blocked_max_forward(float* y, int64_t* indices, const float* x, const Pool2dParams& p);

}  // namespace faltung::pool_detail
