import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/**
 * A fresh clone is all a user or a new contributor has: every relative link in README.md and
 * docs/ must point at a file inside it (never at ../shared or anywhere else outside), and every
 * `#anchor` into a markdown file at one of its headings, slugged as GitHub does.
 */

/** The clone's root: the nearest folder above this file with pnpm-workspace.yaml (from test/ or dist/test/). */
function repositoryRoot(): string {
  for (let directory = path.dirname(fileURLToPath(import.meta.url)); ; directory = path.dirname(directory)) {
    if (existsSync(path.join(directory, 'pnpm-workspace.yaml'))) return directory;
    if (path.dirname(directory) === directory) throw new Error('no pnpm-workspace.yaml above the test file');
  }
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const INLINE_LINK = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^\s)>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const HAS_SCHEME = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

/** The lines of a markdown text, with fenced code blocks emptied and inline code blanked. */
function proseLines(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const opening = FENCE.exec(line);
    if (fence !== null) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null;
      return '';
    }
    if (opening) {
      fence = opening[1];
      return '';
    }
    return line.replace(/(`+)[^`][\s\S]*?\1/g, (code) => ' '.repeat(code.length));
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens, `-1`, `-2` for repeats. */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const opening = FENCE.exec(line);
    if (fence !== null) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = null;
      continue;
    }
    if (opening) {
      fence = opening[1];
      continue;
    }
    const heading = HEADING.exec(line);
    if (!heading) continue;
    const text = heading[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const repeats = seen.get(base) ?? 0;
    seen.set(base, repeats + 1);
    slugs.add(repeats === 0 ? base : `${base}-${repeats}`);
  }
  return slugs;
}

/**
 * What is wrong with the relative links of one markdown file (`file` is its absolute path inside
 * `root`; `markdown` its text, which need not be on disk). One line per dead link.
 */
function linkProblems(root: string, file: string, markdown: string): string[] {
  const problems: string[] = [];
  const where = path.relative(root, file);
  proseLines(markdown).forEach((line, index) => {
    const targets = [...line.matchAll(INLINE_LINK)].map((match) => match[1]);
    const definition = REFERENCE_DEFINITION.exec(line);
    if (definition) targets.push(definition[1]);
    for (const target of targets) {
      const problem = targetProblem(root, file, markdown, target);
      if (problem) problems.push(`${where}:${index + 1}: ${target}: ${problem}`);
    }
  });
  return problems;
}

function targetProblem(root: string, file: string, markdown: string, target: string): string | null {
  if (HAS_SCHEME.test(target)) return null;
  const [pathPart, anchor] = splitOnce(target, '#');
  const filePart = decodeURIComponent(splitOnce(pathPart, '?')[0]);
  const resolved = filePart === '' ? file : path.resolve(path.dirname(file), filePart);
  const inside = path.relative(root, resolved);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return 'points outside the repository';
  if (resolved !== file && !existsSync(resolved)) return 'no such file in the repository';
  if (anchor === undefined || anchor === '' || !resolved.endsWith('.md')) return null;
  const text = resolved === file ? markdown : readFileSync(resolved, 'utf8');
  return headingSlugs(text).has(decodeURIComponent(anchor)) ? null : `no heading #${anchor} in ${path.relative(root, resolved)}`;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

const root = repositoryRoot();

t.test('every relative link in README.md and docs/ resolves inside the clone', async (t) => {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(root, 'docs', name));
  const files = [path.join(root, 'README.md'), ...docs];
  t.ok(docs.length >= 5, `docs/ holds its markdown files (${docs.length})`);
  const problems = files.flatMap((file) => linkProblems(root, file, readFileSync(file, 'utf8')));
  t.same(problems, [], 'no dead link');
});

t.test('a planted dead link, dead anchor or link out of the clone is caught', async (t) => {
  const fixture = [
    '# A heading',
    '## A heading',
    'Fine: [the contract](API.md), [errors](API.md#errors), [here](#a-heading), [the repeat](#a-heading-1),',
    '[the CLI](../packages/cli/), [the web](https://example.com/x.md), `[in code](NOWHERE.md)`.',
    'Dead: [gone](NOWHERE.md), [no such heading](API.md#no-such-heading), [outside](../../shared/API.md).',
    '```',
    '[in a fence](FENCED.md)',
    '```',
    '[missing]: MISSING.md',
  ].join('\n');
  const problems = linkProblems(root, path.join(root, 'docs', 'FIXTURE.md'), fixture);
  t.same(problems, [
    'docs/FIXTURE.md:5: NOWHERE.md: no such file in the repository',
    'docs/FIXTURE.md:5: API.md#no-such-heading: no heading #no-such-heading in docs/API.md',
    'docs/FIXTURE.md:5: ../../shared/API.md: points outside the repository',
    'docs/FIXTURE.md:9: MISSING.md: no such file in the repository',
  ]);
});

t.test('anchors are slugged as GitHub slugs headings', async (t) => {
  const slugs = headingSlugs(
    [
      '## Download — GET `/cloud/my-drive/?filename=NAME[&owner=USERNAME]`',
      '### Existence privacy (who may learn that content is already stored)',
      '## See [the CLI](CLI.md) and `HEAD`',
    ].join('\n'),
  );
  t.same(
    [...slugs],
    [
      'download--get-cloudmy-drivefilenamenameownerusername',
      'existence-privacy-who-may-learn-that-content-is-already-stored',
      'see-the-cli-and-head',
    ],
  );
});
