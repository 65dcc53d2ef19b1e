// make_batch_norm_params, make_lrn_params, make_lcn_params: the C++ validation of the
// normalization kernels' arguments (the Python twin is python/faltung/functional/norm.py).
#include <cmath>
#include <stdexcept>
#include <string>

#include "faltung/norm.hpp"

namespace faltung {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

std::string str(int64_t v) { return std::to_string(v); }

void require_eps(double eps) {
  require(std::isfinite(eps) && eps >= 0,
          "eps: expected a finite number >= 0, got " + std::to_string(eps));
}

NormShape make_shape(int64_t batch, int64_t channels, int64_t spatial) {
  require(batch >= 1 && channels >= 1 && spatial >= 1,
          "input: expected (N, C, spatial) sizes >= 1, got (" + str(batch) + ", " +
              str(channels) + ", " + str(spatial) + ")");
  return {batch, channels, spatial};
}

}  // namespace

BatchNormParams make_batch_norm_params(int64_t batch, int64_t channels, int64_t spatial,
                                       double eps, double momentum, bool training) {
  const NormShape shape = make_shape(batch, channels, spatial);
  require_eps(eps);
  require(std::isfinite(momentum),
          "momentum: expected a finite number, got " + std::to_string(momentum));
  require(!training || batch * spatial > 1,
          "input: expected more than 1 value per channel when training, got " +
              str(batch * spatial));
  return {shape, eps, momentum};
}

LrnParams make_lrn_params(int64_t batch, int64_t channels, int64_t spatial, int64_t size,
                          double alpha, double beta, double k) {
  const NormShape shape = make_shape(batch, channels, spatial);
  require(size >= 1, "size: expected a positive int, got " + str(size));
  require(std::isfinite(alpha) && std::isfinite(beta) && std::isfinite(k),
          "alpha, beta, k: expected finite numbers");
  return {shape, size, alpha, beta, k};
}

LcnParams make_lcn_params(int64_t batch, int64_t channels, int64_t spatial, double eps) {
  const NormShape shape = make_shape(batch, channels, spatial);
  require(channels >= 2,
          "input: expected at least 2 channels (the variance divides by C - 1), got " +
              str(channels));
  require_eps(eps);
  return {shape, eps};
}

}  // namespace faltung
