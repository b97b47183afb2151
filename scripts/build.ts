// `npm run build [-- --outDir DIR]`: compiles src/ to DIR (default dist/) with tsc, then replaces DIR/main.js, the
// operator's entry point, with one tree-shaken ESM bundle of src/main.ts and its dependencies. The CLI and every
// other module stay tsc's output.
//
// Why a bundle: the operator uses a few classes from each package, but Node loads whole modules. The package index
// of @kubernetes/client-node loads every generated model, and each AWS SDK client module builds the schema of every
// operation of its service at load (client-ec2 alone is 1.3 MB of them). Bundled, only what is reached stays: the
// process loads about 20 MiB of heap instead of 50, and 80 MiB of RSS instead of 170 (BENCHMARKS.md, "Memory of
// `node dist/main.js`"). Identifiers are not minified, so stack traces keep their function names.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The SDK's schema files key their traits by constants (`{ [_xN]: _TSa }` with `const _xN = "xmlName"`). esbuild
 * cannot prove a computed key free of side effects, so it keeps every schema of the service. Writing the constant's
 * string in place of the computed key (`{ "xmlName": _TSa }`) means the same object and lets unused schemas go.
 */
function inlineSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const m of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) strings.set(m[1]!, m[2]!);
  return source.replace(/\[(_\w+)\]:/g, (all, name: string) => {
    const value = strings.get(name);
    return value === undefined ? all : `${value}:`;
  });
}

const schemaKeys: Plugin = {
  name: 'aws-sdk-schema-keys',
  setup(b) {
    b.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/][^\\/]+\.js$/ }, async (args) => ({
      contents: inlineSchemaKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

/**
 * client-node's generated models are plain classes whose static fields esbuild counts as side effects, and the
 * package does not declare itself free of them, so every model (500 KB) would stay although the operator never
 * deserialises through them. Only that directory is declared free of side effects.
 */
const clientNodeModels: Plugin = {
  name: 'client-node-models',
  setup(b) {
    b.onResolve({ filter: /models/ }, async (args) => {
      if (
        args.pluginData === clientNodeModels ||
        !/[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]gen[\\/]/.test(args.importer)
      )
        return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: clientNodeModels,
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, sideEffects: false };
    });
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outDir: { type: 'string', default: 'dist' } } });
  const outDir = resolve(root, values.outDir);
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await rm(join(outDir, 'main.js.map'), { force: true });
  await build({
    entryPoints: [join(root, 'src/main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The SDK's ES module builds (its `module` field) are what tree-shaking can cut; its CommonJS builds are one file.
    mainFields: ['module', 'main'],
    // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __slipwayRequire } from 'node:module';\nconst require = __slipwayRequire(import.meta.url);",
    },
    plugins: [schemaKeys, clientNodeModels],
    logLevel: 'warning',
    legalComments: 'none',
  });
  await writeFile(join(outDir, 'main.js'), latin1Source(await readFile(join(outDir, 'main.js'), 'utf8')));
}

/**
 * V8 holds a script's source for as long as it runs, one byte a character when every character fits in Latin-1 and
 * two otherwise: the bundle (3.5 MB) cost 6.8 MB of heap for a few dashes in comments that esbuild keeps. esbuild
 * escapes every non-ASCII character of strings, templates, regular expressions and identifiers (charset ascii, its
 * default), so those left are in comments; each becomes '?'. One not after a comment's start on its line fails the
 * build rather than be changed.
 */
function latin1Source(source: string): string {
  return source
    .split('\n')
    .map((line, i) => {
      const at = line.search(/[\u0100-\uffff]/);
      if (at < 0) return line;
      if (!/^\s*\*|\/\/|\/\*/.test(line.slice(0, at)))
        throw new Error(`main.js line ${i + 1}: a non-Latin-1 character outside a comment`);
      return line.replace(/[\u0100-\uffff]/g, '?');
    })
    .join('\n');
}

await main();
