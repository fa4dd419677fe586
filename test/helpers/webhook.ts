// A local Slack-compatible webhook receiver for tests, optionally failing its first requests.
import http from 'node:http';
import { listenOnPickedPort } from '../../src/ports';

interface Received {
  body: { text: string; atlas: { code: string; level: string; state: string } };
}

/** A local Slack-compatible receiver; fails the first `failFirst` requests with 500. */
export async function receiver(failFirst = 0) {
  const received: Received[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      requests++;
      if (requests <= failFirst) {
        res.writeHead(500).end('boom');
        return;
      }
      received.push({ body: JSON.parse(data) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  const port = await listenOnPickedPort(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

