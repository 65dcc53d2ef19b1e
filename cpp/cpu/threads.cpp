// The shared thread count and the per-thread workspace arena (see faltung/threads.hpp).
#include "faltung/threads.hpp"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace faltung {
namespace {

std::atomic<int> g_threads{0};  // 0: not yet read from the OpenMP runtime

struct Arena {
  void* ptr[static_cast<int>(Slot::Count)] = {};
  std::size_t bytes[static_cast<int>(Slot::Count)] = {};
  ~Arena() {
    for (void* p : ptr) std::free(p);
  }
};

thread_local Arena t_arena;

}  // namespace

int num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = omp_get_max_threads();  // honours OMP_NUM_THREADS
    g_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

void* workspace(Slot slot, std::size_t bytes) {
  const int s = static_cast<int>(slot);
  if (bytes > t_arena.bytes[s]) {
    // Grow by a quarter more than asked, so a slowly growing sequence of sizes reallocates rarely.
    const std::size_t want = ((bytes + bytes / 4) + 63) / 64 * 64;
    void* fresh = std::aligned_alloc(64, want);
    if (fresh == nullptr) throw std::bad_alloc();
    std::free(t_arena.ptr[s]);
    t_arena.ptr[s] = fresh;
    t_arena.bytes[s] = want;
  }
  return t_arena.ptr[s];
}

}  // namespace faltung
