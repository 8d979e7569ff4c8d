// The block engine (pre-decoded blocks, core/exec.ts) against the one-instruction interpreter
// (core/interp.ts, itself checked against the host CPU by test/diff): self-modifying code,
// exact instruction counts at run() budget boundaries, faults in the middle of a block, and
// random instruction sequences run both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../scripts/lib/gas.ts';
import { createRawMachine, type RawMachine } from '../raw-machine.ts';
import { Rng } from './diff/cases.ts';

const CODE = 0x100000;
const BUF = 0x200000;     // data buffer (8 KiB), rbx/ebx points here
const STACK = 0x300000;

type Bits = 32 | 64;
const machines = new Map<string, RawMachine>();
async function machine(bits: Bits, blocks: boolean): Promise<RawMachine> {
  const key = `${bits}/${blocks}`;
  let m = machines.get(key);
  if (!m) {
    m = await createRawMachine({ memMiB: 8, bits });
    m.cpu.setBlockEngine(blocks);
    machines.set(key, m);
  }
  return m;
}

interface Prepared { m: RawMachine; sym: Map<string, number> }
const icountBase = new WeakMap<RawMachine, number>();
const assembled = new Map<string, { bytes: Uint8Array; symbols: Map<string, number> }>();
async function prepare(src: string, bits: Bits, blocks: boolean, regs: bigint[] = [], rflags = 2n): Promise<Prepared> {
  const key = `${bits}:${src}`;
  let asm = assembled.get(key);
  if (!asm) {
    assembled.clear();
    asm = assemble(src, { bits, org: CODE, output: 'raw', name: 'blocks test' });
    assembled.set(key, asm);
  }
  const { bytes, symbols } = asm;
  const m = await machine(bits, blocks);
  m.resetState();
  m.mem.fill(0, CODE, CODE + 0x4000 + bytes.length);
  m.mem.fill(0, BUF, BUF + 0x2000);
  for (let i = 0; i < 0x2000; i++) m.mem[BUF + i] = (i * 37 + 11) & 0xff;
  m.load(bytes, CODE);
  for (let i = 0; i < 16; i++) m.cpu.setGpr(i, regs[i] ?? 0n);
  m.cpu.setGpr(3, BigInt(BUF));
  m.cpu.setGpr(4, BigInt(STACK));
  m.cpu.set({ rip: BigInt(symbols.get('_start') ?? CODE), rflags: rflags | 2n });
  icountBase.set(m, m.cpu.instructions);
  return { m, sym: symbols };
}

function state(m: RawMachine): Record<string, string> {
  const r = m.regs();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) out[k] = `0x${v.toString(16)}`;
  out.icount = String(m.cpu.instructions - (icountBase.get(m) ?? 0));
  let h = 0;
  for (let i = BUF; i < BUF + 0x2000; i++) h = (Math.imul(h, 31) + m.mem[i]!) | 0;
  out.buf = String(h >>> 0);
  return out;
}

// ---------------------------------------------------------------- self-modifying code

test('self-modifying code: patching an instruction that already ran', async () => {
  const src = `
  _start:
    mov ecx, 3
    xor eax, eax
  again:
    call target
    mov byte ptr [rip + target + 2], 10   /* add eax, 1 -> add eax, 10 */
    dec ecx
    jnz again
    hlt
  target:
    add eax, 1
    ret
  `;
  for (const blocks of [true, false]) {
    const { m } = await prepare(src, 64, blocks);
    const r = m.run(1000);
    assert.equal(r.exit, 'hlt');
    assert.equal(m.regs().rax, 21n, `blocks=${blocks}`);
  }
});

test('self-modifying code: a store into the current block, ahead of execution', async () => {
  const src = `
  _start:
    xor eax, eax
    mov edx, 5
    mov byte ptr [rip + patch + 1], 0x42  /* the imm8 of "mov al, 0x11" below */
    add edx, 1
  patch:
    mov al, 0x11
    mov r8b, al
    add byte ptr [rip + patch2 + 1], 1     /* read-modify-write over code */
  patch2:
    mov cl, 0x20
    lea rdi, [rip + patch3]
    mov al, 0x90                           /* nop out "inc edx" with a string store */
    mov rcx, 4
    push rax
    mov al, 0x90
    rep stosb
    pop rax
  patch3:
    inc edx
    inc edx
    hlt
  `;
  for (const blocks of [true, false]) {
    const { m } = await prepare(src, 64, blocks);
    const r = m.run(1000);
    assert.equal(r.exit, 'hlt');
    const g = m.regs();
    assert.equal(g.r8 & 0xffn, 0x42n, `blocks=${blocks}: al`);
    assert.equal(g.rcx & 0xffn, 0n, `blocks=${blocks}: rcx after rep`);
    assert.equal(g.rdx, 6n, `blocks=${blocks}: edx (both incs were overwritten)`);
  }
});

test('self-modifying code: a loop rewriting its own body; data writes next to code', async () => {
  // The loop body's immediate is bumped every iteration (the decoded block must be rebuilt
  // each time), and a counter on the same page is written without touching code bytes.
  const src = `
  _start:
    xor eax, eax
    xor esi, esi
    mov ecx, 100
  loop:
    add eax, 0                         /* imm8 patched below */
  patched:
    inc byte ptr [rip + loop + 2]
    inc dword ptr [rip + counter]
    add esi, dword ptr [rip + counter]
    dec ecx
    jnz loop
    hlt
  .p2align 7
  counter:
    .long 0
  `;
  const out: Record<string, string>[] = [];
  for (const blocks of [true, false]) {
    const { m } = await prepare(src, 64, blocks);
    const r = m.run(10000);
    assert.equal(r.exit, 'hlt');
    const g = m.regs();
    assert.equal(g.rax, BigInt((99 * 100) / 2), `blocks=${blocks}: sum of 0..99`);
    assert.equal(g.rsi, BigInt((100 * 101) / 2), `blocks=${blocks}: counter sum`);
    out.push(state(m));
  }
  assert.deepEqual(out[0], out[1]);
});

test('self-modifying code: the host rewrites code between runs (invalidateCode)', async () => {
  const src = `
  _start:
    mov eax, 1
    hlt
    jmp _start
  `;
  const { m, sym } = await prepare(src, 64, true);
  assert.equal(m.run(100).exit, 'hlt');
  assert.equal(m.regs().rax, 1n);
  const at = sym.get('_start')! + 1; // imm32 of mov eax, 1
  m.mem[at] = 7;
  m.cpu.invalidateCode(at, 1);
  m.cpu.set({ halted: 0 });
  assert.equal(m.run(100).exit, 'hlt'); // jmp _start, mov eax, 7
  assert.equal(m.regs().rax, 7n);
});

// ---------------------------------------------------------------- budgets and faults

test('run(budget) retires exactly `budget` instructions, with the state of the interpreter', async () => {
  // Blocks whose flags are dead in the middle (shl/xor/...), memory traffic, a call.
  const src = `
  _start:
    mov eax, 0x92d68ca2
    xor edi, edi
    mov esi, ${BUF}
    mov r13d, 2000
  top:
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    mov ebx, eax
    and ebx, 0xffc
    add edi, dword ptr [rsi + rbx]
    mov dword ptr [rsi + rbx], eax
    call leaf
    cmp eax, edi
    adc r8, 0
    dec r13d
    jnz top
    hlt
  leaf:
    sub edi, 3
    setc cl
    ret
  `;
  const rng = new Rng(1234);
  const a = await prepare(src, 64, true);
  const b = await prepare(src, 64, false);
  let done = false;
  let n = 0;
  while (!done) {
    const budget = [1, 2, 3, 7, 15, 16, 17, 47, 48, 49, 100, 1000][rng.int(12)]! + rng.int(3);
    const ra = a.m.run(budget);
    const rb = b.m.run(budget);
    assert.equal(ra.exit, rb.exit);
    assert.equal(ra.instructions, rb.instructions);
    if (ra.exit === 'limit') assert.equal(ra.instructions, budget);
    assert.deepEqual(state(a.m), state(b.m), `after run #${n} of ${budget}`);
    done = ra.exit === 'hlt';
    n++;
  }
  assert.ok(a.m.cpu.instructions > 30000);
});

test('a fault in the middle of a block: RIP, retired count, registers and flags are exact', async () => {
  // #GP (non-canonical) and #PF-free raw faults at several places of one block.
  for (const at of [0, 1, 2, 3, 4]) {
    const body = ['shl edx, 3', 'xor eax, edx', 'add r9, 7', 'sub ecx, eax', 'neg r14'];
    body.splice(at, 0, 'mov r11, qword ptr [r10]'); // r10 is non-canonical
    const src = `
    _start:
      mov eax, 5
      mov edx, 9
      mov r10, 0x8000000000000000
      cmp eax, edx
      ${body.join('\n      ')}
      hlt
    `;
    const out: Record<string, string>[] = [];
    for (const blocks of [true, false]) {
      const { m } = await prepare(src, 64, blocks, [], 0x8d5n);
      const r = m.run(1000);
      assert.equal(r.exit, 'exception');
      assert.equal(r.exception!.vector, 13);
      out.push({ ...state(m), instructions: String(r.instructions) });
    }
    assert.deepEqual(out[0], out[1], `fault at ${at}`);
  }
});

// ---------------------------------------------------------------- random programs

const R64 = ['rax', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'r8d', 'r9d', 'r10d', 'r11d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'si', 'di', 'bp', 'r8w', 'r11w'];
const R8_LEGACY = ['al', 'cl', 'dl', 'ah', 'ch', 'dh', 'bh'];
const R8_REX = ['al', 'cl', 'dl', 'sil', 'dil', 'bpl', 'r8b', 'r9b', 'r14b'];
const R32_32 = ['eax', 'ecx', 'edx', 'esi', 'edi', 'ebp'];
const R16_32 = ['ax', 'cx', 'dx', 'si', 'di', 'bp'];
const R8_32 = ['al', 'cl', 'dl', 'ah', 'ch', 'dh', 'bl', 'bh'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

function gen(rng: Rng, bits: Bits, n: number): string {
  const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)]!;
  const is64 = bits === 64;
  const imm = (): string => pick(['0', '1', '-1', '0x7f', '-128', '0x7fffffff', '-0x80000000', String(rng.u32() | 0), String(rng.int(256))]);
  const base = is64 ? 'rbx' : 'ebx';
  const mem = (sz: string, size = 8): string => {
    const d = rng.int(0x1000 - 8);
    switch (rng.int(is64 ? 4 : 2)) {
      case 0: return `${sz} ptr [${base} + ${d}]`;
      case 1: return `${sz} ptr [${base} + ${is64 ? 'r12' : 'edi'}*${pick([1, 2, 4, 8])} + ${d & 0x7ff}]`;
      case 2: return `${sz} ptr [rip + data + ${rng.int(256 - size)}]`;
      default: return `${sz} ptr fs:[${base} + ${d}]`;
    }
  };
  // a register of the operand size w (8, 16, 32, 64); `rex`: may need a REX prefix
  const regOf = (w: number, rex = is64): string => {
    if (w === 64) return pick(R64);
    if (w === 32) return pick(is64 ? R32 : R32_32);
    if (w === 16) return pick(is64 ? R16 : R16_32);
    return pick(is64 ? (rex ? R8_REX : R8_LEGACY) : R8_32);
  };
  const lines: string[] = [];
  let label = 0;
  for (let i = 0; i < n; i++) {
    const w = is64 && rng.int(2) ? 64 : 32;
    const reg = regOf(w);
    const other = regOf(w);
    const m = w === 64 ? 'qword' : 'dword';
    switch (rng.int(is64 ? 30 : 24)) {
      case 0: lines.push(`${pick(ALU)} ${reg}, ${other}`); break;
      case 1: lines.push(`${pick(ALU)} ${reg}, ${imm()}`); break;
      case 2: { const op = pick(ALU); lines.push(op === 'test' ? `test ${mem(m)}, ${reg}` : `${op} ${reg}, ${mem(m)}`); break; }
      case 3: lines.push(`${pick(ALU)} ${mem(m)}, ${reg}`); break;
      case 4: lines.push(`${pick(ALU)} ${mem(m)}, ${rng.int(200) - 100}`); break;
      case 5: { const rex = rng.int(2) === 0; lines.push(`${pick(ALU)} ${regOf(8, rex)}, ${regOf(8, rex)}`); break; }
      case 6: lines.push(`${pick(ALU)} ${mem('byte', 1)}, ${rng.int(256) - 128}`); break;
      case 7: lines.push(`${pick(['inc', 'dec', 'neg', 'not'])} ${rng.int(2) ? reg : mem(m)}`); break;
      case 8: lines.push(`${pick(['shl', 'shr', 'sar', 'rol', 'ror', 'rcl'])} ${reg}, ${pick(['1', String(rng.int(64)), 'cl'])}`); break;
      case 9: lines.push(`mov ${reg}, ${rng.int(2) ? imm() : mem(m)}`); break;
      case 10: lines.push(`mov ${mem(m)}, ${rng.int(2) ? reg : String(rng.int(1000))}`); break;
      case 11: {
        const op = pick(['movzx', 'movsx']);
        const f = rng.int(3);
        const src = f === 0 ? regOf(8, is64 && (reg.startsWith('r') || rng.int(2) === 0)) : f === 1 ? mem('byte', 1) : mem('word', 2);
        lines.push(`${op} ${reg}, ${src}`);
        break;
      }
      case 12: lines.push(`lea ${reg}, [${base} + ${is64 ? pick(R64) : pick(R32_32)}*${pick([1, 2, 4, 8])} + ${rng.int(100000) - 50000}]`); break;
      case 13: lines.push(`imul ${reg}, ${rng.int(2) ? other : mem(m)}${rng.int(2) ? `, ${rng.int(300) - 150}` : ''}`); break;
      case 14: lines.push(`set${pick(CC)} ${rng.int(2) ? regOf(8, rng.int(2) === 0) : mem('byte', 1)}`); break;
      case 15: lines.push(`cmov${pick(CC)} ${reg}, ${rng.int(2) ? other : mem(m)}`); break;
      case 16: lines.push(`xchg ${reg}, ${other}`); break;
      case 17: lines.push(pick(is64 ? ['cdq', 'cqo', 'cdqe', 'cwde', 'cwd', 'cbw'] : ['cdq', 'cwde', 'cwd', 'cbw'])); break;
      case 18: lines.push(`j${pick(CC)} 9${label}f`, `${pick(ALU)} ${reg}, ${rng.int(9)}`, `9${label}:`); label++; break;
      case 19: lines.push(pick(['clc', 'stc', 'cmc', 'nop', 'bt eax, 3', 'bsf edx, esi', 'popcnt ecx, eax', 'xadd eax, edx',
        'bswap eax', 'sahf', 'lahf', is64 ? 'pushfq\n  pop rdx' : 'pushfd\n  pop edx'])); break;
      case 20: lines.push(`test ${rng.int(2) ? reg : mem(m)}, ${rng.int(2) ? imm() : reg}`); break;
      case 21: lines.push(`call fn${rng.int(3)}`); break;
      case 22: lines.push(`${pick(['add', 'sub', 'and', 'xor', 'cmp'])} ${regOf(16)}, ${regOf(16)}`); break;
      case 23: lines.push(`${pick(['adc', 'sbb'])} ${reg}, ${rng.int(2) ? String(rng.int(100)) : other}`); break;
      // 64-bit only
      case 24: lines.push(`push ${pick(R64)}`, `${pick(ALU)} ${pick(R64)}, ${pick(R64)}`, `pop ${pick(R64)}`); break;
      case 25: lines.push(`push ${pick(['7', '-3', `qword ptr [rbx + ${rng.int(512) * 8}]`])}`, `pop ${pick(R64)}`); break;
      case 26: lines.push(`movsxd ${pick(R64)}, ${rng.int(2) ? pick(R32) : mem('dword', 4)}`); break;
      case 27: lines.push(`mov ${pick(R64)}, ${rng.int(2) ? '0x123456789abcdef0' : String(rng.int(1 << 30))}`); break;
      case 28: lines.push(`lea ${pick(R64)}, [rip + data + ${rng.int(64)}]`); break;
      default: lines.push(`shr ${pick(R64)}, cl`, `sar ${pick(R32)}, ${rng.int(32)}`); break;
    }
  }
  return lines.map((l) => (is64 ? l : l.replace(/fs:/, ''))).join('\n  ');
}

function program(rng: Rng, bits: Bits): string {
  const setup = bits === 64 ? 'mov r12, 5\n  mov r13d, 3' : 'mov edi, 5\n  mov esp, 0x300000';
  const loop = bits === 64 ? 'dec r13d\n  jnz top' : 'nop';
  const fns = [0, 1, 2].map((i) => `fn${i}:\n  ${gen(rng, bits, 4).replace(/call fn\d/g, 'nop')}\n  ret`).join('\n');
  // NOP padding so that the code crosses a page boundary at varying places
  return `
  _start:
  .fill ${rng.int(4000)}, 1, 0x90
  ${setup}
  top:
  ${gen(rng, bits, 40 + rng.int(120))}
  ${loop}
  hlt
  ${fns}
  .p2align 6
  data:
  .fill 256, 1, 0x5a
  `;
}

async function randomPrograms(bits: Bits, count: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (let c = 0; c < count; c++) {
    const src = program(rng, bits);
    const regs = Array.from({ length: 16 }, () => (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
    if (bits === 32) for (let i = 0; i < 16; i++) regs[i] = regs[i]! & 0xffffffffn;
    const flags = BigInt(rng.u32() & 0x8d5);
    const a = await prepare(src, bits, true, regs, flags);
    const b = await prepare(src, bits, false, regs, flags);
    // uneven budgets, so that runs end inside blocks too
    let lastExit = '';
    for (let step = 0; step < 100; step++) {
      const budget = rng.int(3) === 0 ? 1 + rng.int(60) : 100000;
      const ra = a.m.run(budget);
      const rb = b.m.run(budget);
      const sa = { ...state(a.m), exit: ra.exit, vector: String(ra.exception?.vector) };
      const sb = { ...state(b.m), exit: rb.exit, vector: String(rb.exception?.vector) };
      if (JSON.stringify(sa) !== JSON.stringify(sb)) {
        assert.deepEqual(sa, sb, `program ${c} (${bits}-bit), run ${step}:\n${src}`);
      }
      lastExit = ra.exit;
      if (ra.exit !== 'limit') break;
    }
    stats.runs++;
    stats.instructions += a.m.cpu.instructions - (icountBase.get(a.m) ?? 0);
    stats.exits[lastExit] = (stats.exits[lastExit] ?? 0) + 1;
  }
}
const stats = { runs: 0, instructions: 0, exits: {} as Record<string, number> };

test('random 64-bit programs: block engine == interpreter', async () => {
  await randomPrograms(64, Number(process.env.JINX_BLOCK_CASES ?? 150), 0x6a696e78);
});

test('random 32-bit programs: block engine == interpreter', async () => {
  await randomPrograms(32, Number(process.env.JINX_BLOCK_CASES ?? 150) / 3, 0x32323232);
  if (process.env.JINX_BLOCK_STATS) console.log(stats);
});
