/**
 * What Docusaurus renders beyond CommonMark, made safe for a live overlay's HTML (DESIGN 4.10):
 * - admonitions (`:::tip Title` … `:::`) become Infima alerts (`alert alert--success`, as the theme's own);
 * - other directives keep their text (`:name[label]`), as Docusaurus does with directives it does not know;
 * - a site component the overlay may use (`<Quiz … />`, parsed here as raw HTML, which is never passed through)
 *   becomes a visible note that the part is shown in the built book, instead of silently vanishing.
 * The classes are the only attributes added, and the sanitizer allows exactly these values (ADMONITION_CLASSES).
 */
interface Node {
  type: string;
  name?: string;
  value?: string;
  children?: Node[];
  data?: { hName?: string; hProperties?: Record<string, unknown>; directiveLabel?: boolean };
}

/** Admonition keyword → Infima alert colour (the mapping of @docusaurus/theme-classic). */
export const ADMONITIONS: Record<string, string> = { note: "secondary", tip: "success", info: "info", warning: "warning", danger: "danger", caution: "warning" };

export const COMPONENT_NOTE_CLASS = "pfs-live-component";

/** Every class value the renderer may emit; the sanitizer allows these and nothing else. */
export const ADMONITION_CLASSES = [
  "admonition",
  "alert",
  "admonitionHeading",
  COMPONENT_NOTE_CLASS,
  ...Object.keys(ADMONITIONS).map((k) => `admonition-${k}`),
  ...[...new Set(Object.values(ADMONITIONS))].map((c) => `alert--${c}`),
];

const text = (value: string): Node => ({ type: "text", value });
const titleCase = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function admonition(node: Node, kind: string): void {
  const children = node.children ?? [];
  const labelled = children[0]?.data?.directiveLabel === true;
  const label = labelled ? (children[0]!.children ?? []) : [text(titleCase(kind))];
  const heading: Node = { type: "paragraph", children: label, data: { hName: "div", hProperties: { className: ["admonitionHeading"] } } };
  node.children = [heading, ...(labelled ? children.slice(1) : children)];
  node.data = { hName: "div", hProperties: { className: ["admonition", `admonition-${kind}`, "alert", `alert--${ADMONITIONS[kind]}`] } };
}

/** The directive's source marker and its label, as text (what Docusaurus shows for a directive it does not handle). */
function asText(node: Node): Node[] {
  const marker = node.type === "textDirective" ? ":" : node.type === "leafDirective" ? "::" : ":::";
  const children = node.children ?? [];
  if (node.type === "containerDirective") return [{ type: "paragraph", children: [text(`${marker}${node.name}`)] }, ...children];
  return children.length > 0 ? [text(`${marker}${node.name}[`), ...children, text("]")] : [text(`${marker}${node.name}`)];
}

function componentNote(html: string): Node | null {
  const m = /^<([A-Z][A-Za-z0-9]*)\b/.exec(html.trim());
  if (!m) return null;
  return {
    type: "paragraph",
    children: [text(`${m[1]}: this part of your page is shown in the built book.`)],
    data: { hName: "div", hProperties: { className: [COMPONENT_NOTE_CLASS] } },
  };
}

function transform(parent: Node): void {
  const out: Node[] = [];
  for (const child of parent.children ?? []) {
    if (child.type === "containerDirective" && child.name && child.name in ADMONITIONS) {
      admonition(child, child.name);
      transform(child);
      out.push(child);
    } else if (child.type === "containerDirective" || child.type === "leafDirective" || child.type === "textDirective") {
      const replaced = asText(child);
      for (const r of replaced) transform(r);
      if (child.type === "leafDirective") out.push({ type: "paragraph", children: replaced });
      else out.push(...replaced);
    } else if (child.type === "html") {
      const note = componentNote(child.value ?? "");
      if (note) out.push(note); // other raw HTML is dropped by remark-rehype, as before
      else out.push(child);
    } else {
      transform(child);
      out.push(child);
    }
  }
  if (parent.children) parent.children = out;
}

/** The remark plugin (after remark-directive). */
export function remarkLiveDirectives() {
  return (tree: Node) => transform(tree);
}
