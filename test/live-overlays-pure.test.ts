/** Live overlays, the pure parts of the plugin and its client module (DESIGN 4.10). */
import { runInNewContext } from "node:vm";
import { normalizePluginOptions } from "@docusaurus/utils-validation";
import { describe, expect, it } from "vitest";
import { validateOptions } from "../src/docusaurus/options.js";
import { liveConfig, liveHeadTags, liveRoutes } from "../src/docusaurus/live.js";
import { LIVE_KEY, listStorageKey, liveConfigOf, normalizeRoute, overlayPathFor, pageUrl, pendingHeadScript, routesOf, sharedTocDisplay, tokenTag } from "../src/docusaurus/client/live-state.js";

const validate = (options: unknown) => validateOptions({ validate: normalizePluginOptions as never, options: options as never });
const LIVE = { serverUrl: "https://pfs.example.com" };

describe("overlays option", () => {
  it('defaults to "build" and takes "live" with a server URL', () => {
    expect(validate({ bookId: "my-book" }).overlays).toBe("build");
    const live = validate({ bookId: "my-book", overlays: "live", live: LIVE });
    expect(live.live).toEqual({ serverUrl: LIVE.serverUrl, pendingTimeoutMs: 1500 });
  });

  it("refuses live mode without a server, with per-user pages, or live settings in build mode", () => {
    expect(() => validate({ bookId: "my-book", overlays: "live" })).toThrow(/live/);
    expect(() => validate({ bookId: "my-book", overlays: "live", live: { serverUrl: "javascript:alert(1)" } })).toThrow(/serverUrl/);
    expect(() => validate({ bookId: "my-book", overlays: "live", live: LIVE, overlayUsers: ["ada"] })).toThrow(/no per-user pages/);
    expect(() => validate({ bookId: "my-book", overlays: "live", live: LIVE, previewUser: "ada" })).toThrow(/no per-user pages/);
    expect(() => validate({ bookId: "my-book", live: LIVE })).toThrow(/only for overlays: "live"/);
    expect(() => validate({ bookId: "my-book", overlays: "sometimes" })).toThrow(/overlays/);
  });
});

describe("live mode build side", () => {
  const versions = [
    {
      contentPath: "/site/.cache/docs",
      docs: [
        { source: "@site/.cache/docs/01-Basics/01-Start/01-hello.md", permalink: "/docs/Basics/Start/hello" },
        { source: "@site/.cache/docs/01-Basics/README.md", permalink: "/docs/Basics/" },
        { source: "@site/.cache/docs/u/ada/01-Basics/01-Start/01-hello.md", permalink: "/docs/u/ada/Basics/Start/hello" },
      ],
    },
  ];

  it("maps every base page's route to its book path, and nothing of any user", () => {
    expect(liveRoutes(versions, "/site")).toEqual({ "/docs/Basics/Start/hello": "content/01-Basics/01-Start/01-hello.md", "/docs/Basics": "content/01-Basics/README.md" });
  });

  it("puts live settings in global data and the head script only in live mode", () => {
    const build = validate({ bookId: "my-book" });
    expect(liveConfig(build, {})).toBeUndefined();
    expect(liveHeadTags(build)).toEqual([]);
    const live = validate({ bookId: "my-book", overlays: "live", live: LIVE });
    const cfg = liveConfig(live, { "/docs/a": "content/a.md" })!;
    expect(cfg).toEqual({ serverUrl: LIVE.serverUrl, bookId: "my-book", routes: { "/docs/a": "content/a.md" }, pendingTimeoutMs: 1500 });
    expect(liveConfigOf({ "docusaurus-plugin-content-docs": { default: { [LIVE_KEY]: cfg } } })).toEqual(cfg);
    expect(liveHeadTags(live)).toHaveLength(1);
  });
});

describe("live mode browser decisions", () => {
  const routes = { "/docs/a": "content/01-a.md", "/docs/b": "content/02-b.md", "/docs/c": "content/03-c.md" };
  const list = { tag: "t", etag: null, paths: ["content/02-b.md", "content/99-gone.md"], routes: ["/docs/b"] };

  it("finds the overlay of the page shown, whatever its trailing slash, and only pages in the list", () => {
    expect(overlayPathFor("/docs/b/", list, routes)).toBe("content/02-b.md");
    expect(overlayPathFor("/docs/a", list, routes)).toBeUndefined();
    expect(overlayPathFor("/docs/b", null, routes)).toBeUndefined();
    expect(routesOf(list.paths, routes)).toEqual(["/docs/b"]);
    expect(normalizeRoute("/")).toBe("/");
    expect(pageUrl({ serverUrl: "https://p.example/", bookId: "bk" }, "content/a b/#c.md")).toBe("https://p.example/v1/reader/books/bk/overlays/content/a%20b/%23c.md");
    expect(tokenTag("a")).not.toBe(tokenTag("b"));
    expect([sharedTocDisplay(true), sharedTocDisplay(false)]).toEqual(["none", ""]);
  });

  it("the head script hides the shared text exactly on pages the cached list names", () => {
    const run = (pathname: string, stored: unknown) => {
      const added: { id: string; textContent: string }[] = [];
      const el = { id: "", textContent: "", remove() {} };
      runInNewContext(pendingHeadScript("bk", 1000), {
        sessionStorage: { getItem: (k: string) => (k === listStorageKey("bk") ? JSON.stringify(stored) : null) },
        location: { pathname },
        document: { createElement: () => el, head: { appendChild: (e: typeof el) => added.push(e) } },
        setTimeout: () => 0,
      });
      return added.length;
    };
    expect(run("/docs/b/", list)).toBe(1);
    // The shared table of contents is hidden with the shared text (it lists the shared page's headings).
    const css = /textContent=("[^"]*")/.exec(pendingHeadScript("bk", 1000))![1]!;
    for (const hidden of ["article .theme-doc-markdown", ".theme-doc-toc-desktop", ".theme-doc-toc-mobile"]) expect(JSON.parse(css)).toContain(hidden);
    expect(run("/docs/a", list)).toBe(0);
    expect(run("/docs/b", null)).toBe(0);
  });
});
