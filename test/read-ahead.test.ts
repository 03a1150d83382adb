import { describe, expect, it } from "vitest";
import { readAhead } from "../src/store/read-ahead.js";

/** Loads that finish only when the test says so, to observe what is in flight. */
function controlledLoads() {
  const pending = new Map<number, () => void>();
  let started: number[] = [];
  const load = (n: number) =>
    new Promise<string>((resolve) => {
      started.push(n);
      pending.set(n, () => resolve(`loaded ${n}`));
    });
  return {
    load,
    finish: (n: number) => pending.get(n)!(),
    takeStarted: () => {
      const s = started;
      started = [];
      return s;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("readAhead", () => {
  it("yields in input order and keeps at most maxItems loads ahead", async () => {
    const c = controlledLoads();
    const it = readAhead([1, 2, 3, 4, 5, 6], c.load, () => 1, { maxItems: 3, maxWeight: 100 });
    const first = it.next();
    await tick();
    expect(c.takeStarted()).toEqual([1, 2, 3]);
    c.finish(2);
    c.finish(3);
    await tick();
    expect(c.takeStarted()).toEqual([]); // nothing more until the head is consumed
    c.finish(1);
    expect((await first).value).toEqual({ item: 1, result: "loaded 1" });
    const second = await it.next(); // releases item 1: room for one more
    expect(second.value).toEqual({ item: 2, result: "loaded 2" });
    expect(c.takeStarted()).toEqual([4]);
    c.finish(4);
    await it.return(undefined);
  });

  it("bounds the weight in the window, but always admits one item", async () => {
    const c = controlledLoads();
    const weights: Record<number, number> = { 1: 60, 2: 50, 3: 500, 4: 1 };
    const it = readAhead([1, 2, 3, 4], c.load, (n) => weights[n]!, { maxItems: 10, maxWeight: 100 });
    const first = it.next();
    await tick();
    expect(c.takeStarted()).toEqual([1]); // 60 + 50 > 100
    c.finish(1);
    await first;
    const second = it.next();
    await tick();
    expect(c.takeStarted()).toEqual([2]); // 50 + 500 > 100
    c.finish(2);
    await second;
    const third = it.next();
    await tick();
    expect(c.takeStarted()).toEqual([3]); // over the budget on its own: admitted when the window is empty
    c.finish(3);
    await third;
    const fourth = it.next();
    await tick();
    expect(c.takeStarted()).toEqual([4]);
    c.finish(4);
    expect((await fourth).value).toEqual({ item: 4, result: "loaded 4" });
    expect((await it.next()).done).toBe(true);
  });

  it("waits for loads in flight when the consumer stops early", async () => {
    const c = controlledLoads();
    const it = readAhead([1, 2, 3], c.load, () => 1, { maxItems: 3, maxWeight: 100 });
    const first = it.next();
    await tick();
    c.finish(1);
    await first;
    let returned = false;
    const stopping = it.return(undefined).then(() => (returned = true));
    await tick();
    expect(returned).toBe(false); // 2 and 3 are still loading
    c.finish(2);
    c.finish(3);
    await stopping;
    expect(returned).toBe(true);
  });
});
