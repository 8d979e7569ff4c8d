// Native side of the differential tests: builds the C harness, assembles
// snippets with GNU as, runs batches on the host CPU and decodes the results.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_ADDR = 0x100000n;
export const DATA_ADDR = 0x200000n;
export const PAGE_SIZE = 4096;

const HERE = dirname(fileURLToPath(import.meta.url));
export const BUILD_DIR = join(HERE, '.build');
const NATIVE_DIR = join(HERE, 'native');

/** Placeholder in snippet source for position-independent absolute addressing:
 *  `[rip + @S + 0x200010]` addresses absolute 0x200010 when the snippet runs at CODE_ADDR
 *  (it becomes `jx_c_N - 0x100000`, so the assembler resolves the RIP-relative displacement). */
export const SNIPPET_BASE = '@S';

export interface Patch {
  off: number;
  bytes: Uint8Array;
}

/** Input of one snippet run (shared by the native harness and the emulator). */
export interface RunInput {
  code: Uint8Array;
  gpr: bigint[]; // 16: rax rcx rdx rbx rsp rbp rsi rdi r8..r15
  rflags: bigint;
  xmm: bigint[]; // 32: lo, hi per register
  mxcsr: number;
  page: Uint8Array; // base data page (4096 bytes, may be shared between cases)
  patches: Patch[]; // applied over `page`
}

export interface ExceptionInfo {
  vector: number;
  error_code: number;
}

/** Final (or at-fault) machine state. */
export interface MachineState {
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  xmm: bigint[];
  mxcsr: number;
  data: Uint8Array;
}

export interface NativeResult extends MachineState {
  kind: 'ok' | 'exception' | 'harness-fault' | 'timeout';
  signo: number;
  exception: ExceptionInfo | null;
  cr2: bigint;
  nextPageWritten: boolean;
  /** final data page as changes relative to the initial page (`data` materializes it) */
  dataDiffs: Patch[];
}

export function materializePage(input: { page: Uint8Array; patches: Patch[] }): Uint8Array {
  const p = new Uint8Array(input.page);
  for (const { off, bytes } of input.patches) p.set(bytes, off);
  return p;
}

function ensureDir(d: string): void {
  if (!existsSync(d)) mkdirSync(d, { recursive: true });
}

function mtime(p: string): number {
  return statSync(p).mtimeMs;
}

function rm(...paths: string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      /* ignore */
    }
  }
}

/** keep only the most recent assembled-code cache files */
function pruneCache(keep = 16): void {
  const files = readdirSync(BUILD_DIR)
    .filter((f) => /^asm-[0-9a-f]{24}\.bin$/.test(f))
    .map((f) => ({ f: join(BUILD_DIR, f), t: mtime(join(BUILD_DIR, f)) }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of files.slice(keep)) rm(f);
}

/** Compile the harness (if its sources are newer than the binary) and return its path. */
export function buildHarness(): string {
  ensureDir(BUILD_DIR);
  const exe = join(BUILD_DIR, 'harness');
  const srcs = [join(NATIVE_DIR, 'harness.c'), join(NATIVE_DIR, 'entry.S')];
  if (existsSync(exe) && srcs.every((s) => mtime(s) <= mtime(exe))) return exe;
  const tmp = `${exe}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, ...srcs], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, exe);
  return exe;
}

export class AssemblyError extends Error {}

/**
 * Assemble many snippets with a single `as --64` run. Each snippet is GNU as
 * Intel syntax (may span lines, may use local numeric labels, and the
 * SNIPPET_BASE placeholder). Results are cached in .build by content hash.
 * Throws AssemblyError naming the offending snippets if anything fails to
 * assemble or needs a relocation (e.g. a misspelled register became a symbol).
 */
export function assembleSnippets(snippets: string[]): Uint8Array[] {
  ensureDir(BUILD_DIR);
  const lines: string[] = ['.intel_syntax noprefix', '.text'];
  const lineOwner: number[] = [-1, -1];
  for (let i = 0; i < snippets.length; i++) {
    const label = `jx_c_${i}`;
    lines.push(`${label}:`);
    lineOwner.push(i);
    for (const l of snippets[i]!.split('\n')) {
      lines.push(l.split(SNIPPET_BASE).join(`${label} - 0x100000`));
      lineOwner.push(i);
    }
    lines.push(`jx_e_${i}:`);
    lineOwner.push(i);
  }
  lines.push('');
  const src = lines.join('\n');
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 24);
  const cache = join(BUILD_DIR, `asm-${hash}.bin`);
  if (existsSync(cache)) {
    const cached = decodeCodeCache(readFileSync(cache), snippets.length);
    if (cached) return cached;
  }
  const base = join(BUILD_DIR, `asm-${process.pid}`);
  writeFileSync(`${base}.s`, src);
  const as = spawnSync('as', ['--64', '-o', `${base}.o`, `${base}.s`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (as.status !== 0) {
    const msgs: string[] = [];
    for (const m of (as.stderr ?? '').split('\n')) {
      const mm = /:(\d+): (.*)$/.exec(m);
      if (!mm) continue;
      const owner = lineOwner[Number(mm[1]) - 1] ?? -1;
      msgs.push(`  snippet #${owner}: ${mm[2]}\n    ${JSON.stringify(snippets[owner] ?? lines[Number(mm[1]) - 1])}`);
      if (msgs.length >= 20) break;
    }
    throw new AssemblyError(`as failed (${base}.s):\n${msgs.join('\n') || as.stderr}`);
  }
  const relocs = spawnSync('objdump', ['-r', `${base}.o`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const nm = spawnSync('nm', ['--defined-only', `${base}.o`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (nm.status !== 0) throw new AssemblyError(`nm failed: ${nm.stderr}`);
  const starts = new Array<number>(snippets.length).fill(-1);
  const ends = new Array<number>(snippets.length).fill(-1);
  const other: string[] = [];
  for (const l of nm.stdout.split('\n')) {
    const m = /^([0-9a-f]+) \w (\S+)$/.exec(l);
    if (!m) continue;
    const sm = /^jx_([ce])_(\d+)$/.exec(m[2]!);
    if (!sm) {
      other.push(m[2]!);
      continue;
    }
    (sm[1] === 'c' ? starts : ends)[Number(sm[2])] = parseInt(m[1]!, 16);
  }
  const relocLines = relocs.stdout.split('\n').filter((l) => /^[0-9a-f]{8,}\s/.test(l));
  if (relocLines.length > 0 || other.length > 0) {
    const bad: string[] = [];
    for (const l of relocLines.slice(0, 10)) {
      const off = parseInt(l.split(/\s+/)[0]!, 16);
      const owner = starts.findIndex((s, i) => s <= off && off < ends[i]!);
      bad.push(`  snippet #${owner}: relocation ${l.trim()}\n    ${JSON.stringify(snippets[owner])}`);
    }
    if (other.length) bad.push(`  unexpected symbols: ${other.slice(0, 10).join(' ')}`);
    throw new AssemblyError(`snippets need relocations or define symbols (typo in a register name?):\n${bad.join('\n')}`);
  }
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', `${base}.o`, `${base}.bin`]);
  const text = readFileSync(`${base}.bin`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < snippets.length; i++) {
    if (starts[i]! < 0 || ends[i]! < starts[i]!) throw new AssemblyError(`snippet #${i}: labels not found`);
    out.push(new Uint8Array(text.subarray(starts[i]!, ends[i]!)));
  }
  writeFileSync(cache, encodeCodeCache(out));
  rm(`${base}.s`, `${base}.o`, `${base}.bin`);
  pruneCache();
  return out;
}

function encodeCodeCache(codes: Uint8Array[]): Buffer {
  const total = codes.reduce((a, c) => a + 4 + c.length, 4);
  const b = Buffer.alloc(total);
  b.writeUInt32LE(codes.length, 0);
  let o = 4;
  for (const c of codes) {
    b.writeUInt32LE(c.length, o);
    b.set(c, o + 4);
    o += 4 + c.length;
  }
  return b;
}

function decodeCodeCache(b: Buffer, n: number): Uint8Array[] | null {
  if (b.length < 4 || b.readUInt32LE(0) !== n) return null;
  const out: Uint8Array[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(o);
    out.push(new Uint8Array(b.subarray(o + 4, o + 4 + len)));
    o += 4 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Batch encoding / decoding (format documented in native/harness.c)

function encodeBatch(inputs: RunInput[]): Buffer {
  const pageIndex = new Map<Uint8Array, number>();
  const pages: Uint8Array[] = [];
  let size = 16;
  for (const c of inputs) {
    if (c.page.length !== PAGE_SIZE) throw new Error('data page must be 4096 bytes');
    if (!pageIndex.has(c.page)) {
      pageIndex.set(c.page, pages.length);
      pages.push(c.page);
    }
    size += 16 + 8 + 128 + 256 + c.code.length;
    for (const p of c.patches) size += 4 + p.bytes.length;
  }
  size += pages.length * PAGE_SIZE;
  const b = Buffer.alloc(size);
  b.write('JXI1', 0, 'latin1');
  b.writeUInt32LE(pages.length, 4);
  b.writeUInt32LE(inputs.length, 8);
  let o = 16;
  for (const p of pages) {
    b.set(p, o);
    o += PAGE_SIZE;
  }
  for (const c of inputs) {
    b.writeUInt32LE(c.code.length, o);
    b.writeUInt32LE(pageIndex.get(c.page)!, o + 4);
    b.writeUInt32LE(c.mxcsr >>> 0, o + 8);
    b.writeUInt32LE(c.patches.length, o + 12);
    b.writeBigUInt64LE(BigInt.asUintN(64, c.rflags), o + 16);
    o += 24;
    for (let i = 0; i < 16; i++, o += 8) b.writeBigUInt64LE(BigInt.asUintN(64, c.gpr[i] ?? 0n), o);
    for (let i = 0; i < 32; i++, o += 8) b.writeBigUInt64LE(BigInt.asUintN(64, c.xmm[i] ?? 0n), o);
    b.set(c.code, o);
    o += c.code.length;
    for (const p of c.patches) {
      if (p.off < 0 || p.off + p.bytes.length > PAGE_SIZE) throw new Error(`patch out of page: ${p.off}+${p.bytes.length}`);
      b.writeUInt16LE(p.off, o);
      b.writeUInt16LE(p.bytes.length, o + 2);
      b.set(p.bytes, o + 4);
      o += 4 + p.bytes.length;
    }
  }
  if (o !== size) throw new Error('encodeBatch: size mismatch');
  return b;
}

const KINDS = ['ok', 'exception', 'harness-fault', 'timeout'] as const;

function decodeBatch(b: Buffer, inputs: RunInput[]): NativeResult[] {
  if (b.toString('latin1', 0, 4) !== 'JXO1') throw new Error('harness output: bad magic');
  const n = b.readUInt32LE(4);
  if (n !== inputs.length) throw new Error(`harness output: ${n} cases, expected ${inputs.length}`);
  let o = 16;
  const out: NativeResult[] = [];
  for (let c = 0; c < n; c++) {
    const kind = KINDS[b.readUInt32LE(o)] ?? 'harness-fault';
    const signo = b.readUInt32LE(o + 4);
    const trapno = b.readUInt32LE(o + 8);
    const err = b.readUInt32LE(o + 12);
    const cr2 = b.readBigUInt64LE(o + 16);
    const rip = b.readBigUInt64LE(o + 24);
    const rflags = b.readBigUInt64LE(o + 32);
    o += 40;
    const gpr: bigint[] = [];
    for (let i = 0; i < 16; i++, o += 8) gpr.push(b.readBigUInt64LE(o));
    const xmm: bigint[] = [];
    for (let i = 0; i < 32; i++, o += 8) xmm.push(b.readBigUInt64LE(o));
    const mxcsr = b.readUInt32LE(o);
    const flags = b.readUInt32LE(o + 4);
    const ndiff = b.readUInt32LE(o + 8);
    o += 16;
    const diffs: Patch[] = [];
    for (let i = 0; i < ndiff; i++) {
      const off = b.readUInt16LE(o);
      const len = b.readUInt16LE(o + 2);
      diffs.push({ off, bytes: new Uint8Array(b.subarray(o + 4, o + 4 + len)) });
      o += 4 + len;
    }
    const input = inputs[c]!;
    out.push({
      kind,
      signo,
      exception: kind === 'ok' ? null : { vector: trapno, error_code: err },
      cr2,
      nextPageWritten: (flags & 1) !== 0,
      gpr,
      rip,
      rflags,
      xmm,
      mxcsr,
      dataDiffs: diffs,
      // materialized on demand: keeping 4 KiB per case alive costs too much for large batches
      get data(): Uint8Array {
        const d = materializePage(input);
        for (const p of diffs) d.set(p.bytes, p.off);
        return d;
      },
    });
  }
  if (o !== b.length) throw new Error('harness output: trailing bytes');
  return out;
}

/** Run a batch of snippets on the host CPU (one harness process for the whole batch). */
export function runNative(inputs: RunInput[], harness = buildHarness()): NativeResult[] {
  const batch = encodeBatch(inputs);
  const base = join(BUILD_DIR, `batch-${process.pid}`);
  writeFileSync(`${base}.in`, batch);
  const r = spawnSync(harness, [`${base}.in`, `${base}.out`], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    throw new Error(`harness failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  }
  const out = decodeBatch(readFileSync(`${base}.out`), inputs);
  rm(`${base}.in`, `${base}.out`);
  return out;
}
