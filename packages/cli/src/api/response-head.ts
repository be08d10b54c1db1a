import { CliError, EXIT } from '../errors.js';

/** The status line and header fields of an HTTP/1.1 answer; names in lower case, repeated fields joined with ", ". */
export interface ResponseHead {
  statusCode: number;
  headers: Record<string, string>;
}

/** A larger head is refused, as Node's and undici's parsers refuse it. */
export const MAX_HEAD_BYTES = 16 * 1024;

const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [^\r\n]*)?$/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const FIELD_VALUE = /^[^\0\r\n]*$/;

export const malformedAnswer = (origin: string, what: string) =>
  new CliError('BAD_RESPONSE', `${origin} sent an answer that is not valid HTTP/1.1 (${what})`, EXIT.failure);

/**
 * Reads a head (the text before the empty line, CRLF line ends). Anything a strict parser
 * refuses is refused: folded lines, names that are not tokens, Content-Length given twice
 * with different values (the way a smuggled answer hides).
 */
export function parseHead(text: string, origin: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0]);
  if (!status) throw malformedAnswer(origin, 'status line');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (colon <= 0 || !FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) throw malformedAnswer(origin, 'header field');
    const earlier = headers[name];
    if (earlier === undefined) headers[name] = value;
    else if (name === 'content-length') {
      if (earlier !== value) throw malformedAnswer(origin, 'two different Content-Length');
    } else headers[name] = `${earlier}, ${value}`;
  }
  return { statusCode: Number(status[1]), headers };
}
