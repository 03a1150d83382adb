/**
 * Generates the sample book used by example-site/ and the build benchmark: parts, chapters, lessons with
 * front matter, summaries, intros (README.md), a preface, generated images (PNG + SVG), one MDX lesson that
 * uses the site's own MDX component, and a few overlays for one personalized user.
 *
 * Everything is deterministic: the same options always give the same bytes (so re-seeding is a no-op).
 */
import { posix } from "node:path";
import { barChartPng, bannerSvg, flowSvg, type Rgb } from "./images.js";

export interface BookFile {
  path: string;
  content: Buffer;
}

export interface Overlay extends BookFile {
  userId: string;
}

export interface SampleBook {
  bookId: string;
  title: string;
  files: BookFile[];
  overlays: Overlay[];
  /** Counts, for messages and tests. */
  stats: { parts: number; chapters: number; lessons: number; summaries: number; intros: number; assets: number; mdx: number };
}

interface ChapterSpec {
  slug: string;
  title: string;
  lessons: string[];
}

interface PartSpec {
  slug: string;
  title: string;
  chapters: ChapterSpec[];
}

export const SAMPLE_BOOK_ID = "ai-native-python";
export const SAMPLE_USER = "student-42";
/** Text that appears only in student-42's overlays (tests look for it). */
export const OVERLAY_MARKER = "Personalized for student-42";

const SAMPLE_PARTS: PartSpec[] = [
  {
    slug: "Foundations",
    title: "Foundations",
    chapters: [
      {
        slug: "getting-started",
        title: "Getting Started",
        lessons: ["Why Python for AI", "Installing Python", "Your First Program", "The Interactive Shell", "Editors and Notebooks", "Reading Error Messages", "Asking an AI for Help", "Chapter Quiz"],
      },
      {
        slug: "values-and-types",
        title: "Values and Types",
        lessons: ["Numbers", "Strings", "Booleans", "Variables and Names", "Type Conversion", "None and Optional Values", "Formatting Output", "Chapter Quiz"],
      },
      {
        slug: "control-flow",
        title: "Control Flow",
        lessons: ["If Statements", "Comparisons", "While Loops", "For Loops", "Break and Continue", "Pattern Matching", "Exceptions", "Chapter Quiz"],
      },
    ],
  },
  {
    slug: "Building-Programs",
    title: "Building Programs",
    chapters: [
      {
        slug: "functions",
        title: "Functions",
        lessons: ["Defining Functions", "Parameters and Arguments", "Return Values", "Scope", "Default Arguments", "Lambdas", "Docstrings and Type Hints", "Chapter Quiz"],
      },
      {
        slug: "data-structures",
        title: "Data Structures",
        lessons: ["Lists", "Tuples", "Dictionaries", "Sets", "Comprehensions", "Slicing", "Choosing a Structure", "Chapter Quiz"],
      },
      {
        slug: "modules-and-packages",
        title: "Modules and Packages",
        lessons: ["Importing Modules", "Writing a Module", "Virtual Environments", "Installing Packages", "Project Layout", "Testing with pytest", "Publishing a Package", "Chapter Quiz"],
      },
    ],
  },
  {
    slug: "Working-with-Agents",
    title: "Working with Agents",
    chapters: [
      {
        slug: "talking-to-models",
        title: "Talking to Models",
        lessons: ["What a Model Is", "Prompts and Messages", "Calling an API", "Streaming Responses", "Structured Output", "Handling Rate Limits", "Costs and Tokens", "Chapter Quiz"],
      },
      {
        slug: "building-an-agent",
        title: "Building an Agent",
        lessons: ["The Agent Loop", "Tools as Functions", "Memory", "Planning", "Interactive Agent Loop", "Guardrails", "Evaluating an Agent", "Chapter Quiz"],
      },
    ],
  },
];

const PALETTE: Rgb[] = [
  [59, 91, 219],
  [12, 166, 120],
  [240, 140, 0],
  [224, 49, 49],
  [132, 94, 247],
  [16, 152, 173],
  [214, 51, 108],
  [92, 148, 13],
];

const two = (n: number) => String(n).padStart(2, "0");

function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Small deterministic PRNG (mulberry32) so "random" numbers are the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(s: string): Buffer {
  return Buffer.from(s, "utf8");
}

/** The YAML value for a front matter string (always quoted: titles may contain ':'). */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

export interface GenerateOptions {
  /**
   * How a page links an asset of the book, e.g. `static/img/x.png`. The default is the URL the book's
   * `static/` folder is served at: `/img/x.png` (the book's static files are the site's static files).
   */
  assetLink?: (assetPath: string, fromPage: string) => string;
  /** Extra filler paragraphs per lesson (the benchmark uses it to make pages of a realistic size). */
  extraParagraphs?: number;
  /** Write a `.summary.md` next to each lesson except quizzes (default true). */
  summaries?: boolean;
  /** Number chapter folders through the book (default; at most 99 chapters) or from 01 in each part (books of 10,000+ pages). */
  chapterFolders?: "book" | "part";
}

export const defaultAssetLink = (assetPath: string): string => "/" + assetPath.replace(/^static\//, "");

interface LessonContext {
  part: PartSpec;
  partIndex: number;
  chapter: ChapterSpec;
  chapterNumber: number;
  lessonIndex: number;
  title: string;
  path: string;
  chartPath: string;
  flowPath: string;
  bannerPath: string;
  options: Required<GenerateOptions>;
}

const FILLER = [
  "Read the example once, then type it yourself instead of copying it: the small mistakes you make on the way are the lesson.",
  "Each idea here is used again in the next lessons, so a few minutes of practice now saves an hour of confusion later.",
  "When something does not work, print the values involved before changing the code; most bugs are a wrong assumption about a value.",
  "An AI assistant can explain an error message in plain words, but you still decide whether its fix is the right one.",
  "Keep your experiments in a scratch file so you can come back to them when a later chapter builds on this one.",
  "Short names are fine for short-lived values; names that live across a whole function deserve to say what they hold.",
];

function lessonBody(ctx: LessonContext, rand: () => number): string {
  const { title, chapter, options } = ctx;
  const lines: string[] = [];
  lines.push(`This lesson, *${title}*, is part of the chapter *${chapter.title}*.`);
  lines.push(FILLER[Math.floor(rand() * FILLER.length)]!);
  lines.push("");
  lines.push("## What you will learn");
  lines.push("");
  lines.push(`- What this lesson's idea means and when you need it`);
  lines.push(`- How to use it in a short program`);
  lines.push(`- The mistakes beginners make most often`);
  lines.push("");
  lines.push("## The idea");
  lines.push("");
  lines.push(
    `Think of it as one more tool in your kit. The code below shows the smallest program that uses it; ` +
      `change one thing at a time and run it again to see what happens.`,
  );
  lines.push("");
  lines.push("```python");
  const name = slugify(title).replace(/-/g, "_") || "example";
  lines.push(`def ${name}_demo(values):`);
  lines.push(`    """A small demonstration for the lesson "${title}"."""`);
  lines.push(`    total = 0`);
  lines.push(`    for value in values:`);
  lines.push(`        total += value * ${ctx.lessonIndex + 1}`);
  lines.push(`    return total`);
  lines.push("");
  lines.push(`print(${name}_demo([${[1, 2, 3].map((n) => n + ctx.chapterNumber).join(", ")}]))`);
  lines.push("```");
  lines.push("");
  if (ctx.lessonIndex % 3 === 0) {
    lines.push(`![How often learners get "${title}" right on the first try](${options.assetLink(ctx.chartPath, ctx.path)})`);
    lines.push("");
  }
  if (ctx.lessonIndex % 4 === 1) {
    lines.push(`![From problem to program](${options.assetLink(ctx.flowPath, ctx.path)})`);
    lines.push("");
  }
  lines.push(":::tip");
  lines.push("");
  lines.push(`Ask your AI assistant: "Show me three different examples for '${title}' and tell me when each one is best."`);
  lines.push("");
  lines.push(":::");
  lines.push("");
  lines.push("## Common mistakes");
  lines.push("");
  lines.push("| Mistake | What happens | Fix |");
  lines.push("| --- | --- | --- |");
  lines.push(`| Forgetting the colon | \`SyntaxError\` | End the line with \`:\` |`);
  lines.push(`| Wrong indentation | \`IndentationError\` | Use four spaces |`);
  lines.push(`| Mixing types | \`TypeError\` | Convert first |`);
  lines.push("");
  for (let i = 0; i < options.extraParagraphs; i++) {
    lines.push(`### Practice ${i + 1}`);
    lines.push("");
    lines.push(FILLER[(i + ctx.lessonIndex) % FILLER.length]! + " " + FILLER[(i * 7 + ctx.chapterNumber) % FILLER.length]!);
    lines.push("");
  }
  lines.push("## Key takeaways");
  lines.push("");
  lines.push(`- ${title} is easier to learn by running small programs than by reading about it.`);
  lines.push(`- Print values when in doubt.`);
  lines.push("");
  return lines.join("\n");
}

function quizBody(ctx: LessonContext): string {
  const lessons = ctx.chapter.lessons.slice(0, -1);
  const lines = [`Check what you learned in *${ctx.chapter.title}*. Answer before you open the solution.`, ""];
  lessons.forEach((lesson, i) => {
    lines.push(`${i + 1}. In one sentence, what is the point of "${lesson}"?`);
  });
  lines.push("", "<details>", "<summary>Solutions</summary>", "", "Compare your answers with the key takeaways of each lesson.", "", "</details>", "");
  return lines.join("\n");
}

/** The MDX lesson: uses the site's `<AgentLoop>` component (from example-site/src/theme/MDXComponents) without importing it. */
function mdxBody(ctx: LessonContext): string {
  return [
    `An agent repeats a simple loop: it looks at the situation, decides what to do, acts, and checks the result.`,
    `The component below is an interactive React component from the site itself; click a step to see what the`,
    `agent does in it.`,
    "",
    `<AgentLoop steps={["Observe", "Think", "Act", "Check"]} title="The agent loop" />`,
    "",
    "## In code",
    "",
    "```python",
    "while not done:",
    "    observation = observe()",
    "    action = decide(observation)",
    "    result = act(action)",
    "    done = check(result)",
    "```",
    "",
    `![The loop as a flow](${ctx.options.assetLink(ctx.flowPath, ctx.path)})`,
    "",
  ].join("\n");
}

function summaryBody(title: string, chapterTitle: string): string {
  return [`**${title}** (${chapterTitle}): the key idea in two lines.`, `Run the example, change one thing, run it again.`, ""].join("\n");
}

function generate(parts: PartSpec[], bookId: string, bookTitle: string, opts: GenerateOptions = {}): SampleBook {
  const options: Required<GenerateOptions> = {
    assetLink: opts.assetLink ?? defaultAssetLink,
    extraParagraphs: opts.extraParagraphs ?? 0,
    summaries: opts.summaries ?? true,
    chapterFolders: opts.chapterFolders ?? "book",
  };
  const files: BookFile[] = [];
  const stats = { parts: parts.length, chapters: 0, lessons: 0, summaries: 0, intros: 0, assets: 0, mdx: 0 };
  const rand = rng(42);
  const coverPath = "static/img/cover.svg";
  files.push({ path: coverPath, content: bannerSvg(bookTitle, "A sample book served by PanaversityFS", 220) });
  stats.assets++;
  files.push({
    path: "content/preface.md",
    content: text(
      [
        "---",
        `title: ${yamlString("Preface")}`,
        "sidebar_position: 0",
        "---",
        "",
        `![${bookTitle}](${options.assetLink(coverPath, "content/preface.md")})`,
        "",
        `Welcome to *${bookTitle}*. This book is a generated sample: every page comes from a PanaversityFS store`,
        `(an embedded PostgreSQL journal plus a folder of content-addressed objects), not from files in the site.`,
        "",
        `It has ${parts.length} parts. Start with the first lesson, or use the sidebar to jump around.`,
        "",
      ].join("\n"),
    ),
  });
  let chapterNumber = 0;
  parts.forEach((part, p) => {
    const partDir = `content/${two(p + 1)}-${part.slug}`;
    files.push({
      path: `${partDir}/README.md`,
      content: text(
        [
          "---",
          `title: ${yamlString(`Part ${p + 1}: ${part.title}`)}`,
          "---",
          "",
          `This part has ${part.chapters.length} chapters:`,
          "",
          ...part.chapters.map((c) => `- ${c.title}`),
          "",
        ].join("\n"),
      ),
    });
    stats.intros++;
    part.chapters.forEach((chapter, c) => {
      chapterNumber++;
      stats.chapters++;
      const folder = two(options.chapterFolders === "part" ? c + 1 : chapterNumber);
      const chapterDir = `${partDir}/${folder}-${chapter.slug}`;
      const imgDir = `static/img/${folder}-${chapter.slug}`;
      const bannerPath = `${imgDir}/banner.svg`;
      const chartPath = `${imgDir}/progress.png`;
      const flowPath = `${imgDir}/flow.svg`;
      const hue = (chapterNumber * 47) % 360;
      const values = Array.from({ length: 6 }, () => 0.2 + rand() * 0.75);
      files.push({ path: bannerPath, content: bannerSvg(`Chapter ${chapterNumber}`, chapter.title, hue) });
      files.push({ path: chartPath, content: barChartPng(values, PALETTE[chapterNumber % PALETTE.length]!) });
      files.push({ path: flowPath, content: flowSvg(["Problem", "Plan", "Code", "Test"]) });
      stats.assets += 3;
      files.push({
        path: `${chapterDir}/README.md`,
        content: text(
          [
            "---",
            `title: ${yamlString(`Chapter ${chapterNumber}: ${chapter.title}`)}`,
            "---",
            "",
            // Intros link their banner relative to the page inside the book, as an author's editor would.
            `![Chapter ${chapterNumber}](${posix.relative(chapterDir, bannerPath)})`,
            "",
            `This chapter has ${chapter.lessons.length} lessons. Work through them in order; the last one is a quiz.`,
            "",
          ].join("\n"),
        ),
      });
      stats.intros++;
      chapter.lessons.forEach((title, l) => {
        const isQuiz = /quiz/i.test(title);
        const isMdx = title === "Interactive Agent Loop";
        const stem = `${two(l + 1)}-${slugify(title)}`;
        const path = `${chapterDir}/${stem}.${isMdx ? "mdx" : "md"}`;
        const ctx: LessonContext = { part, partIndex: p, chapter, chapterNumber, lessonIndex: l, title, path, chartPath, flowPath, bannerPath, options };
        const front = ["---"];
        // Some pages set their title in front matter, the others use their first heading.
        const titleInFront = l % 2 === 0 || isMdx || isQuiz;
        if (titleInFront) front.push(`title: ${yamlString(isQuiz ? `${chapter.title}: Quiz` : title)}`);
        if (l % 3 === 1) front.push(`sidebar_position: ${l + 1}`);
        if (isQuiz) front.push(`sidebar_label: ${yamlString("Quiz")}`);
        front.push(`description: ${yamlString(`${title} — lesson ${l + 1} of ${chapter.title}.`)}`);
        front.push("---", "");
        const heading = titleInFront ? [] : [`# ${title}`, ""];
        const body = isMdx ? mdxBody(ctx) : isQuiz ? quizBody(ctx) : lessonBody(ctx, rand);
        files.push({ path, content: text([...front, ...heading, body].join("\n")) });
        stats.lessons++;
        if (isMdx) stats.mdx++;
        if (!isQuiz && options.summaries) {
          files.push({ path: `${chapterDir}/${stem}.summary.md`, content: text(summaryBody(title, chapter.title)) });
          stats.summaries++;
        }
      });
    });
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { bookId, title: bookTitle, files, overlays: [], stats };
}

/** The example site's book: 3 parts, 8 chapters, 64 lessons, plus student-42's overlays. */
export function generateSampleBook(opts: GenerateOptions = {}): SampleBook {
  const book = generate(SAMPLE_PARTS, SAMPLE_BOOK_ID, "AI-Native Python", opts);
  book.overlays = sampleOverlays(book);
  return book;
}

/** student-42 reads a few lessons rewritten for them (and one summary). */
function sampleOverlays(book: SampleBook): Overlay[] {
  const pick = (suffix: string) => {
    const file = book.files.find((f) => f.path.endsWith(suffix));
    if (!file) throw new Error(`sample book has no file ending in ${suffix}`);
    return file;
  };
  const personalize = (suffix: string, note: string): Overlay => {
    const file = pick(suffix);
    const source = file.content.toString("utf8");
    // Insert the note right after the front matter.
    const end = source.indexOf("\n---\n", 4) + 5;
    const content = `${source.slice(0, end)}\n:::note ${OVERLAY_MARKER}\n\n${note}\n\n:::\n${source.slice(end)}`;
    return { userId: SAMPLE_USER, path: file.path, content: text(content) };
  };
  return [
    personalize("/01-why-python-for-ai.md", "You told us you already know JavaScript: every Python example in this chapter has a JavaScript twin in the margin notes."),
    personalize("/04-variables-and-names.md", "Since you work with data, the examples below use column names from a CSV file instead of toy names."),
    personalize("/01-defining-functions.md", "You asked for more practice: there are two extra exercises at the end of this page."),
    {
      userId: SAMPLE_USER,
      path: pick("/01-defining-functions.summary.md").path,
      content: text(`**Defining Functions**, ${OVERLAY_MARKER.toLowerCase()}: write a function for every step you repeat twice.\n`),
    },
  ];
}

export interface SyntheticOptions extends GenerateOptions {
  parts: number;
  chaptersPerPart: number;
  lessonsPerChapter: number;
  bookId?: string;
}

/** A large book with the same shapes, for the benchmark (e.g. 5 × 10 × 20 = 1,000 lessons). */
export function generateSyntheticBook(opts: SyntheticOptions): SampleBook {
  const parts: PartSpec[] = Array.from({ length: opts.parts }, (_, p) => ({
    slug: `Part-${p + 1}`,
    title: `Part ${p + 1}`,
    chapters: Array.from({ length: opts.chaptersPerPart }, (_, c) => ({
      slug: `chapter-${p * opts.chaptersPerPart + c + 1}`,
      title: `Chapter ${p * opts.chaptersPerPart + c + 1}`,
      lessons: Array.from({ length: opts.lessonsPerChapter }, (_, l) => `Topic ${p + 1}.${c + 1}.${l + 1}`),
    })),
  }));
  return generate(parts, opts.bookId ?? "bench-book", "Benchmark Book", opts);
}
