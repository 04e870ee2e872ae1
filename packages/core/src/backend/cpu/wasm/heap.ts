/**
 * The Wasm heap: one `WebAssembly.Memory` that every CPU-backend Wasm module
 * imports, with a block allocator over it.
 *
 * When the memory is shared (SharedArrayBuffer-backed), the CPU backend's
 * buffers themselves live here (see ../storage.ts): a typed-array view of a
 * shared memory stays valid when the memory grows (growing never moves or
 * detaches shared memory; `memory.buffer` just returns a longer
 * SharedArrayBuffer), so kernels read and write buffers in place and workers
 * see them too. A non-shared memory detaches its views on every grow, so there
 * it only holds short-lived scratch (job records, copies of operands) whose
 * views are made after the last allocation of a call.
 *
 * Allocator: 64-byte aligned blocks; freed blocks go to exact-size free lists
 * (ML programs free and reallocate the same sizes every step), a freed block at
 * the top lowers the bump pointer, and only when the bump pointer would have to
 * grow the memory are free blocks coalesced and searched best-fit. Growth stops
 * at a soft cap (REFS_CPU_HEAP_MB, default 1024): beyond it `alloc` returns -1
 * and callers use ordinary typed arrays, whose garbage collection then frees
 * heap blocks owned by unreachable arrays.
 */

export const PAGE = 65536;
const ALIGN = 64;
/** The first bytes are never handed out, so offset 0 can mean "none". */
const RESERVED = ALIGN;

export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

export class WasmHeap {
  /** Every buffer object the memory has had (shared memories hand out a new one after each grow). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private top = RESERVED;
  private readonly bySize = new Map<number, number[]>();
  private readonly freeSize = new Map<number, number>(); // offset → size
  private readonly freeEnd = new Map<number, number>(); // end → offset
  private readonly live = new Map<number, number>(); // offset → size
  liveBytes = 0;
  /** Times the memory grew (tests). */
  grows = 0;

  constructor(
    readonly memory: WasmMemoryLike,
    readonly shared: boolean,
    /** Growth stops here (bytes). */
    readonly capBytes: number,
  ) {
    this.buffers.add(memory.buffer);
  }

  /** The memory's current buffer (a new object after a grow). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.memory.buffer;
  }

  /** Whether `v` is a view of this memory (of any of its buffers). */
  contains(v: ArrayBufferView): boolean {
    return this.buffers.has(v.buffer);
  }

  /** Allocates `bytes` (64-byte aligned); -1 when the cap is reached. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const list = this.bySize.get(size);
    if (list && list.length > 0) {
      const off = list.pop()!;
      this.freeSize.delete(off);
      this.freeEnd.delete(off + size);
      return this.take(off, size);
    }
    if (this.top + size <= this.memory.buffer.byteLength) {
      const off = this.top;
      this.top += size;
      return this.take(off, size);
    }
    this.coalesce();
    const fit = this.bestFit(size);
    if (fit >= 0) return this.take(fit, size);
    if (!this.ensure(this.top + size)) return -1;
    const off = this.top;
    this.top += size;
    return this.take(off, size);
  }

  /** Frees a block returned by `alloc` (unknown offsets are ignored). */
  free(off: number): void {
    const size = this.live.get(off);
    if (size === undefined) return;
    this.live.delete(off);
    this.liveBytes -= size;
    if (off + size === this.top) {
      this.top = off;
      // Absorb free blocks that now end at the top.
      for (let o = this.freeEnd.get(this.top); o !== undefined; o = this.freeEnd.get(this.top)) {
        this.unlinkFree(o);
        this.top = o;
      }
      return;
    }
    this.linkFree(off, size);
  }

  /** Size of the live block at `off`, or undefined. */
  blockSize(off: number): number | undefined {
    return this.live.get(off);
  }

  /** Bytes between the start and the bump pointer (live + free below it). */
  get usedBytes(): number {
    return this.top;
  }

  private take(off: number, size: number): number {
    this.live.set(off, size);
    this.liveBytes += size;
    return off;
  }

  private linkFree(off: number, size: number): void {
    let list = this.bySize.get(size);
    if (!list) this.bySize.set(size, (list = []));
    list.push(off);
    this.freeSize.set(off, size);
    this.freeEnd.set(off + size, off);
  }

  private unlinkFree(off: number): void {
    const size = this.freeSize.get(off)!;
    this.freeSize.delete(off);
    this.freeEnd.delete(off + size);
    const list = this.bySize.get(size)!;
    const i = list.lastIndexOf(off);
    list[i] = list[list.length - 1]!;
    list.pop();
    if (list.length === 0) this.bySize.delete(size);
  }

  /** Merges adjacent free blocks (and free blocks touching the top into the top). */
  private coalesce(): void {
    if (this.freeSize.size < 2) return;
    const blocks = [...this.freeSize].sort((a, b) => a[0] - b[0]);
    this.bySize.clear();
    this.freeSize.clear();
    this.freeEnd.clear();
    let [o, s] = blocks[0]!;
    for (let i = 1; i <= blocks.length; i++) {
      const b = blocks[i];
      if (b && b[0] === o + s) {
        s += b[1];
        continue;
      }
      if (o + s === this.top) this.top = o;
      else this.linkFree(o, s);
      if (b) [o, s] = b;
    }
  }

  /** Smallest free block of at least `size` bytes (split); -1 if none. */
  private bestFit(size: number): number {
    let best = -1;
    let bestSize = Infinity;
    for (const [o, s] of this.freeSize)
      if (s >= size && s < bestSize) {
        best = o;
        bestSize = s;
        if (s === size) break;
      }
    if (best < 0) return -1;
    this.unlinkFree(best);
    if (bestSize > size) this.linkFree(best + size, bestSize - size);
    return best;
  }

  /** Grows the memory to at least `bytes` (by at least a quarter, 16 MiB minimum), within the cap. */
  private ensure(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    if (bytes > this.capBytes) return false;
    const want = Math.min(this.capBytes, Math.max(bytes, have + Math.max(have >> 2, 16 << 20)));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((bytes - have) / PAGE));
      } catch {
        return false;
      }
    }
    this.grows++;
    this.buffers.add(this.memory.buffer);
    return true;
  }
}
