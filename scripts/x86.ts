// `npm run x86 -- FILE [--bits 16|32|64] [--org HEX] [--mem MiB] [--max-insns N] [--idt]`
// Loads raw machine code at org and runs it on a bare CPU (see DESIGN "CLI" contract).
import { readFileSync, statSync } from 'node:fs';
import { createRawMachine, type Bits } from '../emulator/raw-machine.ts';
import { GPR_NAMES } from '../emulator/core-layout.ts';

const USAGE = `usage: npm run x86 -- FILE [options]

Loads FILE (raw machine code) into guest RAM at --org and starts the CPU there at CPL 0.
Runs until HLT, an exception, a triple fault or the instruction limit, then prints one JSON line:
  {"exit":"hlt"|"exception"|"limit"|"triple_fault","regs":{"rax":"0x..",...,"rip":"0x..","rflags":"0x.."},
   "exception":null|{"vector":N,"error_code":N},"instructions":N}

options:
  --bits 16|32|64   CPU mode (default 64). 64: long mode, first 4 GiB identity-mapped with 2 MiB
                    pages; 32: flat protected mode, paging off; 16: real mode (CS = org >> 4)
  --org HEX         load and entry address (default 0x100000)
  --mem MiB         guest RAM (default 16; the top 64 KiB holds the GDT and page tables)
  --max-insns N     instruction limit (default 100000000)
  --idt             deliver exceptions through the guest's IDT instead of stopping at the first one
  --help            show this help`;

function fail(msg: string): never {
  process.stderr.write(`x86: ${msg}\n`);
  process.exit(2);
}

interface Options { file: string; bits: Bits; org: number; mem: number; maxInsns: number; idt: boolean }

function parse(argv: string[]): Options {
  const o: Partial<Options> = { bits: 64, org: 0x100000, mem: 16, maxInsns: 100_000_000, idt: false };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) fail(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(0);
      case '--bits': {
        const v = value(i++, a);
        if (v !== '16' && v !== '32' && v !== '64') fail(`--bits must be 16, 32 or 64 (got '${v}')`);
        o.bits = Number(v) as Bits; break;
      }
      case '--org': {
        const v = value(i++, a);
        if (!/^(0x)?[0-9a-fA-F]+$/.test(v)) fail(`--org must be a hex address (got '${v}')`);
        o.org = parseInt(v.replace(/^0x/, ''), 16); break;
      }
      case '--mem': {
        const v = value(i++, a);
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 3072) fail(`--mem must be a whole number of MiB from 1 to 3072 (got '${v}')`);
        o.mem = n; break;
      }
      case '--max-insns': {
        const v = value(i++, a);
        const n = Number(v);
        if (!Number.isSafeInteger(n) || n < 1) fail(`--max-insns must be a positive integer (got '${v}')`);
        o.maxInsns = n; break;
      }
      case '--idt': o.idt = true; break;
      default:
        if (a.startsWith('-')) fail(`unknown option '${a}'; try --help`);
        if (o.file !== undefined) fail(`only one FILE may be given (got '${o.file}' and '${a}')`);
        o.file = a;
    }
  }
  if (o.file === undefined) fail('missing FILE; try --help');
  return o as Options;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  let size: number;
  try { size = statSync(o.file).size; } catch { fail(`cannot read '${o.file}'`); }
  const memBytes = o.mem * 1024 * 1024;
  const usable = memBytes - 0x10000;
  if (o.bits === 16 && o.org + size > 0x10ffef) fail(`--org 0x${o.org.toString(16)} is out of reach in real mode (max 0x10ffef)`);
  if (o.org >= usable) fail(`--org 0x${o.org.toString(16)} is outside the ${o.mem} MiB of RAM`);
  if (o.org + size > usable) fail(`'${o.file}' (${size} bytes) at 0x${o.org.toString(16)} does not fit in ${o.mem} MiB of RAM`);
  const bytes = new Uint8Array(readFileSync(o.file));
  const m = await createRawMachine({ memMiB: o.mem, bits: o.bits });
  if (o.idt) m.cpu.set({ raw: 0 });
  m.load(bytes, o.org);
  m.setRip(o.org);
  const r = m.run(o.maxInsns);
  const all = m.regs();
  const regs: Record<string, string> = {};
  for (const n of [...GPR_NAMES, 'rip', 'rflags']) regs[n] = '0x' + all[n]!.toString(16);
  const out: Record<string, unknown> = { exit: r.exit, regs, exception: r.exception, instructions: r.instructions };
  if (r.exit === 'triple_fault') {
    out.reason = r.reason;
    process.stderr.write(`x86: ${r.reason}\n`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`x86: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
