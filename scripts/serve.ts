// `npm start`: serves web/dist on http://127.0.0.1:PORT/ (PORT from the environment or --port,
// default 8080; 0 picks a free port) with cross-origin isolation headers (COOP/COEP), which the
// page needs for SharedArrayBuffer and precise timers. Builds what is missing or stale first (the
// CPU core, then the web bundle). Progress goes to stderr; stdout gets one line once listening:
//
//   jinx: serving http://127.0.0.1:8080/

import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT, WEB_DIST, buildWeb, webIsStale } from './build-web.ts';

export const DEFAULT_PORT = 8080;
export const HOST = '127.0.0.1';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Sent with every response: cross-origin isolation (COOP + COEP) and no caching of dev builds. */
const COMMON_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function send(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(body + '\n');
}

/** Maps a request path to a file under `root`, or null if it escapes `root` or is malformed. */
function resolvePath(root: string, urlPath: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  const file = normalize(join(root, p));
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
  return file;
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
  let file = resolvePath(root, urlPath);
  if (file === null) { send(res, 400, 'bad request'); return; }
  let st = await stat(file).catch(() => null);
  if (st?.isDirectory()) {
    if (!urlPath.endsWith('/')) { send(res, 301, 'moved', { Location: urlPath + '/' }); return; }
    file = join(file, 'index.html');
    st = await stat(file).catch(() => null);
  }
  if (!st?.isFile()) { send(res, 404, 'not found'); return; }
  const body = await readFile(file);
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': mimeType(file), 'Content-Length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Starts the static server for `root`; resolves once listening (port 0: any free port). */
export function startServer(root: string, port: number, host = HOST): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(root, req, res).catch((e: unknown) => {
      process.stderr.write(`serve: ${req.url}: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) send(res, 500, 'internal server error');
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve({ server, url: `http://${host}:${addr.port}/` });
    });
  });
}

/** Builds the CPU core (if stale) and the web bundle (if missing or stale). Logs to stderr. */
export async function ensureBuilt(): Promise<void> {
  const core = spawnSync(process.execPath, [join(ROOT, 'scripts/ensure-core.mjs')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (core.error) throw core.error;
  if (core.status !== 0) throw new Error(`building the CPU core failed (exit ${core.status ?? core.signal})`);
  if (webIsStale()) await buildWeb();
}

const USAGE = `usage: npm start -- [--port N]

Serves web/dist on http://${HOST}:PORT/ with COOP/COEP headers, after building the CPU core
and the web bundle if they are missing or stale.

options:
  --port N   port to listen on (default: $PORT, else ${DEFAULT_PORT}; 0 picks a free port)
  --help     show this help

environment:
  PORT       port to listen on (overridden by --port)`;

function fail(message: string, code: number): never {
  process.stderr.write(`serve: ${message}\n`);
  process.exit(code);
}

function parsePort(value: string, from: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) fail(`invalid port '${value}' from ${from} (expected 0..65535); try --help`, 2);
  return n;
}

function parseArgs(argv: string[]): { port: number } {
  let port: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (a === '--port' || a.startsWith('--port=')) {
      const v = a === '--port' ? argv[++i] : a.slice('--port='.length);
      if (v === undefined || v === '') fail('--port needs a value; try --help', 2);
      port = parsePort(v, '--port');
    } else {
      fail(`unknown argument '${a}'; try --help`, 2);
    }
  }
  const env = process.env.PORT;
  if (port === null) port = env !== undefined && env !== '' ? parsePort(env, 'PORT') : DEFAULT_PORT;
  return { port };
}

async function main(): Promise<void> {
  const { port } = parseArgs(process.argv.slice(2));
  await ensureBuilt();
  let started: { server: Server; url: string };
  try {
    started = await startServer(WEB_DIST, port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') fail(`port ${port} on ${HOST} is already in use (set PORT or --port)`, 1);
    throw e;
  }
  process.stdout.write(`jinx: serving ${started.url}\n`);
  const stop = (): void => {
    started.server.close(() => process.exit(0));
    started.server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), 1));
}
