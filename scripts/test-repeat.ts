// The flake census: `npm run test:repeat -- <n>` runs the whole suite n times back to back and
// writes every failure (run, test, the error's first line) to test-artifacts/flakes.md. A test that
// fails in one run of three is a flake to fix at its cause, not to retry (docs/testing.md#flake-census).
// tsc and eslint are deterministic, so they run once, before the first run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

interface AssertionResult {
  fullName: string;
  status: string;
  failureMessages?: string[];
}
interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults: AssertionResult[];
}

const REPO = path.resolve(__dirname, '..');
const OUT = path.join(REPO, 'test-artifacts');

function parseRuns(argv: string[]): number {
  const given = argv[0] ?? '3';
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1 || n > 50) {
    process.stderr.write(`test:repeat: the number of runs must be a whole number from 1 to 50, got "${given}"\n`);
    process.exit(2);
  }
  return n;
}

const firstLine = (s: string | undefined) => (s ?? '').split('\n').find((l) => l.trim())?.trim().slice(0, 200) ?? '(no message)';
const cell = (s: string) => s.replace(/\|/g, '\\|');

interface Failure {
  run: number;
  test: string;
  error: string;
}

function failuresOf(run: number, report: { testResults: FileResult[] }): Failure[] {
  const out: Failure[] = [];
  for (const file of report.testResults) {
    const rel = path.relative(REPO, file.name);
    const failed = file.assertionResults.filter((a) => a.status === 'failed');
    for (const a of failed) out.push({ run, test: `${rel} > ${a.fullName}`, error: firstLine(a.failureMessages?.[0]) });
    // A file can fail outside its tests (a hook, an import): that counts too.
    if (file.status === 'failed' && failed.length === 0) out.push({ run, test: rel, error: firstLine(file.message) });
  }
  return out;
}

function main(): void {
  const runs = parseRuns(process.argv.slice(2));
  fs.mkdirSync(path.join(OUT, 'repeat'), { recursive: true });
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  for (const [what, args] of [['tsc', ['tsc', '--noEmit']], ['eslint', ['eslint', '.']]] as const) {
    if (spawnSync(npx, args, { cwd: REPO, stdio: 'inherit' }).status !== 0) {
      process.stderr.write(`test:repeat: ${what} failed; fix it first\n`);
      process.exit(1);
    }
  }
  const failures: Failure[] = [];
  const rows: { run: number; seconds: number; passed: number; failed: number; exit: number | null }[] = [];
  for (let run = 1; run <= runs; run++) {
    const json = path.join(OUT, 'repeat', `run-${run}.json`);
    fs.rmSync(json, { force: true });
    process.stdout.write(`\n== test:repeat run ${run} of ${runs}\n`);
    const started = Date.now();
    const res = spawnSync(npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`], { cwd: REPO, stdio: 'inherit' });
    const seconds = Math.round((Date.now() - started) / 1000);
    if (!fs.existsSync(json)) {
      failures.push({ run, test: '(the whole run)', error: `vitest exited ${res.status ?? res.signal} without a report` });
      rows.push({ run, seconds, passed: 0, failed: 0, exit: res.status });
      continue;
    }
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: FileResult[] };
    const found = failuresOf(run, report);
    // A non-zero exit with no failed test (an unhandled error between tests) is a failure too.
    if (res.status !== 0 && found.length === 0) found.push({ run, test: '(the whole run)', error: `vitest exited ${res.status ?? res.signal}` });
    failures.push(...found);
    rows.push({ run, seconds, passed: report.numPassedTests, failed: report.numFailedTests, exit: res.status });
  }
  const md = [
    `# Flake census: ${runs} run(s) of the whole suite, ${new Date().toISOString()}`,
    '',
    '| run | seconds | tests passed | tests failed | exit |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.run} | ${r.seconds} | ${r.passed} | ${r.failed} | ${r.exit} |`),
    '',
    failures.length ? '| run | test | error (first line) |' : 'No failures.',
    ...(failures.length ? ['| --- | --- | --- |', ...failures.map((f) => `| ${f.run} | ${cell(f.test)} | ${cell(f.error)} |`)] : []),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(OUT, 'flakes.md'), md);
  process.stdout.write(`\n${md}\nwritten to ${path.relative(REPO, path.join(OUT, 'flakes.md'))}\n`);
  process.exit(failures.length ? 1 : 0);
}

main();
