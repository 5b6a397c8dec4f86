// The task's size and class balance, from its labels alone.

export interface DataStats {
  examples: number;
  classes: number;
  perClass: number[];
  /** Smallest class over largest: 1 is balanced. */
  minMaxRatio: number;
  /** Entropy of the class frequencies over log(classes): 1 is balanced, 0 is one class. */
  balance: number;
}

export function dataStats(classes: ArrayLike<number>, numClasses: number): DataStats {
  const perClass = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < classes.length; i++) perClass[classes[i]]++;
  const n = classes.length;
  const max = Math.max(...perClass);
  let h = 0;
  for (const c of perClass) if (c > 0) h -= (c / n) * Math.log(c / n);
  return {
    examples: n,
    classes: numClasses,
    perClass,
    minMaxRatio: max === 0 ? 0 : Math.min(...perClass) / max,
    balance: numClasses > 1 && n > 0 ? h / Math.log(numClasses) : 1,
  };
}

/** Up to `count` example indices, the same share from every class, in a seeded order. */
export function stratifiedSample(classes: ArrayLike<number>, numClasses: number, count: number, rand: () => number): Int32Array {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < classes.length; i++) byClass[classes[i]].push(i);
  for (const list of byClass) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
  }
  const share = count / Math.max(1, classes.length);
  const picked: number[] = [];
  const rest: number[] = [];
  for (const list of byClass) {
    const take = Math.max(1, Math.floor(list.length * share));
    picked.push(...list.slice(0, take));
    rest.push(...list.slice(take));
  }
  // Rounding down leaves a few places: fill them from what is left, class by class.
  picked.push(...rest.slice(0, Math.max(0, count - picked.length)));
  return Int32Array.from(picked.slice(0, count)).sort();
}
