/**
 * Confusable names (UTS #39 skeletons, from the generated table in confusables.ts). Only non-ASCII
 * characters are mapped: "rn" and "m", or "l" and "1", stay different names, so plain ASCII folders
 * are never refused for resembling each other; a non-ASCII look-alike of any name is caught.
 */
import { CONFUSABLES_TO_ASCII } from "./confusables.js";

let table: Map<string, string> | null = null;

function confusables(): Map<string, string> {
  if (!table) {
    table = new Map();
    for (const pair of CONFUSABLES_TO_ASCII.split(" ")) {
      const eq = pair.indexOf("=");
      table.set(String.fromCodePoint(parseInt(pair.slice(0, eq), 16)), pair.slice(eq + 1));
    }
  }
  return table;
}

/** The skeleton of a name: NFD, each non-ASCII character replaced by its ASCII prototype, NFD again. */
export function skeleton(name: string): string {
  const map = confusables();
  let out = "";
  for (const char of name.normalize("NFD")) out += map.get(char) ?? char;
  return out.normalize("NFD");
}

/**
 * A letter of another script that reads as ASCII (Armenian "օ", Cyrillic "с", Lisu "ꓸ", Cherokee "Ꮮ"),
 * or null. Latin letters such as Turkish "ı" are left to the per-folder check.
 */
export function asciiLookalikeIn(segment: string): string | null {
  const map = confusables();
  for (const char of segment) if (/\p{L}/u.test(char) && !/\p{Script=Latin}/u.test(char) && map.has(char)) return char;
  return null;
}

export interface Lookalike {
  /** The existing path whose folder or file name the new one imitates. */
  existing: string;
  /** The new path's segment and the existing one it cannot be told apart from. */
  segment: string;
  like: string;
}

/**
 * Pure: does `path` put a name beside an existing sibling that differs but has the same skeleton?
 * Siblings are compared level by level: the folders of one parent, then the names inside the shared
 * folder, and so on while the parents are identical.
 */
export function findLookalike(path: string, existing: Iterable<string>): Lookalike | null {
  const mine = path.split("/");
  const skeletons = mine.map(skeleton);
  for (const other of existing) {
    const theirs = other.split("/");
    for (let d = 0; d < Math.min(mine.length, theirs.length); d++) {
      if (theirs[d] === mine[d]) continue;
      if (skeleton(theirs[d]!) === skeletons[d]) return { existing: other, segment: mine[d]!, like: theirs[d]! };
      break; // different folders below this level
    }
  }
  return null;
}
