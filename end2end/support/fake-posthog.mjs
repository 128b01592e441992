// A stand-in for PostHog's ingestion host on 127.0.0.1: it answers what posthog-js sends
// (with CORS headers, as PostHog does) and remembers every request, so browser tests can
// count what the page sent and when.
import { createServer } from 'node:http';

export async function startFakePostHog() {
  const requests = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('Access-Control-Allow-Origin', request.headers.origin ?? '*');
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      response.setHeader('Access-Control-Allow-Headers', request.headers['access-control-request-headers'] ?? '*');
      if (request.method === 'OPTIONS') {
        response.writeHead(204);
        response.end();
        return;
      }
      requests.push({ method: request.method, path: request.url, at: Date.now() });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"status":1}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    // Captured events: posthog-js posts them to /e/ (or /i/v0/e/ on newer hosts).
    events: () => requests.filter((request) => /^\/(i\/v0\/)?e\//.test(request.path)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
