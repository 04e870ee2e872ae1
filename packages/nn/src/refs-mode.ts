/**
 * Whether new Variables hold their value in a Ref (Flax's `nnx.use_refs`).
 * Off by default; `useRefs(flag)` sets the global default and
 * `useRefs(flag, fn)` applies it only while `fn` runs.
 */
let current = false;

export function useRefs(flag: boolean): void;
export function useRefs<T>(flag: boolean, fn: () => T): T;
export function useRefs<T>(flag: boolean, fn?: () => T): T | void {
  if (!fn) {
    current = flag;
    return;
  }
  const prev = current;
  current = flag;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

export function usingRefs(): boolean {
  return current;
}
