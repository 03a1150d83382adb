/**
 * A real OpenID Connect issuer's public side on 127.0.0.1, for tests: the discovery document
 * (`/.well-known/openid-configuration`) and the JWKS, over real HTTP, with an RS256 key the test makes with
 * jose. `mint` signs ID tokens as that issuer would; `forge` signs with a key the JWKS does not hold (same
 * kid), as an attacker would. (We serve discovery + JWKS ourselves rather than run oidc-provider: minting a
 * token for a given `sub` through its interaction flow takes a browser login per user.)
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from "jose";

export interface TestIssuer {
  issuer: string;
  /** JWKS requests served so far (the server should cache the key set). */
  jwksRequests(): number;
  mint(sub: string, opts?: { audience?: string; expiresIn?: string | number; issuer?: string; claims?: JWTPayload }): Promise<string>;
  forge(sub: string, audience: string): Promise<string>;
  close(): Promise<void>;
}

const KID = "test-key-1";

export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const attacker = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  let jwksCount = 0;
  let issuer = "";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ["RS256"] }));
    }
    if (path === "/jwks") {
      jwksCount++;
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ keys: [jwk] }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (key: Parameters<SignJWT["sign"]>[0], sub: string, audience: string, iss: string, expiresIn: string | number, claims: JWTPayload = {}) =>
    new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "RS256", kid: KID })
      .setSubject(sub)
      .setIssuer(iss)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);
  return {
    issuer,
    jwksRequests: () => jwksCount,
    mint: (sub, o = {}) => sign(privateKey, sub, o.audience ?? "book-site", o.issuer ?? issuer, o.expiresIn ?? "10m", o.claims),
    forge: (sub, audience) => sign(attacker.privateKey, sub, audience, issuer, "10m"),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
