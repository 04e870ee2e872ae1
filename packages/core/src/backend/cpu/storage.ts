/**
 * Where CPU buffers live. Where the Wasm heap is shared memory, a buffer of at
 * least HEAP_MIN_BYTES is a typed-array view of a heap block (wasm/heap.ts),
 * so Wasm kernels read and write it in place and worker threads see it;
 * everything else (small buffers, hosts without shared memory, a full heap) is
 * an ordinary typed array, which Wasm kernels copy in and out.
 *
 * Why: copying operands into Wasm memory costs as much as a memory-bound
 * kernel itself (a row sum reads each float once); measured on a 4096x1024
 * row sum, copy-in + kernel took about twice the in-place kernel (see
 * docs/ARCHITECTURE.md). Small buffers stay plain: their kernels run on the
 * JS path anyway, and the garbage collector sizes ordinary typed arrays
 * better than it can see into the heap.
 *
 * Ownership: a heap block is freed exactly once, by whoever owns its one
 * view: a CpuBuffer (freed by the backend's `free`, from Array disposal or
 * the Array's FinalizationRegistry), or a running executable (intermediates
 * are freed after their last use). Other views of heap memory (subarrays)
 * never own anything and are copied before they could outlive their block.
 */
import { typedArrayFor, type DType, type TypedArray } from "../../dtype.js";
import { existingHeap, runtime } from "./wasm/runtime.js";

/** Buffers from this many bytes up live in the heap (where it is shared). */
export const HEAP_MIN_BYTES = 4096;

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
let heapOn = env.REFS_CPU_HEAP !== "0";

/** Whether new CPU buffers may live in the Wasm heap (tests, benchmarks); returns the previous setting. */
export function setCpuHeap(on: boolean): boolean {
  const prev = heapOn;
  heapOn = on;
  return prev;
}

/** offset → the one view handed out for that block. */
const blocks = new Map<number, TypedArray>();

const CTORS = {
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
  float16: Uint16Array,
} as const;

/** A buffer of `n` elements; zero-filled only when `zero` (step outputs are written in full). */
export function newBuffer(dtype: DType, n: number, zero: boolean): TypedArray {
  const bytes = n * CTORS[dtype].BYTES_PER_ELEMENT;
  if (heapOn && bytes >= HEAP_MIN_BYTES) {
    const rt = runtime();
    if (rt?.shared) {
      const off = rt.heap.alloc(bytes);
      if (off >= 0) {
        const a = new CTORS[dtype](rt.heap.buffer as ArrayBuffer, off, n) as TypedArray;
        if (zero) a.fill(0);
        blocks.set(off, a);
        return a;
      }
    }
  }
  return typedArrayFor(dtype, n);
}

/** Whether `a` is the view of a heap block (the owning view, not a subarray). */
export function isBlock(a: TypedArray): boolean {
  return a.byteLength > 0 && blocks.get(a.byteOffset) === a;
}

/** Frees `a`'s heap block if `a` owns one; anything else is left to the garbage collector. */
export function freeBuffer(a: TypedArray): void {
  if (!isBlock(a)) return;
  blocks.delete(a.byteOffset);
  existingHeap()?.heap.free(a.byteOffset);
}

/** Whether `a` and `b` share memory (overlapping ranges of one buffer, or of the heap). */
export function overlaps(a: TypedArray, b: TypedArray): boolean {
  if (a.byteLength === 0 || b.byteLength === 0) return false;
  const same = a.buffer === b.buffer || (isHeapView(a) && isHeapView(b));
  return same && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Whether `a` views the heap (a block or part of one). */
export function isHeapView(a: TypedArray): boolean {
  const h = existingHeap();
  return !!h?.shared && h.heap.contains(a);
}

/** A copy of `a` in fresh storage. */
export function copyBuffer(a: TypedArray, dtype: DType): TypedArray {
  const c = newBuffer(dtype, a.length, false);
  c.set(a);
  return c;
}

/** Live heap blocks handed out as buffers (tests). */
export function heapBlockCount(): number {
  return blocks.size;
}
