// A stand-in for Stripe on 127.0.0.1 for browser tests: the API calls Atelier makes (form
// bodies, bearer key, idempotency keys replayed as Stripe does), a hosted Checkout page
// whose Pay button completes the session, sends Atelier the signed webhooks Stripe would,
// and returns to the success URL, and a billing portal page that links back.
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';

export const STRIPE_ENV = {
  ATELIER_STRIPE_SECRET_KEY: 'sk_test_fake_e2e',
  ATELIER_STRIPE_WEBHOOK_SECRET: 'whsec_fake_e2e',
  ATELIER_STRIPE_PRICE_PRO_MONTHLY: 'price_pro_monthly',
  ATELIER_STRIPE_PRICE_PRO_YEARLY: 'price_pro_yearly',
  ATELIER_STRIPE_PRICE_STUDIO_MONTHLY: 'price_studio_monthly',
  ATELIER_STRIPE_PRICE_STUDIO_YEARLY: 'price_studio_yearly',
  ATELIER_STRIPE_PRICE_CREDITS_500: 'price_credits_500',
};

const PERIOD_END = 1_900_000_000;

function readBody(request) {
  return new Promise((resolve) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => resolve(body));
  });
}

function json(response, status, value) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

function page(response, title, body) {
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`);
}

export async function startFakeStripe() {
  let next = 0;
  const id = (prefix) => `${prefix}_fake${String(++next).padStart(4, '0')}`;
  const customers = new Map();
  const sessions = new Map();
  const subscriptions = new Map();
  const invoices = new Map();
  const replies = new Map();
  const requests = [];
  let appUrl = null;
  let base = null;

  async function sendEvent(type, object) {
    const body = JSON.stringify({ id: id('evt'), object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object } });
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', STRIPE_ENV.ATELIER_STRIPE_WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex');
    const answer = await fetch(`${appUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` },
      body,
    });
    if (answer.status !== 200) throw new Error(`the app refused ${type}: ${answer.status}`);
  }

  async function api(request, response, url) {
    if (request.headers.authorization !== `Bearer ${STRIPE_ENV.ATELIER_STRIPE_SECRET_KEY}`) {
      return json(response, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }
    const form = Object.fromEntries(new URLSearchParams(await readBody(request)));
    const key = request.headers['idempotency-key'];
    requests.push({ method: request.method, path: url.pathname, key, form });
    if (key && replies.has(key)) return json(response, 200, replies.get(key));
    const reply = (value) => {
      if (key) replies.set(key, value);
      json(response, 200, value);
    };
    const notFound = () => json(response, 404, { error: { type: 'invalid_request_error', message: 'No such object' } });
    const [, , resource, second, third] = url.pathname.split('/');
    if (request.method === 'POST' && resource === 'customers') {
      const customer = { id: id('cus'), object: 'customer', email: form.email, name: form.name };
      customers.set(customer.id, customer);
      return reply(customer);
    }
    if (request.method === 'POST' && resource === 'checkout' && second === 'sessions') {
      const session = {
        id: id('cs_test'), object: 'checkout.session', mode: form.mode, status: 'open', payment_status: 'unpaid',
        customer: form.customer, client_reference_id: form.client_reference_id, success_url: form.success_url,
        cancel_url: form.cancel_url, price: form['line_items[0][price]'], subscription: null, payment_intent: null,
        metadata: Object.fromEntries(Object.entries(form).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v])),
      };
      session.url = `${base}/pay/${session.id}`;
      sessions.set(session.id, session);
      return reply(session);
    }
    if (request.method === 'GET' && resource === 'checkout' && second === 'sessions') {
      return sessions.has(third) ? json(response, 200, sessions.get(third)) : notFound();
    }
    if (request.method === 'GET' && resource === 'subscriptions') {
      return subscriptions.has(second) ? json(response, 200, subscriptions.get(second)) : notFound();
    }
    // Atelier reads an invoice back rather than trusting the event that names it.
    if (request.method === 'GET' && resource === 'invoices') {
      return invoices.has(second) ? json(response, 200, invoices.get(second)) : notFound();
    }
    if (request.method === 'POST' && resource === 'billing_portal') {
      return reply({ id: id('bps'), object: 'billing_portal.session', customer: form.customer, return_url: form.return_url, url: `${base}/portal/${form.customer}?return=${encodeURIComponent(form.return_url)}` });
    }
    return notFound();
  }

  // The customer presses Pay: the session completes and Stripe's events go out in the
  // order Stripe sends them, before the browser is sent back.
  async function pay(session) {
    session.status = 'complete';
    session.payment_status = 'paid';
    if (session.mode === 'subscription') {
      const subscription = {
        id: id('sub'), object: 'subscription', customer: session.customer, status: 'active', cancel_at_period_end: false,
        latest_invoice: id('in'), items: { object: 'list', data: [{ id: id('si'), price: { id: session.price }, current_period_end: PERIOD_END }] },
      };
      subscriptions.set(subscription.id, subscription);
      session.subscription = subscription.id;
      session.invoice = subscription.latest_invoice;
      await sendEvent('checkout.session.completed', session);
      await sendEvent('customer.subscription.created', subscription);
      const invoice = {
        id: subscription.latest_invoice, object: 'invoice', customer: session.customer, status: 'paid',
        parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: {}, subscription: subscription.id } },
      };
      invoices.set(invoice.id, invoice);
      await sendEvent('invoice.paid', invoice);
    } else {
      session.payment_intent = id('pi');
      await sendEvent('checkout.session.completed', session);
    }
  }

  const server = createServer(async (request, response) => {
    const url = new URL(request.url, base);
    try {
      if (url.pathname.startsWith('/v1/')) return await api(request, response, url);
      const [, area, ref] = url.pathname.split('/');
      if (area === 'pay' && sessions.has(ref)) {
        const session = sessions.get(ref);
        if (request.method === 'POST') {
          await readBody(request);
          await pay(session);
          response.writeHead(303, { location: session.success_url.replace('{CHECKOUT_SESSION_ID}', session.id) });
          return response.end();
        }
        return page(response, 'Fake Stripe Checkout', `<p>Paying for ${session.price}</p><form method="post"><button type="submit">Pay</button></form><a href="${session.cancel_url}">Back</a>`);
      }
      if (area === 'portal' && customers.has(ref)) {
        return page(response, 'Fake billing portal', `<p>Customer ${ref}</p><a href="${url.searchParams.get('return')}">Return to Atelier</a>`);
      }
      response.writeHead(404);
      response.end();
    } catch (error) {
      response.writeHead(500);
      response.end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: base,
    env: { ...STRIPE_ENV, ATELIER_STRIPE_API_BASE: base },
    requests,
    setApp(url) { appUrl = url; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
