/**
 * Reader sign-in (DESIGN 4.9, 4.10): a reader presents the ID token (or access token) their site's OpenID
 * Connect provider issued. We verify it with jose — signature by the issuer's JWKS (found through
 * `/.well-known/openid-configuration`), `iss`, `aud`, `exp` — and map one claim (`sub` by default) to a
 * user id. A reader may read that user's overlays and nothing else; agent tokens never pass here and
 * reader tokens never pass the agent routes (they are not in the tokens file).
 */
import { createHash } from "node:crypto";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { PfsError } from "../errors/index.js";
import { USER_ID_PATTERN } from "../paths/index.js";

export interface OidcOptions {
  /** The issuer URL exactly as it appears in the tokens' `iss` claim. */
  issuer: string;
  /** The audience (client id) the tokens must carry in `aud`. */
  audience: string;
  /** The claim that names the user (default `sub`). */
  userClaim?: string;
  /** Allowed clock skew in seconds for `exp`/`nbf`/`iat` (default 5). */
  clockToleranceSec?: number;
  /** Time budget for the discovery document and JWKS requests (default 5 s). */
  timeoutMs?: number;
  /** Verified tokens remembered (default 10,000), so a signature is checked once per token, not per request. */
  cacheSize?: number;
}

/** A verified reader: the user whose overlays the token may read. */
export interface Reader {
  userId: string;
}

export interface ReaderVerifier {
  verify(authorization: string | undefined): Promise<Reader>;
}

/** Asymmetric algorithms only: an HMAC or `none` token can never be verified against a public JWKS. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

function unauthorized(message: string): PfsError {
  return new PfsError("UNAUTHORIZED", message);
}

/** Pure: the checked OIDC settings (bad flags are refused at start-up, not at the first reader). */
export function checkOidcOptions(o: OidcOptions): Required<OidcOptions> {
  let url: URL;
  try {
    url = new URL(o.issuer);
  } catch {
    throw new PfsError("INVALID_ARGUMENT", `--oidc-issuer must be a URL; got ${JSON.stringify(o.issuer)}.`);
  }
  const local = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw new PfsError("INVALID_ARGUMENT", "--oidc-issuer must be https:// (http:// only on localhost, for tests).");
  }
  if (!o.audience) throw new PfsError("INVALID_ARGUMENT", "--oidc-audience is required with --oidc-issuer (the site's client id).");
  const userClaim = o.userClaim ?? "sub";
  if (!/^[A-Za-z0-9_:.-]{1,64}$/.test(userClaim)) throw new PfsError("INVALID_ARGUMENT", `--oidc-user-claim ${JSON.stringify(userClaim)} is not a claim name.`);
  return { issuer: o.issuer, audience: o.audience, userClaim, clockToleranceSec: o.clockToleranceSec ?? 5, timeoutMs: o.timeoutMs ?? 5_000, cacheSize: o.cacheSize ?? 10_000 };
}

/** Pure: the user id a verified payload names, or FORBIDDEN when the claim is missing or not a user id. */
export function userIdFromClaims(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (typeof value !== "string" || !USER_ID_PATTERN.test(value)) {
    throw new PfsError("FORBIDDEN", `The sign-in token's "${claim}" claim is not a user id of this store (1-64 letters, digits, "_" and "-").`, { scope: "users" });
  }
  return value;
}

/** Pure: why jose refused a token, in words a site developer can act on (nothing secret in it). */
export function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "The sign-in token has expired.";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `The sign-in token's "${err.claim}" claim is not accepted here (${err.reason}).`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "The sign-in token's signature does not verify.";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "The sign-in token was not signed by a key of the configured issuer.";
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "The sign-in token's algorithm is not accepted.";
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return "The identity provider's keys could not be fetched; try again.";
  if (err instanceof joseErrors.JOSEError) return "The sign-in token is not a valid signed JWT.";
  return "The sign-in token could not be verified.";
}

/**
 * Tokens that verified, by the SHA-256 of their exact bytes, until their own `exp` (no clock tolerance):
 * any other string — a forged signature, a changed claim — is a different key and is verified in full.
 * Least recently used out first when full. Only successes are kept.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { userId: string; expSec: number }>();

  constructor(readonly maxEntries = 10_000) {}

  static keyOf(token: string): string {
    return createHash("sha256").update(token).digest("base64url");
  }

  get size(): number {
    return this.entries.size;
  }

  get(token: string, nowSec: number): string | undefined {
    const key = VerifiedTokens.keyOf(token);
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.expSec <= nowSec) return undefined;
    this.entries.set(key, hit);
    return hit.userId;
  }

  set(token: string, userId: string, expSec: number): void {
    if (this.maxEntries <= 0) return;
    const key = VerifiedTokens.keyOf(token);
    this.entries.delete(key);
    this.entries.set(key, { userId, expSec });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const where = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const res = await fetch(where, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (doc.issuer !== issuer) throw new Error("the discovery document names another issuer");
  if (typeof doc.jwks_uri !== "string") throw new Error("the discovery document has no jwks_uri");
  return new URL(doc.jwks_uri);
}

/**
 * Verifies readers' bearer tokens. Discovery runs on the first reader request and is retried on the next
 * one if it failed (the provider may start after the server); the JWKS is cached and refreshed by jose.
 * A token that verified is remembered until it expires (VerifiedTokens): the signature check runs once.
 */
export function createReaderVerifier(options: OidcOptions): ReaderVerifier {
  const o = checkOidcOptions(options);
  const verified = new VerifiedTokens(o.cacheSize);
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = (): Promise<JWTVerifyGetKey> => {
    keys ??= discoverJwksUri(o.issuer, o.timeoutMs).then((uri) => createRemoteJWKSet(uri, { timeoutDuration: o.timeoutMs }));
    keys.catch(() => (keys = undefined));
    return keys;
  };
  return {
    async verify(authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
      if (!m) throw unauthorized("Sign in: send Authorization: Bearer <the ID token from the site's sign-in>.");
      const known = verified.get(m[1]!, Date.now() / 1000);
      if (known !== undefined) return { userId: known };
      const getKey = await keySet().catch(() => {
        throw unauthorized("The identity provider could not be reached to verify the sign-in token; try again.");
      });
      try {
        const { payload } = await jwtVerify(m[1]!, getKey, {
          issuer: o.issuer,
          audience: o.audience,
          algorithms: ALGORITHMS,
          clockTolerance: o.clockToleranceSec,
          requiredClaims: ["exp"],
        });
        const userId = userIdFromClaims(payload, o.userClaim);
        verified.set(m[1]!, userId, payload.exp!);
        return { userId };
      } catch (err) {
        if (err instanceof PfsError) throw err;
        throw unauthorized(reasonOf(err));
      }
    },
  };
}
