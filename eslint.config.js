// The layer rules of STYLE.md, enforced: each layer lists the folders it must never import.
// ESLint replaces a rule's options wholesale when a later block matches the same file, so every
// block below states its full list (the package-wide rules plus its layer's own).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const SERVER = 'packages/server/src';
const CLI = 'packages/cli/src';

/** An import specifier that reaches a folder of that name, e.g. `../repositories/files.js`. */
const folder = (name) => `^\\.{1,2}/(.*/)?${name}(/|$)`;

/** Forbids importing any of `folders`, saying why. */
const notFolders = (folders, message) => ({ regex: folder(`(${folders.join('|')})`), message });

const DATABASE_DRIVERS = '^(knex|mysql2|better-sqlite3)(/|$)';

// Services and scripts may name Knex's types (a service passes its transaction on to the
// repositories); only repositories/ and db/ may call it.
const noDriverCalls = {
  regex: DATABASE_DRIVERS,
  allowTypeImports: true,
  message: 'Only repositories/ and db/ speak to the database: call a repository (STYLE.md).',
};
const noDrivers = { regex: DATABASE_DRIVERS, message: 'Only repositories/ and db/ import a database driver (STYLE.md).' };

const noTests = {
  regex: '(^@cloudstore/test-helpers(/|$))|(^\\.{1,2}/(.*/)?test(/|$))',
  message: 'Shipped code never imports test code.',
};
const noCli = {
  regex: '(^(cloudstore(-cli)?|@cloudstore/cli)(/|$))|((^|/)\\.\\./cli/)',
  message: 'The server and the CLI never import each other; share through @cloudstore/shared.',
};
const noServer = {
  regex: '(^@cloudstore/server(/|$))|((^|/)\\.\\./server/)',
  message: 'The CLI and the server never import each other; share through @cloudstore/shared.',
};

const SERVER_WIDE = [noCli, noTests, noDriverCalls];

/**
 * The block for the files matched by `files`: static imports through no-restricted-imports, and
 * `import('…')` of a literal (the CLI loads its commands lazily) through no-restricted-syntax.
 */
const restrict = (files, patterns, paths = []) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }],
    'no-restricted-syntax': [
      'error',
      ...patterns.map(({ regex, message }) => ({
        selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\/')}/]`,
        message,
      })),
    ],
  },
});

// Reading the environment anywhere but the one file that owns it.
const environmentRule = (owner) => ({
  'no-restricted-properties': [
    'error',
    { object: 'process', property: 'env', message: `Only ${owner} reads the environment; receive what you need instead.` },
  ],
});
const noEnvImport = (owner) => [
  { name: 'node:process', importNames: ['env'], message: `Only ${owner} reads the environment.` },
  { name: 'process', importNames: ['env'], message: `Only ${owner} reads the environment.` },
];

const serverLayers = [
  restrict([`${SERVER}/**/*.ts`], SERVER_WIDE, noEnvImport('config.ts')),
  restrict(
    [`${SERVER}/routes/**/*.ts`],
    [
      noCli,
      noTests,
      noDrivers,
      notFolders(['repositories', 'store', 'db'], 'routes/ never touch repositories/, store/ or db/: call a service (STYLE.md).'),
    ],
    noEnvImport('config.ts'),
  ),
  restrict(
    [`${SERVER}/http/**/*.ts`],
    [
      noCli,
      noTests,
      noDrivers,
      notFolders(['repositories', 'db'], 'http/ helpers never touch repositories/ or db/ (STYLE.md).'),
      notFolders(['routes'], 'http/ sits below routes/: a route imports its helpers, never the reverse.'),
    ],
    noEnvImport('config.ts'),
  ),
  restrict(
    [`${SERVER}/services/**/*.ts`],
    [
      ...SERVER_WIDE,
      notFolders(
        ['routes', 'plugins', 'http', 'scripts'],
        'services/ never import routes/, plugins/, http/ or scripts/: nothing calls upward (STYLE.md).',
      ),
    ],
    noEnvImport('config.ts'),
  ),
  restrict(
    [`${SERVER}/repositories/**/*.ts`],
    [
      noCli,
      noTests,
      notFolders(['services', 'routes', 'plugins', 'http', 'scripts'], 'repositories/ never import the layers above them (STYLE.md).'),
    ],
    noEnvImport('config.ts'),
  ),
  restrict(
    [`${SERVER}/store/**/*.ts`],
    [
      ...SERVER_WIDE,
      notFolders(
        ['routes', 'services', 'repositories', 'plugins', 'http', 'scripts'],
        'store/ never imports routes/, services/ or repositories/ (STYLE.md).',
      ),
    ],
    noEnvImport('config.ts'),
  ),
  restrict(
    [`${SERVER}/db/**/*.ts`],
    [
      noCli,
      noTests,
      notFolders(
        ['services', 'routes', 'repositories', 'store', 'scripts', 'plugins', 'http'],
        'db/ sits below every layer: it opens the database and migrates it, nothing above it (STYLE.md).',
      ),
    ],
    noEnvImport('config.ts'),
  ),
  restrict([`${SERVER}/config.ts`], [noCli, noTests, noDrivers]),
];

const cliWide = [noServer, noTests, noDrivers];
const cliLayers = [
  restrict([`${CLI}/**/*.ts`], cliWide, noEnvImport('context.ts')),
  restrict([`${CLI}/context.ts`], cliWide),
  restrict(['packages/cli/test/**/*.ts'], [noServer]),
];

const sharedLayer = restrict(
  ['packages/shared/**/*.ts'],
  [
    {
      regex: '^(?!\\.{1,2}/|node:|@sinclair/typebox(/|$))',
      message: 'shared depends on nothing but @sinclair/typebox (and Node built-ins), so both sides can import it freely.',
    },
    { regex: '(^|/)\\.\\./(server|cli|bench|test-helpers)/', message: 'shared imports nothing of ours.' },
  ],
);

export default defineConfig(
  globalIgnores(['**/dist/', '**/node_modules/', '**/data/', '**/.tap/', '**/coverage/']),
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    settings: {
      // import-x follows only the extensions and parsers named here: without them it reads no .ts
      // file and so finds no cycle.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'packages/*/tsconfig.json', noWarnOnMultipleProjects: true })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Filenames and terminal output are checked for control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  ...serverLayers,
  { files: [`${SERVER}/**/*.ts`], ignores: [`${SERVER}/config.ts`], rules: environmentRule('packages/server/src/config.ts') },
  ...cliLayers,
  { files: [`${CLI}/**/*.ts`], ignores: [`${CLI}/context.ts`], rules: environmentRule('packages/cli/src/context.ts') },
  sharedLayer,
  // Tests read JSON bodies whose shape is the very thing they check.
  { files: ['packages/*/test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
