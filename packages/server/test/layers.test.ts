import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import t from 'tap';

// The repository's own eslint.config.js, as `pnpm lint` runs it, on code planted at virtual paths
// inside each layer: the file need not exist for its path to pick the layer's rules.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const eslint = new ESLint({ cwd: repoRoot });

async function lint(filePath: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages;
}

const RESTRICTED = '@typescript-eslint/no-restricted-imports';

const forbidden = [
  {
    what: 'a route importing a repository',
    filePath: 'packages/server/src/routes/planted.ts',
    code: "import { FileRepository } from '../repositories/files.js';\nexport const planted = FileRepository;\n",
    rule: RESTRICTED,
    says: /routes\/ never touch repositories\//,
  },
  {
    what: 'a route importing the store, even for a type',
    filePath: 'packages/server/src/routes/planted.ts',
    code: "import type { BlobStore } from '../store/blob-store.js';\nexport type Planted = BlobStore;\n",
    rule: RESTRICTED,
    says: /routes\/ never touch/,
  },
  {
    what: 'a service importing knex',
    filePath: 'packages/server/src/services/planted.ts',
    code: "import knex from 'knex';\nexport const planted = knex;\n",
    rule: RESTRICTED,
    says: /Only repositories\/ and db\//,
  },
  {
    what: 'a service importing a route',
    filePath: 'packages/server/src/services/planted.ts',
    code: "import { fileRoutes } from '../routes/files.js';\nexport const planted = fileRoutes;\n",
    rule: RESTRICTED,
    says: /services\/ never import routes\//,
  },
  {
    what: 'the CLI importing the server package',
    filePath: 'packages/cli/src/commands/planted.ts',
    code: "import { buildApp } from '@cloudstore/server';\nexport const planted = buildApp;\n",
    rule: RESTRICTED,
    says: /never import each other/,
  },
  {
    what: 'the CLI importing the server lazily, as it loads its commands',
    filePath: 'packages/cli/src/program.ts',
    code: "export const load = () => import('@cloudstore/server');\n",
    rule: 'no-restricted-syntax',
    says: /never import each other/,
  },
  {
    what: "the CLI importing a path into the server's sources",
    filePath: 'packages/cli/src/api/planted.ts',
    code: "import { AppError } from '../../../server/src/errors.js';\nexport const planted = AppError;\n",
    rule: RESTRICTED,
    says: /never import each other/,
  },
  {
    what: "the server importing the CLI's sources",
    filePath: 'packages/server/src/http/planted.ts',
    code: "import { formatSize } from '../../../cli/src/terminal/units.js';\nexport const planted = formatSize;\n",
    rule: RESTRICTED,
    says: /never import each other/,
  },
  {
    what: 'a repository importing a service',
    filePath: 'packages/server/src/repositories/planted.ts',
    code: "import { Passwords } from '../services/passwords.js';\nexport const planted = Passwords;\n",
    rule: RESTRICTED,
    says: /repositories\/ never import the layers above them/,
  },
  {
    what: 'shared importing the server',
    filePath: 'packages/shared/src/planted.ts',
    code: "import { AppError } from '../../server/src/errors.js';\nexport const planted = AppError;\n",
    rule: RESTRICTED,
    says: /shared imports nothing of ours/,
  },
  {
    what: 'shared importing a runtime package other than TypeBox',
    filePath: 'packages/shared/src/planted.ts',
    code: "import fastify from 'fastify';\nexport const planted = fastify;\n",
    rule: RESTRICTED,
    says: /nothing but @sinclair\/typebox/,
  },
  {
    what: 'a service reading the environment',
    filePath: 'packages/server/src/services/planted.ts',
    code: 'export const planted = process.env.PORT;\n',
    rule: 'no-restricted-properties',
    says: /Only packages\/server\/src\/config\.ts reads the environment/,
  },
  {
    what: 'an import cycle (errors.ts → app.ts → routes → errors.ts)',
    filePath: 'packages/server/src/errors.ts',
    code: "import { buildApp } from './app.js';\nexport const planted = buildApp;\n",
    rule: 'import-x/no-cycle',
    says: /Dependency cycle/,
  },
];

for (const plant of forbidden) {
  t.test(`fails: ${plant.what}`, async (t) => {
    const messages = await lint(plant.filePath, plant.code);
    const hit = messages.find((message) => message.ruleId === plant.rule);
    t.ok(hit, `${plant.rule} fires`, { messages });
    t.equal(hit?.severity, 2, 'as an error, so pnpm lint fails');
    t.match(hit?.message, plant.says);
  });
}

const allowed = [
  {
    what: 'a route importing a service, shared and fastify',
    filePath: 'packages/server/src/routes/planted.ts',
    code: [
      "import { ROUTES } from '@cloudstore/shared';",
      "import type { FastifyInstance } from 'fastify';",
      "import type { FileService } from '../services/files.js';",
      'export const planted = (app: FastifyInstance, files: FileService) => [app, files, ROUTES];',
      '',
    ].join('\n'),
  },
  {
    what: "a service naming Knex's transaction type",
    filePath: 'packages/server/src/services/planted.ts',
    code: "import type { Knex } from 'knex';\nexport type Planted = Knex.Transaction;\n",
  },
  {
    what: 'the CLI loading one of its commands lazily',
    filePath: 'packages/cli/src/program.ts',
    code: "export const load = () => import('./commands/ls.js');\n",
  },
  {
    what: 'config.ts reading the environment',
    filePath: 'packages/server/src/config.ts',
    code: 'export const planted = process.env.PORT;\n',
  },
];

for (const plant of allowed) {
  t.test(`passes: ${plant.what}`, async (t) => {
    t.same(await lint(plant.filePath, plant.code), [], 'no message');
  });
}
