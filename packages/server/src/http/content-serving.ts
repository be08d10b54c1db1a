import type { OutgoingHttpHeaders } from 'node:http';
import type { Writable } from 'node:stream';
import { formatReprDigest } from '@cloudstore/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { AppError } from '../errors.js';
import { answerAtTurnEnd } from './answers-per-turn.js';
import { contentDisposition } from './content-disposition.js';

/** What a download needs to know of a file; `copy` writes one inclusive range of its bytes. */
export interface ServedContent {
  filename: string;
  sha256: string;
  size: number;
  contentType: string;
  updatedAt: number;
  copy(range: { start: number; end: number }, destination: Writable): Promise<void>;
}

/**
 * 200 with the whole content, 206 for one range, 304 when the client has it, 412 when the
 * client resumes a copy of other content (API.md, "Download").
 */
export function sendContent(request: FastifyRequest, reply: FastifyReply, content: ServedContent) {
  const etag = `"${content.sha256}"`;
  reply.headers({
    etag,
    'repr-digest': formatReprDigest(content.sha256),
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
    'last-modified': new Date(content.updatedAt).toUTCString(),
  });
  const ifMatch = request.headers['if-match'];
  // RFC 9110 13.1.1: If-Match compares strongly, so a weak tag never matches; checked before If-None-Match.
  if (ifMatch !== undefined && !matchesEtag(ifMatch, content.sha256, { isWeakAllowed: false })) {
    throw new AppError('PRECONDITION_FAILED', 'the file has changed since the ETag given in If-Match: download it again from the start');
  }
  if (matchesEtag(request.headers['if-none-match'], content.sha256, { isWeakAllowed: true })) return reply.code(304).send();

  reply.headers({ 'content-type': content.contentType, 'content-disposition': contentDisposition(content.filename) });
  const rangeHeader = rfc9110Range(request.headers.range, content.size);
  if (rangeHeader !== undefined) {
    const ranges = parseRange(content.size, rangeHeader);
    if (ranges === -1) {
      reply.header('content-range', `bytes */${content.size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', `the range starts at or beyond the end of the ${content.size}-byte file`);
    }
    if (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1) {
      const [{ start, end }] = ranges;
      reply.code(206).headers({ 'content-range': `bytes ${start}-${end}/${content.size}`, 'content-length': end - start + 1 });
      return streamContent(request, reply, content, { start, end });
    }
    // Malformed, or several ranges: the whole file.
  }
  reply.header('content-length', content.size);
  if (content.size === 0) return reply.send('');
  return streamContent(request, reply, content, { start: 0, end: content.size - 1 });
}

/**
 * Writes the bytes straight to the socket through a few reused buffers. Streaming a fresh
 * 1 MiB buffer per read made V8 collect the whole heap every few reads (external memory
 * pressure), which halved download speed; the headers are Fastify's, set above.
 */
async function streamContent(request: FastifyRequest, reply: FastifyReply, content: ServedContent, range: { start: number; end: number }) {
  reply.hijack();
  const response = reply.raw;
  answerAtTurnEnd(response.socket);
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  if (request.method === 'HEAD') {
    response.end();
    return reply;
  }
  try {
    await content.copy(range, response);
    response.end();
  } catch (error) {
    // The status line is gone: all that is left is to cut the response short.
    request.log.warn({ err: error }, 'download interrupted');
    response.destroy();
  }
  return reply;
}

/**
 * The Range header as range-parser should read it. It calls two single ranges unsatisfiable
 * that RFC 9110 answers otherwise: a suffix longer than the file means the whole file, and a
 * last byte before the first makes the header invalid, so it is ignored (undefined).
 */
function rfc9110Range(header: string | undefined, size: number): string | undefined {
  const single = header === undefined ? null : /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!single) return header;
  const [, first, last] = single;
  if (first === '' && last !== '' && Number(last) > size) return 'bytes=0-';
  if (first !== '' && last !== '' && Number(last) < Number(first)) return undefined;
  return header;
}

/** If-None-Match compares weakly (a `W/` tag matches its strong twin), If-Match strongly. */
function matchesEtag(header: string | undefined, sha256: string, options: { isWeakAllowed: boolean }): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    const compared = options.isWeakAllowed ? trimmed.replace(/^W\//, '') : trimmed;
    return trimmed === '*' || compared === `"${sha256}"`;
  });
}
