/**
 * The backend's ordered queue of deferred work.
 *
 * `Backend.execute` is synchronous, but a program with a data-dependent
 * `while` loop needs device reads between its submits. Such a program runs as
 * an asynchronous task; while any task is pending, every later backend call
 * that touches buffers (execute, alloc, free, the copy of a read) becomes a
 * task too, so the device sees the work in call order and no buffer goes back
 * to the pool while queued work may still use it. When the queue drains, the
 * backend is back on its synchronous path.
 *
 * A task runs as soon as every task before it has finished: synchronously
 * inside `push` when the queue is idle, and straight after its predecessor
 * otherwise. Tasks report their own failures (they poison their outputs);
 * one that throws does not stop the queue.
 */

export type Task = () => void | Promise<void>;

export class WorkQueue {
  private readonly tasks: Task[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly onUncaught: (e: unknown) => void) {}

  /** No task is running or waiting. */
  get idle(): boolean {
    return !this.running && this.tasks.length === 0;
  }

  /** Number of tasks waiting or running (for tests and diagnostics). */
  get length(): number {
    return this.tasks.length + (this.running ? 1 : 0);
  }

  push(task: Task): void {
    this.tasks.push(task);
    if (!this.running) void this.drain();
  }

  /** Resolves once every task queued so far (and any queued meanwhile) has finished. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.tasks.length) {
        const t = this.tasks.shift()!;
        try {
          const r = t();
          if (r) await r;
        } catch (e) {
          this.onUncaught(e);
        }
      }
    } finally {
      this.running = false;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}
