// The local S3-compatible server of development and tests: s3rver (npm), a registry package, not a
// hand-written one (docs/safety.md#continuous-replica says why s3rver). Its objects live under
// `<dir>`, it listens on 127.0.0.1 only, on a port from src/ports.ts, and it serves one bucket.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { listenOn, listenOnPickedPort } from '../ports';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  configureBuckets(): Promise<void>;
  callback(): http.RequestListener;
};

/** s3rver's fixed keys: it checks signatures, so clients must sign with these. */
export const DEV_S3_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const DEV_S3_BUCKET = 'atlas-replica';

export interface DevS3 {
  url: string;
  port: number;
  bucket: string;
  close(): Promise<void>;
}

export async function startDevS3(dir: string, options: { port?: number; bucket?: string } = {}): Promise<DevS3> {
  const bucket = options.bucket ?? DEV_S3_BUCKET;
  fs.mkdirSync(dir, { recursive: true });
  const s3 = new S3rver({ directory: dir, silent: true, configureBuckets: [{ name: bucket }], vhostBuckets: false });
  await s3.configureBuckets();
  const server = http.createServer(s3.callback());
  // Port 0 (or none): one picked below the ephemeral range; a named one is used as is.
  const port = options.port ? await listenOn(server, options.port) : await listenOnPickedPort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    bucket,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes the dev keys to `file` with mode 0600, like a real credentials file. */
export function writeDevCredentials(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(DEV_S3_KEYS)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
