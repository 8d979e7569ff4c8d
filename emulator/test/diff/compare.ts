// Comparison of native results with the emulator's SnippetRunner output, and
// human-readable mismatch reports.

import { spawnSync } from 'node:child_process';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMPARED_FLAGS, GPR_NAMES, describeInputs, type Case } from './cases.ts';
import { BUILD_DIR, CODE_ADDR, materializePage, type ExceptionInfo, type NativeResult, type RunInput } from './native.ts';

// ---------------------------------------------------------------------------
// Emulator adapter (structural types so this file compiles before snippet.ts exists)

export interface EmuOutput {
  exit: string;
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  xmm: bigint[];
  mxcsr: number;
  data: Uint8Array;
  exception: ExceptionInfo | null;
  reason?: string;
}

export interface Emulator {
  run(input: RunInput): EmuOutput;
}

interface SnippetRunnerLike {
  run(input: {
    code: Uint8Array;
    gpr: bigint[];
    rflags: bigint;
    xmm?: bigint[];
    mxcsr?: number;
    data: Uint8Array;
  }): {
    exit: string;
    gpr: ArrayLike<bigint | number>;
    rip: bigint | number;
    rflags: bigint | number;
    xmm?: ArrayLike<bigint | number>;
    mxcsr?: number | bigint;
    data: Uint8Array;
    exception: null | { vector: number; error_code?: number; errorCode?: number };
    reason?: string;
  };
}

export const SNIPPET_PATH = fileURLToPath(new URL('../../testing/snippet.ts', import.meta.url));

/** Load the emulator's SnippetRunner, or return why it is not available. */
export async function loadEmulator(): Promise<{ emu: Emulator } | { error: string }> {
  if (!existsSync(SNIPPET_PATH)) return { error: `${SNIPPET_PATH} does not exist yet` };
  let mod: { SnippetRunner?: { create(): Promise<SnippetRunnerLike> } };
  try {
    mod = (await import(pathToFileURL(SNIPPET_PATH).href)) as typeof mod;
  } catch (e) {
    return { error: `importing snippet.ts failed: ${(e as Error).stack ?? e}` };
  }
  if (!mod.SnippetRunner) return { error: 'snippet.ts does not export SnippetRunner' };
  let runner: SnippetRunnerLike;
  try {
    runner = await mod.SnippetRunner.create();
  } catch (e) {
    return { error: `SnippetRunner.create() failed: ${(e as Error).stack ?? e}` };
  }
  const B = (v: bigint | number | undefined): bigint => BigInt.asUintN(64, BigInt(v ?? 0));
  return {
    emu: {
      run(input: RunInput): EmuOutput {
        const o = runner.run({
          code: input.code,
          gpr: input.gpr.slice(),
          rflags: input.rflags,
          xmm: input.xmm.slice(),
          mxcsr: input.mxcsr,
          data: materializePage(input),
        });
        const ex = o.exception;
        const out: EmuOutput = {
          exit: o.exit,
          gpr: Array.from(o.gpr, B),
          rip: B(o.rip),
          rflags: B(o.rflags),
          xmm: o.xmm ? Array.from(o.xmm, B) : [],
          mxcsr: Number(o.mxcsr ?? 0),
          data: o.data,
          exception: ex ? { vector: ex.vector, error_code: Number(ex.error_code ?? ex.errorCode ?? 0) } : null,
        };
        if (o.reason !== undefined) out.reason = o.reason;
        return out;
      },
    },
  };
}

// ---------------------------------------------------------------------------
// Comparison

export interface FieldDiff {
  field: string;
  native: string;
  emu: string;
}

const h64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const FLAG_NAMES: Array<[bigint, string]> = [
  [0x1n, 'CF'], [0x4n, 'PF'], [0x10n, 'AF'], [0x40n, 'ZF'], [0x80n, 'SF'], [0x400n, 'DF'], [0x800n, 'OF'],
];
export function flagString(f: bigint, m: bigint = COMPARED_FLAGS): string {
  return FLAG_NAMES.filter(([b]) => m & b).map(([b, n]) => (f & b ? n : n.toLowerCase())).join(' ');
}

/** Compare one case. Returns [] when the emulator matches the CPU. */
export function compareCase(c: Case, code: Uint8Array, nat: NativeResult, emu: EmuOutput): FieldDiff[] {
  const d: FieldDiff[] = [];
  const end = CODE_ADDR + BigInt(code.length);
  // outcome
  if (nat.kind === 'ok') {
    if (emu.exit !== 'hlt') {
      d.push({
        field: 'exit',
        native: 'completed',
        emu: `${emu.exit}${emu.exception ? ` vector ${emu.exception.vector} err ${emu.exception.error_code}` : ''}${emu.reason ? ` (${emu.reason})` : ''}`,
      });
    }
  } else {
    const ne = nat.exception!;
    if (emu.exit !== 'exception' || !emu.exception) {
      d.push({ field: 'exit', native: `exception vector ${ne.vector} err ${ne.error_code}`, emu: `${emu.exit}${emu.reason ? ` (${emu.reason})` : ''}` });
    } else {
      if (emu.exception.vector !== ne.vector) d.push({ field: 'vector', native: String(ne.vector), emu: String(emu.exception.vector) });
      // page faults: the emulator runs at CPL0, the harness at CPL3 (U/S bit differs)
      const errMask = ne.vector === 14 ? ~4 : ~0;
      if ((emu.exception.error_code & errMask) !== (ne.error_code & errMask)) {
        d.push({ field: 'error_code', native: `0x${ne.error_code.toString(16)}`, emu: `0x${emu.exception.error_code.toString(16)}` });
      }
    }
  }
  // if the outcome differs, the rest of the state is mostly noise; still show RIP
  const outcomeDiffers = d.length > 0;
  if (nat.kind === 'ok' && emu.exit === 'hlt') {
    // the emulator stops at the appended HLT: RIP at or just after it
    if (emu.rip !== end && emu.rip !== end + 1n) d.push({ field: 'rip', native: h64(end), emu: h64(emu.rip) });
  } else if (emu.rip !== nat.rip) {
    d.push({ field: 'rip', native: h64(nat.rip), emu: h64(emu.rip) });
  }
  if (outcomeDiffers) return d;
  for (let i = 0; i < 16; i++) {
    if (c.undefGpr & (1 << i)) continue;
    if (nat.gpr[i] !== emu.gpr[i]) d.push({ field: GPR_NAMES[i]!, native: h64(nat.gpr[i]!), emu: h64(emu.gpr[i] ?? 0n) });
  }
  const fm = COMPARED_FLAGS & ~c.undefFlags;
  if ((nat.rflags & fm) !== (emu.rflags & fm)) {
    d.push({ field: 'rflags', native: `${flagString(nat.rflags, fm)} (0x${nat.rflags.toString(16)})`, emu: `${flagString(emu.rflags, fm)} (0x${emu.rflags.toString(16)})` });
  }
  for (let i = 0; i < 16; i++) {
    const nl = nat.xmm[2 * i]!, nh = nat.xmm[2 * i + 1]!;
    const el = emu.xmm[2 * i] ?? 0n, eh = emu.xmm[2 * i + 1] ?? 0n;
    if (nl !== el || nh !== eh) d.push({ field: `xmm${i}`, native: `${h64(nh)}:${h64(nl).slice(2)}`, emu: `${h64(eh)}:${h64(el).slice(2)}` });
  }
  if (nat.mxcsr !== emu.mxcsr) d.push({ field: 'mxcsr', native: `0x${nat.mxcsr.toString(16)}`, emu: `0x${emu.mxcsr.toString(16)}` });
  const nd = nat.data;
  const ed = emu.data;
  if (Buffer.compare(nd, ed) === 0) return d;
  const undef = new Uint8Array(4096);
  for (const [o, l] of c.undefData) undef.fill(1, o, o + l);
  let shown = 0;
  for (let i = 0; i < 4096; i++) {
    if (undef[i] || nd[i] === ed[i]) continue;
    let j = i;
    while (j < 4096 && j - i < 16 && !undef[j] && nd[j] !== ed[j]) j++;
    if (shown++ < 4) {
      d.push({
        field: `mem[0x${(0x200000 + i).toString(16)}]`,
        native: Buffer.from(nd.subarray(i, j)).toString('hex'),
        emu: Buffer.from(ed.subarray(i, j)).toString('hex'),
      });
    }
    i = j - 1;
  }
  if (shown > 4) d.push({ field: 'mem', native: `... ${shown - 4} more differing runs`, emu: '' });
  return d;
}

// ---------------------------------------------------------------------------
// Reporting

export function disassemble(code: Uint8Array): string {
  const f = join(BUILD_DIR, `disasm-${process.pid}.bin`);
  writeFileSync(f, code);
  const r = spawnSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel', `--adjust-vma=${CODE_ADDR}`, f], { encoding: 'utf8' });
  try {
    unlinkSync(f);
  } catch {
    /* ignore */
  }
  if (r.status !== 0) return `(objdump failed: ${r.stderr})`;
  return r.stdout
    .split('\n')
    .filter((l) => /^\s+[0-9a-f]+:\t/.test(l))
    .map((l) => `    ${l.trim()}`)
    .join('\n');
}

export function formatDiffs(d: FieldDiff[]): string {
  const w = Math.max(8, ...d.map((x) => x.field.length));
  const nw = Math.max(6, ...d.map((x) => x.native.length));
  return [`    ${'field'.padEnd(w)}  ${'native'.padEnd(nw)}  emulator`, ...d.map((x) => `    ${x.field.padEnd(w)}  ${x.native.padEnd(nw)}  ${x.emu}`)].join('\n');
}

/** `repro` is appended to the header, e.g. the run-native.ts command line reproducing the case. */
export function formatCase(c: Case, code: Uint8Array, diffs: FieldDiff[], repro = ''): string {
  const lines = [
    `  case #${c.id} [${c.group}]${c.note ? ` (${c.note})` : ''}${repro ? `  repro: ${repro}` : ''}`,
    `    asm: ${c.asm.split('\n').join(' ; ')}`,
    `    bytes: ${Buffer.from(code).toString('hex')}`,
    disassemble(code),
    describeInputs(c).split('\n').map((l) => `    ${l}`).join('\n'),
  ];
  if (c.undefFlags) lines.push(`    undefined flags (ignored): ${flagString(c.undefFlags, c.undefFlags)}`);
  lines.push(formatDiffs(diffs));
  return lines.join('\n');
}

export interface GroupReport {
  group: string;
  total: number;
  failed: number;
  byMnemonic: Map<string, number>;
  text: string;
}

/** Key used to sub-group mismatches inside a test group (mnemonic + operand shape). */
export function mismatchKey(c: Case): string {
  const key = shapeKey(c);
  return c.group === 'faults' || c.group === 'prefixes' ? `${key}${c.note ? ` (${c.note})` : ''}` : key;
}

function shapeKey(c: Case): string {
  const lines = c.asm.split('\n');
  const first = (c.focus !== undefined ? lines[c.focus] : lines.find((l) => /^\s*(\d+:\s*)?[a-z{]/.test(l))) ?? lines[0] ?? '';
  const comment = /^\s*\.byte[^#]*#\s*(.+)$/.exec(first);
  if (comment) return comment[1]!.trim();
  if (/^\s*\.byte/.test(first)) return `.byte ${first.replace(/^\s*\.byte\s*/, '').split(/,\s*/).slice(0, 4).join(' ')}`;
  const stripped = first.replace(/^\s*\d+:\s*/, '').replace(/\{(load|store)\}\s*/, '');
  const m = /^((?:lock |rep\w* |addr32 )*)(\S+)\s*(.*)$/.exec(stripped);
  if (!m) return c.group;
  const shape = m[3]!
    .split(',')
    .map((o) => {
      o = o.trim();
      if (!o) return '';
      const p = /^(\w+) ptr/.exec(o);
      if (p) return `m${({ byte: 8, word: 16, dword: 32, qword: 64, xmmword: 128 } as Record<string, number>)[p[1]!] ?? ''}`;
      if (/^\[/.test(o)) return 'm';
      if (/^xmm\d+$/.test(o)) return 'xmm';
      if (/^-?(0x)?[0-9a-f]+$/i.test(o)) return 'imm';
      if (/^(r\d+b|[a-d]l|[a-d]h|spl|bpl|sil|dil)$/.test(o)) return 'r8';
      if (/^(r\d+w|[a-d]x|sp|bp|si|di)$/.test(o)) return 'r16';
      if (/^(r\d+d|e[a-d]x|esp|ebp|esi|edi)$/.test(o)) return 'r32';
      if (/^(r\d+|r[a-d]x|rsp|rbp|rsi|rdi)$/.test(o)) return 'r64';
      return o;
    })
    .filter(Boolean)
    .join(',');
  return `${m[1]}${m[2]}${shape ? ` ${shape}` : ''}`;
}
