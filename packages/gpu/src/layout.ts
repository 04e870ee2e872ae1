/**
 * How arrays are laid out in device buffers. float32, int32 and uint32 are
 * 4-byte words, bool is a u32 word holding 0/1, and float16 is packed: 2 bytes
 * per element (`array<f16>` in WGSL, the host's Uint16Array of raw bits
 * as is). WebGPU wants buffer sizes, writeBuffer sizes and copy offsets and
 * sizes in multiples of 4 bytes, so a buffer's size is padded up to whole
 * words; copies of a slice that does not start or end on a word boundary
 * (odd-length float16 rows) go through a copy kernel (./encoder.ts).
 */
import type { DType, TypedArray } from "@refs/core";

/** Bytes one element of `d` takes on the device. */
export function elemBytes(d: DType): number {
  return d === "float16" ? 2 : 4;
}

/** Bytes of the buffer that holds `n` elements of `d`: whole words, at least one. */
export function deviceBytes(n: number, d: DType): number {
  return Math.max(4, Math.ceil((n * elemBytes(d)) / 4) * 4);
}

/** Whether `n` elements of `d` from element `at` on start and end on word boundaries (so copyBufferToBuffer can copy them). */
export function wordAligned(at: number, n: number, d: DType): boolean {
  const b = elemBytes(d);
  return (at * b) % 4 === 0 && (n * b) % 4 === 0;
}

/** Host data → the bytes the device holds (bool widened to u32, float16 bits padded to a whole word). */
export function hostToDevice(d: DType, data: TypedArray): Uint8Array {
  if (d === "bool") {
    const w = new Uint32Array(data.length);
    for (let i = 0; i < data.length; i++) w[i] = data[i] ? 1 : 0;
    return new Uint8Array(w.buffer);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) return bytes;
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  return padded;
}

/** Bytes read back from the device (at least `n` elements' worth) → `out`, the host typed array of `n` elements. */
export function deviceToHost(d: DType, bytes: ArrayBuffer, out: TypedArray): void {
  const n = out.length;
  if (d === "bool") {
    const w = new Uint32Array(bytes, 0, n);
    for (let i = 0; i < n; i++) out[i] = w[i] ? 1 : 0;
    return;
  }
  const View = out.constructor as unknown as { new (b: ArrayBuffer, at: number, n: number): TypedArray };
  out.set(new View(bytes, 0, n) as never);
}
