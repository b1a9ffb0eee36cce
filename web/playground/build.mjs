// Bundles the playground into dist/ (embedded in the dezky binary). The
// output depends only on the sources, the locked packages and these
// options: no timestamps, no absolute paths, no source maps, so a rebuild
// of the same inputs is byte-identical (CI checks it like other generated
// code).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { playground: 'src/main.jsx' },
  outdir: 'dist',
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  loader: { '.graphql': 'text' },
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'external',
  charset: 'utf8',
  sourcemap: false,
  logLevel: 'warning',
});

copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
for (const f of readdirSync(out).sort()) console.log(`dist/${f}`);
