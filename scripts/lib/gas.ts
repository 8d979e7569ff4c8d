// Assemble GNU as source at run time (GNU binutils: as + ld + objcopy + nm).
//
//   const { bytes, symbols } = assemble(src, { bits: 64, org: 0x100000, output: 'raw' });
//   const elf = assemble(src, { bits: 32, org: 0x100000, output: 'elf' }).bytes;
//
// - syntax 'intel' (default) prepends `.intel_syntax noprefix`; 'att' leaves GNU's default.
// - The matching `.code16/.code32/.code64` directive is prepended; 16- and 32-bit code is
//   assembled with `as --32` and linked with `ld -m elf_i386`, 64-bit with `--64` / `elf_x86_64`.
// - Everything is linked by a small generated linker script at `org`, in source order:
//   .text, .rodata, .data, then .bss. For 'raw' the sections are merged into one blob starting at
//   `org` (the .bss is materialised as zeros); for 'elf' they stay separate in an ELF executable
//   (ELF32 for bits 16/32, ELF64 for bits 64) with entry `entry` (default `_start`, else `org`).
// - `symbols` maps every symbol of the linked image to its absolute address.
//
// All work happens in a fresh temporary directory that is removed afterwards.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type GasSyntax = 'intel' | 'att';
export type GasBits = 16 | 32 | 64;

export interface AssembleOptions {
  bits: GasBits;
  /** link address of the first byte (default 0) */
  org?: number;
  /** 'raw': flat binary loaded at org; 'elf': linked ELF executable */
  output: 'raw' | 'elf';
  syntax?: GasSyntax;
  /** entry symbol recorded in the ELF header (default `_start` if defined) */
  entry?: string;
  /** name used in error messages */
  name?: string;
}

export interface AssembleResult {
  bytes: Uint8Array;
  symbols: Map<string, number>;
}

export class GasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GasError';
  }
}

function run(tool: string, args: string[], cwd: string, what: string): string {
  try {
    return execFileSync(tool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (err.code === 'ENOENT') {
      throw new GasError(`gas: '${tool}' not found on PATH (install GNU binutils: apt-get install binutils)`);
    }
    const detail = String(err.stderr ?? err.message).trim();
    throw new GasError(`gas: ${tool} failed for ${what}:\n${detail}`);
  }
}

/** True if GNU as can be executed. */
export function haveGas(): boolean {
  try {
    execFileSync('as', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function linkerScript(org: number, output: 'raw' | 'elf'): string {
  const discard = '/DISCARD/ : { *(.note*) *(.comment) *(.eh_frame*) }';
  if (output === 'raw') {
    return `SECTIONS {
  . = 0x${org.toString(16)};
  .text : { *(.text .text.*) *(.rodata .rodata.*) *(.data .data.*) *(.bss .bss.*) *(COMMON) }
  ${discard}
}
`;
  }
  return `SECTIONS {
  . = 0x${org.toString(16)};
  .text : { *(.text .text.*) }
  .rodata : { *(.rodata .rodata.*) }
  .data : { *(.data .data.*) }
  .bss : { *(.bss .bss.*) *(COMMON) }
  ${discard}
}
`;
}

export function assemble(source: string, opts: AssembleOptions): AssembleResult {
  const org = opts.org ?? 0;
  const syntax = opts.syntax ?? 'intel';
  const what = opts.name ?? 'source';
  const wide = opts.bits === 64;
  const prologue =
    (syntax === 'intel' ? '.intel_syntax noprefix\n' : '') + `.code${opts.bits}\n`;

  const dir = mkdtempSync(join(tmpdir(), 'jinx-gas-'));
  try {
    // as reads its inputs as one stream; a separate prologue file keeps error line numbers
    // relative to `source`.
    const srcName = (what.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'source') + (/\.s$/i.test(what) ? '' : '.s');
    writeFileSync(join(dir, 'prologue.inc'), prologue);
    writeFileSync(join(dir, srcName), source + '\n');
    writeFileSync(join(dir, 'link.ld'), linkerScript(org, opts.output));
    run('as', [wide ? '--64' : '--32', '-o', 'in.o', 'prologue.inc', srcName], dir, what);

    const ldArgs = ['-m', wide ? 'elf_x86_64' : 'elf_i386', '-nostdlib', '--build-id=none',
      '-z', 'noexecstack', '-z', 'max-page-size=0x1000', '-T', 'link.ld', '-o', 'out.elf', 'in.o'];
    const symText = run('nm', ['in.o'], dir, what);
    const entry = opts.entry ?? (/\s_start$/m.test(symText) ? '_start' : undefined);
    if (entry !== undefined) ldArgs.unshift('-e', entry);
    else ldArgs.unshift('-e', `0x${org.toString(16)}`);
    run('ld', ldArgs, dir, what);

    const symbols = new Map<string, number>();
    for (const line of run('nm', ['out.elf'], dir, what).split('\n')) {
      const m = /^([0-9a-fA-F]+)\s+\S\s+(\S+)$/.exec(line.trim());
      if (m) symbols.set(m[2], Number.parseInt(m[1], 16));
    }

    let bytes: Uint8Array;
    if (opts.output === 'raw') {
      run('objcopy', ['-O', 'binary', 'out.elf', 'out.bin'], dir, what);
      bytes = new Uint8Array(readFileSync(join(dir, 'out.bin')));
    } else {
      bytes = new Uint8Array(readFileSync(join(dir, 'out.elf')));
    }
    return { bytes, symbols };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
