// A fault-injecting HTTP proxy in front of the test's S3 server (s3rver has no fault injection):
// it forwards every request unchanged, headers included (the client's SigV4 signature covers the
// Host it sent, which s3rver checks as it is), except the next N, answered with 500 or 503 and an
// S3 error body. Test infrastructure only, not an S3 emulator.
import http from 'node:http';
import { listenOnPickedPort } from '../../src/ports';

export interface FaultyS3Proxy {
  url: string;
  /** The next `n` requests are answered with `status` instead of being forwarded. */
  failNext(n: number, status: 500 | 503): void;
  /** Faulty answers given so far, by status. */
  failed: Record<number, number>;
  /** Requests still to fail. */
  pending(): number;
  close(): Promise<void>;
}

const S3_CODE: Record<number, string> = { 500: 'InternalError', 503: 'ServiceUnavailable' };

/** `upstream()`: the S3 server's URL now (undefined while it is not up yet: answered 503). */
export async function startFaultyS3Proxy(upstream: () => string | undefined): Promise<FaultyS3Proxy> {
  let left = 0;
  let status: 500 | 503 = 500;
  const failed: Record<number, number> = { 500: 0, 503: 0 };
  const answer = (res: http.ServerResponse, code: number) =>
    res.writeHead(code, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${S3_CODE[code]}</Code><Message>injected by the test</Message></Error>`);
  const server = http.createServer((req, res) => {
    const target = upstream();
    if (left > 0 || !target) {
      if (left > 0) {
        left--;
        failed[status]!++;
      }
      req.resume();
      req.on('end', () => answer(res, target ? status : 503));
      return;
    }
    const forward = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => (res.headersSent ? res.destroy() : answer(res, 503)));
    req.pipe(forward);
  });
  const port = await listenOnPickedPort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    failNext(n, s) {
      left = n;
      status = s;
    },
    failed,
    pending: () => left,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
