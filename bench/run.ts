// `npm run bench`: runs every benchmark under bench/ one after another (never in parallel: each
// measures ratios side by side and must have the machine to itself) and writes bench/RESULTS.md
// with the machine, the date and each benchmark's output.
//
//   npm run bench                 # default sizes (minutes)
//   npm run bench -- --full       # the sizes of docs/performance.md (1 GB databases, 1M tasks; long)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useOwnUmask } from '../src/file-modes';

// The benchmarks make Atlas homes as atlas-ops does: with its umask, inherited by each run below.
useOwnUmask();
const full = process.argv.includes('--full');
const only = process.argv.find((a) => a.startsWith('--only='))?.split('=')[1];
const dir = __dirname;
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => !only || f.startsWith(only))
  .sort();

/** Sizes per benchmark: defaults keep `npm run bench` to minutes; --full uses the targets' sizes. */
const ARGS: Record<string, { quick: string[]; full: string[] }> = {
  'cluster.ts': { quick: [], full: ['--sequential=20', '--concurrent=100'] },
  'health.ts': { quick: ['--tasks=100000', '--runs=5'], full: ['--tasks=1000000', '--runs=7'] },
  'load.ts': { quick: [], full: ['--full'] },
  'maintenance.ts': { quick: ['--mb=200', '--runs=3'], full: ['--mb=1024', '--runs=3'] },
  'replication.ts': { quick: ['--mb=100', '--runs=5'], full: ['--mb=1024', '--runs=5'] },
  'sheets.ts': { quick: ['10000'], full: ['10000', '100000', '1000000'] },
  'snapshot.ts': { quick: ['200', '--cli-timeout', '30'], full: ['100', '1024', '--cli-timeout', '90'] },
};

const sections: string[] = [];
for (const file of benches) {
  const args = (full ? ARGS[file]?.full : ARGS[file]?.quick) ?? [];
  process.stderr.write(`bench: ${file} ${args.join(' ')}\n`);
  const t0 = Date.now();
  const res = spawnSync(process.execPath, [path.join(dir, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(dir, file), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const lines = (res.stdout ?? '').split('\n').filter((l) => l.trim() && !/\[(INFO|WARN)\]/.test(l));
  sections.push(
    `## ${file} ${args.join(' ')}\n\n${res.status === 0 ? '' : `**failed (exit ${res.status})**: ${(res.stderr ?? '').split('\n').slice(-5).join(' ')}\n\n`}` +
      '```\n' + `${lines.join('\n')}\n` + '```\n\n' + `(${Math.round((Date.now() - t0) / 1000)} s)\n`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header =
  `# Benchmark results\n\nWritten by \`npm run bench\` (sections updated on ${new Date().toISOString()}): ` +
  `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}.\n` +
  'Each benchmark measures its anchor in the same run and prints the ratio. Each section says when it ran (`--only=<name>` reruns one).\n\n';
// Keep the sections of benchmarks not run this time.
const file = path.join(dir, 'RESULTS.md');
const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split(/^(?=## )/m).slice(1) : [];
const ran = new Set(sections.map((x) => x.split(' ')[1]));
const kept = previous.filter((x) => !ran.has(x.split(' ')[1]!));
const all = [...kept, ...sections.map((x) => x.replace(/\n/, ` (${new Date().toISOString().slice(0, 16)}Z)\n`))].sort();
fs.writeFileSync(file, header + all.join('\n'));
process.stderr.write(`bench: wrote ${file}\n`);
