/** `pfs serve` reader flags (OpenID Connect sign-in and CORS) and their environment equivalents. */
import { PfsError } from "../../errors/index.js";
import { checkOrigins } from "../../server/cors.js";
import { createReaderVerifier, type ReaderVerifier } from "../../server/oidc.js";

export interface ReaderFlags {
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcUserClaim?: string;
  corsOrigin?: string[];
}

/** Flags win over PFS_OIDC_ISSUER, PFS_OIDC_AUDIENCE, PFS_OIDC_USER_CLAIM, PFS_CORS_ORIGINS. */
export function readerOptions(flags: ReaderFlags, env: NodeJS.ProcessEnv): { readers?: ReaderVerifier; corsOrigins: string[] } {
  const issuer = flags.oidcIssuer ?? env.PFS_OIDC_ISSUER;
  const audience = flags.oidcAudience ?? env.PFS_OIDC_AUDIENCE;
  const userClaim = flags.oidcUserClaim ?? env.PFS_OIDC_USER_CLAIM;
  const origins = flags.corsOrigin ?? (env.PFS_CORS_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const corsOrigins = checkOrigins(origins);
  if (!issuer) {
    if (audience || corsOrigins.length > 0) throw new PfsError("INVALID_ARGUMENT", "--oidc-audience and --cors-origin need --oidc-issuer (reader sign-in).");
    return { corsOrigins };
  }
  return { readers: createReaderVerifier({ issuer, audience: audience ?? "", userClaim }), corsOrigins };
}
