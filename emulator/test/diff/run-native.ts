// Debug CLI: run one snippet on the host CPU and in the emulator, print both.
//
//   npx tsx emulator/test/diff/run-native.ts 'add eax, ebx' --set rax=5 --set rbx=-1
//   npx tsx emulator/test/diff/run-native.ts 'mov rcx, [rbx]; bswap rcx' --set rbx=0x200000 --mem 0=0102030405060708
//   npx tsx emulator/test/diff/run-native.ts --case 1234 [--seed 0x6a696e78] [--cases 20000]
//   npx tsx emulator/test/diff/run-native.ts --list '^shld$' [--seed S] [--cases N]
//
// Options:
//   --set NAME=VALUE   rax..r15, rip is fixed; rflags, mxcsr, xmmN=HI:LO or xmmN=LO (bigint syntax, may be negative)
//   --mem OFF=HEX      bytes at data-page offset OFF (page otherwise zero)
//   --no-emu           native only
// Defaults for a manual snippet: all GPRs 0 except rsp=0x200800, rflags=0x202, mxcsr=0x1f80, xmm 0.
// Snippet lines may be separated by ';' or newlines. `[rip + @S + ADDR]` addresses absolute ADDR.

import { COMPARED_FLAGS, DEFAULT_CASES, DEFAULT_SEED, GPR_NAMES, describeInputs, generateCases, type Case } from './cases.ts';
import { compareCase, disassemble, flagString, formatDiffs, loadEmulator, type EmuOutput } from './compare.ts';
import { CODE_ADDR, DATA_ADDR, assembleSnippets, materializePage, runNative, type MachineState, type RunInput } from './native.ts';

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}`);
  console.error('usage: run-native.ts ASM [--set reg=val]... [--mem off=hex]... [--no-emu]\n       run-native.ts --case ID [--seed S] [--cases N] [--no-emu]\n       run-native.ts --list REGEX [--seed S] [--cases N]');
  process.exit(2);
}

const args = process.argv.slice(2);
let asm: string | null = null;
let caseId: number | null = null;
let list: string | null = null;
let seed = DEFAULT_SEED;
let count = DEFAULT_CASES;
let useEmu = true;
const sets: Array<[string, string]> = [];
const mems: Array<[number, string]> = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const next = (): string => args[++i] ?? usage(`${a} needs a value`);
  if (a === '--set') {
    const [k, v] = next().split('=');
    if (!k || v === undefined) usage('--set NAME=VALUE');
    sets.push([k.toLowerCase(), v]);
  } else if (a === '--mem') {
    const [k, v] = next().split('=');
    if (!k || v === undefined) usage('--mem OFF=HEX');
    mems.push([Number(k), v]);
  } else if (a === '--case') caseId = Number(next());
  else if (a === '--list') list = next();
  else if (a === '--seed') seed = Number(next());
  else if (a === '--cases') count = Number(next());
  else if (a === '--no-emu') useEmu = false;
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else asm = asm === null ? a : `${asm}\n${a}`;
}

if (list !== null) {
  const re = new RegExp(list);
  for (const c of generateCases({ seed, count, filter: re })) {
    console.log(`#${c.id} [${c.group}] ${c.asm.split('\n').join(' ; ')}${c.note ? `   (${c.note})` : ''}`);
  }
  process.exit(0);
}

let kase: Case;
if (caseId !== null) {
  const all = generateCases({ seed, count });
  const found = all.find((c) => c.id === caseId);
  if (!found) usage(`no case #${caseId} (there are ${all.length} with --cases ${count})`);
  kase = found;
} else {
  if (asm === null) usage();
  const page = new Uint8Array(4096);
  kase = {
    id: -1,
    group: 'cli',
    asm: asm.split(/;|\n/).map((l) => l.trim()).filter(Boolean).join('\n'),
    gpr: Array.from({ length: 16 }, (_, i) => (i === 4 ? DATA_ADDR + 0x800n : 0n)),
    rflags: 0x202n,
    xmm: new Array<bigint>(32).fill(0n),
    mxcsr: 0x1f80,
    page,
    patches: [],
    undefFlags: 0n,
    undefGpr: 0,
    undefData: [],
  };
}
const U = (v: string): bigint => BigInt.asUintN(64, BigInt(v));
for (const [k, v] of sets) {
  const gi = GPR_NAMES.indexOf(k);
  if (gi >= 0) kase.gpr[gi] = U(v);
  else if (k === 'rflags') kase.rflags = U(v);
  else if (k === 'mxcsr') kase.mxcsr = Number(v);
  else if (/^xmm\d+$/.test(k)) {
    const x = Number(k.slice(3));
    const [hi, lo] = v.includes(':') ? v.split(':') : ['0', v];
    kase.xmm[2 * x] = U(lo!.startsWith('0x') || !/^[0-9a-f]+$/i.test(lo!) ? lo! : `0x${lo}`);
    kase.xmm[2 * x + 1] = U(hi!.startsWith('0x') || !/^[0-9a-f]+$/i.test(hi!) ? hi! : `0x${hi}`);
  } else usage(`unknown register ${k}`);
}
for (const [off, hexs] of mems) kase.patches.push({ off, bytes: new Uint8Array(Buffer.from(hexs, 'hex')) });

const [code] = assembleSnippets([kase.asm]);
const input: RunInput = { ...kase, code: code! };
const [nat] = runNative([input]);
const initial = materializePage(input);

console.log(`case #${kase.id} [${kase.group}]${kase.note ? ` (${kase.note})` : ''}`);
console.log(`asm: ${kase.asm.split('\n').join(' ; ')}`);
console.log(`bytes: ${Buffer.from(code!).toString('hex')}  (at 0x${CODE_ADDR.toString(16)})`);
console.log(disassemble(code!));
console.log('inputs:');
console.log(describeInputs(kase).split('\n').map((l) => `  ${l}`).join('\n'));
if (kase.undefFlags) console.log(`undefined flags (ignored in comparison): ${flagString(kase.undefFlags, kase.undefFlags)}`);

function show(title: string, s: MachineState, outcome: string): void {
  console.log(`\n${title}: ${outcome}`);
  console.log(`  rip=0x${s.rip.toString(16)} rflags=0x${s.rflags.toString(16)} [${flagString(s.rflags, COMPARED_FLAGS)}] mxcsr=0x${s.mxcsr.toString(16)}`);
  for (let i = 0; i < 16; i += 4) {
    console.log(`  ${[0, 1, 2, 3].map((j) => `${GPR_NAMES[i + j]!.padStart(3)}=${(s.gpr[i + j] ?? 0n).toString(16).padStart(16, '0')}${s.gpr[i + j] !== kase.gpr[i + j] ? '*' : ' '}`).join(' ')}`);
  }
  for (let i = 0; i < 16; i++) {
    if (s.xmm[2 * i] !== kase.xmm[2 * i] || s.xmm[2 * i + 1] !== kase.xmm[2 * i + 1]) {
      console.log(`  xmm${i}=${(s.xmm[2 * i + 1] ?? 0n).toString(16).padStart(16, '0')}:${(s.xmm[2 * i] ?? 0n).toString(16).padStart(16, '0')}*`);
    }
  }
  const data = s.data;
  for (let i = 0; i < 4096; i++) {
    if (data[i] === initial[i]) continue;
    let j = i;
    while (j < 4096 && j - i < 32 && data[j] !== initial[j]) j++;
    console.log(`  mem[0x${(0x200000 + i).toString(16)}] ${Buffer.from(initial.subarray(i, j)).toString('hex')} -> ${Buffer.from(data.subarray(i, j)).toString('hex')}`);
    i = j - 1;
  }
}

show('native', nat!, nat!.kind === 'ok' ? 'completed' : `${nat!.kind} vector ${nat!.exception?.vector} error ${nat!.exception?.error_code} (signal ${nat!.signo})`);

if (useEmu) {
  const loaded = await loadEmulator();
  if ('error' in loaded) {
    console.log(`\nemulator: not available (${loaded.error.split('\n')[0]})`);
  } else {
    let out: EmuOutput | null = null;
    try {
      out = loaded.emu.run(input);
    } catch (e) {
      console.log(`\nemulator threw: ${(e as Error).stack ?? e}`);
    }
    if (out) {
      show('emulator', out, `${out.exit}${out.exception ? ` vector ${out.exception.vector} error ${out.exception.error_code}` : ''}${out.reason ? ` (${out.reason})` : ''}`);
      const d = compareCase(kase, code!, nat!, out);
      console.log(d.length ? `\nMISMATCH:\n${formatDiffs(d)}` : '\nMATCH');
      process.exitCode = d.length ? 1 : 0;
    }
  }
}
