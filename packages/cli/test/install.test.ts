import { spawn } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Exit {
  code: number | null;
  output: string;
}

/** Runs a command with stdout and stderr interleaved, as a user reads them in a terminal. */
function run(command: string, args: string[], cwd: string): Promise<Exit> {
  // npx and pnpm pass npm_* settings to the test; the install must read only the workspace's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

interface Listed {
  path: string;
  dependencies?: Record<string, Listed>;
  optionalDependencies?: Record<string, Listed>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * A fresh install of the CLI as a user gets it (its production dependencies): the workspace's
 * manifests and lockfile in an empty folder, so every install script runs again. Offline, from
 * the store that the workspace's own install filled; the CLI alone, because tap rewrites files of
 * its own packages in that store, which an offline install of the whole workspace then refuses.
 */
const workspace = await mkdtemp(join(tmpdir(), 'cloudstore-install-'));
t.teardown(() => rm(workspace, { recursive: true, force: true }));
for (const file of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']) {
  await copyFile(join(ROOT, file), join(workspace, file));
}
for (const name of await readdir(join(ROOT, 'packages'))) {
  await mkdir(join(workspace, 'packages', name), { recursive: true });
  await copyFile(join(ROOT, 'packages', name, 'package.json'), join(workspace, 'packages', name, 'package.json'));
}
const install = await run('pnpm', ['install', '--frozen-lockfile', '--offline', '--prod', '--filter', 'cloudstore'], workspace);

t.test('a fresh install of the CLI builds nothing that fails', async (t) => {
  t.equal(install.code, 0, install.output);
  const gypErrors = install.output.split('\n').filter((line) => line.includes('gyp ERR!'));
  t.same(gypErrors, [], 'no gyp ERR! line');
  t.notMatch(install.output, /install: Failed/);
});

t.test("nothing in the CLI's production dependencies compiles at install", async (t) => {
  const listing = await run('pnpm', ['list', '--prod', '--depth', 'Infinity', '--json', '--filter', 'cloudstore'], workspace);
  t.equal(listing.code, 0, listing.output);
  const [cli] = JSON.parse(listing.output) as Listed[];
  const installed = new Map<string, string>();
  const walk = async (dependencies: Record<string, Listed> = {}): Promise<void> => {
    for (const [name, dependency] of Object.entries(dependencies)) {
      // Prebuilt binaries for other platforms are listed but not installed here.
      if (installed.has(dependency.path) || !(await exists(dependency.path))) continue;
      installed.set(dependency.path, name);
      await walk({ ...dependency.dependencies, ...dependency.optionalDependencies });
    }
  };
  await walk({ ...cli.dependencies, ...cli.optionalDependencies });
  t.ok([...installed.values()].includes('@napi-rs/keyring'), 'the keychain binding is installed');
  for (const [path, name] of installed) {
    const manifest = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    const buildScripts = ['preinstall', 'install', 'postinstall'].filter((script) => manifest.scripts?.[script] !== undefined);
    t.same(buildScripts, [], `${name} has no install script`);
    t.notOk(await exists(join(path, 'binding.gyp')), `${name} has no binding.gyp`);
  }
});

t.test("the keychain binding loads from the registry's prebuilt binary for this platform", async (t) => {
  const probe = "import('@napi-rs/keyring').then((keyring) => console.log(typeof keyring.AsyncEntry))";
  const loaded = await run(process.execPath, ['--input-type=module', '-e', probe], join(workspace, 'packages', 'cli'));
  t.equal(loaded.code, 0, loaded.output);
  t.equal(loaded.output, 'function\n');
});
