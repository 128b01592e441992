// A stand-in for an OpenAI-compatible model server on 127.0.0.1: `POST /v1/chat/completions`
// streams a reply as Chat Completions chunks (`data: {…}` … `data: [DONE]`), one word every
// `gap` ms, and counts requests whose client went away before the reply ended.
import { createServer } from 'node:http';

export async function startFakeLlm({ words = 60, gap = 150 } = {}) {
  const state = { requests: 0, cancelled: 0, finished: 0 };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        response.writeHead(404).end();
        return;
      }
      state.requests += 1;
      const asked = JSON.parse(body);
      if (!asked.stream) {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"stream only"}}');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta, finish = null) =>
        `data: ${JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      response.write(chunk({ role: 'assistant', content: '' }));
      let sent = 0;
      let ended = false;
      const timer = setInterval(() => {
        if (sent < words) {
          response.write(chunk({ content: `${sent === 0 ? 'Word' : ' word'}${sent}` }));
          sent += 1;
          return;
        }
        clearInterval(timer);
        ended = true;
        state.finished += 1;
        response.write(chunk({}, 'stop'));
        response.end('data: [DONE]\n\n');
      }, gap);
      response.on('close', () => {
        clearInterval(timer);
        if (!ended) state.cancelled += 1;
      });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    state,
    env: {
      ATELIER_CHAT_PROVIDER: 'openai',
      ATELIER_CHAT_BASE_URL: `${url}/v1`,
      ATELIER_CHAT_MODEL: 'fake-e2e',
      ATELIER_CHAT_API_KEY: 'fake-e2e-key',
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
