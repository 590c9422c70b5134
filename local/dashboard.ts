/**
 * Serves the built dashboard at `/` from the local gateway, the way CloudFront serves it from S3
 * on AWS: hashed assets cached for good, index.html revalidated, every other non-/v1 path
 * answered with index.html (the app routes on the client), and the same security headers.
 */

import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { DASHBOARD_SECURITY_HEADERS, type DashboardFiles } from '../web/build.js';
import { isApiTarget } from './gateway.js';

interface Prepared {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
}

export function dashboardResponder(files: DashboardFiles) {
  const prepared = new Map<string, Prepared>();
  for (const [path, f] of files) {
    prepared.set(path, {
      body: f.body,
      gzip: gzipSync(f.body, { level: 9 }),
      contentType: f.contentType,
      cacheControl: f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  const index = prepared.get('/index.html');
  if (!index) throw new Error('the dashboard build has no index.html');

  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    // Dot segments are resolved by URL parsing: a target that names the API stays the API's.
    if (pathname === '/v1' || isApiTarget(req.url ?? '/')) return false;
    let file = prepared.get(pathname);
    // A missing asset is a 404, not the app: a stale index.html naming old bundles must fail
    // visibly rather than load HTML as script.
    if (!file && pathname.startsWith('/assets/')) return false;
    file ??= index;
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzip : file.body;
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': String(body.length),
      'cache-control': file.cacheControl,
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...DASHBOARD_SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    req.resume();
    return true;
  };
}
