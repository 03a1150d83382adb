import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { PfsError } from "../../errors/index.js";
import { hashToken, newToken, parseTokens, parseTokensFile, type TokenEntry } from "../../server/auth.js";
import { parseScope } from "../../server/scopes.js";
import { action, printJson } from "../context.js";

/** Tokens from a tokens file (--tokens-file or $PFS_SERVER_TOKENS_FILE) plus $PFS_SERVER_TOKENS (full access). */
export async function loadTokenTable(tokensFile: string | undefined): Promise<TokenEntry[]> {
  const file = tokensFile ?? process.env.PFS_SERVER_TOKENS_FILE;
  let scoped: TokenEntry[] = [];
  if (file) {
    const text = await readFile(file, "utf8").catch(() => {
      throw new PfsError("INVALID_ARGUMENT", `Cannot read the tokens file ${file}.`);
    });
    scoped = parseTokensFile(text, `tokens file ${file}`);
  }
  return [...scoped, ...parseTokens(process.env.PFS_SERVER_TOKENS)];
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
    .option("--books <ids>", "books it may touch: * or a comma-separated list", "*")
    .option("--users <ids>", "users whose overlays it may read/write: * or a list (default none)")
    .option("--write-base", "may change the shared base book", false)
    .option("--audit", "may read the audit log", false)
    .option("--admin", "may run admin operations (verify)", false)
    .action(
      action(async (o: { agent: string; books: string; users?: string; writeBase: boolean; audit: boolean; admin: boolean }) => {
        const secret = newToken();
        const entry = { agent: o.agent, sha256: hashToken(secret), books: list(o.books), users: list(o.users) ?? [], writeBase: o.writeBase, audit: o.audit, admin: o.admin };
        parseScope(entry, "the new entry"); // validate ids before printing
        printJson({ token: secret, entry });
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
