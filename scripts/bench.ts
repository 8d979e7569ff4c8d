// `npm run bench -- [suite] [--json]`: benchmark suites. Progress goes to stderr, the summary to
// stdout; with --json the last stdout line is one JSON object with the suite's numbers.

import { runCpuSuite } from './bench/cpu.ts';

const SUITES = ['cpu', 'ksm', 'balloon', 'zero', 'syscall', 'ept', 'wasm', 'all'] as const;
type Suite = (typeof SUITES)[number];
const IMPLEMENTED: readonly Suite[] = ['cpu'];

const USAGE = `usage: npm run bench -- [${SUITES.join('|')}] [--json]

  cpu      xorshift32 load/store loop (15 instructions/iteration): jinx (64-bit raw machine)
           vs v86 (32-bit multiboot, SeaBIOS, JIT) and QEMU TCG if qemu-system-x86_64 is installed.
           --json: last line is {"suite":"cpu","jinx_mips":N,"v86_mips":N,"ratio":N,"qemu_mips":N|null}
  ksm, balloon, zero, syscall, ept, wasm, all
           not implemented yet
  (no suite means all)

options:
  --json   print the results as one JSON line (the last line of stdout)
  --help   show this help`;

function fail(message: string, code: number): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv: string[]): { suite: Suite; json: boolean } {
  let suite: Suite | null = null;
  let json = false;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (arg === '--json') {
      json = true;
    } else if ((SUITES as readonly string[]).includes(arg)) {
      if (suite !== null) fail(`only one suite may be given (got '${suite}' and '${arg}'); try --help`, 2);
      suite = arg as Suite;
    } else {
      fail(`unknown argument '${arg}'; try --help`, 2);
    }
  }
  return { suite: suite ?? 'all', json };
}

async function main(): Promise<void> {
  const { suite, json } = parseArgs(process.argv.slice(2));
  if (!IMPLEMENTED.includes(suite)) {
    fail(`suite '${suite}' is not implemented yet (implemented: ${IMPLEMENTED.join(', ')})`, 2);
  }
  const { result, summary } = await runCpuSuite();
  process.stdout.write(summary.join('\n') + '\n');
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  // v86 and QEMU are shut down by now; exit explicitly so a stray timer cannot keep us alive.
  process.exit(0);
}

main().catch((e: unknown) => {
  fail(e instanceof Error ? e.message : String(e), 1);
});
