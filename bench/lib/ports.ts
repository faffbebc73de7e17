import { createServer } from 'node:net';

/** A port that was free a moment ago: bind port 0 on a throwaway server, read it, close it. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
