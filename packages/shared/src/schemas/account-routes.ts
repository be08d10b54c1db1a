import { Type } from '@sinclair/typebox';
import { Credentials, LoginReply, MeReply, RegisterReply } from './auth.js';
import {
  COMMON_ERRORS,
  CROSS_SITE,
  JSON_BODY_ERRORS,
  RETRY_AFTER,
  SECURED,
  UNAUTHENTICATED,
  described,
  errorResponse,
  header,
} from './responses.js';

/** The full schema of each account route: validation, serialization and OpenAPI in one. */

const tags = ['accounts'];
const RATE_LIMITED = { 429: errorResponse(429, ['RATE_LIMITED'], {}, RETRY_AFTER) };

const register = {
  tags,
  summary: 'Create an account',
  description:
    'A username of 3 to 32 characters of A-Z a-z 0-9 _ . - (unique without regard to case) and a password of ' +
    '8 to 1024 characters. Limited per client address (429); 403 when the operator closed registration.',
  body: Credentials,
  response: {
    201: described(RegisterReply, 'Registered'),
    ...COMMON_ERRORS,
    403: errorResponse(403, ['REGISTRATION_CLOSED']),
    409: errorResponse(409, ['USERNAME_TAKEN']),
    ...JSON_BODY_ERRORS,
    ...RATE_LIMITED,
  },
};

const login = {
  tags,
  summary: 'Log in',
  description:
    'Answers a bearer token and sets it as the `token` cookie (HttpOnly, SameSite=Strict). Unknown user and ' +
    'wrong password are the same 401. After 10 failures for a username (or 100 from an address) in 15 minutes, ' +
    'every attempt is 429 until the oldest failure leaves the window.',
  body: Credentials,
  response: {
    200: described(LoginReply, 'Logged in', {
      'Set-Cookie': header('token=<the token>; Max-Age=<expires_in>; Path=/; HttpOnly; SameSite=Strict'),
    }),
    ...COMMON_ERRORS,
    401: errorResponse(401, ['INVALID_CREDENTIALS']),
    ...JSON_BODY_ERRORS,
    ...RATE_LIMITED,
  },
};

const logout = {
  tags,
  ...SECURED,
  summary: 'Log out',
  description: 'Revokes the token used (only that one) and clears the cookie.',
  response: {
    204: Type.Null({ description: 'Logged out', headers: { 'Set-Cookie': header('token=; Expires=<the past>: the cookie cleared') } }),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, [CROSS_SITE]),
  },
};

const me = {
  tags,
  ...SECURED,
  summary: 'Who am I',
  description:
    "The caller's username, the number of files they own and the sum of their sizes (`bytes`, `logical_bytes`), " +
    'their share of physical storage after deduplication (`stored_bytes`) and their quota (`quota_bytes`, null for none). ' +
    'Costs the same however many files the caller owns.',
  response: {
    200: described(MeReply, 'The caller and their usage'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
  },
};

export const accountRouteSchemas = { register, login, logout, me };
