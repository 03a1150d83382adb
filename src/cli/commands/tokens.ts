import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { PfsError } from "../../errors/index.js";
import { hashToken, newToken, parseTokens, parseTokensFile, type TokenEntry } from "../../server/auth.js";
import { parseScope } from "../../server/scopes.js";
import { action, printJson } from "../context.js";

/** Tokens from a tokens file (--tokens-file or $PFS_SERVER_TOKENS_FILE) plus $PFS_SERVER_TOKENS (full access). */
export async function loadTokenTable(tokensFile: string | undefined, warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<TokenEntry[]> {
  const file = tokensFile ?? process.env.PFS_SERVER_TOKENS_FILE;
  let scoped: TokenEntry[] = [];
  if (file) {
    const mode = await stat(file).then((s) => s.mode, () => null);
    const loose = looseModeWarning(file, mode);
    if (loose) warn(loose);
    const text = await readFile(file, "utf8").catch(() => {
      throw new PfsError("INVALID_ARGUMENT", `Cannot read the tokens file ${file}.`);
    });
    scoped = parseTokensFile(text, `tokens file ${file}`);
  }
  return [...scoped, ...parseTokens(process.env.PFS_SERVER_TOKENS)];
}

/** A warning when a tokens file may be read or changed by other users (group/world bits set). Pure. */
export function looseModeWarning(file: string, mode: number | null): string | null {
  if (mode === null || (mode & 0o077) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(3, "0");
  return `warning: the tokens file ${file} has mode ${octal}: others may read or change who may act; run chmod 600 ${file}.`;
}

interface NewTokenFlags {
  agent: string;
  books?: string;
  users?: string;
  writeBase: boolean;
  audit: boolean;
  admin: boolean;
  readOnly: boolean;
}

/** The tokens-file entry for `pfs token new` flags (without its hash), or a clear refusal. Pure. */
export function newTokenEntry(o: NewTokenFlags): Record<string, unknown> {
  if (o.books === undefined) {
    throw new PfsError("INVALID_ARGUMENT", "Give --books: the books this token may touch (a comma-separated list, or * for every book). Tokens get no books by default.");
  }
  if (o.readOnly && (o.users !== undefined || o.writeBase || o.audit || o.admin)) {
    throw new PfsError("INVALID_ARGUMENT", "--read-only cannot be combined with --users, --write-base, --audit or --admin.");
  }
  const entry = { agent: o.agent, books: list(o.books) ?? [], users: list(o.users) ?? [], writeBase: o.writeBase, audit: o.audit, admin: o.admin };
  parseScope(entry, "the new entry"); // validate ids before printing
  return entry;
}

function list(value: string | undefined): "*" | string[] | undefined {
  if (value === undefined) return undefined;
  return value === "*" ? "*" : value.split(",").map((s) => s.trim()).filter(Boolean);
}

export function registerTokenCommand(program: Command): void {
  const token = program.command("token").description("tokens for pfs serve / pfs mcp (only their SHA-256 goes in the tokens file)");
  token
    .command("new")
    .description("print a fresh random token and the tokens-file entry holding its hash")
    .requiredOption("--agent <id>", "the agent the token acts as")
    .option("--books <ids>", "books it may touch: * or a comma-separated list (required)")
    .option("--users <ids>", "users whose overlays it may read/write: * or a list (default none)")
    .option("--write-base", "may change the shared base book", false)
    .option("--audit", "may read the audit log", false)
    .option("--admin", "may run admin operations (verify, /metrics)", false)
    .option("--read-only", "may only read, list, snapshot, plan and archive the named books' base (no users, no writes, no audit, no admin)", false)
    .action(
      action(async (o: NewTokenFlags) => {
        const { agent, ...rest } = newTokenEntry(o);
        const secret = newToken();
        printJson({ token: secret, entry: { agent, sha256: hashToken(secret), ...rest } });
      }),
    );
  token
    .command("hash")
    .description("print the SHA-256 of a token read from $PFS_TOKEN (to move an existing token into a tokens file)")
    .action(
      action(async () => {
        const t = process.env.PFS_TOKEN;
        if (!t) throw new PfsError("INVALID_ARGUMENT", "Set PFS_TOKEN to the token to hash.");
        printJson({ sha256: hashToken(t) });
      }),
    );
}
