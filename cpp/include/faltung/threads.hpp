// Thread count shared by every kernel, and the per-thread workspace arena.
// The count starts at omp_get_max_threads() (so OMP_NUM_THREADS is respected) and every parallel
// region asks num_threads() instead of relying on the calling thread's OpenMP state, so the
// setting holds whichever Python thread calls a kernel.
// Workspaces: fresh memory costs a page fault per 4 KiB, as much as the arithmetic of a mid-sized
// layer, so scratch buffers (padded images, packed GEMM panels, dcol tiles) live in per-thread
// slots that grow and are then reused, never a malloc per call (only index tables of a few KiB
// are plain vectors).
#pragma once
#include <cstddef>

namespace faltung {

int num_threads();
void set_num_threads(int n);

enum class Slot {
  PackA, PackB,      // the GEMM's packed operands
  Columns, Gather,   // conv: gathered B blocks / dcol matrices; C scratch of several images
  Partial,           // conv: a thread's partial weight gradient
  Source,            // conv: padded copies of images (shared by the threads of one call)
  Rows,              // conv: row addresses and offsets for the indirect GEMM kernels
  NormTile,          // norm: a thread's LRN scales and terms of one pixel tile (C x 64)
  DepthwisePlane,    // depthwise: a padded image plane split by column phase
  DepthwiseGrad,     // depthwise: zero-padded grad_y rows of one input channel
  DepthwiseRows,     // depthwise: a narrow map's rows laid end to end
  DepthwiseTaps,     // depthwise: a row operation's source rows and weights
  DepthwiseWeights,
  SeparableMiddle,   // separable: the depthwise output (whole batch, or one fused tile)
  PoolTile,          // max pool: a block of planes as channel-blocked tiles
  DirectLanes,       // conv, direct: a thread's block of images (and sums) in lanes
  DirectRotated,     // conv, direct: the rotated kernel of a stride-1 input gradient
  Count
};

// A 64-byte aligned buffer of at least `bytes` for this thread and slot. Valid until the next
// call with the same slot on the same thread.
void* workspace(Slot slot, std::size_t bytes);

template <class T>
T* workspace_as(Slot slot, std::size_t count) {
  return static_cast<T*>(workspace(slot, count * sizeof(T)));
}

}  // namespace faltung
