/**
 * Pure helpers of the overlay safety check (safe-markdown.ts): dangerous URLs, attribute names and tag
 * names, character references, and a strict scanner for raw HTML (what a `.md` page compiled as
 * CommonMark, `markdown.format: "detect"`, hands to the browser as markup).
 */
import { parseEntities } from "parse-entities";

/** A component name an overlay allowlist may hold: a capitalised JSX identifier, dotted members allowed. */
export const COMPONENT_NAME = /^[A-Z][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** An allowlist from a list or a comma-separated setting (`"Quiz, Admonition"`); a bad name is an error message. */
export function parseComponentList(value: string | readonly string[]): { components: string[] } | { error: string } {
  const names = (typeof value === "string" ? value.split(",") : [...value]).map((n) => n.trim()).filter(Boolean);
  const bad = names.find((n) => !COMPONENT_NAME.test(n));
  if (bad !== undefined) return { error: `${JSON.stringify(bad)} is not a component name an overlay may use (a capitalised JSX name such as Quiz or Tabs.Item)` };
  return { components: [...new Set(names)] };
}

/** Elements an overlay may never contain, whatever the allowlist says (lowercase: HTML, not components). */
export const FORBIDDEN_TAGS = new Set([
  "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "form", "base", "meta", "link",
  "input", "button", "textarea", "select", "option", "svg", "math", "template", "noscript", "portal", "img", "video",
  "audio", "source", "track", "a", "area", "map", "html", "head", "body", "title", "xmp", "plaintext", "listing",
]);

/** Plain HTML elements an overlay may use (no URLs, no behaviour), with the attributes each may carry. */
export const SAFE_TAGS = new Set(["br", "sub", "sup", "kbd", "details", "summary", "mark", "abbr", "del", "ins", "small", "b", "i", "em", "strong", "u", "s", "hr", "p", "span"]);
export const SAFE_TAG_ATTRIBUTES = new Set(["title", "open", "class", "classname"]);

/** Attributes that are behaviour or raw markup in any element or component. */
export function dangerousAttribute(name: string): string | null {
  const n = name.toLowerCase();
  if (/^on/.test(n)) return `event handler attribute ${name}`;
  if (n === "style") return "style attribute (CSS can load URLs; a string style breaks the React build)";
  if (n === "dangerouslysetinnerhtml" || n === "srcdoc" || n === "formaction" || n === "xlink:href" || n === "ref" || n === "is") return `attribute ${name}`;
  return null;
}

/** Decodes HTML character references (named, decimal, hex), as a browser and MDX do. */
export function decodeReferences(value: string): string {
  return parseEntities(value, { nonTerminated: true });
}

const BAD_SCHEMES = ["javascript", "vbscript", "data", "file", "livescript", "mocha", "blob", "filesystem"];

/**
 * Why a URL (already decoded, as mdast holds it) may not appear in an overlay, or null. Browsers drop
 * control characters and whitespace inside a scheme and ignore case; a path that climbs out of the book
 * (`..` above `bookDepth` folders, `%2e%2e` included) could make the build bundle a file of the build machine.
 */
export function dangerousUrl(raw: string, bookDepth?: number): string | null {
  const url = decodeReferences(raw);
  // eslint-disable-next-line no-control-regex
  const squeezed = url.replace(/[\u0000-\u0020\u007f-\u00a0\u2028\u2029]/g, "").toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(squeezed)?.[1];
  if (scheme && BAD_SCHEMES.includes(scheme)) return `${scheme}: URL`;
  if (url.includes("\\")) return "URL with a backslash";
  if (scheme || url.startsWith("//") || url.startsWith("#")) return null;
  let path = url.split(/[?#]/)[0]!;
  try {
    path = decodeURIComponent(path);
  } catch {
    return "URL with malformed percent-encoding";
  }
  let depth = path.startsWith("/") ? 0 : (bookDepth ?? 0);
  for (const seg of path.split("/")) {
    if (seg === "..") depth--;
    else if (seg !== "" && seg !== ".") depth++;
    if (depth < 0) return "relative URL that leaves the book (..)";
  }
  return null;
}

export interface RawHtmlProblem {
  /** Offset in the raw HTML string. */
  offset: number;
  construct: string;
}

const TAG = /<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/y;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const COMMENT = /<!--[\s\S]*?-->/y;

/** Checks one tag's attributes (names, then decoded values). */
function checkAttributes(tag: string, attrs: string, at: number, out: RawHtmlProblem[], anyName: boolean): void {
  for (const m of attrs.matchAll(ATTR)) {
    const name = m[1]!;
    const value = decodeReferences(m[2] ?? m[3] ?? m[4] ?? "");
    const bad = dangerousAttribute(name) ?? (anyName || SAFE_TAG_ATTRIBUTES.has(name.toLowerCase()) ? null : `attribute ${name} on <${tag}>`);
    if (bad) out.push({ offset: at, construct: bad });
    else {
      const url = dangerousUrl(value);
      if (url) out.push({ offset: at, construct: `${url} in attribute ${name}` });
    }
  }
}

/**
 * Raw HTML, scanned strictly: only comments and the SAFE_TAGS with their few attributes pass; anything
 * else that starts like markup (`<x`, `</x`, `<!`, `<?`) and is not one of those is refused. An allowlisted
 * component written in a CommonMark page reaches the browser as an unknown (inert) element: allowed, with
 * the attribute rules (no handlers, no script URLs).
 */
export function checkRawHtml(html: string, components: ReadonlySet<string> = new Set()): RawHtmlProblem[] {
  const out: RawHtmlProblem[] = [];
  for (let i = html.indexOf("<"); i >= 0 && out.length < 20; i = html.indexOf("<", i + 1)) {
    COMMENT.lastIndex = i;
    const comment = COMMENT.exec(html);
    if (comment) {
      i += comment[0].length - 1;
      continue;
    }
    TAG.lastIndex = i;
    const m = TAG.exec(html);
    if (!m) {
      if (/^<[A-Za-z/!?]/.test(html.slice(i, i + 2))) out.push({ offset: i, construct: "raw HTML that is not a plain tag" });
      continue;
    }
    const name = m[2]!.toLowerCase();
    const component = components.has(m[2]!);
    if (FORBIDDEN_TAGS.has(name)) out.push({ offset: i, construct: `<${name}> element` });
    else if (!SAFE_TAGS.has(name) && !component) out.push({ offset: i, construct: `<${m[2]}> element (not allowed in overlays)` });
    else checkAttributes(m[2]!, m[3] ?? "", i, out, component);
    i += m[0].length - 1;
  }
  return out;
}

/** Text whose character references decode into markup, an expression or a script URL (`&lt;script&gt;`, `&#123;…&#125;`). */
export function referenceSmuggling(source: string): string | null {
  if (!/&(#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);?/i.test(source)) return null;
  const decoded = decodeReferences(source);
  const checks: Array<[RegExp, string]> = [
    [/<\/?[a-z!?]/i, "markup"],
    [/[{}]/, "an expression brace"],
    [/(javascript|vbscript|data)\s*:/i, "a script URL"],
    [/\bon[a-z]+\s*=/i, "an event handler"],
  ];
  for (const [re, what] of checks) if (re.test(decoded) && !re.test(source)) return `character reference that decodes to ${what}`;
  return null;
}
