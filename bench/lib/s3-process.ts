// The dev S3 server (s3rver) in a child process of its own, as a real object store is: a large
// upload it handles (the first compaction of a 1 GB database carries the whole of it) must not
// stall the benchmark's clock, its status sampling or its writer.
import { fork } from 'node:child_process';
import path from 'node:path';
import type { DevS3 } from '../../src/replication/dev-s3';

export function startDevS3Process(dir: string): Promise<DevS3> {
  const child = fork(path.join(__dirname, 's3-server.ts'), [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the S3 server process exited (${code}) before it listened`)));
    child.once('message', (m) => {
      const { url, port, bucket } = m as { url: string; port: number; bucket: string };
      child.removeAllListeners('exit');
      resolve({
        url,
        port,
        bucket,
        close: () =>
          new Promise<void>((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
