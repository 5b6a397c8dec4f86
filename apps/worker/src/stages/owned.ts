// What a job's stages allocated (tensors, models), freed once the job ends
// however it ends.
export class Owned {
  private readonly disposers: Array<() => void> = [];

  /** Registers `value` for disposal and returns it; null and undefined pass through. */
  add<T>(value: T, dispose: (v: NonNullable<T>) => void): T {
    if (value !== null && value !== undefined) this.disposers.push(() => dispose(value));
    return value;
  }

  dispose(): void {
    for (const d of this.disposers.splice(0).reverse()) d();
  }
}
