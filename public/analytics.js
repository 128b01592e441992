// Atelier's PostHog loader. The page adds this script only after the visitor allows
// analytics, so nothing here runs before consent. It loads PostHog from our own origin
// (the build without external code: it never fetches more scripts), and follows
// <html data-analytics>: "denied" stops capture and removes every cookie and storage key
// PostHog wrote, without a reload; "granted" again resumes it.
(() => {
  if (window.__atelierAnalytics) return;
  const script = document.currentScript;
  const key = script?.dataset.key;
  const host = script?.dataset.host;
  if (!key || !host) return;
  const state = (window.__atelierAnalytics = { started: false, loading: false });
  const root = document.documentElement;
  const allowed = () => root.dataset.analytics !== 'denied';
  const isPostHogName = (name) => name.startsWith('ph_') || name.startsWith('__ph');

  function forget() {
    for (const store of [window.localStorage, window.sessionStorage]) {
      for (const name of Object.keys(store)) if (isPostHogName(name)) store.removeItem(name);
    }
    for (const pair of document.cookie.split(';')) {
      const name = pair.split('=')[0].trim();
      if (isPostHogName(name)) document.cookie = `${name}=; Max-Age=0; Path=/; SameSite=Lax`;
    }
  }

  function start() {
    const posthog = window.posthog;
    posthog.init(key, {
      api_host: host,
      persistence: 'localStorage+cookie',
      // Pages and what people use, not every click or keystroke.
      autocapture: false,
      capture_pageview: 'history_change',
      capture_pageleave: false,
      disable_session_recording: true,
      disable_surveys: true,
      disable_product_tours: true,
      disable_conversations: true,
      disable_web_experiments: true,
      disable_external_dependency_loading: true,
      advanced_disable_flags: true,
      capture_exceptions: false,
      capture_dead_clicks: false,
      capture_heatmaps: false,
      person_profiles: 'never',
      respect_dnt: true,
      secure_cookie: location.protocol === 'https:',
      // PostHog keeps the opt-in in its own storage, which withdrawal deletes; the default
      // it then falls back to must be "out", so it starts out and is let in explicitly.
      opt_out_capturing_by_default: true,
    });
    posthog.opt_in_capturing();
    state.started = true;
  }

  function follow() {
    if (allowed()) {
      if (state.started) {
        window.posthog.set_config({ persistence: 'localStorage+cookie' });
        window.posthog.opt_in_capturing();
      } else if (!state.loading) {
        state.loading = true;
        const library = document.createElement('script');
        library.src = '/vendor/posthog.js';
        library.onload = () => (allowed() ? start() : null);
        document.head.appendChild(library);
      }
    } else if (state.started) {
      window.posthog.opt_out_capturing();
      window.posthog.reset();
      // Memory only from now on: nothing is written back after it is removed.
      window.posthog.set_config({ persistence: 'memory' });
      forget();
    } else {
      forget();
    }
  }

  new MutationObserver(follow).observe(root, { attributes: true, attributeFilter: ['data-analytics'] });
  follow();
})();
