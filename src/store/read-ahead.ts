/**
 * Loads items in order with a small bounded read-ahead: at most `maxItems` loads in flight or waiting,
 * and no more than `maxWeight` (bytes) of them unless the window is empty. Results come out in input
 * order. `load` must not reject (return the failure as a value).
 */
export interface ReadAheadLimits {
  maxItems: number;
  maxWeight: number;
}

export async function* readAhead<T, R>(
  items: readonly T[],
  load: (item: T) => Promise<R>,
  weight: (item: T) => number,
  limits: ReadAheadLimits,
): AsyncGenerator<{ item: T; result: R }> {
  const window: { item: T; weight: number; result: Promise<R> }[] = [];
  let inWindow = 0;
  let next = 0;
  const fill = () => {
    while (next < items.length && window.length < limits.maxItems) {
      const item = items[next]!;
      const w = weight(item);
      if (window.length > 0 && inWindow + w > limits.maxWeight) break;
      window.push({ item, weight: w, result: load(item) });
      inWindow += w;
      next++;
    }
  };
  try {
    fill();
    while (window.length > 0) {
      const head = window[0]!;
      const result = await head.result;
      yield { item: head.item, result };
      // The consumer is done with this one only now: release its weight, then look further ahead.
      window.shift();
      inWindow -= head.weight;
      fill();
    }
  } finally {
    // Stopped early (deadline, abort): let loads in flight settle so the caller can clean up after them.
    await Promise.all(window.map((w) => w.result));
  }
}
