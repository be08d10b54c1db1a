import fastifyCookie from '@fastify/cookie';
import { TOKEN_COOKIE, normalizeFilename } from '@cloudstore/shared';
import { createSigner, createVerifier } from 'fast-jwt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { FileRecord } from '../repositories/files.js';
import type { SessionUser } from '../repositories/sessions.js';
import type { AccountService, TokenSigner } from '../services/accounts.js';

const ISSUER = 'cloudstore';
const AUDIENCE = 'cloudstore';
/** Verified tokens remembered (each token and its claims, well under a kilobyte). */
const VERIFIED_TOKENS_KEPT = 1000;

interface TokenClaims {
  jti?: unknown;
  exp: number;
}

/**
 * A token that passed every check is remembered and not verified again (the same bytes under the
 * same key) until it expires; the session row is read on every request all the same, so a logout
 * still ends it at once. Keyed by the token itself: fast-jwt's own cache keys by the token's
 * SHA-256, which cost a small download as much as the signature check it saves.
 */
class VerifiedTokens {
  private readonly claims = new Map<string, TokenClaims>();

  constructor(private readonly verify: (token: string) => TokenClaims) {}

  /** The token's claims; throws as `verify` does for a token that is not (or no longer) valid. */
  claimsOf(token: string): TokenClaims {
    const kept = this.claims.get(token);
    if (kept && kept.exp * 1000 > Date.now()) return kept;
    this.claims.delete(token);
    const claims = this.verify(token);
    if (this.claims.size >= VERIFIED_TOKENS_KEPT) this.claims.delete(this.claims.keys().next().value!);
    this.claims.set(token, claims);
    return claims;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook of every route that needs a logged-in user: 401 comes before validation,
     * so nothing about a route's rules is answered to someone who is not logged in.
     */
    authenticate(request: FastifyRequest): Promise<void>;
    /**
     * `authenticate` for a download: the caller's own file named by `?filename=` is read in the
     * same query as the session, into `request.ownFile`.
     */
    authenticateWithOwnFile(request: FastifyRequest): Promise<void>;
    tokenSigner: TokenSigner;
  }
  interface FastifyRequest {
    session: SessionUser;
    /** Set by `authenticateWithOwnFile` (null: the caller has no file of that name); undefined when not read. */
    ownFile: FileRecord | null | undefined;
  }
}

interface AuthOptions {
  config: Config;
  /** JWT_SECRET, or the key the instances share (services/signing-key.ts). */
  signingKey: string;
  accounts: AccountService;
}

/**
 * Tokens are HS256 JWTs (algorithm pinned, iss/aud/exp checked) taken from `Authorization: Bearer`
 * or else the `token` cookie, and honoured only while their session row exists. fast-jwt signs and
 * verifies them, called directly: through @fastify/jwt every request decoded its token twice and
 * went through a callback waterfall, a tenth of a small download's time.
 */
export const authPlugin = fp(async (app: FastifyInstance, { config, signingKey, accounts }: AuthOptions) => {
  await app.register(fastifyCookie);
  const sign = createSigner({ key: signingKey, algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: config.tokenTtlSeconds * 1000 });
  const verify = createVerifier({
    key: signingKey,
    algorithms: ['HS256'],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    requiredClaims: ['exp', 'iss', 'aud'],
  });
  const verified = new VerifiedTokens((token) => verify(token) as TokenClaims);

  app.decorate('tokenSigner', { sign: (payload: { sub: string; jti: string; name: string }) => sign(payload) });
  app.decorateRequest('session', null as unknown as SessionUser);
  app.decorateRequest('ownFile', undefined);

  /** The verified token's id; 401 without a valid token. */
  const tokenIdOf = (request: FastifyRequest): string => {
    let payload: { jti?: unknown };
    try {
      payload = verified.claimsOf(tokenOf(request) ?? '');
    } catch {
      throw new AppError('UNAUTHENTICATED', 'log in first: no valid token in the cookie or Authorization header');
    }
    if (typeof payload.jti !== 'string') throw sessionEnded();
    return payload.jti;
  };
  const admit = (request: FastifyRequest, session: SessionUser | undefined) => {
    if (!session) throw sessionEnded();
    if (isCookieAuthenticated(request) && isCrossSiteWrite(request)) {
      throw new AppError('CROSS_SITE_REQUEST', 'a page of another origin may not act with your login cookie');
    }
    request.session = { ...session, address: request.ip };
  };

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const tokenId = tokenIdOf(request);
    admit(request, (await accounts.session(tokenId)) ?? undefined);
  });
  app.decorate('authenticateWithOwnFile', async (request: FastifyRequest) => {
    const tokenId = tokenIdOf(request);
    // Not validated yet: a name that is not one is left to the route (400, once logged in).
    const { filename } = request.query as { filename?: unknown };
    const name = typeof filename === 'string' ? normalizeFilename(filename) : null;
    if (!name?.ok) return admit(request, (await accounts.session(tokenId)) ?? undefined);
    const found = await accounts.sessionWithOwnFile(tokenId, name.name);
    admit(request, found?.session);
    request.ownFile = found?.ownFile;
  });
});

function sessionEnded(): AppError {
  return new AppError('UNAUTHENTICATED', 'the session has ended: log in again');
}

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];
const BEARER = /^Bearer\s/i;

/**
 * The bearer token, or else the cookie's. An Authorization header that says Bearer but is not
 * `Bearer <token>` yields nothing: it does not fall back to the cookie.
 */
function tokenOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && BEARER.test(authorization)) {
    const parts = authorization.split(' ');
    return parts.length === 2 ? parts[1] : undefined;
  }
  return request.cookies[TOKEN_COOKIE];
}

/** A bearer token comes first, the cookie only without one. */
function isCookieAuthenticated(request: FastifyRequest): boolean {
  return !BEARER.test(request.headers.authorization ?? '');
}

/**
 * SameSite=Strict does not stop a page on another port or a sibling subdomain (same site, other
 * origin), and a multipart upload needs no CORS preflight: a browser's write is refused when its
 * `Origin` is not this server's own (`request.host` is X-Forwarded-Host behind a trusted proxy),
 * or when the browser itself says it comes from elsewhere. Requests without these headers are
 * not a browser's, and are unaffected.
 */
function isCrossSiteWrite(request: FastifyRequest): boolean {
  if (SAFE_METHODS.includes(request.method)) return false;
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    const { protocol, host } = new URL(origin);
    // Read with the origin's scheme, so that a default port written or left out compares equal.
    return new URL(`${protocol}//${request.host}`).host !== host;
  } catch {
    // `Origin: null` (a sandboxed or privacy-sensitive context) or garbage: not this server.
    return true;
  }
}

export function setTokenCookie(reply: FastifyReply, token: string, config: Config): void {
  reply.setCookie(TOKEN_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: config.cookieSecure,
    maxAge: config.tokenTtlSeconds,
  });
}

export function clearTokenCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(TOKEN_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: config.cookieSecure });
}
